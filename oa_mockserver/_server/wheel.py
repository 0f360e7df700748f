"""The pacing clock: one timer per time bucket for everything a server paces.

A paced server knows when each of its streams is due next (the next token, ping or ``pending``
event), so it need not keep one timer and one sleeping task per stream. :class:`Wheel` rounds each
due time up to its bucket (``resolution`` seconds wide) and keeps one ``loop.call_at`` per bucket
that has something in it; when the bucket's time comes, one callback runs every entry of the
bucket in the order they were added. A token's entry is never cancelled (its callback checks
whether the generation still runs: cheaper than finding it in a bucket); a stream's far-off
entries (its next ping) are, with :meth:`Wheel.cancel`, so that an ended stream is not kept alive
until then.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Any

__all__ = ["DEFAULT_RESOLUTION", "Entry", "Wheel", "resolution_for"]

#: A cancellable entry: (bucket number, index in the bucket).
Entry = tuple[int, int]


def _skip(arg: object) -> None:
    """What a cancelled entry runs."""


#: The width of a bucket at the reference's pace (0.2 s a token): 1/40 of the interval, well
#: inside the 1.25x of the interval a gap may take, and ~200 streams a tick at 4,000 streams.
DEFAULT_RESOLUTION = 0.005


def resolution_for(*intervals: float) -> float:
    """A bucket width for these intervals (0s ignored): at most 1/8 of the smallest, <= 5 ms."""
    positive = [interval for interval in intervals if interval > 0]
    if not positive:
        return DEFAULT_RESOLUTION
    return min(DEFAULT_RESOLUTION, min(positive) / 8)


class Wheel:
    """Calls ``callback(arg)`` at (or up to one ``resolution`` after) a loop time.

    Args:
        loop: the loop whose clock and timers are used.
        resolution: the width of a bucket, in seconds (> 0).
    """

    __slots__ = ("_buckets", "_resolution", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop, resolution: float = DEFAULT_RESOLUTION):
        if not resolution > 0 or math.isinf(resolution):
            raise ValueError(f"a wheel's resolution must be a positive number, not {resolution}")
        self.loop = loop
        self._resolution = resolution
        # bucket number -> [callback, arg, callback, arg, ...]: flat, no tuple per entry
        self._buckets: dict[int, list[Any]] = {}

    @property
    def resolution(self) -> float:
        """The width of a bucket, in seconds."""
        return self._resolution

    def __len__(self) -> int:
        """Entries waiting (stale ones included)."""
        return sum(len(bucket) for bucket in self._buckets.values()) // 2

    def edge(self, when: float) -> float:
        """The end of the bucket holding ``when``: schedules that start there share buckets.

        Two schedules of the same offsets from times in one bucket may straddle two buckets at
        every step (two ticks where one would do); from the bucket's edge they fall together.
        """
        return math.ceil(when / self._resolution) * self._resolution

    def call_at(self, when: float, callback: Callable[[Any], object], arg: Any) -> None:
        """Run ``callback(arg)`` in the tick of the bucket holding ``when`` (never before it).

        Entries of one bucket run in the order they were added; a time already past runs in the
        next iteration of the loop.
        """
        key = math.ceil(when / self._resolution)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = []
            self.loop.call_at(key * self._resolution, self._tick, key)
        bucket.append(callback)
        bucket.append(arg)

    def schedule(self, when: float, callback: Callable[[Any], object], arg: Any) -> Entry:
        """:meth:`call_at`, and the entry to :meth:`cancel` it with."""
        self.call_at(when, callback, arg)
        key = math.ceil(when / self._resolution)
        return key, len(self._buckets[key]) - 2

    def cancel(self, entry: Entry, arg: Any) -> None:
        """Drop the entry :meth:`schedule` gave for ``arg`` (nothing if it ran already)."""
        key, index = entry
        bucket = self._buckets.get(key)
        # ``is arg``: the bucket may have run and a new one of that number begun
        if bucket is not None and index + 1 < len(bucket) and bucket[index + 1] is arg:
            bucket[index] = _skip
            bucket[index + 1] = None

    def _tick(self, key: int) -> None:
        # Popped first: an entry added for this bucket while it runs gets a new bucket (and
        # timer) of the same number, run in the next iteration, never lost nor run twice.
        bucket = self._buckets.pop(key)
        entries = iter(bucket)
        for callback, arg in zip(entries, entries, strict=True):
            try:
                callback(arg)
            except Exception as exc:  # noqa: BLE001 - one stream's bug must not stop the others
                self.loop.call_exception_handler(
                    {"message": "a paced callback failed", "exception": exc, "callback": callback}
                )
