"""One worker pool across processes: ``--workers 1`` on two processes is one worker in all."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest
from _helpers.served import Served
from _processes import COOKIES, json_of, pace, processes, serving, start_reply

pytestmark = [pytest.mark.redis, pytest.mark.asyncio]

ONE_WORKER = ("--workers", "1", "--pending-interval", "0.05")
PENDING_1_OF_1 = {"event_type": "pending", "queue_position": 1, "queue_size": 1}


@asynccontextmanager
async def _one_worker_on_two(
    redis_url: str, *, reply_tokens: int
) -> AsyncIterator[tuple[Served, Served, aiohttp.ClientSession]]:
    """Two processes sharing one worker, replies paced at 0.05 s a token; and a client."""
    paced = pace(reply_tokens, interval=0.05, first=0.05)
    async with (
        processes(2, "--store", redis_url, *ONE_WORKER, *paced) as (a, b),
        aiohttp.ClientSession(cookies=COOKIES) as http,
    ):
        yield a, b, http


async def _event(stream: aiohttp.ClientResponse) -> dict[str, object]:
    """The next ``data:`` event of an SSE stream (pings skipped)."""
    while True:
        part = await stream.content.readuntil(b"\r\n\r\n")
        if part.startswith(b"data: "):
            parsed: dict[str, object] = json.loads(part[len(b"data: ") :])
            return parsed


async def _until_token(stream: aiohttp.ClientResponse) -> list[dict[str, object]]:
    """The events before the first token (the token last)."""
    seen = []
    while True:
        event = await _event(stream)
        seen.append(event)
        if event["event_type"] != "pending":
            return seen


def _waited(events: list[dict[str, object]]) -> bool:
    """Pending 1 of 1 (at least twice), then 0 of 0 (started, no token yet), then a token."""
    *pending, last = events
    waiting = [e for e in pending if e == PENDING_1_OF_1]
    started = pending[len(waiting) :]
    return (
        len(waiting) >= 2
        and all(e == {**PENDING_1_OF_1, "queue_position": 0, "queue_size": 0} for e in started)
        and last["event_type"] == "token"
    )


async def test_a_message_on_the_other_process_waits_for_the_only_worker(
    redis_url: str,
) -> None:
    async with _one_worker_on_two(redis_url, reply_tokens=20) as (a, b, http):
        first = await start_reply(http, a.url)  # a holds the one worker of both
        second = await start_reply(http, b.url)
        streams = [
            await http.get(f"{url}/api/chat/events", params=second) for url in (a.url, b.url)
        ]
        # both processes show the second message waiting, 1 of 1, until it streams
        seen = await asyncio.wait_for(asyncio.gather(*map(_until_token, streams)), 30)
        first_state = await json_of(await http.get(f"{a.url}/api/chat/message", params=first))
        for events in seen:
            assert _waited(events), events
        # it started only once the first one was over
        assert first_state["state"] == "complete"
        for stream in streams:
            rest = await stream.read()
            assert b'"event_type": "message"' in rest
        again = await json_of(await http.get(f"{b.url}/api/chat/message", params=second))
        assert again["state"] == "complete"


def _pending(position: int, size: int) -> dict[str, object]:
    return {"event_type": "pending", "queue_position": position, "queue_size": size}


def _runs(events: list[dict[str, object]]) -> list[dict[str, object]]:
    """``events`` with repeats of the same event collapsed (the pending events' sequence)."""
    return [e for i, e in enumerate(events) if i == 0 or events[i - 1] != e]


async def test_one_queue_in_arrival_order_whichever_process_took_the_message(
    redis_url: str,
) -> None:
    async with _one_worker_on_two(redis_url, reply_tokens=12) as (a, b, http):
        await start_reply(http, a.url)  # runs
        second = await start_reply(http, b.url)  # waits, first in the queue
        third = await start_reply(http, a.url)  # waits behind it, on the process that frees
        streams = [
            await http.get(f"{a.url}/api/chat/events", params=second),
            await http.get(f"{b.url}/api/chat/events", params=third),
        ]
        second_seen, third_seen = await asyncio.wait_for(
            asyncio.gather(*map(_until_token, streams)), 30
        )
        for stream in streams:
            stream.close()
        started = _pending(0, 0)
        # b learns of the third message at its next look at the queue (within a pending
        # interval): a first event may still show the queue as it was
        assert [e for e in _runs(second_seen[:-1]) if e != started] in (
            [_pending(1, 2)],
            [_pending(1, 1), _pending(1, 2)],
        )
        # the slot a frees goes to b's message first; a's own waits its turn
        assert [e for e in _runs(third_seen[:-1]) if e != started] == [
            _pending(2, 2),
            _pending(1, 1),
        ]


async def test_a_killed_process_frees_its_worker_within_the_lease(redis_url: str) -> None:
    long_reply = pace(2000, interval=0.05)
    options = ("--store", redis_url, *ONE_WORKER, *long_reply)
    async with serving(*options) as survivor, aiohttp.ClientSession(cookies=COOKIES) as http:
        async with serving(*options) as doomed:
            await start_reply(http, doomed.url)  # 100 s of tokens on the only worker
            waiting = await start_reply(http, survivor.url)
            stream = await http.get(f"{survivor.url}/api/chat/events", params=waiting)
            assert await _event(stream) == PENDING_1_OF_1
            await doomed.stop(signal.SIGKILL)
        # the dead process's lease (5 s) lapses; its slot goes to the survivor's message
        events = await asyncio.wait_for(_until_token(stream), 20)
        assert _waited([PENDING_1_OF_1, *events]), events
        stream.close()
