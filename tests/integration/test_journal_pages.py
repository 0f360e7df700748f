"""The bounded journal over real loopback HTTP: pages, health's counters, cut bodies, no stall."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from _helpers.conversation import ALICE
from aiohttp import web

from oa_mockserver import TRUNCATED_MARKER, MockServer, ServerConfig
from oa_mockserver._cli import build_parser, config_from_args, main

FAST = ServerConfig(token_interval=0.0, first_token_delay=0.0, reply_tokens=4)


@pytest_asyncio.fixture
async def server() -> AsyncIterator[MockServer]:
    async with MockServer(dataclasses.replace(FAST, journal_limit=7)) as running:
        yield running


async def _get(http: aiohttp.ClientSession, url: str) -> tuple[int, Any]:
    async with http.get(url) as response:
        return response.status, await response.json()


async def _send(server: MockServer, count: int) -> None:
    """``count`` requests: a chat list, then (every third) a path no route matches."""
    async with aiohttp.ClientSession(cookies=ALICE) as http:
        for index in range(count):
            path = f"/nope/{index}" if index % 3 == 2 else "/api/chat"
            async with http.get(f"{server.url}{path}") as response:
                await response.read()


@pytest.mark.asyncio
async def test_pages_walk_every_kept_request_once_by_stable_sequence_ids(
    server: MockServer,
) -> None:
    await _send(server, 10)  # the limit is 7: requests 1 to 3 are dropped
    base = f"{server.url}/__admin"
    async with aiohttp.ClientSession() as http:
        status, health = await _get(http, f"{base}/health")
        assert status == 200
        assert (health["requests"], health["requests_dropped"], health["journal_limit"]) == (
            7,
            3,
            7,
        )
        seqs: list[int] = []
        paths: list[str] = []
        status, page = await _get(http, f"{base}/requests?limit=3")
        assert (page["missed"], page["dropped"]) == (3, 3)  # ids 1-3 are gone
        while True:
            assert status == 200
            assert len(page["requests"]) <= 3
            seqs += [r["seq"] for r in page["requests"]]
            paths += [r["path"] for r in page["requests"]]
            if not page["has_more"]:
                break
            status, page = await _get(http, f"{base}/requests?limit=3&after={page['next_after']}")
        assert seqs == list(range(4, 11))
        assert paths == [f"/nope/{i}" if i % 3 == 2 else "/api/chat" for i in range(3, 10)]
        assert page["next_after"] == 10

        # polling with next_after sees only what came since; more drops are counted as missed
        await _send(server, 9)
        status, page = await _get(http, f"{base}/requests?after=10")
        assert [r["seq"] for r in page["requests"]] == list(range(13, 20))
        assert (page["missed"], page["dropped"], page["has_more"]) == (2, 12, False)

        # a clear forgets, but ids go on
        async with http.delete(f"{base}/requests") as response:
            assert await response.json() == {"cleared": 7}
        status, health = await _get(http, f"{base}/health")
        assert (health["requests"], health["requests_dropped"]) == (0, 0)
        await _send(server, 1)
        status, page = await _get(http, f"{base}/requests")
        assert [r["seq"] for r in page["requests"]] == [20]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ("limit=0", "limit must be an integer in 1..1000, got 0"),
        ("limit=1001", "limit must be an integer in 1..1000, got 1001"),
        ("limit=ten", "limit must be a whole number, got 'ten'"),
        ("limit=", "limit must be a whole number, got ''"),
        ("after=-1", "after must be a whole number, got '-1'"),
        ("after=1e3", "after must be a whole number, got '1e3'"),
        ("after=99", "after=99 is past the newest sequence id, 2"),
        ("after=" + "9" * 40, "after must be a whole number"),
    ],
)
async def test_bad_page_values_get_400_json(server: MockServer, query: str, detail: str) -> None:
    await _send(server, 2)
    async with aiohttp.ClientSession() as http:
        status, data = await _get(http, f"{server.url}/__admin/requests?{query}")
    assert status == 400
    assert detail in data["detail"]


@pytest.mark.asyncio
async def test_a_long_body_is_journaled_cut_with_its_size(server: MockServer) -> None:
    body = b"x" * 100_000
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{server.url}/nope", data=body) as response:
            assert response.status == 404
        status, page = await _get(http, f"{server.url}/__admin/requests")
    assert status == 200
    (shown,) = page["requests"]
    assert (shown["body_size"], shown["body_truncated"]) == (100_000, True)
    assert shown["body"] == "x" * 4096 + TRUNCATED_MARKER.format(kept=4096, size=100_000)


@pytest.mark.asyncio
async def test_a_header_that_is_not_utf8_does_not_break_the_read(server: MockServer) -> None:
    host, port = server.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(b"GET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Bin: \xff\xfe\r\n\r\n")
    assert b" 404 " in await _exchange(reader, writer)
    writer.close()
    await writer.wait_closed()
    async with aiohttp.ClientSession() as http:
        status, page = await _get(http, f"{server.url}/__admin/requests")
    assert status == 200  # was a bare 500: a lone surrogate cannot be encoded as UTF-8
    assert page["requests"][0]["headers"]["X-Bin"] == "??"


@pytest.mark.asyncio
async def test_misses_dropped_by_the_limit_still_fail_the_check() -> None:
    async with MockServer(dataclasses.replace(FAST, journal_limit=2)) as server:
        await _send(server, 9)  # misses: /nope/2, /nope/5, /nope/8 (the last one is kept)
        problems = server.problems()
    assert problems == [
        "no route matched GET /nope/8 (answered 404)",
        "no route matched 2 more request(s), dropped from the journal by its limit "
        "(2; journal_limit=0 keeps them all)",
    ]


def test_the_pytest_fixture_journal_keeps_every_request_whole(oa_mockserver: Any) -> None:
    journal = oa_mockserver.journal
    assert (journal.limit, journal.body_limit) == (0, 0)


# -- a big read does not hold other requests up ----------------------------------------------


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, target: str | None = None
) -> bytes:
    """Read one HTTP/1.1 response (sending a GET of ``target`` first, if given)."""
    if target is not None:
        writer.write(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return head + await reader.readexactly(length)


@pytest.mark.asyncio
async def test_a_concurrent_request_is_answered_before_a_big_read_ends() -> None:
    """Structural, not timed: both requests reach the server at once, the big read first.

    A handler that never yields runs to its end before the loop serves anything else; ours
    serializes in slices and yields between them, so the health check is answered first.
    """
    server = MockServer(ServerConfig(journal_limit=0))
    prepared: list[str] = []

    async def on_prepare(request: web.Request, response: web.StreamResponse) -> None:
        prepared.append(request.path)

    server.app.on_response_prepare.append(on_prepare)
    async with server:
        for index in range(1000):
            server.journal.record_request(
                method="POST", path=f"/api/chat/{index}", query_string="a=1",
                headers={"Host": "127.0.0.1", "Cookie": "secret"}, body=b'{"content": "hi"}',
                content_type="application/json", status=200, matched=True, step=None,
                started_at=0.0, duration_s=0.0, faults=(), stream=None,
            )  # fmt: skip
        host, port = server.url.removeprefix("http://").split(":")
        big = await asyncio.open_connection(host, int(port))
        small = await asyncio.open_connection(host, int(port))
        for connection in (big, small):  # both accepted, both idle, before the race
            await _exchange(*connection, "/__admin/health")
        prepared.clear()
        big[1].write(b"GET /__admin/requests?limit=1000 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        small[1].write(b"GET /__admin/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        answers = await asyncio.gather(_exchange(*big), _exchange(*small))
        for _, writer in (big, small):
            writer.close()
            await writer.wait_closed()
    assert answers[0].count(b'"seq"') == 1000
    assert prepared == ["/__admin/health", "/__admin/requests"]


# -- the command line ----------------------------------------------------------------------------


def test_journal_options_on_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    parse = build_parser().parse_args
    default = config_from_args(parse(["serve"]))
    assert (default.journal_limit, default.journal_body_limit) == (5000, 4096)
    unbounded = config_from_args(
        parse(["serve", "--journal-limit", "0", "--journal-body-limit", "0"])
    )
    assert (unbounded.journal_limit, unbounded.journal_body_limit) == (0, 0)
    assert main(["serve", "--journal-limit", "-1"]) == 2
    assert "journal_limit must be an integer >= 0" in capsys.readouterr().err
