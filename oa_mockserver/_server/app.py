"""``create_app(config)``: both dialects over one in-memory store, as an aiohttp application.

Every route of both dialects runs inside the guard (:mod:`.guard`: faults, the body limit,
error shapes, the journal); a fallback route answers 404 and 405 as FastAPI does; the admin API
(``/__admin/``) is neither guarded nor journaled.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from .auth import TokenAuthority
from .config import ServerConfig
from .context import CONTEXT, ServerContext
from .guard import add_fallback, announced_routes, guarded_routes
from .routes.admin import add_admin_routes
from .routes.inference import add_inference_routes
from .routes.ui import add_ui_routes
from .routes.web import add_web_routes

__all__ = ["context_of", "create_app"]


async def _on_shutdown(app: web.Application) -> None:
    app[CONTEXT].engine.close()


async def _shared_state(app: web.Application) -> AsyncIterator[None]:
    """With a Redis store: agree on the token key at startup; disconnect at cleanup."""
    ctx = app[CONTEXT]
    shared = ctx.shared
    if shared is None:
        yield
        return
    ctx.auth = TokenAuthority(await shared.auth_secret())
    await shared.start()
    yield
    await shared.close()


def create_app(config: ServerConfig | None = None) -> web.Application:
    """A new mock server application (fresh, empty state) for ``config``.

    Run it with ``aiohttp.web.run_app``, an ``AppRunner``, or use :class:`MockServer`.
    """
    config = config if config is not None else ServerConfig()
    ctx = ServerContext.new(config)
    app = web.Application(client_max_size=config.max_body_size)
    app[CONTEXT] = ctx
    add_inference_routes(guarded_routes(ctx, app.router))
    add_web_routes(guarded_routes(ctx, app.router))
    add_admin_routes(app, announced_routes(app.router))
    add_ui_routes(app)  # the dashboard, /__admin/ui: access-checked as the admin API
    add_fallback(ctx, app.router)  # last: it takes whatever no other route took
    app.on_shutdown.append(_on_shutdown)
    if ctx.shared is not None:
        app.cleanup_ctx.append(_shared_state)
    return app


def context_of(app: web.Application) -> ServerContext:
    """The shared state of an app made by :func:`create_app`."""
    return app[CONTEXT]
