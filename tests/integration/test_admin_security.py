"""The admin API refuses strangers and web pages, over real loopback HTTP.

Every server here listens on 127.0.0.1 (one on 127.0.0.2): "bound wider than loopback" is an app
made for ``host="0.0.0.0"`` but served on a loopback socket, so no test opens a port to the
network. The decisions themselves are unit-tested in tests/unit/oa_mockserver/test_admin_access.py.
"""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from _helpers.conversation import ALICE
from _helpers.served import serving
from _served_app import served as served_app
from aiohttp import web
from yarl import URL

from oa_mockserver import MockServer, ServerConfig, ThreadedMockServer
from oa_mockserver import _cli as cli
from oa_mockserver._cli import RedactingAccessLogger
from oa_mockserver._server.app import context_of
from oa_mockserver.recording import RecordingProxy

FAST = {"token_interval": 0.0, "first_token_delay": 0.0}
TOKEN = "t0ken-for-the-admin-api_9Xq"
EVIL = "http://attacker.example"


@asynccontextmanager
async def served(config: ServerConfig) -> AsyncIterator[str]:
    """:func:`_served_app.served` with the CLI's access log."""
    async with served_app(config, access_log_class=RedactingAccessLogger) as url:
        yield url


async def start_chat(http: aiohttp.ClientSession, url: str, prompt: str) -> str:
    """Alice's chat with one prompt; returns the chat id."""
    async with http.post(f"{url}/api/chat", cookies=ALICE) as response:
        chat_id: str = (await response.json())["id"]
    body = {"chat_id": chat_id, "content": prompt, "parent_id": None}
    async with http.post(f"{url}/api/chat/prompter_message", json=body, cookies=ALICE) as response:
        assert response.status == 200
    return chat_id


async def answer(response: aiohttp.ClientResponse) -> tuple[int, Any]:
    return response.status, await response.json(content_type=None)


# -- Host: DNS rebinding ------------------------------------------------------------------------


@pytest_asyncio.fixture
async def server() -> AsyncIterator[MockServer]:
    """A loopback server with instant replies (no admin token: loopback needs none)."""
    async with MockServer(ServerConfig(**FAST)) as running:
        yield running


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.mark.asyncio
async def test_a_rebound_name_cannot_read_or_change_anything(
    server: MockServer, http: aiohttp.ClientSession
) -> None:
    await start_chat(http, server.url, "my secret plan")
    port = URL(server.url).port
    admin = f"{server.url}/__admin"
    foreign = {"Host": f"attacker.example:{port}"}
    for method, path, extra in (
        ("GET", "requests", {}),
        ("GET", "chats", {}),
        ("POST", "reset", {"json": {}}),
        ("DELETE", "requests", {}),
        ("GET", "no-such-route", {}),
    ):
        async with http.request(method, f"{admin}/{path}", headers=foreign, **extra) as r:
            status, body = await answer(r)
        assert status == 403, (method, path)
        assert "DNS rebinding" in body["detail"]
        assert "http://localhost:<port>/__admin/" in body["detail"]
        assert "my secret plan" not in str(body)
    assert len(server.chats()) == 1  # nothing was reset
    assert server.journal.call_count == 2  # nor cleared

    for host in (f"localhost:{port}", f"127.0.0.1:{port}", "[::1]", f"127.9.9.9:{port}"):
        async with http.get(f"{admin}/requests", headers={"Host": host}) as r:
            status, body = await answer(r)
        assert status == 200, host
        assert "my secret plan" in str(body)


@pytest.mark.asyncio
async def test_a_server_on_another_loopback_address_answers_by_that_address() -> None:
    config = ServerConfig(host="127.0.0.2", **FAST)
    async with MockServer(config) as server, aiohttp.ClientSession() as http:
        assert server.admin_token is None  # still loopback: no token
        async with http.get(f"{server.url}/__admin/health") as r:
            assert r.status == 200
        async with http.get(f"{server.url}/__admin/health", headers={"Host": "evil.test"}) as r:
            assert r.status == 403


