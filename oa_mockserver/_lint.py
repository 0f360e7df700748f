"""``oa-mockserver lint DIR``: check cassettes' schema and version, and look for secrets.

A finding names ``file:line``, a code and what to do; it never repeats the secret it found.
Checks: the file parses as a version-1 cassette (:func:`parse_cassette`); secret headers
(cookies, ``Authorization``, ``Refresh``, ...) hold only redacted values; no token sits in a query
string, a JSON body (``access_token``, ``refresh_token``, ...) or anywhere in JWT/JWE shape; and no
high-entropy value sits in an auth-like field (a key named like token, secret, session, password,
auth, cookie or api key). :func:`run_lint` is the logic; :func:`lint_main` is the CLI entry.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ._cassette import Cassette, Interaction, parse_cassette
from ._exceptions import CassetteError
from ._redact import REDACTED, Redactor

__all__ = ["Finding", "lint_main", "lint_text", "run_lint"]

_SUFFIXES = (".yaml", ".yml")
_AUTH_KEY = re.compile(
    r"""["']?(?P<key>[\w.-]*(?:token|secret|session|passw(?:or)?d|auth|cookie|api[_-]?key)[\w.-]*)"""
    r"""["']?\s*[:=]\s*["']?(?P<value>[^\s"',;&}]+)""",
    re.IGNORECASE,
)
_AUTH_NAME = re.compile(r"token|secret|session|passw(?:or)?d|auth|cookie|api[_-]?key", re.I)
_MIN_SECRET_LENGTH = 16
_MIN_ENTROPY_BITS = 3.3


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem: where (``path:line``), a short code, and a message saying what to do."""

    path: str
    line: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.code}: {self.message}"


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


def _line_of(lines: Sequence[str], needle: str, start: int) -> int:
    """The 1-based line at or after ``start`` holding ``needle`` (``start`` when none does)."""
    probe = needle[:40]
    for index in range(max(0, start - 1), len(lines)):
        if probe and probe in lines[index]:
            return index + 1
    return start


def _scan_lines(path: str, lines: Sequence[str], redactor: Redactor) -> list[Finding]:
    findings: list[Finding] = []
    for number, line in enumerate(lines, 1):
        raw = line.encode("utf-8", "surrogateescape")
        for regex in redactor.patterns:
            if any(m.group() != REDACTED.encode() for m in regex.finditer(raw)):
                findings.append(
                    Finding(
                        path,
                        number,
                        "token-shape",
                        "a value shaped like a token (JWT/JWE or a configured pattern) is "
                        "stored; re-record with redaction on, or replace it with REDACTED",
                    )
                )
                break
        for match in _AUTH_KEY.finditer(line):
            if _looks_secret(match.group("value")):
                findings.append(
                    Finding(
                        path,
                        number,
                        "high-entropy",
                        f"auth-like field {match.group('key')!r} holds a high-entropy value; "
                        "replace it with REDACTED",
                    )
                )
    return findings


def _interaction_findings(
    path: str, lines: Sequence[str], interaction: Interaction, redactor: Redactor
) -> list[Finding]:
    findings: list[Finding] = []
    start = interaction.line or 1
    req, resp = interaction.request, interaction.response
    for where, headers in (("request", req.headers), ("response", resp.headers)):
        for name, value in headers:
            if redactor.header_value(name, value) != value:
                findings.append(
                    Finding(
                        path,
                        _line_of(lines, value, start),
                        "secret-header",
                        f"{where} header {name!r} is not redacted; replace its value "
                        f"with {REDACTED} (cookies: name={REDACTED})",
                    )
                )
            elif _AUTH_NAME.search(name) and _looks_secret(value.rpartition(" ")[2]):
                findings.append(
                    Finding(
                        path,
                        _line_of(lines, value, start),
                        "high-entropy",
                        f"{where} header {name!r} is auth-like and holds a high-entropy value; "
                        f"replace it with {REDACTED}",
                    )
                )
    if redactor.uri(req.uri) != req.uri:
        findings.append(
            Finding(
                path,
                _line_of(lines, req.uri, start),
                "secret-query",
                "the request URI carries a token in its query string; replace the value "
                f"with {REDACTED}",
            )
        )
    for where, body, ctype in (
        ("request", req.body or b"", req.header("Content-Type")),
        ("response", resp.body, resp.header("Content-Type")),
    ):
        for begin, end in redactor.body_spans(body, ctype):
            secret = body[begin:end].decode("utf-8", "replace")
            if secret == REDACTED:
                continue
            findings.append(
                Finding(
                    path,
                    _line_of(lines, secret, start),
                    "secret-body",
                    f"the {where} body holds a token (a secret JSON key or a token shape); "
                    f"replace it with {REDACTED}",
                )
            )
    return findings


def lint_text(
    text: str, path: str = "<cassette>", redactor: Redactor | None = None
) -> list[Finding]:
    """All findings for one cassette's text, sorted by line."""
    rules = redactor if redactor is not None else Redactor.default()
    lines = text.splitlines()
    findings = _scan_lines(path, lines, rules)
    cassette: Cassette | None = None
    try:
        cassette = parse_cassette(text, path)
    except CassetteError as exc:
        message = str(exc).split(": ", 1)[-1]
        findings.append(Finding(path, exc.line or 1, "schema", message))
    if cassette is not None:
        for interaction in cassette.interactions:
            findings.extend(_interaction_findings(path, lines, interaction, rules))
    unique = {(f.line, f.code, f.message): f for f in findings}
    return sorted(unique.values(), key=lambda f: (f.line, f.code))


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
