"""Chunk-boundary-preserving replacement: the joined output is the joined input replaced."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from oa_mockserver.recording._splice import replace_in_chunks, splice

_ALPHABET = b"ab-\n"


def _cut(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points) if b > a] or [data]


_bodies = st.binary(max_size=60).map(lambda b: bytes(_ALPHABET[x % 4] for x in b))
_keys = st.binary(min_size=1, max_size=4).map(lambda b: bytes(_ALPHABET[x % 4] for x in b))
_values = st.binary(max_size=6)


@given(_bodies, st.lists(st.integers(0, 60), max_size=8), _keys, _values)
def test_the_joined_output_is_the_joined_input_replaced(data, cuts, old, new) -> None:
    chunks = _cut(data, cuts)
    out = replace_in_chunks(chunks, {old: new})
    assert b"".join(out) == data.replace(old, new)
    assert all(out) or out == [b""]


@given(_bodies, st.lists(st.integers(0, 60), max_size=8), _keys, st.binary(max_size=3))
def test_no_shorter_replacement_keeps_the_chunk_count(data, cuts, old, extra) -> None:
    chunks = _cut(data, cuts)
    out = replace_in_chunks(chunks, {old: old.upper() + extra})
    assert len(out) == len(chunks)


@given(_bodies, st.lists(st.integers(0, 60), max_size=8), _keys)
def test_an_equal_length_replacement_keeps_every_cut(data, cuts, old) -> None:
    chunks = _cut(data, cuts)
    out = replace_in_chunks(chunks, {old: old.upper()})
    assert [len(p) for p in out] == [len(p) for p in chunks]


@given(_bodies, st.lists(st.integers(0, 60), max_size=8))
def test_nothing_to_replace_gives_the_chunks_back(data, cuts) -> None:
    chunks = _cut(data, cuts)
    assert replace_in_chunks(chunks, {b"Z": b"y", b"": b"x"}) == chunks


def test_a_cut_inside_a_span_keeps_its_offset_clamped_to_the_replacement() -> None:
    assert splice([b"xxAB", b"CDyy"], [(2, 6, b"123456")]) == [b"xx12", b"3456yy"]
    assert splice([b"xxABC", b"Dyy"], [(2, 6, b"1")]) == [b"xx1", b"yy"]


def test_a_chunk_inside_a_shrunk_span_is_dropped_and_the_first_overlap_wins() -> None:
    assert splice([b"xA", b"B", b"Cy"], [(1, 4, b"-")]) == [b"x-", b"y"]
    assert splice([b"abcdef"], [(3, 5, b"Q"), (1, 4, b"P")]) == [b"aPef"]
    assert splice([], []) == [b""]
