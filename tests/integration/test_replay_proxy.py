"""The recording proxy over real loopback HTTP, and replay by the mock server (strict misses)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from oa_mockserver import CassetteError, MockServer, ServerConfig, create_app
from oa_mockserver._cli import main as cli_main
from oa_mockserver.recording import RecordingProxy, load_cassette, run_lint
from oa_provider import OpenAssistant

COOKIES = {"next-auth.session-token": "proxy-user-secret-value"}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def _chat(url: str, prompt: str = "hello") -> list[str]:
    gen = OpenAssistant().create_async_generator(
        messages=[{"role": "user", "content": prompt}], base_url=url, cookies=COOKIES
    )
    return [t async for t in gen]


async def _stream_token_a(request: web.Request) -> web.StreamResponse:
    """An upstream's events answer, prepared, with one token ("a") written."""
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    await response.write(b'data: {"event_type": "token", "text": "a"}\r\n\r\n')
    return response


@asynccontextmanager
async def _recording(
    path: Path, route: str, handler: Handler
) -> AsyncIterator[tuple[RecordingProxy, aiohttp.ClientSession]]:
    """An upstream that answers GET `route` alone, a RecordingProxy to it writing `path`, and a
    client session to send requests through the proxy."""
    app = web.Application()
    app.router.add_get(route, handler)
    async with TestServer(app, host="127.0.0.1") as upstream:
        base = str(upstream.make_url("")).rstrip("/")
        async with RecordingProxy(base, path) as proxy, aiohttp.ClientSession() as session:
            yield proxy, session


@pytest.mark.asyncio
async def test_proxy_records_redacted_episode_and_server_replays_it(tmp_path) -> None:
    path = tmp_path / "c.yaml"
    config = ServerConfig(token_interval=0.001, first_token_delay=0.0, reply_tokens=6)
    async with MockServer(config) as upstream, RecordingProxy(upstream.url, path) as proxy:
        recorded = await _chat(proxy.url)
    cassette = load_cassette(path)
    assert [i.request.path for i in cassette.interactions][:3] == [
        "/api/chat",
        "/api/chat/prompter_message",
        "/api/chat/assistant_message",
    ]
    assert "proxy-user-secret-value" not in path.read_text()
    assert run_lint([path]) == []
    stream = cassette.interactions[3].response
    assert len(stream.chunks) == len(recorded) + 1  # one HTTP chunk per event, as sent
    # a different reply size proves the tokens come from the cassette, not the generator
    replay = ServerConfig(
        cassettes=str(path), reply_tokens=40, token_interval=0.0, first_token_delay=0.0
    )
    async with MockServer(replay) as server:
        assert await _chat(server.url) == recorded
        assert await _chat(server.url) == recorded  # a recording may be replayed again


@pytest.mark.asyncio
async def test_strict_miss_is_409_naming_nearest_and_differences(tmp_path) -> None:
    path = tmp_path / "c.yaml"
    config = ServerConfig(token_interval=0.0, first_token_delay=0.0, reply_tokens=3)
    async with MockServer(config) as upstream, RecordingProxy(upstream.url, path) as proxy:
        await _chat(proxy.url, "recorded prompt")
    async with MockServer(ServerConfig(cassettes=str(path), strict_replay=True)) as server:
        async with aiohttp.ClientSession() as session:
            headers = {"Cookie": "next-auth.session-token=u"}
            async with session.post(server.url + "/api/chat", headers=headers) as r:
                chat = (await r.json())["id"]
            body = {"chat_id": chat, "parent_id": None, "content": "another prompt"}
            async with session.post(
                server.url + "/api/chat/prompter_message", json=body, headers=headers
            ) as r:
                parent = (await r.json())["id"]
            body = {
                "chat_id": chat,
                "parent_id": parent,
                "model_config_name": "OA_SFT_Llama_30B_6",
                "sampling_parameters": {},
                "plugins": [],
            }
            async with session.post(
                server.url + "/api/chat/assistant_message", json=body, headers=headers
            ) as r:
                assert r.status == 409
                answer = await r.json()
        assert str(path) in answer["nearest"]
        assert any(d["field"] == "thread" for d in answer["differences"])
        assert server.journal.last.status == 409


