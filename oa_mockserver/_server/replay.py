"""Replay inside the mock server: the glue between a live request and its recorded plan.

The split: :mod:`..recording._replay` is the pure half (which recorded reply answers a request,
how its stream is replayed: no aiohttp, no server state); this module is the server's half. It
reads the live prompt thread from the chat store, matches it through a :class:`ReplayLibrary`,
and builds the aiohttp answers: a recorded non-200 answer as it was, or the strict-mode 409 that
names the nearest recording and each differing field.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .._control.replay_log import ReplayOutcome
from ..recording._cassette import RecordedResponse
from ..recording._match import FieldDiff, MatchResult, request_fields
from ..recording._redact import Redactor
from ..recording._replay import RecordedReply, ReplayLibrary
from .state import ChatStore, StateError

__all__ = [
    "REPLAY_OUTCOME",
    "STRICT_MISS_STATUS",
    "Lookup",
    "miss_response",
    "prompt_thread",
    "recorded_response",
    "replay_lookup",
]

# What the cassettes decided for this request, set by the route, journaled by the guard with the
# request's own entry (so no other request's entry can take its sequence id meanwhile).
if TYPE_CHECKING or hasattr(web, "RequestKey"):
    REPLAY_OUTCOME = web.RequestKey("replay_outcome", ReplayOutcome)
else:  # aiohttp before 3.13 has no RequestKey, and takes string keys without a warning
    REPLAY_OUTCOME = "oa_mockserver.replay_outcome"

_RULES = Redactor.default()  # what the recording proxy redacts with

#: Status of a strict-mode miss: the request is valid, it only conflicts with the cassettes.
STRICT_MISS_STATUS = 409


def prompt_thread(store: ChatStore, owner: str, chat_id: str, parent_id: str) -> list[str] | None:
    """The prompts of the live thread ending at ``parent_id``, root first; None if unknown."""
    try:
        parent = store.chat(owner, chat_id).messages.get(parent_id)
    except StateError:
        return None
    if parent is None:
        return None
    return [m.content or "" for m in store.thread(parent) if m.role == "prompter"]


@dataclass(frozen=True, slots=True)
class Lookup:
    """The outcome of matching a live assistant_message: answer now, replay, or generate.

    ``outcome`` says what the cassettes decided (None: none were consulted), for the dashboard.
    """

    response: web.Response | None = None
    reply: RecordedReply | None = None
    outcome: ReplayOutcome | None = None


_GENERATE = Lookup()  # no recorded answer: the generator answers
_HIT = ReplayOutcome("hit")
_MISS = ReplayOutcome("miss")


def replay_lookup(
    library: ReplayLibrary | None,
    method: str,
    path_qs: str,
    body: bytes,
    thread: Callable[[], Sequence[str] | None],
    *,
    web_site: bool,
) -> Lookup:
    """Match a live ``assistant_message`` against the cassettes.

    Returns a :class:`Lookup` with ``response`` set for a recorded non-200 answer or a strict
    miss, ``reply`` set for a recorded stream to replay, neither when the generator answers.
    ``thread`` gives the live prompt thread; it is only called when there are cassettes (every
    assistant message comes here, and most servers have none).
    """
    if library is None:
        return _GENERATE
    prompts = thread()
    if prompts is None:
        return _GENERATE
    fields = request_fields(method, path_qs, body, thread=prompts)
    reply, result = library.match(fields)
    if reply is None and library.redacted:
        # The recordings hold secrets as placeholders (a key typed into a prompt): the live
        # request redacted by the same rules gets the same ones. Only on a miss, so a library
        # without secrets never pays for the detectors.
        fields = request_fields(
            method,
            _RULES.uri(path_qs),
            _RULES.body(body, "application/json"),
            thread=[_RULES.text(p) for p in prompts],
        )
        reply, result = library.match(fields)
    if reply is None:
        if library.settings.strict:
            response, outcome = miss_response(result, library, web_site=web_site)
            return Lookup(response=response, outcome=outcome)
        return Lookup(outcome=_MISS)
    if reply.answer.status != 200:
        return Lookup(response=recorded_response(reply.answer), outcome=_HIT)
    return Lookup(reply=reply, outcome=_HIT)


# --- aiohttp answers --------------------------------------------------------------------------

_KEPT_HEADERS = frozenset({"content-type", "retry-after"})


def recorded_response(answer: RecordedResponse) -> web.Response:
    """A recorded non-200 answer as it was (status, body, content type, ``Retry-After``)."""
    response = web.Response(status=answer.status, body=answer.body)
    for name, value in answer.headers:
        if name.lower() in _KEPT_HEADERS:
            response.headers[name] = value
    return response


def miss_response(
    result: MatchResult, library: ReplayLibrary, *, web_site: bool
) -> tuple[web.Response, ReplayOutcome]:
    """The strict-mode answer to an unmatched request: 409 JSON with the nearest and the diffs
    (and the same as a :class:`ReplayOutcome`, for the dashboard).

    The body is the dialect's error shape (``{"message": ...}`` on the web site, ``{"detail":
    ...}`` on the inference server) plus ``nearest`` (``file:line``) and ``differences``.
    """
    nearest = library.replies[result.nearest].source if result.nearest is not None else None
    text = "no recorded assistant_message matches this request (strict replay). " + (
        f"Nearest: {nearest}; " + "; ".join(str(d) for d in result.diffs)
        if nearest is not None
        else "The cassettes hold no assistant_message: record this conversation first."
    )
    differences = [_diff_json(d) for d in result.diffs]
    body = {
        ("message" if web_site else "detail"): text,
        "nearest": nearest,
        "differences": differences,
    }
    outcome = ReplayOutcome("strict-miss", nearest, tuple(differences))
    return web.json_response(body, status=STRICT_MISS_STATUS), outcome


def _diff_json(diff: FieldDiff) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        return list(value) if isinstance(value, tuple) else value

    return {"field": diff.name, "recorded": plain(diff.recorded), "actual": plain(diff.actual)}
