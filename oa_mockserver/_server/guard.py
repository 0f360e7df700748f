"""The guard around every handler of the mock server (both dialects), and the admin API's door.

The admin API (``/__admin/``) is not guarded but access-checked: :func:`admin_refusal` applies
:class:`.._control.admin_access.AdminAccess` (Host, Origin, Sec-Fetch-Site, the token, JSON
bodies) to its requests only, so the chat routes pay nothing for it.

For each request it applies the faults that fire (the server's rules and the request's
``X-OA-Mock-Fault`` header: latency, a replacing status, and stream faults handed to the writer),
enforces the body limit (413 JSON), turns HTTP errors into FastAPI-shaped JSON (404 and 405
come from :func:`add_fallback`, the last route), turns any exception escaping a handler into a
500 JSON that names it as a mock-server bug (and keeps its traceback for
:meth:`MockServer.problems`) but a body the client did not send whole (journaled as 499, nothing
sent) or that cannot be read (400 JSON), and journals the request with the status it got, its
timing and, for a stream, what was written when.

Why a wrapper per route and not an aiohttp middleware: a middleware costs two more coroutine
layers and a route lookup per request, which showed in the server's CPU per token; a wrapper
knows its route (and so its step) when it is made.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler
from multidict import istr

from .._control.admin_access import AdminAccess, body_to_check, form_body_refusal
from .._control.answer_log import AnswerLog
from .._control.faults import (
    FAULT_HEADER,
    Fault,
    StatusReply,
    parse_fault_header,
    reply_for,
    total_latency,
)
from .._control.journal import StreamLog
from .._exceptions import FaultSpecError
from .context import CONTEXT, ServerContext
from .replay import REPLAY_OUTCOME
from .responses import dialect_error, json_detail
from .routes.admin import ADMIN_PREFIX
from .routing import WrappedRoutes
from .steps import step_of
from .stream import SERVER_SOFTWARE, STREAM_FAULTS, STREAM_LOG

__all__ = [
    "add_fallback",
    "admin_checked",
    "admin_refusal",
    "announce",
    "announced_routes",
    "guard",
    "guarded_routes",
]

logger = logging.getLogger("oa_mockserver")
_FAULT_HEADER = istr(FAULT_HEADER)  # multidict looks an istr up without folding its case again


def guarded_routes(ctx: ServerContext, router: web.UrlDispatcher) -> WrappedRoutes:
    """Routes registered inside :func:`guard` (both dialects)."""
    return WrappedRoutes(router, lambda handler, method, path: guard(ctx, handler, method, path))


def admin_checked(handler: Handler) -> Handler:
    """``handler`` as an admin route: the request access-checked (:func:`admin_refusal`), the
    answer with the reference's ``Server`` header."""

    async def announced(request: web.Request) -> web.StreamResponse:
        refused = await admin_refusal(request)
        response = refused if refused is not None else await handler(request)
        announce(response)
        return response

    return announced


def announced_routes(router: web.UrlDispatcher) -> WrappedRoutes:
    """Routes of the admin API, each one :func:`admin_checked`."""
    return WrappedRoutes(router, lambda handler, method, path: admin_checked(handler))


async def admin_refusal(request: web.Request) -> web.Response | None:
    """The answer refusing an admin request (401, 403, 415 JSON), or None to serve it.

    The rules are :class:`AdminAccess`'s; they cost nothing on the chat routes, which never
    come here.
    """
    config = request.app[CONTEXT].config
    headers = request.headers
    method = request.method
    content_type = headers.get(hdrs.CONTENT_TYPE)
    has_body = request.body_exists
    refusal = AdminAccess(config.host, config.admin_token).refusal(
        method=method,
        host=headers.get(hdrs.HOST),
        origin=headers.get(hdrs.ORIGIN),
        fetch_site=headers.get("Sec-Fetch-Site"),
        authorization=headers.get(hdrs.AUTHORIZATION),
        content_type=content_type,
        has_body=has_body,
    )
    if refusal is None and body_to_check(method, content_type, has_body):
        refusal = form_body_refusal(await request.read())
    if refusal is None:
        return None
    response = json_detail(refusal.status, refusal.detail)
    response.headers.extend(refusal.headers)
    return response