# -- pages of other sites -----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_cross_site_page_cannot_use_the_admin_api(
    server: MockServer, http: aiohttp.ClientSession
) -> None:
    await start_chat(http, server.url, "hello")
    admin = f"{server.url}/__admin"
    # the "simple" request a page may send anywhere: no preflight, text/plain
    page_post = {
        "data": b'{"header": "status:503"}',
        "headers": {"Origin": EVIL, "Content-Type": "text/plain"},
    }
    async with http.post(f"{admin}/faults", **page_post) as r:
        status, body = await answer(r)
    assert status == 403
    assert "another origin (http://attacker.example)" in body["detail"]
    async with http.post(f"{admin}/reset", headers={"Origin": EVIL}) as r:
        assert r.status == 403  # a body-less POST from a page too
    for site in ("cross-site", "same-site"):
        headers = {"Sec-Fetch-Site": site}
        async with http.get(f"{admin}/requests", headers=headers) as r:
            status, body = await answer(r)
        assert status == 403
        assert f"Sec-Fetch-Site: {site}" in body["detail"]
    assert server.faults.rules == []
    assert len(server.chats()) == 1
    # the chat API is not the admin API: a page of another origin still uses it as before
    async with http.post(f"{server.url}/api/chat", cookies=ALICE, headers={"Origin": EVIL}) as r:
        assert r.status == 200

    # the server's own origin, and an address typed in the address bar, pass
    same = {"Origin": server.url, "Sec-Fetch-Site": "same-origin"}
    async with http.post(f"{admin}/faults", json={"header": "latency:0"}, headers=same) as r:
        assert r.status == 200
    async with http.get(f"{admin}/chats", headers={"Sec-Fetch-Site": "none"}) as r:
        assert r.status == 200


# -- the body of a change -----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_changes_must_be_json_and_the_readme_curl_calls_still_work(
    server: MockServer, http: aiohttp.ClientSession
) -> None:
    admin = f"{server.url}/__admin"
    for content_type in ("text/plain", "multipart/form-data; boundary=x", None):
        headers = {"Content-Type": content_type} if content_type else {}
        async with http.post(
            f"{admin}/faults",
            data=b'{"header": "status:503"}',
            headers=headers,
            skip_auto_headers=() if content_type else ("Content-Type",),
        ) as r:
            status, body = await answer(r)
        assert status == 415, content_type
        assert "Content-Type: application/json" in body["detail"]
    assert server.faults.rules == []

    # curl -X POST localhost:8080/__admin/faults -d '{...}': curl's form type, JSON body
    curl = {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "curl/8"}
    async with http.post(
        f"{admin}/faults", data=b'{"header": "error-after:3;step=events"}', headers=curl
    ) as r:
        assert r.status == 200
    async with http.post(f"{admin}/faults", data=b"header=status", headers=curl) as r:
        assert r.status == 415  # what an HTML form sends
    assert len(server.faults.rules) == 1
    # curl -X DELETE, curl -X POST .../reset: no body, no Content-Type
    no_type = {"skip_auto_headers": ("Content-Type",)}
    async with http.delete(f"{admin}/faults", **no_type) as r:
        assert await r.json() == {"cleared": 1}
    async with http.post(f"{admin}/reset", **no_type) as r:
        assert r.status == 200
    async with http.post(f"{admin}/reset") as r:  # aiohttp: octet-stream, no body
        assert r.status == 200


