"""Mock server processes on one Redis store, and a conversation spread over them."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import aiohttp
from _helpers.served import Served
from _helpers.served import serving as served_command

MODEL = "OA_SFT_Llama_30B_6"
COOKIES = {"next-auth.session-token": "redis-test"}


def pace(tokens: int, *, interval: float = 0.0, first: float = 0.0) -> tuple[str, ...]:
    """The ``serve`` options of a reply of ``tokens`` tokens, ``interval`` seconds apart and the
    first after ``first`` seconds (unpaced by default)."""
    return (
        "--token-interval", f"{interval:g}", "--first-token-delay", f"{first:g}",
        "--reply-tokens", str(tokens),
    )  # fmt: skip


@asynccontextmanager
async def serving(*args: str) -> AsyncIterator[Served]:
    """``python -m oa_mockserver serve ARGS --port 0``, until it listens; SIGTERM at the end."""
    env = {**os.environ, "PYTHONFAULTHANDLER": "1"}  # stacks if it does not stop (Served.end)
    async with served_command(
        "serve", "--port", "0", "--log-level", "WARNING", *args, env=env
    ) as served:
        yield served


@asynccontextmanager
async def processes(count: int, *args: str) -> AsyncIterator[list[Served]]:
    """``count`` single-process servers, each on its own port, all with the same options."""
    async with AsyncExitStack() as stack:
        started = await asyncio.gather(
            *(stack.enter_async_context(serving(*args)) for _ in range(count))
        )
        yield list(started)


async def status_of(response: aiohttp.ClientResponse) -> int:
    """The status, once the body is read (the connection goes back to the pool)."""
    await response.read()
    return response.status


async def json_of(response: aiohttp.ClientResponse) -> Any:
    assert response.status == 200, (response.status, await response.text())
    return await response.json()


async def web_conversation(
    http: aiohttp.ClientSession, urls: Sequence[str], prompt: str = "hello"
) -> tuple[bytes, dict[str, Any]]:
    """The web dialect's five requests, the i-th on ``urls[i % len(urls)]``; the events body
    and the finished message as read after the stream."""
    at = [urls[i % len(urls)] for i in range(6)]
    chat = await json_of(await http.post(f"{at[0]}/api/chat"))
    prompter = await json_of(
        await http.post(
            f"{at[1]}/api/chat/prompter_message",
            json={"chat_id": chat["id"], "content": prompt, "parent_id": None},
        )
    )
    assistant = await json_of(
        await http.post(
            f"{at[2]}/api/chat/assistant_message",
            json={"chat_id": chat["id"], "parent_id": prompter["id"], "model_config_name": MODEL},
        )
    )
    ids = {"chat_id": chat["id"], "message_id": assistant["id"]}
    events = await http.get(f"{at[3]}/api/chat/events", params=ids)
    assert events.status == 200
    body = await events.read()
    message = await json_of(await http.get(f"{at[4]}/api/chat/message", params=ids))
    assert (
        await status_of(await http.delete(f"{at[5]}/api/chat", params={"chat_id": chat["id"]}))
        == 200
    )
    return body, message


async def crossing_conversations(
    http: aiohttp.ClientSession, urls: Sequence[str], count: int
) -> list[object]:
    """``count`` web conversations at once (within 120 s), each starting on one of the two
    ``urls`` and alternating, so that all of them cross; what went wrong: the exceptions, and a
    False for a conversation that did not end complete with its final event."""

    async def one(index: int) -> bool:
        body, message = await web_conversation(http, [*urls[index % 2 :], *urls[: index % 2]])
        return message["state"] == "complete" and body.endswith(b"}\r\n\r\n")

    results = await asyncio.wait_for(
        asyncio.gather(*(one(i) for i in range(count)), return_exceptions=True), 120
    )
    return [r for r in results if r is not True]


async def start_reply(http: aiohttp.ClientSession, url: str) -> dict[str, str]:
    """Create a chat, post a prompt and ask for the reply on ``url`` (the web dialect); the
    ``chat_id`` and ``message_id`` of the reply, as the events route takes them."""
    chat = await json_of(await http.post(f"{url}/api/chat"))
    prompter = await json_of(
        await http.post(
            f"{url}/api/chat/prompter_message",
            json={"chat_id": chat["id"], "content": "hi", "parent_id": None},
        )
    )
    body = {"chat_id": chat["id"], "parent_id": prompter["id"], "model_config_name": MODEL}
    reply = await json_of(await http.post(f"{url}/api/chat/assistant_message", json=body))
    return {"chat_id": chat["id"], "message_id": reply["id"]}
