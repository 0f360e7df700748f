"""vcrpy in-process record/replay of the provider, with chunk fidelity, over real loopback HTTP.

A small aiohttp app plays the web site and streams the reply as chunked SSE, one event per HTTP
chunk (as the real server does), with multi-byte UTF-8 and CRLF. We record the provider through
vcrpy, stop the app, and replay with no network.
"""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
import vcr
from _fakes import message
from aiohttp import web
from aiohttp.test_utils import TestServer
from vcr.errors import CannotOverwriteExistingCassetteException

from oa_mockserver import CassetteError, CassetteNotFoundError
from oa_mockserver.recording import Redactor, Timing, load_cassette, oa_vcr, run_lint, use_cassette
from oa_provider import OpenAssistant

TOKENS = ["Привет", ", ", "как ", "дела", "? 👋", " Всё ", "хорошо."]
SECRET = "very-secret-session-value-1234567890"
COOKIES = {"next-auth.session-token": SECRET}
ACCESS = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..CNWDBuemB0vJgrexVAdxCw.LGlP3CFO43i_tww.LgWuSnU"


def _sse(obj: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(obj, ensure_ascii=False)}\r\n\r\n".encode()


def event_chunks(chat_id: str) -> list[bytes]:
    chunks = [_sse({"event_type": "token", "text": t}) for t in TOKENS]
    chunks.append(b": ping - 2026-11-23 19:40:43.367684\r\n\r\n")
    chunks.append(_sse({"event_type": "message", "message": message(chat_id, "".join(TOKENS))}))
    return chunks


def make_app() -> web.Application:
    calls: list[str] = []  # kept for debugging a failing run

    async def create(request: web.Request) -> web.Response:
        calls.append("create")
        resp = web.json_response({"id": str(uuid.uuid4()), "access_token": ACCESS})
        resp.set_cookie("next-auth.session-token", SECRET)
        return resp

    async def prompter(request: web.Request) -> web.Response:
        body = await request.json()
        calls.append(f"prompter:{body['content']}")
        return web.json_response({"id": str(uuid.uuid4()), "chat_id": body["chat_id"]})

    async def assistant(request: web.Request) -> web.Response:
        body = await request.json()
        calls.append("assistant")
        return web.json_response({"id": str(uuid.uuid4()), "chat_id": body["chat_id"]})

    async def events(request: web.Request) -> web.StreamResponse:
        calls.append("events")
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for chunk in event_chunks(request.query["chat_id"]):
            await resp.write(chunk)
        await resp.write_eof()
        return resp

    async def delete(request: web.Request) -> web.Response:
        calls.append("delete")
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/api/chat", create)
    app.router.add_delete("/api/chat", delete)
    app.router.add_post("/api/chat/prompter_message", prompter)
    app.router.add_post("/api/chat/assistant_message", assistant)
    app.router.add_get("/api/chat/events", events)
    return app


@pytest_asyncio.fixture
async def site() -> AsyncIterator[TestServer]:
    server = TestServer(make_app(), host="127.0.0.1", port=0)
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any socket connection attempt fails: replay must not touch the network."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise OSError("network is gone in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


async def chat(base_url: str, prompt: str = "Привет, как дела?") -> list[str]:
    gen = OpenAssistant().create_async_generator(
        messages=[{"role": "user", "content": prompt}], base_url=base_url, cookies=COOKIES
    )
    return [text async for text in gen]


async def read_pieces(url: str) -> list[bytes]:
    """What readany() hands a client, piece by piece."""
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return [piece async for piece in response.content.iter_any()]


#: A recorded cassette file and the URL its requests went to.
Recorded = tuple[Path, str]


@pytest_asyncio.fixture
async def chat_cassette(site: TestServer, tmp_path: Path) -> Recorded:
    """A conversation with ``site`` recorded into chat.yaml: the file and the site's base URL."""
    path = tmp_path / "chat.yaml"
    base = str(site.make_url("")).rstrip("/")
    with oa_vcr(record_mode="once").use_cassette(str(path)):
        texts = await chat(base)
    assert texts == TOKENS
    return path, base


