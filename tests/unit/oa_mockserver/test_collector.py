"""The CLI's servers settle the garbage collector before they serve; embedded servers do not."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web

from oa_mockserver import MockServer, ServerConfig
from oa_mockserver import _cli as cli
from oa_mockserver._server.collector import SERVER_THRESHOLDS
from oa_mockserver._server.processes import _runner_factory


@pytest.fixture
def collector() -> Iterator[None]:
    """This process's collector as it was, whatever a test sets."""
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("collector")
def test_serve_settles_the_collector_before_it_serves(monkeypatch: pytest.MonkeyPatch) -> None:
    gc.set_threshold(700, 10, 10)
    seen: list[tuple[tuple[int, int, int], int]] = []

    def run_app(app: web.Application, **options: Any) -> None:
        seen.append((gc.get_threshold(), gc.get_freeze_count()))

    monkeypatch.setattr(cli.web, "run_app", run_app)
    assert cli.main(["serve", "--port", "0"]) == 0
    (thresholds, frozen), = seen
    assert thresholds == SERVER_THRESHOLDS != (700, 10, 10)
    assert frozen > 0  # the app and everything imported: not walked again


@pytest.mark.asyncio
@pytest.mark.usefixtures("collector")
async def test_a_worker_of_several_processes_settles_it_too() -> None:
    gc.set_threshold(700, 10, 10)
    runner = await _runner_factory(ServerConfig())()
    assert gc.get_threshold() == (700, 10, 10)  # not before the app has started up
    await runner.setup()
    try:
        assert gc.get_threshold() == SERVER_THRESHOLDS
        assert gc.get_freeze_count() > 0
    finally:
        await runner.cleanup()


@pytest.mark.asyncio
@pytest.mark.usefixtures("collector")
async def test_an_embedded_server_leaves_its_users_collector_alone() -> None:
    gc.set_threshold(700, 10, 10)
    async with MockServer(ServerConfig(token_interval=0.0)):
        assert gc.get_threshold() == (700, 10, 10)
        assert gc.get_freeze_count() == 0
