"""Lines -> events: the WHATWG examples and every field rule, fed whole, byte by byte and split."""

from __future__ import annotations

import pytest
from _decoding import feed_all
from hypothesis import given
from hypothesis import strategies as st

from oa_provider import ServerSentEvent, SSEDecoder
from oa_provider.strategies import chunkings, raw_sse_streams


def feed_chunks(chunks: list[bytes]) -> list[ServerSentEvent]:
    return feed_all(SSEDecoder(), chunks)


def ev(
    data: str, event: str = "message", id: str = "", retry: int | None = None
) -> ServerSentEvent:
    return ServerSentEvent(event=event, data=data, id=id, retry=retry)


# https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
CASES = [
    pytest.param(
        b"data: YHOO\ndata: +2\ndata: 10\n\n", [ev("YHOO\n+2\n10")], id="whatwg-stock-ticker"
    ),
    pytest.param(
        b": test stream\n\ndata: first event\nid: 1\n\n"
        b"data:second event\nid\n\ndata:  third event\n",
        [ev("first event", id="1"), ev("second event", id="")],
        id="whatwg-ids-and-unterminated-last-event",
    ),
    pytest.param(b"data\n\ndata\ndata\n\ndata:", [ev(""), ev("\n")], id="whatwg-empty-data-lines"),
    pytest.param(b"data:test\n\ndata: test\n\n", [ev("test"), ev("test")], id="whatwg-one-space"),
    pytest.param(
        b"event: add\ndata: 73857293\n\nevent: remove\ndata: 2153\n\nevent: add\ndata: 113411\n\n",
        [ev("73857293", "add"), ev("2153", "remove"), ev("113411", "add")],
        id="whatwg-event-types",
    ),
    pytest.param(b": just a comment\n\n", [], id="comment-only"),
    pytest.param(b":data: x\n\n", [], id="comment-looks-like-field"),
    pytest.param(b"data\n\n", [ev("")], id="field-without-colon-has-empty-value"),
    pytest.param(b"data:  two spaces\n\n", [ev(" two spaces")], id="only-one-space-stripped"),
    pytest.param(b"data:\tx\n\n", [ev("\tx")], id="tab-not-stripped"),
    pytest.param(b"data: a:b: c\n\n", [ev("a:b: c")], id="colon-in-value"),
    pytest.param(b"data: a\ndata: b\n\n", [ev("a\nb")], id="data-lines-joined-with-lf"),
    pytest.param(b"data: a\ndata:\n\n", [ev("a\n")], id="trailing-empty-data-line"),
    pytest.param(b"event: x\n\ndata: y\n\n", [ev("y")], id="no-data-not-dispatched"),
    pytest.param(b"event: x\nid: 3\n\n", [], id="event-and-id-without-data"),
    pytest.param(b"event: x\ndata: a\n\ndata: b\n\n", [ev("a", "x"), ev("b")], id="type-resets"),
    pytest.param(b"event:\ndata: a\n\n", [ev("a")], id="empty-event-type-is-message"),
    pytest.param(b"event: ping\ndata: p\n\n", [ev("p", "ping")], id="ping-event-is-decoded"),
    pytest.param(
        b"id: 1\ndata: a\n\ndata: b\n\n", [ev("a", id="1"), ev("b", id="1")], id="id-persists"
    ),
    pytest.param(b"id: 1\n\ndata: a\n\n", [ev("a", id="1")], id="id-set-without-data"),
    pytest.param(
        b"id: 1\ndata: a\n\nid\ndata: b\n\n", [ev("a", id="1"), ev("b")], id="empty-id-resets"
    ),
    pytest.param(
        b"id: 1\ndata: a\n\nid: 2\x00\ndata: b\n\n",
        [ev("a", id="1"), ev("b", id="1")],
        id="id-with-nul-ignored",
    ),
    pytest.param(b"retry: 1000\ndata: a\n\n", [ev("a", retry=1000)], id="retry-digits"),
    pytest.param(b"retry: 10a\ndata: a\n\n", [ev("a")], id="retry-not-digits-ignored"),
    pytest.param(b"retry: -5\ndata: a\n\n", [ev("a")], id="retry-negative-ignored"),
    pytest.param(b"retry:\ndata: a\n\n", [ev("a")], id="retry-empty-ignored"),
    pytest.param("retry: ٣\ndata: a\n\n".encode(), [ev("a")], id="retry-non-ascii-digit-ignored"),
    pytest.param(
        b"retry: 5\ndata: a\n\ndata: b\n\n",
        [ev("a", retry=5), ev("b")],
        id="retry-belongs-to-its-event",
    ),
    pytest.param(b"foo: bar\ndata: a\nDATA: b\n\n", [ev("a")], id="unknown-fields-ignored"),
    pytest.param(b"data : a\n\n", [], id="space-before-colon-is-another-name"),
    pytest.param(b"data: a\n\ndata: b", [ev("a")], id="unterminated-event-discarded"),
    pytest.param(b"data: a\n\ndata: b\n", [ev("a")], id="event-without-blank-line-discarded"),
    pytest.param(
        b'data: {"event_type": "token", "text": "Neque "}\r\n\r\n'
        b": ping - 2026-11-23 19:40:43.3\r\n\r\n",
        [ev('{"event_type": "token", "text": "Neque "}')],
        id="real-server-shape",
    ),
]


@pytest.mark.parametrize(("body", "expected"), CASES)
def test_whole(body: bytes, expected: list[ServerSentEvent]) -> None:
    assert feed_chunks([body]) == expected


@pytest.mark.parametrize(("body", "expected"), CASES)
def test_byte_by_byte(body: bytes, expected: list[ServerSentEvent]) -> None:
    assert feed_chunks([body[i : i + 1] for i in range(len(body))]) == expected


@pytest.mark.parametrize(("body", "expected"), CASES)
@given(data=st.data())
def test_any_split(body: bytes, expected: list[ServerSentEvent], data: st.DataObject) -> None:
    assert feed_chunks(data.draw(chunkings(body))) == expected


LF_ONLY_CASES = [case for case in CASES if b"\r" not in case.values[0]]  # type: ignore[operator]


@pytest.mark.parametrize("line_end", [b"\r\n", b"\r"], ids=["crlf", "cr"])
@pytest.mark.parametrize(("body", "expected"), LF_ONLY_CASES)
def test_other_line_ends(body: bytes, expected: list[ServerSentEvent], line_end: bytes) -> None:
    assert feed_chunks([body.replace(b"\n", line_end)]) == expected


def test_defaults_and_keyword_only() -> None:
    assert ServerSentEvent() == ServerSentEvent(event="message", data="", id="", retry=None)
    with pytest.raises(TypeError):
        ServerSentEvent("message", "x")  # type: ignore[call-arg]


def test_events_are_frozen() -> None:
    event = ServerSentEvent(data="x")
    with pytest.raises(AttributeError):
        event.data = "y"  # type: ignore[misc]


def test_stream_retry_and_last_event_id() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"retry: 2500\nid: abc\n\n")
    assert (decoder.retry, decoder.last_event_id) == (2500, "abc")


@given(raw_sse_streams(), st.data())
def test_generated_streams_ignore_chunking(body: bytes, data: st.DataObject) -> None:
    whole = feed_chunks([body])
    assert feed_chunks(data.draw(chunkings(body))) == whole
    assert feed_chunks([body[i : i + 1] for i in range(len(body))]) == whole
