"""``oa-mockserver record --name``: a plain file name only, and no cassette overwritten silently.

``--name ../../escape`` wrote outside ``--cassettes``; recording again under an existing name
turned its 5 interactions into 1. Now a name with any path in it is exit 2 before anything is
bound or written, and an existing cassette is handled by ``--record-mode`` as vcrpy's record
modes do: ``once`` (the default) refuses it, ``new_episodes`` adds to it, ``all`` replaces it.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from _helpers.served import Served, run_command, serving

from oa_mockserver import MockServer, ServerConfig
from oa_mockserver.recording import RecordingProxy, load_cassette

FAST = {"token_interval": 0.0, "first_token_delay": 0.0, "reply_tokens": 3}


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def _record(*args: str) -> subprocess.CompletedProcess[str]:
    return run_command("record", "--port", "0", *args)


async def _cassette_of(upstream: str, path: Path, calls: int, **options: str) -> None:
    """Record ``calls`` GETs of the model list through an in-process proxy into ``path``."""
    async with RecordingProxy(upstream, path, **options) as proxy, aiohttp.ClientSession() as http:
        for _ in range(calls):
            async with http.get(f"{proxy.url}/auth/providers") as response:
                assert response.status == 200


@pytest_asyncio.fixture
async def upstream() -> AsyncIterator[MockServer]:
    async with MockServer(ServerConfig(**FAST)) as running:
        yield running


@pytest_asyncio.fixture
async def cassette(upstream: MockServer, tmp_path: Path) -> Path:
    """``session.yaml`` in ``tmp_path`` (the ``--cassettes`` of the tests), five interactions.
    The tests read it with ``asyncio.to_thread``, as ruff asks of file reads in a coroutine."""
    path = tmp_path / "session.yaml"
    await _cassette_of(upstream.url, path, 5)
    return path


@pytest.mark.parametrize(
    "name",
    [
        "../../escape",
        "../escape",
        "sub/name",
        "/tmp/absolute",
        "..",
        ".",
        "",
        " ",
        ".yaml",
        "back\\slash",
        "C:drive",
        "new\nline",
    ],
)
def test_a_name_that_is_not_a_plain_file_name_is_exit_2(tmp_path: Path, name: str) -> None:
    cassettes = tmp_path / "deep" / "er" / "cassettes"
    result = _record("--upstream", "http://127.0.0.1:9", "--cassettes", str(cassettes),
                     "--name", name)  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "oa-mockserver record: the cassette name must be a plain file name" in result.stderr
    assert repr(name) in result.stderr
    assert "Traceback" not in result.stderr
    assert "Running on" not in result.stdout
    assert _files(tmp_path) == []


@pytest.mark.parametrize(
    ("name", "file"),
    [("my-session", "my-session.yaml"), ("old.yml", "old.yml"), ("a..b", "a..b.yaml")],
)
@pytest.mark.asyncio
async def test_a_plain_name_is_written_into_the_cassettes_directory(
    tmp_path: Path, upstream: MockServer, name: str, file: str
) -> None:
    served = await _record_one_call(
        "--upstream", upstream.url, "--cassettes", str(tmp_path), "--name", name
    )
    assert served.process.returncode == 0, served.output
    assert _files(tmp_path) == [tmp_path / file]
    assert len(load_cassette(tmp_path / file).interactions) == 1


async def _record_one_call(*args: str) -> Served:
    """Start the proxy (``record --port 0 ARGS``), send one request through it, stop it."""
    async with (
        serving("record", "--port", "0", *args) as served,
        aiohttp.ClientSession() as http,
        http.get(f"{served.url}/configs/model_configs") as response,
    ):
        assert response.status == 200
    return served


@pytest.mark.asyncio
async def test_an_existing_cassette_is_refused_by_default(
    tmp_path: Path, upstream: MockServer, cassette: Path
) -> None:
    before = await asyncio.to_thread(cassette.read_bytes)
    for extra in ([], ["--record-mode", "once"]):
        result = _record("--upstream", upstream.url, "--cassettes", str(tmp_path),
                         "--name", "session", *extra)  # fmt: skip
        assert result.returncode == 2, result.stderr
        assert f"the cassette {cassette} already exists" in result.stderr
        assert "--record-mode new_episodes" in result.stderr
        assert "Running on" not in result.stdout
    assert await asyncio.to_thread(cassette.read_bytes) == before
    assert len(load_cassette(cassette).interactions) == 5
    assert _files(tmp_path) == [cassette]


@pytest.mark.asyncio
async def test_new_episodes_adds_to_the_existing_cassette(
    tmp_path: Path, upstream: MockServer, cassette: Path
) -> None:
    old = load_cassette(cassette).interactions
    served = await _record_one_call(
        "--upstream", upstream.url, "--cassettes", str(tmp_path), "--name", "session",
        "--record-mode", "new_episodes",
    )  # fmt: skip
    assert served.process.returncode == 0, served.output
    interactions = load_cassette(cassette).interactions
    assert len(interactions) == 6
    assert [i.request for i in interactions[:5]] == [i.request for i in old]
    assert interactions[5].request.uri.endswith("/configs/model_configs")
    assert _files(tmp_path) == [cassette]  # no temporary file left


@pytest.mark.asyncio
async def test_all_records_the_cassette_anew(
    tmp_path: Path, upstream: MockServer, cassette: Path
) -> None:
    before = await asyncio.to_thread(cassette.read_bytes)
    async with RecordingProxy(upstream.url, cassette, record_mode="all"):
        # untouched until an exchange is recorded
        assert await asyncio.to_thread(cassette.read_bytes) == before
    await _cassette_of(upstream.url, cassette, 2, record_mode="all")
    assert len(load_cassette(cassette).interactions) == 2


@pytest.mark.asyncio
async def test_the_python_api_refuses_an_existing_cassette_too(
    tmp_path: Path, upstream: MockServer, cassette: Path
) -> None:
    with pytest.raises(ValueError, match="already exists"):
        RecordingProxy(upstream.url, cassette)
    with pytest.raises(ValueError, match="record mode must be one of once, new_episodes, all"):
        RecordingProxy(upstream.url, tmp_path / "other.yaml", record_mode="none")
    await _cassette_of(upstream.url, cassette, 1, record_mode="new_episodes")
    assert len(load_cassette(cassette).interactions) == 6


def test_new_episodes_on_a_broken_file_is_exit_2(tmp_path: Path) -> None:
    cassette = tmp_path / "session.yaml"
    cassette.write_text("interactions: [\n", encoding="utf-8")
    result = _record("--upstream", "http://127.0.0.1:9", "--cassettes", str(tmp_path),
                     "--name", "session", "--record-mode", "new_episodes")  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert str(cassette) in result.stderr
    assert "Traceback" not in result.stderr
    assert cassette.read_text(encoding="utf-8") == "interactions: [\n"


def test_help_documents_the_record_mode() -> None:
    out = " ".join(_record("--help").stdout.split())  # argparse wraps the lines
    assert "--record-mode {once,new_episodes,all}" in out
    assert "a plain name, no path" in out
    assert "once refuses it (exit 2), new_episodes adds to it, all replaces it" in out
