"""When to send each recorded chunk on replay: exact, scaled, instant (pure); the replay settings.

Offsets are seconds after the response headers. A :class:`Timing` turns the recorded offsets into
the delays to wait before each chunk; the replayers (vcrpy in-process, the mock server) sleep them.
:class:`ReplaySettings` bundles a timing with the rest of how the mock server replays (re-cutting
seed, strictness, match rules); it lives here, not in the replay module, so that the server's
configuration can build it without depending on replay itself.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from .._exceptions import ConfigError
from ._match import MatchRules

__all__ = ["REPLAY_TIMINGS", "ReplaySettings", "Timing", "parse_timing"]

#: Values of ``ServerConfig.replay_timing`` (``oa-mockserver serve --replay-timing``).
REPLAY_TIMINGS = ("exact", "instant", "rechunk")


@dataclass(frozen=True, slots=True)
class Timing:
    """``speed`` 1.0 is the recorded pace, 2.0 twice as fast; ``math.inf`` is instant."""

    speed: float = math.inf

    def __post_init__(self) -> None:
        if not self.speed > 0 or math.isnan(self.speed):
            raise ConfigError(f"replay speed must be > 0 (inf for instant), not {self.speed}")

    @classmethod
    def exact(cls) -> Timing:
        """The recorded pace."""
        return cls(1.0)

    @classmethod
    def instant(cls) -> Timing:
        """No waiting at all."""
        return cls(math.inf)

    @property
    def is_instant(self) -> bool:
        """True when no chunk waits."""
        return math.isinf(self.speed)

    def offsets(self, recorded: Sequence[float]) -> list[float]:
        """The scaled offsets (seconds after the headers) to send each chunk at."""
        if self.is_instant:
            return [0.0] * len(recorded)
        return [max(0.0, t) / self.speed for t in recorded]

    def delays(self, recorded: Sequence[float]) -> list[float]:
        """The wait before each chunk, measured from the previous one (never negative)."""
        result: list[float] = []
        previous = 0.0
        for offset in self.offsets(recorded):
            result.append(max(0.0, offset - previous))
            previous = max(previous, offset)
        return result


def parse_timing(text: str) -> Timing:
    """``exact``, ``instant``, or a speed factor such as ``2`` or ``0.5`` (for a CLI option).

    Raises:
        ConfigError: anything else.
    """
    value = text.strip().lower()
    if value == "exact":
        return Timing.exact()
    if value == "instant":
        return Timing.instant()
    try:
        speed = float(value)
    except ValueError:
        raise ConfigError(
            f"timing {text!r} is not 'exact', 'instant' or a speed factor such as 2"
        ) from None
    return Timing(speed)


@dataclass(frozen=True, slots=True)
class ReplaySettings:
    """How replies are replayed: pace, optional re-cutting seed, strictness, match rules."""

    timing: Timing = field(default_factory=Timing.instant)
    rechunk_seed: int | None = None
    strict: bool = False
    rules: MatchRules = field(default_factory=MatchRules)
