"""Replay planning (pure): which recorded reply answers a live request, and how it is replayed.

This is the pure half of the mock server's replay; :mod:`oa_mockserver._server.replay` is the
server's half (the live prompt thread from the chat store, the aiohttp answers). Nothing here
imports aiohttp or server state; only :meth:`ReplayLibrary.load` reads files.

Theory of operation. The server stays stateful: its store creates live chats and messages with
its own ids. Only the *reply* of an assistant message comes from a cassette. When an assistant
message is posted, the request is reduced to :func:`request_fields` (method, route, the prompt
thread, model, sampling parameters and other body keys; ids left out) and matched against every
recorded ``assistant_message`` request of the loaded cassettes under the server's
:class:`MatchRules`. Then:

* a recorded non-200 answer (422 unknown model, 503 busy...) is answered as recorded;
* a recorded 200 answer lets the live message be created, and its event stream is the recorded
  one: the recorded chunks in order (or the same bytes re-cut by a seed), with recorded ids
  (chat, message, parents) rewritten to the live ones inside the bytes, paced by a
  :class:`Timing`. The last piece is the generation's ``final`` so the 204-after-delivery
  logic works unchanged; a recorded stream without its final ``message`` event (an ``error``
  event, a disconnect) ends the live stream the same way;
* no match: in strict mode a 409 error JSON names the nearest recorded request and each differing
  field; otherwise the generator answers.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .._exceptions import CassetteError
from ._cassette import Cassette, Interaction, RecordedResponse, load_cassette
from ._match import MatchResult, find_match, request_fields, route_of
from ._rechunk import rechunk
from ._redact import REDACTED
from ._splice import Edit, find_edits, replace_in_chunks, splice
from ._timing import ReplaySettings, Timing

__all__ = [
    "RecordedReply",
    "ReplayLibrary",
    "ReplayPlan",
    "plan_reply",
    "replies_of",
    "rewrite_ids",
]

_ASSISTANT_ROUTES = frozenset({"/api/chat/assistant_message", "/chats/{id}/assistant_message"})
_PROMPTER_ROUTES = frozenset({"/api/chat/prompter_message", "/chats/{id}/prompter_message"})
_EVENTS_ROUTES = frozenset({"/api/chat/events", "/chats/{id}/messages/{id}/events"})
_FINAL_MARK = b'"event_type": "message"'


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordedReply:
    """One recorded ``assistant_message`` request, its answer and the event stream that followed.

    ``ids`` are the recorded ids of the thread, root first, ending with the assistant message
    (empty for a non-200 answer); ``chat_id`` the recorded chat.
    """

    source: str
    fields: Mapping[str, Any]
    answer: RecordedResponse
    chat_id: str | None = None
    ids: tuple[str, ...] = ()
    stream: RecordedResponse | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplayPlan:
    """What to feed a live generation: pieces, the wait before each, and how the reply ends.

    ``complete``: the last piece holds the final ``message`` event and ``content`` its text;
    otherwise the stream ends after the pieces without a final event.
    """

    pieces: tuple[bytes, ...]
    delays: tuple[float, ...]
    complete: bool
    content: str | None = None


# --- reading cassettes (pure) -----------------------------------------------------------------


def _json(data: bytes | None) -> Any:
    if not data:
        return None
    try:
        return json.loads(data)
    except ValueError:
        return None


def _events_message_id(interaction: Interaction) -> str | None:
    parts = urlsplit(interaction.request.uri)
    if route_of(parts.path) == "/chats/{id}/messages/{id}/events":
        return parts.path.rstrip("/").split("/")[-2]
    values = parse_qs(parts.query).get("message_id")
    if values:
        return values[0]
    body = _json(interaction.request.body)
    if isinstance(body, dict) and isinstance(body.get("message_id"), str):
        return str(body["message_id"])
    return None


def _replies_of_episode(interactions: Sequence[Interaction], path: str) -> list[RecordedReply]:
    parents: dict[str, str | None] = {}
    prompts: dict[str, str] = {}
    chat_of: dict[str, str] = {}
    replies: list[RecordedReply] = []
    for index, interaction in enumerate(interactions):
        request, response = interaction.request, interaction.response
        route = route_of(request.path)
        answer = _json(response.body)
        if route in _PROMPTER_ROUTES and response.status == 200 and isinstance(answer, dict):
            message_id = str(answer.get("id"))
            parents[message_id] = answer.get("parent_id")
            prompts[message_id] = str(answer.get("content") or "")
            chat_of[message_id] = str(answer.get("chat_id"))
            continue
        if route not in _ASSISTANT_ROUTES or request.method.upper() != "POST":
            continue
        body = _json(request.body)
        parent = body.get("parent_id") if isinstance(body, dict) else None
        chain: list[str] = []
        current = parent if isinstance(parent, str) else None
        while current is not None and current not in chain:
            chain.append(current)
            current = parents.get(current)
        chain.reverse()
        thread = [prompts[i] for i in chain if i in prompts]
        source = f"{path}:{interaction.line}" if interaction.line else path
        fields = request_fields(request.method, request.uri, request.body, thread=thread)
        if response.status != 200 or not isinstance(answer, dict):
            replies.append(RecordedReply(source=source, fields=fields, answer=response))
            continue
        message_id = str(answer.get("id"))
        parents[message_id] = parent if isinstance(parent, str) else None
        stream = next(
            (
                later.response
                for later in interactions[index + 1 :]
                if route_of(later.request.path) in _EVENTS_ROUTES
                and _events_message_id(later) == message_id
                and later.response.status == 200
                and later.response.body
            ),
            None,
        )
        replies.append(
            RecordedReply(
                source=source,
                fields=fields,
                answer=response,
                chat_id=str(answer.get("chat_id")),
                ids=(*chain, message_id),
                stream=stream,
            )
        )
    return replies


def replies_of(cassette: Cassette) -> list[RecordedReply]:
    """Every recorded ``assistant_message`` request of a cassette, episode by episode."""
    path = cassette.path or "<cassette>"
    result: list[RecordedReply] = []
    for episode in cassette.episodes:
        result += _replies_of_episode(episode.interactions, path)
    return result


class ReplayLibrary:
    """The recorded replies of some cassettes, matched against live assistant messages."""

    def __init__(self, replies: Iterable[RecordedReply], settings: ReplaySettings) -> None:
        self.replies = tuple(replies)
        self.settings = settings
        self._fields = [r.fields for r in self.replies]
        self._used: set[int] = set()
        #: Some recorded request holds a redacted value (see replay_lookup).
        self.redacted = any(REDACTED in repr(f) for f in self._fields)
        # id(stream) -> what planning needs of it, worked out at its first replay
        self._recordings: dict[int, _Recording] = {}

    @classmethod
    def from_cassettes(
        cls, cassettes: Iterable[Cassette], settings: ReplaySettings | None = None
    ) -> ReplayLibrary:
        """A library over already loaded cassettes."""
        replies = [reply for cassette in cassettes for reply in replies_of(cassette)]
        return cls(replies, settings or ReplaySettings())

    @classmethod
    def load(
        cls, path: str | os.PathLike[str], settings: ReplaySettings | None = None
    ) -> ReplayLibrary:
        """Load one cassette file, or every ``*.yaml``/``*.yml`` under a directory.

        Raises:
            CassetteNotFoundError: the path does not exist.
            CassetteError: a file is broken (file and line named), or the directory holds no
                cassette.
        """
        root = Path(os.fspath(path))
        if root.is_dir():
            files = sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml"))
            if not files:
                raise CassetteError(
                    "no *.yaml cassette in this directory; record some first "
                    "(oa-mockserver record --upstream URL --cassettes DIR)",
                    path=str(root),
                )
        else:
            files = [root]
        return cls.from_cassettes((load_cassette(f) for f in files), settings)

    def match(self, fields: Mapping[str, Any]) -> tuple[RecordedReply | None, MatchResult]:
        """The recorded reply for a live request's fields (an unused one first), or the miss.

        When every equal recording has been used, the first equal one is replayed again, so a
        test may repeat a conversation as often as it likes.
        """
        result = find_match(fields, self._fields, self.settings.rules, used=self._used)
        index = result.index
        if index is None and result.nearest is not None and not result.diffs:
            index = result.nearest
        if index is None:
            return None, result
        self._used.add(index)
        return self.replies[index], result

    def reset(self) -> None:
        """Forget which recordings were used."""
        self._used.clear()

    def plan(self, reply: RecordedReply, live_chat_id: str, live_ids: Sequence[str]) -> ReplayPlan:
        """:func:`plan_reply` with this library's settings, the recording's part worked out once.

        Why: every replay of a recording joins, searches and parses the same recorded bytes;
        only the live ids differ.
        """
        stream = reply.stream
        if stream is None:
            return _NO_STREAM
        # by id: a response is not hashable cheaply; the entry holds the stream, so no other
        # object can take its id meanwhile
        recording = self._recordings.get(id(stream))
        if recording is None:
            recording = self._recordings[id(stream)] = _Recording.of(stream)
        return _plan(recording, reply, live_chat_id, live_ids, self.settings)


# --- planning a stream (pure) -----------------------------------------------------------------


def rewrite_ids(pieces: Sequence[bytes], mapping: Mapping[str, str]) -> list[bytes]:
    """The pieces with every recorded id replaced by its live id, boundaries kept.

    Replacement runs on the joined bytes (an id may straddle two pieces); where the cuts go is
    :func:`._splice.splice`'s rule, so ids of equal length (UUIDs) keep every cut.
    """
    return replace_in_chunks(pieces, {old.encode(): new.encode() for old, new in mapping.items()})


def _final_line(data: bytes) -> tuple[int, bytes] | None:
    """Where the line of the last ``message`` event begins (after ``data: ``), and the line."""
    start = data.rfind(b"data: ", 0, data.rfind(_FINAL_MARK) + 1)
    if start < 0:
        return None
    begin = start + len(b"data: ")
    return begin, data[begin:].split(b"\r\n", 1)[0].split(b"\n", 1)[0]


def _content_of(line: bytes) -> str | None:
    event = _json(line)
    if not isinstance(event, dict) or event.get("event_type") != "message":
        return None
    message = event.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    return content if isinstance(content, str) else ""


def _final_content(data: bytes) -> str | None:
    found = _final_line(data)
    return _content_of(found[1]) if found is not None else None


# A string token of valid JSON (the text between its quotes may hold escapes).
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
# An id as a whole string value that an id replacement cannot make mean anything else: no quote,
# backslash, control character, space or colon (so no ``"``-delimited token, ``data: `` nor
# line break can begin or end inside it).
_PLAIN_ID = re.compile(rb"[0-9A-Za-z_.-]+")
_JSON_SPACE = b" \t\r\n"


@dataclass(frozen=True, slots=True)
class _Final:
    """The recorded final event's content, and the id spans a replacement may leave it by.

    Why it holds: ``spans`` are the whole string *values* (not keys) of the final line whose
    text is a :data:`_PLAIN_ID` other than ``message`` and the content. Replacing such a value
    by another plain id other than ``message`` keeps the JSON's structure, every other value,
    the last ``message`` mark and the ``data: `` before it, so :func:`_final_content` of the
    replaced bytes is ``content``. Edits that end at or before ``begin`` change nothing it
    reads.
    """

    begin: int
    content: str
    spans: frozenset[tuple[int, int]]

    @staticmethod
    def of(data: bytes) -> _Final | None:
        """The final event of the joined recorded bytes (None: none, or one not to reason on)."""
        found = _final_line(data)
        if found is None:
            return None
        begin, line = found
        content = _content_of(line)
        if content is None or json.detect_encoding(line) != "utf-8":
            return None  # tokens of another encoding are not found in the bytes
        spans: set[tuple[int, int]] = set()
        for token in _JSON_STRING.finditer(line):
            after = len(line) - len(line[token.end() :].lstrip(_JSON_SPACE))
            if after < len(line) and line[after] == ord(":"):
                continue  # a key
            text = token.group()[1:-1]
            if _PLAIN_ID.fullmatch(text) and text != b"message" and text.decode() != content:
                spans.add((begin + token.start() + 1, begin + token.end() - 1))
        return _Final(begin, content, frozenset(spans))

    def covers(self, edits: Iterable[Edit]) -> bool:
        """True when every edit reaching the final line replaces one of :attr:`spans`."""
        return all(end <= self.begin or (start, end) in self.spans for start, end, _ in edits)

    def keeps(self, edits: Iterable[Edit]) -> bool:
        """True when the content after these edits (offsets into the recorded bytes) is known."""
        edits = list(edits)
        return self.covers(edits) and all(_plain(new) for _, end, new in edits if end > self.begin)


def _plain(new: bytes) -> bool:
    """True for a live id that replaces a plain-id value without changing what else it means."""
    return _PLAIN_ID.fullmatch(new) is not None and new != b"message"


@dataclass(frozen=True, slots=True)
class _LastPiece:
    """Where some recorded ids stand in a recording whose ids are all in its last piece.

    Then :func:`._splice.splice` keeps every other piece as it is and the last one is the
    recorded bytes with the ids replaced: ``parts`` is that piece cut around the edits splice
    applies (text, id, text, ..., text), and ``ids`` the recorded id of each edit. The final
    content holds (:meth:`_Final.keeps`) when ``known`` and the live values of ``checked`` are
    plain ids.
    """

    head: tuple[bytes, ...]
    parts: tuple[bytes, ...]
    ids: tuple[bytes, ...]
    known: bool
    checked: tuple[bytes, ...]

    @staticmethod
    def of(recording: _Recording, ids: tuple[bytes, ...]) -> _LastPiece | None:
        """The cut of the recording's last piece for these ids (None: not all there, or none)."""
        edits = find_edits(recording.data, dict.fromkeys(ids, b""))
        begin = len(recording.data) - len(recording.pieces[-1])
        if not edits or min(start for start, _, _ in edits) < begin:
            return None
        last = recording.pieces[-1]
        parts: list[bytes] = []
        found: list[bytes] = []
        position = 0
        # the edits splice applies: by (start, end), and of two overlapping the first one
        for start, end, _ in sorted(edits, key=itemgetter(0, 1)):
            if start - begin < position:
                continue
            parts.append(last[position : start - begin])
            found.append(recording.data[start:end])
            parts.append(b"")  # the live id goes here
            position = end - begin
        parts.append(last[position:])
        final = recording.final
        line = [e for e in edits if final is not None and e[1] > final.begin]
        return _LastPiece(
            head=tuple(filter(None, recording.pieces[:-1])),
            parts=tuple(parts),
            ids=tuple(found),
            known=final is not None and final.covers(line),
            checked=tuple({recording.data[start:end]: None for start, end, _ in line}),
        )


