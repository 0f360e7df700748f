"""chatclient against the mock server, using only the oa_mockserver pytest plugin's fixtures."""

from __future__ import annotations

from contextlib import aclosing
from unittest.mock import ANY

import pytest
from chatclient import ChatError, stream_reply


async def collect(base_url: str, prompt: str, into: list[str] | None = None) -> list[str]:
    received = into if into is not None else []
    async with aclosing(stream_reply(base_url, prompt)) as tokens:
        async for token in tokens:
            received.append(token)
    return received


async def test_streams_the_whole_reply_and_deletes_the_chat(oa_mockserver):
    tokens = await collect(oa_mockserver.url, "hello")

    assert len(tokens) == 8  # reply_tokens of conftest.py's oa_mockserver_config
    [prompter] = oa_mockserver.journal.assert_request_made(
        "POST",
        "/api/chat/prompter_message",
        count=1,
        json={"chat_id": ANY, "content": "hello", "parent_id": None},
    )
    oa_mockserver.assert_chat_deleted(prompter.json["chat_id"])
    oa_mockserver.assert_no_chats_left()


async def test_a_generation_error_raises_after_the_tokens_before_it(oa_mockserver):
    oa_mockserver.add_fault("error-after:3", step="events")
    received: list[str] = []

    with pytest.raises(ChatError, match="generation failed"):
        await collect(oa_mockserver.url, "hello", into=received)

    assert len(received) == 3
    oa_mockserver.assert_no_chats_left()  # deleted despite the error


async def test_a_full_queue_raises_and_still_deletes_the_chat(oa_mockserver):
    oa_mockserver.add_fault("status:503", step="assistant_message", times=1)

    with pytest.raises(ChatError, match="503"):
        await collect(oa_mockserver.url, "hello")

    oa_mockserver.journal.assert_request_made("POST", "/api/chat/assistant_message", status=503)
    oa_mockserver.journal.assert_request_made("DELETE", "/api/chat", count=1, status=200)
    oa_mockserver.assert_no_chats_left()


@pytest.mark.oa_mockserver(token_interval=0.05, reply_tokens=40)
async def test_stopping_early_closes_the_stream(oa_mockserver):
    async with aclosing(stream_reply(oa_mockserver.url, "hello")) as tokens:
        async for _ in tokens:
            break  # the first token is enough

    oa_mockserver.assert_stream_closed_after(1, slack=2)
    oa_mockserver.assert_no_chats_left()
