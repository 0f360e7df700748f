"""The pacing clock (:class:`Wheel`): order, one timer per bucket, cancellation, isolation."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oa_mockserver._server.wheel import Wheel, resolution_for


class _CountingLoop:
    """Counts the loop's ``call_at`` calls (the timers the wheel makes)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.timers = 0
        self._call_at = loop.call_at

    def __enter__(self) -> _CountingLoop:
        def call_at(when: float, callback: Any, *args: Any) -> asyncio.TimerHandle:
            self.timers += 1
            return self._call_at(when, callback, *args)

        self.loop.call_at = call_at  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        del self.loop.call_at  # back to the class's method


async def _drain(wheel: Wheel) -> None:
    """Run the loop until the wheel has no entry left (bounded: a second at most)."""
    for _ in range(int(1 / wheel.resolution)):
        if not len(wheel):
            break
        await asyncio.sleep(wheel.resolution)
    await asyncio.sleep(0)
    assert not len(wheel), "the wheel did not run its entries"


@pytest.mark.asyncio
async def test_many_entries_due_in_one_bucket_share_one_timer_and_run_in_order() -> None:
    loop = asyncio.get_running_loop()
    wheel = Wheel(loop, 0.01)
    ran: list[int] = []
    when = loop.time() + 0.02
    with _CountingLoop(loop) as counting:
        for index in range(1000):
            wheel.call_at(when + (index % 3) * 0.001, ran.append, index)
    await _drain(wheel)
    assert counting.timers <= 2  # the three times fall in one bucket, or straddle two
    # one bucket: insertion order; two: the earlier bucket's entries first, each in order
    assert sorted(ran) == list(range(1000))
    assert ran == sorted(ran, key=lambda i: (_bucket(wheel, when + (i % 3) * 0.001), i))


def _bucket(wheel: Wheel, when: float) -> int:
    """The bucket number ``when`` falls in (as the wheel computes it)."""
    return math.ceil(when / wheel.resolution)


@pytest.mark.asyncio
async def test_entries_run_in_time_order_and_never_before_their_time() -> None:
    loop = asyncio.get_running_loop()
    wheel = Wheel(loop, 0.002)
    start = (math.ceil(loop.time() / 0.002) + 1) * 0.002  # a bucket boundary
    ran: list[tuple[float, float]] = []
    # each in a bucket of its own (the middle of one): within a bucket, insertion order rules
    for offset in (0.013, 0.003, 0.007, 0.001, 0.009, 0.005):

        def record(due: float) -> None:
            ran.append((due, loop.time()))

        wheel.call_at(start + offset, record, start + offset)
    await _drain(wheel)
    assert [due for due, _ in ran] == sorted(due for due, _ in ran)
    assert all(at >= due for due, at in ran)


@pytest.mark.asyncio
async def test_an_entry_added_to_the_running_bucket_runs_in_a_later_iteration() -> None:
    loop = asyncio.get_running_loop()
    wheel = Wheel(loop, 0.005)
    ran: list[str] = []
    when = loop.time()

    def first(_: object) -> None:
        ran.append("first")
        wheel.call_at(when, lambda _: ran.append("added"), None)  # its bucket is running

    wheel.call_at(when, first, None)
    wheel.call_at(when, lambda _: ran.append("second"), None)
    await _drain(wheel)
    assert ran == ["first", "second", "added"]


@pytest.mark.asyncio
async def test_a_cancelled_entry_does_not_run_and_a_stale_cancel_touches_nothing() -> None:
    loop = asyncio.get_running_loop()
    wheel = Wheel(loop, 0.005)
    ran: list[str] = []
    when = loop.time() + 0.01
    kept = wheel.schedule(when, ran.append, "kept")
    dropped = wheel.schedule(when, ran.append, "dropped")
    wheel.cancel(dropped, "dropped")
    await _drain(wheel)
    assert ran == ["kept"]
    # the same bucket number again: the old entry's index now holds another argument
    again = wheel.schedule(when, ran.append, "again")
    assert again == kept
    wheel.cancel(kept, "kept")  # ran already: nothing to cancel, "again" must stay
    await _drain(wheel)
    assert ran == ["kept", "again"]


@pytest.mark.asyncio
async def test_a_failing_callback_is_reported_and_the_others_still_run() -> None:
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _, context: reported.append(context))
    try:
        wheel = Wheel(loop, 0.005)
        ran: list[int] = []

        def fail(_: object) -> None:
            raise RuntimeError("a bug in one stream")

        when = loop.time()
        wheel.call_at(when, ran.append, 1)
        wheel.call_at(when, fail, None)
        wheel.call_at(when, ran.append, 2)
        await _drain(wheel)
    finally:
        loop.set_exception_handler(None)
    assert ran == [1, 2]
    assert [type(c["exception"]) for c in reported] == [RuntimeError]


def test_resolution_is_a_fraction_of_the_smallest_interval() -> None:
    assert resolution_for(0.2, 0.2) == 0.005
    assert resolution_for(0.008, 0.0) == 0.001
    assert resolution_for(0.0, 0.0) == 0.005
    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(ValueError, match="positive"):
            Wheel(loop, 0.0)
    finally:
        loop.close()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=12), min_size=1, max_size=40))
def test_any_schedule_runs_sorted_by_bucket_then_by_insertion(slots: list[int]) -> None:
    async def run() -> list[int]:
        loop = asyncio.get_running_loop()
        wheel = Wheel(loop, 0.001)
        base = (int(loop.time() / 0.001) + 2) * 0.001  # a bucket boundary ahead
        ran: list[int] = []
        for index, slot in enumerate(slots):
            # the middle of a bucket: no float rounding can move it to a neighbour
            wheel.call_at(base + (slot + 0.5) * 0.001, ran.append, index)
        await _drain(wheel)
        return ran

    ran = asyncio.run(run())
    assert ran == sorted(range(len(slots)), key=lambda i: (slots[i], i))


@settings(max_examples=60, deadline=None)
@given(
    st.floats(min_value=0.0, max_value=1e5),
    st.floats(min_value=0.0, max_value=0.99),
    st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=20),
)
def test_schedules_begun_in_one_bucket_share_every_bucket_from_its_edge(
    start: float, later: float, delays: list[float]
) -> None:
    loop = asyncio.new_event_loop()
    try:
        wheel = Wheel(loop, 0.005)
        first = _bucket(wheel, start) * 0.005 - 0.005 + 0.0001  # early in a bucket
        second = first + later * (0.005 - 0.0002)  # later in the same bucket
        origins = [wheel.edge(first), wheel.edge(second)]
        assert origins[0] == origins[1] >= second
        assert origins[0] - first < 0.005
        due = [[origin + sum(delays[: i + 1]) for i in range(len(delays))] for origin in origins]
        assert [_bucket(wheel, t) for t in due[0]] == [_bucket(wheel, t) for t in due[1]]
    finally:
        loop.close()
