"""The chat is deleted when the caller stops early: a stream closed after two chunks (each
streaming entry point), a task cancelled mid-stream, a generator dropped unread."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import g4f
import pytest
from _g4f_checks import HELLO, ME, assert_chat_deleted, deletes
from g4f.client import AsyncClient, Client

from oa_g4f import OpenAssistant
from oa_mockserver import ThreadedMockServer

pytestmark = [
    pytest.mark.g4f,
    # A long, paced reply: the caller stops while the server is still writing it.
    pytest.mark.oa_mockserver(reply_tokens=400, token_interval=0.005),
]


def _text(chunk: Any) -> str:
    return chunk if isinstance(chunk, str) else chunk.choices[0].delta.content or ""


def _sync_streams(url: str) -> dict[str, Any]:
    return {
        "ChatCompletion.create": g4f.ChatCompletion.create(
            model="", messages=HELLO, provider=OpenAssistant, stream=True,
            base_url=url, cookies=ME,
        ),
        "Client.create": Client(provider=OpenAssistant).chat.completions.create(
            messages=HELLO, stream=True, base_url=url, cookies=ME
        ),
    }


@pytest.mark.parametrize("name", ["ChatCompletion.create", "Client.create"])
def test_closing_a_sync_stream_early_deletes_the_chat(
    oa_mockserver: ThreadedMockServer, name: str
) -> None:
    stream = _sync_streams(oa_mockserver.url)[name]
    received = [_text(next(stream)) for _ in range(3)]

    stream.close()
    del stream
    gc.collect()  # the sync client's inner generators close when the last reference goes

    assert all(received)
    assert_chat_deleted(oa_mockserver)
    oa_mockserver.assert_stream_closed_after(tokens=3, slack=200)


def _async_stream(name: str, url: str) -> Any:
    if name == "ChatCompletion.create_async":
        return g4f.ChatCompletion.create_async(
            model="", messages=HELLO, provider=OpenAssistant, stream=True,
            base_url=url, cookies=ME,
        )
    return AsyncClient(provider=OpenAssistant).chat.completions.create(
        messages=HELLO, stream=True, base_url=url, cookies=ME
    )


@pytest.mark.asyncio
@pytest.mark.parametrize("name", ["ChatCompletion.create_async", "AsyncClient.create"])
async def test_closing_an_async_stream_early_deletes_the_chat(
    oa_mockserver: ThreadedMockServer, name: str
) -> None:
    stream = _async_stream(name, oa_mockserver.url)
    received = [_text(await stream.__anext__()) for _ in range(3)]

    await stream.aclose()
    if name == "AsyncClient.create":
        # gpt4free's async client closes its own generators but not the provider's: that one is
        # closed by the event loop's async-generator finalizer, in a task run on the next turns
        # of the loop. Wait for it (bounded): the DELETE comes, just not before aclose returns.
        await _until_deleted(oa_mockserver)

    assert all(received)
    assert_chat_deleted(oa_mockserver)
    oa_mockserver.assert_stream_closed_after(tokens=3, slack=200)


async def _until_deleted(server: ThreadedMockServer) -> None:
    for _ in range(200):
        if any(status == 200 for _, status in deletes(server)):
            return
        await asyncio.sleep(0.025)


@pytest.mark.asyncio
async def test_cancelling_the_consuming_task_deletes_the_chat(
    oa_mockserver: ThreadedMockServer,
) -> None:
    two_chunks = asyncio.Event()

    async def consume() -> None:
        count = 0
        async for _ in _async_stream("AsyncClient.create", oa_mockserver.url):
            count += 1
            if count == 2:
                two_chunks.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(two_chunks.wait(), timeout=10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert_chat_deleted(oa_mockserver)


@pytest.mark.asyncio
async def test_a_stream_closed_before_its_first_chunk_sends_nothing(
    oa_mockserver: ThreadedMockServer,
) -> None:
    stream = _async_stream("ChatCompletion.create_async", oa_mockserver.url)

    await stream.aclose()

    assert oa_mockserver.journal.calls == []
