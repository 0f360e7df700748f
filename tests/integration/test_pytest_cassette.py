"""The oa_cassette marker, driven with pytester as a downstream project uses it."""

from __future__ import annotations

from pathlib import Path

LIBRARY = Path(__file__).resolve().parents[2] / "cassettes"

TEST = f"""
import pytest
from scenario import run

@pytest.mark.oa_cassette({str(LIBRARY / "web/seed_example.yaml")!r}, record_mode="none")
@pytest.mark.asyncio
async def test_replays(oa_cassette):
    tokens = await run()
    assert tokens
    assert oa_cassette.play_count >= 4

def test_without_marker(oa_cassette):
    pass

@pytest.mark.oa_cassette({str(LIBRARY / "web/seed_example.yaml")!r}, record_mode="none")
@pytest.mark.asyncio
async def test_the_marker_alone_replays():
    assert await run()

@pytest.mark.oa_cassette("recorded/chat.yaml", record_mode="once")
@pytest.mark.asyncio
async def test_records_against_the_mock_server(oa_mockserver):
    assert await run(oa_mockserver.url)
"""

SCENARIO = """
from oa_provider import OpenAssistant
async def run(url="http://127.0.0.1:9"):
    gen = OpenAssistant().create_async_generator(
        messages=[{"role": "user", "content": "Привет, как дела?"}],
        base_url=url, cookies={"next-auth.session-token": "x"})
    return [t async for t in gen]
"""


def test_marker_replays_a_shipped_cassette(pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    # nothing but the installed plugin (entry point pytest11) provides the marker and fixture
    pytester.makepyfile(scenario=SCENARIO, test_it=TEST)
    result = pytester.runpytest_inprocess("-p", "no:randomly", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(["*needs @pytest.mark.oa_cassette*"])
    recorded = pytester.path / "recorded" / "chat.yaml"
    assert recorded.is_file()
    text = recorded.read_text(encoding="utf-8")
    assert "/api/chat/events" in text
    assert "next-auth.session-token=x" not in text  # redacted at record time
