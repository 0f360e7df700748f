"""Hypothesis strategies for property-testing consumers of the OpenAssistant event stream.

Importing this module requires ``hypothesis`` (``pip install oa-toolkit[test]``).
The streams are encoded as the real inference server encodes them (sse-starlette):
each event is ``data: <json>`` plus a blank line, the JSON written by Python's
``json.dumps`` with its default separators, and keep-alive comments
``: ping - <timestamp>`` in between. Line ends may be CRLF (the real server), LF or CR.

Example::

    from hypothesis import given, strategies as st
    from oa_provider.strategies import event_streams, chunkings

    @given(st.data())
    def test_my_parser(data):
        stream = data.draw(event_streams())
        chunks = data.draw(chunkings(stream.data))
        assert my_parse(chunks) == list(stream.events)
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from hypothesis import strategies as st

from ._events import (
    ChatEvent,
    ErrorEvent,
    Message,
    MessageEvent,
    PendingEvent,
    PluginIntermediateEvent,
    SafePromptEvent,
    TokenEvent,
    UnknownEvent,
)

__all__ = [
    "LINE_ENDS",
    "EncodedStream",
    "chat_events",
    "chunkings",
    "encode_event",
    "event_streams",
    "invalid_event_streams",
    "messages",
    "ping_comment",
    "raw_sse_streams",
    "reply_streams",
    "token_texts",
]

#: The three line ends the SSE standard allows; the real server uses CRLF.
LINE_ENDS: tuple[str, ...] = ("\r\n", "\n", "\r")

# Pieces that break naive parsers: line ends, field syntax, BOMs, separators that
# str.splitlines() would wrongly split on, NUL, astral-plane characters.
_TRICKY = (
    "\n",
    "\r",
    "\r\n",
    "data:",
    "data: ",
    ":",
    ": ping",
    "event: error",
    " ",
    "\ufeff",
    "\u2028",
    "\x0b",
    "\x00",
    "\x85",
    '"',
    "\\",
    "😀",
    "Привет",
    "日本語",
    "\U0010ffff",
)


def token_texts() -> st.SearchStrategy[str]:
    """Token texts: arbitrary unicode mixed with pieces that break naive SSE parsers."""
    return st.lists(st.one_of(st.text(max_size=8), st.sampled_from(_TRICKY)), max_size=6).map(
        "".join
    )


_ids = st.uuids(version=4).map(str)
_texts = st.text(max_size=30)
_opt_texts = st.none() | _texts


@st.composite
def messages(draw: st.DrawFn, *, content: str | None = None) -> Message:
    """A MessageRead as the server sends it; ``content`` fixed when given."""
    role = draw(st.sampled_from(["assistant", "prompter"]))
    work_parameters: dict[str, Any] | None = None
    if role == "assistant" and draw(st.booleans()):
        work_parameters = {
            "model_config": {
                "model_id": "_lorem",
                "max_input_length": 128,
                "max_total_length": 256,
                "quantized": False,
            },
            "sampling_parameters": {"top_k": 50, "temperature": 0.35, "max_new_tokens": 1024},
            "do_sample": True,
            "seed": draw(st.integers(0, 2**64 - 1)),
            "plugins": [],
            "plugin_max_depth": 4,
        }
    return Message(
        id=draw(_ids),
        parent_id=draw(st.none() | _ids),
        content=content if content is not None else draw(_opt_texts),
        chat_id=draw(_ids),
        created_at="2026-11-23T19:40:11.840665",
        role=role,
        state=draw(st.sampled_from(["manual", "pending", "in_progress", "complete"])),
        score=draw(st.integers(-1, 1)),
        reports=[],
        work_parameters=work_parameters,
    )


def chat_events(*, unknown: bool = True) -> st.SearchStrategy[ChatEvent]:
    """Any chat event the protocol defines (and, with ``unknown``, future event types)."""
    opt_messages = st.none() | messages()
    strategies: list[st.SearchStrategy[ChatEvent]] = [
        st.builds(TokenEvent, text=token_texts()),
        st.builds(PendingEvent, queue_position=st.integers(0, 99), queue_size=st.integers(0, 99)),
        st.builds(MessageEvent, message=messages()),
        st.builds(ErrorEvent, error=_texts, message=opt_messages),
        st.builds(SafePromptEvent, safe_prompt=_texts, message=opt_messages),
        st.builds(
            PluginIntermediateEvent,
            current_plugin_thought=_texts,
            current_plugin_action_taken=_texts,
            current_plugin_action_input=_texts,
            current_plugin_action_response=_texts,
            message=opt_messages,
        ),
    ]
    if unknown:
        strategies.append(
            st.builds(
                lambda name, extra: UnknownEvent(
                    event_type=name, payload={"event_type": name, "x": extra}
                ),
                st.sampled_from(["tool_call", "future_event", "usage"]),
                st.integers(),
            )
        )
    return st.one_of(strategies)


def _wire_dict(event: ChatEvent) -> dict[str, Any]:
    if isinstance(event, UnknownEvent):
        return dict(event.payload)
    wire: dict[str, Any] = msgspec.to_builtins(event)
    return wire


@st.composite
def _loosely_encoded_events(draw: st.DrawFn) -> str:
    """Valid JSON events written the way other servers might: indented, multi-line, odd fields."""
    event = draw(chat_events())
    text = json.dumps(_wire_dict(event), indent=draw(st.none() | st.integers(0, 2)))
    line_end = draw(st.sampled_from(LINE_ENDS))
    head = draw(st.sampled_from(["", "event: message", "event: error", "event: ping", "id: 1"]))
    if draw(st.booleans()):
        # Legal: each JSON line its own data field; the SSE layer joins them with LF.
        body = line_end.join("data: " + line for line in text.split("\n"))
    else:
        # Illegal once indented: JSON's own line breaks end the data line early.
        body = "data: " + text.replace("\n", draw(st.sampled_from(LINE_ENDS)))
    return (head + line_end if head else "") + body + line_end + line_end


def encode_event(event: ChatEvent, *, line_end: str = "\r\n", ensure_ascii: bool = True) -> bytes:
    """Encode one event as the server does: ``data: <json.dumps(...)>`` and a blank line.

    ``ensure_ascii=True`` is what the server's pydantic ``.json()`` writes; False puts
    raw UTF-8 on the wire, which exercises multi-byte characters split across chunks.
    """
    text = json.dumps(_wire_dict(event), ensure_ascii=ensure_ascii)
    return f"data: {text}{line_end}{line_end}".encode()


def ping_comment(timestamp: str = "2026-11-23 19:40:43.367684", *, line_end: str = "\r\n") -> bytes:
    """The server's keep-alive comment, ``: ping - <timestamp>``, and a blank line."""
    return f": ping - {timestamp}{line_end}{line_end}".encode()


