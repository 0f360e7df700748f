"""Replacing byte spans in a body given as chunks, keeping the chunk boundaries (pure).

Both the replay (recorded ids rewritten to live ones in a streamed reply) and the redaction
(secrets replaced in a streamed body) edit the *joined* bytes, since a value may straddle two
chunks, and then cut the result where the chunks were cut, so the replayed stream keeps the
recorded pieces (and their times). One rule for where a cut goes:

* a cut outside every replaced span shifts by the length change before it;
* a cut inside a replaced span keeps its offset into the span, clamped to the replacement's
  length (so replacements of equal length, such as one UUID for another, keep every cut);
* a chunk left empty is dropped, so no piece is ``b""``.

When no replacement is shorter than what it replaces, the chunk count is preserved.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from itertools import accumulate
from operator import itemgetter

__all__ = ["Edit", "find_edits", "replace_in_chunks", "splice"]

#: ``(start, end, replacement)``: replace ``joined[start:end]`` with ``replacement``.
Edit = tuple[int, int, bytes]


def splice(chunks: Sequence[bytes], edits: Iterable[Edit]) -> list[bytes]:
    """The chunks with each edit applied to their concatenation, boundaries kept (see module).

    ``edits`` are offsets into ``b"".join(chunks)``; they are sorted here, and of two
    overlapping edits the one starting first wins. Returns at least one piece (``[b""]`` for an
    empty body).
    """
    ordered = sorted((e for e in edits if e[1] >= e[0]), key=itemgetter(0, 1))
    if not ordered:
        kept = [c for c in chunks if c]
        return kept or [b""]
    # Why a kept prefix: a cut at or before the first edit does not move, so the chunks that end
    # there come back as they are (the same objects, no copy); only the rest is re-cut. A replay
    # rewrites ids in its last event only: this is most of its chunks. The last chunk is never
    # kept: an edit may lie past the end of the body, and is appended to it.
    cuts = list(accumulate(map(len, chunks[:-1])))
    count = bisect_right(cuts, ordered[0][0])  # the chunks whose end does not move
    base = cuts[count - 1] if count else 0  # where the re-cut tail begins in the joined input
    result = list(filter(None, chunks[:count]))
    tail = chunks[count:]
    data = b"".join(tail)
    out = bytearray()
    position = 0
    # (old start, old end, new length, total shift after this edit), offsets into the tail
    applied: list[tuple[int, int, int, int]] = []
    shift = 0
    for start, end, replacement in ordered:
        start -= base
        end -= base
        if start < position:
            continue  # overlaps an earlier edit: the first one wins
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

    previous = 0
    cut = 0
    for chunk in tail[:-1]:
        cut += len(chunk)
        new_cut = moved(cut)
        if new_cut > previous:
            result.append(bytes(out[previous:new_cut]))
            previous = new_cut
    if previous < len(out) or not result:
        result.append(bytes(out[previous:]))
    return result


def find_edits(data: bytes, mapping: Mapping[bytes, bytes]) -> list[Edit]:
    """The edits that replace every occurrence of each key of ``mapping`` in ``data``.

    Occurrences are found left to right, without overlap, key by key in the mapping's order;
    an empty key, or one mapped to itself, is ignored (see :func:`replace_in_chunks`).
    """
    edits: list[Edit] = []
    for old, new in mapping.items():
        if not old or old == new:
            continue
        start = data.find(old)
        while start >= 0:
            edits.append((start, start + len(old), new))
            start = data.find(old, start + len(old))
    return edits


def replace_in_chunks(chunks: Sequence[bytes], mapping: Mapping[bytes, bytes]) -> list[bytes]:
    """Every occurrence of each key replaced by its value across the chunks, boundaries kept.

    Occurrences are found in the joined bytes (a key may straddle two chunks), left to right,
    without overlap; where two keys' occurrences overlap, the one starting first wins. An empty
    key, or one mapped to itself, is ignored; with nothing to replace the chunks come back as
    they were.
    """
    edits = find_edits(b"".join(chunks), mapping)
    if not edits:
        return list(chunks)
    return splice(chunks, edits)
