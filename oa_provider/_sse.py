"""Sans-IO Server-Sent Events decoding: bytes -> lines -> :class:`ServerSentEvent`.

Theory of operation
-------------------
This module follows the WHATWG HTML standard's "event stream interpretation"
(https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation)
exactly, for any chunking of the input:

* Bytes are decoded with an *incremental* UTF-8 decoder in ``replace`` mode, so a
  code point split across two chunks decodes once, and invalid bytes become U+FFFD
  as the standard's "UTF-8 decode" requires.
* One U+FEFF at the very start of the stream is dropped; a BOM anywhere else is data.
* Lines end at CR, LF or CRLF and nowhere else (``str.splitlines`` would also split on
  U+2028, VT, FF, ... which the standard does not). A chunk that ends in CR may be the
  first half of a CRLF, so we remember it and drop an LF that opens the next chunk.
* An unterminated line is kept as a list of pieces and joined once, when it ends: a
  10 MB line fed one byte at a time costs linear time, not quadratic.
* ``max_event_size`` bounds what the decoder holds: a line, and an event's data lines
  together, may not exceed it (in characters). The check is incremental: a line that never
  ends is refused as soon as it crosses the limit, not after it has been buffered whole. The
  result does not depend on how the input is chunked: the same events come out first, then
  :class:`~oa_provider.LimitExceededError`.

Two layers, as in httpx-sse: ``_LineDecoder`` turns text into lines (CR/LF/CRLF, partial lines,
the line limit) and :class:`SSEDecoder` decodes bytes to text and interprets each line's field.
:class:`~oa_provider.ChatEventDecoder` decodes the common framing itself and hands the rest to
an :class:`SSEDecoder` through four internal methods (``_is_clean``, ``_mark_started``,
``_expect_lf``, ``_deferred_error``); it writes none of its fields.

Nothing here performs I/O or imports an event loop: callers feed bytes they read and
get events back, so the same decoder serves aiohttp, httpx, files and tests.
"""

from __future__ import annotations

import codecs
import sys

import msgspec

from ._exceptions import LimitExceededError

__all__ = ["DEFAULT_MAX_EVENT_SIZE", "SSEDecoder", "ServerSentEvent"]

#: The decoders' default ``max_event_size`` (the same as ``Limits().max_event_size``).
DEFAULT_MAX_EVENT_SIZE = 1024 * 1024
# "No limit" as a number, so the hot path compares once instead of testing for None.
_UNLIMITED = sys.maxsize


def _new_utf8_decoder() -> codecs.IncrementalDecoder:
    return codecs.getincrementaldecoder("utf-8")("replace")


class ServerSentEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One dispatched Server-Sent Event.

    Attributes:
        event: the event type; ``"message"`` when the stream named none.
        data: the ``data`` lines joined with ``"\\n"``.
        id: the last event id seen on the stream so far (``""`` if none): ids persist
            across events, as the standard's "last event ID" does.
        retry: the reconnection time in milliseconds given by a valid ``retry`` field
            of this event's block, or None.
    """

    event: str = "message"
    data: str = ""
    id: str = ""
    retry: int | None = None


class _LineDecoder:
    """Text -> lines, for any chunking (the standard's line rule; httpx-sse's SSELineDecoder).

    Lines end at CR, LF or CRLF only. A chunk that ends in CR may be the first half of a
    CRLF, so an LF that opens the next chunk is dropped. A line longer than ``max_size``
    characters is refused as soon as it crosses the limit, even before it ends: :meth:`decode`
    returns the lines before it and sets :attr:`overflowed`, and the caller stops there. There
    is no ``flush()``: at the end of a stream an unterminated line is discarded (WHATWG), which
    is :meth:`reset`.
    """

    __slots__ = ("_max", "_partial", "_partial_size", "_skip_lf", "overflowed")

    def __init__(self, max_size: int) -> None:
        self._max = max_size
        self.reset()

    def reset(self) -> None:
        """Forget the partial line, a pending CR and an overflow: ready for a new stream."""
        self._partial: list[str] = []
        self._partial_size = 0
        self._skip_lf = False
        #: True once a line longer than the limit was seen (nothing more is decoded).
        self.overflowed = False

    def is_empty(self) -> bool:
        """True at the start of a line with no CR pending: a chunk boundary changes nothing."""
        return not self._partial and not self._skip_lf

    def expect_lf(self) -> None:
        """The caller consumed a CR ending a line itself: an LF opening the next chunk is its."""
        self._skip_lf = True

    def decode(self, text: str) -> list[str]:
        """The lines ``text`` completes, without their line ends (often none)."""
        if not text:
            return []
        if self._skip_lf:
            self._skip_lf = False
            if text[0] == "\n":
                text = text[1:]
                if not text:
                    return []
        if "\r" in text:
            # A trailing CR ends a line now; an LF opening the next chunk belongs to it.
            self._skip_lf = text[-1] == "\r"
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if "\n" not in text:
            self._partial.append(text)
            self._partial_size += len(text)
            return self._overflow([]) if self._partial_size > self._max else []
        lines = text.split("\n")
        tail = lines.pop()
        if self._partial:
            self._partial.append(lines[0])
            lines[0] = "".join(self._partial)
            self._partial = []
            if len(lines[0]) > self._max:
                return self._overflow([])
        if len(text) > self._max:
            # Only a chunk longer than the limit can hold a whole line longer than it.
            for index, line in enumerate(lines):
                if len(line) > self._max:
                    return self._overflow(lines[:index])
        self._partial_size = len(tail)
        if tail:
            self._partial.append(tail)
            if self._partial_size > self._max:
                return self._overflow(lines)
        return lines

    def _overflow(self, lines: list[str]) -> list[str]:
        self._partial = []  # nothing more is decoded: drop what was buffered
        self.overflowed = True
        return lines


class SSEDecoder:
    """Incremental decoder of an ``text/event-stream`` body.

    Feed it the body's bytes as they arrive; it returns the events completed by
    each chunk. Malformed lines are ignored as the standard says; the only error is
    a line or event longer than ``max_event_size`` characters (None: no limit), which
    raises :class:`~oa_provider.LimitExceededError` (after returning the events the
    same chunk completed before it, from the next call).

    Example:
        >>> d = SSEDecoder()
        >>> d.feed(b"data: hel") + d.feed(b"lo\\r\\n\\r\\n")
        [ServerSentEvent(event='message', data='hello', id='', retry=None)]
    """

    __slots__ = (
        "_bom_checked",
        "_data",
        "_data_size",
        "_error",
        "_event",
        "_last_id",
        "_lines",
        "_max",
        "_retry",
        "_stream_retry",
        "_utf8",
    )

    def __init__(self, *, max_event_size: int | None = DEFAULT_MAX_EVENT_SIZE) -> None:
        if max_event_size is not None and (
            isinstance(max_event_size, bool)
            or not isinstance(max_event_size, int)
            or max_event_size < 1
        ):
            raise ValueError(f"max_event_size must be an int >= 1 or None, got {max_event_size!r}")
        self._max = _UNLIMITED if max_event_size is None else max_event_size
        self._utf8: codecs.IncrementalDecoder = _new_utf8_decoder()
        self._bom_checked = False
        self._lines = _LineDecoder(self._max)
        self._data: list[str] = []
        self._data_size = 0
        self._error: LimitExceededError | None = None
        self._event = ""
        self._last_id = ""
        self._retry: int | None = None
        self._stream_retry: int | None = None

    @property
    def last_event_id(self) -> str:
        """The last event id seen (``""`` if none): send it as ``Last-Event-ID`` on reconnect."""
        return self._last_id

    @property
    def retry(self) -> int | None:
        """The stream's reconnection time in milliseconds from the latest valid ``retry`` field."""
        return self._stream_retry

    def feed(self, data: bytes) -> list[ServerSentEvent]:
        """Decode the next chunk of the body.

        Args:
            data: any number of bytes, split anywhere (mid-line, mid-CRLF, mid-code-point).

        Returns:
            The events dispatched by this chunk, in order (often empty).

        Raises:
            LimitExceededError: a line or an event is longer than ``max_event_size``
                (raised again by every later call until :meth:`close`).
        """
        if self._error is not None:
            raise self._error
        return self._feed_text(self._utf8.decode(data))

    def close(self) -> list[ServerSentEvent]:
        """Signal the end of the stream.

        An event not yet terminated by a blank line is discarded, as the standard
        requires, so this returns an empty list; it exists so that callers need no
        special case. The decoder is then reset and can decode a new stream.

        Raises:
            LimitExceededError: the limit was exceeded (after the reset).
        """
        error = self._error
        self._utf8 = _new_utf8_decoder()
        self._bom_checked = False
        self._lines.reset()
        self._data = []
        self._data_size = 0
        self._error = None
        self._event = ""
        self._last_id = ""
        self._retry = None
        self._stream_retry = None
        if error is not None:
            raise error
        return []

    # -- the internal API of ChatEventDecoder, which decodes the common framing itself and
    # hands this decoder the rest; it touches no field of this class directly.

    def _is_clean(self) -> bool:
        """True between events: no partial line, buffers empty, no CR or bytes pending."""
        return (
            self._bom_checked
            and self._error is None
            and self._lines.is_empty()
            and not self._data
            and not self._event
            and self._retry is None
            and not self._utf8.getstate()[0]
        )

    def _mark_started(self) -> None:
        """Record that the stream's first character was already examined for a BOM."""
        self._bom_checked = True

    def _expect_lf(self) -> None:
        """Record that the caller already consumed a CR ending a line: an LF that opens the
        next chunk completes that CRLF and is dropped."""
        self._lines.expect_lf()

    def _deferred_error(self) -> LimitExceededError | None:
        """The limit error found after the events the last call returned, if any."""
        return self._error

    def _too_long(self, what: str) -> LimitExceededError:
        # Nothing more is decoded after this: drop what was buffered.
        self._lines.reset()
        self._data = []
        self._error = LimitExceededError(
            f"{what} of the event stream is longer than max_event_size={self._max} characters: "
            "the server sent an oversized event or a line that never ends; if the server is "
            "trusted, raise Limits(max_event_size=...)",
            limit="max_event_size",
            maximum=self._max,
        )
        return self._error

    def _feed_text(self, text: str) -> list[ServerSentEvent]:
        if not text:
            return []
        if not self._bom_checked:
            self._bom_checked = True
            if text[0] == "\ufeff":
                text = text[1:]
                if not text:
                    return []
        lines = self._lines.decode(text)
        events: list[ServerSentEvent] = []
        try:
            for line in lines:
                if not line:
                    self._dispatch(events)
                elif line[0] != ":":
                    self._field(line)
            if self._lines.overflowed:
                raise self._too_long("a line")
        except LimitExceededError:
            if events:
                return events  # the error is raised by the next call
            raise
        return events

    def _field(self, line: str) -> None:
        name, colon, value = line.partition(":")
        if colon and value[:1] == " ":
            value = value[1:]
        if name == "data":
            data = self._data
            data.append(value)
            if len(data) > 1:
                # One data line is bounded by the line rule; only several can add up past it.
                if len(data) == 2:
                    self._data_size = len(data[0])
                self._data_size += len(value)
                if self._data_size > self._max:
                    raise self._too_long("the data of an event")
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\x00" not in value:
                self._last_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self._retry = self._stream_retry = int(value)

    def _dispatch(self, events: list[ServerSentEvent]) -> None:
        retry, self._retry = self._retry, None
        if not self._data:
            self._event = ""
            return
        events.append(
            ServerSentEvent(
                event=self._event or "message",
                data="\n".join(self._data),
                id=self._last_id,
                retry=retry,
            )
        )
        self._data = []
        self._event = ""
