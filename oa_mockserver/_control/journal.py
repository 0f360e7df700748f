"""A record of every request the server received, rejected and unmatched ones included.

The vocabulary is :mod:`unittest.mock`'s (and respx's): ``calls``, ``call_count``, ``last``,
``assert_request_made``. Expected JSON bodies compare with ``==``, so ``unittest.mock.ANY``
stands for a value a test cannot know (a chat id). A failed assertion lists the nearest requests
the server did see, as vcrpy and pytest-httpserver do, because "not called" alone never says why.

Secrets never leave it: the values of ``Cookie``, ``Authorization``, ``Set-Cookie`` and
``Refresh`` headers become ``REDACTED`` (the marker cassettes use too), and tokens inside bodies
and query strings are replaced by the cassette redactor's rules when a :class:`Call` is built.
The server keeps each request as a raw entry and builds its call when the calls are first read,
so none of that work (and none of its garbage) is on the request's path.

Bounded: a journal keeps at most ``limit`` entries (the oldest are dropped and counted), and a
body longer than ``body_limit`` bytes is kept cut, ending with :data:`TRUNCATED_MARKER` (its
call says ``body_truncated`` and the original ``body_size``). Every entry has a sequence id
(1, 2, 3, ... in arrival order) that drops and clears never change: :meth:`Journal.page` reads
the journal a page at a time after a given id.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import itertools
import json
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import KW_ONLY, dataclass
from typing import Any, NamedTuple, TypedDict

from yarl import URL

from .._compat import Unpack
from .._exceptions import ConfigError, JournalPageError
from ..recording._redact import REDACTED, Redactor

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "REDACTED",
    "SECRET_HEADERS",
    "TRUNCATED_MARKER",
    "Call",
    "ChunkRecord",
    "Journal",
    "JournalPage",
    "JournalPageError",
    "JournalWindow",
    "KeptAsGiven",
    "RequestMatcher",
    "StreamLog",
    "call_of",
    "call_summary",
    "redacted_target",
    "chunk_kind",
    "raw_headers",
    "redact_headers",
]

_REDACTOR = Redactor.default()
#: Header names (lower case) whose values are secrets: the cassette redactor's own list.
SECRET_HEADERS = _REDACTOR.headers
_NEAREST = 5

#: What ends a body (or header block) the journal kept cut: ``{kept}`` bytes of ``{size}``.
#: The call's ``body_truncated`` flag is the sure sign; the marker is for people reading it.
TRUNCATED_MARKER = "…[truncated by oa-mockserver: kept {kept} of {size} bytes]"
#: The header line that ends a header block the journal kept cut (whole lines are kept).
_HEADERS_MARKER = "X-OA-Mock-Journal: headers truncated, kept {kept} of {size} bytes"
#: Page sizes of :meth:`Journal.page` (and ``GET /__admin/requests``): the default, the most.
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
# The dead slots before the oldest entry are compacted away once they are this many (and half
# the list): dropping the oldest entry is then O(1) amortized, whatever the limit.
_COMPACT_AT = 1024


def redact_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Headers as a dict with secret values replaced (repeated names joined with ``, ``)."""
    result: dict[str, str] = {}
    for name, value in headers:
        # by name (the families, not only SECRET_HEADERS), then secret formats in any value
        shown = REDACTED if _REDACTOR.secret_header(name) else _REDACTOR.header_value(name, value)
        result[name] = f"{result[name]}, {shown}" if name in result else shown
    return result


def _redact_query_value(name: str, value: str) -> str:
    if _REDACTOR.secret_param(name):
        return REDACTED
    return _REDACTOR.text(value)


def redacted_target(path_qs: str) -> str:
    """A request's path and query with the query redacted as the journal redacts it."""
    url = URL(path_qs, encoded=True)
    if not url.raw_query_string:
        return path_qs
    return str(url.with_query([(k, _redact_query_value(k, v)) for k, v in url.query.items()]))


