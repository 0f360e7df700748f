"""The cassette model: parse/dump round trip, loud errors with file:line, atomic saves, episodes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import vcr.serialize
from hypothesis import given
from hypothesis import strategies as st
from vcr.serializers import yamlserializer

from oa_mockserver import CassetteError, CassetteNotFoundError
from oa_mockserver.recording import (
    Cassette,
    Chunk,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    dump_cassette,
    load_cassette,
    parse_cassette,
    save_cassette,
)
from oa_mockserver.recording._cassette import (
    assign_episodes,
    deserialize_request,
    deserialize_response,
    serialize_request,
    serialize_response,
)


def _interaction(method: str, uri: str, body: bytes = b"{}", chunks: tuple[Chunk, ...] = ()):
    return Interaction(
        request=RecordedRequest(method=method, uri=uri, body=None, headers=(("Accept", "*/*"),)),
        response=RecordedResponse(
            status=200,
            reason="OK",
            headers=(("Content-Type", "application/json"),),
            body=b"".join(c.data for c in chunks) if chunks else body,
            chunks=chunks,
        ),
    )


def conversation(base: str = "http://127.0.0.1:1") -> list[Interaction]:
    stream = (
        Chunk(0.01, b'data: {"event_type": "token", "text": "\xd0\x9f"}\r\n\r\n'),
        Chunk(0.2, b'data: {"event_type": "token", "text": "\xd0'),  # cut mid-character
        Chunk(0.2, b'\xb8"}\r\n\r\n'),
    )
    return [
        _interaction("POST", f"{base}/api/chat", b'{"id":"c1"}'),
        _interaction("POST", f"{base}/api/chat/prompter_message", b'{"id":"p1"}'),
        _interaction("GET", f"{base}/api/chat/events?chat_id=c1&message_id=a1", chunks=stream),
        _interaction("DELETE", f"{base}/api/chat?chat_id=c1", b""),
    ]


def test_round_trip_keeps_chunks_bodies_and_episodes() -> None:
    cassette = Cassette(interactions=assign_episodes(conversation() + conversation()))
    again = parse_cassette(dump_cassette(cassette))
    assert again == cassette
    assert [e.number for e in again.episodes] == [0, 1]
    assert len(again.episodes[1].interactions) == 4


def test_chunk_that_is_not_utf8_is_stored_as_base64() -> None:
    text = dump_cassette(Cassette(interactions=tuple(conversation())))
    assert "base64:" in text
    assert 'data: "data: {' in text or "data: 'data: {" in text


def test_plain_vcrpy_reads_our_file() -> None:
    text = dump_cassette(Cassette(interactions=assign_episodes(conversation())))
    requests, responses = vcr.serialize.deserialize(text, yamlserializer)
    assert [r.method for r in requests] == ["POST", "POST", "GET", "DELETE"]
    assert responses[2]["body"]["string"] == conversation()[2].response.body


_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)


@given(
    chunks=st.lists(st.binary(min_size=1, max_size=30), max_size=6),
    uri_tail=st.text("abcdefgh/?=&", max_size=20),
    reason=_text,
    header=_text,
    request_body=st.none() | st.binary(max_size=40),
)
def test_round_trip_property(chunks, uri_tail, reason, header, request_body) -> None:
    interaction = Interaction(
        request=RecordedRequest(
            method="POST",
            uri=f"http://h/{uri_tail}",
            body=request_body,
            headers=(("X-A", header), ("X-A", "second")),
        ),
        response=RecordedResponse(
            status=201,
            reason=reason,
            headers=(("X-B", header),),
            body=b"".join(chunks),
            chunks=tuple(Chunk(i / 10, c) for i, c in enumerate(chunks)),
        ),
        episode=3,
    )
    cassette = Cassette(interactions=(interaction,), metadata={"recorded_by": "test"})
    assert parse_cassette(dump_cassette(cassette)) == cassette
    # the in-memory vcrpy dicts (what vcrpy replays from) round-trip through the same pair
    request = serialize_request(interaction.request)
    response = serialize_response(interaction.response)
    assert request["body"] == request_body
    assert response["body"] == {"string": b"".join(chunks)}
    assert deserialize_request(request) == interaction.request
    assert deserialize_response(response) == interaction.response


def test_deserialize_takes_vcrpy_shapes_and_refuses_broken_ones() -> None:
    request = deserialize_request(
        {"method": "GET", "uri": "http://h/x", "body": "hi", "headers": {"A": "1"}}
    )
    assert request == RecordedRequest(
        method="GET", uri="http://h/x", body=b"hi", headers=(("A", "1"),)
    )
    with pytest.raises(CassetteError, match=r"response\.status\.code must be an HTTP status"):
        deserialize_response({"status": {"code": 42}, "body": {"string": b""}})
    with pytest.raises(CassetteError, match="joined differ"):
        deserialize_response(
            {"status": {"code": 200}, "body": {"string": b"ab"}, "chunks": [{"t": 0, "data": b"a"}]}
        )


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("version: 1\ninteractions:\n- request: {method: GET\n", 4, "not a valid YAML"),
        ("version: 2\ninteractions: []\n", 1, "unsupported cassette version 2"),
        ("interactions: []\n", 1, "unsupported cassette version None"),
        ("version: 1\ninteractions: {}\n", 1, "'interactions' must be a list"),
        ("version: 1\ninteractions:\n- request: {method: GET}\n", 3, "no 'response'"),
        (
            "version: 1\ninteractions:\n- request: {method: GET, uri: /x}\n"
            "  response:\n    status: {code: 999}\n",
            5,
            "HTTP status",
        ),
        (
            "version: 1\ninteractions:\n- request: {method: GET, uri: /x}\n"
            "  response:\n    status: {code: 200}\n    body: {string: ab}\n"
            "    chunks:\n    - {t: 0, data: a}\n",
            5,
            "chunks joined differ",
        ),
        (
            "version: 1\ninteractions:\n- request: {method: GET, uri: /x}\n"
            "  response:\n    status: {code: 200}\n    body: {string: ab}\n"
            "    chunks:\n    - {t: 1, data: a}\n    - {t: 0.5, data: b}\n",
            9,
            "goes back",
        ),
        ("version: 1\ninteractions:\n- !!python/object:os.system {}\n", 3, "not a valid YAML"),
        ("   \n", 1, "empty"),
        ("- 1\n", 1, "must be a mapping"),
    ],
    ids=[
        "yaml",
        "version",
        "no-version",
        "not-list",
        "no-response",
        "bad-status",
        "chunks-differ",
        "time-goes-back",
        "python-tag",
        "empty",
        "not-mapping",
    ],
)
def test_broken_cassette_names_file_and_line(text: str, line: int, message: str) -> None:
    with pytest.raises(CassetteError, match=message) as info:
        parse_cassette(text, "cassettes/x.yaml")
    assert info.value.line == line
    assert str(info.value).startswith(f"cassettes/x.yaml:{line}: ")


def test_missing_file_is_not_an_empty_cassette(tmp_path: Path) -> None:
    with pytest.raises(CassetteNotFoundError) as info:
        load_cassette(tmp_path / "none.yaml")
    assert isinstance(info.value, FileNotFoundError)


def test_non_utf8_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_bytes(b"version: 1\ninteractions:\n- \xff\n")
    with pytest.raises(CassetteError, match=r"bad\.yaml:3: .*UTF-8"):
        load_cassette(path)


def test_save_then_load(tmp_path: Path) -> None:
    cassette = Cassette(interactions=assign_episodes(conversation()))
    path = tmp_path / "sub" / "c.yaml"
    save_cassette(path, cassette)
    assert load_cassette(path) == cassette


def test_interrupted_save_leaves_the_old_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.yaml"
    save_cassette(path, Cassette(interactions=tuple(conversation())[:1]))
    before = path.read_bytes()

    def crash(src: str, dst: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        save_cassette(path, Cassette(interactions=tuple(conversation())))
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml"]


def test_missing_episode_numbers_are_inferred() -> None:
    text = (
        "version: 1\ninteractions:\n"
        "- request: {method: GET, uri: 'http://h/api/chat/models'}\n"
        "  response: {status: {code: 200}}\n"
        "- request: {method: POST, uri: 'http://h/api/chat'}\n"
        "  response: {status: {code: 200}}\n"
        "- request: {method: POST, uri: 'http://h/chats'}\n"
        "  response: {status: {code: 200}}\n"
    )
    cassette = parse_cassette(text)
    assert [i.episode for i in cassette.interactions] == [0, 0, 1]
    assert [i.line for i in cassette.interactions] == [3, 5, 7]
