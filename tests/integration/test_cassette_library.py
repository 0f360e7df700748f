"""Every shipped cassette replays through both engines and the client gets the same outcome.

The clients are the recording script's own (scripts/record_library.py): the provider for the
web-site scenarios, raw aiohttp for the 403 and the inference 204. Replays send no fault header,
so every error outcome comes from the cassette.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _scripts import load_script

from oa_mockserver import MockServer, ServerConfig
from oa_mockserver.recording import load_cassette, use_cassette

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "cassettes"


SCRIPT = load_script("record_library")
SCENARIOS = {s.name: s for s in SCRIPT.SCENARIOS}
EXPECTED_LAST = {
    "web/error_event": "!GenerationError",
    "web/unknown_model": "!InvalidRequestError",
    "web/busy_503": "!ServerBusyError",
    "web/forbidden_no_cookie": "",
}


#: Converted from the genuine server's recordings (tests/integration/test_reference_cassettes.py)
REFERENCE = "reference/"


def test_every_cassette_has_a_scenario_and_every_scenario_a_cassette() -> None:
    files = {str(p.relative_to(LIBRARY).with_suffix("")) for p in LIBRARY.rglob("*.yaml")}
    assert {f for f in files if not f.startswith(REFERENCE)} == set(SCENARIOS)


@pytest.mark.asyncio
@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_both_engines_give_the_same_outcome(name: str) -> None:
    path = LIBRARY / f"{name}.yaml"
    client = SCENARIOS[name].client
    config = ServerConfig(
        cassettes=str(path), strict_replay=True, token_interval=0.0, first_token_delay=0.0
    )
    async with MockServer(config) as server:
        over_http = await client(server.url, False)
        assert server.problems(include_unmatched=False) == []
    with use_cassette(path):
        in_process = await client("http://127.0.0.1:9", False)
    assert over_http == in_process
    assert over_http, "the client got nothing"
    if name in EXPECTED_LAST:
        assert over_http[-1] == EXPECTED_LAST[name]
    else:
        assert not any(t.startswith("!") for t in over_http), over_http


@pytest.mark.asyncio
async def test_replayed_tokens_are_the_recorded_ones_not_generated() -> None:
    path = LIBRARY / "web/seed_example.yaml"
    text = "".join(
        c.data.decode() for i in load_cassette(path).interactions for c in i.response.chunks
    )
    async with MockServer(
        ServerConfig(cassettes=str(path), token_interval=0.0, first_token_delay=0.0)
    ) as server:
        tokens = await SCENARIOS["web/seed_example"].client(server.url, False)
    assert tokens
    assert all(f'"text": "{t}' in text or t.strip() in text for t in tokens)


@pytest.mark.asyncio
async def test_long_reply_final_event_is_over_64_kib_and_replays_whole() -> None:
    path = LIBRARY / "web/long_reply.yaml"
    cassette = load_cassette(path)
    finals = [
        c.data
        for i in cassette.interactions
        for c in i.response.chunks
        if b'"event_type": "message"' in c.data
    ]
    assert finals
    assert len(finals[-1]) > 64 * 1024
    async with MockServer(
        ServerConfig(cassettes=str(path), replay_timing="rechunk", rechunk_seed=7)
    ) as server:
        tokens = await SCENARIOS["web/long_reply"].client(server.url, False)
    assert len("".join(tokens)) > 64 * 1024


def test_the_library_is_installed_as_package_data() -> None:
    from oa_mockserver import library_path

    installed = sorted(
        str(path.relative_to(library_path()).with_suffix(""))
        for path in library_path().rglob("*.yaml")
    )
    synthetic = [name for name in installed if not name.startswith(REFERENCE)]
    assert synthetic == sorted(SCENARIOS)
    assert len(synthetic) == 12
    assert sorted(set(installed) - set(synthetic)) == [
        "reference/pending_no_worker",
        "reference/queued",
        "reference/two_turns",
    ]