def _parse_json(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


class ChunkRecord(NamedTuple):
    """One HTTP chunk the server wrote on an event stream (a tuple: cheap on the hot path).

    Attributes:
        offset_s: seconds since the response started.
        at: ``time.monotonic()`` when it was written (comparable with the client's clock in
            the same process, e.g. under the pytest fixtures). Chunks written in one go, with
            no wait for the socket between them, share the time of that go.
        size: bytes written.
        kind: ``token``, ``pending``, ``message``, ``ping``, ``error``, ``safe_prompt``,
            ``plugin_intermediate``, or ``raw`` (a malformed event of a fault).
    """

    offset_s: float
    at: float
    size: int
    kind: str


class StreamLog:
    """What the server wrote on one event stream, filled in as it writes.

    While the stream runs, the writer records each chunk's ``time.monotonic()`` in :attr:`times`
    and the chunk itself (the generation's own bytes, not a copy) in :attr:`data`. The journal
    keeps only :meth:`freeze`'s tuples of times, sizes and kinds. Why: a journal keeps every
    stream of a load test, and keeping the chunks (each reply's unique final event among them)
    made the server measurably slower the longer it ran; :attr:`chunks` needs no more than this.
    """

    __slots__ = (
        "_generated",
        "_kinds",
        "_sizes",
        "_started",
        "client_disconnected",
        "data",
        "final_written",
        "times",
    )

    def __init__(self, started: float = 0.0) -> None:
        self._started = started
        self.times: list[float] = []
        self.data: list[bytes] = []
        # set by thaw: a journaled log has its chunks' sizes and kinds, not the chunks
        self._sizes: tuple[int, ...] | None = None
        self._kinds: tuple[str, ...] | None = None
        self._generated = False  # see mark_generated
        self.client_disconnected = False
        self.final_written = False

    def start(self, at: float) -> None:
        """Set the time the response started (``time.monotonic()``)."""
        self._started = at

    @property
    def started(self) -> float:
        """``time.monotonic()`` when the response started (0.0 before it did)."""
        return self._started

    def add(self, at: float, chunk: bytes) -> None:
        """Record one chunk written at ``at``."""
        self.times.append(at)
        self.data.append(chunk)

    def mark_generated(self) -> None:
        """Mark this the stream of a generated reply: token events, then (if
        :attr:`final_written`) one ``message``. Its kinds are then known without reading a chunk.
        """
        self._generated = True

    def freeze(self) -> tuple[Any, ...]:
        """The finished log as one flat tuple: the start, the two flags, then every chunk's time,
        every size, every kind. No chunk bytes, and only numbers and strings: the garbage
        collector stops tracking such a tuple (and the journal entry holding it, see
        :data:`Entry`) at its next pass, where nested tuples would take one pass a level."""
        return (
            self._started, self.client_disconnected, self.final_written,
            *self.times, *self.sizes, *self.kinds,
        )  # fmt: skip

    @classmethod
    def thaw(cls, frozen: tuple[Any, ...]) -> StreamLog:
        """The log :meth:`freeze` made (read-only: it has sizes and kinds, not chunks)."""
        log = cls(frozen[0])
        log.client_disconnected, log.final_written = frozen[1], frozen[2]
        count = (len(frozen) - 3) // 3
        log.times = list(frozen[3 : 3 + count])
        log._sizes, log._kinds = frozen[3 + count : 3 + 2 * count], frozen[3 + 2 * count :]
        return log

    @property
    def sizes(self) -> tuple[int, ...]:
        """The size in bytes of each chunk written."""
        if self._sizes is not None:
            return self._sizes
        return tuple(map(len, self.data))

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kind of each chunk written (see :class:`ChunkRecord`)."""
        if self._kinds is not None:
            return self._kinds
        if not self._generated:
            return tuple(map(chunk_kind, self.data))
        if self.final_written:
            return ("token",) * (len(self.data) - 1) + ("message",)
        return ("token",) * len(self.data)  # cut short: the message never went out

    @property
    def chunks(self) -> list[ChunkRecord]:
        """Every chunk written, with its offset, time, size and kind."""
        started = self._started
        return [
            ChunkRecord(at - started, at, size, kind)
            for at, size, kind in zip(self.times, self.sizes, self.kinds, strict=True)
        ]

    @property
    def tokens_written(self) -> int:
        """How many token events were written."""
        return self.kinds.count("token")

    @property
    def last_token_at(self) -> float | None:
        """``time.monotonic()`` of the last token written, or None."""
        kinds = self.kinds
        for index in range(len(kinds) - 1, -1, -1):
            if kinds[index] == "token":
                return self.times[index]
        return None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary (the admin API's form)."""
        return {
            "chunks": [[c.offset_s, c.size, c.kind] for c in self.chunks],
            "tokens_written": self.tokens_written,
            "final_written": self.final_written,
            "client_disconnected": self.client_disconnected,
        }


_DATA = b"data: "
_KIND_AT = len(b'data: {"event_type": "')
_TOKEN = b'data: {"event_type": "token"'


def chunk_kind(chunk: bytes) -> str:
    """The kind of an SSE chunk: its ``event_type``, ``ping`` for a comment, else ``raw``."""
    if chunk.startswith(_TOKEN):
        return "token"
    if chunk.startswith(b":"):
        return "ping"
    if chunk.startswith(_DATA):
        end = chunk.find(b'"', _KIND_AT)
        if end > 0:
            return chunk[_KIND_AT:end].decode("ascii", "replace")
    return "raw"


class KeptAsGiven(TypedDict, total=False):
    """The fields :meth:`Call.build` keeps as they are given (see :class:`Call`)."""

    matched: bool
    step: str | None
    started_at: float
    duration_s: float
    stream: StreamLog | None
    seq: int
    body_truncated: bool


@dataclass(frozen=True)
class Call:
    """One request and what the server did with it.

    Attributes:
        method, path: the request line (path without the query).
        query: query parameters (the last value of a repeated name), secrets redacted.
        headers: request headers, secrets redacted.
        body: the request body, secrets redacted.
        json: the body parsed as JSON, or None.
        status: the response status (200 for a stream that started).
        matched: False when no route matched the request.
        step: the conversation step (``create_chat``, ``events``, ...; None when unmatched).
        started_at: ``time.time()`` when the request arrived.
        duration_s: seconds until the response (for a stream: until it ended).
        faults: the kinds of the faults that fired on this request.
        stream: for an event stream, what was written when.
        seq: the journal's sequence id of this call (1 for the first request; 0 when the call
            was made outside a journal). Dropping old calls never changes it.
        body_size: the length in bytes of the body as received.
        body_truncated: the journal kept only the start of the body, ending with
            :data:`TRUNCATED_MARKER` (see ``Journal(body_limit=...)``).
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    status: int
    matched: bool = True
    step: str | None = None
    started_at: float = 0.0
    duration_s: float = 0.0
    faults: tuple[str, ...] = ()
    stream: StreamLog | None = None
    seq: int = 0
    body_size: int = 0
    body_truncated: bool = False

    @classmethod
    def build(
        cls,
        *,
        method: str,
        path: str,
        query: Mapping[str, str],
        headers: Iterable[tuple[str, str]],
        body: bytes,
        status: int,
        faults: Iterable[str] = (),
        content_type: str | None = None,
        body_size: int | None = None,
        **kept: Unpack[KeptAsGiven],
    ) -> Call:
        """A call with secrets redacted and the body parsed when it is JSON; the fields of
        :class:`KeptAsGiven` are kept as given (each defaults to the Call's default).

        ``body_size`` is the length received (default: ``len(body)``), for a body kept cut.
        """
        size = len(body) if body_size is None else body_size
        body = _REDACTOR.body(body, content_type) if body else body
        return cls(
            method=method,
            path=path,
            query={k: _redact_query_value(k, v) for k, v in query.items()},
            headers=redact_headers(headers),
            body=body,
            status=status,
            faults=tuple(faults),
            body_size=size,
            **kept,
        )

    @functools.cached_property
    def json(self) -> Any:
        """The body parsed as JSON, or None (parsed on first use: most calls are never asked)."""
        return _parse_json(self.body)

    def matches(
        self,
        method: str | None = None,
        path: str | None = None,
        *,
        json: Any = None,
        query: Mapping[str, Any] | None = None,
        status: int | None = None,
        step: str | None = None,
    ) -> bool:
        """Whether this call fits every criterion given (None: any); see :class:`RequestMatcher`."""
        matcher = RequestMatcher(method, path, json=json, query=query, status=status, step=step)
        return matcher.match(self)

    def describe(self) -> str:
        """One line: method, path with query, status, and the JSON body if any."""
        target = self.path
        if self.query:
            target += "?" + "&".join(f"{k}={v}" for k, v in self.query.items())
        line = f"{self.method} {target} -> {self.status}"
        if self.json is not None:
            line += f" json={json.dumps(self.json, ensure_ascii=False, default=str)[:300]}"
        return line

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready form (the admin API's ``GET /__admin/requests``)."""
        return {
            "seq": self.seq,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.headers,
            "body": self.body.decode("utf-8", "replace"),
            "body_size": self.body_size,
            "body_truncated": self.body_truncated,
            "json": self.json,
            "status": self.status,
            "matched": self.matched,
            "step": self.step,
            "started_at": self.started_at,
            "duration_s": self.duration_s,
            "faults": list(self.faults),
            "stream": self.stream.to_json() if self.stream is not None else None,
        }

    def __repr__(self) -> str:
        return f"<Call {self.method} {self.path} -> {self.status}>"


@dataclass(frozen=True)
class RequestMatcher:
    """Criteria a journaled :class:`Call` must fit, built once; None stands for any.

    What :meth:`Journal.iter_matching`, :meth:`Journal.assert_request_made` and
    :meth:`Call.matches` compare with (as pytest-httpserver's ``RequestMatcher``)::

        chats = RequestMatcher("POST", "/api/chat", status=200)
        server.journal.assert_request_made(chats, count=1)
        created = [call for call in server.journal if chats.match(call)]

    Attributes:
        method: the HTTP method, any case.
        path: the request path, exactly (without the query).
        json: the body parsed as JSON, compared with ``==`` (``unittest.mock.ANY`` fits any value).
        query: query parameters that must all be present with these values (others may be too).
        status: the response status.
        step: the conversation step (``create_chat``, ``events``, ...).
    """

    method: str | None = None
    path: str | None = None
    _: KW_ONLY
    json: Any = None
    query: Mapping[str, Any] | None = None
    status: int | None = None
    step: str | None = None

    def match(self, call: Call) -> bool:
        """Whether ``call`` fits every criterion set."""
        return (
            (self.method is None or call.method.upper() == self.method.upper())
            and (self.path is None or call.path == self.path)
            and (self.json is None or call.json == self.json)
            and (self.query is None or all(call.query.get(k) == v for k, v in self.query.items()))
            and (self.status is None or call.status == self.status)
            and (self.step is None or call.step == self.step)
        )

    def describe(self) -> str:
        """The criteria in one line, as an assertion message shows them (``*``: any)."""
        wanted = f"{(self.method or '*').upper()} {self.path or '*'}"
        if self.query:
            wanted += " query⊇" + repr(dict(self.query))
        if self.json is not None:
            wanted += f" json={self.json!r}"
        if self.status is not None:
            wanted += f" status={self.status}"
        if self.step is not None:
            wanted += f" step={self.step}"
        return wanted


#: A request as the guard saw it, before redaction: (method, path, query string, headers
#: as ``name: value`` lines, body, content type, status, matched, step, started_at, duration_s,
#: fault kinds, the stream's frozen log (a tuple) or None, then the size of a body kept cut or
#: None). Only strings, bytes, numbers and tuples of them, so the garbage collector stops
#: tracking it: a load test's journal of many thousands of calls then costs it nothing.
Entry = tuple[Any, ...]
_HEADERS = 3  # where an entry keeps its header block
_MATCHED = 7  # where an entry keeps ``matched``


def raw_headers(item: Call | Entry) -> str | None:
    """The header block of a raw journal item as received (``Name: value`` lines joined by
    CRLF, secrets not redacted yet), or None when the item is a built :class:`Call` already.
    For the server's own use (the dashboard tells users apart by it); never shown."""
    return item[_HEADERS] if type(item) is tuple else None


class JournalWindow(NamedTuple):
    """Raw items of one page (see :meth:`Journal.window`): build each with :func:`call_of`."""

    items: list[tuple[int, Call | Entry]]
    next_after: int
    has_more: bool
    missed: int
    dropped: int


class JournalPage(NamedTuple):
    """One page of the journal (:meth:`Journal.page`).

    Attributes:
        calls: up to ``limit`` calls, oldest first, each after the ``after`` asked.
        next_after: the ``after`` of the next page: the last call's ``seq``, or (no call) the
            newest id the journal has given, so polling with it sees only new calls.
        has_more: more calls are retained after this page (fetch again at once).
        missed: calls after ``after`` that were dropped (or cleared) before this read.
        dropped: calls dropped by the journal's limit since it was last cleared.
    """

    calls: list[Call]
    next_after: int
    has_more: bool
    missed: int
    dropped: int


def _check_limit(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{name} must be an integer >= 0 (0: no limit), got {value!r}")


class Journal:
    """The calls received, oldest first, at most ``limit`` of them. Thread-safe to read.

    Args:
        limit: the most entries kept (0: no limit); past it the oldest is dropped and counted
            in :attr:`dropped`.
        body_limit: the most bytes of a body kept (0: no limit); a longer body is kept cut,
            ending with :data:`TRUNCATED_MARKER`. The header block is held to it too (whole
            lines, then an ``X-OA-Mock-Journal`` line saying so).

    The server appends raw :data:`Entry` tuples (:meth:`record_request`); each becomes a
    redacted :class:`Call` the first time :attr:`calls` (or :attr:`last`) asks, and stays one.
    Pages (:meth:`page`, the admin API) build their calls afresh and keep none: a journal read
    over HTTP leaves the journal as compact as it was.

    Why a list with dead slots in front: dropping the oldest entry sets its slot to None and
    moves the head index past it; the slots are cut away in one go once they are many, so a
    drop costs O(1) whatever the limit, and a page is found by index from its sequence id.
    """

    def __init__(self, limit: int = 0, *, body_limit: int = 0) -> None:
        _check_limit("journal limit", limit)
        _check_limit("journal body limit", body_limit)
        self.limit = limit
        self.body_limit = body_limit
        self._lock = threading.Lock()  # held briefly: the server appends under it
        self._read_lock = threading.Lock()
        self._items: list[Call | Entry | None] = []
        self._head = 0  # index of the oldest entry kept
        self._first_seq = 1  # the sequence id of _items[_head]
        self._dropped = 0
        self._dropped_unmatched = 0

    @property
    def calls(self) -> list[Call]:
        """A snapshot of every call kept, oldest first."""
        # Built outside the lock the server appends under: building thousands of calls takes
        # seconds, and a server on another thread (ThreadedMockServer) must not wait for it.
        with self._read_lock:  # readers in turn, so each call is built once
            with self._lock:
                first, kept = self._first_seq, self._items[self._head :]
            calls = [call_of(first + i, item) for i, item in enumerate(kept)]  # type: ignore[arg-type]
            with self._lock:  # keep what was built, where its entry still is
                items, offset = self._items, self._head - self._first_seq
                for seq, entry, call in zip(itertools.count(first), kept, calls):
                    index = seq + offset
                    if entry is not call and self._head <= index < len(items) and (
                        items[index] is entry
                    ):
                        items[index] = call
            return calls

    def record_request(
        self,
        *,
        method: str,
        path: str,
        query_string: str,
        headers: Mapping[str, str],
        body: bytes,
        content_type: str | None,
        status: int,
        matched: bool,
        step: str | None,
        started_at: float,
        duration_s: float,
        faults: tuple[str, ...],
        stream: StreamLog | None,
    ) -> None:
        """Append one request as the server saw it; secrets are redacted before it is read."""
        # Why flat strings: objects the collector tracks (a multidict, a tuple per header) would
        # each stay in it for the server's life; a load test's journal then made every
        # collection slower. Header values hold no CR or LF (HTTP parsers reject them).
        header_text = "\r\n".join(map(": ".join, headers.items()))
        body_size = None
        limit = self.body_limit
        if limit:
            if len(body) > limit:
                body_size = len(body)
                body = _cut_body(body, limit, content_type)
            if len(header_text) > limit:
                header_text = _cut_headers(header_text, limit)
        entry = (
            method, path, query_string, header_text, body, content_type, status, matched, step,
            started_at, duration_s, faults, stream.freeze() if stream is not None else None,
            body_size,
        )  # fmt: skip
        with self._lock:
            self._append(entry)

    def _append(self, item: Call | Entry) -> None:
        items = self._items
        items.append(item)
        if self.limit and len(items) - self._head > self.limit:
            head = self._head
            oldest = items[head]
            items[head] = None
            self._head = head = head + 1
            self._first_seq += 1
            self._dropped += 1
            if not _is_matched(oldest):
                self._dropped_unmatched += 1
            if head >= _COMPACT_AT and 2 * head >= len(items):
                del items[:head]
                self._head = 0

    def clear(self) -> int:
        """Forget every call and the drop counts; return how many calls were kept.

        Sequence ids go on from where they were, so a reader's ``after`` stays meaningful.
        """
        with self._lock:
            count = len(self._items) - self._head
            self._first_seq += count
            self._items = []
            self._head = self._dropped = self._dropped_unmatched = 0
            return count

    @property
    def call_count(self) -> int:
        """How many calls are kept now (recorded since the last clear, less :attr:`dropped`)."""
        with self._lock:
            return len(self._items) - self._head

    @property
    def dropped(self) -> int:
        """How many calls the limit dropped (oldest first) since the journal was last cleared."""
        return self._dropped

    @property
    def dropped_unmatched(self) -> int:
        """How many of the :attr:`dropped` calls were requests no route matched."""
        return self._dropped_unmatched

    @property
    def last_seq(self) -> int:
        """The sequence id of the newest call recorded (0 before the first)."""
        with self._lock:
            return self._first_seq + len(self._items) - self._head - 1

    @property
    def called(self) -> bool:
        """Whether any call is kept."""
        return len(self) > 0

    @property
    def last(self) -> Call | None:
        """The most recent call, or None."""
        with self._lock:
            items = self._items
            index = len(items) - 1
            if index < self._head:
                return None
            item = items[index]
            if type(item) is tuple:
                item = items[index] = _call_of(item, self._first_seq + index - self._head)
            return item  # type: ignore[return-value]  # made a Call just above

    def unmatched(self) -> list[Call]:
        """The calls kept that no route matched, oldest first (only those are built)."""
        with self._lock:
            first = self._first_seq
            missed = [
                (first + index, item)
                for index, item in enumerate(self._items[self._head :])
                if not _is_matched(item)
            ]
        return [call_of(seq, item) for seq, item in missed]  # type: ignore[arg-type]

    def window(self, after: int = 0, limit: int = DEFAULT_PAGE_SIZE) -> JournalWindow:
        """The raw items of :meth:`page` (no call built yet: build them with :func:`call_of`).

        Raises:
            JournalPageError: ``after`` or ``limit`` is out of range.
        """
        _check_page(after, limit)
        with self._lock:
            kept = len(self._items) - self._head
            last_seq = self._first_seq + kept - 1
            if after > last_seq:
                raise JournalPageError(
                    f"after={after} is past the newest sequence id, {last_seq}: use the "
                    "next_after of the last page (after=0 reads from the oldest call kept)"
                )
            first = max(after + 1, self._first_seq)
            start = self._head + first - self._first_seq
            stop = min(start + limit, len(self._items))
            picked = self._items[start:stop]
            dropped = self._dropped
        items = [(first + i, item) for i, item in enumerate(picked) if item is not None]
        next_after = items[-1][0] if items else last_seq
        missed = (items[0][0] if items else last_seq + 1) - after - 1
        return JournalWindow(items, next_after, next_after < last_seq, missed, dropped)

    def page(self, after: int = 0, limit: int = DEFAULT_PAGE_SIZE) -> JournalPage:
        """Up to ``limit`` calls with a sequence id above ``after``, oldest first.

        Read the whole journal page by page, or poll it for new calls::

            page = journal.page()
            while page.has_more:
                page = journal.page(after=page.next_after)

        ``limit`` is 1 to :data:`MAX_PAGE_SIZE`. Raises JournalPageError for a bad ``after``
        (below 0, or past the newest id: a cursor from an earlier server) or ``limit``.
        """
        window = self.window(after, limit)
        calls = [call_of(seq, item) for seq, item in window.items]
        return JournalPage(calls, *window[1:])

    def __len__(self) -> int:
        return self.call_count

    def __iter__(self) -> Iterator[Call]:
        return iter(self.calls)

    def iter_matching(
        self,
        method: str | RequestMatcher | None = None,
        path: str | None = None,
        *,
        json: Any = None,
        query: Mapping[str, Any] | None = None,
        status: int | None = None,
        step: str | None = None,
    ) -> Iterator[Call]:
        """The calls that fit every criterion given (or one :class:`RequestMatcher`), oldest first.

        Raises:
            TypeError: a :class:`RequestMatcher` was given with other criteria.
        """
        matcher = _matcher_of(method, path, json=json, query=query, status=status, step=step)
        return filter(matcher.match, self.calls)

    def assert_request_made(
        self,
        method: str | RequestMatcher,
        path: str | None = None,
        *,
        count: int | None = None,
        json: Any = None,
        query: Mapping[str, Any] | None = None,
        status: int | None = None,
    ) -> list[Call]:
        """Assert the server saw such a request (``count`` times exactly, or at least once).

        Give ``method`` and ``path`` (and any of ``json``, ``query``, ``status``), or one
        :class:`RequestMatcher` in their place. Returns the matching calls. Raises
        AssertionError listing the nearest requests it saw; TypeError for a method without a
        path, or a matcher with other criteria.
        """
        __tracebackhide__ = True  # pytest shows the caller's line, not ours
        if not isinstance(method, RequestMatcher) and path is None:
            raise TypeError("assert_request_made needs a path, or one RequestMatcher")
        matcher = _matcher_of(method, path, json=json, query=query, status=status)
        found = [call for call in self.calls if matcher.match(call)]
        if (count is None and found) or (count is not None and len(found) == count):
            return found
        expected = "at least once" if count is None else f"{count} time(s)"
        raise AssertionError(
            f"expected {matcher.describe()} {expected}, saw it {len(found)} time(s).\n"
            + self._nearest_text(matcher)
        )

    def _nearest_text(self, matcher: RequestMatcher) -> str:
        calls = self.calls
        if not calls:
            return "The server received no request at all."
        method, path = (matcher.method or "").upper(), matcher.path or ""
        target = f"{method} {path}"

        def score(call: Call) -> float:
            same = (call.method.upper() == method) + (call.path == path)
            seen = f"{call.method} {call.path}"
            return same + difflib.SequenceMatcher(None, target, seen).ratio()

        nearest = sorted(calls, key=score, reverse=True)[:_NEAREST]
        lines = "\n".join(f"  {call.describe()}" for call in nearest)
        return f"Nearest requests the server received ({len(calls)} in all):\n{lines}"


def _matcher_of(
    method: str | RequestMatcher | None, path: str | None, **criteria: Any
) -> RequestMatcher:
    """``method`` when it is a matcher (then nothing else may be given), else a matcher of all."""
    if not isinstance(method, RequestMatcher):
        return RequestMatcher(method, path, **criteria)
    if path is not None or any(value is not None for value in criteria.values()):
        raise TypeError("give one RequestMatcher, or criteria (method, path, json=...), not both")
    return method


def _check_page(after: int, limit: int) -> None:
    if isinstance(after, bool) or not isinstance(after, int) or after < 0:
        raise JournalPageError(f"after must be a sequence id >= 0 (0: the start), got {after!r}")
    if (
        isinstance(limit, bool)
        or not isinstance(limit, int)
        or not 1 <= limit <= MAX_PAGE_SIZE
    ):
        raise JournalPageError(f"limit must be an integer in 1..{MAX_PAGE_SIZE}, got {limit!r}")


def _is_matched(item: Call | Entry | None) -> bool:
    if type(item) is tuple:
        return bool(item[_MATCHED])
    return item is None or item.matched  # type: ignore[union-attr]  # a Call


#: How far past the cut a long body is redacted. A secret that starts before the cut and is
#: shorter than this is redacted whole before the cut is made; the rest of the body is never
#: looked at, so a megabyte body costs the request path a prefix's redaction (about 0.5 ms),
#: not the whole body's (about 45 ms, a stall for every other stream).
REDACT_PAST_CUT = 16 * 1024


def _cut_body(body: bytes, limit: int, content_type: str | None) -> bytes:
    """The first ``limit`` bytes of ``body``, secrets redacted, then the marker.

    Redacted before the cut, over ``limit + REDACT_PAST_CUT`` bytes: cut at ``limit`` first, a
    secret under the cut would be split and no longer found. The redactor reads JSON cut short
    (a secret key's value of any type is still found by its key).
    """
    whole = len(body) <= limit + REDACT_PAST_CUT
    redacted = _REDACTOR.body(body if whole else body[: limit + REDACT_PAST_CUT], content_type)
    if whole and len(redacted) <= limit:
        return redacted
    cut = min(limit, len(redacted))
    while 0 < cut < len(redacted) and redacted[cut] & 0xC0 == 0x80:  # never inside a character
        cut -= 1
    return redacted[:cut] + TRUNCATED_MARKER.format(kept=cut, size=len(body)).encode()


def _cut_headers(text: str, limit: int) -> str:
    """Whole header lines up to ``limit`` characters, then a line saying the rest was cut.

    Whole lines: a name cut short would no longer be recognised as a secret header's.
    """
    end = text.rfind("\r\n", 0, limit + 1)
    kept = text[: max(end, 0)]
    marker = _HEADERS_MARKER.format(kept=len(kept), size=len(text))
    return f"{kept}\r\n{marker}" if kept else marker


def call_of(seq: int, item: Call | Entry) -> Call:
    """The :class:`Call` of a journal item (a raw entry is built, redacted; a call is itself)."""
    if type(item) is tuple:
        return _call_of(item, seq)
    return item  # type: ignore[return-value]  # a Call


def _call_of(entry: Entry, seq: int, *, summary: bool = False) -> Call:
    """Build a raw entry's :class:`Call`: whole and redacted, or a summary without headers and
    body (only the query is redacted then, a fraction of the cost)."""
    (method, path, query_string, headers, body, content_type, status, matched, step, started_at,
     duration_s, faults, stream, body_size) = entry  # fmt: skip
    return Call.build(
        method=method,
        path=path,
        query=URL.build(query_string=query_string, encoded=True).query,
        headers=()
        if summary
        else [
            (name, value)
            for name, _, value in (line.partition(": ") for line in headers.split("\r\n") if line)
        ],
        body=b"" if summary else body,
        content_type=content_type,
        status=status,
        matched=matched,
        step=step,
        started_at=started_at,
        duration_s=duration_s,
        faults=faults,
        stream=StreamLog.thaw(stream) if stream is not None else None,
        seq=seq,
        body_size=len(body) if body_size is None else body_size,
        body_truncated=body_size is not None,
    )


def call_summary(seq: int, item: Call | Entry) -> Call:
    """The :class:`Call` of a journal item without its headers and body (``body_size`` kept):
    what a list of requests shows. Only the query is redacted, so a summary costs a fraction of
    :func:`call_of` (which redacts the body and every header)."""
    if isinstance(item, Call):
        return dataclasses.replace(item, headers={}, body=b"")
    return _call_of(item, seq, summary=True)
