"""``create_app(config)``: both dialects over one in-memory store, as an aiohttp application.

One middleware wraps every request: it enforces the body limit (413 JSON), turns aiohttp's
routing errors into FastAPI-shaped JSON (404, 405), turns any exception escaping a handler into
a 500 JSON that names it as a mock-server bug (and keeps its traceback for
:meth:`MockServer.problems`), and journals the request with the status it got.
"""

from __future__ import annotations

import logging
import traceback

from aiohttp import web
from aiohttp.typedefs import Handler

from ._config import ServerConfig
from ._context import CONTEXT, ServerContext
from ._journal import Call
from ._responses import json_detail, json_web_error
from ._routes_inference import add_inference_routes
from ._routes_web import add_web_routes

__all__ = ["context_of", "create_app"]

log = logging.getLogger("oa_mockserver")


def _too_large(request: web.Request, limit: int) -> web.Response:
    detail = f"Request body too large: the limit is {limit} bytes; send a smaller body"
    if request.path.startswith("/api/"):
        return json_web_error(413, detail)
    return json_detail(413, detail)


def _http_error(request: web.Request, error: web.HTTPException) -> web.Response:
    if error.status == 404:
        detail = "Not Found"
    elif error.status == 405:
        detail = "Method Not Allowed"
    else:
        detail = error.reason
    if request.path.startswith("/api/"):
        response = json_web_error(error.status, detail)
    else:
        response = json_detail(error.status, detail)
    allow = error.headers.get("Allow")
    if allow:
        response.headers["Allow"] = allow
    return response


@web.middleware
async def _guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    ctx = request.app[CONTEXT]
    limit = ctx.config.max_body_size
    matched = request.match_info.http_exception is None
    body = b""
    response: web.StreamResponse
    try:
        declared = request.content_length
        if declared is not None and declared > limit:
            response = _too_large(request, limit)
        else:
            body = await request.read()
            response = await handler(request)
    except web.HTTPRequestEntityTooLarge:
        response = _too_large(request, limit)
    except web.HTTPException as error:
        response = _http_error(request, error)
    except Exception as error:  # noqa: BLE001 - any escape is our bug: answer 500 and keep it
        ctx.handler_errors.append(
            f"{request.method} {request.path}: {''.join(traceback.format_exception(error))}"
        )
        log.error("handler error on %s %s: %s", request.method, request.path, type(error).__name__)
        response = json_detail(
            500, f"oa_mockserver bug: {type(error).__name__} in the handler of {request.path}"
        )
    ctx.journal.record(
        Call.build(
            method=request.method,
            path=request.path,
            query=request.query,
            headers=request.headers.items(),
            body=body,
            status=response.status,
            matched=matched,
        )
    )
    return response


async def _server_header(request: web.Request, response: web.StreamResponse) -> None:
    # aiohttp announces itself; the reference is uvicorn, and clients may look
    response.headers["Server"] = "uvicorn"


async def _on_shutdown(app: web.Application) -> None:
    app[CONTEXT].engine.close()


def create_app(config: ServerConfig | None = None) -> web.Application:
    """A new mock server application (fresh, empty state) for ``config``.

    Run it with ``aiohttp.web.run_app``, an ``AppRunner``, or use :class:`MockServer`.
    """
    config = config if config is not None else ServerConfig()
    app = web.Application(middlewares=[_guard], client_max_size=config.max_body_size)
    app[CONTEXT] = ServerContext.new(config)
    add_inference_routes(app)
    add_web_routes(app)
    app.on_response_prepare.append(_server_header)
    app.on_shutdown.append(_on_shutdown)
    return app


def context_of(app: web.Application) -> ServerContext:
    """The shared state of an app made by :func:`create_app`."""
    return app[CONTEXT]
