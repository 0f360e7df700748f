"""The one exception tree of :mod:`oa_provider`.

Every error a caller can meet derives from :class:`OAError`, which is a
:class:`RuntimeError` because the original provider raised ``RuntimeError`` and
callers written against it keep working::

    OAError (RuntimeError)
    ├── ProtocolError             the server sent bytes or JSON we cannot interpret
    │   └── LimitExceededError    the server sent more than :class:`Limits` allow (``limit``)
    ├── MissingCredentialsError   no session cookie was given or found (nothing was sent)
    ├── TransportError            the connection failed (wraps aiohttp's ClientError)
    │   └── RequestTimeoutError   one HTTP call took longer than ``timeout`` (also TimeoutError)
    ├── ResponseError             the server answered with an error status
    │   ├── AuthenticationError   401 / 403
    │   ├── ChatNotFoundError     404
    │   ├── MessageTooLongError   413
    │   ├── InvalidRequestError   422 (an unknown model config included)
    │   ├── RateLimitError        429
    │   └── ServerBusyError       503
    ├── GenerationError           the stream carried an ``error`` event (``partial_text``)
    ├── IncompleteStreamError     the stream ended without the final ``message`` event
    └── StreamTimeoutError        no event within ``stream_idle_timeout`` (also TimeoutError)

Every error of the event stream carries ``partial_text``: the reply received before it.
Context rides on attributes (``status``, ``body``, ``partial_text``, ...), never in
a secret-bearing string: messages never quote cookies or tokens.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "ChatNotFoundError",
    "GenerationError",
    "IncompleteStreamError",
    "InvalidRequestError",
    "LimitExceededError",
    "MessageTooLongError",
    "MissingCredentialsError",
    "OAError",
    "ProtocolError",
    "RateLimitError",
    "RequestTimeoutError",
    "ResponseError",
    "ServerBusyError",
    "StreamTimeoutError",
    "TransportError",
]


class OAError(RuntimeError):
    """Base class of every error raised by :mod:`oa_provider`."""


class ProtocolError(OAError):
    """The server sent an event stream or JSON body that breaks the protocol.

    Attributes:
        partial_text: the token texts received before the bad event, joined (``""`` when the
            error is not in the event stream).
    """

    def __init__(self, message: str, *, partial_text: str = "") -> None:
        super().__init__(message)
        self.partial_text = partial_text


class LimitExceededError(ProtocolError):
    """The server sent more than one of the client's :class:`Limits` allows.

    A hostile or broken server cannot make the client buffer without bound: the read stops at
    the limit, the chat is still deleted, and this is raised.

    Attributes:
        limit: the name of the :class:`Limits` field that was exceeded (``"max_event_size"``...).
        maximum: that field's value.
        partial_text: the token texts received before the limit was hit, joined.
    """

    def __init__(self, message: str, *, limit: str, maximum: int, partial_text: str = "") -> None:
        super().__init__(message, partial_text=partial_text)
        self.limit = limit
        self.maximum = maximum


class MissingCredentialsError(OAError):
    """No session cookie was given or found in any of the places searched."""


class TransportError(OAError):
    """The HTTP connection failed before an answer arrived."""


class RequestTimeoutError(TransportError, TimeoutError):
    """One HTTP call took longer than its ``timeout``."""


class ResponseError(OAError):
    """The server answered with an error status.

    Attributes:
        status: the HTTP status code.
        body: the first 500 characters of the response body.
        retry_after: seconds the server asked to wait (its ``Retry-After`` header), or None.
    """

    def __init__(
        self, message: str, *, status: int, body: str = "", retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = body
        self.retry_after = retry_after


class AuthenticationError(ResponseError):
    """401 or 403: the session cookie is missing, expired, or the user is banned."""


class ChatNotFoundError(ResponseError):
    """404: the chat (or chat itself, on the web site) does not exist."""


class MessageTooLongError(ResponseError):
    """413: the prompt is over the server's length limit."""


class InvalidRequestError(ResponseError):
    """422: the server rejected the request body (an unknown model config included)."""


class RateLimitError(ResponseError):
    """429: too many requests; ``retry_after`` is the server's hint in seconds, or None."""


class ServerBusyError(ResponseError):
    """503: the server's queue is full; try again later."""


class GenerationError(OAError):
    """The event stream carried an ``error`` event.

    Attributes:
        partial_text: the token texts received before the error, joined.
    """

    def __init__(self, message: str, *, partial_text: str = "") -> None:
        super().__init__(message)
        self.partial_text = partial_text


class IncompleteStreamError(OAError):
    """The event stream ended before its final ``message`` event.

    Attributes:
        partial_text: the token texts received before the stream ended, joined.
    """

    def __init__(self, message: str, *, partial_text: str = "") -> None:
        super().__init__(message)
        self.partial_text = partial_text


class StreamTimeoutError(OAError, TimeoutError):
    """No event arrived within ``stream_idle_timeout`` seconds.

    Attributes:
        partial_text: the token texts received before the stall, joined.
    """

    def __init__(self, message: str, *, partial_text: str = "") -> None:
        super().__init__(message)
        self.partial_text = partial_text