# -- the token ----------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_wide_bind_requires_the_token() -> None:
    config = ServerConfig(host="0.0.0.0", admin_token=TOKEN, **FAST)
    async with served(config) as url, aiohttp.ClientSession() as http:
        await start_chat(http, url, "another user's prompt")  # the chat API needs no token
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            async with http.get(f"{url}/__admin/requests", headers=headers) as r:
                status, body = await answer(r)
                challenge = r.headers["WWW-Authenticate"]
            assert status == 401, headers
            assert "Authorization: Bearer <token>" in body["detail"]
            assert challenge.startswith('Bearer realm="oa-mockserver admin"')
            assert "another user's prompt" not in str(body)
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        async with http.get(f"{url}/__admin/requests", headers=bearer) as r:
            status, body = await answer(r)
        assert status == 200
        assert "another user's prompt" in str(body)
        # with the token, any name that reaches the server works (a container's service name)
        named = {**bearer, "Host": "mock:8080"}
        async with http.post(f"{url}/__admin/reset", headers=named, json={}) as r:
            assert r.status == 200
        async with http.get(f"{url}/__admin/chats", headers=bearer) as r:
            assert await r.json() == {"chats": []}


@pytest.mark.asyncio
async def test_a_wide_bind_without_a_token_is_closed() -> None:
    config = ServerConfig(host="0.0.0.0", **FAST)
    async with served(config) as url, aiohttp.ClientSession() as http:
        headers = {"Authorization": "Bearer guess"}
        async with http.get(f"{url}/__admin/health", headers=headers) as r:
            status, body = await answer(r)
    assert status == 401
    assert "no admin token" in body["detail"]


@pytest.mark.asyncio
async def test_servers_make_a_token_when_bound_wider() -> None:
    # made when the handle is, before any bind: these are never started
    wide = MockServer(ServerConfig(host="0.0.0.0"))
    assert wide.admin_token is not None
    assert wide.admin_token == wide.config.admin_token == context_of(wide.app).config.admin_token
    assert MockServer(ServerConfig(host="::")).admin_token not in (None, wide.admin_token)
    threaded = ThreadedMockServer(ServerConfig(host="0.0.0.0"))
    assert threaded.admin_token is not None
    assert threaded.admin_token == threaded.config.admin_token
    assert MockServer(ServerConfig(host="0.0.0.0", admin_token=TOKEN)).admin_token == TOKEN
    assert MockServer().admin_token is None
    assert ThreadedMockServer().admin_token is None


@pytest.mark.asyncio
async def test_a_token_given_on_loopback_is_required() -> None:
    config = ServerConfig(admin_token=TOKEN, **FAST)
    async with MockServer(config) as server, aiohttp.ClientSession() as http:
        async with http.get(f"{server.url}/__admin/health") as r:
            assert r.status == 401
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        async with http.get(f"{server.url}/__admin/health", headers=bearer) as r:
            assert r.status == 200
    with ThreadedMockServer(config) as threaded:
        assert threaded.admin_token == TOKEN
        async with aiohttp.ClientSession() as http, http.get(f"{threaded.url}/__admin/health") as r:
            assert r.status == 401


