"""``oa-mockserver lint DIR``: check cassettes' schema and version, and look for secrets.

A finding names ``file:line``, a code, the interaction (its index in the file) and field when
known, and what to do; it never repeats the secret it found. Checks: the file parses as a
version-1 cassette (:func:`parse_cassette`); then, for every interaction, whatever the recorder's
:class:`Redactor` would have redacted and is still there: a header by name (``secret-header``),
a query parameter by name or a userinfo password in the URI or a ``Location`` header
(``secret-query``), a JSON value at any depth of any type or a form field by name
(``secret-body``), a well-known secret format anywhere, prompt text and streamed events included
(``secret-format``). A line scan adds what the structure does not explain (``token-shape``: a
secret format on a line no other finding names, e.g. in a file that does not parse) and
high-entropy values in auth-like fields (``high-entropy``). :func:`run_lint` is the logic;
:func:`lint_main` is the CLI entry.
"""

from __future__ import annotations

import argparse
import bisect
import math
import re
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import unquote_plus, urlsplit

from .._exceptions import CassetteError
from ._cassette import Cassette, Interaction, parse_cassette
from ._redact import REDACTED, Redactor
from ._secret_formats import is_placeholder

__all__ = ["Finding", "lint_main", "lint_text", "run_lint"]

_SUFFIXES = (".yaml", ".yml")
_AUTH_KEY = re.compile(
    r"""["']?(?P<key>[\w.-]*(?:token|secret|session|passw(?:or)?d|auth|cookie|api[_-]?key)[\w.-]*)"""
    r"""["']?\s*[:=]\s*["']?(?P<value>[^\s"',;&}\]]+)""",
    re.IGNORECASE,
)
_AUTH_NAME = re.compile(r"token|secret|session|passw(?:or)?d|auth|cookie|api[_-]?key", re.I)
_MIN_SECRET_LENGTH = 16
_MIN_ENTROPY_BITS = 3.3


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem: where (``path:line``, the interaction and field when known), a short code,
    and a message saying what to do. It never holds the secret it found."""

    path: str
    line: int
    code: str
    message: str
    interaction: int | None = None
    field: str = ""

    def __str__(self) -> str:
        where = ""
        if self.interaction is not None:
            where = f"interaction {self.interaction}"
            where += f", {self.field}: " if self.field else ": "
        return f"{self.path}:{self.line}: {self.code}: {where}{self.message}"


def _entropy(value: str) -> float:
    counts = Counter(value)
    total = len(value)
    return -sum(n / total * math.log2(n / total) for n in counts.values())


def _looks_secret(value: str) -> bool:
    if REDACTED in value or len(value) < _MIN_SECRET_LENGTH:
        return False
    if value.lower() in {"true", "false", "null", "bearer", "refresh"}:
        return False
    return _entropy(value) >= _MIN_ENTROPY_BITS


_QUOTED_VALUE = re.compile(r"""\s*["']?(?P<value>[^\s"',;&}\]]*)""")


def _stored_value(line: str, match: re.Match[str]) -> str:
    """The value an auth-like field holds on ``line``.

    Why: in a cookie header (``Cookie: [name="REDACTED"]``) the pattern's value is the cookie's
    ``name=``, cut at the quote; the value is what follows it, here our own placeholder.
    """
    value = match.group("value")
    if "=" not in value:
        return value
    # the first "=" ends a cookie's name; "="s that end the value are its own (base64 padding)
    _, _, rest = value.partition("=")
    if rest.strip("="):
        return rest
    if rest:
        return value
    quoted = _QUOTED_VALUE.match(line, match.end("value"))
    return quoted.group("value") if quoted else ""


_MARKER = re.compile(r""""?REDACTED(?:-[0-9a-f]{12})?"?""")


def _same_but_markers(redacted: str, stored: str) -> bool:
    """True when ``stored`` is ``redacted`` up to the form of our own placeholders.

    Why: a value already holding ``REDACTED``, ``"REDACTED"`` or ``REDACTED-<digest>`` (written
    by hand, by an older recorder, or by the format rules) is redacted; only a live value is not.
    """
    return redacted == stored or _MARKER.sub("REDACTED", redacted) == _MARKER.sub(
        "REDACTED", stored
    )


def _line_of(lines: Sequence[str], needle: str, start: int) -> int:
    """The 1-based line at or after ``start`` holding ``needle`` (``start`` when none does)."""
    probe = needle[:40]
    for index in range(max(0, start - 1), len(lines)):
        if probe and probe in lines[index]:
            return index + 1
    return start


def _scan_lines(path: str, lines: Sequence[str], redactor: Redactor) -> list[Finding]:
    """Line by line, whatever the structure: secret formats and high-entropy auth-like values."""
    findings: list[Finding] = []
    for number, line in enumerate(lines, 1):
        raw = line.encode("utf-8", "surrogateescape")
        kinds = sorted({s.what for s in redactor.secret_spans(raw) if not s.by_name})
        if kinds:
            findings.append(
                Finding(
                    path,
                    number,
                    "token-shape",
                    f"a value shaped like a secret ({', '.join(kinds)}) is stored; "
                    f"re-record with redaction on, or replace it with {REDACTED}",
                )
            )
        for match in _AUTH_KEY.finditer(line):
            if _looks_secret(_stored_value(line, match)):
                findings.append(
                    Finding(
                        path,
                        number,
                        "high-entropy",
                        f"auth-like field {match.group('key')!r} holds a high-entropy value; "
                        f"replace it with {REDACTED}",
                    )
                )
    return findings


def _uri_problems(rules: Redactor, uri: str) -> list[tuple[str, str]]:
    """``(code, what)`` for each secret left in a URI: a query parameter by name, a userinfo
    password, a well-known format."""
    problems: list[tuple[str, str]] = []
    parts = urlsplit(uri)
    userinfo = parts.netloc.rpartition("@")[0]
    if ":" in userinfo and userinfo.partition(":")[2] != REDACTED:
        problems.append(("secret-query", "a password in its userinfo"))
    for piece in parts.query.split("&") if parts.query else ():
        name, sep, value = piece.partition("=")
        plain = unquote_plus(name)
        if sep and value and not is_placeholder(value.encode()) and rules.secret_param(plain):
            problems.append(("secret-query", f"query parameter {plain!r}"))
    kinds = {s.what for s in rules.secret_spans(uri.encode()) if not s.by_name}
    problems += [("secret-format", f"a {kind}") for kind in sorted(kinds)]
    return problems


def _interaction_findings(
    path: str, lines: Sequence[str], index: int, interaction: Interaction, redactor: Redactor
) -> list[Finding]:
    findings: list[Finding] = []
    start = interaction.line or 1
    req, resp = interaction.request, interaction.response

    def add(needle: str, code: str, field: str, message: str) -> None:
        line = _line_of(lines, needle, start)
        findings.append(Finding(path, line, code, message, index, field))

    for where, headers in (("request", req.headers), ("response", resp.headers)):
        for name, value in headers:
            field = f"{where}.headers.{name}"
            if _same_but_markers(redactor.header_value(name, value), value):
                if _AUTH_NAME.search(name) and _looks_secret(value.rpartition(" ")[2]):
                    add(
                        value,
                        "high-entropy",
                        field,
                        f"an auth-like header holds a high-entropy value; replace it with "
                        f"{REDACTED}",
                    )
            elif redactor.secret_header(name):
                add(
                    value,
                    "secret-header",
                    field,
                    f"the header is not redacted; replace its value with {REDACTED} "
                    f'(cookies: name="{REDACTED}")',
                )
            else:
                for code, what in _uri_problems(redactor, value):
                    add(value, code, field, f"the header holds {what}; replace it with {REDACTED}")
    for code, what in _uri_problems(redactor, req.uri):
        add(req.uri, code, "request.uri", f"the URI holds {what}; replace it with {REDACTED}")
    for where, body, ctype in (
        ("request", req.body or b"", req.header("Content-Type")),
        ("response", resp.body, resp.header("Content-Type")),
    ):
        for secret in redactor.secret_spans(body, ctype):
            needle = body[secret.start : secret.end].decode("utf-8", "replace")
            if secret.by_name:
                code, what = "secret-body", f"the value of {secret.what}"
            else:
                code, what = "secret-format", f"a {secret.what}"
            add(needle, code, f"{where}.body", f"{what} is stored; replace it with {REDACTED}")
    return findings


def lint_text(
    text: str, path: str = "<cassette>", redactor: Redactor | None = None
) -> list[Finding]:
    """All findings for one cassette's text, sorted by line."""
    rules = redactor if redactor is not None else Redactor.default()
    lines = text.splitlines()
    cassette: Cassette | None = None
    findings: list[Finding] = []
    try:
        cassette = parse_cassette(text, path)
    except CassetteError as exc:
        message = str(exc).split(": ", 1)[-1]
        findings.append(Finding(path, exc.line or 1, "schema", message))
    starts: list[int] = []
    if cassette is not None:
        for index, interaction in enumerate(cassette.interactions):
            findings.extend(_interaction_findings(path, lines, index, interaction, rules))
            starts.append(interaction.line or 1)
    # The line scan adds what the structure did not explain (a token outside any interaction,
    # a file that does not parse), with the interaction its line falls in.
    flagged = {f.line for f in findings}
    for finding in _scan_lines(path, lines, rules):
        if finding.line in flagged:
            continue
        index = bisect.bisect_right(starts, finding.line) - 1
        if index >= 0:
            finding = replace(finding, interaction=index)
        findings.append(finding)
    unique = {(f.line, f.code, f.message, f.field): f for f in findings}
    return sorted(unique.values(), key=lambda f: (f.line, f.code, f.field))


def _cassette_files(paths: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for entry in paths:
        path = Path(entry)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in _SUFFIXES))
        else:
            files.append(path)
    return files


