"""The answers the server sent while a dashboard watched: the last few, for the page to show.

The journal keeps requests, not answers: keeping every answer would cost every request its
bytes for the server's life. While a page watches, the guard notes each answer here (a few
hundred at most, each body cut to :data:`BODY_KEPT` bytes) under the sequence id its request
gets in the journal; when no page is open nothing is kept. Bodies are redacted when read, with
the journal's rules (an answer can carry a token: ``/auth/callback/debug``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from ..recording._redact import Redactor

__all__ = ["BODY_KEPT", "KEPT", "AnswerLog"]

#: Answers kept (the oldest are forgotten first).
KEPT = 300
#: Bytes of an answer's body kept.
BODY_KEPT = 64 * 1024
_REDACTOR = Redactor.default()


@dataclass
class AnswerLog:
    """The latest answers by journal sequence id (thread-safe, bounded)."""

    kept: int = KEPT
    _items: OrderedDict[int, tuple[int, str | None, bytes, int]] = field(
        default_factory=OrderedDict
    )
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def keep(self, seq: int, status: int, content_type: str | None, body: bytes) -> None:
        """Note the answer to request ``seq`` (its body cut to :data:`BODY_KEPT` bytes)."""
        with self._lock:
            self._items[seq] = (status, content_type, body[:BODY_KEPT], len(body))
            while len(self._items) > self.kept:
                self._items.popitem(last=False)

    def read(self, seq: int) -> dict[str, Any] | None:
        """The answer to request ``seq``, secrets redacted, or None (not kept)."""
        with self._lock:
            item = self._items.get(seq)
        if item is None:
            return None
        status, content_type, body, size = item
        shown = _REDACTOR.body(body, content_type) if body else body
        return {
            "status": status,
            "content_type": content_type,
            "body": shown.decode("utf-8", "replace"),
            "body_size": size,
            "body_truncated": size > len(body),
        }
