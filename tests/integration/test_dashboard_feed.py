"""The dashboard's live feed (``/__admin/ui/events``) and its page, over real loopback HTTP.

The feed is read with the project's own SSE decoder (``oa_provider.SSEDecoder``), as a browser
would read it, and compared with what the server's journal and state say.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from _helpers.served import serving
from _served_app import served

from oa_mockserver import MockServer, ServerConfig
from oa_mockserver._control.dashboard import user_label
from oa_mockserver._server.app import context_of
from oa_mockserver._server.auth import web_user
from oa_mockserver._server.routes import ui
from oa_provider import OAError, OpenAssistant, SSEDecoder

ALICE = {"next-auth.session-token": "alice"}
BOB = {"next-auth.session-token": "bob"}
TOKEN = "t0ken-for-the-dashboard_7Yz"
EVIL = "http://attacker.example"
LIBRARY = Path(__file__).resolve().parents[2] / "cassettes"
MULTI_TURN = [
    {"role": "user", "content": "Name a colour."},
    {"role": "assistant", "content": "Blue."},
    {"role": "user", "content": "And another one?"},
]

Event = tuple[str, Any]


class Feed:
    """A subscriber: every event of the feed, decoded, in order."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._changed = asyncio.Event()

    def add(self, event: str, data: Any) -> None:
        self.events.append((event, data))
        self._changed.set()

    def of(self, name: str) -> list[Any]:
        return [data for event, data in self.events if event == name]

    def rows(self) -> list[dict[str, Any]]:
        return [row for batch in self.of("requests") for row in batch["rows"]]

    async def until(self, check: Callable[[], Any], timeout: float = 10.0) -> Any:
        async def wait() -> Any:
            while not (found := check()):
                self._changed.clear()
                await self._changed.wait()
            return found

        return await asyncio.wait_for(wait(), timeout)


@asynccontextmanager
async def subscribed(url: str, headers: dict[str, str] | None = None) -> AsyncIterator[Feed]:
    feed = Feed()
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{url}/__admin/ui/events", headers=headers or {}) as response,
    ):
        assert response.status == 200, await response.text()
        assert response.headers["Content-Type"].startswith("text/event-stream")
        decoder = SSEDecoder()

        async def read() -> None:
            async for chunk in response.content.iter_any():
                for event in decoder.feed(chunk):
                    feed.add(event.event, json.loads(event.data))

        reader = asyncio.create_task(read())
        try:
            await feed.until(lambda: feed.of("hello"))
            yield feed
        finally:
            reader.cancel()


async def chat(url: str, cookies: dict[str, str], messages: list[dict[str, str]]) -> str:
    provider = OpenAssistant(base_url=url, cookies=cookies)
    return "".join([t async for t in provider.create_async_generator(messages=messages)])


@pytest.mark.asyncio
async def test_a_conversation_shows_live_then_as_rows_whose_points_are_the_journals() -> None:
    config = ServerConfig(token_interval=0.03, first_token_delay=0.0, reply_tokens=12)
    async with MockServer(config) as server, subscribed(server.url) as feed:
        talk = asyncio.create_task(chat(server.url, ALICE, [{"role": "user", "content": "hi"}]))
        live = await feed.until(lambda: [s for s in feed.of("stream") if s["timeline"]["points"]])
        assert not talk.done()  # drawn while the server still writes it
        assert live[0]["timeline"]["live"]
        assert live[0]["path"].startswith("/api/chat/events?chat_id=")
        await talk
        await server.wait_for_streams()
        rows = await feed.until(lambda: len(feed.rows()) >= 5 and feed.rows())
    steps = [r["step"] for r in rows]
    assert steps == ["create_chat", "prompter_message", "assistant_message", "events",
                     "delete_chat"]  # fmt: skip
    assert {r["user"] for r in rows} == {user_label(web_user(ALICE))}
    journaled = server.journal.calls[3].stream
    assert journaled is not None
    stream = rows[3]["stream"]
    # the drawing's points are the journal's chunks, to the last bit of every time
    assert [p[0] for p in stream["points"]] == [c.offset_s for c in journaled.chunks]
    assert [p[2] for p in stream["points"]] == [c.kind for c in journaled.chunks]
    assert stream["tokens"] == 12
    assert stream["final"]
    assert stream["key"] == live[0]["timeline"]["key"]  # the live lane becomes this row
    # the live points were the same chunks, as far as they had gone
    seen = live[-1]["timeline"]["points"]
    assert [p[0] for p in seen] == [c.offset_s for c in journaled.chunks][: len(seen)]
    assert "alice" not in json.dumps(feed.events)  # the cookie never travels


