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
"""

from __future__ import annotations

import difflib
import functools
import json
import struct
import threading
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from yarl import URL

from ._redact import REDACTED, Redactor

__all__ = [
    "REDACTED",
    "SECRET_HEADERS",
    "Call",
    "ChunkRecord",
    "Journal",
    "StreamLog",
    "chunk_kind",
    "redact_headers",
]

_REDACTOR = Redactor.default()
#: Header names (lower case) whose values are secrets: the cassette redactor's own list.
SECRET_HEADERS = _REDACTOR.headers
_NEAREST = 5


def redact_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Headers as a dict with secret values replaced (repeated names joined with ``, ``)."""
    result: dict[str, str] = {}
    for name, value in headers:
        shown = REDACTED if name.lower() in SECRET_HEADERS else value
        result[name] = f"{result[name]}, {shown}" if name in result else shown
    return result


def _redact_query_value(name: str, value: str) -> str:
    if name.lower() in _REDACTOR.query_params:
        return REDACTED
    return _REDACTOR.text(value)


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
    and the chunk itself (the generation's own bytes, not a copy) in :attr:`data`. When it ends,
    :meth:`freeze` keeps only each chunk's size and kind. Why: a journal keeps every stream of a
    load test, and keeping the chunks (each reply's unique final event among them) made the
    server measurably slower the longer it ran; :attr:`chunks` needs no more than this.
    """

    __slots__ = (
        "_codes",
        "_generated",
        "_others",
        "_sizes",
        "_started",
        "client_disconnected",
        "data",
        "final_written",
        "times",
    )

    def __init__(self, started: float = 0.0) -> None:
        self._started = started
        # a list while the stream runs: appending a float to an array("d") parses it each time
        self.times: list[float] = []
        self.data: list[bytes] = []
        self._sizes: Sequence[int] | None = None
        self._codes = b""
        self._generated = False  # see tokens_then_message
        self._others: dict[int, str] | None = None
        self.client_disconnected = False
        self.final_written = False

    def start(self, at: float) -> None:
        """Set the time the response started (``time.monotonic()``)."""
        self._started = at

    def add(self, at: float, chunk: bytes) -> None:
        """Record one chunk written at ``at``."""
        self.times.append(at)
        self.data.append(chunk)

    def freeze(self) -> tuple[Any, ...]:
        """The finished log as flat, compact values (see :data:`Entry`): no chunk bytes.

        Times and sizes are packed as C doubles and unsigned ints: an entry of bytes, numbers and
        strings is one the garbage collector stops tracking (lists and arrays are tracked).
        """
        sizes, codes, others = self._compact()
        count = len(sizes)
        return (
            self._started, struct.pack(f"{count}d", *self.times), struct.pack(f"{count}I", *sizes),
            codes, others, self.client_disconnected, self.final_written,
        )  # fmt: skip

    @classmethod
    def thaw(cls, frozen: tuple[Any, ...]) -> StreamLog:
        """The log :meth:`freeze` made (read-only: it has sizes and kinds, not chunks)."""
        log = cls(frozen[0])
        times, sizes = array("d"), array("I")
        times.frombytes(frozen[1])
        sizes.frombytes(frozen[2])
        log.times = times.tolist()
        log._sizes, log._codes, log._others = sizes.tolist(), frozen[3], frozen[4]
        log.client_disconnected, log.final_written = frozen[5], frozen[6]
        return log

    def tokens_then_message(self) -> None:
        """Declare the stream token events, then (if :attr:`final_written`) one ``message``.

        What a generated reply's stream is; it spares :meth:`freeze` looking at each chunk.
        """
        self._generated = True

    def _compact(self) -> tuple[Sequence[int], bytes, dict[int, str] | None]:
        if self._sizes is not None:
            return self._sizes, self._codes, self._others
        data = self.data
        sizes = list(map(len, data))
        if self._generated:
            if self.final_written:
                return sizes, bytes(len(data) - 1) + _MESSAGE_CODE, None
            return sizes, bytes(len(data)), None  # cut short: the message never went out
        try:  # the common case: every chunk but the last is a token event seen before
            codes = bytes(map(_CHUNK_CODES.__getitem__, data[:-1]))
            codes += bytes(map(_code_of, data[-1:]))
        except KeyError:
            codes = bytes(map(_code_of, data))
        others = None
        if _OTHER in codes:
            others = {i: chunk_kind(data[i]) for i, code in enumerate(codes) if code == _OTHER}
        return sizes, codes, others

    def _kinds(self) -> list[str]:
        _, codes, others = self._compact()
        kinds = [_KINDS[code] if code != _OTHER else "" for code in codes]
        for index, kind in (others or {}).items():
            kinds[index] = kind
        return kinds

    @property
    def chunks(self) -> list[ChunkRecord]:
        """Every chunk written, with its offset, time, size and kind."""
        started = self._started
        sizes = self._compact()[0]
        return [
            ChunkRecord(at - started, at, size, kind)
            for at, size, kind in zip(self.times, sizes, self._kinds(), strict=True)
        ]

    @property
    def tokens_written(self) -> int:
        """How many token events were written."""
        return self._compact()[1].count(_KIND_CODES["token"])

    @property
    def last_token_at(self) -> float | None:
        """``time.monotonic()`` of the last token written, or None."""
        index = self._compact()[1].rfind(_KIND_CODES["token"])
        return self.times[index] if index >= 0 else None

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


#: The kinds a chunk has most often, as one-byte codes (anything else: _OTHER and its name).
_KINDS = (
    "token", "ping", "message", "pending", "error", "safe_prompt", "plugin_intermediate", "raw",
)  # fmt: skip
_KIND_CODES = {kind: code for code, kind in enumerate(_KINDS)}
_OTHER = 255
_MESSAGE_CODE = bytes([_KIND_CODES["message"]])
#: Codes of token events already seen: replies share their token chunks (see _wire), so after
#: the first replies most chunks are found here. Bounded: unique chunks are never kept.
_CHUNK_CODES: dict[bytes, int] = {}
_CHUNK_CODES_MAX = 8192


def _code_of(chunk: bytes) -> int:
    code = _CHUNK_CODES.get(chunk)
    if code is None:
        code = _KIND_CODES.get(chunk_kind(chunk), _OTHER)
        if code == 0 and len(_CHUNK_CODES) < _CHUNK_CODES_MAX:
            _CHUNK_CODES[chunk] = code
    return code


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
        matched: bool = True,
        step: str | None = None,
        started_at: float = 0.0,
        duration_s: float = 0.0,
        faults: Iterable[str] = (),
        stream: StreamLog | None = None,
        content_type: str | None = None,
    ) -> Call:
        """A call with secrets redacted and the body parsed when it is JSON."""
        body = _REDACTOR.body(body, content_type) if body else body
        return cls(
            method=method,
            path=path,
            query={k: _redact_query_value(k, v) for k, v in query.items()},
            headers=redact_headers(headers),
            body=body,
            status=status,
            matched=matched,
            step=step,
            started_at=started_at,
            duration_s=duration_s,
            faults=tuple(faults),
            stream=stream,
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
        """Whether this call fits every criterion given (None: any)."""
        return (
            (method is None or self.method.upper() == method.upper())
            and (path is None or self.path == path)
            and (json is None or self.json == json)
            and (query is None or all(self.query.get(k) == v for k, v in query.items()))
            and (status is None or self.status == status)
            and (step is None or self.step == step)
        )

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
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.headers,
            "body": self.body.decode("utf-8", "replace"),
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


#: A request as the guard saw it, before redaction: (method, path, query string, headers
#: as ``name: value`` lines, body, content type, status, matched, step, started_at, duration_s,
#: fault kinds, then the stream's frozen log, a tuple, or None). Only strings, bytes, numbers
#: and tuples of them, so the garbage collector stops tracking it: a load test's journal of
#: many thousands of calls then costs it nothing.
Entry = tuple[Any, ...]


class Journal:
    """The calls received so far, oldest first. Thread-safe to read while the server runs.

    The server appends raw :data:`Entry` tuples (:meth:`record_request`); each becomes a
    redacted :class:`Call` the first time any reader asks for the calls, and stays one.

    Why the server appends without the lock: ``list.append`` is atomic, and the list only grows
    between two :meth:`clear` calls. Readers take the lock among themselves, fix the length they
    read first, and touch items by index below it, so an append racing them is simply not seen
    until the next read.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[Call | Entry] = []

    @property
    def calls(self) -> list[Call]:
        """A snapshot of every call, oldest first."""
        with self._lock:
            calls = self._calls
            count = len(calls)
            for index in range(count):
                item = calls[index]
                if type(item) is tuple:
                    calls[index] = _call_of(item)
            return calls[:count]  # type: ignore[return-value]  # each a Call now

    def record(self, call: Call) -> None:
        """Append one call."""
        with self._lock:
            self._calls.append(call)

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
        entry = (
            method, path, query_string, "\r\n".join(map(": ".join, headers.items())), body,
            content_type, status, matched, step, started_at, duration_s, faults,
            stream.freeze() if stream is not None else None,
        )  # fmt: skip
        self._calls.append(entry)  # no lock: see the class

    def clear(self) -> int:
        """Forget every call; return how many there were."""
        with self._lock:
            count = len(self._calls)
            self._calls.clear()
            return count

    @property
    def call_count(self) -> int:
        """How many calls were recorded."""
        return len(self._calls)

    @property
    def called(self) -> bool:
        """Whether any call was recorded."""
        return bool(self._calls)

    @property
    def last(self) -> Call | None:
        """The most recent call, or None."""
        with self._lock:
            calls = self._calls
            index = len(calls) - 1  # fixed first: an append may come while we convert
            if index < 0:
                return None
            item = calls[index]
            if type(item) is tuple:
                item = calls[index] = _call_of(item)
            return item  # type: ignore[return-value]  # made a Call just above

    def __len__(self) -> int:
        return len(self._calls)

    def __iter__(self) -> Iterator[Call]:
        return iter(self.calls)

    def iter_matching(
        self,
        method: str | None = None,
        path: str | None = None,
        *,
        json: Any = None,
        query: Mapping[str, Any] | None = None,
        status: int | None = None,
        step: str | None = None,
    ) -> Iterator[Call]:
        """The calls that fit every criterion given, oldest first."""
        for call in self.calls:
            if call.matches(method, path, json=json, query=query, status=status, step=step):
                yield call

    def assert_request_made(
        self,
        method: str,
        path: str,
        *,
        count: int | None = None,
        json: Any = None,
        query: Mapping[str, Any] | None = None,
        status: int | None = None,
    ) -> list[Call]:
        """Assert the server saw such a request (``count`` times exactly, or at least once).

        Returns the matching calls. Raises AssertionError listing the nearest requests it saw.
        """
        __tracebackhide__ = True  # pytest shows the caller's line, not ours
        found = list(self.iter_matching(method, path, json=json, query=query, status=status))
        if (count is None and found) or (count is not None and len(found) == count):
            return found
        wanted = f"{method.upper()} {path}"
        if query:
            wanted += " query⊇" + repr(dict(query))
        if json is not None:
            wanted += f" json={json!r}"
        if status is not None:
            wanted += f" status={status}"
        expected = "at least once" if count is None else f"{count} time(s)"
        raise AssertionError(
            f"expected {wanted} {expected}, saw it {len(found)} time(s).\n"
            + self._nearest_text(method, path)
        )

    def _nearest_text(self, method: str, path: str) -> str:
        calls = self.calls
        if not calls:
            return "The server received no request at all."
        target = f"{method.upper()} {path}"

        def score(call: Call) -> float:
            same = (call.method.upper() == method.upper()) + (call.path == path)
            seen = f"{call.method} {call.path}"
            return same + difflib.SequenceMatcher(None, target, seen).ratio()

        nearest = sorted(calls, key=score, reverse=True)[:_NEAREST]
        lines = "\n".join(f"  {call.describe()}" for call in nearest)
        return f"Nearest requests the server received ({len(calls)} in all):\n{lines}"


def _call_of(entry: Entry) -> Call:
    (method, path, query_string, headers, body, content_type, status, matched, step, started_at,
     duration_s, faults, stream) = entry  # fmt: skip
    return Call.build(
        method=method,
        path=path,
        query=URL.build(query_string=query_string, encoded=True).query,
        headers=[
            (name, value)
            for name, _, value in (line.partition(": ") for line in headers.split("\r\n") if line)
        ],
        body=body,
        content_type=content_type,
        status=status,
        matched=matched,
        step=step,
        started_at=started_at,
        duration_s=duration_s,
        faults=faults,
        stream=StreamLog.thaw(stream) if stream is not None else None,
    )
