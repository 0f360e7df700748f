"""Several server processes on one Redis store: a conversation whose requests land on two
processes, in both dialects; replies streamed from the process that did not generate them."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from _processes import (
    COOKIES,
    MODEL,
    json_of,
    pace,
    processes,
    start_reply,
    status_of,
    web_conversation,
)

pytestmark = [pytest.mark.redis, pytest.mark.asyncio]

UNPACED = pace(12)


def _events(body: bytes) -> list[dict[str, object]]:
    return [
        json.loads(part[len(b"data: ") :])
        for part in body.split(b"\r\n\r\n")
        if part.startswith(b"data: ")
    ]


async def test_web_conversation_over_two_processes(redis_url: str) -> None:
    async with (
        processes(2, "--store", redis_url, *UNPACED) as (a, b),
        aiohttp.ClientSession(cookies=COOKIES) as http,
    ):
        body, message = await web_conversation(http, [a.url, b.url])
        events = _events(body)
        tokens = [e["text"] for e in events if e["event_type"] == "token"]
        assert len(tokens) == 12
        assert events[-1]["event_type"] == "message"
        assert message["state"] == "complete"
        assert message["content"] == "".join(str(t) for t in tokens)
        for served in (a, b):  # deleted on b, gone for both
            chats = await json_of(await http.get(f"{served.url}/__admin/chats"))
            assert chats == {"chats": []}


async def test_a_second_stream_on_the_other_process_is_empty_once_delivered(
    redis_url: str,
) -> None:
    async with (
        processes(2, "--store", redis_url, *UNPACED) as (a, b),
        aiohttp.ClientSession(cookies=COOKIES) as http,
    ):
        ids = await start_reply(http, a.url)
        first = await (await http.get(f"{b.url}/api/chat/events", params=ids)).read()
        assert _events(first)[-1]["event_type"] == "message"
        # delivered once, on b: the web site then pipes an empty 200, on either process
        for served in (a, b):
            again = await http.get(f"{served.url}/api/chat/events", params=ids)
            assert (again.status, await again.read()) == (200, b"")


async def test_inference_conversation_over_two_processes(redis_url: str) -> None:
    servers = processes(2, "--store", redis_url, *UNPACED)
    async with servers as (a, b), aiohttp.ClientSession() as http:
        login = await json_of(await http.get(f"{a.url}/auth/callback/debug", params={"code": "me"}))
        # a token sealed by one process is read by the other (the key is shared through Redis)
        auth = {"Authorization": f"Bearer {login['access_token']['access_token']}"}
        chat = await json_of(await http.post(f"{b.url}/chats", json={}, headers=auth))
        prompter = await json_of(
            await http.post(
                f"{a.url}/chats/{chat['id']}/prompter_message",
                json={"parent_id": None, "content": "hello"},
                headers=auth,
            )
        )
        reply = await json_of(
            await http.post(
                f"{b.url}/chats/{chat['id']}/assistant_message",
                json={"parent_id": prompter["id"], "model_config_name": MODEL},
                headers=auth,
            )
        )
        events = await http.get(
            f"{a.url}/chats/{chat['id']}/messages/{reply['id']}/events", headers=auth
        )
        assert events.status == 200
        parsed = _events(await events.read())
        assert [e["event_type"] for e in parsed] == ["token"] * 12 + ["message"]
        read = await json_of(await http.get(f"{b.url}/chats/{chat['id']}", headers=auth))
        assert [m["state"] for m in read["messages"]] == ["manual", "complete"]
        deleted = await http.delete(f"{b.url}/chats/{chat['id']}", headers=auth)
        assert await status_of(deleted) == 200
        gone = await http.get(f"{a.url}/chats/{chat['id']}", headers=auth)
        assert await status_of(gone) == 404


async def test_a_paced_reply_streams_from_its_first_token_on_the_other_process(
    redis_url: str,
) -> None:
    paced = pace(30, interval=0.02, first=0.02)
    async with (
        processes(2, "--store", redis_url, *paced) as (a, b),
        aiohttp.ClientSession(cookies=COOKIES) as http,
    ):
        ids = await start_reply(http, a.url)
        await asyncio.sleep(0.2)  # some tokens are out before the streams open
        late, here = await asyncio.gather(
            (await http.get(f"{b.url}/api/chat/events", params=ids)).read(),
            (await http.get(f"{a.url}/api/chat/events", params=ids)).read(),
        )
        # both streams, on either process, carry every token from the first, then the message
        assert _events(late) == _events(here)
        assert [e["event_type"] for e in _events(late)] == ["token"] * 30 + ["message"]


async def test_deleting_on_one_process_ends_a_stream_on_the_other(redis_url: str) -> None:
    paced = pace(200, interval=0.05)
    async with (
        processes(2, "--store", redis_url, *paced) as (a, b),
        aiohttp.ClientSession(cookies=COOKIES) as http,
    ):
        ids = await start_reply(http, a.url)
        stream = await http.get(f"{b.url}/api/chat/events", params=ids)
        await stream.content.readuntil(b"\r\n\r\n")  # the first token is out
        deleted = await http.delete(f"{a.url}/api/chat", params={"chat_id": ids["chat_id"]})
        assert await status_of(deleted) == 200
        rest = await asyncio.wait_for(stream.read(), 10)  # ends, well before 200 tokens
        assert all(e["event_type"] == "token" for e in _events(rest))
        assert len(_events(rest)) < 150


async def test_a_queued_message_shows_its_position_on_the_other_process(redis_url: str) -> None:
    one_worker = ("--workers", "1", *pace(3, interval=0.3, first=0.3), "--pending-interval", "0.05")
    async with (
        processes(2, "--store", redis_url, *one_worker) as (a, b),
        aiohttp.ClientSession(cookies=COOKIES) as http,
    ):
        await start_reply(http, a.url)  # takes a's only worker
        queued = await start_reply(http, a.url)
        for url in (a.url, b.url):
            stream = await http.get(f"{url}/api/chat/events", params=queued)
            first = await stream.content.readuntil(b"\r\n\r\n")
            stream.close()
            # the position in the queue of the process that took it, on either process
            assert _events(first) == [
                {"event_type": "pending", "queue_position": 1, "queue_size": 1}
            ]