@dataclass(frozen=True, slots=True)
class _Recording:
    """What planning needs of a recorded stream, the same for every replay of it."""

    stream: RecordedResponse
    pieces: tuple[bytes, ...]
    offsets: tuple[float, ...]
    data: bytes
    final: _Final | None
    #: the ids being replaced (in the mapping's order) -> how, when all are in the last piece
    last: dict[tuple[bytes, ...], _LastPiece | None] = field(default_factory=dict)
    #: (timing, offsets) -> the delays: the same offsets and timing, the same delays
    timed: dict[tuple[Timing, tuple[float, ...]], tuple[float, ...]] = field(default_factory=dict)

    @staticmethod
    def of(stream: RecordedResponse) -> _Recording:
        """The pieces, offsets and joined bytes of ``stream``, and its final event."""
        chunks = stream.chunks
        pieces = tuple(c.data for c in chunks) if chunks else (stream.body,)
        offsets = tuple(c.offset_s for c in chunks) if chunks else (0.0,)
        data = b"".join(pieces)
        return _Recording(stream, pieces, offsets, data, _Final.of(data))

    def rewrite(self, mapping: Mapping[bytes, bytes]) -> tuple[list[bytes], bool]:
        """:func:`rewrite_ids` of the pieces, and True when the recorded final content holds."""
        ids = tuple(old for old, new in mapping.items() if old and old != new)
        try:
            last = self.last[ids]
        except KeyError:
            last = self.last[ids] = _LastPiece.of(self, ids)
        if last is not None:
            # the common case, a few ids in the final event: no search, no re-cut
            parts = list(last.parts)
            for index, old in enumerate(last.ids, 1):
                parts[2 * index - 1] = mapping[old]
            piece = b"".join(parts)
            pieces = [*last.head, piece] if piece or not last.head else list(last.head)
            known = last.known and all(_plain(mapping[old]) for old in last.checked)
            return pieces, known
        edits = find_edits(self.data, mapping)
        pieces = splice(self.pieces, edits) if edits else list(self.pieces)
        return pieces, self.final is not None and self.final.keeps(edits)

    def delays(self, timing: Timing, offsets: tuple[float, ...]) -> tuple[float, ...]:
        """:meth:`Timing.delays`, worked out once per timing and offsets of this recording."""
        key = (timing, offsets)
        delays = self.timed.get(key)
        if delays is None:
            delays = self.timed[key] = tuple(timing.delays(offsets))
        return delays


