"""Typed chat events of the OpenAssistant event stream, and the bytes -> events fast path.

Theory of operation
-------------------
The inference server sends one JSON object per SSE event, told apart by
``event_type`` (protocol.md section 5). We decode them with a msgspec ``Decoder`` of a
tagged union of frozen Structs: one C call validates the JSON and builds the typed
event, several times faster than ``json.loads`` followed by dict lookups. msgspec
rejects an unknown tag, so only then do we decode a second time, generically, to
return an :class:`UnknownEvent` or name what was wrong in a :class:`ProtocolError`.

:class:`ChatEventDecoder` is what a client uses. Its results are *defined* as
``parse_event`` applied to every event of :class:`SSEDecoder` on the same bytes; the
fast path only changes how fast we get there. Between events (when the general
decoder holds no state) it looks at whole buffers of the real server's shape,
``data: <json>\\r\\n\\r\\n`` blocks and ``: ping`` comments, proves with a few
``bytes.count`` calls that every block is a single line of that shape, slices out the
payloads with one ``split`` and decodes each with msgspec. Whenever a proof fails or
a payload does not decode, that region goes through the general path instead, so
results are identical for every input (a hypothesis test compares both paths).

``max_event_size`` is the general decoder's to enforce (in characters). The fast path only
makes sure it never holds more than that many bytes itself: a fragment of a line that grows
past it, or a region with a block longer than it, is handed to the general decoder, which
decides exactly (a byte count is never smaller than the character count it decodes to).
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeAlias

import msgspec

from ._exceptions import LimitExceededError, ProtocolError
from ._sse import _UNLIMITED, DEFAULT_MAX_EVENT_SIZE, ServerSentEvent, SSEDecoder

__all__ = [
    "ChatEvent",
    "ChatEventDecoder",
    "ErrorEvent",
    "Message",
    "MessageEvent",
    "PendingEvent",
    "PluginIntermediateEvent",
    "SafePromptEvent",
    "TokenEvent",
    "UnknownEvent",
    "parse_event",
]

_QUOTE_LIMIT = 200


class Message(msgspec.Struct, frozen=True):
    """A chat message as the server reads it back (MessageRead, protocol.md section 4).

    ``content`` is None for an assistant message still being generated;
    ``work_parameters`` is None for prompter messages.
    """

    id: str
    parent_id: str | None
    content: str | None
    chat_id: str
    created_at: str
    role: str
    state: str
    score: int = 0
    reports: list[Any] = msgspec.field(default_factory=list)
    work_parameters: dict[str, Any] | None = None
    safe_content: str | None = None
    safety_level: int | None = None
    safety_label: str | None = None
    safety_rots: str | None = None
    used_plugin: dict[str, Any] | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        """Build a Message from a decoded MessageRead JSON object.

        Raises:
            ProtocolError: a required field is missing or has the wrong type.
        """
        try:
            return msgspec.convert(data, cls)
        except msgspec.ValidationError as exc:
            raise ProtocolError(
                f"malformed message object: {exc}; the server's MessageRead does not match "
                f"protocol.md section 4: {_quote(repr(data))}"
            ) from None


class _KnownEventBase(msgspec.Struct, frozen=True, tag_field="event_type"):
    """What the six known events share: immutable, told apart by ``event_type``, their tag."""

    #: The event's ``event_type`` (its msgspec tag), on the class and on every instance.
    event_type: ClassVar[str]


class TokenEvent(_KnownEventBase, frozen=True, tag="token"):
    """The next piece of the reply."""

    text: str


class PendingEvent(_KnownEventBase, frozen=True, tag="pending"):
    """The request waits for a worker; sent repeatedly until generation starts."""

    queue_position: int
    queue_size: int


class MessageEvent(_KnownEventBase, frozen=True, tag="message"):
    """The end of the reply: the finished message. The stream closes after it."""

    message: Message


class ErrorEvent(_KnownEventBase, frozen=True, tag="error"):
    """Generation failed; the stream closes after it."""

    error: str
    message: Message | None = None


class SafePromptEvent(_KnownEventBase, frozen=True, tag="safe_prompt"):
    """The safety model rewrote the prompt."""

    safe_prompt: str
    message: Message | None = None


class PluginIntermediateEvent(_KnownEventBase, frozen=True, tag="plugin_intermediate"):
    """One plugin step, sent before the tokens."""

    current_plugin_thought: str
    current_plugin_action_taken: str
    current_plugin_action_input: str
    current_plugin_action_response: str
    message: Message | None = None


class UnknownEvent(msgspec.Struct, frozen=True):
    """An event whose ``event_type`` this version does not know; ``payload`` is the whole object."""

    event_type: str
    payload: dict[str, Any]


_KnownEvent: TypeAlias = (
    TokenEvent
    | PendingEvent
    | MessageEvent
    | ErrorEvent
    | SafePromptEvent
    | PluginIntermediateEvent
)
ChatEvent: TypeAlias = _KnownEvent | UnknownEvent
"""Any event :func:`parse_event` returns: one of the six known types, or :class:`UnknownEvent`."""
_KNOWN_CLASSES: tuple[type[_KnownEventBase], ...] = (
    TokenEvent,
    PendingEvent,
    MessageEvent,
    ErrorEvent,
    SafePromptEvent,
    PluginIntermediateEvent,
)
for _known in _KNOWN_CLASSES:  # the tag, written once in each class statement
    _known.event_type = str(_known.__struct_config__.tag)
_KNOWN_TYPES = frozenset(known.event_type for known in _KNOWN_CLASSES)
_TYPED_DECODER: msgspec.json.Decoder[_KnownEvent] = msgspec.json.Decoder(_KnownEvent)
_typed_decode = _TYPED_DECODER.decode
_any_decode = msgspec.json.Decoder().decode
# What msgspec raises for bytes that are not JSON of the expected shape; UnicodeError for
# invalid UTF-8 inside a JSON string of a bytes input (the general path sees U+FFFD there).
_DECODE_ERRORS = (msgspec.DecodeError, UnicodeError)


def _quote(data: str | bytes) -> str:
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    return repr(data[:_QUOTE_LIMIT]) + ("..." if len(data) > _QUOTE_LIMIT else "")


def _decode_data(data: str | bytes) -> ChatEvent:
    """Decode one event's JSON data; slow path only when the typed decoder refuses it."""
    try:
        return _typed_decode(data)
    except _DECODE_ERRORS as typed_error:
        return _decode_untyped(data, typed_error)


