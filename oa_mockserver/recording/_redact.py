"""Record-time redaction: secrets never reach a cassette, a journal or a log.

A :class:`Redactor` is an immutable set of rules. ``Redactor.default()`` redacts

* **by name** (:mod:`._secret_names`: the auth, token, secret, password, key, session, cookie
  and credential families, case-insensitive, plus a few exact names such as ``Refresh``):
  header values, query and form parameters, and JSON values at any depth whatever their type
  (a string, a number, every scalar of a list or object; ``true``/``false``/``null`` stay);
  in both directions, ``Location``/``Referer`` URIs and ``Set-Cookie`` included. These become
  ``REDACTED`` (a number ``"REDACTED"``, so the JSON still parses);
* **by format** (:mod:`._secret_formats`: ``detect-secrets``' plugins, and JWT/JWE shapes)
  anywhere in a body, a URI or a header value, prompt text and streamed events included. These
  become ``REDACTED-`` and a digest of the secret: the same secret, the same placeholder, so a
  replayed request redacted the same way still matches its recording.

:meth:`Redactor.extended` composes extra rules onto it. Redaction is idempotent: a placeholder
is never redacted again.

Why values are replaced and not removed: a replayed ``Set-Cookie`` or ``Authorization`` must keep
its shape (cookie names, the ``Bearer`` scheme) so clients behave as they did when recording.
Why bodies are edited as bytes and not re-serialised: the replay must give the client the very
bytes the server sent (spacing, key order), only with the secret spans swapped. For streamed
bodies the chunks are cut where they were (:mod:`._splice`: a cut inside a redacted span keeps
its offset, clamped to the placeholder), so the chunks still join to the redacted body.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from http.cookies import CookieError, SimpleCookie
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

from .._exceptions import RedactionRuleError
from ._cassette import Chunk, Interaction, RecordedRequest, RecordedResponse
from ._secret_formats import format_spans, is_placeholder, placeholder
from ._secret_names import is_descriptive_name, is_secret_name
from ._splice import splice

__all__ = [
    "REDACTED",
    "Redactor",
    "SecretSpan",
    "redact_interaction",
    "redact_request",
    "redact_response",
    "redact_spans",
]

REDACTED = "REDACTED"
_REDACTED_B = REDACTED.encode()
_QUOTED_REDACTED = b'"' + _REDACTED_B + b'"'

# Exact names on top of the families (kept: a user's rules may be built on them).
_DEFAULT_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "refresh", "x-api-key"}
)
_DEFAULT_KEYS = frozenset(
    {"access_token", "refresh_token", "id_token", "session_token", "api_key", "password", "secret"}
)
_DEFAULT_QUERY = frozenset(
    {"access_token", "refresh_token", "token", "id_token", "api_key", "apikey", "key", "sig"}
)
#: Headers whose value is a URI: redacted as one (query parameters by name, userinfo).
_URI_HEADERS = frozenset({"location", "content-location", "referer"})
# JWT (three dot-separated base64url parts) and JWE compact (five, the second may be empty).
_JWT = r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)?"
_DEFAULT_PATTERNS = (re.compile(_JWT.encode()),)
_PLACEHOLDERS = re.compile(rb"REDACTED(?:-[0-9a-f]{12})?")

# A body names a secret key only if it holds one of these (in lower case): every secret word
# of _secret_names contains one. The exact rule is is_secret_name, on each key.
_STEMS = (b"auth", b"token", b"secret", b"pass", b"pwd", b"key", b"sess", b"cookie", b"credential",
          b"sig", b"jwt")  # fmt: skip
_STRING_BODY = rb'(?:[^"\\]|\\.)*'
# The lookahead makes the string atomic: a long string value that is not a key fails at once
# instead of giving back its characters one by one (6x faster on a 66 KB prompt).
_JSON_KEY = re.compile(rb'"(?=([^"\\]*(?:\\.[^"\\]*)*))\1"\s*:')
_JSON_TOKEN = re.compile(
    rb'\s+|"' + _STRING_BODY + rb'"?|-?[0-9][0-9.eE+-]*|[{}\[\],:]|true|false|null|.', re.S
)

Span = tuple[int, int]
#: A span and its replacement (None: the placeholder of what it covers).
SpanEdit = tuple[int, int, bytes | None]
#: One edit: ``[start, end)`` becomes ``replacement`` (None: a placeholder); ``what`` says why,
#: for lint, and never repeats the secret.
Edit = tuple[int, int, bytes | None, str]


def _merge(data: bytes, spans: Iterable[Span | SpanEdit]) -> list[tuple[int, int, bytes]]:
    """Sorted, non-overlapping spans, each with its replacement.

    A replacement of None is the placeholder of the span's bytes (a secret found by format),
    made after merging: overlapping format spans become one placeholder of their union. Where
    a span redacted by name overlaps, the name's ``REDACTED`` wins (quoted if either was).
    """
    groups: list[list[Any]] = []
    for span in sorted(spans, key=lambda s: (s[0], -s[1])):
        start, end = span[0], span[1]
        new = span[2] if len(span) == 3 else _REDACTED_B
        if groups and start < groups[-1][1]:
            last = groups[-1]
            last[1] = max(last[1], end)
            if last[2] != new:
                if last[2] is None or new is None:
                    last[2] = last[2] if new is None else new
                else:
                    quoted = last[2].startswith(b'"') or new.startswith(b'"')
                    last[2] = _QUOTED_REDACTED if quoted else _REDACTED_B
        elif end > start:
            groups.append([start, end, new])
    return [
        (start, end, new if new is not None else placeholder(data[start:end]))
        for start, end, new in groups
    ]


def redact_spans(
    data: bytes,
    spans: Iterable[Span | SpanEdit],
    chunk_sizes: Sequence[int] | None = None,
) -> tuple[bytes, list[int] | None]:
    """Replace each ``[start, end)`` span of ``data``: with ``REDACTED``, or with the span's
    third item when given (None: the placeholder of a secret found by format).

    Returns the new bytes and, when ``chunk_sizes`` (the sizes of the chunks that join to
    ``data``) is given, the new chunk sizes, cut by :func:`._splice.splice`'s rule
    (empty chunks dropped), so the new chunks still join to the new bytes.
    """
    merged = _merge(data, spans)
    if chunk_sizes is None:
        return b"".join(splice([data], merged)), None
    chunks: list[bytes] = []
    position = 0
    for size in chunk_sizes:
        chunks.append(data[position : position + size])
        position += size
    pieces = splice(chunks, merged)
    return b"".join(pieces), [len(p) for p in pieces if p]


class SecretSpan(NamedTuple):
    """A secret found in some bytes: ``[start, end)``, what found it (``"JSON key 'password'"``,
    ``"GitHub Token"``: never the secret itself), and whether by name (else by format)."""

    start: int
    end: int
    what: str
    by_name: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Redactor:
    """Redaction rules; immutable, composable with :meth:`extended`.

    Attributes:
        headers: header names (lower case) whose values are secret, on top of the families.
        json_keys: JSON keys (lower case) whose values are secret, on top of the families.
        query_params: query-string and form parameter names (lower case), on top of the
            families.
        patterns: byte regexes whose matches are secret wherever they appear.
        name_families: names in the secret families are secret (:mod:`._secret_names`).
        known_formats: well-known secret formats are secret wherever they appear
            (``detect-secrets``' plugins, :mod:`._secret_formats`).
    """

    headers: frozenset[str] = _DEFAULT_HEADERS
    json_keys: frozenset[str] = _DEFAULT_KEYS
    query_params: frozenset[str] = _DEFAULT_QUERY
    patterns: tuple[re.Pattern[bytes], ...] = field(default=_DEFAULT_PATTERNS)
    name_families: bool = True
    known_formats: bool = True

    @classmethod
    def default(cls) -> Redactor:
        """The default rules (see the module docstring)."""
        return cls()

    @classmethod
    def none(cls) -> Redactor:
        """No rules at all (for tests of redaction itself; never for recording real traffic)."""
        return cls(
            headers=frozenset(),
            json_keys=frozenset(),
            query_params=frozenset(),
            patterns=(),
            name_families=False,
            known_formats=False,
        )

    def extended(
        self,
        *,
        headers: Iterable[str] = (),
        json_keys: Iterable[str] = (),
        query_params: Iterable[str] = (),
        patterns: Iterable[str | bytes] = (),
    ) -> Redactor:
        """These rules plus extra ones.

        Raises:
            RedactionRuleError: a pattern does not compile or matches the empty string.
        """
        compiled = list(self.patterns)
        for pattern in patterns:
            raw = pattern.encode() if isinstance(pattern, str) else pattern
            try:
                regex = re.compile(raw)
            except re.error as exc:
                raise RedactionRuleError(
                    f"redaction pattern {raw!r} does not compile ({exc}); fix the regex"
                ) from None
            if regex.search(b"") is not None:
                raise RedactionRuleError(
                    f"redaction pattern {raw!r} matches the empty string; make it match the secret"
                )
            compiled.append(regex)
        return replace(
            self,
            headers=self.headers | {h.lower() for h in headers},
            json_keys=self.json_keys | {k.lower() for k in json_keys},
            query_params=self.query_params | {q.lower() for q in query_params},
            patterns=tuple(compiled),
        )

    # --- names -------------------------------------------------------------------------------

    def secret_header(self, name: str) -> bool:
        """True when header ``name``'s value is secret."""
        return name.lower() in self.headers or (self.name_families and is_secret_name(name))

    def secret_key(self, name: str) -> bool:
        """True when the value of JSON key ``name`` is secret."""
        return name.lower() in self.json_keys or (self.name_families and is_secret_name(name))

    def secret_param(self, name: str) -> bool:
        """True when query or form parameter ``name``'s value is secret."""
        return name.lower() in self.query_params or (self.name_families and is_secret_name(name))

    # --- headers -----------------------------------------------------------------------------

    def header_value(self, name: str, value: str) -> str:
        """The value to record for header ``name``."""
        lower = name.lower()
        if value == REDACTED:
            return value
        if self.secret_header(name):
            if lower == "cookie":
                return _redact_cookie_header(value)
            if lower == "set-cookie":
                return _redact_set_cookie(value)
            if lower in {"authorization", "proxy-authorization"}:
                scheme, sep, credentials = value.partition(" ")
                if sep and credentials.strip():
                    return f"{scheme} {REDACTED}"
            return REDACTED
        if lower in _URI_HEADERS:
            return self.uri(value)
        return self._free_text(value)

    def headers_pairs(self, headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        """Redact a sequence of ``(name, value)`` pairs."""
        return [(name, self.header_value(name, value)) for name, value in headers]

    def headers_dict(self, headers: Mapping[str, Any]) -> dict[str, Any]:
        """Redact a vcrpy-style header mapping (values are strings or lists of strings)."""
        result: dict[str, Any] = {}
        for name, values in headers.items():
            if isinstance(values, list):
                result[name] = [self.header_value(name, str(v)) for v in values]
            else:
                result[name] = self.header_value(name, str(values))
        return result

    # --- URIs --------------------------------------------------------------------------------

    def uri(self, uri: str) -> str:
        """The URI with secret query parameters' values, any userinfo password and any
        well-known secret replaced."""
        parts = urlsplit(uri)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, host = netloc.rpartition("@")
            user = userinfo.partition(":")[0]
            netloc = f"{user}:{REDACTED}@{host}" if ":" in userinfo else netloc
        query = self._query(parts.query)
        if query != parts.query or netloc != parts.netloc:
            uri = urlunsplit(parts._replace(netloc=netloc, query=query))
        return self._free_text(uri)

    def _query(self, query: str) -> str:
        if not query:
            return query
        pieces = query.split("&")
        changed = False
        for index, piece in enumerate(pieces):
            name, sep, value = piece.partition("=")
            if (
                sep
                and value
                and not is_placeholder(value.encode("utf-8", "surrogateescape"))
                and self.secret_param(_unquote(name))
            ):
                pieces[index] = f"{name}={REDACTED}"
                changed = True
        return "&".join(pieces) if changed else query

    def _free_text(self, text: str) -> str:
        raw = text.encode("utf-8", "surrogateescape")
        edits = self._format_edits(raw)
        if not edits:
            return text
        return redact_spans(raw, [e[:3] for e in edits])[0].decode("utf-8", "surrogateescape")

    # --- bodies ------------------------------------------------------------------------------

    def secret_spans(self, body: bytes, content_type: str | None = None) -> list[SecretSpan]:
        """Where ``body`` holds secrets, and by which rule (for lint)."""
        return [
            SecretSpan(start, end, what, new is not None)
            for start, end, new, what in self._edits(body, content_type)
        ]

    def body_spans(self, body: bytes, content_type: str | None = None) -> list[Span]:
        """The spans of ``body`` that hold secrets."""
        return [(start, end) for start, end, _, _ in self._edits(body, content_type)]

    def _edits(self, body: bytes, content_type: str | None) -> list[Edit]:
        edits = self._format_edits(body)
        if b'"' in body and (self.name_families or self.json_keys):
            edits += self._json_edits(body)
        ctype = (content_type or "").lower()
        if "x-www-form-urlencoded" in ctype:
            edits += self._form_edits(body)
        if edits and _REDACTED_B in body:
            # A rule that matches inside a placeholder (a user's hex pattern) must not redact it
            # again: redaction is idempotent.
            kept = [(m.start(), m.end()) for m in _PLACEHOLDERS.finditer(body)]
            edits = [e for e in edits if not any(s <= e[0] and e[1] <= t for s, t in kept)]
        return edits

    def _format_edits(self, data: bytes) -> list[Edit]:
        edits: list[Edit] = []
        if self.known_formats:
            for start, end, kind in format_spans(data):
                edits.append((start, end, None, kind))
        for regex in self.patterns:
            for match in regex.finditer(data):
                start, end = match.span()
                if end > start and not is_placeholder(match.group()):
                    what = "JWT/JWE" if regex in _DEFAULT_PATTERNS else "a configured pattern"
                    edits.append((start, end, None, what))
        return edits

    def _json_edits(self, body: bytes) -> list[Edit]:
        if not self._may_name_secret(body):
            return []
        edits: list[Edit] = []
        secrets: set[bytes] = set()
        for match in _JSON_KEY.finditer(body):
            key = _json_key(match.group(1))
            if not self.secret_key(key):
                continue
            what = f"JSON key {key!r}"
            found = _value_edits(body, _skip_space(body, match.end()), self, what)
            edits += found
            secrets.update(body[s:e] for s, e, new, _ in found if new == _REDACTED_B)
        # The same secret string elsewhere (echoed in another field) goes too; whole JSON strings
        # only, so a short secret does not hit every word that contains it.
        for secret in secrets:
            needle = b'"' + secret + b'"'
            edits += [
                (s + 1, e - 1, _REDACTED_B, "a secret JSON value")
                for s, e in _find_all(body, needle)
            ]
        return edits

    def _may_name_secret(self, body: bytes) -> bool:
        # Most bodies name no secret key: a look costs less than the scan of every key.
        if b"\\u" in body:
            return True  # a key may be spelled with escapes
        lowered = body.lower()
        return (self.name_families and any(s in lowered for s in _STEMS)) or any(
            k.encode() in lowered for k in self.json_keys
        )

    def _form_edits(self, body: bytes) -> list[Edit]:
        edits: list[Edit] = []
        position = 0
        for piece in body.split(b"&"):
            name, sep, value = piece.partition(b"=")
            plain = _unquote(name.decode("latin-1"))
            if sep and value and not is_placeholder(value) and self.secret_param(plain):
                start = position + len(name) + 1
                edits.append((start, start + len(value), _REDACTED_B, f"form field {plain!r}"))
            position += len(piece) + 1
        return edits

    def body(self, body: bytes, content_type: str | None = None) -> bytes:
        """``body`` with every secret replaced."""
        edits = self._edits(body, content_type)
        return redact_spans(body, [e[:3] for e in edits])[0] if edits else body

    def chunks(
        self, chunks: Sequence[bytes], content_type: str | None = None
    ) -> tuple[bytes, list[bytes]]:
        """Redact a body given as chunks; returns the new body and the new chunks (joined equal).

        The cuts stay where they were (see :func:`._splice.splice`); a chunk left
        empty is dropped.
        """
        body = b"".join(chunks)
        edits = self._edits(body, content_type)
        if not edits:
            return body, list(chunks)
        pieces = splice(chunks, _merge(body, [e[:3] for e in edits]))
        return b"".join(pieces), pieces

    def text(self, text: str) -> str:
        """Redact free text (a log line, an exception message, a prompt)."""
        raw = text.encode("utf-8", "surrogateescape")
        return self.body(raw).decode("utf-8", "surrogateescape")

    def mapping(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Redact a JSON-like mapping (for the journal): secret keys' values become ``REDACTED``."""
        return {k: self._value(k, v) for k, v in data.items()}

    def _value(self, key: str, value: Any) -> Any:
        if key and self.secret_key(str(key)):
            return _blank(value)
        if isinstance(value, Mapping):
            return self.mapping(value)
        if isinstance(value, list):
            return [self._value("", v) for v in value]
        if isinstance(value, str):
            return self.text(value)
        return value


def _skip_space(data: bytes, position: int) -> int:
    while data[position : position + 1].isspace():
        position += 1
    return position


def _json_key(raw: bytes) -> str:
    if b"\\" in raw:
        try:
            return str(json.loads(b'"' + raw + b'"'))
        except ValueError:
            pass
    return raw.decode("utf-8", "replace")


def _value_edits(body: bytes, at: int, rules: Redactor, what: str) -> list[Edit]:
    """Edits for the JSON value at ``at``: a string's content, a number, or every scalar of an
    object or list except those under a descriptive key (``token_type``, ``expires_in``);
    ``true``, ``false`` and ``null`` stay. A value cut short is redacted up to the end."""
    edits: list[Edit] = []
    stack: list[bytes] = []  # the containers open inside the value
    key_next = False  # the next string is a key
    keep = False  # the scalar about to come is under a descriptive key
    position = at
    while position < len(body):
        token = _JSON_TOKEN.match(body, position)
        assert token is not None  # its last alternative matches any byte
        start, end = token.span()
        position = end
        first = body[start : start + 1]
        if first.isspace() or first == b":":
            continue
        if first in b"{[":
            stack.append(first)
            key_next, keep = first == b"{", False
            continue
        if first in b"}],":
            if first != b"," and stack:
                stack.pop()
            if not stack:
                break
            key_next, keep = first == b"," and stack[-1] == b"{", False
            continue
        if first == b'"' and key_next:
            key = _json_key(body[start + 1 : end - 1])
            keep = is_descriptive_name(key) and not rules.secret_key(key)
            key_next = False
            continue
        if first == b'"':
            closed = end - start > 1 and body[end - 1 : end] == b'"'
            inner_end = end - 1 if closed else end
            if not keep and not is_placeholder(body[start + 1 : inner_end]):
                edits.append((start + 1, inner_end, _REDACTED_B, what))
        elif first in b"-0123456789" and not keep:
            edits.append((start, end, _QUOTED_REDACTED, what))
        if not stack:
            break  # the value was one scalar
    return edits


def _blank(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _blank(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_blank(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    return REDACTED


def _find_all(haystack: bytes, needle: bytes) -> Iterator[Span]:
    if not needle:
        return
    start = haystack.find(needle)
    while start != -1:
        yield start, start + len(needle)
        start = haystack.find(needle, start + len(needle))


def _unquote(name: str) -> str:
    if "%" not in name and "+" not in name:
        return name
    pairs = parse_qsl(f"{name}=x", keep_blank_values=True)
    return pairs[0][0] if pairs else name


# A redacted cookie keeps its name and takes RFC 6265's quoted form of a value, so it is still a
# valid cookie and no leak scanner mistakes the marker for a live session value.
_COOKIE_REDACTED = f'"{REDACTED}"'


def _redact_cookie_header(value: str) -> str:
    parts = []
    for piece in value.split(";"):
        name, sep, _ = piece.strip().partition("=")
        parts.append(f"{name}={_COOKIE_REDACTED}" if sep else name)
    return "; ".join(p for p in parts if p)


def _redact_set_cookie(value: str) -> str:
    first, sep, attributes = value.partition(";")
    name, eq, _ = first.strip().partition("=")
    if not eq:
        return REDACTED
    try:
        SimpleCookie(f"{quote(name, safe='')}=x")
    except CookieError:
        return REDACTED
    return f"{name}={_COOKIE_REDACTED}{sep}{attributes}"


def redact_interaction(
    rules: Redactor, request: RecordedRequest, response: RecordedResponse
) -> Interaction:
    """One exchange as a cassette keeps it: request and response redacted by ``rules``."""
    return Interaction(
        request=redact_request(rules, request), response=redact_response(rules, response)
    )


def redact_response(rules: Redactor, response: RecordedResponse) -> RecordedResponse:
    """A recorded response with its headers and body redacted; a streamed body chunk by chunk.

    The chunks keep their times: a piece takes the time of the recorded chunk at its index
    (the cuts stay in place, so only a chunk swallowed by a redacted span shifts the pairing).
    Both recorders (the proxy and the in-process vcrpy hook) redact through here.
    """
    content_type = response.header("Content-Type")
    chunks = response.chunks
    if chunks:
        body, pieces = rules.chunks([c.data for c in chunks], content_type)
        times = [c.offset_s for c in chunks]
        chunks = tuple(
            Chunk(times[min(i, len(times) - 1)], piece) for i, piece in enumerate(pieces)
        )
    else:
        body = rules.body(response.body, content_type) if response.body else b""
    return RecordedResponse(
        status=response.status,
        reason=response.reason,
        headers=tuple(rules.headers_pairs(response.headers)),
        body=body,
        chunks=chunks,
    )


def redact_request(rules: Redactor, request: RecordedRequest) -> RecordedRequest:
    """A recorded request with its URI, headers and body redacted (the body by its type)."""
    return RecordedRequest(
        method=request.method,
        uri=rules.uri(request.uri),
        body=(
            rules.body(request.body, request.header("Content-Type"))
            if request.body
            else request.body
        ),
        headers=tuple(rules.headers_pairs(request.headers)),
    )
