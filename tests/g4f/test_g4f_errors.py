"""oa_provider's typed errors become gpt4free's, chained, with the chat deleted: each row of
oa_g4f.ERROR_MAP provoked for real, through the mock server's faults over loopback HTTP."""

from __future__ import annotations

import socket
from typing import Any

import g4f.errors as g4f_errors
import pytest
from _g4f_calls import ASYNC_CALLS, SYNC_CALLS
from _g4f_checks import HELLO, ME, assert_chat_deleted

import oa_provider as oa
from oa_g4f import ERROR_MAP, OpenAssistant, to_g4f_error
from oa_mockserver import ThreadedMockServer

pytestmark = pytest.mark.g4f


async def _drain(**kwargs: Any) -> str:
    """Call the provider as gpt4free does and join the reply."""
    kwargs.setdefault("model", "")
    return "".join(
        [text async for text in OpenAssistant.create_async_generator(messages=HELLO, **kwargs)]
    )


# (fault spec, the scope, gpt4free's class, ours, chats created before the failure)
FAULTS = [
    pytest.param(
        "status:401", "assistant_message", g4f_errors.MissingAuthError, oa.AuthenticationError, 1,
        id="401",
    ),
    pytest.param(
        "status:403", "prompter_message", g4f_errors.MissingAuthError, oa.AuthenticationError, 1,
        id="403",
    ),
    pytest.param(
        "status:429;retry-after=3", "assistant_message", g4f_errors.RateLimitError,
        oa.RateLimitError, 1, id="429",
    ),
    pytest.param(
        "status:413", "prompter_message", g4f_errors.BadRequestError, oa.MessageTooLongError, 1,
        id="413",
    ),
    pytest.param(
        "status:422", "assistant_message", g4f_errors.BadRequestError, oa.InvalidRequestError, 1,
        id="422",
    ),
    pytest.param(
        "status:503", "create_chat", g4f_errors.ResponseStatusError, oa.ServerBusyError, 0,
        id="503-before-any-chat",
    ),
    pytest.param(
        "status:503", "assistant_message", g4f_errors.ResponseStatusError, oa.ServerBusyError, 1,
        id="503",
    ),
    pytest.param(
        "status:500", "events", g4f_errors.ResponseStatusError, oa.ResponseError, 1, id="500",
    ),
    pytest.param(
        "status:404", "events", g4f_errors.ResponseStatusError, oa.ChatNotFoundError, 1,
        id="404",
    ),
    pytest.param(
        "error-after:2", "events", g4f_errors.ResponseError, oa.GenerationError, 1,
        id="error-event",
    ),
    pytest.param(
        "truncate-after:2", "events", g4f_errors.ResponseError, oa.IncompleteStreamError, 1,
        id="truncated-stream",
    ),
    pytest.param(
        "drop-after:2", "events", g4f_errors.ResponseError, oa.IncompleteStreamError, 1,
        id="dropped-connection",
    ),
    pytest.param(
        "malformed-after:2", "events", g4f_errors.ResponseError, oa.ProtocolError, 1,
        id="malformed-event",
    ),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("fault", "step", "theirs", "ours", "created"), FAULTS)
async def test_a_server_failure_raises_g4f_error_from_ours(
    oa_mockserver: ThreadedMockServer,
    fault: str,
    step: str,
    theirs: type[Exception],
    ours: type[oa.OAError],
    created: int,
) -> None:
    oa_mockserver.add_fault(fault, step=step)

    with pytest.raises(theirs) as caught:
        await _drain(base_url=oa_mockserver.url, cookies=ME)

    assert isinstance(caught.value.__cause__, ours)
    assert str(caught.value).startswith("OpenAssistant: ")
    assert_chat_deleted(oa_mockserver, created=created)


@pytest.mark.asyncio
async def test_429_keeps_retry_after_on_the_chained_original(
    oa_mockserver: ThreadedMockServer,
) -> None:
    oa_mockserver.add_fault("status:429;retry-after=7", step="assistant_message")

    with pytest.raises(g4f_errors.RateLimitError) as caught:
        await _drain(base_url=oa_mockserver.url, cookies=ME)

    cause = caught.value.__cause__
    assert isinstance(cause, oa.RateLimitError)
    assert (cause.status, cause.retry_after) == (429, 7.0)


@pytest.mark.asyncio
async def test_a_stalled_stream_raises_g4f_timeout(oa_mockserver: ThreadedMockServer) -> None:
    """gpt4free's stream_timeout is oa_provider's stream_idle_timeout."""
    oa_mockserver.add_fault("stall:2;after=1", step="events")

    with pytest.raises(g4f_errors.TimeoutError) as caught:
        await _drain(base_url=oa_mockserver.url, cookies=ME, stream_timeout=0.2)

    assert isinstance(caught.value.__cause__, oa.StreamTimeoutError)
    assert caught.value.__cause__.partial_text  # one token arrived before the stall
    assert_chat_deleted(oa_mockserver)