@dataclass(frozen=True)
class EncodedStream:
    """An event stream body and the chat events a correct parser must return for it."""

    data: bytes
    events: tuple[ChatEvent, ...]
    line_end: str


_timestamps = st.datetimes().map(lambda t: t.isoformat(sep=" ", timespec="microseconds"))


@st.composite
def event_streams(
    draw: st.DrawFn,
    events: st.SearchStrategy[ChatEvent] | None = None,
    *,
    line_ends: Sequence[str] = LINE_ENDS,
    max_events: int = 12,
) -> EncodedStream:
    """A valid event stream: events, pings between them, one line end, optional BOM."""
    chosen = draw(st.lists(chat_events() if events is None else events, max_size=max_events))
    return _encode_stream(draw, chosen, draw(st.sampled_from(list(line_ends))))


def _encode_stream(draw: st.DrawFn, events: Sequence[ChatEvent], line_end: str) -> EncodedStream:
    ensure_ascii = draw(st.booleans())
    parts = [b"\xef\xbb\xbf"] if draw(st.booleans()) else []
    for event in events:
        if draw(st.integers(0, 4)) == 0:
            parts.append(ping_comment(draw(_timestamps), line_end=line_end))
        parts.append(encode_event(event, line_end=line_end, ensure_ascii=ensure_ascii))
    if draw(st.booleans()):
        parts.append(ping_comment(draw(_timestamps), line_end=line_end))
    return EncodedStream(data=b"".join(parts), events=tuple(events), line_end=line_end)


