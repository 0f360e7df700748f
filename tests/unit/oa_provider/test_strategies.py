"""The public hypothesis strategies produce what they promise."""

from __future__ import annotations

import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st

from oa_provider import (
    ChatEvent,
    MessageEvent,
    ProtocolError,
    SSEDecoder,
    TokenEvent,
    parse_event,
)
from oa_provider.strategies import (
    LINE_ENDS,
    EncodedStream,
    chat_events,
    chunkings,
    encode_event,
    event_streams,
    invalid_event_streams,
    ping_comment,
    raw_sse_streams,
    reply_streams,
    token_texts,
)


def general(body: bytes) -> list[ChatEvent]:
    decoder = SSEDecoder()
    parsed = [parse_event(event) for event in decoder.feed(body) + decoder.close()]
    return [event for event in parsed if event is not None]


def test_encode_event_matches_the_real_server() -> None:
    assert encode_event(TokenEvent(text="Neque ")) == (
        b'data: {"event_type": "token", "text": "Neque "}\r\n\r\n'
    )
    assert ping_comment() == b": ping - 2026-11-23 19:40:43.367684\r\n\r\n"


@given(event_streams())
def test_event_streams_decode_to_their_events(stream: EncodedStream) -> None:
    assert stream.line_end in LINE_ENDS
    assert general(stream.data) == list(stream.events)


@given(reply_streams())
def test_reply_streams_end_with_the_joined_tokens(stream: EncodedStream) -> None:
    final = stream.events[-1]
    assert isinstance(final, MessageEvent)
    tokens = [event.text for event in stream.events if isinstance(event, TokenEvent)]
    assert "".join(tokens) == final.message.content


@given(invalid_event_streams())
def test_invalid_event_streams_raise(body: bytes) -> None:
    with pytest.raises(ProtocolError):
        general(body)


@given(st.binary(max_size=100), st.data())
def test_chunkings_join_back(body: bytes, data: st.DataObject) -> None:
    chunks = data.draw(chunkings(body))
    assert b"".join(chunks) == body
    assert len(chunks) >= 1


@given(raw_sse_streams())
def test_raw_sse_streams_are_bytes(body: bytes) -> None:
    assert isinstance(body, bytes)


@given(chat_events(unknown=False))
def test_known_chat_events_round_trip(event: ChatEvent) -> None:
    assert general(encode_event(event, ensure_ascii=False)) == [event]


@pytest.mark.parametrize("piece", ["\r", "\n", "data:", "😀"], ids=["CR", "LF", "data:", "emoji"])
def test_token_texts_reach_the_tricky_pieces(piece: str) -> None:
    # find() searches until it meets an example: a strategy that never produced the piece fails.
    found = find(
        token_texts(),
        lambda text: piece in text,
        settings=settings(max_examples=5000, database=None, phases=[Phase.generate]),
    )
    assert piece in found