@pytest.mark.asyncio
async def test_proxy_streams_chunk_by_chunk_and_keeps_a_disconnect(tmp_path) -> None:
    release = asyncio.Event()

    async def events(request: web.Request) -> web.StreamResponse:
        response = await _stream_token_a(request)
        await release.wait()
        request.transport.abort()  # the upstream breaks mid-stream
        return response

    path = tmp_path / "d.yaml"
    async with _recording(path, "/api/chat/events", events) as (proxy, session):
        async with session.get(proxy.url + "/api/chat/events") as response:
            first = await response.content.readany()  # arrives before the upstream ends
            assert b'"text": "a"' in first
            release.set()
            with pytest.raises(aiohttp.ClientPayloadError):
                await response.content.read()
        await asyncio.sleep(0.05)
    cassette = load_cassette(path)
    assert cassette.metadata["disconnected"] == "0"
    assert [c.data for c in cassette.interactions[0].response.chunks] == [first]


@pytest.mark.asyncio
async def test_a_client_gone_after_the_last_chunk_leaves_the_exchange_whole(tmp_path) -> None:
    # A client stops reading at the final event; the stream's terminating chunk comes after.
    final = b'data: {"event_type": "message", "message": {}}\r\n\r\n'
    client_gone = asyncio.Event()

    async def events(request: web.Request) -> web.StreamResponse:
        response = await _stream_token_a(request)
        await response.write(final)
        await client_gone.wait()
        await asyncio.sleep(0.1)  # the proxy's end of stream comes after the client left
        await response.write_eof()
        return response

    path = tmp_path / "gone.yaml"
    async with _recording(path, "/api/chat/events", events) as (proxy, _):
        host, port = proxy.url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(f"GET /api/chat/events HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        seen = b""
        while b'"event_type": "message"' not in seen:
            seen += await asyncio.wait_for(reader.read(4096), 5)
        writer.transport.abort()  # gone, before the terminating chunk
        client_gone.set()
        for _ in range(100):
            await asyncio.sleep(0.05)
            if path.exists() and load_cassette(path).interactions:
                break
    cassette = load_cassette(path)
    assert "disconnected" not in cassette.metadata
    assert cassette.interactions[0].response.body.endswith(final)


def test_cli_lint_and_bad_cassettes(tmp_path, capsys) -> None:
    good = tmp_path / "ok"
    good.mkdir()
    assert cli_main(["lint", str(good)]) == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 2\ninteractions: []\n")
    assert cli_main(["lint", str(bad)]) == 1
    assert f"{bad}:" in capsys.readouterr().out
    with pytest.raises(CassetteError, match=r"bad\.yaml:1"):
        create_app(ServerConfig(cassettes=str(bad)))
    assert cli_main(["serve", "--cassettes", str(bad), "--port", "0"]) == 2


@pytest.mark.asyncio
async def test_proxy_asks_for_clear_bytes_so_compressed_secrets_are_redacted(tmp_path) -> None:
    secret = "SUPERSECRETTOKEN123"

    async def login(request: web.Request) -> web.Response:
        body = json.dumps({"access_token": {"access_token": secret, "token_type": "bearer"}})
        response = web.Response(text=body, content_type="application/json")
        if "gzip" in request.headers.get("Accept-Encoding", ""):
            response.enable_compression()  # what a real server behind a CDN may do
        return response

    path = tmp_path / "login.yaml"
    async with _recording(path, "/auth/callback/debug", login) as (proxy, session):
        # aiohttp's client offers gzip by default, as browsers do
        response = await session.get(proxy.url + "/auth/callback/debug?code=me")
        assert (await response.json())["access_token"]["access_token"] == secret
        response.release()
    text = path.read_text(encoding="utf-8")
    assert secret not in text
    assert "REDACTED" in text
    assert run_lint([path]) == []
