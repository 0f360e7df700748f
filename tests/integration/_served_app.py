"""The app of a config served in this process on 127.0.0.1, whatever host the config names."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from oa_mockserver import ServerConfig, create_app


@asynccontextmanager
async def served(
    config: ServerConfig, *, access_log_class: type[AbstractAccessLogger] | None = None
) -> AsyncIterator[str]:
    """Serve ``create_app(config)`` on a free loopback port (with ``access_log_class``, the
    CLI's say, when given); yield its base URL. Why not :class:`MockServer`: it binds the host
    the config names, and these tests need a config bound wider than the machine allows."""
    runner = (
        web.AppRunner(create_app(config), access_log_class=access_log_class)
        if access_log_class is not None
        else web.AppRunner(create_app(config))
    )
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()
