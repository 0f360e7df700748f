"""The inference server's routes (``/auth/...``, ``/configs/...``, ``/chats...``).

Handlers are thin: decode the body, authenticate, validate, call the store, serialise. Failures
are typed exceptions that :func:`failure` alone turns into responses, including the real server's
bugs (500s on unknown ids), which ``fix_server_bugs`` replaces with proper 404/400 JSON.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ._auth import AuthError, bearer_user, user_name
from ._catalog import model_configs_body, model_spec
from ._config import ServerConfig
from ._context import CONTEXT, ServerContext
from ._ids import new_seed
from ._replay_answers import prompt_thread, replay_lookup
from ._responses import (
    empty,
    internal_error_text,
    json_bytes,
    json_detail,
    json_ok,
    json_plain,
    request_content_type,
)
from ._routing import RouteTable
from ._state import (
    ChatNotFound,
    InvalidCursor,
    Message,
    MessageNotFound,
    NotStreamable,
    ParentNotFound,
    StateError,
    decode_cursor,
)
from ._stream import stream_events
from ._validation import (
    AssistantRequest,
    InvalidBody,
    decode_json_body,
    validate_assistant,
    validate_chat_update,
    validate_object,
    validate_prompter,
    validate_vote,
)
from ._wire import error_item, plain_json

__all__ = [
    "add_inference_routes",
    "create_assistant_message",
    "failure",
    "list_params",
    "work_parameters",
]

Failure = InvalidBody | AuthError | StateError


def failure(exc: Failure, step: str, config: ServerConfig) -> web.Response:
    """The one mapping from a failure to the inference server's response.

    ``step`` names the route (``prompter_message``, ``get_message``...): the real server's
    unguarded lookups answer 500 there, unless ``fix_server_bugs`` is on.
    """
    if isinstance(exc, (InvalidBody, AuthError)):
        return json_detail(exc.status, exc.detail)
    buggy = not config.fix_server_bugs
    if isinstance(exc, ChatNotFound):
        if buggy and step in ("prompter_message", "assistant_message"):
            return empty(500)
        if buggy and step in ("get_message", "events"):
            return internal_error_text()
        return json_detail(404, exc.detail)
    if isinstance(exc, MessageNotFound):
        if buggy and step in ("get_message", "events"):
            return internal_error_text()
        return json_detail(404, exc.detail)
    if isinstance(exc, ParentNotFound) and buggy and step == "assistant_message":
        return empty(500)
    return json_detail(400, exc.detail)


def _ctx(request: web.Request) -> ServerContext:
    return request.app[CONTEXT]


def _owner(request: web.Request) -> str:
    return bearer_user(_ctx(request).auth, request.headers.get("Authorization"))


async def _body(request: web.Request) -> Any:
    return decode_json_body(await request.read(), request_content_type(request))


def work_parameters(request: AssistantRequest) -> dict[str, Any]:
    """The ``work_parameters`` of a new assistant message (a fresh random 64-bit seed).

    Raises:
        InvalidBody: 422 ``Model <name> not found`` for an unknown model config.
    """
    spec = model_spec(request.model_config_name)
    if spec is None:
        raise InvalidBody(422, f"Model {request.model_config_name} not found")
    return {
        "model_config": spec,
        "sampling_parameters": request.sampling_parameters,
        "do_sample": True,
        "seed": new_seed(),
        "system_prompt": request.system_prompt,
        "user_profile": request.user_profile,
        "user_response_instructions": request.user_response_instructions,
        "plugins": request.plugins,
        "plugin_max_depth": 4,
    }


def _int_query(value: str, name: str, *, low: int, high: int) -> int:
    loc = ["query", name]
    try:
        number = int(value)
    except ValueError:
        raise InvalidBody(
            422, [error_item(loc, "value is not a valid integer", "type_error.integer")]
        ) from None
    if number <= low:
        raise InvalidBody(
            422,
            [
                error_item(
                    loc,
                    f"ensure this value is greater than {low}",
                    "value_error.number.not_gt",
                    {"limit_value": low},
                )
            ],
        )
    if number > high:
        raise InvalidBody(
            422,
            [
                error_item(
                    loc,
                    f"ensure this value is less than or equal to {high}",
                    "value_error.number.not_le",
                    {"limit_value": high},
                )
            ],
        )
    return number


def list_params(
    query: dict[str, str], *, default_limit: int
) -> tuple[int, str | None, str | None, bool]:
    """``(limit, after, before, include_hidden)`` of a chat listing, cursors decoded.

    Raises:
        InvalidBody: a bad ``limit``; StateError: both cursors, or one that is not base64.
    """
    limit = (
        _int_query(query["limit"], "limit", low=0, high=100)
        if "limit" in query
        else (default_limit)
    )
    after, before = query.get("after"), query.get("before")
    if after and before:
        raise StateError("Cannot specify both after and before.")
    hidden = query.get("include_hidden", "false").lower() in ("1", "true", "yes", "on", "t", "y")
    return (
        limit,
        decode_cursor(after) if after else None,
        decode_cursor(before) if before else None,
        hidden,
    )


def _assistant_of(ctx: ServerContext, owner: str, chat_id: str, message_id: str) -> Message:
    message = ctx.store.message(owner, chat_id, message_id)
    if message.role != "assistant":
        raise NotStreamable()
    return message


async def _events(request: web.Request, message: Message) -> web.StreamResponse | None:
    """Stream a message's events; None when there is nothing to stream (204)."""
    ctx = _ctx(request)
    generation = ctx.engine.generation(message.id)
    if generation is None or generation.ended or (message.finished and generation.delivered):
        return None
    return await stream_events(request, generation, ctx.engine, ctx.config)


