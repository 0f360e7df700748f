"""``oa-mockserver report``: a cassette or a saved journal as one self-contained HTML file.

``oa-mockserver report SOURCE -o report.html`` writes one self-contained HTML file (the
dashboard's page, its data embedded: no server, no network) showing the request list and the
event streams' timelines of ``SOURCE``: a cassette (YAML or JSON), or a saved journal (the JSON
of ``GET /__admin/requests``), so a failed CI run can attach a picture of what the client saw.

:func:`report_data` is the pure half (text in, the page's data out); :func:`report_main` reads
and writes the files.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ._control.dashboard import row_from_json, timeline
from ._control.dashboard_page import page_html
from ._control.journal import chunk_kind
from ._exceptions import CassetteError
from ._server.steps import _STEPS, step_of
from .recording._cassette import Cassette, parse_cassette, write_text_atomically

__all__ = [
    "ReportError",
    "add_report_parser",
    "cassette_data",
    "report_data",
    "report_main",
]

#: Bytes of a recorded answer's body a report keeps (a long stream is cut, and says so).
BODY_SHOWN = 64 * 1024
_ROUTES = [
    (method, re.compile(re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(route))), route)
    for method, route in _STEPS
]


class ReportError(ValueError):
    """The source of a report is neither a cassette nor a saved journal."""


def _step(method: str, path: str, query: Mapping[str, str]) -> str | None:
    for route_method, pattern, route in _ROUTES:
        if route_method == method and pattern.fullmatch(path):
            return step_of(method, route, query)
    return step_of(method, path, query) if path == "/api/chat" else None


def _text(data: bytes | None) -> str:
    data = data or b""
    if len(data) > BODY_SHOWN:
        more = len(data) - BODY_SHOWN
        return data[:BODY_SHOWN].decode("utf-8", "replace") + f"\n… ({more} more bytes)"
    return data.decode("utf-8", "replace")


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def cassette_data(cassette: Cassette) -> tuple[list[dict[str, Any]], dict[int, Any]]:
    """The rows and details of a cassette's interactions, in order (``seq`` 1, 2, ...).

    A cassette has no wall-clock times: each interaction is placed after the streams before
    it ended, so the timelines read left to right as the conversation went.
    """
    rows: list[dict[str, Any]] = []
    details: dict[int, Any] = {}
    at = 0.0
    for seq, interaction in enumerate(cassette.interactions, start=1):
        request, answer = interaction.request, interaction.response
        parts = urlsplit(request.uri)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        chunks = [(c.offset_s, len(c.data), chunk_kind(c.data)) for c in answer.chunks]
        duration = chunks[-1][0] if chunks else 0.0
        stream = None
        if chunks:
            kinds = [c[2] for c in chunks]
            stream = timeline(
                chunks, key=f"seq-{seq}", origin=at, end=duration, final="message" in kinds
            )
        body = _text(request.body)
        row = row_from_json(
            {
                "seq": seq,
                "method": request.method,
                "path": parts.path,
                "query": query,
                "status": answer.status,
                "started_at": at,
                "duration_s": duration,
            }
        )
        row["step"] = _step(request.method, parts.path, query)
        row["stream"] = stream
        rows.append(row)
        answer_body = _text(answer.body)
        details[seq] = {
            "seq": seq,
            "method": request.method,
            "path": parts.path,
            "query": query,
            "headers": dict(request.headers),
            "body": body,
            "json": _json_or_none(body),
            "response": {"headers": dict(answer.headers), "body": answer_body},
        }
        at += duration
    return rows, details


def report_data(text: str, name: str) -> dict[str, Any]:
    """The page's data for a report of ``text``, a saved journal or a cassette named ``name``.

    Raises:
        ReportError: ``text`` is neither (the message says what it expected).
    """
    try:
        saved = json.loads(text)
    except ValueError:
        saved = None
    if isinstance(saved, Mapping) and isinstance(saved.get("requests"), list):
        items = [item for item in saved["requests"] if isinstance(item, Mapping)]
        rows = [row_from_json(item) for item in items]
        return {
            "title": name,
            "rows": rows,
            "details": {row["seq"]: item for row, item in zip(rows, items, strict=False)},
        }
    try:
        cassette = parse_cassette(text, name)
    except CassetteError as error:
        raise ReportError(
            f"neither a saved journal (JSON with a 'requests' list, as GET /__admin/requests "
            f"answers) nor a cassette: {error}"
        ) from error
    rows, details = cassette_data(cassette)
    return {"title": name, "rows": rows, "details": details}


def add_report_parser(commands: Any) -> None:
    """Add the ``report`` command to ``oa-mockserver``'s subcommands."""
    report = commands.add_parser(
        "report",
        help="write one HTML file showing a cassette's or a saved journal's requests and streams",
    )
    report.add_argument(
        "source",
        metavar="CASSETTE_OR_JOURNAL",
        help="a cassette (.yaml/.json), or the JSON of GET /__admin/requests saved to a file",
    )
    report.add_argument(
        "-o",
        "--output",
        default="report.html",
        help="the HTML file to write (default: %(default)s)",
    )


def report_main(args: argparse.Namespace) -> int:
    """Run ``oa-mockserver report``: 0, or 2 with ``file: reason`` on stderr."""
    source = Path(args.source)
    try:
        text = source.read_text(encoding="utf-8")
        data = report_data(text, source.name)
    except (OSError, UnicodeDecodeError, ReportError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        print(f"{source}: {reason}", file=sys.stderr)
        return 2
    target = Path(args.output)
    try:
        write_text_atomically(target, page_html(data))
    except OSError as error:
        print(f"{target}: cannot write the report ({error.strerror or error})", file=sys.stderr)
        return 2
    streams = sum(1 for row in data["rows"] if row["stream"])
    print(f"wrote {target}: {len(data['rows'])} requests, {streams} event streams")
    return 0
