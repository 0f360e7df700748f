"""UUIDv7 ids laid out as the reference's ``uuid7`` package lays them out, and time-ordered."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oa_mockserver._server import ids as _ids

_SHAPE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
_SIXTEEN_SECONDS = 16_000_000_000


def _package_layout(ns: int) -> tuple[int, int, int]:
    """The time fields as the ``uuid7`` package computes them (three divmods)."""
    t1, rest1 = divmod(ns, _SIXTEEN_SECONDS)
    t2, rest2 = divmod(rest1 << 16, _SIXTEEN_SECONDS)
    t3 = (rest2 << 12) // _SIXTEEN_SECONDS
    return t1, t2, t3


@given(st.integers(0, 2**62))
def test_the_time_fields_are_the_packages(ns: int) -> None:
    saved = _ids._last_stamp, _ids._counter
    clock = _ids._clock
    try:
        _ids._last_stamp = -1
        _ids._clock = lambda: ns
        value = uuid.UUID(_ids.uuid7()).int
    finally:
        _ids._clock = clock
        _ids._last_stamp, _ids._counter = saved
    t1, t2, t3 = _package_layout(ns)
    assert value >> 96 == t1 % 2**32
    assert (value >> 80) & 0xFFFF == t2
    assert (value >> 64) & 0xFFFF == 0x7000 | t3
    assert (value >> 48) & 0xFFFF == 0x8000  # a new timestamp: counter 0


def test_ids_have_the_recorded_shape_and_sort_in_creation_order() -> None:
    ids = [_ids.uuid7() for _ in range(5000)]  # many share a clock reading: the counter orders them
    assert all(_SHAPE.fullmatch(i) for i in ids)
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_a_clock_that_stands_still_still_gives_increasing_ids(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_ids, "_clock", lambda: 1_700_000_000_000_000_000)
    monkeypatch.setattr(_ids, "_last_stamp", 0)
    ids = [_ids.uuid7() for _ in range(0x4000 + 10)]  # past the 14-bit counter
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


@given(st.integers(0, 2**62))
def test_now_iso_is_utcnow_isoformat(ns: int) -> None:
    """The text of the naive UTC datetime at that instant, as ``isoformat()`` renders it."""
    clock = _ids._clock
    try:
        _ids._clock = lambda: ns
        text = _ids.now_iso()
        again = _ids.now_iso()  # the second's text, now cached
    finally:
        _ids._clock = clock
    moment = datetime(1970, 1, 1) + timedelta(microseconds=ns // 1000)
    assert text == again == moment.isoformat()


def test_now_iso_leaves_out_a_zero_fraction_as_isoformat_does() -> None:
    clock = _ids._clock
    try:
        _ids._clock = lambda: 1_700_000_000 * 10**9
        assert _ids.now_iso() == "2023-11-14T22:13:20"
    finally:
        _ids._clock = clock
