"""Identifiers and clocks as the real server makes them: UUIDv7 ids, naive UTC datetimes."""

from __future__ import annotations

import os
import random
import time
import uuid
from datetime import datetime, timezone

__all__ = ["iso", "new_seed", "ping_stamp", "utcnow", "uuid7"]

_last_ms = 0
_counter = 0


def uuid7() -> str:
    """A new time-ordered UUID (version 7) as a 36-character hyphenated string.

    Ids made in the same millisecond stay ordered: a 12-bit counter fills ``rand_a``
    (RFC 9562, method 1), so sorting ids sorts chats by creation, as the real server's cursors do.
    """
    global _last_ms, _counter
    ms = time.time_ns() // 1_000_000
    if ms <= _last_ms:
        ms = _last_ms
        _counter += 1
        if _counter > 0xFFF:  # counter exhausted: borrow the next millisecond
            ms += 1
            _counter = 0
    else:
        _counter = 0
    _last_ms = ms
    rand_b = int.from_bytes(os.urandom(8), "big") & 0x3FFF_FFFF_FFFF_FFFF
    value = (ms << 80) | (0x7 << 76) | (_counter << 64) | (0b10 << 62) | rand_b
    return str(uuid.UUID(int=value))


def utcnow() -> datetime:
    """The current UTC time without tzinfo, like the real server's ``datetime.utcnow()``."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def iso(moment: datetime) -> str:
    """ISO 8601 without a time zone: ``2026-11-23T19:40:11.840665``.

    Like pydantic v1 and FastAPI's encoder (``datetime.isoformat()``), the fraction is left out
    in the one-in-a-million case that the microseconds are zero.
    """
    return moment.isoformat()


def ping_stamp(moment: datetime) -> str:
    """The timestamp of an SSE ping comment, ``str(datetime)``: ``2026-11-23 19:40:43.367684``."""
    return str(moment)


def new_seed(rng: random.Random | None = None) -> int:
    """A random unsigned 64-bit sampling seed (often above 2**63, as on the real server)."""
    return (rng or random).getrandbits(64)
