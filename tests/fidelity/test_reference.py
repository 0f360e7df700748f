"""Replay the 61 reference exchanges against the mock server and compare them one by one.

The recordings (``tests/reference/``) came off the real inference server. The request sequence is
replayed in order; ids and tokens the real server issued are mapped to the ones the mock issues
as the sequence runs (learned by walking each recorded answer beside the live one). Compared per
exchange: the status, the header names and the content type, the JSON shape (keys and value
types), error texts, and for event streams the SSE framing (one event per HTTP chunk,
``data: <json>\\r\\n\\r\\n`` with pydantic v1 spacing, pings as comments) and the event grammar
(pending*, token+, message). Timings are not compared; the server runs with small intervals.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from oa_mockserver import MockServer, ServerConfig

RECORDINGS = Path(__file__).parent.parent / "reference" / "oa-inference-server-recordings.jsonl"
_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
_TOKEN = re.compile(r"eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0\.\.[A-Za-z0-9_\-.]+")
# A small worker pool and short intervals: the queued demo (48-56) needs one worker, the
# "in_progress" read (15) needs a reply that takes a moment, the no-worker demo (57-61) needs
# distilgpt2 unserved.
CONFIG = ServerConfig(
    token_interval=0.01,
    first_token_delay=0.01,
    reply_tokens=20,
    workers=1,
    pending_interval=0.03,
    ping_interval=0.1,
    unserved_models=frozenset({"distilgpt2"}),
)
_IGNORED_HEADERS = {"date"}


def _load() -> list[dict[str, Any]]:
    return [json.loads(line) for line in RECORDINGS.read_text(encoding="utf-8").splitlines()]


def shape(value: Any) -> Any:
    """Keys and value types, not values; lists become the sorted set of their items' shapes."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return sorted({json.dumps(shape(item), sort_keys=True) for item in value})
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    return type(value).__name__


class Replayer:
    def __init__(self, url: str) -> None:
        self.url = url
        self.ids: dict[str, str] = {}

    def substitute(self, text: str) -> str:
        for recorded, live in self.ids.items():
            text = text.replace(recorded, live)
        return text

    def learn(self, recorded: Any, live: Any) -> None:
        if isinstance(recorded, dict) and isinstance(live, dict):
            for key, value in recorded.items():
                self.learn(value, live.get(key))
        elif isinstance(recorded, list) and isinstance(live, list):
            for a, b in zip(recorded, live, strict=False):
                self.learn(a, b)
        elif (
            isinstance(recorded, str)
            and isinstance(live, str)
            and recorded != live
            and (_ID.match(recorded) or _TOKEN.fullmatch(recorded))
        ):
            self.ids.setdefault(recorded, live)


def _events(chunks: list[bytes]) -> list[str]:
    """Each HTTP chunk must hold exactly one SSE event or ping; return their kinds."""
    kinds = []
    for chunk in chunks:
        text = chunk.decode("ascii")  # non-ASCII must be escaped in events
        assert text.endswith("\r\n\r\n"), text
        assert text.count("\r\n\r\n") == 1, text
        line = text[:-4]
        if line.startswith(": ping - "):
            assert re.fullmatch(r": ping - \d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?", line), line
            kinds.append("ping")
            continue
        assert line.startswith("data: "), line
        payload = json.loads(line[6:])
        assert json.dumps(payload) == line[6:], "pydantic v1 .json() spacing"
        kinds.append(payload["event_type"])
    return kinds


def _grammar(kinds: list[str]) -> str:
    """Collapse runs, drop pings: e.g. ``pending token message``."""
    out: list[str] = []
    for kind in kinds:
        if kind != "ping" and (not out or out[-1] != kind):
            out.append(kind)
    return " ".join(out)


def _recorded_chunks(exchange: dict[str, Any]) -> list[bytes]:
    return [
        c["data"].encode()
        for c in exchange["stream"]["http_chunks"]
        if not c.get("terminating_chunk")
    ]


