"""Many paced streams over real loopback HTTP: each gets its reply whole and in order, and the
journal's chunk log says what was written when, as the per-stream coroutine path did."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from _chat import ask_for_reply

from oa_mockserver import MockServer, ServerConfig
from oa_provider import OpenAssistant

COOKIE = {"next-auth.session-token": "paced"}


@pytest.mark.asyncio
async def test_many_paced_streams_due_at_the_same_ticks_each_get_their_reply() -> None:
    config = ServerConfig(token_interval=0.01, first_token_delay=0.01, reply_tokens=8)
    async with MockServer(config) as server:
        provider = OpenAssistant(base_url=server.url, cookies=COOKIE)

        async def one(index: int) -> str:
            messages = [{"role": "user", "content": f"question {index}"}]
            texts = provider.create_async_generator(messages=messages)
            return "".join([text async for text in texts])

        texts = await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(40))), 60)
        streams = [c.stream for c in server.journal.calls if c.stream is not None]
    assert len(streams) == 40
    assert all(text for text in texts)
    for stream in streams:
        kinds = [chunk.kind for chunk in stream.chunks]
        assert kinds == ["token"] * 8 + ["message"]
        assert stream.final_written
        assert not stream.client_disconnected
        times = [chunk.offset_s for chunk in stream.chunks]
        assert times == sorted(times)


@pytest.mark.asyncio
async def test_a_client_gone_mid_stream_is_logged_and_the_others_go_on() -> None:
    config = ServerConfig(token_interval=0.02, first_token_delay=0.02, reply_tokens=30)
    async with MockServer(config) as server, aiohttp.ClientSession(cookies=COOKIE) as http:
        chat, assistant = await ask_for_reply(http, server.url, "leave early", "OA_SFT_Llama_30B_6")
        params = {"chat_id": chat["id"], "message_id": assistant["id"]}
        response = await http.get(f"{server.url}/api/chat/events", params=params)
        seen = b""
        while seen.count(b'"event_type": "token"') < 2:
            seen += await asyncio.wait_for(response.content.readany(), 10)
        response.close()  # the connection goes, mid-reply
        # another conversation, on the same wheel, still streams to its end
        provider = OpenAssistant(base_url=server.url, cookies=COOKIE)
        messages = [{"role": "user", "content": "stay"}]
        text = "".join([t async for t in provider.create_async_generator(messages=messages)])
        for _ in range(100):  # the first stream notices at its next write: bounded wait
            if any(c.stream is not None for c in server.journal.calls if c.query == params):
                break
            await asyncio.sleep(0.02)
        gone = next(c.stream for c in server.journal.calls if c.query == params)
    assert text
    assert gone is not None
    assert gone.client_disconnected
    assert not gone.final_written
    assert 2 <= gone.tokens_written < 30