@pytest.mark.asyncio
async def test_recorded_cassette_keeps_every_chunk_and_episode(chat_cassette: Recorded) -> None:
    path, _ = chat_cassette
    cassette = load_cassette(path)
    routes = [(i.request.method, i.request.path) for i in cassette.interactions]
    assert routes == [
        ("POST", "/api/chat"),
        ("POST", "/api/chat/prompter_message"),
        ("POST", "/api/chat/assistant_message"),
        ("GET", "/api/chat/events"),
        ("DELETE", "/api/chat"),
    ]
    assert len(cassette.episodes) == 1
    stream = cassette.interactions[3].response
    chat_id = json.loads(cassette.interactions[0].response.body)["id"]
    expected = event_chunks(chat_id)
    got = [c.data for c in stream.chunks]
    assert got[:-1] == expected[:-1]  # the final message event carries a fresh random id
    assert got[-1].startswith(b'data: {"event_type": "message"')
    offsets = [c.offset_s for c in stream.chunks]
    assert offsets == sorted(offsets)
    assert b"".join(c.data for c in stream.chunks) == stream.body


@pytest.mark.asyncio
async def test_secrets_never_reach_the_file(chat_cassette: Recorded) -> None:
    path, _ = chat_cassette
    text = path.read_text(encoding="utf-8")
    assert SECRET not in text
    assert ACCESS not in text
    cassette = load_cassette(path)
    first = cassette.interactions[0]
    assert first.request.header("Cookie") == 'next-auth.session-token="REDACTED"'
    assert (first.response.header("Set-Cookie") or "").startswith(
        'next-auth.session-token="REDACTED"'
    )
    assert json.loads(first.response.body)["access_token"] == "REDACTED"
    assert run_lint([path]) == []


@pytest.mark.asyncio
async def test_replay_gives_the_same_tokens_without_network(
    site: TestServer, chat_cassette: Recorded, request: pytest.FixtureRequest
) -> None:
    path, base = chat_cassette
    await site.close()
    request.getfixturevalue("no_network")
    with use_cassette(path) as cassette:
        assert await chat(base) == TOKENS
    assert cassette.all_played


@pytest.mark.asyncio
async def test_replay_matches_on_another_port(chat_cassette: Recorded) -> None:
    path, _ = chat_cassette
    with use_cassette(path):
        assert await chat("http://127.0.0.1:9") == TOKENS


@pytest.mark.asyncio
async def test_another_prompt_does_not_match(chat_cassette: Recorded) -> None:
    path, _ = chat_cassette
    with (
        use_cassette(path),
        pytest.raises(CannotOverwriteExistingCassetteException, match="oa_json_body"),
    ):
        await chat("http://127.0.0.1:9", prompt="something else")


@pytest_asyncio.fixture
async def stream_cassette(site: TestServer, tmp_path: Path) -> Recorded:
    """One event stream of ``site`` recorded into stream.yaml: the file and the stream's URL."""
    path = tmp_path / "stream.yaml"
    url = str(site.make_url("/api/chat/events?chat_id=c1&message_id=m1"))
    with oa_vcr(record_mode="once").use_cassette(str(path)):
        pieces = await read_pieces(url)
    assert pieces == [*event_chunks("c1")[:-1], pieces[-1]]
    return path, url


@pytest.mark.asyncio
async def test_plain_vcrpy_replays_our_cassette_but_in_one_piece(stream_cassette: Recorded) -> None:
    path, url = stream_cassette
    with vcr.use_cassette(str(path), record_mode="none"):
        pieces = await read_pieces(url)
    # vcrpy ignores our extra keys and replays the body: right bytes, one single chunk.
    assert len(pieces) == 1
    assert pieces[0] == b"".join(
        c.data for c in load_cassette(path).interactions[0].response.chunks
    )


