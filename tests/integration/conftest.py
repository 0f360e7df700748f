"""Fixtures shared by the integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from _fakes import FakeSite, serve


@pytest_asyncio.fixture
async def site() -> AsyncIterator[FakeSite]:
    """A scripted fake of the web site on a free loopback port (see _fakes.FakeSite)."""
    async with serve(FakeSite()) as running:
        yield running