# -- handlers ---------------------------------------------------------------------------------


async def auth_providers(request: web.Request) -> web.Response:
    return json_ok(["debug"])


async def auth_debug(request: web.Request) -> web.Response:
    code = request.query.get("code")
    if code is None:
        return json_detail(
            422, [error_item(["query", "code"], "field required", "value_error.missing")]
        )
    return json_ok(_ctx(request).auth.login(code))


async def auth_check(request: web.Request) -> web.Response:
    try:
        return json_ok(user_name(_owner(request)))
    except AuthError as exc:
        return failure(exc, "auth", _ctx(request).config)


async def auth_refresh(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    if not ctx.config.fix_server_bugs:
        return json_detail(401, "Invalid token")  # the reference commit rejects every refresh
    try:
        claims = ctx.auth.read((request.headers.get("Refresh") or "").strip())
    except AuthError as exc:
        return failure(exc, "auth", ctx.config)
    if claims.kind != "refresh":
        return json_detail(400, "Invalid token type")
    return json_ok({"access_token": ctx.auth.issue(claims.user), "token_type": "bearer"})


async def model_configs(request: web.Request) -> web.Response:
    return json_bytes(model_configs_body())


async def list_chats(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    try:
        owner = _owner(request)
        limit, after, before, hidden = list_params(dict(request.query), default_limit=10)
        page = ctx.store.list_chats(
            owner, limit=limit, after=after, before=before, include_hidden=hidden
        )
    except (InvalidBody, AuthError, InvalidCursor, StateError) as exc:
        return failure(exc, "list_chats", ctx.config)
    return json_plain(page.read())


async def create_chat(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    try:
        body = await _body(request)
        owner = _owner(request)
        validate_object(body)
    except (InvalidBody, AuthError) as exc:
        return failure(exc, "create_chat", ctx.config)
    return json_plain(ctx.store.create_chat(owner).list_read())


async def get_chat(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    try:
        chat = ctx.store.chat(_owner(request), request.match_info["chat_id"])
    except (AuthError, StateError) as exc:
        return failure(exc, "get_chat", ctx.config)
    return json_plain(chat.rest_read())


async def update_chat(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    try:
        body = await _body(request)
        owner = _owner(request)
        update = validate_chat_update(body)
        ctx.store.update_chat(owner, request.match_info["chat_id"], update.fields)
    except (InvalidBody, AuthError, StateError) as exc:
        return failure(exc, "update_chat", ctx.config)
    return json_ok(None)


async def delete_chat(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    try:
        chat = ctx.store.delete_chat(_owner(request), request.match_info["chat_id"])
    except (AuthError, StateError) as exc:
        return failure(exc, "delete_chat", ctx.config)
    ctx.engine.cancel(list(chat.messages))
    return empty(200)


async def prompter_message(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    try:
        body = await _body(request)
        owner = _owner(request)
        message_request = validate_prompter(body)
        message = ctx.store.add_prompter_message(
            owner, request.match_info["chat_id"], message_request.parent_id, message_request.content
        )
    except (InvalidBody, AuthError, StateError) as exc:
        return failure(exc, "prompter_message", ctx.config)
    return json_plain(message.rest_read())


async def create_assistant_message(
    request: web.Request,
    ctx: ServerContext,
    owner: str,
    chat_id: str,
    message_request: AssistantRequest,
    *,
    web_site: bool,
) -> web.Response:
    """Both dialects' assistant message: a recorded answer when a cassette has one, else a new
    message handed to the workers. Raises StateError (each dialect maps it its own way)."""
    lookup = replay_lookup(
        ctx.engine.replay,
        request.method,
        request.path_qs,
        await request.read(),
        lambda: prompt_thread(ctx.store, owner, chat_id, message_request.parent_id),
        web_site=web_site,
    )
    if lookup.response is not None:
        return lookup.response
    message = ctx.store.add_assistant_message(
        owner,
        chat_id,
        message_request.parent_id,
        work_parameters(message_request),
        model=message_request.model_config_name,
    )
    answer = plain_json(message.rest_read())  # the state is "pending" in the answer, as recorded
    ctx.engine.submit(message, lookup.reply)
    return json_bytes(answer)


async def assistant_message(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    try:
        body = await _body(request)
        owner = _owner(request)
        message_request = validate_assistant(body)
        return await create_assistant_message(
            request, ctx, owner, request.match_info["chat_id"], message_request, web_site=False
        )
    except (InvalidBody, AuthError, StateError) as exc:
        return failure(exc, "assistant_message", ctx.config)


async def get_message(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    try:
        message = ctx.store.message(
            _owner(request), request.match_info["chat_id"], request.match_info["message_id"]
        )
    except (AuthError, StateError) as exc:
        return failure(exc, "get_message", ctx.config)
    return json_plain(message.rest_read())


async def message_events(request: web.Request) -> web.StreamResponse:
    ctx = _ctx(request)
    try:
        message = _assistant_of(
            ctx, _owner(request), request.match_info["chat_id"], request.match_info["message_id"]
        )
    except (AuthError, StateError) as exc:
        return failure(exc, "events", ctx.config)
    streamed = await _events(request, message)
    return streamed if streamed is not None else empty(204)


async def vote(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    try:
        body = await _body(request)
        owner = _owner(request)
        score = validate_vote(body)
        ctx.store.vote(
            owner, request.match_info["chat_id"], request.match_info["message_id"], score
        )
    except (InvalidBody, AuthError, StateError) as exc:
        return failure(exc, "vote", ctx.config)
    return json_ok(None)


def add_inference_routes(router: RouteTable) -> None:
    """Register the inference server's routes on ``router``."""
    router.add_get("/auth/providers", auth_providers)
    router.add_get("/auth/callback/debug", auth_debug)
    router.add_get("/auth/check", auth_check)
    router.add_get("/auth/refresh", auth_refresh)
    router.add_get("/configs/model_configs", model_configs)
    router.add_get("/chats", list_chats)
    router.add_post("/chats", create_chat)
    router.add_get("/chats/{chat_id}", get_chat)
    router.add_put("/chats/{chat_id}", update_chat)
    router.add_delete("/chats/{chat_id}", delete_chat)
    router.add_post("/chats/{chat_id}/prompter_message", prompter_message)
    router.add_post("/chats/{chat_id}/assistant_message", assistant_message)
    router.add_get("/chats/{chat_id}/messages/{message_id}", get_message)
    router.add_get("/chats/{chat_id}/messages/{message_id}/events", message_events)
    router.add_post("/chats/{chat_id}/messages/{message_id}/votes", vote)