@pytest.mark.asyncio
async def test_a_reply_over_the_limits_is_a_response_error(
    oa_mockserver: ThreadedMockServer,
) -> None:
    """oa_provider's Limits pass through; LimitExceededError takes ProtocolError's row."""
    with pytest.raises(g4f_errors.ResponseError) as caught:
        await _drain(
            base_url=oa_mockserver.url, cookies=ME, limits=oa.Limits(max_event_size=16)
        )

    assert isinstance(caught.value.__cause__, oa.LimitExceededError)
    assert caught.value.__cause__.limit == "max_event_size"
    assert_chat_deleted(oa_mockserver)


@pytest.mark.asyncio
async def test_an_unknown_model_is_a_bad_request(oa_mockserver: ThreadedMockServer) -> None:
    with pytest.raises(g4f_errors.BadRequestError) as caught:
        await _drain(base_url=oa_mockserver.url, cookies=ME, model="gpt-4-no-such-config")

    assert isinstance(caught.value.__cause__, oa.InvalidRequestError)
    assert_chat_deleted(oa_mockserver)


@pytest.mark.asyncio
async def test_no_cookie_is_missing_auth_before_any_request(
    oa_mockserver: ThreadedMockServer,
) -> None:
    with pytest.raises(g4f_errors.MissingAuthError) as caught:
        await _drain(base_url=oa_mockserver.url)

    assert isinstance(caught.value.__cause__, oa.MissingCredentialsError)
    assert "cookies=" in str(caught.value)
    assert "api_key=" in str(caught.value)
    assert oa_mockserver.journal.calls == []


@pytest.mark.asyncio
async def test_a_cookie_the_server_refuses_is_missing_auth(
    oa_mockserver: ThreadedMockServer,
) -> None:
    """The mock's own refusal (a cookie, but not the session cookie: 403 as the real site's
    API answers), not an injected one."""
    with pytest.raises(g4f_errors.MissingAuthError) as caught:
        await _drain(base_url=oa_mockserver.url, cookies={"theme": "dark"})

    assert isinstance(caught.value.__cause__, oa.AuthenticationError)
    assert caught.value.__cause__.status == 403
    oa_mockserver.assert_no_chats_left()


@pytest.mark.asyncio
async def test_a_refused_connection_is_a_provider_exception() -> None:
    with socket.socket() as probe:  # a port nothing listens on: bound, never listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        with pytest.raises(g4f_errors.ProviderException) as caught:
            await _drain(base_url=f"http://127.0.0.1:{port}", cookies=ME, timeout=5)

    assert isinstance(caught.value.__cause__, oa.TransportError)


def test_every_oa_error_class_has_a_row() -> None:
    """A new class in oa_provider's tree must be mapped on purpose (or fall to OAError's row)."""
    ours = {row[0] for row in ERROR_MAP}
    tree = {
        value
        for value in vars(oa).values()
        if isinstance(value, type) and issubclass(value, oa.OAError)
    }
    assert tree - ours == {oa.LimitExceededError}  # a ProtocolError: its parent's row
    assert ERROR_MAP[-1][0] is oa.OAError
    assert all(issubclass(theirs, g4f_errors.G4FError) for _, theirs in ERROR_MAP)
    assert isinstance(to_g4f_error(oa.LimitExceededError("x", limit="l", maximum=1)),
                      g4f_errors.ResponseError)


@pytest.mark.parametrize("name", list(SYNC_CALLS))
def test_sync_entry_points_raise_the_mapped_error(
    oa_mockserver: ThreadedMockServer, name: str
) -> None:
    oa_mockserver.add_fault("status:429", step="assistant_message")

    with pytest.raises(g4f_errors.RateLimitError) as caught:
        SYNC_CALLS[name](HELLO, base_url=oa_mockserver.url, cookies=ME)

    assert isinstance(caught.value.__cause__, oa.RateLimitError)
    assert_chat_deleted(oa_mockserver)


@pytest.mark.asyncio
@pytest.mark.parametrize("name", list(ASYNC_CALLS))
async def test_async_entry_points_raise_the_mapped_error(
    oa_mockserver: ThreadedMockServer, name: str
) -> None:
    oa_mockserver.add_fault("error-after:2", step="events")

    with pytest.raises(g4f_errors.ResponseError) as caught:
        await ASYNC_CALLS[name](HELLO, base_url=oa_mockserver.url, cookies=ME)

    assert isinstance(caught.value.__cause__, oa.GenerationError)
    assert_chat_deleted(oa_mockserver)
