"""A cancel lands while tokens flow, on every supported Python.

On Python 3.10 and 3.11, ``asyncio.wait_for`` around each read swallowed a cancel that arrived as
the read completed; with tokens arriving back to back that was nearly every cancel, and the
generator ran on to the end of the stream. CI runs this file under every Python it finds, so it
is self-contained: only the installed package with its ``[test]`` extra (no helper modules).
The bound below tells "the cancel landed" (milliseconds; ``benchmarks/bench_client_edges.py``
measures it) from "the stream ran to its end" (tens of seconds); it is not a timing target.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from _fakes import rest_reply, serve
from aiohttp import web

from oa_mockserver import MockServer, ServerConfig
from oa_provider import OpenAssistant

SESSION = {"next-auth.session-token": "cancel-test-session"}
USER = [{"role": "user", "content": "Tell me everything."}]
#: Far more than the client may take before the cancel: the stream must not run out first.
HUGE = 3_000_000
#: Generous: a landed cancel takes milliseconds; a swallowed one, the rest of a 20+ s stream.
LANDED_WITHIN = 5.0
TOKENS_BEFORE_CANCEL = 2_000


class EndlessSite:
    """The web site's four routes, with an event stream of tokens that never ends."""

    def __init__(self) -> None:
        self.live_chats: set[str] = set()
        self.deleted: list[str] = []
        self.url = ""

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        await request.read()
        route = (request.method, request.path)
        if route == ("DELETE", "/api/chat"):
            self.deleted.append(request.query["chat_id"])
        rest = rest_reply(request, self.live_chats)
        if rest is not None:
            return rest
        if route == ("GET", "/api/chat/events"):
            response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await response.prepare(request)
            block = b"".join(
                f"data: {json.dumps({'event_type': 'token', 'text': f'w{i} '})}\r\n\r\n".encode()
                for i in range(64)
            )
            try:
                while True:  # until the client goes away
                    await response.write(block)
            except (ConnectionError, RuntimeError):
                return response
        return web.Response(status=404)


async def cancel_mid_stream(url: str, *, events: bool) -> tuple[asyncio.Task[int], float]:
    """Stream from ``url``, cancel after some tokens; the task and the seconds it took to end."""
    flowing = asyncio.Event()
    options: dict[str, Any] = {
        "messages": USER,
        "base_url": url,
        "cookies": SESSION,
        "max_new_tokens": HUGE,
    }

    async def consume() -> int:
        seen = 0
        stream = (
            OpenAssistant.create_event_stream(**options)
            if events
            else OpenAssistant.create_async_generator(**options)
        )
        async for _ in stream:
            seen += 1
            if seen == TOKENS_BEFORE_CANCEL:
                flowing.set()
        return seen

    task = asyncio.ensure_future(consume())
    waiting = asyncio.ensure_future(flowing.wait())
    await asyncio.wait({task, waiting}, return_when=asyncio.FIRST_COMPLETED)
    waiting.cancel()
    assert not task.done(), "the stream ended before the cancel: make it longer"
    cancelled_at = time.perf_counter()
    task.cancel()
    # asyncio.wait never cancels what it waits for: a swallowed cancel shows as a timeout here.
    await asyncio.wait({task}, timeout=LANDED_WITHIN)
    return task, time.perf_counter() - cancelled_at


def assert_landed(task: asyncio.Task[int], took: float) -> None:
    assert task.done(), f"the cancel did not land within {LANDED_WITHIN} s: it was swallowed"
    assert task.cancelled(), (
        f"the generator ran on after the cancel and returned {task.result()} items"
    )
    assert took < LANDED_WITHIN


@pytest.mark.asyncio
@pytest.mark.parametrize("events", [False, True], ids=["texts", "events"])
async def test_cancel_lands_against_the_mock_server_streaming_flat_out(events: bool) -> None:
    config = ServerConfig(token_interval=0.0, first_token_delay=0.0, reply_tokens=HUGE)
    async with MockServer(config) as server:
        task, took = await cancel_mid_stream(server.url, events=events)
        try:
            assert_landed(task, took)
            assert server.chats() == [], "the chat must be deleted on cancellation"
        finally:
            await _finish(task)


@pytest.mark.asyncio
@pytest.mark.parametrize("events", [False, True], ids=["texts", "events"])
async def test_cancel_lands_against_an_endless_stream(events: bool) -> None:
    async with serve(EndlessSite()) as site:
        task, took = await cancel_mid_stream(site.url, events=events)
        try:
            assert_landed(task, took)
            assert len(site.deleted) == 1
            assert not site.live_chats
        finally:
            await _finish(task)


async def _finish(task: asyncio.Task[int]) -> None:
    """Keep a task that swallowed its cancel from outliving the test (bounded: closing the
    server ends an endless stream that swallows every cancel)."""
    for _ in range(30):
        if task.done():
            break
        task.cancel()
        await asyncio.wait({task}, timeout=1.0)
    if task.done() and not task.cancelled():
        task.exception()  # retrieved: no "exception was never retrieved" warning
