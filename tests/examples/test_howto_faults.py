"""How to: make the mock server misbehave, one test per fault kind.

Three ways to set a fault, all shown below:

- ``oa_mockserver.add_fault("error-after:3", step="events", times=1)``: a header spec or a
  ``Fault`` object, scoped to a conversation step (or ``path=``, ``method=``), for the next
  ``times`` requests (or for good), with a seeded ``probability``;
- the request header ``X-OA-Mock-Fault: error-after:3`` (that request alone);
- ``POST /__admin/faults`` (see test_howto_admin.py).
"""

from __future__ import annotations

import logging

import aiohttp
import pytest
from _howto import ALICE, HELLO, ask

from oa_mockserver import (
    FAULT_HEADER,
    DropAfter,
    ErrorAfter,
    Fault,
    Latency,
    MalformedAfter,
    PluginStep,
    SafePrompt,
    Stall,
    Status,
    ThreadedMockServer,
    TruncateAfter,
)
from oa_provider import (
    ChatEvent,
    GenerationError,
    IncompleteStreamError,
    OpenAssistant,
    PluginIntermediateEvent,
    ProtocolError,
    RateLimitError,
    ResponseError,
    SafePromptEvent,
    ServerBusyError,
    StreamTimeoutError,
)


async def first_event(base_url: str) -> ChatEvent:
    """The first typed event of a whole conversation (the event stream, not just the tokens)."""
    events = [
        event
        async for event in OpenAssistant.create_event_stream(
            messages=HELLO, base_url=base_url, cookies=ALICE
        )
    ]
    return events[0]


@pytest.mark.asyncio
async def test_latency(oa_mockserver: ThreadedMockServer) -> None:
    oa_mockserver.add_fault(Latency(seconds=0.05), step="create_chat")

    await ask(oa_mockserver.url)

    [call] = oa_mockserver.journal.iter_matching("POST", "/api/chat")
    assert call.faults == ("latency",)
    assert call.duration_s >= 0.05


@pytest.mark.asyncio
async def test_status_429_with_retry_after(oa_mockserver: ThreadedMockServer) -> None:
    oa_mockserver.add_fault("status:429;retry-after=7", step="assistant_message", times=1)

    with pytest.raises(RateLimitError) as error:
        await ask(oa_mockserver.url)

    assert error.value.retry_after == 7
    assert await ask(oa_mockserver.url)  # times=1: the retry goes through
    oa_mockserver.assert_no_chats_left()  # the client deleted the chat after the 429


# (the fault, the step it answers, the provider's error, what its message says)
ERROR_FAULTS = [
    pytest.param(Status(status=500), "prompter_message", ResponseError, "500", id="status-500"),
    pytest.param(
        MalformedAfter(after=1), "events", ProtocolError, "not valid JSON", id="malformed-event"
    ),
    pytest.param(
        TruncateAfter(after=3), "events", IncompleteStreamError,
        "without its final 'message' event", id="stream-cut-short-without-the-final-message",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("fault", "step", "cls", "text"), ERROR_FAULTS)
@pytest.mark.asyncio
async def test_a_fault_raises_the_typed_error(
    oa_mockserver: ThreadedMockServer, fault: Fault, step: str, cls: type[Exception], text: str
) -> None:
    oa_mockserver.add_fault(fault, step=step)

    with pytest.raises(cls, match=text):
        await ask(oa_mockserver.url)


@pytest.mark.asyncio
async def test_status_503_queue_full(oa_mockserver: ThreadedMockServer) -> None:
    # Per request, through the header: this session's requests all carry it.
    headers = {FAULT_HEADER: "status:503;step=assistant_message"}
    async with aiohttp.ClientSession(headers=headers) as session:
        with pytest.raises(ServerBusyError, match="The server is currently busy"):
            await ask(oa_mockserver.url, session=session)


@pytest.mark.asyncio
async def test_error_event_after_n_tokens(oa_mockserver: ThreadedMockServer) -> None:
    oa_mockserver.add_fault(ErrorAfter(after=2, error="worker died"), step="events")

    with pytest.raises(GenerationError, match="worker died") as error:
        await ask(oa_mockserver.url)

    assert len(error.value.partial_text.split()) == 2


@pytest.mark.asyncio
async def test_connection_dropped_after_n_tokens(oa_mockserver: ThreadedMockServer) -> None:
    oa_mockserver.add_fault(DropAfter(after=2), step="events")

    with pytest.raises(IncompleteStreamError):
        await ask(oa_mockserver.url)

    oa_mockserver.wait_for_streams()  # a stream is journaled once it ended
    [events] = oa_mockserver.journal.iter_matching("GET", "/api/chat/events")
    assert events.stream is not None
    assert events.stream.tokens_written == 2
    assert not events.stream.final_written


@pytest.mark.asyncio
async def test_stall(oa_mockserver: ThreadedMockServer) -> None:
    oa_mockserver.add_fault(Stall(seconds=0.6, after=1), step="events")

    with pytest.raises(StreamTimeoutError) as error:
        await ask(oa_mockserver.url, stream_idle_timeout=0.2)

    assert len(error.value.partial_text.split()) == 1


# (the fault, the event it sends before the tokens, a field of that event and its value)
EVENT_FAULTS = [
    pytest.param(
        SafePrompt(safe_prompt="Hello, politely."), SafePromptEvent,
        "safe_prompt", "Hello, politely.", id="safe-prompt-event",
    ),
    pytest.param(
        PluginStep(action="web_search"), PluginIntermediateEvent,
        "current_plugin_action_taken", "web_search", id="plugin-intermediate-event",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("fault", "cls", "field", "value"), EVENT_FAULTS)
@pytest.mark.asyncio
async def test_an_event_before_the_tokens(
    oa_mockserver: ThreadedMockServer, fault: Fault, cls: type[ChatEvent], field: str, value: str
) -> None:
    oa_mockserver.add_fault(fault, step="events")

    event = await first_event(oa_mockserver.url)

    assert isinstance(event, cls)
    assert getattr(event, field) == value


@pytest.mark.asyncio
async def test_failing_delete(
    oa_mockserver: ThreadedMockServer, caplog: pytest.LogCaptureFixture
) -> None:
    oa_mockserver.add_fault("delete-fails")  # the spec scopes itself to the delete_chat step

    with caplog.at_level(logging.WARNING, logger="oa_provider"):
        assert await ask(oa_mockserver.url)  # the reply still arrives

    oa_mockserver.journal.assert_request_made("DELETE", "/api/chat", status=500)
    assert len(oa_mockserver.chats()) == 1
    assert "could not delete chat" in caplog.text


async def six_outcomes(server: ThreadedMockServer) -> list[str]:
    server.add_fault("status:500;step=create_chat;probability=0.5")
    outcomes = []
    for _ in range(6):
        try:
            await ask(server.url)
            outcomes.append("ok")
        except ResponseError:
            outcomes.append("500")
    return outcomes


@pytest.mark.oa_mockserver(seed=7)
@pytest.mark.asyncio
async def test_a_random_fault_repeats_with_the_seed(oa_mockserver: ThreadedMockServer) -> None:
    first = await six_outcomes(oa_mockserver)
    oa_mockserver.reset()  # clears the faults and restarts the seeded draws

    assert await six_outcomes(oa_mockserver) == first
    assert set(first) == {"ok", "500"}
