"""The web site's routes (``/api/chat...``): the Next.js proxy in front of the inference server.

A session cookie (``__Secure-next-auth.session-token`` or ``next-auth.session-token``) identifies
the user; without one every route answers 403 with an empty body. Answers are the inference
server's JSON bodies with status 200; errors are ``{"message": detail}`` with the inference
server's status (:func:`web_failure`, the one mapping of this dialect). The events route pipes the
stream, so a finished message gives 200 with an empty body and an inference error becomes a bare
500 (``fix_server_bugs``: the real status and ``{"message": ...}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from aiohttp import hdrs, web

from ..auth import AuthError, web_user
from ..catalog import model_configs_body
from ..config import ServerConfig
from ..responses import empty, json_bytes, json_float_free, json_web_error
from ..routing import RouteTable
from ..state import Message, NotStreamable, StateError
from ..validation import (
    InvalidBody,
    validate_assistant,
    validate_chat_update,
    validate_object,
    validate_prompter,
    validate_vote,
)
from .common import (
    Failure,
    answers_failures,
    create_assistant_message,
    drop_chat,
    inference_failure,
    json_body,
    list_params,
    open_stream,
    server_context,
)

__all__ = ["add_web_routes", "web_failure"]

_NO_DETAIL = "Something went wrong"


def web_failure(exc: Failure, step: str, config: ServerConfig) -> web.Response:
    """The one mapping from a failure to the web site's response.

    The status is the inference server's for the same failure; the body is ``{"message": ...}``
    with the inference server's detail (``Something went wrong`` when it had none).
    """
    if isinstance(exc, AuthError):
        return empty(403)
    inner = inference_failure(exc, step, config)
    detail: Any = getattr(exc, "detail", None) if inner.status != 500 else None
    return json_web_error(inner.status, detail if detail is not None else _NO_DETAIL)


#: The web site's step decorator (:func:`.common.answers_failures` with :func:`web_failure`).
web_step = answers_failures(web_failure)


#: Owner keys by raw ``Cookie`` header. Why: a client sends the same header on every request,
#: and parsing it and hashing the session value was a visible share of each request's cost. The
#: key is a pure function of the header, so one bounded cache serves every app in the process.
_OWNERS: dict[str, str | None] = {}
_OWNERS_MAX = 1024


def _owner(request: web.Request) -> str:
    raw = request.headers.get(hdrs.COOKIE, "")
    try:
        owner = _OWNERS[raw]
    except KeyError:
        owner = web_user(request.cookies)
        if len(_OWNERS) >= _OWNERS_MAX:
            _OWNERS.pop(next(iter(_OWNERS)), None)
        _OWNERS[raw] = owner
    if owner is None:
        raise AuthError(403, "")
    return owner


def query_of(request: web.Request) -> Mapping[str, str]:
    """``request.query`` as a mapping (the first value of a repeated name, as there).

    Why: the web site sends its ids in the query; splitting a query with nothing to decode
    here (yarl's own rule, minus its per-request objects) costs a fraction of ``request.query``,
    which remains the judge of anything percent-encoded.
    """
    raw = request.rel_url.raw_query_string
    if not raw:
        return _NO_QUERY
    if "%" in raw:
        return request.query
    query: dict[str, str] = {}
    for pair in raw.replace("+", " ").split("&"):
        if pair:
            name, _, value = pair.partition("=")
            query.setdefault(name, value)
    return query


_NO_QUERY: Mapping[str, str] = MappingProxyType({})


def _param(query: Mapping[str, str], name: str, body: Any = None) -> str:
    """A parameter from the query, else from a JSON body (as the web site reads them)."""
    value = query.get(name)
    if value is None and isinstance(body, dict) and isinstance(body.get(name), str):
        value = body[name]
    return value or ""


async def chat_collection(request: web.Request) -> web.StreamResponse:
    """GET (one chat or a page), POST (create), PUT (update), DELETE (remove) ``/api/chat``."""
    ctx = server_context(request)
    method = request.method
    step = {"GET": "get_chat", "POST": "create_chat", "PUT": "update_chat"}.get(
        method, "delete_chat"
    )
    try:
        owner = _owner(request)
        if method == "POST":
            return json_float_free((await ctx.chats.create_chat(owner)).list_read())
        if method == "DELETE":
            await drop_chat(ctx, owner, _param(query_of(request), "chat_id"))
            return empty(200)
        if method == "PUT":
            update = validate_chat_update(await json_body(request), with_chat_id=True)
            await ctx.chats.update_chat(owner, update.chat_id or "", update.fields)
            return empty(200)
        if "chat_id" in request.query:
            chat = await ctx.chats.chat(owner, request.query["chat_id"])
            return json_float_free(chat.read_prerendered())
        step = "list_chats"
        limit, after, before, hidden = list_params(dict(request.query), default_limit=20)
        page = await ctx.chats.list_chats(
            owner, limit=limit, after=after, before=before, include_hidden=hidden
        )
        return json_float_free(page.read())
    except (InvalidBody, AuthError, StateError) as exc:
        return web_failure(exc, step, ctx.config)


@web_step("prompter_message")
async def prompter_message(request: web.Request) -> web.Response:
    owner = _owner(request)
    body = validate_prompter(await json_body(request), with_chat_id=True)
    message = await server_context(request).chats.add_prompter_message(
        owner, body.chat_id or "", body.parent_id, body.content
    )
    return json_float_free(message.read_prerendered())


@web_step("assistant_message")
async def assistant_message(request: web.Request) -> web.Response:
    owner = _owner(request)
    body = validate_assistant(await json_body(request), with_chat_id=True)
    return await create_assistant_message(
        request, server_context(request), owner, body.chat_id or "", body, web_site=True
    )


async def _message(request: web.Request, body: Any = None) -> Message:
    query = query_of(request)
    return await server_context(request).chats.message(
        _owner(request), _param(query, "chat_id", body), _param(query, "message_id", body)
    )


@web_step("get_message")
async def get_message(request: web.Request) -> web.Response:
    return json_float_free((await _message(request)).read_prerendered())


async def events(request: web.Request) -> web.StreamResponse:
    """The event stream, piped: 204 becomes 200 with an empty body."""
    ctx = server_context(request)
    try:
        body: Any = None
        if request.method == "POST" and not query_of(request).get("message_id"):
            try:
                body = await json_body(request)
            except InvalidBody:
                body = None  # the web site reads only the query; a stray body is ignored
        message = await _message(request, body)
        if message.role != "assistant":
            raise NotStreamable()
    except AuthError:
        return empty(403)
    except StateError as exc:
        if not ctx.config.fix_server_bugs:
            return json_web_error(500, _NO_DETAIL)  # Next.js does not translate this error
        return web_failure(exc, "events", ctx.config)
    streamed = await open_stream(request, message)
    return streamed if streamed is not None else empty(200)


async def models(request: web.Request) -> web.Response:
    try:
        _owner(request)
    except AuthError:
        return empty(403)
    return json_bytes(model_configs_body())


@web_step("vote")
async def vote(request: web.Request) -> web.Response:
    owner = _owner(request)
    body = validate_object(await json_body(request))
    score = validate_vote(body)
    query = query_of(request)
    await server_context(request).chats.vote(
        owner, _param(query, "chat_id", body), _param(query, "message_id", body), score
    )
    return empty(200)


def add_web_routes(router: RouteTable) -> None:
    """Register the web site's routes on ``router``."""
    for method in ("GET", "POST", "PUT", "DELETE"):
        router.add_route(method, "/api/chat", chat_collection)
    router.add_post("/api/chat/prompter_message", prompter_message)
    router.add_post("/api/chat/assistant_message", assistant_message)
    router.add_get("/api/chat/events", events)
    router.add_post("/api/chat/events", events)
    router.add_get("/api/chat/message", get_message)
    router.add_get("/api/chat/models", models)
    router.add_post("/api/chat/vote", vote)