def run_lint(paths: Iterable[str | Path], redactor: Redactor | None = None) -> list[Finding]:
    """Lint every ``*.yaml``/``*.yml`` under the given directories, and the given files."""
    findings: list[Finding] = []
    for file in _cassette_files(paths):
        try:
            raw = file.read_bytes()
        except OSError as exc:
            findings.append(Finding(str(file), 1, "unreadable", f"cannot read ({exc.strerror})"))
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            findings.append(Finding(str(file), line, "schema", "not valid UTF-8; re-record it"))
            continue
        findings.extend(lint_text(text, str(file), redactor))
    return findings


def lint_main(argv: Sequence[str] | None = None) -> int:
    """``oa-mockserver lint [PATH ...]``: print findings as ``file:line: code: message``.

    Returns 0 when clean, 1 when there are findings, 2 when a path does not exist.
    """
    parser = argparse.ArgumentParser(
        prog="oa-mockserver lint",
        description="Check cassettes: schema, version, and secrets left in them.",
    )
    parser.add_argument("paths", nargs="*", default=["cassettes"], help="directories or files")
    args = parser.parse_args(argv)
    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        for path in missing:
            print(f"oa-mockserver lint: {path}: no such file or directory", file=sys.stderr)
        return 2
    files = _cassette_files(args.paths)
    findings = run_lint(files)
    for finding in findings:
        print(finding)
    status = "clean" if not findings else f"{len(findings)} finding(s)"
    print(f"oa-mockserver lint: {len(files)} cassette(s), {status}", file=sys.stderr)
    return 1 if findings else 0
