"""The final DELETE survives a hiccup: 5xx, 429 and connection errors are retried with backoff,
honouring Retry-After, within the 5 s cleanup budget, before the WARNING."""

from __future__ import annotations

import asyncio
import logging

import pytest
from _fakes import FIVE, FakeSite, Reply, chat

from oa_provider import _client as client_module


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The pauses the DELETE retries ask for (taken at once: no test waits on a clock)."""
    asked: list[float] = []
    real_sleep = asyncio.sleep

    async def sleep(seconds: float) -> None:
        asked.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(client_module, "_sleep", sleep)
    return asked


def deletes(site: FakeSite) -> int:
    return site.paths().count("DELETE /api/chat")


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "failure",
    [Reply(500, times=2), Reply(502, times=2), Reply(429, times=2)],
    ids=["500", "502", "429"],
)
async def test_a_failed_delete_is_retried_until_it_succeeds(
    site: FakeSite, failure: Reply, waits: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    site.replies[("DELETE", "/api/chat")] = failure
    assert await chat(site) == "Hello, world!"
    assert site.paths() == [*FIVE, "DELETE /api/chat", "DELETE /api/chat"]
    assert not site.live_chats
    assert waits == [0.1, 0.2], "exponential backoff"
    assert warnings(caplog) == []


@pytest.mark.asyncio
async def test_a_dropped_connection_is_retried(
    site: FakeSite, waits: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    # aiohttp itself resends once when a reused connection was closed under it; the second
    # drop reaches us.
    site.replies[("DELETE", "/api/chat")] = Reply(0, drop=True, times=2)
    assert await chat(site) == "Hello, world!"
    assert deletes(site) == 3
    assert not site.live_chats
    assert waits == [0.1]
    assert warnings(caplog) == []


@pytest.mark.asyncio
@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_is_honoured(
    site: FakeSite, status: int, waits: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    site.replies[("DELETE", "/api/chat")] = Reply(status, headers={"Retry-After": "2"}, times=1)
    assert await chat(site) == "Hello, world!"
    assert waits == [2.0]
    assert not site.live_chats
    assert warnings(caplog) == []


@pytest.mark.asyncio
async def test_a_retry_after_beyond_the_budget_gives_up_at_once(
    site: FakeSite, waits: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    site.replies[("DELETE", "/api/chat")] = Reply(503, headers={"Retry-After": "60"})
    assert await chat(site) == "Hello, world!"
    assert deletes(site) == 1
    assert waits == []
    (warning,) = warnings(caplog)
    assert "could not delete chat" in warning
    assert "within 5 s" in warning


@pytest.mark.asyncio
@pytest.mark.parametrize("status", [400, 401, 403, 404])
async def test_an_answer_that_will_not_change_is_not_retried(
    site: FakeSite, status: int, waits: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    site.replies[("DELETE", "/api/chat")] = Reply(status)
    assert await chat(site) == "Hello, world!"
    assert deletes(site) == 1
    assert waits == []
    assert len(warnings(caplog)) == 1


@pytest.mark.asyncio
async def test_a_delete_that_keeps_failing_warns_once_within_the_budget(
    site: FakeSite, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # The real sleep, a budget cut to 0.5 s: room for a retry or two (0.1 s, then 0.2 s), never
    # for a third (0.4 s more).
    monkeypatch.setattr(client_module, "DELETE_TIMEOUT", 0.5)
    site.replies[("DELETE", "/api/chat")] = Reply(503, '{"message":"db down"}')
    assert await chat(site) == "Hello, world!"
    assert 2 <= deletes(site) <= 3
    (warning,) = warnings(caplog)
    assert "could not delete chat" in warning
    assert "within 0.5 s" in warning
    assert "db down" in warning
