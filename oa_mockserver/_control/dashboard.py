"""The dashboard's data, as plain JSON: journal calls to request rows, streams to timelines.

The page (``/__admin/ui``) and the static report (``oa-mockserver report``) draw what this
module shapes, so both show the same thing, and every number the page draws is computed and
tested here: a stream's points (each chunk at its offset from the stream's start, with its size
and kind), the time to the first token, the gaps between tokens and the stalls among them (a gap
above :data:`STALL_MIN_S` and :data:`STALL_FACTOR` times the median gap), and where the stream
ended (the point where the client disconnected, for a stream it closed early).

Times: a point's ``offset`` is the journal's own ``offset_s`` (seconds after the stream
started), unchanged, so a test can compare the drawing with the journal. A timeline's
``origin`` is the wall-clock time (``time.time()``) the stream started, to lay several streams
side by side. No aiohttp, no I/O.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..recording._redact import Redactor
from .journal import Call, StreamLog

__all__ = [
    "STALL_FACTOR",
    "STALL_MIN_S",
    "chat_view",
    "health_view",
    "row_from_call",
    "row_from_json",
    "stream_key",
    "timeline",
    "timeline_of_log",
    "user_label",
]

#: A gap between two tokens is a stall when longer than this many seconds ...
STALL_MIN_S = 0.2
#: ... and this many times the median gap between the stream's tokens.
STALL_FACTOR = 3.0
_TEXT_SHOWN = 400  # characters of a message's content the chat view keeps
_REDACTOR = Redactor.default()


def stream_key(started: float) -> str:
    """The key naming one stream, live or journaled: its start time (``time.monotonic()``)."""
    return repr(started)


def timeline(
    chunks: Iterable[Sequence[Any]],
    *,
    key: str,
    origin: float,
    end: float | None = None,
    final: bool = False,
    disconnected: bool = False,
    live: bool = False,
) -> dict[str, Any]:
    """One stream's timeline from its chunks, each ``(offset_s, size, kind)``.

    Args:
        key: names the stream (see :func:`stream_key`).
        origin: wall-clock time the stream started.
        end: seconds after the start when the stream ended (None: still running, or unknown).
        final, disconnected: the final event was written; the client closed it early.
        live: the stream is still being written.

    Returns:
        ``{"key", "origin", "points": [[offset, size, kind], ...], "tokens", "ttft",
        "max_gap", "stalls": [[offset, length], ...], "end", "final", "disconnected",
        "live"}``; ``ttft`` (the first token's offset) and ``max_gap`` are None without tokens.
    """
    points: list[list[Any]] = [[float(c[0]), int(c[1]), str(c[2])] for c in chunks]
    return _timeline(
        points, key=key, origin=origin, end=end, final=final, disconnected=disconnected, live=live
    )


def _timeline(
    points: list[list[Any]],
    *,
    key: str,
    origin: float,
    end: float | None,
    final: bool,
    disconnected: bool,
    live: bool,
) -> dict[str, Any]:
    tokens: list[float] = [p[0] for p in points if p[2] == "token"]
    gaps = [b - a for a, b in itertools.pairwise(tokens)]
    stalls: list[list[float]] = []
    if gaps:
        limit = max(STALL_MIN_S, STALL_FACTOR * statistics.median(gaps))
        stalls = [[a, b - a] for a, b in itertools.pairwise(tokens) if b - a > limit]
    return {
        "key": key,
        "origin": origin,
        "points": points,
        "tokens": len(tokens),
        "ttft": tokens[0] if tokens else None,
        "max_gap": max(gaps) if gaps else None,
        "stalls": stalls,
        "end": end,
        "final": final,
        "disconnected": disconnected,
        "live": live,
    }


def timeline_of_log(
    log: StreamLog, *, clock_offset: float, end: float | None = None, live: bool = False
) -> dict[str, Any]:
    """The timeline of a server's :class:`StreamLog` (live or journaled).

    ``clock_offset`` is ``time.time() - time.monotonic()`` on the server: it turns the log's
    start into wall-clock time.
    """
    started = log.started
    # the offsets as StreamLog.chunks computes them (at - started), without its records
    points: list[list[Any]] = [
        [at - started, size, kind]
        for at, size, kind in zip(log.times, log.sizes, log.kinds, strict=True)
    ]
    return _timeline(
        points,
        key=stream_key(started),
        origin=log.started + clock_offset,
        end=end,
        final=log.final_written,
        disconnected=log.client_disconnected,
        live=live,
    )


def _row(
    *,
    seq: int,
    method: str,
    path: str,
    query: Mapping[str, str],
    status: int,
    step: str | None,
    matched: bool,
    started_at: float,
    duration_s: float,
    faults: Sequence[str],
    user: str | None,
    replay: Mapping[str, Any] | None,
    stream: dict[str, Any] | None,
) -> dict[str, Any]:
    return {
        "seq": seq,
        "method": method,
        "path": path,
        "query": dict(query),
        "status": status,
        "step": step,
        "matched": matched,
        "at": started_at,
        "duration": duration_s,
        "faults": list(faults),
        "user": user,
        "replay": dict(replay) if replay is not None else None,
        "stream": stream,
    }


def row_from_call(
    call: Call,
    *,
    clock_offset: float,
    user: str | None = None,
    replay: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The request row of a journaled call: what the list shows, with the stream's timeline.

    ``replay`` is the cassettes' decision (:meth:`ReplayOutcome.to_json`), ``user`` the label
    of the caller (:func:`user_label`); ``clock_offset`` as for :func:`timeline_of_log`.
    """
    stream = None
    if call.stream is not None and call.stream.started:
        origin = call.stream.started + clock_offset
        end = call.started_at + call.duration_s - origin
        stream = timeline_of_log(call.stream, clock_offset=clock_offset, end=max(end, 0.0))
    return _row(
        seq=call.seq,
        method=call.method,
        path=call.path,
        query=call.query,
        status=call.status,
        step=call.step,
        matched=call.matched,
        started_at=call.started_at,
        duration_s=call.duration_s,
        faults=call.faults,
        user=user,
        replay=replay,
        stream=stream,
    )


def row_from_json(item: Mapping[str, Any]) -> dict[str, Any]:
    """The request row of one call of a saved journal (``GET /__admin/requests``'s items).

    A saved journal has no clock of the server: a stream is taken to start when its request
    arrived, and to end its request's duration later.
    """
    stream = None
    saved = item.get("stream")
    if isinstance(saved, Mapping):
        stream = timeline(
            saved.get("chunks") or (),
            key=f"seq-{item.get('seq', 0)}",
            origin=float(item.get("started_at") or 0.0),
            end=float(item.get("duration_s") or 0.0),
            final=bool(saved.get("final_written")),
            disconnected=bool(saved.get("client_disconnected")),
        )
    return _row(
        seq=int(item.get("seq") or 0),
        method=str(item.get("method", "")),
        path=str(item.get("path", "")),
        query=item.get("query") or {},
        status=int(item.get("status") or 0),
        step=item.get("step"),
        matched=bool(item.get("matched", True)),
        started_at=float(item.get("started_at") or 0.0),
        duration_s=float(item.get("duration_s") or 0.0),
        faults=item.get("faults") or (),
        user=None,
        replay=None,
        stream=stream,
    )


def user_label(owner: str | None) -> str | None:
    """How the dashboard names a chat owner: ``web:`` and the start of the cookie's hash (the
    store keeps only the hash), or ``inference:`` and the user name."""
    if owner is None:
        return None
    kind, _, name = owner.partition(":")
    return f"{kind}:{name[:8]}" if kind == "web" else owner


def chat_view(
    *,
    chat_id: str,
    owner: str,
    title: str | None,
    messages: Iterable[Mapping[str, Any]],
) -> dict[str, Any]:
    """A chat as the page draws it: its owner's label, and its messages (id, parent, role,
    state, content cut to a few hundred characters, secrets redacted as in the journal)."""
    shown = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            content = _REDACTOR.text(content[:_TEXT_SHOWN])
        shown.append(
            {
                "id": message.get("id"),
                "parent_id": message.get("parent_id"),
                "role": message.get("role"),
                "state": message.get("state"),
                "content": content,
            }
        )
    return {
        "id": chat_id,
        "user": user_label(owner),
        "title": _REDACTOR.text(title) if title else title,
        "messages": shown,
    }


def health_view(
    *,
    uptime_s: float,
    requests: int,
    dropped: int,
    handler_errors: int,
    open_streams: int,
    chats: int,
    faults: int,
) -> dict[str, Any]:
    """The health panel's figures."""
    return {
        "uptime_s": round(uptime_s),  # whole seconds: an idle server's health changes once a second
        "requests": requests,
        "dropped": dropped,
        "handler_errors": handler_errors,
        "open_streams": open_streams,
        "chats": chats,
        "faults": faults,
    }
