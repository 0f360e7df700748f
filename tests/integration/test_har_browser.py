"""A HAR made by a real browser: headless Chromium (Debian's, driven by Playwright) chats with the
mock server through ``fetch`` from a page on the server's origin, Playwright records the HAR, the
CLI imports it, and both engines replay the cassette with the tokens the browser read.

Run with ``pytest -m browser`` (needs ``/usr/bin/chromium`` and the ``[e2e]`` extra).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from _har_chat import converse
from _helpers.served import run_command
from _scripts import load_script

from oa_mockserver import MockServer, ServerConfig
from oa_mockserver.recording import load_cassette, run_lint, use_cassette

ROOT = Path(__file__).resolve().parents[2]


BROWSER = load_script("make_browser_har")


@pytest.mark.browser
@pytest.mark.asyncio
async def test_a_chromium_har_imports_and_replays_through_both_engines(tmp_path: Path) -> None:
    har = tmp_path / "session.har"
    secret = "chromium-session-value-7f3a"
    async with MockServer(BROWSER.SERVER) as server:
        seen = await BROWSER.record_browser_har(har, server.url, session=secret)
    assert [len(turn) for turn in seen] == [8, 8]
    assert secret in har.read_text(encoding="utf-8")  # the browser sent the session cookie

    done = await asyncio.to_thread(
        run_command, "import-har", str(har), "--cassettes", str(tmp_path / "cassettes")
    )
    assert done.returncode == 0, done.stderr
    assert "imported 8 entries" in done.stdout
    assert "1 of another route" in done.stdout  # the page, served at /index.html
    cassette_path = tmp_path / "cassettes" / "session.yaml"
    assert secret not in cassette_path.read_text(encoding="utf-8")
    assert run_lint([cassette_path]) == []
    assert len([i for i in load_cassette(cassette_path).interactions if i.response.chunks]) == 2

    async with MockServer(
        ServerConfig(cassettes=str(cassette_path), strict_replay=True)
    ) as replaying:
        over_http = await converse(replaying.url, BROWSER.PROMPTS, BROWSER.MODEL, BROWSER.SAMPLING)
        assert replaying.problems(include_unmatched=False) == []
    with use_cassette(cassette_path):
        in_process = await converse(
            "http://127.0.0.1:9", BROWSER.PROMPTS, BROWSER.MODEL, BROWSER.SAMPLING
        )
    assert over_http == in_process == seen