@pytest.mark.asyncio
async def test_a_live_stream_s_query_is_redacted_as_in_the_journal() -> None:
    config = ServerConfig(token_interval=0.03, first_token_delay=0.0, reply_tokens=12)
    secret = "live-query-secret-4471"
    async with (
        MockServer(config) as server,
        subscribed(server.url) as feed,
        aiohttp.ClientSession(cookies=ALICE) as http,
    ):
        async with http.post(f"{server.url}/api/chat") as r:
            chat_id = (await r.json())["id"]
        body = {"chat_id": chat_id, "content": "hi", "parent_id": None}
        async with http.post(f"{server.url}/api/chat/prompter_message", json=body) as r:
            prompter_id = (await r.json())["id"]
        body = {"chat_id": chat_id, "parent_id": prompter_id, "model_config_name":
                "OA_SFT_Llama_30B_6", "sampling_parameters": {}}  # fmt: skip
        async with http.post(f"{server.url}/api/chat/assistant_message", json=body) as r:
            message_id = (await r.json())["id"]
        query = {"chat_id": chat_id, "message_id": message_id, "access_token": secret}
        async with http.get(f"{server.url}/api/chat/events", params=query) as stream:
            live = await feed.until(lambda: feed.of("stream"))
            await stream.read()
    assert "access_token=REDACTED" in live[0]["path"]
    assert secret not in json.dumps(feed.events)


@pytest.mark.asyncio
async def test_faults_chats_and_health_follow_the_server() -> None:
    config = ServerConfig(token_interval=0.0, first_token_delay=0.0)
    async with (
        MockServer(config) as server,
        subscribed(server.url) as feed,
        aiohttp.ClientSession() as http,
    ):
        assert (await feed.until(lambda: feed.of("faults")))[-1] == []
        async with http.post(
            f"{server.url}/__admin/faults", json={"header": "status:503;step=create_chat"}
        ) as r:
            assert r.status == 200
        faults = await feed.until(lambda: [f for f in feed.of("faults") if f])
        assert faults[-1][0]["kind"] == "status"
        server.clear_faults()
        await feed.until(lambda: feed.of("faults")[-1] == [])
        async with http.post(f"{server.url}/api/chat", cookies=BOB) as r:
            chat_id = (await r.json())["id"]
        body = {"chat_id": chat_id, "content": "a prompt", "parent_id": None}
        async with http.post(
            f"{server.url}/api/chat/prompter_message", json=body, cookies=BOB
        ) as r:
            assert r.status == 200
        chats = await feed.until(lambda: [c for c in feed.of("chats") if c])
        assert chats[-1][0]["id"] == chat_id
        assert chats[-1][0]["user"] == user_label(web_user(BOB))
        assert chats[-1][0]["messages"][0]["content"] == "a prompt"
        health = await feed.until(
            lambda: [h for h in feed.of("health") if h["requests"] == 2 and h["chats"] == 1]
        )
        assert health[-1]["handler_errors"] == 0
        assert health[-1]["dropped"] == 0


@pytest.mark.asyncio
async def test_replay_hits_and_strict_misses_reach_the_rows_with_their_differences() -> None:
    config = ServerConfig(
        cassettes=str(LIBRARY / "web/multi_turn.yaml"), strict_replay=True,
        token_interval=0.0, first_token_delay=0.0,
    )  # fmt: skip
    async with MockServer(config) as server, subscribed(server.url) as feed:
        assert await chat(server.url, ALICE, MULTI_TURN)
        with pytest.raises(OAError):
            await chat(server.url, ALICE, [{"role": "user", "content": "Name a fruit."}])
        misses = await feed.until(lambda: [m for m in feed.of("misses") if m])
        rows = await feed.until(
            lambda: (
                [r for r in feed.rows() if r["step"] == "assistant_message"][1:]
                and [r for r in feed.rows() if r["step"] == "assistant_message"]
            )
        )
        async with aiohttp.ClientSession() as http, http.post(f"{server.url}/__admin/reset") as r:
            assert r.status == 200
        forgotten = context_of(server.app).replay_log.misses()
    hit, missed = rows
    assert hit["replay"]["outcome"] == "hit"
    assert missed["status"] == 409
    assert missed["replay"]["outcome"] == "strict-miss"
    assert (
        missed["replay"]["nearest"].startswith("multi_turn.yaml:")
        or "multi_turn.yaml" in (missed["replay"]["nearest"])
    )
    fields = {d["field"] for d in missed["replay"]["differences"]}
    assert "content" in fields or "thread" in fields
    assert misses[-1] == [{"seq": missed["seq"], **missed["replay"]}]
    assert forgotten == []  # a reset forgets them with the rest of the server's state


