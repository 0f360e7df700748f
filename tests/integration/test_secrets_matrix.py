"""Issue 11's secrets matrix: every case × every place it can reach, over real loopback HTTP.

See _secrets_cases for the cases and how each place is read. A place passes when it keeps none
of the case's secrets; lint passes when, on the same exchanges recorded without redaction, it
flags the case's interaction and field without printing the secret.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from _secrets_cases import AWS, CASES, GITHUB, Case, Gathered, gather

from oa_mockserver import MockServer, ServerConfig
from oa_mockserver.recording import REDACTED, RecordingProxy, oa_vcr, run_lint, use_cassette
from oa_provider import OAError, OpenAssistant


@pytest.fixture(scope="module")
def gathered(tmp_path_factory: pytest.TempPathFactory) -> Gathered:
    return gather(tmp_path_factory.mktemp("secrets"))


@pytest.mark.parametrize(
    ("case", "place"),
    [(case, place) for case in CASES for place in case.places],
    ids=[f"{case.name}-{place}" for case in CASES for place in case.places],
)
def test_the_secret_does_not_land(gathered: Gathered, case: Case, place: str) -> None:
    kept = gathered.kept(case, place)
    for secret in case.secrets:
        assert secret not in kept, f"{case.name}: {place} kept it"
    if place == "lint":
        assert gathered.flagged(case), f"lint did not flag {case.field} of {case.name}"


def test_the_exchanges_went_through(gathered: Gathered) -> None:
    """Each request reached its upstream, so a clean place is not an empty one."""
    journal = json.loads(gathered.journal)
    calls = journal if isinstance(journal, list) else journal["requests"]
    assert len(calls) >= sum(not c.response for c in CASES)
    assert gathered.cassettes[False].count("- episode:") == sum(not c.response for c in CASES)
    assert gathered.cassettes[True].count("- episode:") == sum(c.response for c in CASES)
    assert REDACTED in gathered.cassettes[False]
    assert len(gathered.access_log.splitlines()) >= sum(not c.response for c in CASES)
    assert "password=REDACTED" in gathered.access_log


def test_the_redacted_recordings_lint_clean(gathered: Gathered, tmp_path: Path) -> None:
    for response_side, text in gathered.cassettes.items():
        path = tmp_path / f"{response_side}.yaml"
        path.write_text(text, encoding="utf-8")
        assert run_lint([path]) == []


async def _chat(url: str, prompt: str) -> list[str]:
    gen = OpenAssistant().create_async_generator(
        messages=[{"role": "user", "content": prompt}],
        base_url=url,
        cookies={"next-auth.session-token": "replay-user-session-4417"},
    )
    return [token async for token in gen]


@pytest.mark.asyncio
async def test_a_prompt_with_a_secret_replays_from_its_placeholder(tmp_path: Path) -> None:
    """The cassette holds a placeholder; the live prompt, redacted the same way, matches it."""
    path = tmp_path / "secret-prompt.yaml"
    prompt = f"my token is {GITHUB}, what now?"
    config = ServerConfig(token_interval=0.0, first_token_delay=0.0, reply_tokens=5)
    async with MockServer(config) as upstream, RecordingProxy(upstream.url, path) as proxy:
        recorded = await _chat(proxy.url, prompt)
    text = path.read_text(encoding="utf-8")
    assert GITHUB not in text
    assert "replay-user-session-4417" not in text
    assert re.search(r"my token is REDACTED-[0-9a-f]{12}, what now", text)
    replay = ServerConfig(
        cassettes=str(path), strict_replay=True, reply_tokens=40, token_interval=0.0
    )
    async with MockServer(replay) as server:
        assert await _chat(server.url, prompt) == recorded  # strict: a miss would be a 409
        with pytest.raises(OAError):
            await _chat(server.url, f"my token is {GITHUB[:-1]}X, what now?")  # another secret


@pytest.mark.asyncio
async def test_vcrpy_replays_a_prompt_with_a_secret(tmp_path: Path) -> None:
    """vcrpy redacts the live request with the recording hook before matching: same placeholder."""
    path = tmp_path / "vcr-secret.yaml"
    prompt = f"deploy with {AWS} please"
    config = ServerConfig(token_interval=0.0, first_token_delay=0.0, reply_tokens=4)
    async with MockServer(config) as upstream:
        with oa_vcr(record_mode="once").use_cassette(str(path)):
            recorded = await _chat(upstream.url, prompt)
        url = upstream.url
    assert AWS not in path.read_text(encoding="utf-8")
    with use_cassette(path):  # the server is gone: replay only
        assert await _chat(url, prompt) == recorded


@pytest.mark.asyncio
async def test_an_upstream_password_is_not_shown(tmp_path: Path) -> None:
    """``--upstream http://user:password@host`` is not echoed in the proxy's 502."""
    async with (
        RecordingProxy("http://deploy:upstream-pw-6612@127.0.0.1:9", tmp_path / "x.yaml") as proxy,
        aiohttp.ClientSession() as session,
        session.get(proxy.url + "/api/chat") as response,
    ):
        text = await response.text()
    assert response.status == 502
    assert "upstream-pw-6612" not in text
    assert "deploy:REDACTED@127.0.0.1:9" in text


_SERVE_WITHOUT_DETECTORS = """
import asyncio, sys
from oa_mockserver import MockServer, ServerConfig
from oa_provider import OpenAssistant

async def main():
    config = ServerConfig(token_interval=0.0, first_token_delay=0.0, reply_tokens=3)
    async with MockServer(config) as server:
        gen = OpenAssistant().create_async_generator(
            messages=[{"role": "user", "content": "hi"}], base_url=server.url,
            cookies={"next-auth.session-token": "s"},
        )
        tokens = [t async for t in gen]
        assert tokens, tokens
        assert "detect_secrets" not in sys.modules, "serving loaded the detectors"
        server.journal.calls  # reading the journal redacts: now they load
        assert "detect_secrets" in sys.modules

asyncio.run(main())
"""


def test_serving_chats_never_loads_the_detectors() -> None:
    """Format detection is off the chat routes' path: only a journal read (or a log) loads it."""
    done = subprocess.run(
        [sys.executable, "-c", _SERVE_WITHOUT_DETECTORS],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