_NO_STREAM = ReplayPlan(pieces=(), delays=(), complete=False)


def plan_reply(
    reply: RecordedReply,
    live_chat_id: str,
    live_ids: Sequence[str],
    settings: ReplaySettings,
) -> ReplayPlan:
    """The plan that replays ``reply``'s stream for a live message.

    Args:
        reply: a recorded 200 reply (with a stream).
        live_chat_id: the live chat's id.
        live_ids: the live thread's ids, root first, ending with the live assistant message;
            paired from the end with the recorded ones.
        settings: timing and rechunk seed.
    """
    if reply.stream is None:
        return _NO_STREAM
    return _plan(_Recording.of(reply.stream), reply, live_chat_id, live_ids, settings)


def _plan(
    recording: _Recording,
    reply: RecordedReply,
    live_chat_id: str,
    live_ids: Sequence[str],
    settings: ReplaySettings,
) -> ReplayPlan:
    mapping: dict[str, str] = {}
    if reply.chat_id:
        mapping[reply.chat_id] = live_chat_id
    for old, new in zip(reversed(reply.ids), reversed(live_ids), strict=False):
        mapping[old] = new
    # rewrite_ids, on the recording's joined bytes and cuts worked out once
    pieces, known = recording.rewrite({old.encode(): new.encode() for old, new in mapping.items()})
    offsets = recording.offsets
    if len(pieces) != len(offsets):
        offsets = tuple(offsets[min(i, len(offsets) - 1)] for i in range(len(pieces)))
    if settings.rechunk_seed is not None:
        pieces = rechunk(b"".join(pieces), settings.rechunk_seed, pieces=max(2, len(pieces)))
        offsets = (0.0,) * len(pieces)
    # the content of the live bytes (re-cutting keeps them): the recorded one when the edits
    # provably leave it (see _Final), else parsed again
    if known and recording.final is not None:
        content: str | None = recording.final.content
    else:
        content = _final_content(b"".join(pieces))
    return ReplayPlan(
        pieces=tuple(filter(None, pieces)),
        delays=recording.delays(settings.timing, offsets),
        complete=content is not None,
        content=content,
    )
