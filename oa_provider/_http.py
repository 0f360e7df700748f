"""HTTP error translation, in one place: status codes and aiohttp exceptions -> :mod:`_exceptions`.

Two dialects reach the client with error bodies: the web site answers ``{"message": text}``
(the key the original provider's step 9 looked for), the inference server FastAPI's
``{"detail": text | [{"msg": ...}]}``. Both become the exception's text, followed by what the
caller can do about it. :func:`map_exceptions` is the only place where aiohttp's exceptions are
caught and re-raised as ours, so callers need to know one tree.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import aiohttp

from ._exceptions import (
    AuthenticationError,
    ChatNotFoundError,
    InvalidRequestError,
    MessageTooLongError,
    OAError,
    RateLimitError,
    RequestTimeoutError,
    ResponseError,
    ServerBusyError,
    TransportError,
)

__all__ = [
    "BODY_EXCERPT_CHARS",
    "error_for_status",
    "map_exceptions",
    "parse_retry_after",
    "server_text",
]

#: How much of an error body an exception keeps (``ResponseError.body``).
BODY_EXCERPT_CHARS = 500

_STATUS_ERRORS: Mapping[int, tuple[type[ResponseError], str]] = {
    401: (
        AuthenticationError,
        "the session cookie is missing, expired or refused: "
        "log in to the site again and export fresh cookies",
    ),
    403: (
        AuthenticationError,
        "the session cookie is missing, expired or refused "
        "(or the account is banned): log in to the site again and export fresh cookies",
    ),
    404: (ChatNotFoundError, "the chat does not exist, or chat is switched off on the site"),
    413: (
        MessageTooLongError,
        "the prompt is over the server's length limit: shorten the messages",
    ),
    422: (
        InvalidRequestError,
        "the server rejected the request: check the model name and the sampling parameters",
    ),
    # The mock server's strict replay: no recording matches (the body names the nearest one).
    409: (
        ResponseError,
        "the request conflicts with what the server holds: a strict-replay mock server answers "
        "409 when no recording matches; record this conversation or change the request",
    ),
    429: (RateLimitError, "too many requests: wait before sending the next one"),
    503: (ServerBusyError, "the server's queue is full: try again later"),
}
#: The hints of statuses not listed above: a 4xx is the request's fault, a 5xx the server's.
_CLIENT_ERROR_HINT = "the server refused the request: check it against the API"
_SERVER_ERROR_HINT = "the server failed: retry later, or report it if it persists"
_USERINFO = re.compile(r"://[^/@\s]+@")


def server_text(body: str) -> str | None:
    """The human text of an error body (``message`` or ``detail``), or None if it has none."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    message = data.get("message")
    if isinstance(message, str) and message:
        return message
    detail = data.get("detail")
    if isinstance(detail, str) and detail:
        return detail
    if isinstance(detail, list):
        # FastAPI validation errors: one entry per bad field.
        parts = [
            f"{'.'.join(str(p) for p in item.get('loc', []))}: {item.get('msg')}"
            for item in detail
            if isinstance(item, dict)
        ]
        return "; ".join(parts) or None
    return None


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def error_for_status(
    status: int, body: str, *, step: str, retry_after: str | None = None
) -> ResponseError:
    """The exception for an error answer to ``step`` (e.g. ``"POST /api/chat"``).

    The server's own text (``message``/``detail``) leads the message; a hint on what to do follows.
    """
    cls, hint = _STATUS_ERRORS.get(
        status, (ResponseError, _SERVER_ERROR_HINT if status >= 500 else _CLIENT_ERROR_HINT)
    )
    excerpt = body[:BODY_EXCERPT_CHARS]
    said = server_text(body)
    text = f"{step} answered HTTP {status}" + (f": {said}" if said else "")
    # Retry-After is meaningful on 429 and 503 (RFC 9110 section 10.2.3); kept on any status.
    seconds = parse_retry_after(retry_after)
    if cls is RateLimitError and seconds is not None:
        hint = f"too many requests: retry after {seconds:g} s"
    return cls(f"{text} ({hint})", status=status, body=excerpt, retry_after=seconds)


def _describe(exc: BaseException) -> str:
    # A proxy URL may carry user:password; aiohttp's texts may quote it.
    return _USERINFO.sub("://***@", str(exc) or type(exc).__name__)


@contextmanager
def map_exceptions(step: str, *, timeout: float | None = None) -> Iterator[None]:
    """Re-raise aiohttp and timeout errors raised inside the block as :class:`TransportError`.

    Our own errors pass through unchanged.
    """
    try:
        yield
    except OAError:
        raise
    except (asyncio.TimeoutError, TimeoutError) as exc:  # distinct classes before 3.11
        limit = f" {timeout:g} s" if timeout is not None else " its time limit"
        raise RequestTimeoutError(
            f"{step} took longer than{limit}; raise timeout= or check the server"
        ) from exc
    except aiohttp.ClientError as exc:
        raise TransportError(
            f"{step} failed: {type(exc).__name__}: {_describe(exc)}; "
            "check the base URL, the proxy and the network"
        ) from exc
