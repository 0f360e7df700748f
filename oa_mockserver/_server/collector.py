"""The garbage collector of a server process: what the CLI's servers set before they serve.

Why: a load test holds thousands of streams open for seconds each. With CPython's default
thresholds (700, 10, 10) the collector walks every open connection's objects in each older
collection and frees almost nothing there: 12-19% of the server's CPU at 2,000 paced
conversations, and each full collection (~50 ms at that size) is a pause every open stream feels
between two tokens. Younger collections still run as often as before (they find the short-lived
cycles); the older ones run ten times less often. Only for processes the CLI owns: an embedded
server (``MockServer``, the pytest fixtures) runs in its user's process, whose collector is its own.
"""

from __future__ import annotations

import gc

__all__ = ["SERVER_THRESHOLDS", "settle_collector"]

#: ``gc.set_threshold`` of a serving process: CPython 3.13's first threshold, older
#: generations collected 10x less often than by default.
SERVER_THRESHOLDS = (2000, 100, 100)


def settle_collector() -> None:
    """Collect once, freeze what exists (it lives as long as the server: the collector need not
    walk it again) and set :data:`SERVER_THRESHOLDS`. Call after the app is built."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*SERVER_THRESHOLDS)