def _too_large(request: web.Request, limit: int) -> web.Response:
    detail = f"Request body too large: the limit is {limit} bytes; send a smaller body"
    return dialect_error(request, 413, detail)


def _http_error(request: web.Request, error: web.HTTPException) -> web.Response:
    if error.status == 404:
        detail = "Not Found"
    elif error.status == 405:
        detail = "Method Not Allowed"
    else:
        detail = error.reason
    response = dialect_error(request, error.status, detail)
    allow = error.headers.get("Allow")
    if allow:
        response.headers["Allow"] = allow
    return response


def _fault_reply(request: web.Request, reply: StatusReply) -> web.Response:
    response = dialect_error(request, reply.status, reply.detail)
    response.headers.update(reply.headers)
    return response


#: The status journaled for a request whose client closed the connection before its body was
#: read (nginx's "client closed request"): nothing is sent, there is nobody to send it to.
CLIENT_CLOSED = 499


def _unreadable_body(request: web.Request, error: Exception) -> web.Response:
    if isinstance(error, ConnectionError):
        return web.Response(status=CLIENT_CLOSED)
    detail = f"the request body could not be read ({error}); send it whole, unencoded or valid"
    return dialect_error(request, 400, detail)


def _bad_fault_header(request: web.Request, error: FaultSpecError) -> web.Response:
    return dialect_error(request, 400, f"invalid {FAULT_HEADER} header: {error}")


def announce(response: web.StreamResponse) -> None:
    """Set the reference's ``Server`` header on a response not sent yet.

    aiohttp announces itself; the reference is uvicorn, and clients may look. (Streams are sent
    before the guard sees them and set it themselves. Why not ``on_response_prepare``: a signal
    per response cost more than this.)
    """
    if not response.prepared:
        response.headers[hdrs.SERVER] = SERVER_SOFTWARE


async def _unmatched(request: web.Request) -> web.StreamResponse:
    """The fallback route: 405 with ``Allow`` when another route has the path, else 404."""
    allowed: set[str] = set()
    for resource in request.app.router.resources():
        if resource.canonical != _FALLBACK:
            allowed |= (await resource.resolve(request))[1]
    if allowed:
        raise web.HTTPMethodNotAllowed(request.method, allowed)
    raise web.HTTPNotFound()


_FALLBACK = "/{path}"  # the fallback route's canonical form (its pattern takes any path)


def _keep_answer(answers: AnswerLog, seq: int, response: web.StreamResponse) -> None:
    """Note a whole answer (not a stream: the journal has its timeline) under ``seq``, the
    sequence id its request gets next (nothing awaits between here and the journal)."""
    body = response.body if isinstance(response, web.Response) else None
    if isinstance(body, bytes):
        answers.keep(seq, response.status, response.headers.get(hdrs.CONTENT_TYPE), body)


def add_fallback(ctx: ServerContext, router: web.UrlDispatcher) -> None:
    """Register the route that answers every request no other route took (add it last)."""
    router.add_route("*", "/{path:.*}", guard(ctx, _unmatched, "*", None))


