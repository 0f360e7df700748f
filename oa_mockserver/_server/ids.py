"""Identifiers and clocks as the real server makes them: UUIDv7 ids, naive UTC times."""

from __future__ import annotations

import os
import random
import time
from datetime import datetime, timedelta, timezone

__all__ = ["new_seed", "now_iso", "ping_stamp", "utcnow", "uuid7"]

_SIXTEEN_SECONDS = 16_000_000_000
# Why not os.urandom per id: a syscall per id showed in the server's profile, and ids need to
# be unique, not secret. Seeded from the OS, and again in a forked child (xdist, servers).
_RANDOM = random.Random()
_random_bits = _RANDOM.getrandbits
os.register_at_fork(after_in_child=_RANDOM.seed)
_last_stamp = 0
_counter = 0
_clock = time.time_ns  # nanoseconds since the epoch (tests stop it)


def uuid7() -> str:
    """A new time-ordered UUID (version 7) as a 36-character hyphenated string.

    The layout is that of the ``uuid7`` package the reference server uses (draft UUIDv7 with
    nanosecond time: 32 bits of 16-second units, then 16 + 12 bits of fraction, then the variant
    and a 14-bit counter that is 0 unless two ids share a timestamp, then 48 random bits), so ids
    look like the recorded ``06b04969-bd73-740d-8000-792f29c174a4`` and sort by creation.
    """
    global _last_stamp, _counter
    # the time in 1/2**28ths of 16 seconds (60 bits): the package's three divmods as one
    stamp = (_clock() << 28) // _SIXTEEN_SECONDS
    if stamp <= _last_stamp:
        _counter += 1
        if _counter > 0x3FFF:  # counter exhausted: move to the next timestamp tick
            _last_stamp += 1
            _counter = 0
        stamp = _last_stamp
    else:
        _last_stamp = stamp
        _counter = 0
    value = (
        (stamp >> 12) << 80
        | (0x7000 | (stamp & 0xFFF)) << 64
        | (0x8000 | _counter) << 48
        | _random_bits(48)
    )
    digits = value.to_bytes(16, "big").hex()  # cheaper than a format spec
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def utcnow() -> datetime:
    """The current UTC time without tzinfo, like the real server's ``datetime.utcnow()``."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


_EPOCH = datetime(1970, 1, 1)
_second = -1
_second_text = ""


def now_iso() -> str:
    """The current UTC time as the real server writes its ``datetime.utcnow()`` values.

    ISO 8601 without a time zone, ``2026-11-23T19:40:11.840665``; like pydantic v1 and FastAPI's
    encoder (``datetime.isoformat()``), without the fraction in the one-in-a-million case that the
    microseconds are zero. Why text and not a datetime: the store only ever renders its times,
    and making and rendering datetimes was a visible share of each message's cost; the date and
    time of day are rendered once a second.
    """
    global _second, _second_text
    second, micro = divmod(_clock() // 1000, 1_000_000)
    if second != _second:
        _second_text = (_EPOCH + timedelta(seconds=second)).isoformat()
        _second = second
    if micro == 0:
        return _second_text
    return _second_text + "." + str(1_000_000 + micro)[1:]


def ping_stamp(moment: datetime) -> str:
    """The timestamp of an SSE ping comment, ``str(datetime)``: ``2026-11-23 19:40:43.367684``."""
    return str(moment)


def new_seed(rng: random.Random | None = None) -> int:
    """A random unsigned 64-bit sampling seed (often above 2**63, as on the real server)."""
    return (rng or random).getrandbits(64)
