"""The inference server's routes (``/auth/...``, ``/configs/...``, ``/chats...``).

Handlers are thin: decode the body, authenticate, validate, call the store, serialise. Failures
are typed exceptions that :func:`.common.inference_failure` alone turns into responses (each
handler names its step with ``@inference_step``), including the real server's bugs (500s on
unknown ids), which ``fix_server_bugs`` replaces with proper 404/400 JSON.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..auth import bearer_user, user_name
from ..catalog import model_configs_body
from ..context import ServerContext
from ..responses import empty, json_bytes, json_detail, json_fastapi, json_float_free
from ..routing import RouteTable
from ..state import Message, NotStreamable
from ..validation import (
    validate_assistant,
    validate_chat_update,
    validate_object,
    validate_prompter,
    validate_vote,
)
from ..wire import error_item
from .common import (
    create_assistant_message,
    drop_chat,
    inference_step,
    json_body,
    list_params,
    open_stream,
    server_context,
)

__all__ = ["add_inference_routes"]


def _owner(request: web.Request) -> str:
    return bearer_user(server_context(request).auth, request.headers.get("Authorization"))


async def _body_and_owner(request: web.Request) -> tuple[Any, str]:
    """The decoded JSON body, then the owner, in FastAPI's order: a body that is not JSON answers
    its 422 before the bearer check; the body's fields are validated after it."""
    return await json_body(request), _owner(request)


async def _assistant_of(
    ctx: ServerContext, owner: str, chat_id: str, message_id: str
) -> Message:
    message = await ctx.chats.message(owner, chat_id, message_id)
    if message.role != "assistant":
        raise NotStreamable()
    return message


# -- handlers ---------------------------------------------------------------------------------


async def auth_providers(request: web.Request) -> web.Response:
    return json_fastapi(["debug"])


async def auth_debug(request: web.Request) -> web.Response:
    code = request.query.get("code")
    if code is None:
        return json_detail(
            422, [error_item(["query", "code"], "field required", "value_error.missing")]
        )
    return json_fastapi(server_context(request).auth.login(code))


@inference_step("auth")
async def auth_check(request: web.Request) -> web.Response:
    return json_fastapi(user_name(_owner(request)))


@inference_step("auth")
async def auth_refresh(request: web.Request) -> web.Response:
    ctx = server_context(request)
    if not ctx.config.fix_server_bugs:
        return json_detail(401, "Invalid token")  # the reference commit rejects every refresh
    claims = ctx.auth.read((request.headers.get("Refresh") or "").strip())
    if claims.kind != "refresh":
        return json_detail(400, "Invalid token type")
    return json_fastapi({"access_token": ctx.auth.issue(claims.user), "token_type": "bearer"})


async def model_configs(request: web.Request) -> web.Response:
    return json_bytes(model_configs_body())


@inference_step("list_chats")
async def list_chats(request: web.Request) -> web.Response:
    owner = _owner(request)
    limit, after, before, hidden = list_params(dict(request.query), default_limit=10)
    page = await server_context(request).chats.list_chats(
        owner, limit=limit, after=after, before=before, include_hidden=hidden
    )
    return json_float_free(page.read())


@inference_step("create_chat")
async def create_chat(request: web.Request) -> web.Response:
    body, owner = await _body_and_owner(request)
    validate_object(body)
    return json_float_free((await server_context(request).chats.create_chat(owner)).list_read())


@inference_step("get_chat")
async def get_chat(request: web.Request) -> web.Response:
    chat = await server_context(request).chats.chat(
        _owner(request), request.match_info["chat_id"]
    )
    return json_float_free(chat.read_prerendered())


@inference_step("update_chat")
async def update_chat(request: web.Request) -> web.Response:
    body, owner = await _body_and_owner(request)
    update = validate_chat_update(body)
    await server_context(request).chats.update_chat(
        owner, request.match_info["chat_id"], update.fields
    )
    return json_fastapi(None)


@inference_step("delete_chat")
async def delete_chat(request: web.Request) -> web.Response:
    await drop_chat(server_context(request), _owner(request), request.match_info["chat_id"])
    return empty(200)


@inference_step("prompter_message")
async def prompter_message(request: web.Request) -> web.Response:
    body, owner = await _body_and_owner(request)
    message_request = validate_prompter(body)
    message = await server_context(request).chats.add_prompter_message(
        owner, request.match_info["chat_id"], message_request.parent_id, message_request.content
    )
    return json_float_free(message.read_prerendered())


@inference_step("assistant_message")
async def assistant_message(request: web.Request) -> web.Response:
    body, owner = await _body_and_owner(request)
    message_request = validate_assistant(body)
    return await create_assistant_message(
        request,
        server_context(request),
        owner,
        request.match_info["chat_id"],
        message_request,
        web_site=False,
    )


@inference_step("get_message")
async def get_message(request: web.Request) -> web.Response:
    message = await server_context(request).chats.message(
        _owner(request), request.match_info["chat_id"], request.match_info["message_id"]
    )
    return json_float_free(message.read_prerendered())


@inference_step("events")
async def message_events(request: web.Request) -> web.StreamResponse:
    message = await _assistant_of(
        server_context(request),
        _owner(request),
        request.match_info["chat_id"],
        request.match_info["message_id"],
    )
    streamed = await open_stream(request, message)
    return streamed if streamed is not None else empty(204)


@inference_step("vote")
async def vote(request: web.Request) -> web.Response:
    body, owner = await _body_and_owner(request)
    score = validate_vote(body)
    await server_context(request).chats.vote(
        owner, request.match_info["chat_id"], request.match_info["message_id"], score
    )
    return json_fastapi(None)


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
