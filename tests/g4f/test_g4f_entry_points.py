"""The four ways gpt4free calls a provider, streaming and not, against the mock server over
loopback HTTP: each yields the mock's reply (the same as oa_provider's own), in pieces when
streaming, and leaves no chat behind."""

from __future__ import annotations

import pytest
from _g4f_calls import ASYNC_CALLS, STREAMING, SYNC_CALLS, AsyncCall, SyncCall
from _g4f_checks import HELLO, ME, assert_chat_deleted, expected_reply

from oa_mockserver import ThreadedMockServer

pytestmark = pytest.mark.g4f


@pytest.mark.parametrize("name", list(SYNC_CALLS))
def test_sync_entry_point_returns_the_reply_and_deletes_the_chat(
    oa_mockserver: ThreadedMockServer, name: str
) -> None:
    call: SyncCall = SYNC_CALLS[name]
    reply = expected_reply(oa_mockserver, HELLO)

    chunks = call(HELLO, base_url=oa_mockserver.url, cookies=ME)

    assert "".join(chunks) == reply
    assert len(chunks) > 1 if name in STREAMING else len(chunks) == 1
    assert_chat_deleted(oa_mockserver)


@pytest.mark.asyncio
@pytest.mark.parametrize("name", list(ASYNC_CALLS))
async def test_async_entry_point_returns_the_reply_and_deletes_the_chat(
    oa_mockserver: ThreadedMockServer, name: str
) -> None:
    call: AsyncCall = ASYNC_CALLS[name]
    reply = expected_reply(oa_mockserver, HELLO)

    chunks = await call(HELLO, base_url=oa_mockserver.url, cookies=ME)

    assert "".join(chunks) == reply
    assert len(chunks) > 1 if name in STREAMING else len(chunks) == 1
    assert_chat_deleted(oa_mockserver)


def test_client_base_url_reaches_the_provider(oa_mockserver: ThreadedMockServer) -> None:
    """Client(base_url=...) is passed to the provider given with it (not to g4f's own)."""
    from g4f.client import Client

    from oa_g4f import OpenAssistant

    client = Client(provider=OpenAssistant, base_url=oa_mockserver.url)
    response = client.chat.completions.create(messages=HELLO, cookies=ME)

    assert response.choices[0].message.content == expected_reply(oa_mockserver, HELLO)
    oa_mockserver.assert_no_chats_left()