@pytest.mark.asyncio
@pytest.mark.parametrize("number", ["%C2%B2", "%D9%A3"])  # "²" and an Arabic-Indic 3: digits to
async def test_a_non_ascii_digit_is_no_number(number: str) -> None:  # str.isdigit, not to int
    async with MockServer(ServerConfig()) as server, aiohttp.ClientSession() as http:
        async with http.get(f"{server.url}/__admin/ui/answers/{number}") as r:
            assert r.status == 404
        async with http.get(f"{server.url}/__admin/ui/events?after={number}") as r:
            assert r.status == 200  # read as "from the start"


@pytest.mark.asyncio
async def test_no_page_no_work_and_a_closed_page_stops_its_feed() -> None:
    async with MockServer(ServerConfig(token_interval=0.0, first_token_delay=0.0)) as server:
        ctx = context_of(server.app)
        await chat(server.url, ALICE, [{"role": "user", "content": "unwatched"}])
        assert ctx.live_streams is None  # nobody watches: the guard notes no stream
        async with subscribed(server.url):
            assert ctx.live_streams == {}
        for _ in range(200):
            if ctx.live_streams is None:
                break
            await asyncio.sleep(0.02)
        assert ctx.live_streams is None  # the feed noticed the page left and stopped
        assert [c.path for c in server.journal.calls if "__admin" in c.path] == []


@pytest.mark.asyncio
async def test_a_page_that_reads_nothing_neither_slows_the_chats_nor_stays(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ui, "WRITE_TIMEOUT_S", 0.5)
    config = ServerConfig(token_interval=0.0, first_token_delay=0.0, reply_tokens=64)
    async with MockServer(config) as server:
        ctx = context_of(server.app)
        host, port = server.url.removeprefix("http://").split(":")
        stuck = socket.socket()
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
        stuck.setblocking(False)
        loop = asyncio.get_running_loop()
        await loop.sock_connect(stuck, (host, int(port)))
        request = f"GET /__admin/ui/events HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n"
        await loop.sock_sendall(stuck, request.encode())
        try:
            for _ in range(200):
                if ctx.live_streams is not None:
                    break
                await asyncio.sleep(0.01)
            assert ctx.live_streams is not None
            # rows of 6 KB each: more than the feed's connection can hold
            async with aiohttp.ClientSession() as http:
                for n in range(300):
                    async with http.get(f"{server.url}/{n}{'x' * 6000}") as r:
                        assert r.status == 404
            prompts = [[{"role": "user", "content": f"prompt {n}"}] for n in range(20)]
            replies = await asyncio.gather(*(chat(server.url, ALICE, p) for p in prompts))
            assert all(replies)
            for _ in range(500):  # the page never reads: the feed gives up on it
                if ctx.live_streams is None:
                    break
                await asyncio.sleep(0.02)
            assert ctx.live_streams is None
            # and its connection is closed, not left open on a full send buffer: reading what
            # was sent ends in a reset or the end of the stream
            ended = False
            for _ in range(500):
                try:
                    if not await asyncio.wait_for(loop.sock_recv(stuck, 1 << 16), 5):
                        ended = True
                except ConnectionResetError:
                    ended = True
                if ended:
                    break
            assert ended
        finally:
            stuck.close()


# -- who may open the page and its feed ----------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": EVIL},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Host": "attacker.example"},
    ],
)
async def test_other_sites_get_neither_the_page_nor_the_feed(headers: dict[str, str]) -> None:
    async with MockServer(ServerConfig()) as server, aiohttp.ClientSession() as http:
        for path in ("/__admin/ui", "/__admin/ui/events"):
            async with http.get(server.url + path, headers=headers) as r:
                assert r.status == 403, (path, headers)
                assert r.content_type == "application/json"
        async with http.get(server.url + "/__admin/ui", headers={"Sec-Fetch-Site": "none"}) as r:
            assert r.status == 200  # typed in the address bar, or opened by `serve --open`
            assert r.headers["X-Frame-Options"] == "DENY"
            assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]


@pytest.mark.asyncio
async def test_a_wide_bind_serves_the_empty_page_but_the_feed_only_with_the_token() -> None:
    config = ServerConfig(host="0.0.0.0", admin_token=TOKEN, token_interval=0.0)
    async with served(config) as url, aiohttp.ClientSession() as http:
        async with http.post(f"{url}/api/chat", cookies=ALICE) as r:
            chat_id = (await r.json())["id"]
        async with http.get(f"{url}/__admin/ui") as r:
            page = await r.text()
            assert r.status == 200  # the static page: no data in it, it asks for the token
        assert chat_id not in page
        assert "Admin token" in page
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            async with http.get(f"{url}/__admin/ui/events", headers=headers) as r:
                assert r.status == 401
                assert chat_id not in await r.text()
        async with http.get(f"{url}/__admin/ui", headers={"Origin": EVIL}) as r:
            assert r.status == 403
        async with subscribed(url, {"Authorization": f"Bearer {TOKEN}"}) as feed:
            rows = await feed.until(feed.rows)
        assert rows[0]["step"] == "create_chat"


