"""HAR 1.2 → cassette (pure: no aiohttp, no file I/O): a browser's session as a replayable cassette.

A HAR file is what a browser's DevTools write ("Save all as HAR with content") and what
Playwright writes with ``record_har_path``; gpt4free's users keep them for their sessions.
:func:`har_to_cassette` turns one into the cassette the recording proxy would have written for
the same exchanges:

* only the web site's routes (``/api/chat`` and ``/api/chat/...``) of one host are kept: the host
  given, else the first one that served such a route. Every other entry is skipped and counted
  by reason (another host, another route, a request that never got an answer: status 0);
* entries are ordered by ``startedDateTime`` (stable; HAR writers mostly list them so already),
  and numbered into episodes as the recorder does (a chat creation starts one);
* headers keep their order and case, without HTTP/2 pseudo-headers (``:authority``), hop-by-hop
  ones, ``Host``, ``Content-Length`` and the response's ``Content-Encoding`` (a HAR holds the
  decoded body). A request whose cookies the HAR lists apart (``request.cookies``) but not as a
  header gets its ``Cookie`` header back, so the cassette shows what was sent;
* an event stream's body (``text/event-stream``) is split into its events, one chunk each (its
  blank line included), as the real server writes them. A HAR keeps no time per event: the chunks
  are spread evenly over the entry's ``timings.receive`` (the time from the response headers to
  its last byte, what a cassette's chunk offsets count), the last one at its end; without timings
  they are all at 0;
* secrets go before anything is returned, with the recorder's rules (:class:`Redactor`): cookies,
  ``Authorization``, tokens in bodies, URIs and events.

A broken file raises :class:`HarError` (the document: not JSON, not HAR 1.2, no ``log.entries``)
or :class:`HarEntryError` (one entry: no request or response, a body that is not valid base64,
a field of the wrong type), each naming the file, the entry and what to do.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from .._exceptions import HarEntryError, HarError
from ._cassette import (
    UNRECORDED_HEADERS,
    Cassette,
    Chunk,
    RecordedRequest,
    RecordedResponse,
    recorded_cassette,
)
from ._redact import Redactor, redact_interaction

__all__ = [
    "HAR_VERSIONS",
    "SKIP_REASONS",
    "HarImport",
    "har_to_cassette",
    "is_web_route",
    "parse_har",
    "split_events",
]

#: The HAR versions read (1.1 differs from 1.2 only in optional fields).
HAR_VERSIONS = ("1.1", "1.2")
#: Why an entry is left out, as counted in :attr:`HarImport.skipped`.
SKIP_REASONS = ("another host", "another route", "no response")

# What the recording proxy drops too (a cassette holds no hop-by-hop header), plus what a HAR's
# decoded body makes wrong.
_DROPPED_RESPONSE = UNRECORDED_HEADERS | {"content-encoding"}
_LINE_END = re.compile(rb"\r\n|\r|\n")
_FRACTION = re.compile(r"\.(\d+)")
_COLONLESS_OFFSET = re.compile(r"(T[^+-]*[+-]\d\d)(\d\d)$")


@dataclass(frozen=True, slots=True, kw_only=True)
class HarImport:
    """The cassette made of a HAR file, and what was left out.

    Attributes:
        cassette: the redacted cassette (episodes numbered, ``metadata`` naming the HAR).
        host: the host (``host:port``) whose entries were kept.
        skipped: entries left out, by reason (see :data:`SKIP_REASONS`); reasons with none absent.
        path: the cassette file written (:func:`import_har`), None when only converted.
    """

    cassette: Cassette
    host: str
    skipped: Mapping[str, int] = field(default_factory=dict)
    path: str | None = None

    @property
    def imported(self) -> int:
        """The number of entries kept."""
        return len(self.cassette.interactions)

    def summary(self) -> str:
        """What was kept and what was skipped, by reason, in a line or two."""
        episodes = len(self.cassette.episodes)
        text = f"{self.imported} entries of {self.host} ({episodes} episode(s))"
        if self.path:
            text += f" into {self.path}"
        total = sum(self.skipped.values())
        if total:
            parts = ", ".join(f"{n} of {reason}" for reason, n in self.skipped.items())
            text += f"\nskipped {total} entries: {parts}"
        return text


def split_events(body: bytes) -> list[bytes]:
    """An event stream's bytes cut after each event's blank line (CRLF, LF or CR line ends).

    The pieces join to ``body``; text after the last blank line (an event cut short) is the last
    piece.
    """
    pieces: list[bytes] = []
    start = 0  # where the current event starts
    line_start = 0
    for match in _LINE_END.finditer(body):
        if match.start() == line_start and line_start > start:
            pieces.append(body[start : match.end()])  # an empty line ends the event
            start = match.end()
        line_start = match.end()
    if start < len(body):
        pieces.append(body[start:])
    return pieces


def parse_har(text: str | bytes, path: str | None = None) -> list[Mapping[str, Any]]:
    """The entries of a HAR document (its ``log.entries``), checked to be a HAR 1.1/1.2 log.

    Raises:
        HarError: not UTF-8, not JSON, no ``log`` object, another version, or ``log.entries``
            missing or not a list.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise HarError(
                f"not UTF-8 text (byte {exc.start}); a HAR file is JSON: save it again from "
                "the browser's DevTools (Network: 'Save all as HAR with content')",
                path=path,
            ) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HarError(
            f"not JSON (line {exc.lineno} column {exc.colno}: {exc.msg}); a HAR file is JSON: "
            "save it again from the browser's DevTools (Network: 'Save all as HAR with content')",
            path=path,
        ) from None
    log = document.get("log") if isinstance(document, dict) else None
    if not isinstance(log, dict):
        raise HarError(
            "no 'log' object at the top: this is not a HAR file (HAR 1.2: "
            '{"log": {"version": "1.2", "entries": [...]}})',
            path=path,
        )
    version = log.get("version")
    if version not in HAR_VERSIONS:
        raise HarError(
            f"HAR version {version!r} is not supported: this tool reads HAR "
            f"{' and '.join(HAR_VERSIONS)} (log.version); export the file again as HAR",
            path=path,
        )
    entries = log.get("entries")
    if not isinstance(entries, list):
        raise HarError(
            "log.entries is missing or not a list: the file holds no request; record the "
            "session again with the Network panel open",
            path=path,
        )
    return entries


