"""The shared store under load and under failure: 1,000 concurrent conversations over two
processes (and 300 sharing two workers), nothing left behind; a process killed mid-stream;
``serve --processes 2`` on one port."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import aiohttp
import pytest
import redis
from _processes import (
    COOKIES,
    MODEL,
    crossing_conversations,
    json_of,
    pace,
    processes,
    serving,
    start_reply,
    status_of,
)

from oa_mockserver._server.redis_pool import QUEUE_KEY, SLOTS_KEY
from oa_provider import IncompleteStreamError, OpenAssistant

pytestmark = [pytest.mark.redis, pytest.mark.asyncio]

UNPACED = pace(8)


# (conversations at once, the options of the worker pool, the client's connection limit)
CROWDS = [
    pytest.param(1000, (), 200, id="a-thousand-conversations"),
    pytest.param(300, ("--workers", "2"), 100, id="two-workers-shared-by-many-conversations"),
]


@pytest.mark.parametrize(("count", "pool", "limit"), CROWDS)
async def test_concurrent_conversations_over_two_processes_leave_nothing_behind(
    redis_url: str, count: int, pool: tuple[str, ...], limit: int
) -> None:
    async with processes(2, "--store", redis_url, *pool, *UNPACED) as servers:
        urls = [s.url for s in servers]
        connector = aiohttp.TCPConnector(limit=limit)
        async with aiohttp.ClientSession(cookies=COOKIES, connector=connector) as http:
            assert await crossing_conversations(http, urls, count) == []
            for url in urls:
                assert await json_of(await http.get(f"{url}/__admin/chats")) == {"chats": []}
        client = redis.Redis.from_url(redis_url)
        try:
            # every worker slot was given back and nothing waits
            assert (client.scard(SLOTS_KEY), client.zcard(QUEUE_KEY)) == (0, 0)
        finally:
            client.close()


async def _tokens(provider: OpenAssistant, got: asyncio.Event) -> list[str]:
    texts: list[str] = []
    async for text in provider.create_async_generator(MODEL, [{"role": "user", "content": "x"}]):
        texts.append(text)
        got.set()
    return texts


async def test_a_killed_process_loses_only_its_own_streams(redis_url: str) -> None:
    paced = pace(150, interval=0.02)
    async with processes(2, "--store", redis_url, *paced) as (doomed, survivor):
        on_doomed = OpenAssistant(base_url=doomed.url, cookies=COOKIES)
        on_survivor = OpenAssistant(base_url=survivor.url, cookies=COOKIES)
        started = [asyncio.Event() for _ in range(6)]
        doomed_runs = [asyncio.create_task(_tokens(on_doomed, e)) for e in started[:3]]
        survivor_runs = [asyncio.create_task(_tokens(on_survivor, e)) for e in started[3:]]
        await asyncio.wait_for(asyncio.gather(*(event.wait() for event in started)), 30)
        # and a reply the doomed process generates, streamed by the survivor
        http = aiohttp.ClientSession(cookies=COOKIES)
        ids = await start_reply(http, doomed.url)
        remote = await http.get(f"{survivor.url}/api/chat/events", params=ids)
        first = await remote.content.readuntil(b"\r\n\r\n")  # its first token is out
        await doomed.stop(signal.SIGKILL)
        # its process gone, the stream ends within the reply's lease, without a final event
        # (how many more tokens got out before the kill landed is a race: 0 or a few)
        rest = await asyncio.wait_for(remote.read(), 30)
        await http.close()
        assert b'"event_type": "token"' in first
        assert (first + rest).count(b'"event_type": "token"') < 150
        assert b'"event_type": "message"' not in rest
        doomed_results, survivor_results = await asyncio.wait_for(
            asyncio.gather(
                asyncio.gather(*doomed_runs, return_exceptions=True),
                asyncio.gather(*survivor_runs, return_exceptions=True),
            ),
            30,
        )
        # the killed process's clients see their streams cut; nobody else does
        assert all(isinstance(r, IncompleteStreamError) for r in doomed_results), doomed_results
        assert [len(r) for r in survivor_results if isinstance(r, list)] == [150, 150, 150]
        async with aiohttp.ClientSession(cookies=COOKIES) as http:
            # no state lost: the chats begun on the killed process are on the survivor, whole
            chats = (await json_of(await http.get(f"{survivor.url}/__admin/chats")))["chats"]
            assert len(chats) == 4  # their DELETEs died with the process
            for chat in chats:
                assert [m["role"] for m in chat["messages"]] == ["prompter", "assistant"]
                deleted = await http.delete(
                    f"{survivor.url}/api/chat", params={"chat_id": chat["id"]}
                )
                assert await status_of(deleted) == 200
            # and the survivor keeps serving new conversations
            ids = await start_reply(http, survivor.url)
            body = await (await http.get(f"{survivor.url}/api/chat/events", params=ids)).read()
            assert body.count(b'"event_type": "token"') == 150


def _children(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/task/{pid}/children").read_text().split()


def _alive(pid: str) -> bool:
    return Path(f"/proc/{pid}").exists()


async def test_serve_processes_on_one_port_and_sigterm_stops_all(redis_url: str) -> None:
    async with serving("--processes", "2", "--store", redis_url, *UNPACED) as served:
        assert b"(2 processes)" in served.output
        provider = OpenAssistant(base_url=served.url, cookies=COOKIES)
        replies = await asyncio.gather(*(_tokens(provider, asyncio.Event()) for _ in range(20)))
        assert [len(reply) for reply in replies] == [8] * 20
        master = served.process.pid
        workers = _children(master)
        assert len(workers) == 2
        status = await served.stop(signal.SIGTERM)
    assert status == 0
    assert b"Traceback" not in served.output
    for pid in workers:  # every worker is gone with the arbiter
        assert not _alive(pid)


async def test_processes_without_a_store_is_refused() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "oa_mockserver", "serve", "--processes", "2",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert b"--processes 2 needs a shared store: add --store redis://" in err
