"""The pytest plugin's factory starts servers on a shared store: two in-process servers, one
state; their handles see and clear the shared chats."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from _processes import COOKIES, json_of, start_reply

from oa_mockserver import ConfigError, MockServer, ServerConfig
from oa_mockserver.pytest_plugin import MockServerFactory

pytestmark = pytest.mark.redis


def test_the_factory_starts_servers_on_one_store(
    oa_mockserver_factory: MockServerFactory, redis_url: str
) -> None:
    first = oa_mockserver_factory(store=redis_url)
    second = oa_mockserver_factory(store=redis_url)

    async def converse() -> bytes:
        async with aiohttp.ClientSession(cookies=COOKIES) as http:
            ids = await start_reply(http, first.url)
            events = await http.get(f"{second.url}/api/chat/events", params=ids)
            body = await events.read()
            chat = await json_of(
                await http.get(f"{second.url}/api/chat", params={"chat_id": ids["chat_id"]})
            )
            assert [m["state"] for m in chat["messages"]] == ["manual", "complete"]
            return body

    body = asyncio.run(converse())
    assert body.endswith(b"}\r\n\r\n")
    assert b'"event_type": "message"' in body
    # either handle sees the chat made through the other, and a reset clears it for both
    assert len(first.chats()) == len(second.chats()) == 1
    second.reset()
    assert first.chats() == []
    assert first.problems() == second.problems() == []


def test_no_chats_left_is_checked_on_the_shared_store(
    oa_mockserver_factory: MockServerFactory, redis_url: str
) -> None:
    first = oa_mockserver_factory(store=redis_url)
    second = oa_mockserver_factory(store=redis_url)

    async def chat_on(url: str) -> str:
        async with aiohttp.ClientSession(cookies=COOKIES) as http:
            chat = await json_of(await http.post(f"{url}/api/chat"))
            return str(chat["id"])

    async def delete_on(url: str, chat_id: str) -> None:
        async with aiohttp.ClientSession(cookies=COOKIES) as http:
            gone = await http.delete(f"{url}/api/chat", params={"chat_id": chat_id})
            assert gone.status == 200

    chat_id = asyncio.run(chat_on(first.url))
    # made through the first server, seen as left over by the second (and the first)
    for server in (first, second):
        with pytest.raises(AssertionError, match=f"1 chat\\(s\\) left on the server:\n  {chat_id}"):
            server.assert_no_chats_left()
    asyncio.run(delete_on(second.url, chat_id))
    first.assert_no_chats_left()
    second.assert_no_chats_left()


@pytest.mark.asyncio
async def test_an_async_server_on_redis_asserts_over_every_process(redis_url: str) -> None:
    config = ServerConfig(store=redis_url)
    async with MockServer(config) as here, MockServer(config) as there:
        async with aiohttp.ClientSession(cookies=COOKIES) as http:
            await json_of(await http.post(f"{there.url}/api/chat"))
        with pytest.raises(AssertionError, match="1 chat"):
            await here.assert_no_shared_chats_left()
        # the synchronous check cannot see the other process's chats: it says what to call
        with pytest.raises(ConfigError, match="assert_no_shared_chats_left"):
            here.assert_no_chats_left()
        await there.clear()
        await here.assert_no_shared_chats_left()