@pytest.mark.asyncio
async def test_our_replay_hands_out_the_recorded_chunks(stream_cassette: Recorded) -> None:
    path, url = stream_cassette
    recorded = [c.data for c in load_cassette(path).interactions[0].response.chunks]
    assert len(recorded) == len(TOKENS) + 2
    with use_cassette(path):
        pieces = await read_pieces(url)
    assert pieces == recorded


@pytest.mark.asyncio
async def test_replay_iter_chunks_sees_http_chunks(stream_cassette: Recorded) -> None:
    path, url = stream_cassette
    recorded = [c.data for c in load_cassette(path).interactions[0].response.chunks]
    with use_cassette(path):
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            got = [data async for data, end in response.content.iter_chunks() if end]
    assert got == recorded


@pytest.mark.asyncio
async def test_rechunked_replay_same_bytes_other_cuts(stream_cassette: Recorded) -> None:
    path, url = stream_cassette
    recorded = [c.data for c in load_cassette(path).interactions[0].response.chunks]
    with use_cassette(path, rechunk_seed=7):
        pieces = await read_pieces(url)
    assert b"".join(pieces) == b"".join(recorded)
    assert pieces != recorded


@pytest.mark.asyncio
async def test_rechunked_replay_still_gives_the_provider_its_tokens(
    chat_cassette: Recorded,
) -> None:
    path, base = chat_cassette
    for seed in range(3):
        with use_cassette(path, rechunk_seed=seed):
            assert await chat(base) == TOKENS


@pytest.mark.asyncio
async def test_timed_replay_delivers_chunks_in_order(stream_cassette: Recorded) -> None:
    path, url = stream_cassette
    recorded = [c.data for c in load_cassette(path).interactions[0].response.chunks]
    with use_cassette(path, timing=Timing(speed=1000.0)):
        pieces = await read_pieces(url)
    assert b"".join(pieces) == b"".join(recorded)


def test_replay_of_missing_cassette_raises(tmp_path: Path) -> None:
    with pytest.raises(CassetteNotFoundError, match="does not exist"):
        use_cassette(tmp_path / "nope.yaml")


@pytest.mark.asyncio
async def test_broken_cassette_raises_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("version: 1\ninteractions:\n- request: {method: GET\n", encoding="utf-8")
    with pytest.raises(CassetteError, match=r"broken\.yaml:\d+"):  # noqa: SIM117
        with use_cassette(path):
            pass


@pytest.mark.asyncio
async def test_extra_redaction_rules_apply_at_record_time(site: TestServer, tmp_path: Path) -> None:
    path = tmp_path / "chat.yaml"
    base = str(site.make_url("")).rstrip("/")
    rules = Redactor.default().extended(patterns=[r"Всё"])
    with oa_vcr(record_mode="once", redactor=rules).use_cassette(str(path)):
        assert await chat(base) == TOKENS
    stream = load_cassette(path).interactions[3].response
    assert "Всё".encode() not in stream.body
    assert b"REDACTED" in stream.body
    assert "хорошо".encode() in stream.body
    assert b"".join(c.data for c in stream.chunks) == stream.body


@pytest.mark.asyncio
async def test_new_episodes_records_only_what_is_new(chat_cassette: Recorded) -> None:
    # vcrpy semantics: the second chat's creation matches the recorded one and is replayed, as
    # is its delete; only the requests that differ (prompt, ids) are appended, same episode.
    path, base = chat_cassette
    with oa_vcr(record_mode="new_episodes").use_cassette(str(path)):
        assert await chat(base, prompt="second question") == TOKENS
    cassette = load_cassette(path)
    assert len(cassette.interactions) == 8  # + prompter, assistant, events
    for prompt in ("Привет, как дела?", "second question"):
        with use_cassette(path):
            assert await chat(base, prompt=prompt) == TOKENS
