"""The cassettes converted from the genuine server's recordings replay, through both engines, what
that server sent.

``cassettes/reference/`` is made by scripts/reference_to_cassettes.py from
tests/reference/oa-inference-server-recordings.jsonl. Checked here:

* re-running the script gives the committed files byte for byte (they cannot drift);
* every interaction replays in-process through vcrpy (``use_cassette``) with the recorded status,
  and the body (streamed ones HTTP chunk by HTTP chunk) equal to the real server's, secrets
  aside: the cassette's body is the recording's redacted by the recorder's rules;
* every recorded event stream replays through the mock server over HTTP (``ServerConfig(
  cassettes=...)``, strict): a client runs the conversation live (chat, prompter messages,
  assistant messages, events) and receives the recorded chunks, with the recorded ids turned
  into the live ones; each creation the real server refused (422, 400, 500, 403) gets the
  recorded status and body.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from _scripts import load_script

from oa_mockserver import MockServer, ServerConfig
from oa_mockserver.recording import Interaction, Redactor, load_cassette, use_cassette
from oa_mockserver.recording._match import route_of

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "cassettes"


SCRIPT = load_script("reference_to_cassettes")
EXCHANGES = SCRIPT.load_exchanges()
NAMES = sorted(SCRIPT.CONVERSATIONS)


def _source(name: str) -> list[dict[str, Any]]:
    by_seq = {e["seq"]: e for e in EXCHANGES}
    return [by_seq[s] for s in SCRIPT.CONVERSATIONS[name]]


def test_the_script_reproduces_the_committed_cassettes_byte_for_byte() -> None:
    rendered = SCRIPT.render()
    committed = {
        str(p.relative_to(LIBRARY)): p.read_text(encoding="utf-8")
        for p in (LIBRARY / "reference").glob("*.yaml")
    }
    assert set(rendered) == set(committed)
    for name, text in rendered.items():
        assert text == committed[name], f"{name} drifted: re-run scripts/reference_to_cassettes.py"


def test_every_exchange_is_in_exactly_one_cassette_and_the_streams_are_real() -> None:
    seqs = sorted(s for r in SCRIPT.CONVERSATIONS.values() for s in r)
    assert seqs == [e["seq"] for e in EXCHANGES] == list(range(1, 62))
    streams = [
        i
        for name in NAMES
        for i in load_cassette(LIBRARY / f"{name}.yaml").interactions
        if i.response.chunks
    ]
    assert len(streams) == 4
    # the real server's framing: CRLF, one event or ping per HTTP chunk
    assert all(c.data.endswith(b"\r\n\r\n") for i in streams for c in i.response.chunks)


def test_episodes_follow_the_chats() -> None:
    queued = load_cassette(LIBRARY / "reference/queued.yaml")
    assert [len(e.interactions) for e in queued.episodes] == [4, 5]
    for episode in queued.episodes:
        chats = {
            urlsplit(i.request.uri).path.split("/")[2]
            for i in episode.interactions
            if urlsplit(i.request.uri).path.count("/") >= 2
        }
        assert len(chats) == 1, chats
    assert len(load_cassette(LIBRARY / "reference/two_turns.yaml").episodes) == 1


# --- vcrpy, in-process ---------------------------------------------------------------------


def _request_headers(interaction: Interaction) -> dict[str, str]:
    return dict(interaction.request.headers)


@pytest.mark.asyncio
@pytest.mark.parametrize("name", NAMES)
async def test_vcrpy_replays_what_the_real_server_sent(name: str) -> None:
    path = LIBRARY / f"{name}.yaml"
    cassette = load_cassette(path)
    source = _source(name)
    rules = Redactor.default()
    with use_cassette(path):
        async with aiohttp.ClientSession(auto_decompress=False) as session:
            for interaction, exchange in zip(cassette.interactions, source, strict=True):
                request = interaction.request
                async with session.request(
                    request.method,
                    request.uri,
                    data=request.body,
                    headers=_request_headers(interaction),
                ) as live:
                    chunks = []
                    async for data, _ in live.content.iter_chunks():
                        chunks.append(data)
                    status = live.status
                body = b"".join(chunks)
                recorded = exchange["response"]
                assert status == recorded["status"], exchange["name"]
                assert body == interaction.response.body, exchange["name"]
                real = recorded["body"].encode()
                assert body == rules.body(real, recorded_type(recorded)), exchange["name"]
                if exchange.get("stream"):
                    # every HTTP chunk as the real server wrote it
                    assert chunks == [
                        c["data"].encode()
                        for c in exchange["stream"]["http_chunks"]
                        if not c.get("terminating_chunk")
                    ]
                    assert body == real


def recorded_type(response: dict[str, Any]) -> str | None:
    return next((v for n, v in response["headers"] if n.lower() == "content-type"), None)


# --- the mock server, over HTTP ------------------------------------------------------------

_CREATING = {
    "/chats",
    "/chats/{id}/prompter_message",
    "/chats/{id}/assistant_message",
}


class LiveConversation:
    """Runs a cassette's successful steps against a live server, mapping recorded ids to live."""

    def __init__(self, session: aiohttp.ClientSession, url: str, token: str) -> None:
        self.session = session
        self.url = url
        self.auth = {"Authorization": f"Bearer {token}"}
        self.ids: dict[str, str] = {}
        self.errors = 0

    def live(self, text: str) -> str:
        for recorded, live in self.ids.items():
            text = text.replace(recorded, live)
        return text

    async def step(self, interaction: Interaction) -> tuple[list[bytes], list[bytes]] | None:
        """Replay one interaction if it creates something (a chat, a message) or reads a stream
        that succeeded. A creation must get the recorded status and body (the real server's
        errors included); a stream returns (live chunks, recorded chunks with live ids)."""
        request, recorded = interaction.request, interaction.response
        route = route_of(request.path)
        path = self.live(urlsplit(request.uri).path)
        # the recorded header is redacted: send the live token where a token was sent
        auth = self.auth if request.header("Authorization") else {}
        if request.method == "POST" and route in _CREATING:
            body = self.live((request.body or b"").decode())
            headers = {**auth, "Content-Type": "application/json"}
            async with self.session.post(self.url + path, data=body, headers=headers) as live:
                status, answer = live.status, await live.read()
            if recorded.status == 200:
                assert status == 200, answer
                self.ids[json.loads(recorded.body)["id"]] = json.loads(answer)["id"]
            else:
                assert (status, answer) == (
                    recorded.status,
                    self.live(recorded.body.decode()).encode(),
                )
                self.errors += 1
            return None
        if route.endswith("/events") and recorded.status == 200:
            async with self.session.get(self.url + path, headers=auth) as live:
                assert live.status == 200
                chunks = [data async for data, _ in live.content.iter_chunks()]
            expected = [self.live(c.data.decode()).encode() for c in recorded.chunks]
            return chunks, expected
        return None


@pytest.mark.asyncio
@pytest.mark.parametrize("name", NAMES)
async def test_the_mock_server_replays_the_real_streams(name: str) -> None:
    path = LIBRARY / f"{name}.yaml"
    config = ServerConfig(cassettes=str(path), strict_replay=True)
    streams = errors = 0
    async with MockServer(config) as server, aiohttp.ClientSession() as session:
        async with session.get(server.url + "/auth/callback/debug?code=replay") as login:
            token = (await login.json())["access_token"]["access_token"]
        for episode in load_cassette(path).episodes:
            conversation = LiveConversation(session, server.url, token)
            for interaction in episode.interactions:
                result = await conversation.step(interaction)
                if result is not None:
                    live, expected = result
                    assert b"".join(live) == b"".join(expected)
                    assert live == expected  # one recorded HTTP chunk, one live HTTP chunk
                    streams += 1
            errors += conversation.errors
        assert server.problems(include_unmatched=False) == []
    assert streams == {"reference/two_turns": 2}.get(name, 1)
    # the real server's 422s, 400s, 500s and 403 on creating chats and messages
    assert errors == {"reference/two_turns": 11}.get(name, 0)