def _decode_untyped(data: str | bytes, typed_error: Exception) -> UnknownEvent:
    try:
        obj = _any_decode(data)
    except _DECODE_ERRORS as exc:
        raise ProtocolError(
            f"event data is not valid JSON ({exc}); the server must send one JSON object "
            f"per event (protocol.md section 5). data: {_quote(data)}"
        ) from None
    if not isinstance(obj, dict):
        raise ProtocolError(
            f"event data is JSON {type(obj).__name__}, expected an object with an "
            f"'event_type' field (protocol.md section 5). data: {_quote(data)}"
        )
    event_type = obj.get("event_type")
    if not isinstance(event_type, str):
        what = "missing" if event_type is None else f"a {type(event_type).__name__}"
        raise ProtocolError(
            f"field 'event_type' is {what}, expected a string naming the event "
            f"(protocol.md section 5). data: {_quote(data)}"
        )
    if event_type in _KNOWN_TYPES:
        # msgspec's message names the field and its path, e.g. "... at `$.text`".
        raise ProtocolError(
            f"malformed {event_type!r} event: {typed_error}; see protocol.md section 5 for "
            f"its fields. data: {_quote(data)}"
        )
    return UnknownEvent(event_type=event_type, payload=obj)


def _decode_error_event(data: str) -> ErrorEvent:
    """An SSE event named ``error``: JSON ``{"error": ...}`` if it is that, else the raw text."""
    try:
        obj = _any_decode(data)
    except _DECODE_ERRORS:
        return ErrorEvent(error=data)
    if not isinstance(obj, dict) or not isinstance(obj.get("error"), str):
        return ErrorEvent(error=data)
    fields = {key: value for key, value in obj.items() if key != "event_type"}
    try:
        return msgspec.convert(fields, ErrorEvent)
    except msgspec.ValidationError as exc:
        raise ProtocolError(
            f"malformed 'error' event: {exc}; see protocol.md section 5. data: {_quote(data)}"
        ) from None


