"""How much a server may send: :class:`Limits`, in the manner of httpx's ``Limits``/``Timeout``.

A testing tool meets broken and hostile servers on purpose. Without limits one endless SSE line
grows the client until ``MemoryError``, and an endless token stream or queue never ends. Each
limit below has a default far above what the real service sends, and crossing one raises
:class:`LimitExceededError` (after the chat is deleted), never a bare ``MemoryError``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_LIMITS", "Limits"]

_MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Upper bounds on what the server may send in one conversation; ``None`` lifts one.

    Pass one as ``limits=`` to :meth:`OpenAssistant.create_async_generator` or
    :meth:`OpenAssistant.create_event_stream`; change a field with ``dataclasses.replace``::

        Limits(max_pending_events=None)           # wait in the queue forever
        Limits(max_event_size=16 * 1024 * 1024)   # a model that writes 16 MB replies

    Attributes:
        max_event_size: characters of one line of the event stream, and of one event's data
            (one character is one byte for ASCII). The final ``message`` event carries the
            whole reply, so the reply's text is held to it too. Default 1 MiB: a real reply of
            the largest model is under 100 KB. The decoder stops buffering at the limit.
        max_response_size: bytes of one REST answer (after decompression), read incrementally
            and refused at the limit (a ``Content-Length`` above it is refused unread).
            Default 1 MiB.
        extra_tokens: token events accepted beyond the request's ``max_new_tokens`` (a server
            may not generate more than asked; the slack absorbs servers that count a stop
            token). Default 16.
        max_pending_events: ``pending`` events (queue position updates) accepted in one
            stream. The real server sends one a second while the request waits for a worker,
            so the default 1800 ends a wait after about 30 minutes.
    """

    max_event_size: int | None = _MIB
    max_response_size: int | None = _MIB
    extra_tokens: int | None = 16
    max_pending_events: int | None = 1800

    def __post_init__(self) -> None:
        for name, lowest in (
            ("max_event_size", 1),
            ("max_response_size", 1),
            ("extra_tokens", 0),
            ("max_pending_events", 0),
        ):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < lowest
            ):
                raise ValueError(f"Limits.{name} must be an int >= {lowest} or None, got {value!r}")


#: The limits a call uses when it is given none.
DEFAULT_LIMITS = Limits()
