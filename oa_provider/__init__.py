"""oa_provider: a streaming client of the OpenAssistant chat API, on a sans-IO SSE parser."""

from __future__ import annotations

from ._exceptions import (
    AuthenticationError,
    ChatNotFoundError,
    GenerationError,
    IncompleteStreamError,
    InvalidRequestError,
    MessageTooLongError,
    MissingCredentialsError,
    OAError,
    ProtocolError,
    RateLimitError,
    RequestTimeoutError,
    ResponseError,
    ServerBusyError,
    StreamTimeoutError,
    TransportError,
)

__all__ = [
    "AuthenticationError",
    "ChatNotFoundError",
    "GenerationError",
    "IncompleteStreamError",
    "InvalidRequestError",
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
