"""Record-time redaction: secrets never reach a cassette, a journal or a log.

A :class:`Redactor` is an immutable set of rules; ``Redactor.default()`` covers what this API
carries (cookies, ``Set-Cookie``, ``Authorization``, ``Refresh``, ``access_token``/``refresh_token``
inside JSON bodies, tokens in query strings, JWT/JWE-shaped strings anywhere in a body), and
:meth:`Redactor.extended` composes extra rules onto it.

Why values are replaced and not removed: a replayed ``Set-Cookie`` or ``Authorization`` must keep
its shape (cookie names, the ``Bearer`` scheme) so clients behave as they did when recording.
Why bodies are edited as bytes and not re-serialised: the replay must give the client the very
bytes the server sent (spacing, key order), only with the secret spans swapped. For streamed
bodies the chunk boundaries are moved out of any redacted span, so the chunks still join to the
redacted body.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

from ._exceptions import RedactionRuleError

__all__ = ["REDACTED", "Redactor", "redact_spans"]

REDACTED = "REDACTED"
_REDACTED_B = REDACTED.encode()

_DEFAULT_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "refresh", "x-api-key"}
)
_DEFAULT_KEYS = frozenset(
    {"access_token", "refresh_token", "id_token", "session_token", "api_key", "password", "secret"}
)
_DEFAULT_QUERY = frozenset(
    {"access_token", "refresh_token", "token", "id_token", "api_key", "apikey", "key", "sig"}
)
# JWT (three dot-separated base64url parts) and JWE compact (five, the second may be empty).
_JWT = r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)?"
_DEFAULT_PATTERNS = (re.compile(_JWT.encode()),)

Span = tuple[int, int]


def redact_spans(
    data: bytes, spans: Iterable[Span], chunk_sizes: Sequence[int] | None = None
) -> tuple[bytes, list[int] | None]:
    """Replace each ``[start, end)`` span of ``data`` with ``REDACTED``.

    Returns the new bytes and, when ``chunk_sizes`` (the sizes of the chunks that join to
    ``data``) is given, the new chunk sizes: a boundary that fell inside a span moves to its end,
    and chunks that become empty are dropped, so the new chunks still join to the new bytes.
    """
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out = bytearray()
    position = 0
    for start, end in merged:
        out += data[position:start] + _REDACTED_B
        position = end
    out += data[position:]

    def new_offset(old: int) -> int:
        shift = 0
        for start, end in merged:
            if old <= start:
                break
            if old < end:
                return start + shift + len(_REDACTED_B)
            shift += len(_REDACTED_B) - (end - start)
        return old + shift

    if chunk_sizes is None:
        return bytes(out), None
    cuts: list[int] = []
    total = 0
    for size in chunk_sizes:
        total += size
        cuts.append(new_offset(total))
    sizes: list[int] = []
    previous = 0
    for cut in cuts:
        if cut > previous:
            sizes.append(cut - previous)
            previous = cut
    return bytes(out), sizes


def _json_secret_values(obj: Any, keys: frozenset[str], inside: bool = False) -> Iterator[str]:
    if isinstance(obj, dict):
        for key, value in obj.items():
            lower = str(key).lower()
            # Inside a secret object ({"access_token": {"access_token": ..., "token_type": ...}})
            # every value is secret except the descriptive *type fields.
            secret = lower in keys or (inside and not lower.endswith("type"))
            if secret and isinstance(value, str) and value and value != REDACTED:
                yield value
            elif isinstance(value, dict | list):
                yield from _json_secret_values(value, keys, lower in keys or inside)
    elif isinstance(obj, list):
        for item in obj:
            yield from _json_secret_values(item, keys, inside)


@dataclass(frozen=True, slots=True, kw_only=True)
class Redactor:
    """Redaction rules; immutable, composable with :meth:`extended`.

    Attributes:
        headers: header names (lower case) whose values are secret.
        json_keys: JSON keys (lower case) whose string values, or whole sub-objects, are secret.
        query_params: query-string and form parameter names (lower case) whose values are secret.
        patterns: byte regexes whose matches are secret wherever they appear in a body.
    """

    headers: frozenset[str] = _DEFAULT_HEADERS
    json_keys: frozenset[str] = _DEFAULT_KEYS
    query_params: frozenset[str] = _DEFAULT_QUERY
    patterns: tuple[re.Pattern[bytes], ...] = field(default=_DEFAULT_PATTERNS)

    @classmethod
    def default(cls) -> Redactor:
        """The default rules (see the module docstring)."""
        return cls()

    @classmethod
    def none(cls) -> Redactor:
        """No rules at all (for tests of redaction itself; never for recording real traffic)."""
        return cls(
            headers=frozenset(), json_keys=frozenset(), query_params=frozenset(), patterns=()
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

    def __add__(self, other: Redactor) -> Redactor:
        """The union of two rule sets."""
        return replace(
            self,
            headers=self.headers | other.headers,
            json_keys=self.json_keys | other.json_keys,
            query_params=self.query_params | other.query_params,
            patterns=self.patterns + tuple(p for p in other.patterns if p not in self.patterns),
        )

    # --- headers -----------------------------------------------------------------------------

    def header_value(self, name: str, value: str) -> str:
        """The value to record for header ``name``."""
        lower = name.lower()
        if lower not in self.headers or value == REDACTED:
            return value
        if lower == "cookie":
            return _redact_cookie_header(value)
        if lower == "set-cookie":
            return _redact_set_cookie(value)
        if lower in {"authorization", "proxy-authorization"}:
            scheme, sep, credentials = value.partition(" ")
            if sep and credentials.strip():
                return f"{scheme} {REDACTED}"
        return REDACTED

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
        """The URI with secret query parameters' values (and any userinfo password) replaced."""
        parts = urlsplit(uri)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, host = netloc.rpartition("@")
            user = userinfo.partition(":")[0]
            netloc = f"{user}:{REDACTED}@{host}" if ":" in userinfo else netloc
        query = self._query(parts.query)
        if query == parts.query and netloc == parts.netloc:
            return uri
        return urlunsplit(parts._replace(netloc=netloc, query=query))

    def _query(self, query: str) -> str:
        if not query or not self.query_params:
            return query
        pieces = query.split("&")
        changed = False
        for index, piece in enumerate(pieces):
            name, sep, value = piece.partition("=")
            if sep and value and value != REDACTED and _unquote(name).lower() in self.query_params:
                pieces[index] = f"{name}={REDACTED}"
                changed = True
        return "&".join(pieces) if changed else query

    # --- bodies ------------------------------------------------------------------------------

    def body_spans(self, body: bytes, content_type: str | None = None) -> list[Span]:
        """The spans of ``body`` that hold secrets."""
        spans: list[Span] = []
        for regex in self.patterns:
            spans.extend(m.span() for m in regex.finditer(body) if m.end() > m.start())
        if self.json_keys and (b'"' in body) and self._may_hold_json_secret(body):
            for secret in self._json_secrets(body):
                # Only whole JSON strings: a short secret must not hit every word that contains it.
                needle = json.dumps(secret, ensure_ascii=False).encode()
                spans.extend((s + 1, e - 1) for s, e in _find_all(body, needle))
            # A body that does not parse (cut short, malformed) can still carry a secret key:
            # its string value is redacted by shape, up to its closing quote or the end.
            for match in _key_value_pattern(self.json_keys).finditer(body):
                if match.end(1) > match.start(1):
                    spans.append(match.span(1))
        ctype = (content_type or "").lower()
        if "x-www-form-urlencoded" in ctype and self.query_params:
            spans.extend(self._form_spans(body))
        return spans

    def _may_hold_json_secret(self, body: bytes) -> bool:
        # Parsing JSON is the costly part and most bodies name no secret key: look first.
        # (Keys are matched case-insensitively; an encoder never escapes ASCII letters.)
        lowered = body.lower()
        return any(key.encode() in lowered for key in self.json_keys)

    def _json_secrets(self, body: bytes) -> set[str]:
        secrets: set[str] = set()
        documents: list[bytes] = [body]
        if b"data:" in body:
            # An event stream: each data line may hold a JSON document.
            documents += [
                line.partition(b":")[2] for line in body.splitlines() if line.startswith(b"data:")
            ]
        for document in documents:
            try:
                parsed = json.loads(document)
            except ValueError:
                continue
            secrets.update(_json_secret_values(parsed, self.json_keys))
        return secrets

    def _form_spans(self, body: bytes) -> list[Span]:
        spans: list[Span] = []
        position = 0
        for piece in body.split(b"&"):
            name, sep, value = piece.partition(b"=")
            if sep and value and _unquote(name.decode("latin-1")).lower() in self.query_params:
                start = position + len(name) + 1
                spans.append((start, start + len(value)))
            position += len(piece) + 1
        return spans

    def body(self, body: bytes, content_type: str | None = None) -> bytes:
        """``body`` with every secret span replaced by ``REDACTED``."""
        spans = self.body_spans(body, content_type)
        return redact_spans(body, spans)[0] if spans else body

    def chunks(
        self, chunks: Sequence[bytes], content_type: str | None = None
    ) -> tuple[bytes, list[bytes]]:
        """Redact a body given as chunks; returns the new body and the new chunks (joined equal)."""
        body = b"".join(chunks)
        spans = self.body_spans(body, content_type)
        if not spans:
            return body, list(chunks)
        new_body, sizes = redact_spans(body, spans, [len(c) for c in chunks])
        assert sizes is not None
        result: list[bytes] = []
        position = 0
        for size in sizes:
            result.append(new_body[position : position + size])
            position += size
        return new_body, result

    def text(self, text: str) -> str:
        """Redact free text (a log line, an exception message)."""
        raw = text.encode("utf-8", "surrogateescape")
        return self.body(raw).decode("utf-8", "surrogateescape")

    def mapping(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Redact a JSON-like mapping (for the journal): secret keys' values become ``REDACTED``."""
        return {k: self._value(k, v) for k, v in data.items()}

    def _value(self, key: str, value: Any) -> Any:
        if str(key).lower() in self.json_keys:
            return REDACTED if isinstance(value, str) else _blank(value)
        if isinstance(value, Mapping):
            return self.mapping(value)
        if isinstance(value, list):
            return [self._value("", v) for v in value]
        if isinstance(value, str):
            return self.text(value)
        return value


@functools.lru_cache(maxsize=16)
def _key_value_pattern(keys: frozenset[str]) -> re.Pattern[bytes]:
    names = b"|".join(re.escape(key.encode()) for key in sorted(keys))
    return re.compile(rb'"(?:' + names + rb')"\s*:\s*"((?:[^"\\]|\\.)*)', re.IGNORECASE)


def _blank(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _blank(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_blank(v) for v in value]
    return REDACTED if isinstance(value, str) else value


def _find_all(haystack: bytes, needle: bytes) -> Iterator[Span]:
    if not needle:
        return
    start = haystack.find(needle)
    while start != -1:
        yield start, start + len(needle)
        start = haystack.find(needle, start + len(needle))


def _unquote(name: str) -> str:
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
