"""The control plane over processes: fault rules set on one process fire on all (``times=N``
counted once across them), and the journal on any process lists every process's calls."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from _processes import COOKIES, json_of, pace, processes, status_of, web_conversation

pytestmark = [pytest.mark.redis, pytest.mark.asyncio]

UNPACED = pace(4)


async def _until_rules(http: aiohttp.ClientSession, url: str, count: int) -> None:
    """Wait until the process at ``url`` applies ``count`` rules (announced by pub/sub)."""
    for _ in range(1000):
        if (await json_of(await http.get(f"{url}/__admin/health")))["faults"] == count:
            return
        await asyncio.sleep(0.01)
    pytest.fail(f"{url} never applied {count} rules")


async def test_a_fault_set_on_one_process_fires_n_times_across_all(redis_url: str) -> None:
    async with (
        processes(2, "--store", redis_url, *UNPACED) as (a, b),
        aiohttp.ClientSession(cookies=COOKIES) as http,
    ):
        rule = {"header": "status:503;step=create_chat;times=3"}
        await json_of(await http.post(f"{a.url}/__admin/faults", json=rule))
        await _until_rules(http, b.url, 1)
        statuses = [
            await status_of(await http.post(f"{(a.url, b.url)[i % 2]}/api/chat")) for i in range(8)
        ]
        assert sorted(statuses) == [200] * 5 + [503] * 3
        # spent: gone from both
        await _until_rules(http, a.url, 0)
        await _until_rules(http, b.url, 0)


async def test_startup_faults_are_seeded_once_for_all_processes(redis_url: str) -> None:
    fault = ("--fault", "status:429;step=create_chat;times=2")
    async with (
        processes(2, "--store", redis_url, *UNPACED, *fault) as (a, b),
        aiohttp.ClientSession(cookies=COOKIES) as http,
    ):
        statuses = [
            await status_of(await http.post(f"{(a.url, b.url)[i % 2]}/api/chat")) for i in range(6)
        ]
        assert sorted(statuses) == [200] * 4 + [429] * 2


async def _all_calls(http: aiohttp.ClientSession, url: str, count: int) -> dict[str, Any]:
    """The journal's first page once it holds ``count`` calls: a process writes each call to
    Redis right after its answer, so another process's read may come a few ms before it."""
    for _ in range(100):  # 5 s at most
        page: dict[str, Any] = await json_of(await http.get(f"{url}/__admin/requests"))
        if len(page["requests"]) >= count:
            return page
        await asyncio.sleep(0.05)
    return page


async def test_the_journal_of_any_process_lists_every_process_calls(redis_url: str) -> None:
    async with (
        processes(2, "--store", redis_url, *UNPACED) as (a, b),
        aiohttp.ClientSession(cookies=COOKIES) as http,
    ):
        await web_conversation(http, [a.url, b.url])
        for url in (a.url, b.url):
            page = await _all_calls(http, url, 6)
            # in the order they reached Redis: a stream is journaled when it ends, and a
            # process writes its calls a moment later (batched), so order by start here
            calls = sorted(page["requests"], key=lambda call: call["started_at"])
            assert [call["step"] for call in calls] == [
                "create_chat",
                "prompter_message",
                "assistant_message",
                "events",
                "get_message",
                "delete_chat",
            ]
            assert [call["seq"] for call in page["requests"]] == [1, 2, 3, 4, 5, 6]
            assert calls[3]["stream"]["final_written"] is True
        # the same cursors on either process
        first = await json_of(await http.get(f"{a.url}/__admin/requests", params={"limit": "4"}))
        rest = await json_of(
            await http.get(f"{b.url}/__admin/requests", params={"after": first["next_after"]})
        )
        assert (first["has_more"], rest["has_more"]) == (True, False)
        assert [c["seq"] for c in rest["requests"]] == [5, 6]
        # cleared on one, cleared for all
        assert (await json_of(await http.delete(f"{b.url}/__admin/requests")))["cleared"] == 6
        assert (await json_of(await http.get(f"{a.url}/__admin/requests")))["requests"] == []
