"""MockServer and RecordingProxy bind through one ServedApp: a failed start leaves nothing
running, and a second start is refused instead of losing the first server."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from oa_mockserver import MockServer, MockServerError, ServerConfig
from oa_mockserver.recording import RecordingProxy


@pytest.mark.asyncio
async def test_a_start_that_fails_after_the_runner_is_set_up_cleans_it_up(tmp_path: Path) -> None:
    async with MockServer(ServerConfig(token_interval=0.0)) as upstream:
        proxy = RecordingProxy(upstream.url, tmp_path / "c.yaml", port=70_000)  # no such port
        cleaned: list[bool] = []

        async def on_cleanup(app: web.Application) -> None:
            cleaned.append(True)

        proxy.app.on_cleanup.append(on_cleanup)
        with pytest.raises(OverflowError):
            await proxy.start()
        assert cleaned == [True]
        await proxy.stop()  # nothing left to stop: a no-op


@pytest.mark.asyncio
async def test_a_second_start_of_a_running_proxy_is_refused(tmp_path: Path) -> None:
    async with (
        MockServer(ServerConfig(token_interval=0.0)) as upstream,
        RecordingProxy(upstream.url, tmp_path / "c.yaml") as proxy,
        aiohttp.ClientSession() as http,
    ):
        url = proxy.url
        with pytest.raises(MockServerError, match="already running"):
            await proxy.start()
        async with http.get(f"{url}/auth/providers") as response:
            assert response.status == 200  # the first one still serves, where it was
        assert proxy.url == url
