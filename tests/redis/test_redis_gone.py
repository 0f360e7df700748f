"""Redis going away mid-reply: a stream that another process follows from Redis ends (no final
event) instead of waiting for entries that cannot come. Its own redis-server, killed here."""

from __future__ import annotations

import asyncio
import socket

import aiohttp
import pytest
from _processes import COOKIES, pace, processes, start_reply

pytestmark = [pytest.mark.redis, pytest.mark.asyncio]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _started(port: int) -> asyncio.subprocess.Process:
    server = await asyncio.create_subprocess_exec(
        "/usr/bin/redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
        "--appendonly", "no",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(100):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        return server
    server.kill()
    await server.wait()
    raise AssertionError("redis-server did not start")


async def test_a_stream_followed_from_redis_ends_when_redis_goes_away() -> None:
    port = _free_port()
    redis_server = await _started(port)
    paced = pace(400, interval=0.05)
    try:
        async with (
            processes(2, "--store", f"redis://127.0.0.1:{port}/0", *paced) as (a, b),
            aiohttp.ClientSession(cookies=COOKIES) as http,
        ):
            ids = await start_reply(http, a.url)
            remote = await http.get(f"{b.url}/api/chat/events", params=ids)
            await remote.content.readuntil(b"\r\n\r\n")  # b streams it from Redis
            redis_server.kill()
            await redis_server.wait()
            rest = await asyncio.wait_for(remote.read(), 15)  # before: never ended
            assert b'"event_type": "message"' not in rest
            remote.release()
    finally:
        if redis_server.returncode is None:
            redis_server.kill()
            await redis_server.wait()