@pytest.mark.asyncio
async def test_a_wide_bind_without_a_token_serves_not_even_the_page() -> None:
    async with served(ServerConfig(host="0.0.0.0")) as url, aiohttp.ClientSession() as http:
        for path in ("/__admin/ui", "/__admin/ui/events"):
            async with http.get(url + path) as r:
                assert r.status == 401
                assert "no admin token" in (await r.json())["detail"]


@pytest.mark.asyncio
async def test_serve_prints_the_dashboard_and_opens_it_in_the_browser(tmp_path: Path) -> None:
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.py"
    browser.write_text(f"import sys; open({str(opened)!r}, 'w').write(sys.argv[1])\n")
    import os
    import sys

    env = {**os.environ, "BROWSER": f"{sys.executable} {browser} %s"}
    async with serving("serve", "--port", "0", "--open", env=env) as served_cli:
        for _ in range(250):
            if opened.exists() and opened.read_text():
                break
            await asyncio.sleep(0.02)
        dashboard = f"{served_cli.url}/__admin/ui"
        assert opened.read_text() == dashboard
    assert f"dashboard: {dashboard}".encode() in served_cli.output


@pytest.mark.asyncio
async def test_serve_open_without_a_browser_says_so_and_serves_on(tmp_path: Path) -> None:
    import os

    env = {
        k: v for k, v in os.environ.items() if k not in ("BROWSER", "DISPLAY", "WAYLAND_DISPLAY")
    }
    env["TERM"] = "xterm"  # a console browser would be found: it must not be started
    async with serving("serve", "--port", "0", "--open", env=env) as served_cli:
        async with aiohttp.ClientSession() as http, http.get(served_cli.url + "/__admin/ui") as r:
            assert r.status == 200
        for _ in range(100):
            if b"no browser found" in served_cli.output:
                break
            line = await asyncio.wait_for(served_cli.process.stdout.readline(), 5)  # type: ignore[union-attr]
            served_cli.output += line
    assert f"no browser found; open {served_cli.url}/__admin/ui yourself".encode() in (
        served_cli.output
    )


def test_every_fixture_server_serves_the_dashboard(oa_mockserver: Any) -> None:
    import urllib.request

    assert oa_mockserver.dashboard_url == oa_mockserver.url + "/__admin/ui"
    with urllib.request.urlopen(oa_mockserver.dashboard_url, timeout=5) as answer:
        assert answer.status == 200
        assert b"oa-mockserver dashboard" in answer.read()
    assert oa_mockserver.journal.call_count == 0  # not journaled: teardown finds no stray request


@pytest.mark.asyncio
async def test_answers_are_kept_while_a_page_watches_and_shown_redacted() -> None:
    async with MockServer(ServerConfig()) as server, aiohttp.ClientSession() as http:
        ctx = context_of(server.app)
        async with http.post(f"{server.url}/api/chat", cookies=ALICE) as r:
            unwatched = (await r.json())["id"]
        assert ctx.answers is None  # no page: nothing kept
        async with http.get(f"{server.url}/__admin/ui/answers/1") as r:
            assert r.status == 404
            assert "only while a dashboard page watches" in (await r.json())["detail"]
        async with subscribed(server.url):
            async with http.post(f"{server.url}/api/chat", cookies=ALICE) as r:
                chat_id = (await r.json())["id"]
            async with http.get(f"{server.url}/auth/callback/debug?code=alice") as r:
                tokens = await r.json()
            access = tokens["access_token"]["access_token"]
            async with http.get(f"{server.url}/__admin/ui/answers/2") as r:
                kept = await r.json()
            assert kept["status"] == 200
            assert kept["content_type"] == "application/json"
            assert json.loads(kept["body"])["id"] == chat_id != unwatched
            async with http.get(f"{server.url}/__admin/ui/answers/3") as r:
                login = await r.text()
            assert access not in login  # the answer's token, redacted as the journal would
            assert "REDACTED" in login
            async with http.get(
                f"{server.url}/__admin/ui/answers/2", headers={"Origin": EVIL}
            ) as r:
                assert r.status == 403
        for _ in range(200):
            if ctx.answers is None:
                break
            await asyncio.sleep(0.02)
        assert ctx.answers is None  # the page left: what was kept goes too
