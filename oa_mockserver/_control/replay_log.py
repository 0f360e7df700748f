"""What the cassettes said to each assistant message: a hit, a miss, or a strict miss and why.

The journal keeps requests, not what the replay decided, so the dashboard could not tell a
replayed reply from a generated one. The server notes each decision here, keyed by the journal
sequence id the request is about to get; only servers with cassettes write to it, and it keeps
the latest :data:`KEPT` decisions.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

__all__ = ["KEPT", "ReplayLog", "ReplayOutcome"]

#: Decisions kept (the oldest are forgotten first).
KEPT = 1000


@dataclass(frozen=True)
class ReplayOutcome:
    """One decision: ``hit``, ``miss`` (generated instead) or ``strict-miss`` (answered 409).

    For a strict miss, ``nearest`` is the nearest recording (``file:line``) and
    ``differences`` the fields that differ, each ``{"field", "recorded", "actual"}``.
    """

    outcome: str
    nearest: str | None = None
    differences: tuple[dict[str, Any], ...] = ()

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {
            "outcome": self.outcome,
            "nearest": self.nearest,
            "differences": list(self.differences),
        }


@dataclass
class ReplayLog:
    """The latest replay decisions by journal sequence id (thread-safe, bounded)."""

    kept: int = KEPT
    _items: OrderedDict[int, ReplayOutcome] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, seq: int, outcome: ReplayOutcome) -> None:
        """Keep ``outcome`` for the request with sequence id ``seq``."""
        with self._lock:
            self._items[seq] = outcome
            while len(self._items) > self.kept:
                self._items.popitem(last=False)

    def get(self, seq: int) -> ReplayOutcome | None:
        """The decision for request ``seq``, or None (no cassette consulted, or forgotten)."""
        with self._lock:
            return self._items.get(seq)

    def misses(self) -> list[tuple[int, ReplayOutcome]]:
        """The strict misses kept, oldest first, with their sequence ids."""
        with self._lock:
            return [(s, o) for s, o in self._items.items() if o.outcome == "strict-miss"]