class _Entry:
    """One HAR entry, read field by field with errors that name it."""

    def __init__(self, raw: object, index: int, path: str | None) -> None:
        self.index = index
        self.path = path
        entry = self.mapping(raw, "the entry")
        self.request = self.mapping(entry.get("request"), "request")
        self.response = self.mapping(entry.get("response"), "response")
        self.started = self.start_time(entry.get("startedDateTime"))
        timings = entry.get("timings")
        self.timings: Mapping[str, Any] = timings if isinstance(timings, dict) else {}
        self.url = self.text(self.request.get("url"), "request.url")
        parts = urlsplit(self.url)
        try:
            port = parts.port
        except ValueError:
            raise self.fail("request.url has a port that is not a number") from None
        # host[:port] without userinfo: the host is printed, a password in a URL must not be
        self.host = (parts.hostname or "") + (f":{port}" if port is not None else "")
        self.route_path = parts.path
        status = self.response.get("status")
        if not isinstance(status, int) or isinstance(status, bool):
            raise self.fail(f"response.status must be a number, not {status!r}")
        self.status = status

    def fail(self, message: str) -> HarEntryError:
        return HarEntryError(message, path=self.path, entry=self.index)

    def mapping(self, value: object, what: str) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            found = "missing" if value is None else f"a {type(value).__name__}"
            raise self.fail(
                f"{what} is {found}, not an object; a HAR entry needs a request and a response: "
                "export the session again"
            )
        return value

    def text(self, value: object, what: str) -> str:
        if not isinstance(value, str):
            raise self.fail(f"{what} must be a string, not {type(value).__name__}")
        return value

    def start_time(self, value: object) -> datetime | None:
        if value is None:
            return None
        text = self.text(value, "startedDateTime")
        # Python 3.10's fromisoformat reads neither "Z" (every browser writes it), nor fractions
        # of other than 3 or 6 digits (.NET tools write 7), nor an offset without its colon
        # ("+0100"): normalise all three first.
        text = _FRACTION.sub(
            lambda m: "." + (m.group(1) + "000000")[:6], text.replace("Z", "+00:00")
        )
        text = _COLONLESS_OFFSET.sub(r"\1:\2", text)
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            raise self.fail(
                f"startedDateTime {value!r} is not an ISO 8601 date such as "
                "'2024-01-31T12:00:00.000Z'"
            ) from None

    def headers(
        self, raw: Mapping[str, Any], what: str, dropped: frozenset[str]
    ) -> list[tuple[str, str]]:
        value = raw.get("headers", [])
        if not isinstance(value, list):
            raise self.fail(f"{what}.headers must be a list of {{name, value}} objects")
        pairs: list[tuple[str, str]] = []
        for item in value:
            if (
                not isinstance(item, dict)
                or not isinstance(item.get("name"), str)
                or not isinstance(item.get("value"), str)
            ):
                raise self.fail(f"{what}.headers must be a list of {{name, value}} strings")
            name = item["name"]
            if name.startswith(":") or name.lower() in dropped:
                continue
            pairs.append((name, item["value"]))
        return pairs

    def decoded(self, holder: Mapping[str, Any], what: str) -> bytes | None:
        text = holder.get("text")
        if text is None:
            return None
        text = self.text(text, f"{what}.text")
        encoding = holder.get("encoding")
        if encoding in (None, ""):
            try:
                return text.encode("utf-8")
            except UnicodeEncodeError:
                raise self.fail(f"{what}.text holds a lone surrogate, not text") from None
        if encoding != "base64":
            raise self.fail(
                f"{what}.encoding {encoding!r} is unknown: HAR bodies are text or 'base64'"
            )
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise self.fail(
                f"{what}.text is not valid base64 although {what}.encoding says so; "
                "export the session again (the file was cut or edited)"
            ) from None

    def recorded_request(self) -> RecordedRequest:
        headers = self.headers(self.request, "request", UNRECORDED_HEADERS)
        cookies = self.request.get("cookies")
        if (
            isinstance(cookies, list)
            and cookies
            and not any(n.lower() == "cookie" for n, _ in headers)
        ):
            pairs = [
                f"{c['name']}={c.get('value', '')}"
                for c in cookies
                if isinstance(c, dict) and isinstance(c.get("name"), str)
            ]
            if pairs:
                headers.append(("Cookie", "; ".join(pairs)))
        post = self.request.get("postData")
        body = None
        if post is not None:
            body = self.decoded(self.mapping(post, "request.postData"), "request.postData")
        return RecordedRequest(
            method=self.text(self.request.get("method"), "request.method").upper(),
            uri=self.url,
            body=body or None,
            headers=tuple(headers),
        )

    def recorded_response(self) -> RecordedResponse:
        content = self.response.get("content", {})
        content = self.mapping(content, "response.content")
        body = self.decoded(content, "response.content")
        size = content.get("size")
        if body is None and isinstance(size, int) and size > 0:
            raise self.fail(
                f"the response body ({size} bytes) was not saved (response.content.text is "
                "missing): export with content (DevTools: 'Save all as HAR with content'; "
                "Playwright: record_har_content='embed')"
            )
        headers = self.headers(self.response, "response", _DROPPED_RESPONSE)
        ctype = next((v for n, v in headers if n.lower() == "content-type"), "")
        chunks: tuple[Chunk, ...] = ()
        if body and ctype.lower().startswith("text/event-stream"):
            pieces = split_events(body)
            receive = self.timings.get("receive")
            span = (
                float(receive) / 1000 if isinstance(receive, int | float) and receive > 0 else 0.0
            )
            # microseconds, as a cassette file keeps them: the cassette equals its saved form
            chunks = tuple(
                Chunk(round(span * (i + 1) / len(pieces), 6), piece)
                for i, piece in enumerate(pieces)
            )
        reason = self.response.get("statusText")
        return RecordedResponse(
            status=self.status,
            reason=reason if isinstance(reason, str) else "",
            headers=tuple(headers),
            body=body or b"",
            chunks=chunks,
        )


