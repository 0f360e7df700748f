"""The provider against a scripted site over loopback HTTP: error mapping, stream faults, and the
chat deleted on every path (success, error, aclose, cancellation)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, TypeVar

import aiohttp
import pytest
from _fakes import (
    DROP,
    FIVE,
    SESSION,
    USER,
    FakeSite,
    Reply,
    cancelled_after_first_token,
    chat,
    message,
    serve,
    sse,
)
from _helpers.wire import PLUGIN_INTERMEDIATE

from oa_provider import (
    AuthenticationError,
    ChatNotFoundError,
    GenerationError,
    IncompleteStreamError,
    InvalidRequestError,
    MessageEvent,
    MessageTooLongError,
    OpenAssistant,
    PendingEvent,
    PluginIntermediateEvent,
    RateLimitError,
    RequestTimeoutError,
    ResponseError,
    SafePromptEvent,
    ServerBusyError,
    StreamTimeoutError,
    TokenEvent,
    TransportError,
)
from oa_provider import _client as client_module

E = TypeVar("E", bound=BaseException)


def assert_deleted(site: FakeSite) -> None:
    assert site.paths()[-1] == "DELETE /api/chat"
    assert not site.live_chats


async def failed_chat(
    site: FakeSite, cls: type[E], match: str | None = None, **options: Any
) -> E:
    """A conversation that must raise ``cls`` (its text matching ``match``) and still delete the
    chat; the error, for what it must carry."""
    with pytest.raises(cls, match=match) as info:
        await chat(site, **options)
    assert_deleted(site)
    return info.value


@pytest.mark.asyncio
async def test_happy_path_five_requests_and_delete(site: FakeSite) -> None:
    assert await chat(site) == "Hello, world!"
    assert site.paths() == FIVE
    assert_deleted(site)
    assert len({call.peer for call in site.calls}) == 1, "one connection, reused"


@pytest.mark.parametrize(
    ("route", "status", "body", "cls", "text"),
    [
        (
            "prompter_message",
            413,
            '{"message":"Message too long"}',
            MessageTooLongError,
            "too long",
        ),
        (
            "assistant_message",
            422,
            '{"message":"Model nope not found"}',
            InvalidRequestError,
            "Model nope not found",
        ),
        (
            "assistant_message",
            503,
            '{"message":"The server is currently busy."}',
            ServerBusyError,
            "currently busy",
        ),
        (
            "assistant_message",
            500,
            '{"message":"Something went wrong"}',
            ResponseError,
            "Something went wrong",
        ),
        ("prompter_message", 404, "", ChatNotFoundError, "404"),
        ("assistant_message", 400, "Internal junk", ResponseError, "400"),
    ],
)
@pytest.mark.asyncio
async def test_error_statuses_map_and_the_chat_is_deleted(
    site: FakeSite, route: str, status: int, body: str, cls: type[Exception], text: str
) -> None:
    site.replies[("POST", f"/api/chat/{route}")] = Reply(status, body)
    error = await failed_chat(site, cls, text)
    assert type(error) is cls
    assert "GET /api/chat/events" not in site.paths()


@pytest.mark.asyncio
async def test_rate_limit_carries_retry_after(site: FakeSite) -> None:
    site.replies[("POST", "/api/chat/assistant_message")] = Reply(
        429, '{"message":"Too many requests"}', {"Retry-After": "7"}
    )
    error = await failed_chat(site, RateLimitError)
    assert error.retry_after == 7.0


@pytest.mark.asyncio
async def test_403_on_create_sends_nothing_else(site: FakeSite) -> None:
    site.replies[("POST", "/api/chat")] = Reply(403)
    with pytest.raises(AuthenticationError, match="session cookie"):
        await chat(site)
    assert site.paths() == ["POST /api/chat"]


@pytest.mark.asyncio
async def test_200_with_message_instead_of_id_is_the_error_text(site: FakeSite) -> None:
    site.replies[("POST", "/api/chat/assistant_message")] = Reply(
        200, '{"message":"Model is overloaded"}', {"Content-Type": "application/json"}
    )
    await failed_chat(site, ResponseError, "Model is overloaded")


@pytest.mark.asyncio
async def test_error_event_raises_generation_error_with_partial_text(site: FakeSite) -> None:
    site.script = [
        sse({"event_type": "token", "text": "Hel"}),
        sse({"event_type": "token", "text": "lo"}),
        sse({"event_type": "error", "error": "worker crashed", "message": None}),
    ]
    error = await failed_chat(site, GenerationError, "worker crashed")
    assert error.partial_text == "Hello"


@pytest.mark.parametrize("ending", [[], [0.1, DROP]], ids=["clean-eof", "dropped-connection"])
@pytest.mark.asyncio
async def test_stream_without_final_message_is_incomplete(
    site: FakeSite, ending: list[Any]
) -> None:
    # aiohttp drops bytes still buffered when the payload fails: the pause lets them be read.
    site.script = [sse({"event_type": "token", "text": t}) for t in ("a", "b", "c")] + ending
    error = await failed_chat(site, IncompleteStreamError)
    assert error.partial_text == "abc"


@pytest.mark.asyncio
async def test_stall_raises_stream_timeout(site: FakeSite) -> None:
    site.script = [sse({"event_type": "token", "text": "a"}), 30.0]
    error = await failed_chat(site, StreamTimeoutError, stream_idle_timeout=0.3)
    assert error.partial_text == "a"
    assert isinstance(error, TimeoutError)


@pytest.mark.asyncio
async def test_pings_alone_do_not_keep_a_stalled_stream_alive(site: FakeSite) -> None:
    site.script = [
        b": ping - 1\r\n\r\n",
        0.15,
        b": ping - 2\r\n\r\n",
        0.15,
        b": ping\r\n\r\n",
        30.0,
    ]
    await failed_chat(site, StreamTimeoutError, stream_idle_timeout=0.25)


@pytest.mark.asyncio
async def test_slow_call_raises_request_timeout(site: FakeSite) -> None:
    site.replies[("POST", "/api/chat/prompter_message")] = Reply(0, delay=5.0)
    await failed_chat(site, RequestTimeoutError, "prompter_message", timeout=0.3)


@pytest.mark.parametrize("how", ["204", "empty-200"])
@pytest.mark.asyncio
async def test_finished_message_is_fetched(site: FakeSite, how: str) -> None:
    if how == "204":
        site.events_status = 204
    else:
        site.script = []
    site.final = message("c", "Already done.")
    assert await chat(site) == "Already done."
    assert site.paths() == [*FIVE[:4], "GET /api/chat/message", "DELETE /api/chat"]
    assert_deleted(site)


@pytest.mark.parametrize(
    ("state", "cls"), [("pending", IncompleteStreamError), ("aborted_by_worker", GenerationError)]
)
@pytest.mark.asyncio
async def test_empty_stream_of_an_unfinished_message(
    site: FakeSite, state: str, cls: type[Exception]
) -> None:
    site.script = []
    site.final = message("c", None, state)
    await failed_chat(site, cls, state)


@pytest.mark.asyncio
async def test_events_route_error_status(site: FakeSite) -> None:
    site.events_status = 500
    error = await failed_chat(site, ResponseError)
    assert error.status == 500


@pytest.mark.asyncio
async def test_aclose_after_the_first_token_deletes_the_chat(site: FakeSite) -> None:
    site.script = [sse({"event_type": "token", "text": "a"}), 30.0]
    gen = OpenAssistant.create_async_generator(messages=USER, base_url=site.url, cookies=SESSION)
    assert await gen.__anext__() == "a"
    await gen.aclose()
    assert_deleted(site)


@pytest.mark.asyncio
async def test_cancellation_mid_stream_deletes_the_chat(site: FakeSite) -> None:
    site.script = [sse({"event_type": "token", "text": "a"}), 30.0]
    task = await cancelled_after_first_token(site.url)
    with pytest.raises(asyncio.CancelledError):
        await task
    assert_deleted(site)


@pytest.mark.asyncio
async def test_failed_delete_is_a_warning_and_never_hides_the_error(
    site: FakeSite, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client_module, "DELETE_TIMEOUT", 0.3)  # retries end sooner
    site.replies[("DELETE", "/api/chat")] = Reply(500, '{"message":"db down"}')
    caplog.set_level(logging.WARNING, logger="oa_provider")
    assert await chat(site) == "Hello, world!"
    assert "could not delete chat" in caplog.text
    site.replies[("POST", "/api/chat/assistant_message")] = Reply(503)
    with pytest.raises(ServerBusyError):
        await chat(site)


@pytest.mark.asyncio
async def test_keep_chat_opts_out_of_the_delete(site: FakeSite) -> None:
    assert await chat(site, keep_chat=True) == "Hello, world!"
    assert site.paths() == FIVE[:4]
    assert len(site.live_chats) == 1


@pytest.mark.asyncio
async def test_typed_events(site: FakeSite) -> None:
    site.script = [
        sse({"event_type": "pending", "queue_position": 2, "queue_size": 3}),
        sse({"event_type": "safe_prompt", "safe_prompt": "hi", "message": None}),
        sse(PLUGIN_INTERMEDIATE),
        b": ping - 2026-11-23 19:40:43.367684\r\n\r\n",
        sse({"event_type": "token", "text": "ok"}),
        sse({"event_type": "message", "message": message("c", "ok")}),
    ]
    events = [
        e
        async for e in OpenAssistant().create_event_stream(
            messages=USER, base_url=site.url, cookies=SESSION
        )
    ]
    assert [type(e) for e in events] == [
        PendingEvent,
        SafePromptEvent,
        PluginIntermediateEvent,
        TokenEvent,
        MessageEvent,
    ]
    assert events[0] == PendingEvent(queue_position=2, queue_size=3)
    assert isinstance(events[-1], MessageEvent)
    assert events[-1].message.content == "ok"
    assert_deleted(site)


@pytest.mark.asyncio
async def test_callers_session_is_used_and_left_open(site: FakeSite) -> None:
    async with aiohttp.ClientSession() as session:
        assert await chat(site, session=session) == "Hello, world!"
        assert not session.closed
        assert await chat(site, session=session) == "Hello, world!"


@pytest.mark.asyncio
async def test_proxy_is_passed_to_aiohttp(site: FakeSite) -> None:
    # The fake answers absolute-form requests too, so it can stand in for the proxy.
    base = "http://oa-site.invalid"
    text = "".join(
        [
            t
            async for t in OpenAssistant.create_async_generator(
                messages=USER, base_url=base, proxy=site.url, cookies=SESSION
            )
        ]
    )
    assert text == "Hello, world!"
    assert site.calls[0].headers["Host"] == "oa-site.invalid"
    assert_deleted(site)


@pytest.mark.asyncio
async def test_connection_refused_is_a_transport_error() -> None:
    async with serve(FakeSite()) as gone:
        url = gone.url
    with pytest.raises(TransportError, match="POST /api/chat"):
        await chat(FakeSite(url=url))


@pytest.mark.asyncio
async def test_secrets_stay_out_of_logs_and_errors(
    site: FakeSite, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="oa_provider")
    site.replies[("POST", "/api/chat/assistant_message")] = Reply(401)
    with pytest.raises(AuthenticationError) as info:
        await chat(site)
    secret = SESSION["next-auth.session-token"]
    assert secret not in str(info.value)
    assert secret not in repr(info.value)
    assert secret not in caplog.text
    assert "POST /api/chat/prompter_message -> 200 in" in caplog.text
    assert site.calls[0].headers["Cookie"] == f"next-auth.session-token={secret}"
