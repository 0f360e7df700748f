"""The garbage collector of a server process: what the CLI's servers set before they serve.

Why: a load test holds thousands of streams open for seconds each. With CPython's default
thresholds (700, 10, 10) every middle and full collection walks every open connection's objects
and frees almost nothing: 18% of the server's CPU over 8,200 paced conversations at C = 2,000, and
a full collection (~50 ms at that size) is a pause every open stream feels between two tokens.
With (2000, 50, 10): 8%. The young generation is collected a third as often (CPython 3.13's
default), the middle one after 50 of those instead of 10; what is left for a full collection
(closed connections' transports: asyncio keeps them in reference cycles) waits at most ~1M
allocations, some 7,500 conversations and ~9 MB. Only for processes the CLI owns: an embedded
server (``MockServer``, the pytest fixtures) runs in its user's process, whose collector is its own.
"""

from __future__ import annotations

import gc

__all__ = ["SERVER_THRESHOLDS", "settle_collector"]

#: ``gc.set_threshold`` of a serving process (see the module's docstring).
SERVER_THRESHOLDS = (2000, 50, 10)


def settle_collector() -> None:
    """Collect once, freeze what exists (it lives as long as the server: the collector need not
    walk it again) and set :data:`SERVER_THRESHOLDS`. Call after the app is built."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*SERVER_THRESHOLDS)
