"""Bytes -> lines: UTF-8 across chunks, BOM, CR/LF/CRLF line ends, unbounded lines.

Every case is fed whole, one byte at a time, and split at hypothesis-chosen points;
all three must give the same events.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oa_provider import ServerSentEvent, SSEDecoder
from oa_provider._sse import _LineDecoder
from oa_provider.strategies import chunkings


def feed_chunks(chunks: list[bytes]) -> list[ServerSentEvent]:
    decoder = SSEDecoder(max_event_size=None)  # unbounded lines: see test_sse_limits.py
    events: list[ServerSentEvent] = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    return events + decoder.close()


def datas(events: list[ServerSentEvent]) -> list[str]:
    return [event.data for event in events]


CASES = [
    pytest.param(b"data: a\n\n", ["a"], id="lf"),
    pytest.param(b"data: a\r\rdata: b\r\r", ["a", "b"], id="cr"),
    pytest.param(b"data: a\r\n\r\n", ["a"], id="crlf"),
    pytest.param(b"data: a\r\n\ndata: b\n\r\n", ["a", "b"], id="mixed-line-ends"),
    pytest.param(b"data: a\n\r\r\n\n", ["a"], id="extra-blank-lines"),
    pytest.param(b"data: a\r\r\n", ["a"], id="cr-then-crlf-is-two-line-ends"),
    pytest.param(b"data: a\n\rdata: b\n\n", ["a", "b"], id="lf-cr-is-blank-line"),
    pytest.param(b"\xef\xbb\xbfdata: bom\n\n", ["bom"], id="leading-bom-dropped"),
    pytest.param(b"\xef\xbb\xbf\xef\xbb\xbfdata: x\n\n", [], id="second-bom-is-part-of-name"),
    pytest.param(b"data: \xef\xbb\xbfx\n\n", ["\ufeffx"], id="bom-in-value-kept"),
    pytest.param(b"data: a\n\n\xef\xbb\xbfdata: b\n\n", ["a"], id="bom-mid-stream-not-dropped"),
    pytest.param("data: Привет 😀\n\n".encode(), ["Привет 😀"], id="multibyte-utf8"),
    pytest.param(b"data: \xff\xfe ok\n\n", ["\ufffd\ufffd ok"], id="invalid-bytes-replaced"),
    pytest.param(b"data: \xe2\x82\n\n", ["\ufffd"], id="truncated-code-point-replaced"),
    pytest.param(
        "data: a\u2028b\x0bc\x0cd\x85e\n\n".encode(),
        ["a\u2028b\x0bc\x0cd\x85e"],
        id="only-cr-and-lf-end-lines",
    ),
    pytest.param(b"data: a\x00b\n\n", ["a\x00b"], id="nul-in-data-kept"),
    pytest.param(b"data: a", [], id="no-line-end-at-eof"),
    pytest.param(b"data: a\n", [], id="no-blank-line-at-eof"),
    pytest.param(b"", [], id="empty-stream"),
]


@pytest.mark.parametrize(("body", "expected"), CASES)
def test_whole(body: bytes, expected: list[str]) -> None:
    assert datas(feed_chunks([body])) == expected


@pytest.mark.parametrize(("body", "expected"), CASES)
def test_byte_by_byte(body: bytes, expected: list[str]) -> None:
    assert datas(feed_chunks([body[i : i + 1] for i in range(len(body))])) == expected


@pytest.mark.parametrize(("body", "expected"), CASES)
@given(data=st.data())
def test_any_split(body: bytes, expected: list[str], data: st.DataObject) -> None:
    assert datas(feed_chunks(data.draw(chunkings(body)))) == expected


def test_crlf_split_across_chunks_is_one_line_end() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    # The CR ended the data line; this LF completes the CRLF and is not a blank line.
    assert decoder.feed(b"\n") == []
    assert datas(decoder.feed(b"\r")) == ["a"]
    assert decoder.feed(b"\n") == []


def test_events_dispatch_as_soon_as_blank_line_ends() -> None:
    decoder = SSEDecoder()
    assert datas(decoder.feed(b"data: a\r\n\r")) == ["a"]


def test_ten_megabyte_line() -> None:
    value = b"x" * (10 * 1024 * 1024)
    assert datas(feed_chunks([b"data: " + value + b"\n\n"])) == [value.decode()]


def test_long_line_in_small_chunks() -> None:
    value = "é" * 300_000  # two bytes each: chunks of 7 bytes split code points too
    body = ("data: " + value + "\r\n\r\n").encode()
    chunks = [body[i : i + 7] for i in range(0, len(body), 7)]
    assert datas(feed_chunks(chunks)) == [value]


def test_close_discards_partial_and_resets() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"id: 7\n\xef\xbb\xbfdata: partial\xe2")
    assert decoder.last_event_id == "7"
    assert decoder.close() == []
    assert decoder.last_event_id == ""
    # After close, a new stream starts: its BOM is dropped again.
    assert datas(decoder.feed(b"\xef\xbb\xbfdata: b\n\n")) == ["b"]


@given(st.binary(max_size=200), st.data())
def test_arbitrary_bytes_never_raise_and_ignore_chunking(body: bytes, data: st.DataObject) -> None:
    whole = feed_chunks([body])
    assert feed_chunks(data.draw(chunkings(body))) == whole


# -- the line decoder alone (oa_provider._sse._LineDecoder) ---------------------------------


def reference_lines(text: str) -> list[str]:
    """The standard's line rule, on the whole text: CRLF, CR or LF ends a line."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")[:-1]


def decode_lines(pieces: list[str], max_size: int = 10**9) -> tuple[list[str], bool]:
    decoder = _LineDecoder(max_size)
    lines: list[str] = []
    for piece in pieces:
        lines += decoder.decode(piece)
        if decoder.overflowed:
            break
    return lines, decoder.overflowed


line_texts = st.text(alphabet=st.sampled_from("ab\r\n\u2028"), max_size=60)


@given(line_texts, st.data())
def test_line_decoder_gives_the_standards_lines_for_any_split(
    text: str, data: st.DataObject
) -> None:
    cuts = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=8)))
    pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    assert decode_lines(pieces) == (reference_lines(text), False)


@given(line_texts, st.integers(1, 8), st.data())
def test_line_decoder_stops_at_the_first_over_long_line_for_any_split(
    text: str, max_size: int, data: st.DataObject
) -> None:
    cuts = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=8)))
    pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    complete = reference_lines(text)
    partial = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")[-1]
    too_long = [line for line in (*complete, partial) if len(line) > max_size]
    lines, overflowed = decode_lines(pieces, max_size)
    assert overflowed == bool(too_long)
    if overflowed:
        first_long = [*complete, partial].index(too_long[0])
        assert lines == complete[:first_long]
    else:
        assert lines == complete


def test_line_decoder_tracks_a_pending_cr_and_resets() -> None:
    decoder = _LineDecoder(100)
    assert decoder.is_empty()
    assert decoder.decode("a\r") == ["a"]
    assert not decoder.is_empty()  # the next LF belongs to that CR
    assert decoder.decode("\nb") == []
    assert not decoder.is_empty()  # "b" waits for its line end
    decoder.reset()
    assert decoder.is_empty()
    decoder.expect_lf()
    assert decoder.decode("\n\n") == [""]
