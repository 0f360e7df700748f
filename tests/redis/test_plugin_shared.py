"""The pytest plugin's factory starts servers on a shared store: two in-process servers, one
state; their handles see and clear the shared chats."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from _processes import COOKIES, json_of, start_reply

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
