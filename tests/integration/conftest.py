"""Fixtures shared by the integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from _fakes import FakeSite, serve

from oa_mockserver import MockServer, ServerConfig


@pytest_asyncio.fixture
async def site() -> AsyncIterator[FakeSite]:
    """A scripted fake of the web site on a free loopback port (see _fakes.FakeSite)."""
    async with serve(FakeSite()) as running:
        yield running


@pytest_asyncio.fixture
async def server() -> AsyncIterator[MockServer]:
    """A mock server with instant 16-token replies; a module that needs another configuration
    defines its own `server`, which pytest prefers to this one."""
    async with MockServer(
        ServerConfig(token_interval=0.0, first_token_delay=0.0, reply_tokens=16)
    ) as running:
        yield running
