"""Mock server processes on one Redis store, and a conversation spread over them."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp

_LISTENING = re.compile(rb"Running on http://[\d.]+:(\d+)")
MODEL = "OA_SFT_Llama_30B_6"
COOKIES = {"next-auth.session-token": "redis-test"}


@dataclass
class Served:
    """One ``oa-mockserver serve`` command: its base URL and what it printed."""

    process: asyncio.subprocess.Process
    url: str = ""
    output: bytes = b""

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        """Signal the process and wait for its end; its exit status."""
        if self.process.returncode is None:
            self.process.send_signal(sig)
        try:
            rest, _ = await asyncio.wait_for(self.process.communicate(), 30)
        except asyncio.TimeoutError:  # not yet the builtin on Python 3.10
            self.process.send_signal(signal.SIGABRT)  # PYTHONFAULTHANDLER: its stacks
            rest, _ = await self.process.communicate()
            self.output += rest
            raise AssertionError(
                f"the server did not stop within 30 s:\n{self.output.decode(errors='replace')}"
            ) from None
        self.output += rest
        assert self.process.returncode is not None
        return self.process.returncode


@asynccontextmanager
async def serving(*args: str) -> AsyncIterator[Served]:
    """``python -m oa_mockserver serve ARGS --port 0``, until it listens; SIGTERM at the end."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "oa_mockserver", "serve", "--port", "0", "--log-level", "WARNING",
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "PYTHONFAULTHANDLER": "1"},
    )  # fmt: skip
    assert process.stdout is not None
    served = Served(process)
    try:
        while (match := _LISTENING.search(served.output)) is None:
            line = await asyncio.wait_for(process.stdout.readline(), 30)
            assert line, served.output.decode(errors="replace")
            served.output += line
        served.url = f"http://127.0.0.1:{match.group(1).decode()}"
        yield served
    finally:
        await served.stop()


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
