"""A record of every request the server received, rejected and unmatched ones included.

Secrets never enter it: the values of ``Cookie``, ``Authorization``, ``Set-Cookie`` and
``Refresh`` headers are replaced by ``<redacted>`` before a :class:`Call` is built.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["REDACTED", "SECRET_HEADERS", "Call", "Journal", "redact_headers"]

REDACTED = "<redacted>"
#: Header names (lower case) whose values are secrets.
SECRET_HEADERS = frozenset(
    {"cookie", "authorization", "set-cookie", "refresh", "proxy-authorization"}
)


def redact_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Headers as a dict with secret values replaced (repeated names joined with ``, ``)."""
    result: dict[str, str] = {}
    for name, value in headers:
        shown = REDACTED if name.lower() in SECRET_HEADERS else value
        result[name] = f"{result[name]}, {shown}" if name in result else shown
    return result


def _parse_json(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


@dataclass(frozen=True)
class Call:
    """One request and the status it got.

    Attributes:
        method, path: the request line (path without the query).
        query: query parameters (the last value of a repeated name).
        headers: request headers, secrets redacted.
        body: the raw request body.
        json: the body parsed as JSON, or None.
        status: the response status (200 for a stream that started).
        matched: False when no route matched the request.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    json: Any
    status: int
    matched: bool = True

    @classmethod
    def build(
        cls,
        *,
        method: str,
        path: str,
        query: Mapping[str, str],
        headers: Iterable[tuple[str, str]],
        body: bytes,
        status: int,
        matched: bool = True,
    ) -> Call:
        """A call with redacted headers and the body parsed when it is JSON."""
        return cls(
            method=method,
            path=path,
            query=dict(query),
            headers=redact_headers(headers),
            body=body,
            json=_parse_json(body),
            status=status,
            matched=matched,
        )

    def __repr__(self) -> str:
        return f"<Call {self.method} {self.path} -> {self.status}>"


@dataclass
class Journal:
    """The calls received so far, oldest first."""

    calls: list[Call] = field(default_factory=list)

    def record(self, call: Call) -> None:
        """Append one call."""
        self.calls.append(call)

    def clear(self) -> None:
        """Forget every call."""
        self.calls.clear()

    @property
    def call_count(self) -> int:
        """How many calls were recorded."""
        return len(self.calls)

    @property
    def last(self) -> Call | None:
        """The most recent call, or None."""
        return self.calls[-1] if self.calls else None

    def __len__(self) -> int:
        return len(self.calls)
