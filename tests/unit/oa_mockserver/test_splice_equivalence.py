"""The kept-prefix ``splice`` cuts exactly as the re-cut-everything one it replaced did.

``_reference_splice`` and ``_reference_replace`` are the previous implementations, kept verbatim
as the reference: the replay and the redaction depend on where every cut goes, byte for byte.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from hypothesis import given
from hypothesis import strategies as st

from oa_mockserver.recording._splice import Edit, replace_in_chunks, splice


def _reference_splice(chunks: Sequence[bytes], edits: Iterable[Edit]) -> list[bytes]:
    ordered = sorted((e for e in edits if e[1] >= e[0]), key=lambda e: (e[0], e[1]))
    if not ordered:
        kept = [c for c in chunks if c]
        return kept or [b""]
    data = b"".join(chunks)
    out = bytearray()
    position = 0
    applied: list[tuple[int, int, int, int]] = []
    shift = 0
    for start, end, replacement in ordered:
        if start < position:
            continue
        out += data[position:start]
        out += replacement
        shift += len(replacement) - (end - start)
        applied.append((start, end, len(replacement), shift))
        position = end
    out += data[position:]

    def moved(offset: int) -> int:
        before = 0
        for start, end, length, after in applied:
            if offset <= start:
                break
            if offset < end:
                return start + before + min(offset - start, length)
            before = after
        return offset + before

    result: list[bytes] = []
    previous = 0
    cut = 0
    for chunk in chunks[:-1]:
        cut += len(chunk)
        new_cut = moved(cut)
        if new_cut > previous:
            result.append(bytes(out[previous:new_cut]))
            previous = new_cut
    if previous < len(out) or not result:
        result.append(bytes(out[previous:]))
    return result


def _reference_replace(chunks: Sequence[bytes], mapping: Mapping[bytes, bytes]) -> list[bytes]:
    data = b"".join(chunks)
    edits: list[Edit] = []
    for old, new in mapping.items():
        if not old or old == new:
            continue
        start = data.find(old)
        while start >= 0:
            edits.append((start, start + len(old), new))
            start = data.find(old, start + len(old))
    if not edits:
        return list(chunks)
    return _reference_splice(chunks, edits)


_ALPHABET = b"ab-\n"
_text = st.binary(max_size=12).map(lambda b: bytes(_ALPHABET[x % 4] for x in b))
# empty chunks included: the old splice dropped them, wherever they were
_chunks = st.lists(_text, max_size=8)


@st.composite
def _chunks_and_edits(draw: st.DrawFn) -> tuple[list[bytes], list[Edit]]:
    chunks = draw(_chunks)
    size = sum(len(c) for c in chunks)
    edits: list[Edit] = []
    for _ in range(draw(st.integers(0, 4))):
        # past the end too, and end < start (ignored): every input the old one took
        start = draw(st.integers(0, size + 3))
        end = draw(st.integers(max(0, start - 2), size + 4))
        # shorter, equal and longer replacements, the empty one (a deletion) included
        length = draw(st.sampled_from([0, 1, max(0, end - start), end - start + 2, 7]))
        edits.append((start, end, draw(st.binary(min_size=length, max_size=length))))
    return chunks, edits


@given(_chunks_and_edits())
def test_splice_cuts_as_the_reference_did(case: tuple[list[bytes], list[Edit]]) -> None:
    chunks, edits = case
    assert splice(chunks, edits) == _reference_splice(chunks, edits)


_keys = st.binary(min_size=1, max_size=4).map(lambda b: bytes(_ALPHABET[x % 4] for x in b))


@given(_chunks, st.dictionaries(_keys, st.binary(max_size=6), max_size=3))
def test_replace_in_chunks_cuts_as_the_reference_did(
    chunks: list[bytes], mapping: dict[bytes, bytes]
) -> None:
    assert replace_in_chunks(chunks, mapping) == _reference_replace(chunks, mapping)


@given(_chunks, _keys, st.binary(max_size=6))
def test_equal_length_replacements_cut_as_the_reference_did(
    chunks: list[bytes], old: bytes, fill: bytes
) -> None:
    new = (fill * len(old))[: len(old)] if fill else old.upper()
    assert replace_in_chunks(chunks, {old: new}) == _reference_replace(chunks, {old: new})


def test_the_chunks_before_the_first_edit_come_back_as_the_same_objects() -> None:
    chunks = [b"data: one\r\n\r\n", b"", b"data: two\r\n\r\n", b'data: {"id": "OLD"}\r\n\r\n']
    start = b"".join(chunks).find(b"OLD")
    out = splice(chunks, [(start, start + 3, b"N")])
    assert out == [chunks[0], chunks[2], b'data: {"id": "N"}\r\n\r\n']
    # not copied: only the tail is re-cut
    assert out[0] is chunks[0]
    assert out[1] is chunks[2]
