"""What the two dialects' routes share: the request's context, its JSON body, the failures and
their inference-server mapping, listing parameters, new assistant messages and opening a stream.

The web site (:mod:`.web`) is a proxy in front of the inference server
(:mod:`.inference`): its answers are the inference server's, reshaped, so the shared
steps live here and neither dialect imports the other.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, TypeVar

from aiohttp import web

from ..auth import AuthError
from ..catalog import model_spec
from ..config import ServerConfig
from ..context import CONTEXT, ServerContext
from ..ids import new_seed
from ..replay import REPLAY_OUTCOME, replay_lookup
from ..responses import empty, internal_error_text, json_bytes, json_detail, request_content_type
from ..state import (
    ChatNotFound,
    Message,
    MessageNotFound,
    ParentNotFound,
    StateError,
    decode_cursor,
)
from ..stream import stream_events
from ..validation import AssistantRequest, InvalidBody, decode_json_body
from ..wire import error_item, float_free_json

__all__ = [
    "Failure",
    "answers_failures",
    "create_assistant_message",
    "drop_chat",
    "inference_failure",
    "inference_step",
    "json_body",
    "list_params",
    "open_stream",
    "server_context",
    "work_parameters",
]

#: What a handler's work can raise that the dialect answers (never a mock bug).
Failure = InvalidBody | AuthError | StateError

#: A dialect's one mapping from a failure at a step to its response.
FailureAnswer = Callable[[Failure, str, ServerConfig], web.Response]

_Answer = TypeVar("_Answer", bound=web.StreamResponse)
_Handler = Callable[[web.Request], Awaitable[_Answer]]


def answers_failures(
    answer: FailureAnswer,
) -> Callable[[str], Callable[[_Handler[_Answer]], _Handler[_Answer | web.Response]]]:
    """A dialect's decorator: ``@step("get_chat")`` answers a :data:`Failure` of the handler
    with ``answer(exc, "get_chat", config)``.

    Why: every thin handler caught the same failures and passed them to its dialect's mapping;
    the handler now holds only its work. The cost is one coroutine frame a request.
    """

    def step(name: str) -> Callable[[_Handler[_Answer]], _Handler[_Answer | web.Response]]:
        def decorate(handler: _Handler[_Answer]) -> _Handler[_Answer | web.Response]:
            @wraps(handler)
            async def answered(request: web.Request) -> _Answer | web.Response:
                try:
                    return await handler(request)
                except (InvalidBody, AuthError, StateError) as exc:
                    return answer(exc, name, server_context(request).config)

            return answered

        return decorate

    return step


def inference_failure(exc: Failure, step: str, config: ServerConfig) -> web.Response:
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


#: The inference server's step decorator (:func:`answers_failures` with :func:`inference_failure`).
inference_step = answers_failures(inference_failure)


def server_context(request: web.Request) -> ServerContext:
    """The server's state behind a request."""
    return request.app[CONTEXT]


async def json_body(request: web.Request) -> Any:
    """The request's body decoded as JSON (raises :class:`InvalidBody` as FastAPI answers)."""
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


async def open_stream(request: web.Request, message: Message) -> web.StreamResponse | None:
    """Stream a message's events; None when there is nothing to stream.

    Nothing: no generation (any more), one that ended without a final event, or a finished
    message whose final event a stream already delivered (each dialect answers that its own way).
    """
    ctx = server_context(request)
    if ctx.shared is not None:  # the reply may run on another process: its queue on Redis
        return await ctx.shared.queues.open(request, message, ctx)
    generation = ctx.engine.generation(message.id)
    if generation is None or generation.ended or (message.finished and generation.delivered):
        return None
    return await stream_events(request, generation, ctx.engine, ctx.config)


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
    prompts = (
        await ctx.chats.prompt_thread(owner, chat_id, message_request.parent_id)
        if ctx.engine.replay is not None
        else None
    )
    lookup = replay_lookup(
        ctx.engine.replay,
        request.method,
        request.path_qs,
        await request.read(),
        lambda: prompts,
        web_site=web_site,
    )
    if lookup.outcome is not None:  # noted by the guard, with this request's journal entry
        request[REPLAY_OUTCOME] = lookup.outcome
    if lookup.response is not None:
        return lookup.response
    message = await ctx.chats.add_assistant_message(
        owner,
        chat_id,
        message_request.parent_id,
        work_parameters=work_parameters(message_request),
        model=message_request.model_config_name,
    )
    # the state is "pending" in the answer, as recorded
    answer = float_free_json(message.read_prerendered())
    generation = ctx.engine.submit(message, lookup.reply)
    if ctx.shared is not None:  # the queue exists before the answer: any process may stream it
        await ctx.shared.queues.publish(ctx.engine, generation)
    return json_bytes(answer)


async def drop_chat(ctx: ServerContext, owner: str, chat_id: str) -> None:
    """Both dialects' chat deletion: the chat goes, and its replies stop (their streams end)."""
    chat = await ctx.chats.delete_chat(owner, chat_id)
    ctx.engine.cancel(list(chat.messages))
