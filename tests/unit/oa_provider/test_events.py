"""Typed chat events: parse_event, Message, and ChatEventDecoder (fast path == general path)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _decoding import feed_all
from _helpers.wire import PLUGIN_INTERMEDIATE
from hypothesis import given
from hypothesis import strategies as st

from oa_provider import (
    ChatEvent,
    ChatEventDecoder,
    ErrorEvent,
    Message,
    MessageEvent,
    OAError,
    PendingEvent,
    PluginIntermediateEvent,
    ProtocolError,
    SafePromptEvent,
    ServerSentEvent,
    SSEDecoder,
    TokenEvent,
    UnknownEvent,
    parse_event,
)
from oa_provider.strategies import (
    chunkings,
    event_streams,
    invalid_event_streams,
    raw_sse_streams,
    reply_streams,
    token_texts,
)

REFERENCE = Path(__file__).parents[2] / "reference" / "oa-inference-server-recordings.jsonl"


def _recordings() -> dict[int, dict[str, Any]]:
    with REFERENCE.open(encoding="utf-8") as lines:
        return {record["seq"]: record for record in map(json.loads, lines)}


RECORDINGS = _recordings()
STREAMS = [seq for seq, record in RECORDINGS.items() if "stream" in record]


def stream_chunks(seq: int) -> list[bytes]:
    return [chunk["data"].encode() for chunk in RECORDINGS[seq]["stream"]["http_chunks"]]


def decode(chunks: list[bytes]) -> list[ChatEvent]:
    return feed_all(ChatEventDecoder(), chunks)


def general(body: bytes) -> list[ChatEvent]:
    """The definition ChatEventDecoder must match: SSEDecoder, then parse_event."""
    decoder = SSEDecoder()
    parsed = [parse_event(event) for event in decoder.feed(body) + decoder.close()]
    return [event for event in parsed if event is not None]


def outcome(run: Any, arg: Any) -> tuple[str, list[ChatEvent]]:
    """("events", all of them), or ("protocol-error", the events delivered before the error)."""
    if run is general:
        delivered: list[ChatEvent] = []
        decoder = SSEDecoder()
        for sse_event in decoder.feed(arg) + decoder.close():
            try:
                parsed = parse_event(sse_event)
            except ProtocolError:
                return ("protocol-error", delivered)
            if parsed is not None:
                delivered.append(parsed)
        return ("events", delivered)
    fast = ChatEventDecoder()
    delivered = []
    try:
        for chunk in arg:
            delivered += fast.feed(chunk)
        delivered += fast.close()
    except ProtocolError:
        return ("protocol-error", delivered)
    return ("events", delivered)


def sse(data: str, event: str = "message") -> ServerSentEvent:
    return ServerSentEvent(event=event, data=data)


MESSAGE_JSON = {
    "id": "m1",
    "parent_id": "p1",
    "content": "Hello.",
    "chat_id": "c1",
    "created_at": "2026-11-23T19:40:11.840665",
    "role": "assistant",
    "state": "complete",
    "score": 0,
    "reports": [],
    "work_parameters": {"seed": 13440150611403279461, "plugins": []},
    "safe_content": None,
    "safety_level": None,
    "safety_label": None,
    "safety_rots": None,
    "used_plugin": None,
}
MESSAGE = Message.from_dict(MESSAGE_JSON)

TYPED = [
    pytest.param({"event_type": "token", "text": "Neque "}, TokenEvent(text="Neque "), id="token"),
    pytest.param(
        {"event_type": "pending", "queue_position": 1, "queue_size": 2},
        PendingEvent(queue_position=1, queue_size=2),
        id="pending",
    ),
    pytest.param(
        {"event_type": "message", "message": MESSAGE_JSON},
        MessageEvent(message=MESSAGE),
        id="message",
    ),
    pytest.param(
        {"event_type": "error", "error": "worker died", "message": None},
        ErrorEvent(error="worker died"),
        id="error",
    ),
    pytest.param(
        {"event_type": "safe_prompt", "safe_prompt": "be nice", "message": MESSAGE_JSON},
        SafePromptEvent(safe_prompt="be nice", message=MESSAGE),
        id="safe-prompt",
    ),
    pytest.param(
        PLUGIN_INTERMEDIATE,
        PluginIntermediateEvent("t", "a", "i", "r"),
        id="plugin-intermediate",
    ),
    pytest.param(
        {"event_type": "token", "text": "x", "added_later": [1]},
        TokenEvent(text="x"),
        id="extra-field",
    ),
    pytest.param(
        {"event_type": "usage", "tokens": 3},
        UnknownEvent(event_type="usage", payload={"event_type": "usage", "tokens": 3}),
        id="unknown-type",
    ),
]


@pytest.mark.parametrize(("payload", "expected"), TYPED)
def test_parse_event(payload: dict[str, Any], expected: ChatEvent) -> None:
    assert parse_event(sse(json.dumps(payload))) == expected


@pytest.mark.parametrize(("payload", "expected"), TYPED)
def test_decoder_matches_parse_event(payload: dict[str, Any], expected: ChatEvent) -> None:
    body = f"data: {json.dumps(payload)}\r\n\r\n".encode()
    assert decode([body]) == [expected]
    assert decode([body[i : i + 1] for i in range(len(body))]) == [expected]


def test_event_type_is_readable_on_typed_events() -> None:
    assert TokenEvent(text="x").event_type == "token"
    assert MessageEvent(message=MESSAGE).event_type == "message"


def test_ping_events_are_skipped() -> None:
    assert parse_event(sse("anything", event="ping")) is None
    assert decode([b"event: ping\ndata: 1\n\n"]) == []


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param('{"error": "overloaded"}', ErrorEvent(error="overloaded"), id="json-error"),
        pytest.param(
            json.dumps({"event_type": "error", "error": "x", "message": MESSAGE_JSON}),
            ErrorEvent(error="x", message=MESSAGE),
            id="json-error-with-message",
        ),
        pytest.param("upstream failed", ErrorEvent(error="upstream failed"), id="plain-text"),
        pytest.param('{"detail": "nope"}', ErrorEvent(error='{"detail": "nope"}'), id="other-json"),
        pytest.param("", ErrorEvent(error=""), id="empty"),
    ],
)
def test_sse_event_named_error(data: str, expected: ErrorEvent) -> None:
    assert parse_event(sse(data, event="error")) == expected


def test_error_event_with_malformed_message_raises() -> None:
    with pytest.raises(ProtocolError, match="message"):
        parse_event(sse('{"error": "x", "message": {"id": 1}}', event="error"))


def test_other_sse_event_names_carry_the_json_event() -> None:
    assert parse_event(sse('{"event_type": "token", "text": "a"}', event="update")) == TokenEvent(
        text="a"
    )


@pytest.mark.parametrize(
    ("data", "names"),
    [
        pytest.param("{", "not valid JSON", id="truncated-json"),
        pytest.param("", "not valid JSON", id="empty-data"),
        pytest.param("[1]", "expected an object", id="array"),
        pytest.param('{"text": "a"}', "'event_type' is missing", id="no-event-type"),
        pytest.param('{"event_type": 3}', "'event_type' is a int", id="event-type-not-str"),
        pytest.param('{"event_type": "token"}', "`text`", id="missing-text"),
        pytest.param('{"event_type": "token", "text": 1}', "$.text", id="text-not-str"),
        pytest.param(
            '{"event_type": "pending", "queue_position": "1", "queue_size": 1}',
            "$.queue_position",
            id="position-not-int",
        ),
        pytest.param(
            '{"event_type": "message", "message": {"id": "m"}}',
            "`parent_id`",
            id="message-missing-field",
        ),
        pytest.param(
            '{"event_type": "message", "message": {**}}', "not valid JSON", id="message-malformed"
        ),
    ],
)
def test_protocol_errors_name_the_problem_and_quote_the_data(data: str, names: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_event(sse(data))
    assert names in str(info.value)
    assert repr(data) in str(info.value)


def test_protocol_error_quotes_at_most_200_characters() -> None:
    data = '{"event_type": "token", "text": 5, "pad": "' + "a" * 300 + "B" * 10 + '"}'
    with pytest.raises(ProtocolError) as info:
        parse_event(sse(data))
    assert repr(data[:200]) in str(info.value)
    assert "B" not in str(info.value)
    assert isinstance(info.value, OAError)
    assert isinstance(info.value, RuntimeError)


def test_message_from_dict() -> None:
    body = json.loads(RECORDINGS[12]["response"]["body"])
    message = Message.from_dict(body)
    assert (message.role, message.state) == ("assistant", "complete")
    assert message.work_parameters is not None
    assert message.work_parameters["seed"] >= 0
    with pytest.raises(ProtocolError, match="chat_id"):
        Message.from_dict({k: v for k, v in body.items() if k != "chat_id"})


@pytest.mark.parametrize("seq", STREAMS, ids=lambda seq: RECORDINGS[seq]["name"])
@pytest.mark.parametrize("chunking", ["http-chunks", "whole", "byte-by-byte"])
def test_reference_streams(seq: int, chunking: str) -> None:
    chunks = stream_chunks(seq)
    body = b"".join(chunks)
    if chunking == "whole":
        chunks = [body]
    elif chunking == "byte-by-byte":
        chunks = [body[i : i + 1] for i in range(len(body))]
    events = decode(chunks)
    assert events == general(body)
    tokens = [event.text for event in events if isinstance(event, TokenEvent)]
    if isinstance(events[-1], MessageEvent):
        assert tokens
        assert "".join(tokens) == events[-1].message.content
        assert events[-1].message.state == "complete"
    else:  # the no-worker demo: pending events only, closed by the client
        assert all(isinstance(event, PendingEvent) for event in events)


@given(reply_streams(), st.data())
def test_any_reply_gives_back_its_tokens(stream: Any, data: st.DataObject) -> None:
    events = decode(data.draw(chunkings(stream.data)))
    assert events == list(stream.events)
    final = events[-1]
    assert isinstance(final, MessageEvent)
    assert "".join(e.text for e in events if isinstance(e, TokenEvent)) == final.message.content


@pytest.mark.parametrize("line_end", ["\r\n", "\n", "\r"], ids=["crlf", "lf", "cr"])
@given(texts=st.lists(token_texts(), max_size=15), data=st.data())
def test_token_texts_survive_any_split(
    line_end: str, texts: list[str], data: st.DataObject
) -> None:
    body = b""
    for i, text in enumerate(texts):
        if i % 3 == 0:
            body += f": ping - 2026-11-23 19:40:43.36768{i}{line_end}{line_end}".encode()
        payload = json.dumps({"event_type": "token", "text": text})
        body += f"data: {payload}{line_end}{line_end}".encode()
    events = decode(data.draw(chunkings(body)))
    assert [e.text for e in events if isinstance(e, TokenEvent)] == texts


@given(event_streams(), st.data())
def test_event_streams_fast_path_equals_general_path(stream: Any, data: st.DataObject) -> None:
    assert decode(data.draw(chunkings(stream.data))) == general(stream.data) == list(stream.events)


@given(st.one_of(raw_sse_streams(), st.binary(max_size=300), invalid_event_streams()), st.data())
def test_any_bytes_same_outcome_on_both_paths(body: bytes, data: st.DataObject) -> None:
    """Arbitrary input: identical events, or ProtocolError on both; nothing else is raised."""
    expected = outcome(general, body)
    assert outcome(decode, data.draw(chunkings(body))) == expected
    assert outcome(decode, [body]) == expected


@given(invalid_event_streams(), st.data())
def test_invalid_streams_raise_protocol_error(body: bytes, data: st.DataObject) -> None:
    with pytest.raises(ProtocolError):
        decode(data.draw(chunkings(body)))


FAST_PATH_EDGES = [
    pytest.param(
        b'data: {"event_type": "token", "text": "a"},{"event_type": "token", "text": "b"}\r\n\r\n',
        id="two-objects-in-one-event",
    ),
    pytest.param(
        b'data: {"event_type": "token", "text": "a\r\n\r\ndata: {"event_type": "token", '
        b'"text": "b"}\r\n\r\n',
        id="payload-cut-by-blank-line",
    ),
    pytest.param(b'data:{"event_type": "token", "text": "a"}\r\n\r\n', id="no-space"),
    pytest.param(b'data: {"event_type": "token", "text": "a"}\r\n\r\n\r\n\r\n', id="extra-blank"),
    pytest.param(b'data: {"event_type": "token", "text": "\xff"}\r\n\r\n', id="invalid-utf8"),
    pytest.param(
        b'event: error\r\ndata: {"event_type": "token", "text": "a"}\r\n\r\n', id="event-field"
    ),
    pytest.param(b'\xef\xbb\xbfdata: {"event_type": "token", "text": "a"}\r\n\r\n', id="bom"),
    pytest.param(
        b': ping\r\n\r\n: ping\r\n\r\ndata: {"event_type": "token", "text": "a"}\r\n\r\n'
        b": ping\r\n\r\n",
        id="comments-around",
    ),
    pytest.param(
        b'data: {"event_type": "token", "text": "a"}\r\n\r\n:\r\n\r\ndata: 1\r\n\r\n',
        id="bad-after-comment",
    ),
    pytest.param(b'data: {"event_type": "token", "text": "a"}\r\ndata: {}\r\n\r\n', id="two-lines"),
    pytest.param(b'id: 1\r\n\r\ndata: {"event_type": "token", "text": "a"}\r\n\r\n', id="id-block"),
    pytest.param(
        b'data: {"event_type": "token",\r\ndata: "text": "a"}\r\n\r\n', id="json-on-2-lines"
    ),
    pytest.param(b'data: {"event_type": "token",\r"text": "a"}\r\n\r\n', id="bare-cr-in-json"),
    pytest.param(b'data: {"event_type": "token",\n"text": "a"}\r\n\r\n', id="bare-lf-in-json"),
    pytest.param(b'data: {"event_type": "token", "text": "a"}\r\n\r\n\n: x\r\n\r\n', id="lf-block"),
]


@pytest.mark.parametrize("body", FAST_PATH_EDGES)
def test_fast_path_edges(body: bytes) -> None:
    expected = outcome(general, body)
    assert outcome(decode, [body]) == expected
    assert outcome(decode, [body[i : i + 1] for i in range(len(body))]) == expected
    for cut in range(len(body)):
        assert outcome(decode, [body[:cut], body[cut:]]) == expected


def test_event_dispatches_when_its_blank_line_ends() -> None:
    decoder = ChatEventDecoder()
    token = b'data: {"event_type": "token", "text": "a"}\r\n\r'
    assert decoder.feed(token) == [TokenEvent(text="a")]
    assert decoder.feed(b"\n") == []
    assert decoder.feed(token + b"\n") == [TokenEvent(text="a")]


def test_unterminated_event_discarded_at_close() -> None:
    decoder = ChatEventDecoder()
    assert decoder.feed(b'data: {"event_type": "token", "text": "a"}\r\n') == []
    assert decoder.close() == []


def test_ten_megabyte_token_in_1k_chunks() -> None:
    text = "word " * (2 * 1024 * 1024)
    body = f"data: {json.dumps({'event_type': 'token', 'text': text})}\r\n\r\n".encode()
    decoder = ChatEventDecoder(max_event_size=None)  # linear time, when the limit is lifted
    events = [e for i in range(0, len(body), 1024) for e in decoder.feed(body[i : i + 1024])]
    assert events + decoder.close() == [TokenEvent(text=text)]


@given(st.one_of(raw_sse_streams(), event_streams().map(lambda s: s.data)), st.data())
def test_events_come_out_with_the_chunk_that_completes_them(
    body: bytes, data: st.DataObject
) -> None:
    """No buffering delay: per chunk, the same events as the general path returns."""
    fast, reference = ChatEventDecoder(), SSEDecoder()
    for chunk in data.draw(chunkings(body)):
        good: list[ChatEvent] = []
        failed = False
        for sse_event in reference.feed(chunk):
            try:
                parsed = parse_event(sse_event)
            except ProtocolError:
                failed = True
                break
            if parsed is not None:
                good.append(parsed)
        if failed:
            # the events before the malformed one come out; the error comes with the next call
            if good:
                assert fast.feed(chunk) == good
                with pytest.raises(ProtocolError):
                    fast.close()
            else:
                with pytest.raises(ProtocolError):
                    fast.feed(chunk)
            return
        assert fast.feed(chunk) == good
    assert fast.close() == []


def test_nothing_after_a_malformed_event_comes_out() -> None:
    decoder = ChatEventDecoder()
    assert decoder.feed(b'\r\ndata: {"event_type": "token", "text": 1}\r\n') == []
    # the malformed event completes in this chunk; the events after it must not come out
    with pytest.raises(ProtocolError):
        decoder.feed(
            b'\r\ndata: {"event_type": "pending", "queue_position": 1, "queue_size": 1}\r\n\r\n'
            b'data: {"event_type": "token", "text": "after"}\r\n\r\n'
        )


def test_good_events_before_a_malformed_one_are_not_lost() -> None:
    decoder = ChatEventDecoder()
    chunk = (
        b'data: {"event_type": "token", "text": "a "}\r\n\r\n'
        b'data: {"event_type": "token", "text": "b "}\r\n\r\n'
        b'data: {"event_type": "token", "text": \r\n\r\n'
    )
    assert decoder.feed(chunk) == [TokenEvent(text="a "), TokenEvent(text="b ")]
    with pytest.raises(ProtocolError):
        decoder.feed(b'data: {"event_type": "token", "text": "c"}\r\n\r\n')
    with pytest.raises(ProtocolError):
        decoder.feed(b"")
    fresh = ChatEventDecoder()
    first, _, broken, _ = chunk.split(b"\r\n\r\n")
    assert fresh.feed(first + b"\r\n\r\n" + broken + b"\r\n\r\n") == [TokenEvent(text="a ")]
    with pytest.raises(ProtocolError):
        fresh.close()  # the stream ended right after the malformed event
