"""``oa-mockserver import-har``: a HAR that headless Chromium wrote becomes a cassette that both
engines replay; hand-broken HAR files give ``FILE: reason``, exit status 2, and no file.

tests/fixtures/har/chromium_two_turns.har was made by ``scripts/make_browser_har.py OUT --redact``:
Debian's Chromium, driven by Playwright, ran a two-turn conversation with ``fetch`` against the
mock server and Playwright recorded the HAR (``record_har_path``); the cookies were then redacted.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from _har_chat import converse, tokens_of
from _helpers.served import run_command
from _scripts import load_script

from oa_mockserver import MockServer, ServerConfig
from oa_mockserver._cli import main
from oa_mockserver.recording import load_cassette, run_lint, use_cassette

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "har" / "chromium_two_turns.har"


BROWSER = load_script("make_browser_har")


def har_tokens(path: Path) -> list[list[str]]:
    """Each event stream's tokens, read from the HAR itself."""
    document = json.loads(path.read_text(encoding="utf-8"))
    return [
        tokens_of(e["response"]["content"]["text"].encode())
        for e in document["log"]["entries"]
        if e["response"]["content"].get("mimeType", "").startswith("text/event-stream")
    ]


def test_the_fixture_is_a_real_chromium_har_with_nothing_secret_left() -> None:
    document = json.loads(FIXTURE.read_text(encoding="utf-8"))
    assert document["log"]["version"] == "1.2"
    assert document["log"]["creator"]["name"] == "Playwright"
    agents = {
        h["value"]
        for e in document["log"]["entries"]
        for h in e["request"]["headers"]
        if h["name"].lower() == "user-agent"
    }
    assert agents
    assert all("HeadlessChrome" in a for a in agents)
    assert "browser-user" not in FIXTURE.read_text(encoding="utf-8")  # the session cookie's value
    tokens = har_tokens(FIXTURE)
    assert len(tokens) == 2
    assert all(len(t) == 8 for t in tokens)


def test_import_writes_a_lint_clean_cassette_and_counts_what_it_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import-har", str(FIXTURE), "--cassettes", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    target = tmp_path / "chromium_two_turns.yaml"
    assert "imported 8 entries of 127.0.0.1:" in out
    assert f"into {target}" in out
    assert "skipped 1 entries: 1 of another route" in out  # the page itself (/index.html)
    assert run_lint([tmp_path]) == []
    cassette = load_cassette(target)
    assert cassette.metadata["source"] == "chromium_two_turns.har"
    assert [len(e.interactions) for e in cassette.episodes] == [8]
    streams = [i.response for i in cassette.interactions if i.response.chunks]
    assert [tokens_of(s.body) for s in streams] == har_tokens(FIXTURE)
    for stream in streams:  # one event per chunk, timed within the HAR's receive time
        assert all(
            c.data.endswith(b"\r\n\r\n") and c.data.count(b"\r\n\r\n") == 1 for c in stream.chunks
        )
        assert 0 < stream.chunks[0].offset_s <= stream.chunks[-1].offset_s < 5
    assert [p.name for p in tmp_path.iterdir()] == ["chromium_two_turns.yaml"]


@pytest.fixture
def imported(tmp_path: Path) -> Path:
    assert main(["import-har", str(FIXTURE), "--cassettes", str(tmp_path), "--name", "b"]) == 0
    return tmp_path / "b.yaml"


@pytest.mark.asyncio
async def test_the_mock_server_replays_the_browser_conversation(imported: Path) -> None:
    config = ServerConfig(cassettes=str(imported), strict_replay=True)
    async with MockServer(config) as server:
        turns = await converse(server.url, BROWSER.PROMPTS, BROWSER.MODEL, BROWSER.SAMPLING)
        assert server.problems(include_unmatched=False) == []
    assert turns == har_tokens(FIXTURE)


@pytest.mark.asyncio
async def test_vcrpy_replays_the_browser_conversation(imported: Path) -> None:
    with use_cassette(imported):
        turns = await converse(
            "http://127.0.0.1:9", BROWSER.PROMPTS, BROWSER.MODEL, BROWSER.SAMPLING
        )
    assert turns == har_tokens(FIXTURE)


