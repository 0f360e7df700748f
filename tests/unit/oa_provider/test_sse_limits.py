"""max_event_size: the decoders refuse an oversized line or event incrementally, the same way for
every chunking, and the fast path agrees with the general one."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oa_provider import (
    ChatEvent,
    ChatEventDecoder,
    LimitExceededError,
    Limits,
    ProtocolError,
    SSEDecoder,
    TokenEvent,
    parse_event,
)
from oa_provider.strategies import chunkings, event_streams, raw_sse_streams


def token(text: str) -> bytes:
    return f"data: {json.dumps({'event_type': 'token', 'text': text})}\r\n\r\n".encode()


@pytest.mark.parametrize("decoder_class", [SSEDecoder, ChatEventDecoder])
def test_a_line_that_never_ends_is_refused_once_past_the_limit(decoder_class: Any) -> None:
    decoder = decoder_class(max_event_size=10_000)
    chunk = b"x" * 1024
    decoder.feed(b"data: ")
    for _ in range(9):  # 6 + 9 * 1024 = 9222 characters
        assert decoder.feed(chunk) == []
    with pytest.raises(LimitExceededError) as info:
        decoder.feed(chunk)  # the chunk that crosses the limit, not a later one
    assert info.value.limit == "max_event_size"
    assert info.value.maximum == 10_000
    assert "max_event_size=10000" in str(info.value)
    with pytest.raises(LimitExceededError):
        decoder.feed(b"\r\n\r\n")  # stays refused


@pytest.mark.parametrize("decoder_class", [SSEDecoder, ChatEventDecoder])
def test_many_data_lines_of_one_event_are_held_to_the_limit(decoder_class: Any) -> None:
    decoder = decoder_class(max_event_size=1000)
    line = b"data: " + b"y" * 50 + b"\r\n"
    for _ in range(20):  # exactly 1000 characters of data: at the limit
        assert decoder.feed(line) == []
    with pytest.raises(LimitExceededError, match="the data of an event"):
        decoder.feed(line)  # the 21st line: more than 1000


def test_the_events_before_an_oversized_one_come_out_first() -> None:
    decoder = ChatEventDecoder(max_event_size=100)
    body = token("a") + token("b") + b"data: " + b"z" * 200
    assert decoder.feed(body) == [TokenEvent(text="a"), TokenEvent(text="b")]
    with pytest.raises(LimitExceededError):
        decoder.feed(b"\r\n\r\n")
    with pytest.raises(LimitExceededError):
        decoder.close()
    assert decoder.feed(token("fresh")) == [TokenEvent(text="fresh")], "close() resets"


def test_sse_decoder_close_raises_a_pending_limit_error_then_resets() -> None:
    decoder = SSEDecoder(max_event_size=10)
    events = decoder.feed(b"data: a\n\ndata: " + b"q" * 20 + b"\n")
    assert [e.data for e in events] == ["a"]
    with pytest.raises(LimitExceededError):
        decoder.close()
    assert [e.data for e in decoder.feed(b"data: ok\n\n")] == ["ok"]


def test_a_whole_oversized_event_in_one_chunk_is_refused_by_the_fast_path() -> None:
    body = token("a") + token("b" * 5000) + token("c")
    decoder = ChatEventDecoder(max_event_size=1000)
    assert decoder.feed(body) == [TokenEvent(text="a")]
    with pytest.raises(LimitExceededError):
        decoder.close()


def test_an_event_at_the_limit_passes() -> None:
    line = token("w" * 50)
    size = len(line) - 4  # the line without its CRLF CRLF
    assert ChatEventDecoder(max_event_size=size).feed(line) == [TokenEvent(text="w" * 50)]
    with pytest.raises(LimitExceededError):
        ChatEventDecoder(max_event_size=size - 1).feed(line)


def test_none_lifts_the_limit_and_the_default_is_the_limits_default() -> None:
    line = token("v" * (2 * 1024 * 1024))
    assert ChatEventDecoder(max_event_size=None).feed(line) == [TokenEvent(text="v" * 2**21)]
    with pytest.raises(LimitExceededError) as info:
        ChatEventDecoder().feed(line)
    assert info.value.maximum == Limits().max_event_size == 1024 * 1024


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "10"])
def test_bad_limits_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="max_event_size"):
        SSEDecoder(max_event_size=bad)  # type: ignore[arg-type]


# -- the same outcome for every chunking, on both paths ------------------------------------


def reference(body: bytes, limit: int) -> tuple[list[ChatEvent], str | None]:
    """The definition: the SSE decoder fed the whole body, then parse_event; stop at an error."""
    decoder = SSEDecoder(max_event_size=limit)
    events: list[ChatEvent] = []
    try:
        sse_events = decoder.feed(body)
    except LimitExceededError:
        return events, "limit"
    failure: str | None = None
    try:
        decoder.close()
    except LimitExceededError:
        failure = "limit"
    for sse_event in sse_events:
        try:
            parsed = parse_event(sse_event)
        except ProtocolError:
            return events, "protocol"
        if parsed is not None:
            events.append(parsed)
    return events, failure


def chunked_run(
    decoder: ChatEventDecoder, chunks: list[bytes]
) -> tuple[list[ChatEvent], str | None]:
    events: list[ChatEvent] = []
    try:
        for chunk in chunks:
            events += decoder.feed(chunk)
        events += decoder.close()
    except LimitExceededError:
        return events, "limit"
    except ProtocolError:
        return events, "protocol"
    return events, None


@given(
    st.one_of(raw_sse_streams(), event_streams().map(lambda s: s.data)),
    st.integers(min_value=1, max_value=300),
    st.data(),
)
def test_any_chunking_gives_the_reference_outcome(
    body: bytes, limit: int, data: st.DataObject
) -> None:
    chunks = data.draw(chunkings(body))
    assert chunked_run(ChatEventDecoder(max_event_size=limit), chunks) == reference(body, limit)
