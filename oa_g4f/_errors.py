"""oa_provider's exception tree -> gpt4free's error classes.

gpt4free's callers (its ``RetryProvider``, its API server, user code) branch on its own classes:
``MissingAuthError`` means "give me credentials", ``RateLimitError`` "slow down", and so on. So
the provider raises those, each ``from`` the ``oa_provider`` error it stands for: the typed
original, with its ``status``, ``retry_after`` or ``partial_text``, stays reachable as
``__cause__``.
"""

from __future__ import annotations

from typing import Any

import g4f.errors as g4f_errors

import oa_provider as oa

__all__ = ["ERROR_MAP", "to_g4f_error"]

#: Our class -> gpt4free's, most specific first (the first ``isinstance`` match wins).
ERROR_MAP: tuple[tuple[type[oa.OAError], Any], ...] = (
    (oa.MissingCredentialsError, g4f_errors.MissingAuthError),
    (oa.AuthenticationError, g4f_errors.MissingAuthError),  # 401, 403
    (oa.RateLimitError, g4f_errors.RateLimitError),  # 429
    (oa.MessageTooLongError, g4f_errors.BadRequestError),  # 413
    (oa.InvalidRequestError, g4f_errors.BadRequestError),  # 422 (an unknown model too)
    (oa.ServerBusyError, g4f_errors.ResponseStatusError),  # 503
    (oa.ChatNotFoundError, g4f_errors.ResponseStatusError),  # 404
    (oa.ResponseError, g4f_errors.ResponseStatusError),  # any other error status
    (oa.RequestTimeoutError, g4f_errors.TimeoutError),  # one HTTP call too slow
    (oa.StreamTimeoutError, g4f_errors.TimeoutError),  # the stream stalled
    (oa.TransportError, g4f_errors.ProviderException),  # no answer: connection failed
    (oa.GenerationError, g4f_errors.ResponseError),  # an ``error`` event in the stream
    (oa.IncompleteStreamError, g4f_errors.ResponseError),  # the stream ended early
    (oa.ProtocolError, g4f_errors.ResponseError),  # unreadable answer; Limits exceeded
    (oa.OAError, g4f_errors.ProviderException),
)

_COOKIE_HINT = (
    "; with gpt4free, pass cookies= (a dict, a 'name=value; ...' Cookie header or a cookies.txt "
    "path), api_key= (the session token), or g4f.cookies.set_cookies(host, {...})"
)


def to_g4f_error(error: oa.OAError) -> Exception:
    """The gpt4free error standing for ``error`` (per :data:`ERROR_MAP`), not yet raised.

    Its message is ``"OpenAssistant: "`` and ours (which never quotes a cookie or token);
    raise it ``from error`` to keep the original chained.
    """
    message = f"OpenAssistant: {error}"
    if isinstance(error, oa.MissingCredentialsError):
        message += _COOKIE_HINT
    if isinstance(error, oa.ResponseError) and error.status == 200:
        # The web site reports some failures as 200 {"message": ...}: not a status error.
        return g4f_errors.ResponseError(message)  # type: ignore[no-any-return]
    for ours, theirs in ERROR_MAP:
        if isinstance(error, ours):
            return theirs(message)  # type: ignore[no-any-return]
    raise AssertionError("unreachable: OAError is the last row of ERROR_MAP")
