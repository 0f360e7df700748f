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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .._exceptions import CassetteError
from ._cassette import Cassette, Interaction, RecordedResponse, load_cassette
from ._match import MatchResult, find_match, request_fields, route_of
from ._rechunk import rechunk
from ._redact import REDACTED
from ._splice import replace_in_chunks
from ._timing import ReplaySettings

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


# --- planning a stream (pure) -----------------------------------------------------------------


def rewrite_ids(pieces: Sequence[bytes], mapping: Mapping[str, str]) -> list[bytes]:
    """The pieces with every recorded id replaced by its live id, boundaries kept.

    Replacement runs on the joined bytes (an id may straddle two pieces); where the cuts go is
    :func:`._splice.splice`'s rule, so ids of equal length (UUIDs) keep every cut.
    """
    return replace_in_chunks(pieces, {old.encode(): new.encode() for old, new in mapping.items()})


def _final_content(data: bytes) -> str | None:
    start = data.rfind(b"data: ", 0, data.rfind(_FINAL_MARK) + 1)
    if start < 0:
        return None
    line = data[start + len(b"data: ") :].split(b"\r\n", 1)[0].split(b"\n", 1)[0]
    event = _json(line)
    if not isinstance(event, dict) or event.get("event_type") != "message":
        return None
    message = event.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    return content if isinstance(content, str) else ""


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
    stream = reply.stream
    if stream is None:
        return ReplayPlan(pieces=(), delays=(), complete=False)
    chunks = stream.chunks
    pieces = [c.data for c in chunks] if chunks else [stream.body]
    offsets = [c.offset_s for c in chunks] if chunks else [0.0]
    mapping: dict[str, str] = {}
    if reply.chat_id:
        mapping[reply.chat_id] = live_chat_id
    for old, new in zip(reversed(reply.ids), reversed(live_ids), strict=False):
        mapping[old] = new
    pieces = rewrite_ids(pieces, mapping)
    if len(pieces) != len(offsets):
        offsets = [offsets[min(i, len(offsets) - 1)] for i in range(len(pieces))]
    if settings.rechunk_seed is not None:
        pieces = rechunk(b"".join(pieces), settings.rechunk_seed, pieces=max(2, len(pieces)))
        offsets = [0.0] * len(pieces)
    content = _final_content(b"".join(pieces))
    return ReplayPlan(
        pieces=tuple(p for p in pieces if p),
        delays=tuple(settings.timing.delays(offsets)),
        complete=content is not None,
        content=content,
    )