@st.composite
def reply_streams(
    draw: st.DrawFn, *, line_ends: Sequence[str] = LINE_ENDS, max_tokens: int = 20
) -> EncodedStream:
    """A successful reply: optional pending events, tokens, then the final message event.

    The final message's ``content`` is the tokens' texts joined, as on the real server.
    """
    pending = draw(st.lists(st.builds(PendingEvent, st.integers(0, 9), st.integers(0, 9))))
    texts = draw(st.lists(token_texts(), max_size=max_tokens))
    final = MessageEvent(message=draw(messages(content="".join(texts))))
    events: list[ChatEvent] = [*pending, *(TokenEvent(text=t) for t in texts), final]
    return _encode_stream(draw, events, draw(st.sampled_from(list(line_ends))))


_BAD_PAYLOADS = (
    "",
    "{",
    "not json",
    "[]",
    "null",
    '"token"',
    "{}",
    '{"text": "no event_type"}',
    '{"event_type": 5}',
    '{"event_type": "token"}',
    '{"event_type": "token", "text": 1}',
    '{"event_type": "pending", "queue_position": "1", "queue_size": 1}',
    '{"event_type": "message", "message": null}',
    '{"event_type": "message", "message": {"id": "x"}}',
    '{"event_type": "token", "text": "a"} trailing',
    '{"event_type": "token", "text": "a"},{"event_type": "token", "text": "b"}',
)


@st.composite
def invalid_event_streams(draw: st.DrawFn, *, line_ends: Sequence[str] = LINE_ENDS) -> bytes:
    """A stream whose valid prefix is followed by one malformed event: parsing must raise."""
    prefix = draw(event_streams(line_ends=line_ends, max_events=4))
    line_end = prefix.line_end
    bad = draw(st.sampled_from(_BAD_PAYLOADS) | st.text(max_size=20).map(lambda t: "{" + t))
    suffix = draw(event_streams(line_ends=[line_end], max_events=2)).data.removeprefix(
        b"\xef\xbb\xbf"
    )
    return prefix.data + f"data: {bad}{line_end}{line_end}".encode() + suffix


_field_lines = st.one_of(
    st.builds(lambda v: "data:" + v, st.text(max_size=10)),
    st.builds(lambda v: "data: " + v, st.text(max_size=10)),
    st.just("data"),
    st.builds(lambda v: "event: " + v, st.sampled_from(["message", "ping", "error", "x", ""])),
    st.builds(lambda v: "id: " + v, st.text(max_size=5)),
    st.builds(lambda v: "retry: " + v, st.sampled_from(["1000", "", "12a", "-1", "٣", " 5"])),
    st.builds(lambda v: ":" + v, st.text(max_size=10)),
    st.text(max_size=10),
    st.just(""),
)


@st.composite
def raw_sse_streams(draw: st.DrawFn, *, max_lines: int = 30) -> bytes:
    """Any text/event-stream body: every field kind, comments, odd lines, mixed line ends,
    and JSON chat events written loosely (indented, split over data lines, odd SSE names).
    """
    out: list[str] = []
    if draw(st.booleans()):
        out.append("\ufeff")
    for line in draw(st.lists(_field_lines | _loosely_encoded_events(), max_size=max_lines)):
        out.append(line + draw(st.sampled_from(LINE_ENDS)))
    encoded = "".join(out).encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        encoded += draw(st.binary(max_size=5))
    return encoded


@st.composite
def chunkings(draw: st.DrawFn, data: bytes) -> list[bytes]:
    """``data`` split at arbitrary points (empty chunks and single bytes included)."""
    if not data:
        return [data]
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=12)))
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]
