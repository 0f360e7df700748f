"""Hostile servers over loopback HTTP: every limit ends the conversation with LimitExceededError
(carrying the reply so far), the chat is deleted, and the client holds no more than the limit."""

from __future__ import annotations

import tracemalloc
from typing import Any

import pytest
from _fakes import FakeSite, Reply, chat, sse

from oa_mockserver import MockServer, ServerConfig
from oa_provider import LimitExceededError, Limits, OpenAssistant, ProtocolError

MIB = 1024 * 1024


def tokens(*texts: str) -> list[Any]:
    return [sse({"event_type": "token", "text": text}) for text in texts]


def assert_deleted(site: FakeSite) -> None:
    assert site.paths()[-1] == "DELETE /api/chat"
    assert not site.live_chats


@pytest.mark.asyncio
async def test_an_endless_line_stops_at_max_event_size(site: FakeSite) -> None:
    piece = b"x" * 65536
    # 128 MiB of one line with no end; the client must stop at its 1 MiB default.
    site.script = [*tokens("Hel", "lo"), b"data: ", *[piece] * 2048]
    with pytest.raises(LimitExceededError) as info:
        await chat(site)
    assert info.value.limit == "max_event_size"
    assert info.value.maximum == MIB
    assert info.value.partial_text == "Hello"
    assert_deleted(site)


@pytest.mark.asyncio
async def test_the_client_holds_no_more_than_the_limit(site: FakeSite) -> None:
    piece = b"y" * 65536
    site.script = [b"data: ", *[piece] * 512]  # a 32 MiB line
    tracemalloc.start()
    try:
        with pytest.raises(LimitExceededError):
            await chat(site, limits=Limits(max_event_size=2 * MIB))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * MIB + 6 * MIB, f"peak {peak / MIB:.1f} MiB"
    assert_deleted(site)


@pytest.mark.asyncio
async def test_tokens_beyond_max_new_tokens_and_the_slack_are_refused(site: FakeSite) -> None:
    site.script = tokens(*[f"t{i} " for i in range(500)])
    with pytest.raises(LimitExceededError) as info:
        await chat(site, max_new_tokens=10, limits=Limits(extra_tokens=3))
    assert info.value.limit == "extra_tokens"
    assert info.value.maximum == 3
    assert info.value.partial_text == "".join(f"t{i} " for i in range(13))
    assert "max_new_tokens=10" in str(info.value)
    assert_deleted(site)


@pytest.mark.asyncio
async def test_the_token_slack_lets_a_little_more_through(site: FakeSite) -> None:
    site.tokens = [f"t{i}" for i in range(12)]
    assert await chat(site, max_new_tokens=10, limits=Limits(extra_tokens=2)) == "".join(
        site.tokens
    )
    assert await chat(site, max_new_tokens=10, limits=Limits(extra_tokens=None)) != ""


@pytest.mark.asyncio
async def test_the_reply_text_is_held_to_max_event_size(site: FakeSite) -> None:
    site.script = tokens(*["z" * 400] * 50)
    with pytest.raises(LimitExceededError) as info:
        await chat(site, limits=Limits(max_event_size=2000))
    assert info.value.limit == "max_event_size"
    assert info.value.partial_text == "z" * 2000
    assert_deleted(site)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("limits", "sent", "maximum"),
    [(Limits(max_pending_events=40), 5000, 40), (Limits(), 2000, 1800)],
    ids=["max_pending_events=40", "the default ends a queue that never moves"],
)
async def test_endless_pending_ends_at_max_pending_events(
    site: FakeSite, limits: Limits, sent: int, maximum: int
) -> None:
    pending = sse({"event_type": "pending", "queue_position": 9, "queue_size": 9})
    site.script = [pending] * sent
    with pytest.raises(LimitExceededError) as info:
        await chat(site, limits=limits)
    assert info.value.limit == "max_pending_events"
    assert info.value.maximum == limits.max_pending_events == maximum
    assert info.value.partial_text == ""
    assert f"max_pending_events={maximum}" in str(info.value)
    assert_deleted(site)


@pytest.mark.asyncio
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_a_huge_rest_answer_is_refused_at_max_response_size(
    site: FakeSite, chunked: bool
) -> None:
    body = '{"id": "' + "i" * (3 * MIB) + '"}'
    site.replies[("POST", "/api/chat/prompter_message")] = Reply(200, body, chunked=chunked)
    with pytest.raises(LimitExceededError) as info:
        await chat(site)
    assert info.value.limit == "max_response_size"
    assert info.value.maximum == MIB
    assert "POST /api/chat/prompter_message" in str(info.value)
    assert_deleted(site)


@pytest.mark.asyncio
async def test_a_huge_error_body_of_the_event_stream_is_refused(site: FakeSite) -> None:
    site.replies[("GET", "/api/chat/events")] = Reply(500, "e" * (2 * MIB), chunked=True)
    with pytest.raises(LimitExceededError) as info:
        await chat(site, limits=Limits(max_response_size=64 * 1024))
    assert info.value.limit == "max_response_size"
    assert_deleted(site)


@pytest.mark.asyncio
async def test_a_rest_answer_under_the_limit_is_read_whole(site: FakeSite) -> None:
    padding = "k" * (MIB - 100)  # many chunks, just under the limit
    site.replies[("POST", "/api/chat/assistant_message")] = Reply(
        200, f'{{"id": "m-1", "padding": "{padding}"}}', chunked=True
    )
    assert await chat(site) == "Hello, world!"
    assert site.calls[3].query["message_id"] == "m-1"


@pytest.mark.asyncio
async def test_a_malformed_event_mid_stream_carries_the_partial_text() -> None:
    config = ServerConfig(token_interval=0.0, first_token_delay=0.0, faults=("malformed-after:3",))
    async with MockServer(config) as server:
        received: list[str] = []

        async def consume() -> None:
            async for text in OpenAssistant.create_async_generator(
                messages=[{"role": "user", "content": "hi"}],
                base_url=server.url,
                cookies={"next-auth.session-token": "alice"},
            ):
                received.append(text)

        with pytest.raises(ProtocolError) as info:
            await consume()
        assert not isinstance(info.value, LimitExceededError)
        assert info.value.partial_text == "".join(received)
        assert len(received) == 3
        assert not server.chats()


def test_limits_are_checked_at_the_call() -> None:
    with pytest.raises(TypeError, match=r"limits must be an oa_provider\.Limits"):
        OpenAssistant.create_async_generator(
            messages=[{"role": "user", "content": "hi"}],
            cookies={"next-auth.session-token": "x"},
            limits={"max_event_size": 5},  # type: ignore[arg-type]
        )