# --- hand-broken files -------------------------------------------------------------------------


def _edit(change: Callable[[dict[str, Any]], None]) -> str:
    document = json.loads(FIXTURE.read_text(encoding="utf-8"))
    change(document)
    return json.dumps(document)


def _events_entry(document: dict[str, Any]) -> dict[str, Any]:
    return next(e for e in document["log"]["entries"] if "/api/chat/events" in e["request"]["url"])


BROKEN: dict[str, tuple[str | bytes, str]] = {
    "not_json": ("<html>Save as HAR</html>", "not JSON (line 1 column 1"),
    "empty": ("", "not JSON"),
    "not_utf8": (b"\xff\xfe{}", "not UTF-8"),
    "no_log": ('{"entries": []}', "no 'log' object"),
    "wrong_version": (
        _edit(lambda d: d["log"].update(version="2.0")),
        "HAR version '2.0' is not supported",
    ),
    "no_entries": (_edit(lambda d: d["log"].pop("entries")), "log.entries is missing"),
    "entry_without_request": (
        _edit(lambda d: d["log"]["entries"][2].pop("request")),
        "entry 2: request is missing",
    ),
    "entry_without_response": (
        _edit(lambda d: d["log"]["entries"][3].pop("response")),
        "entry 3: response is missing",
    ),
    "bad_base64": (
        _edit(
            lambda d: _events_entry(d)["response"]["content"].update(
                text="data: not base64 at all", encoding="base64"
            )
        ),
        "response.content.text is not valid base64",
    ),
    "body_not_saved": (
        _edit(lambda d: _events_entry(d)["response"]["content"].pop("text")),
        "was not saved",
    ),
    "bad_start_time": (
        _edit(lambda d: d["log"]["entries"][1].update(startedDateTime="today")),
        "entry 1: startedDateTime 'today' is not an ISO 8601 date",
    ),
    "no_chat_route": (
        _edit(lambda d: d["log"].update(entries=d["log"]["entries"][:1])),
        "nothing to import",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_har_gives_file_reason_exit_2_and_writes_nothing(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    content, reason = BROKEN[case]
    har = tmp_path / f"{case}.har"
    if isinstance(content, bytes):
        har.write_bytes(content)
    else:
        har.write_text(content, encoding="utf-8")
    out_dir = tmp_path / "cassettes"
    assert main(["import-har", str(har), "--cassettes", str(out_dir)]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"{har}: "), captured.err
    assert reason in captured.err
    assert captured.out == ""
    assert not out_dir.exists() or list(out_dir.iterdir()) == []


def test_a_missing_file_an_existing_cassette_and_a_bad_name_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.har"
    assert main(["import-har", str(missing), "--cassettes", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith(f"{missing}: cannot read the HAR file")
    args = ["import-har", str(FIXTURE), "--cassettes", str(tmp_path), "--name", "x"]
    assert main(args) == 0
    before = (tmp_path / "x.yaml").read_bytes()
    assert main(args) == 2
    assert "exists already" in capsys.readouterr().err
    assert main([*args, "--force"]) == 0
    assert (tmp_path / "x.yaml").read_bytes() == before
    assert main(["import-har", str(FIXTURE), "--cassettes", str(tmp_path), "--name", "../x"]) == 2
    assert capsys.readouterr().err.startswith(f"{FIXTURE}: ")


def test_a_cassettes_directory_that_cannot_be_written_is_file_reason_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    target = blocker / "sub"
    assert main(["import-har", str(FIXTURE), "--cassettes", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{FIXTURE}: cannot write {target}"), err
    assert "Traceback" not in err


def test_the_command_line_exits_2_with_file_reason(tmp_path: Path) -> None:
    har = tmp_path / "broken.har"
    har.write_text(_edit(lambda d: d["log"]["entries"][1].pop("response")), encoding="utf-8")
    done = run_command("import-har", str(har), "--cassettes", str(tmp_path / "out"))
    assert done.returncode == 2
    assert done.stderr == (
        f"{har}: entry 1: response is missing, not an object; a HAR entry needs a request "
        "and a response: export the session again\n"
    )
    assert not (tmp_path / "out").exists()