@pytest.mark.asyncio
async def test_the_token_reaches_no_journal_no_log_no_repr(
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = ServerConfig(host="0.0.0.0", admin_token=TOKEN, **FAST)
    assert TOKEN not in repr(config)
    caplog.set_level(logging.DEBUG)
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    async with served(config) as url, aiohttp.ClientSession(headers=bearer) as http:
        async with http.get(f"{url}/__admin/health", headers={"Authorization": "none"}) as r:
            assert r.status == 401
        # a client that sends the header everywhere: the chat routes journal it redacted
        await start_chat(http, url, "hi")
        async with http.get(f"{url}/chats?token={TOKEN}") as r:
            assert r.status in (200, 401, 403, 404)
        async with http.post(f"{url}/__admin/faults", json={"header": "latency:0"}) as r:
            assert r.status == 200
        async with http.get(f"{url}/__admin/requests") as r:
            journal = await r.text()
    assert "/api/chat" in journal
    assert TOKEN not in journal
    assert "/__admin/" in caplog.text  # the access log saw the admin requests
    assert TOKEN not in caplog.text


# -- the command line ---------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_cli_takes_the_token_from_the_environment() -> None:
    env = {**os.environ, "OA_MOCK_ADMIN_TOKEN": TOKEN}
    async with serving("serve", "--port", "0", "--token-interval", "0", env=env) as served:
        url = f"{served.url}/__admin/health"
        async with aiohttp.ClientSession() as http:
            async with http.get(url) as r:
                assert r.status == 401
            async with http.get(url, headers={"Authorization": f"Bearer {TOKEN}"}) as r:
                assert r.status == 200
    assert served.process.returncode == 0, served.output
    assert TOKEN.encode() not in served.output  # given, so never printed (nor logged)


@pytest.fixture
def no_run(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """``web.run_app`` replaced: the CLI builds everything, binds nothing; the calls are kept."""
    calls: list[dict[str, Any]] = []
    thresholds = gc.get_threshold()

    def run_app(app: web.Application, **options: Any) -> None:
        calls.append({"app": app, **options})

    monkeypatch.setattr(cli.web, "run_app", run_app)
    yield calls
    # serve settles the collector for a long-lived server; not this process's
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_cli_makes_prints_and_requires_a_token_for_a_wide_bind(
    no_run: list[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OA_MOCK_ADMIN_TOKEN", raising=False)
    assert cli.main(["serve", "--host", "0.0.0.0", "--port", "0"]) == 0
    token = context_of(no_run[0]["app"]).config.admin_token
    assert token is not None
    err = capsys.readouterr().err
    assert err.count(token) == 1  # printed once, on stderr
    assert "Authorization: Bearer <token>" in err
    assert "reachable from other machines" in caplog.text
    assert token not in caplog.text  # never logged

    assert cli.main(["serve", "--port", "0"]) == 0  # loopback: no token, nothing printed
    assert context_of(no_run[1]["app"]).config.admin_token is None
    assert "admin" not in capsys.readouterr().err

    assert cli.main(["serve", "--host", "0.0.0.0", "--admin-token", TOKEN]) == 0
    assert context_of(no_run[2]["app"]).config.admin_token == TOKEN
    assert TOKEN not in capsys.readouterr().err  # given: not printed back

    assert cli.main(["serve", "--admin-token", "two words"]) == 2
    assert "admin_token must be" in capsys.readouterr().err


# -- the recording proxy ------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_record_never_forwards_the_admin_api(tmp_path: Path) -> None:
    cassette = tmp_path / "session.yaml"
    async with (
        MockServer(ServerConfig(**FAST)) as upstream,
        RecordingProxy(upstream.url, cassette) as proxy,
        aiohttp.ClientSession() as http,
    ):
        chat_id = await start_chat(http, upstream.url, "upstream's own chat")
        upstream.add_fault("latency:0")
        for method, path in (
            ("POST", "/__admin/reset"),
            ("GET", "/__admin/requests"),
            ("DELETE", "/__admin/faults"),
            ("GET", "//__admin/chats"),
            ("POST", "/%5F%5Fadmin/reset"),
            ("POST", "/api/../__admin/reset"),
            ("GET", "/__admin"),
        ):
            target = URL(proxy.url + path, encoded=True)
            async with http.request(method, target, json={}) as r:
                status, body = await answer(r)
            assert status == 403, path
            assert f"call it on the upstream directly: {upstream.url}/__admin/" in body["detail"]
        assert [chat.id for chat in upstream.chats()] == [chat_id]  # never reset
        assert len(upstream.faults.rules) == 1
        assert proxy.recorder.interactions == []  # nothing recorded
        async with http.post(f"{proxy.url}/api/chat", cookies=ALICE) as r:
            assert r.status == 200  # everything else is forwarded as before
        assert len(proxy.recorder.interactions) == 1
    assert "__admin" not in cassette.read_text()


def test_record_warns_when_bound_wider(
    no_run: list[dict[str, Any]], caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    args = ["record", "--upstream", "http://127.0.0.1:9", "--cassettes", str(tmp_path)]
    assert cli.main([*args, "--host", "0.0.0.0", "--name", "wide"]) == 0
    assert "binding 0.0.0.0: the recording proxy is reachable from other machines" in caplog.text
    caplog.clear()
    assert cli.main([*args, "--name", "narrow"]) == 0
    assert "reachable" not in caplog.text
    assert len(no_run) == 2
