"""What both dialects' routes share: the error shape per dialect, and when a stream opens."""

from __future__ import annotations

import json

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from oa_mockserver._server.config import ServerConfig
from oa_mockserver._server.context import CONTEXT, ServerContext
from oa_mockserver._server.responses import dialect_error
from oa_mockserver._server.routes.common import (
    Failure,
    answers_failures,
    open_stream,
    server_context,
)
from oa_mockserver._server.state import ChatNotFound


@pytest.mark.parametrize(
    ("path", "key"),
    [("/api/chat", "message"), ("/api/chat/events", "message"), ("/chats", "detail"),
     ("/auth/check", "detail"), ("/apis", "detail")],
)  # fmt: skip
def test_an_error_takes_the_shape_of_the_requests_dialect(path: str, key: str) -> None:
    response = dialect_error(make_mocked_request("GET", path), 418, "no tea")
    assert response.status == 418
    assert response.content_type == "application/json"
    assert isinstance(response.body, bytes)
    assert json.loads(response.body) == {key: "no tea"}


def _request(ctx: ServerContext) -> web.Request:
    app = web.Application()
    app[CONTEXT] = ctx
    return make_mocked_request("GET", "/chats/c/messages/m/events", app=app)


@pytest.mark.asyncio
async def test_no_stream_opens_for_a_message_without_a_generation_or_delivered() -> None:
    ctx = ServerContext.new(ServerConfig(token_interval=0, first_token_delay=0))
    request = _request(ctx)
    assert server_context(request) is ctx
    chat = ctx.store.create_chat("owner")
    prompt = ctx.store.add_prompter_message("owner", chat.id, None, "hi")
    message = ctx.store.add_assistant_message("owner", chat.id, prompt.id, work_parameters={})
    assert await open_stream(request, message) is None  # no generation: never submitted
    generation = ctx.engine.submit(message)  # unpaced: finished at once
    assert message.finished
    assert generation.final is not None
    generation.delivered = True
    assert await open_stream(request, message) is None  # its final event went out already
    generation.delivered = False
    generation.end()
    assert await open_stream(request, message) is None  # ended without a final event


@pytest.mark.asyncio
async def test_a_step_answers_a_failure_with_its_dialects_mapping_and_lets_bugs_through() -> None:
    ctx = ServerContext.new(ServerConfig())
    seen: list[tuple[Failure, str, ServerConfig]] = []

    def answer(exc: Failure, step: str, config: ServerConfig) -> web.Response:
        seen.append((exc, step, config))
        return web.Response(status=599)

    failure = ChatNotFound()

    @answers_failures(answer)("get_chat")
    async def failing(request: web.Request) -> web.Response:
        raise failure

    @answers_failures(answer)("get_chat")
    async def buggy(request: web.Request) -> web.Response:
        raise KeyError("a mock bug")

    assert failing.__name__ == "failing"
    assert (await failing(_request(ctx))).status == 599
    assert seen == [(failure, "get_chat", ctx.config)]
    with pytest.raises(KeyError):
        await buggy(_request(ctx))