async def _replay_one(
    http: aiohttp.ClientSession, replay: Replayer, exchange: dict[str, Any]
) -> list[str]:
    """Run one exchange; return the differences found (empty: faithful)."""
    request, recorded = exchange["request"], exchange["response"]
    headers = {
        name: replay.substitute(value)
        for name, value in request["headers"]
        if name.lower() not in ("host", "content-length")
    }
    body = replay.substitute(request["body"]).encode() if request["body"] is not None else None
    target = replay.substitute(request["target"])
    problems: list[str] = []
    async with http.request(
        request["method"], replay.url + target, headers=headers, data=body
    ) as live:
        chunks: list[bytes] = []
        if recorded["headers"] and dict(recorded["headers"]).get("content-type", "").startswith(
            "text/event-stream"
        ):
            limited = exchange["connection"]["closed_by_client_after_limit"]
            buffer = b""
            async for data, end_of_chunk in live.content.iter_chunks():
                buffer += data
                if end_of_chunk:
                    chunks.append(buffer)
                    buffer = b""
                    kinds = _events(chunks)
                    if limited and kinds.count("pending") >= 3 and "ping" in kinds:
                        break  # the recording's client also gave up on this stream
            raw = b"".join(chunks)
        else:
            raw = await live.read()
        if live.status != recorded["status"]:
            problems.append(f"status {live.status} != {recorded['status']}")
        want = {n.lower() for n, _ in recorded["headers"]} - _IGNORED_HEADERS
        got = {n.lower() for n in live.headers} - _IGNORED_HEADERS
        if want != got:
            problems.append(f"header names {sorted(got)} != {sorted(want)}")
        for name in ("content-type", "server", "cache-control", "x-accel-buffering"):
            expected = dict((n.lower(), v) for n, v in recorded["headers"]).get(name)
            if expected is not None and live.headers.get(name) != expected:
                problems.append(f"{name}: {live.headers.get(name)!r} != {expected!r}")
        if exchange.get("stream"):
            want_kinds = _events(_recorded_chunks(exchange))
            got_kinds = _events(chunks)
            if _grammar(got_kinds) != _grammar(want_kinds):
                problems.append(f"events {_grammar(got_kinds)!r} != {_grammar(want_kinds)!r}")
            recorded_final = [c for c in _recorded_chunks(exchange) if b'"message"' in c]
            live_final = [c for c in chunks if b'"event_type": "message"' in c]
            if recorded_final and live_final:
                a = json.loads(recorded_final[-1][6:])
                b = json.loads(live_final[-1][6:])
                if shape(a) != shape(b):
                    problems.append("message event shape differs")
                tokens = "".join(json.loads(c[6:])["text"] for c in chunks if b'"token"' in c)
                if b["message"]["content"] != tokens:
                    problems.append("content != joined tokens")
            return problems
        if (
            recorded["body"] != ""
            and recorded["headers"]
            and "application/json" in dict(recorded["headers"]).get("content-type", "")
        ):
            want_json = json.loads(recorded["body"])
            got_json = json.loads(raw)
            if shape(got_json) != shape(want_json):
                problems.append(f"shape {shape(got_json)} != {shape(want_json)}")
            elif (
                isinstance(want_json, dict)
                and "detail" in want_json
                and got_json["detail"] != json.loads(replay.substitute(recorded["body"]))["detail"]
            ):
                problems.append(f"detail {got_json['detail']!r} != {want_json['detail']!r}")
            replay.learn(want_json, got_json)
        elif raw != recorded["body"].encode():
            problems.append(f"body {raw[:80]!r} != {recorded['body'][:80]!r}")
    return problems


@pytest.mark.asyncio
@pytest.mark.parametrize("store", ["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def test_replay_reference_recordings(store: str, request: pytest.FixtureRequest) -> None:
    exchanges = _load()
    assert len(exchanges) == 61
    results: dict[int, list[str]] = {}
    config = (
        CONFIG
        if store == "memory"
        else dataclasses.replace(CONFIG, store=request.getfixturevalue("redis_url"))
    )
    async with MockServer(config) as server, aiohttp.ClientSession() as http:
        replay = Replayer(server.url)
        for exchange in exchanges:
            results[exchange["seq"]] = await _replay_one(http, replay, exchange)
        assert server.problems(include_unmatched=True) == []
    differing = {seq: problems for seq, problems in results.items() if problems}
    faithful = 61 - len(differing)
    print(f"fidelity: {faithful} of 61 exchanges match")
    assert differing == {}, "\n".join(f"{seq}: {p}" for seq, p in differing.items())