def parse_event(sse: ServerSentEvent) -> ChatEvent | None:
    """Turn one Server-Sent Event into a typed chat event.

    * SSE events named ``ping`` return None (keep-alives, to be skipped).
    * SSE events named ``error`` return an :class:`ErrorEvent`: decoded from their
      JSON when it is an object with a string ``error``, else ``ErrorEvent(error=data)``.
    * Every other SSE event name (``message`` included) carries the JSON event object,
      told apart by its ``event_type``; a type this version does not know returns an
      :class:`UnknownEvent`.

    Raises:
        ProtocolError: the data is not JSON, not an object, or a known event misses a
            field or has one of the wrong type. The message names the field and quotes
            the first 200 characters of the data.
    """
    if sse.event == "ping":
        return None
    if sse.event == "error":
        return _decode_error_event(sse.data)
    return _decode_data(sse.data)


def _holdable(tail: bytes) -> bool:
    """True if ``tail`` is one line of a block, possibly ended by ``\\r\\n``: worth waiting for."""
    if tail.endswith(b"\r\n"):
        tail = tail[:-2]
    elif tail.endswith(b"\r"):
        tail = tail[:-1]
    return b"\r" not in tail and b"\n" not in tail


class ChatEventDecoder:
    """Incremental decoder of the chat event stream: bytes in, typed chat events out.

    Equivalent to feeding :class:`SSEDecoder` and applying :func:`parse_event` to each
    event (pings skipped), only faster on the real server's framing. ``max_event_size``
    is the :class:`SSEDecoder`'s (None: no limit).

    Example:
        >>> d = ChatEventDecoder()
        >>> d.feed(b'data: {"event_type": "token", "text": "Hi"}\\r\\n\\r\\n')
        [TokenEvent(text='Hi')]
    """

    __slots__ = (
        "_dirty",
        "_error",
        "_max",
        "_pending",
        "_pending_size",
        "_skip_lf",
        "_sse",
        "_started",
    )

    def __init__(self, *, max_event_size: int | None = DEFAULT_MAX_EVENT_SIZE) -> None:
        self._sse = SSEDecoder(max_event_size=max_event_size)
        self._max = _UNLIMITED if max_event_size is None else max_event_size
        # While _dirty, the general decoder holds a partial event and gets every byte;
        # otherwise unprocessed bytes wait in _pending (raw, a fragment of one line).
        self._dirty = False
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._skip_lf = False
        self._started = False
        # A malformed or oversized event after good ones in the same chunk: the good ones are
        # returned first and this is raised by the next feed() or close(), so no token is lost.
        self._error: ProtocolError | None = None

    def feed(self, data: bytes) -> list[ChatEvent]:
        """Decode the next chunk of the body.

        Args:
            data: any number of bytes, split anywhere.

        Returns:
            The chat events completed by this chunk, in order (pings skipped). When a
            malformed event follows good ones in the chunk, the good ones are returned and
            the error is raised by the next call.

        Raises:
            ProtocolError: an event's data is malformed (see :func:`parse_event`).
            LimitExceededError: a line or event is longer than ``max_event_size``.
        """
        if self._error is not None:
            raise self._error
        out = self._feed(data)
        error = self._failure()  # a call: _feed may have set it, whatever narrowing assumed
        if error is not None and not out:
            raise error
        return out

    def _failure(self) -> ProtocolError | None:
        return self._error

    def _feed(self, data: bytes) -> list[ChatEvent]:
        if not data:
            return []
        out: list[ChatEvent] = []
        if self._dirty:
            end = data.find(b"\r\n\r\n")
            if end < 0:
                return self._general(data)
            # Up to and including a blank CRLF line, the general decoder ends between events.
            out = self._general(data[: end + 4])
            data = data[end + 4 :]
            if not data or self._failure() is not None:
                return out  # after a malformed event nothing more may come out
            if self._dirty:
                out += self._general(data)
                return out
        if self._pending:
            self._pending.append(data)
            if b"\n" not in data and b"\r" not in data:
                self._pending_size += len(data)
                if self._pending_size > self._max and self._started:
                    out += self._general(b"".join(self._pending))
                    self._pending = []
                return out
            data = b"".join(self._pending)
            self._pending = []
        if self._skip_lf:
            self._skip_lf = False
            if data[:1] == b"\n":
                data = data[1:]
        if not self._started:
            if len(data) < 3 and b"\xef\xbb\xbf".startswith(data):
                if data:
                    self._pending = [data]
                return out
            self._started = True
            self._sse._mark_started()
            if data.startswith(b"\xef\xbb\xbf"):
                data = data[3:]
        if data.endswith(b"\r\n\r"):
            # The final CR already ends the blank line: dispatch now, not on the next read.
            data += b"\n"
            self._skip_lf = True
        end = data.rfind(b"\r\n\r\n")
        if end >= 0:
            out += self._region(data[: end + 4])
            data = data[end + 4 :]
        if data:
            if _holdable(data) and len(data) <= self._max:
                self._pending = [data]
                self._pending_size = len(data)
            else:
                out += self._general(data)
        return out

    def close(self) -> list[ChatEvent]:
        """Signal the end of the stream; returns the last events, if any.

        An event not terminated by a blank line is discarded (WHATWG), so a truncated
        stream simply yields nothing more: callers detect a missing final ``message``
        event themselves. The decoder is then reset for a new stream.

        Raises:
            ProtocolError: a malformed event that followed good ones in the last chunk.
        """
        error = self._error
        out: list[ChatEvent] = []
        if self._pending and error is None:
            out = self._general(b"".join(self._pending))
            error = self._error
        self._error = None
        try:
            self._sse.close()
        except LimitExceededError as limit_error:
            error = error or limit_error
        self._dirty = False
        self._pending = []
        self._skip_lf = False
        self._started = False
        if error is not None:
            raise error
        return out

    def _general(self, data: bytes) -> list[ChatEvent]:
        """Exact path: the SSE decoder and parse_event (stops at the first malformed event)."""
        if self._error is not None:
            return []
        sse = self._sse
        try:
            events = sse.feed(data)
        except LimitExceededError as error:
            self._error = error
            return []
        if self._skip_lf:
            self._skip_lf = False
            sse._expect_lf()
        self._dirty = not sse._is_clean()
        out: list[ChatEvent] = []
        for event in events:
            try:
                chat_event = parse_event(event)
            except ProtocolError as error:
                self._error = error
                break
            if chat_event is not None:
                out.append(chat_event)
        else:
            self._error = sse._deferred_error()
        return out

    def _region(self, region: bytes) -> list[ChatEvent]:
        """Decode bytes that start between events and end with a blank CRLF line."""
        if self._error is not None:
            return []
        blocks = region.count(b"\r\n\r\n")
        if region.count(b"\r") != 2 * blocks or region.count(b"\n") != 2 * blocks:
            return self._general(region)
        if len(region) > self._max and max(map(len, region.split(b"\r\n\r\n"))) > self._max:
            return self._general(region)  # a line may be too long: the general decoder decides
        # Every CR and LF is now part of a block separator, so each block is one line and
        # "\n" + a prefix finds exactly the blocks with that prefix.
        data_blocks = region.count(b"\ndata: ") + region.startswith(b"data: ")
        if data_blocks != blocks:
            comments = region.count(b"\n:") + region.startswith(b":")
            if data_blocks + comments != blocks:
                return self._general(region)
            if not data_blocks:
                return []
            region = _drop_comments(region)
        try:
            return list(map(_typed_decode, region[6:-4].split(b"\r\n\r\ndata: ")))
        except _DECODE_ERRORS:
            return self._general(region)


def _drop_comments(region: bytes) -> bytes:
    """Remove the one-line comment blocks of a region whose blocks are all single lines."""
    parts: list[bytes] = []
    pos = 0
    if region.startswith(b":"):
        pos = region.find(b"\r\n\r\n") + 4
    while True:
        start = region.find(b"\n:", pos - 1 if pos else 0)
        if start < 0:
            parts.append(region[pos:])
            return b"".join(parts)
        parts.append(region[pos : start + 1])
        pos = region.find(b"\r\n\r\n", start) + 4
