"""``create_app(config)``: both dialects over one in-memory store, as an aiohttp application.

One middleware wraps every request: it applies the faults that fire (the server's rules and the
request's ``X-OA-Mock-Fault`` header: latency, a replacing status, and stream faults handed to
the writer), enforces the body limit (413 JSON), turns aiohttp's routing errors into
FastAPI-shaped JSON (404, 405), turns any exception escaping a handler into a 500 JSON that names
it as a mock-server bug (and keeps its traceback for :meth:`MockServer.problems`), and journals
the request with the status it got, its timing and, for a stream, what was written when. The
admin API (``/__admin/``) bypasses all of it.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, Middleware

from ._admin import ADMIN_PREFIX, add_admin_routes
from ._config import ServerConfig
from ._context import CONTEXT, ServerContext
from ._exceptions import FaultSpecError
from ._faults import FAULT_HEADER, Fault, StatusReply, parse_fault_header, reply_for, total_latency
from ._journal import StreamLog
from ._responses import json_detail, json_web_error
from ._routes_inference import add_inference_routes
from ._routes_web import add_web_routes
from ._steps import step_of
from ._stream import SERVER_SOFTWARE, STREAM_FAULTS, STREAM_LOG

__all__ = ["context_of", "create_app"]

log_ = logging.getLogger("oa_mockserver")


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


def _fault_reply(request: web.Request, reply: StatusReply) -> web.Response:
    if request.path.startswith("/api/"):
        response = json_web_error(reply.status, reply.detail)
    else:
        response = json_detail(reply.status, reply.detail)
    response.headers.update(reply.headers)
    return response


def _bad_fault_header(request: web.Request, error: FaultSpecError) -> web.Response:
    detail = f"invalid {FAULT_HEADER} header: {error}"
    if request.path.startswith("/api/"):
        return json_web_error(400, detail)
    return json_detail(400, detail)


def _route_of(request: web.Request) -> str | None:
    if request.match_info.http_exception is not None:
        return None
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else None


def _guard_for(ctx: ServerContext) -> Middleware:
    """The middleware of one app (bound to its context: no lookup per request)."""

    @web.middleware
    async def _guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if path.startswith(ADMIN_PREFIX):
            # The admin API is the test's own channel: never journaled, never faulted.
            answer = await handler(request)
            _announce(answer)
            return answer
        started_at = time.time()
        clock = time.monotonic()
        method = request.method
        limit = ctx.config.max_body_size
        route = _route_of(request)
        step = step_of(method, route, request.query)
        body = b""
        fired: list[Fault] = []
        log: StreamLog | None = None
        response: web.StreamResponse
        try:
            header = request.headers.get(FAULT_HEADER)
            extra = parse_fault_header(header) if header is not None else ()
            fired = ctx.faults.select(method, path, step, extra)
            reply: StatusReply | None = None
            if fired:
                delay = total_latency(fired)
                if delay > 0:
                    await asyncio.sleep(delay)
                reply = reply_for(fired)
            declared = request.content_length
            if declared is not None and declared > limit:
                response = _too_large(request, limit)
            elif reply is not None:
                body = await request.read() if request.body_exists else b""
                response = _fault_reply(request, reply)
            else:
                body = await request.read() if request.body_exists else b""
                if step != "events":
                    response = await handler(request)
                else:
                    log = StreamLog()
                    log_token = STREAM_LOG.set(log)
                    faults_token = STREAM_FAULTS.set(fired)
                    ctx.open_streams += 1
                    try:
                        response = await handler(request)
                    finally:
                        ctx.open_streams -= 1
                        STREAM_FAULTS.reset(faults_token)
                        STREAM_LOG.reset(log_token)
        except FaultSpecError as error:
            response = _bad_fault_header(request, error)
        except web.HTTPRequestEntityTooLarge:
            response = _too_large(request, limit)
        except web.HTTPException as error:
            response = _http_error(request, error)
        except Exception as error:  # noqa: BLE001 - any escape is our bug: answer 500 and keep it
            ctx.handler_errors.append(
                f"{method} {path}: {''.join(traceback.format_exception(error))}"
            )
            log_.error("handler error on %s %s: %s", method, path, type(error).__name__)
            response = json_detail(
                500, f"oa_mockserver bug: {type(error).__name__} in the handler of {path}"
            )
        ctx.journal.record_request(
            method=method,
            path=path,
            query_string=request.query_string,
            headers=request.headers,
            body=body,
            content_type=request.headers.get(hdrs.CONTENT_TYPE),
            status=response.status,
            matched=route is not None,
            step=step,
            started_at=started_at,
            duration_s=time.monotonic() - clock,
            faults=tuple([fault.kind for fault in fired]) if fired else (),
            stream=log,
        )
        _announce(response)
        return response

    return _guard


def _announce(response: web.StreamResponse) -> None:
    # aiohttp announces itself; the reference is uvicorn, and clients may look. (Streams are
    # sent before this runs and set it themselves. Why not on_response_prepare: a signal per
    # response cost more than this line.)
    if not response.prepared:
        response.headers[hdrs.SERVER] = SERVER_SOFTWARE


async def _on_shutdown(app: web.Application) -> None:
    app[CONTEXT].engine.close()


def create_app(config: ServerConfig | None = None) -> web.Application:
    """A new mock server application (fresh, empty state) for ``config``.

    Run it with ``aiohttp.web.run_app``, an ``AppRunner``, or use :class:`MockServer`.
    """
    config = config if config is not None else ServerConfig()
    ctx = ServerContext.new(config)
    app = web.Application(middlewares=[_guard_for(ctx)], client_max_size=config.max_body_size)
    app[CONTEXT] = ctx
    add_inference_routes(app)
    add_web_routes(app)
    add_admin_routes(app)
    app.on_shutdown.append(_on_shutdown)
    return app


def context_of(app: web.Application) -> ServerContext:
    """The shared state of an app made by :func:`create_app`."""
    return app[CONTEXT]
