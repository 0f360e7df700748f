"""``oa-mockserver report``: a cassette or a saved journal to one self-contained HTML file."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from oa_mockserver import _cli as cli
from oa_mockserver._control.journal import Journal, StreamLog
from oa_mockserver._report import ReportError, report_data
from oa_mockserver.recording._cassette import library_path

MULTI_TURN = Path(str(library_path())) / "web" / "multi_turn.yaml"


def _embedded(html: str) -> Any:
    found = re.search(r'<script type="application/json" id="oa-report">(.*?)</script>', html, re.S)
    assert found is not None
    return json.loads(found.group(1))


def test_a_cassette_becomes_rows_steps_and_its_stream_timeline() -> None:
    data = report_data(MULTI_TURN.read_text(), "multi_turn.yaml")
    rows = data["rows"]
    assert [r["step"] for r in rows] == [
        "create_chat", "prompter_message", "assistant_message", "events", "delete_chat",
    ]  # fmt: skip
    stream = next(r["stream"] for r in rows if r["stream"])
    assert stream["tokens"] > 0
    assert stream["final"]
    # each point is a recorded chunk at its recorded offset
    from oa_mockserver.recording._cassette import load_cassette

    recorded = next(i.response.chunks for i in load_cassette(MULTI_TURN).interactions
                    if i.response.chunks)  # fmt: skip
    assert [p[0] for p in stream["points"]] == [c.offset_s for c in recorded]
    detail = data["details"][4]
    assert "event_type" in detail["response"]["body"]
    assert "REDACTED" in json.dumps(detail["headers"])  # the cassette's redaction is kept


def test_a_saved_journal_becomes_the_same_rows(tmp_path: Path) -> None:
    journal = Journal()
    log = StreamLog()
    log.start(1.0)
    log.add(1.1, b'data: {"event_type": "token", "text": "x"}\n\n')
    journal.record_request(
        method="GET", path="/api/chat/events", query_string="", headers={}, body=b"",
        content_type=None, status=200, matched=True, step="events", started_at=9.0,
        duration_s=0.2, faults=("drop",), stream=log,
    )  # fmt: skip
    saved = {"requests": [c.to_json() for c in journal.page().calls], "next_after": 1}
    data = report_data(json.dumps(saved), "journal.json")
    assert data["rows"][0]["faults"] == ["drop"]
    assert data["rows"][0]["stream"]["points"] == [[pytest.approx(0.1), 44, "token"]]
    assert data["details"][1]["path"] == "/api/chat/events"


def test_something_else_is_refused_with_what_was_expected() -> None:
    with pytest.raises(ReportError, match="neither a saved journal"):
        report_data("just: [text", "notes.txt")


def test_the_command_writes_one_self_contained_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "report.html"
    assert cli.main(["report", str(MULTI_TURN), "-o", str(target)]) == 0
    html = target.read_text()
    assert not re.search(r"""(src|href)=["']https?:""", html)
    assert len(_embedded(html)["rows"]) == 5
    assert "wrote" in capsys.readouterr().out
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # no temporary file left


def test_the_command_says_which_file_and_why_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.json"
    assert cli.main(["report", str(missing), "-o", str(tmp_path / "r.html")]) == 2
    assert capsys.readouterr().err.startswith(f"{missing}: ")
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    assert cli.main(["report", str(bad), "-o", str(tmp_path / "r.html")]) == 2
    assert "neither a saved journal" in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()
