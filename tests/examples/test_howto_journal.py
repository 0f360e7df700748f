"""How to: check what your client sent, with the journal and the assertion helpers.

``oa_mockserver.journal`` records every request (unmatched and rejected ones too) with secrets
redacted. The helpers speak ``unittest.mock``'s language and fail with the nearest requests the
server did see.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from contextlib import aclosing
from unittest.mock import ANY

import pytest
from _howto import ALICE, HELLO

from oa_mockserver import ThreadedMockServer
from oa_provider import OpenAssistant


def stream(base_url: str) -> AsyncGenerator[str, None]:
    return OpenAssistant.create_async_generator(messages=HELLO, base_url=base_url, cookies=ALICE)


@pytest.mark.asyncio
async def test_assert_request_made(oa_mockserver: ThreadedMockServer) -> None:
    async with aclosing(stream(oa_mockserver.url)) as tokens:
        _ = [token async for token in tokens]

    journal = oa_mockserver.journal
    [call] = journal.assert_request_made(
        "POST",
        "/api/chat/prompter_message",
        count=1,
        json={"chat_id": ANY, "content": "hello", "parent_id": None},
    )
    assert call.headers["Cookie"] == "REDACTED"  # secrets never reach the journal
    journal.assert_request_made("GET", "/api/chat/events", query={"chat_id": call.json["chat_id"]})
    assert [c.step for c in journal.calls] == [
        "create_chat",
        "prompter_message",
        "assistant_message",
        "events",
        "delete_chat",
    ]
    with pytest.raises(AssertionError, match="Nearest requests the server received"):
        journal.assert_request_made("POST", "/api/chat/vote")


@pytest.mark.asyncio
async def test_assert_chat_deleted_and_no_chats_left(oa_mockserver: ThreadedMockServer) -> None:
    async with aclosing(stream(oa_mockserver.url)) as tokens:
        _ = [token async for token in tokens]

    last = oa_mockserver.journal.last  # the DELETE
    assert last is not None
    chat_id = last.query["chat_id"]
    oa_mockserver.assert_chat_deleted(chat_id)
    oa_mockserver.assert_no_chats_left()


@pytest.mark.oa_mockserver(token_interval=0.02, reply_tokens=10)
@pytest.mark.asyncio
async def test_the_client_streams_instead_of_buffering(oa_mockserver: ThreadedMockServer) -> None:
    received_at = None
    async with aclosing(stream(oa_mockserver.url)) as tokens:
        async for _ in tokens:
            if received_at is None:
                received_at = time.monotonic()

    assert received_at is not None
    oa_mockserver.assert_first_token_before_last_written(received_at)


@pytest.mark.oa_mockserver(token_interval=0.05, reply_tokens=40)
@pytest.mark.asyncio
async def test_the_client_closes_the_stream_when_it_stops_early(
    oa_mockserver: ThreadedMockServer,
) -> None:
    async with aclosing(stream(oa_mockserver.url)) as tokens:
        async for _ in tokens:
            break  # one token is enough

    oa_mockserver.assert_stream_closed_after(1, slack=2)
    oa_mockserver.assert_no_chats_left()  # and still deleted its chat
    [events] = oa_mockserver.journal.iter_matching("GET", "/api/chat/events")
    assert events.stream is not None
    assert events.stream.client_disconnected


@pytest.mark.oa_mockserver(journal_limit=6, journal_body_limit=64)
@pytest.mark.asyncio
async def test_a_bounded_journal_read_page_by_page(oa_mockserver: ThreadedMockServer) -> None:
    # The fixtures keep everything (journal_limit=0); `oa-mockserver serve` keeps the last 5,000
    # requests, bodies cut at 4,096 bytes. Here: 6 requests, bodies cut at 64 bytes.
    for _ in range(2):  # two conversations: 10 requests
        async with aclosing(stream(oa_mockserver.url)) as tokens:
            _ = [token async for token in tokens]

    journal = oa_mockserver.journal
    assert (journal.call_count, journal.dropped) == (6, 4)  # the 4 oldest were dropped
    seqs, page = [], journal.page(limit=4)
    while True:
        seqs += [call.seq for call in page.calls]  # ids stay put when older calls drop
        if not page.has_more:
            break
        page = journal.page(after=page.next_after, limit=4)
    assert seqs == [5, 6, 7, 8, 9, 10]
    [asked] = journal.iter_matching("POST", "/api/chat/assistant_message")
    assert asked.body_truncated  # its work parameters make it longer than 64 bytes
    assert asked.body.endswith(f"of {asked.body_size} bytes]".encode())