def guard(ctx: ServerContext, handler: Handler, method: str, route: str | None) -> Handler:
    """``handler`` inside the guard; ``route`` is its path pattern (None: the fallback)."""
    fixed_step = step_of(method, route, {}) if (method, route) != ("GET", "/api/chat") else None
    request_method = method

    async def guarded(request: web.Request) -> web.StreamResponse:
        path = request.path
        if route is None and path.startswith(ADMIN_PREFIX):
            # An unknown admin path: the admin API is never journaled, never faulted, and a
            # stranger learns no more of it from a 404 than from a known path.
            refused = await admin_refusal(request)
            return refused if refused is not None else await handler(request)
        started_at = time.time()
        clock = time.monotonic()
        method = request.method
        step = (
            fixed_step
            if method == request_method and fixed_step is not None
            else step_of(method, route, request.query)
        )
        headers = request.headers
        body = b""
        fired: list[Fault] = []
        log: StreamLog | None = None
        response: web.StreamResponse
        try:
            header = headers.get(_FAULT_HEADER)
            extra = parse_fault_header(header) if header is not None else ()
            fired = ctx.faults.select(method, path, step, extra)
            if ctx.shared is not None and ctx.shared.faults.rules:  # every process's rules
                fired += await ctx.shared.faults.select(method, path, step)
            reply: StatusReply | None = None
            if fired:
                delay = total_latency(fired)
                if delay > 0:
                    await asyncio.sleep(delay)
                reply = reply_for(fired)
            # no body (GET, DELETE): no Content-Length to read, nothing to read
            has_body = request.body_exists
            declared = request.content_length if has_body else None
            if declared is not None and declared > ctx.config.max_body_size:
                response = _too_large(request, ctx.config.max_body_size)
            elif reply is not None:
                body = await request.read() if has_body else b""
                response = _fault_reply(request, reply)
            else:
                body = await request.read() if has_body else b""
                if step != "events":
                    response = await handler(request)
                else:
                    log = request[STREAM_LOG] = StreamLog()
                    request[STREAM_FAULTS] = fired
                    ctx.open_streams += 1
                    live = ctx.live_streams  # a dashboard watches: show the stream as it runs
                    if live is not None:
                        live[id(log)] = (log, request.path_qs)
                    try:
                        response = await handler(request)
                    finally:
                        ctx.open_streams -= 1
                        if live is not None:
                            live.pop(id(log), None)
        except FaultSpecError as error:
            response = _bad_fault_header(request, error)
        except web.HTTPRequestEntityTooLarge:
            response = _too_large(request, ctx.config.max_body_size)
        except web.HTTPException as error:
            response = _http_error(request, error)
        except (ConnectionError, web.RequestPayloadError) as error:
            # the client's doing (an upload cut short, a body aiohttp cannot decode): no mock bug
            response = _unreadable_body(request, error)
        except Exception as error:  # noqa: BLE001 - any escape is our bug: answer 500 and keep it
            ctx.handler_errors.append(
                f"{method} {path}: {''.join(traceback.format_exception(error))}"
            )
            logger.error("handler error on %s %s: %s", method, path, type(error).__name__)
            response = json_detail(
                500, f"oa_mockserver bug: {type(error).__name__} in the handler of {path}"
            )
        answers = ctx.answers  # a dashboard watches: keep the answer for it to show
        if answers is not None:
            _keep_answer(answers, ctx.journal.last_seq + 1, response)
        # Servers with cassettes only: a lookup that misses costs a KeyError, ~2.5 µs a request.
        outcome = request.get(REPLAY_OUTCOME) if ctx.engine.replay is not None else None
        if outcome is not None:
            ctx.replay_log.note(ctx.journal.last_seq + 1, outcome)
        ctx.journal.record_request(
            method=method,
            path=path,
            query_string=request.rel_url.raw_query_string,
            headers=headers,
            body=body,
            content_type=headers.get(hdrs.CONTENT_TYPE),
            status=response.status,
            matched=route is not None,
            step=step,
            started_at=started_at,
            duration_s=time.monotonic() - clock,
            faults=tuple([fault.kind for fault in fired]) if fired else (),
            stream=log,
        )
        if not response.prepared:  # announce(), inline: this is every request
            answer_headers = response.headers
            # most answers are made with it (responses.py): a lookup costs a tenth of a set
            if hdrs.SERVER not in answer_headers:
                answer_headers[hdrs.SERVER] = SERVER_SOFTWARE
        return response

    return guarded