def is_web_route(path: str) -> bool:
    """True for the web site's chat routes: ``/api/chat`` and everything under it."""
    return path.rstrip("/") == "/api/chat" or path.startswith("/api/chat/")


def har_to_cassette(
    entries: Sequence[object],
    *,
    path: str | None = None,
    host: str | None = None,
    redactor: Redactor | None = None,
    source: str | None = None,
) -> HarImport:
    """The redacted cassette of a HAR's entries (see the module docstring).

    Args:
        entries: ``log.entries`` (from :func:`parse_har`).
        path: the HAR file, for error messages.
        host: keep this host's entries (``host`` or ``host:port`` as in the URLs); default: the
            first host that served a web route.
        redactor: the redaction rules (default :meth:`Redactor.default`).
        source: what ``metadata.source`` names (default: ``path``).

    Raises:
        HarEntryError: an entry is broken (see the module docstring).
        HarError: no entry of the web site's routes to import.
    """
    parsed = [_Entry(raw, index, path) for index, raw in enumerate(entries)]
    chosen = host
    if chosen is None:
        chosen = next(
            (e.host for e in parsed if is_web_route(e.route_path) and e.status != 0), None
        )
    kept: list[_Entry] = []
    skipped = {reason: 0 for reason in SKIP_REASONS}
    for entry in parsed:
        if entry.host != chosen:
            skipped["another host"] += 1
        elif not is_web_route(entry.route_path):
            skipped["another route"] += 1
        elif entry.status == 0:
            skipped["no response"] += 1  # blocked, cancelled or failed: nothing came back
        else:
            kept.append(entry)
    if not kept:
        hosts = sorted({e.host for e in parsed})
        raise HarError(
            f"nothing to import: no answered request to the web site's chat routes "
            f"(/api/chat...){f' on {host}' if host else ''} among {len(parsed)} entries "
            f"(hosts: {', '.join(hosts) or 'none'}); record a chat with the Network panel open",
            path=path,
        )
    if all(e.started is not None for e in kept):
        # offsets compared in one timezone; a naive date (no offset) is taken as UTC
        kept.sort(key=lambda e: _timestamp(e.started))
    rules = redactor if redactor is not None else Redactor.default()
    interactions = [
        redact_interaction(rules, entry.recorded_request(), entry.recorded_response())
        for entry in kept
    ]
    metadata: dict[str, Any] = {"recorded_with": "oa-mockserver import-har"}
    if source or path:
        metadata["source"] = source or path
    return HarImport(
        cassette=recorded_cassette(interactions, metadata),
        host=chosen or "",
        skipped={reason: n for reason, n in skipped.items() if n},
    )


def _timestamp(moment: datetime | None) -> float:
    if moment is None:
        return 0.0
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()
