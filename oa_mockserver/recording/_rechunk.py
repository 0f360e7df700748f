"""Seeded rechunking: the same bytes cut at new places that stress a client's stream parser.

A real network may split a stream anywhere. The places that break naive parsers are inside a line,
between the CR and the LF of a CRLF, and inside a multi-byte UTF-8 character; this module prefers
exactly those. It is pure and deterministic: the same seed gives the same cuts, and the pieces
joined are always the input.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from .._exceptions import ConfigError

__all__ = ["nasty_cut_points", "rechunk", "split_at"]


def nasty_cut_points(data: bytes) -> list[int]:
    """Offsets (0 < offset < len) that fall mid-CRLF or inside a multi-byte UTF-8 character."""
    points: list[int] = []
    for index in range(1, len(data)):
        byte = data[index]
        if data[index - 1] == 0x0D and byte == 0x0A:
            points.append(index)  # between CR and LF
        elif byte & 0xC0 == 0x80:
            points.append(index)  # before a UTF-8 continuation byte
    return points


def rechunk(
    data: bytes, seed: int, *, pieces: int | None = None, nasty_share: float = 0.5
) -> list[bytes]:
    """Cut ``data`` into about ``pieces`` non-empty pieces at seeded places.

    Args:
        data: the bytes to cut.
        seed: the same seed gives the same cuts.
        pieces: how many pieces to aim for (default: one per 64 bytes, at least 2).
        nasty_share: the share of cuts placed mid-CRLF or mid-UTF-8 when such places exist;
            the others fall anywhere (mostly mid-line).

    Raises:
        ConfigError: ``pieces`` < 1 or ``nasty_share`` outside [0, 1].
    """
    if pieces is not None and pieces < 1:
        raise ConfigError(f"rechunk pieces must be >= 1, not {pieces}")
    if not 0.0 <= nasty_share <= 1.0:
        raise ConfigError(f"rechunk nasty_share must be within [0, 1], not {nasty_share}")
    if len(data) < 2:
        return [data] if data else []
    wanted = pieces if pieces is not None else max(2, len(data) // 64)
    cuts_wanted = min(wanted - 1, len(data) - 1)
    rng = random.Random(seed)
    nasty = nasty_cut_points(data)
    chosen: set[int] = set()
    n_nasty = min(len(nasty), round(cuts_wanted * nasty_share))
    chosen.update(rng.sample(nasty, n_nasty))
    while len(chosen) < cuts_wanted:
        chosen.add(rng.randrange(1, len(data)))
    return split_at(data, sorted(chosen))


def split_at(data: bytes, cuts: Sequence[int]) -> list[bytes]:
    """``data`` cut at the given increasing offsets (empty pieces dropped)."""
    result: list[bytes] = []
    previous = 0
    for cut in [*cuts, len(data)]:
        if cut > previous:
            result.append(data[previous:cut])
            previous = cut
    return result
