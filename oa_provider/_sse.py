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

Nothing here performs I/O or imports an event loop: callers feed bytes they read and
get events back, so the same decoder serves aiohttp, httpx, files and tests.
"""

from __future__ import annotations

import codecs

import msgspec

__all__ = ["SSEDecoder", "ServerSentEvent"]


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


class SSEDecoder:
    """Incremental decoder of an ``text/event-stream`` body.

    Feed it the body's bytes as they arrive; it returns the events completed by
    each chunk. It never raises on any input: malformed lines are ignored as the
    standard says.

    Example:
        >>> d = SSEDecoder()
        >>> d.feed(b"data: hel") + d.feed(b"lo\\r\\n\\r\\n")
        [ServerSentEvent(event='message', data='hello', id='', retry=None)]
    """

    __slots__ = (
        "_bom_checked",
        "_data",
        "_event",
        "_last_id",
        "_partial",
        "_retry",
        "_skip_lf",
        "_stream_retry",
        "_utf8",
    )

    def __init__(self) -> None:
        self._utf8: codecs.IncrementalDecoder = _new_utf8_decoder()
        self._bom_checked = False
        self._skip_lf = False
        self._partial: list[str] = []
        self._data: list[str] = []
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
        """
        return self._feed_text(self._utf8.decode(data))

    def close(self) -> list[ServerSentEvent]:
        """Signal the end of the stream.

        An event not yet terminated by a blank line is discarded, as the standard
        requires, so this returns an empty list; it exists so that callers need no
        special case. The decoder is then reset and can decode a new stream.
        """
        self._utf8 = _new_utf8_decoder()
        self._bom_checked = False
        self._skip_lf = False
        self._partial = []
        self._data = []
        self._event = ""
        self._last_id = ""
        self._retry = None
        self._stream_retry = None
        return []

    # -- internals shared with ChatEventDecoder (same package) --------------------

    def _is_clean(self) -> bool:
        """True between events: no partial line, buffers empty, no CR or bytes pending."""
        return (
            self._bom_checked
            and not self._partial
            and not self._data
            and not self._event
            and not self._skip_lf
            and self._retry is None
            and not self._utf8.getstate()[0]
        )

    def _mark_started(self) -> None:
        """Record that the stream's first character was already examined for a BOM."""
        self._bom_checked = True

    def _feed_text(self, text: str) -> list[ServerSentEvent]:
        if not text:
            return []
        if not self._bom_checked:
            self._bom_checked = True
            if text[0] == "\ufeff":
                text = text[1:]
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
            return []
        lines = text.split("\n")
        tail = lines.pop()
        if self._partial:
            self._partial.append(lines[0])
            lines[0] = "".join(self._partial)
            self._partial = []
        if tail:
            self._partial.append(tail)
        events: list[ServerSentEvent] = []
        for line in lines:
            if not line:
                self._dispatch(events)
            elif line[0] != ":":
                self._field(line)
        return events

    def _field(self, line: str) -> None:
        name, colon, value = line.partition(":")
        if colon and value[:1] == " ":
            value = value[1:]
        if name == "data":
            self._data.append(value)
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
