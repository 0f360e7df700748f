"""How to: each fixture of the oa_mockserver pytest plugin, in a test you can copy.

The plugin is loaded by installing oa-toolkit (entry point ``pytest11``); nothing to import.
The fixtures are sync: use them from sync tests, pytest-asyncio tests or anyio tests alike.
"""

from __future__ import annotations

import pytest
from _howto import HELLO, ask

from oa_mockserver import ServerConfig, ThreadedMockServer
from oa_mockserver.pytest_plugin import MockServerFactory
from oa_provider import OpenAssistant


@pytest.mark.asyncio
async def test_oa_mockserver_is_a_fresh_server_per_test(oa_mockserver: ThreadedMockServer) -> None:
    tokens = await ask(oa_mockserver.url)  # http://127.0.0.1:<free port>

    assert tokens
    oa_mockserver.journal.assert_request_made("DELETE", "/api/chat", count=1)


@pytest.mark.asyncio
async def test_oa_mockserver_session_is_shared_and_cleared_per_test(
    oa_mockserver_session: ThreadedMockServer,
) -> None:
    assert oa_mockserver_session.journal.calls == []  # whatever earlier tests did

    await ask(oa_mockserver_session.url)

    assert oa_mockserver_session.journal.call_count == 5


@pytest.mark.asyncio
async def test_oa_mockserver_factory_starts_servers_with_other_settings(
    oa_mockserver_factory: MockServerFactory,
) -> None:
    echo = oa_mockserver_factory(reply_mode="echo")  # stopped at the end of the session

    assert "".join(await ask(echo.url)).strip() == "hello"


@pytest.mark.asyncio
async def test_oa_provider_is_a_client_bound_to_oa_mockserver(
    oa_provider: OpenAssistant, oa_mockserver: ThreadedMockServer
) -> None:
    tokens = [t async for t in oa_provider.create_async_generator(messages=HELLO)]

    assert len(tokens) == oa_mockserver.config.reply_tokens
    oa_mockserver.assert_no_chats_left()


@pytest.mark.oa_mockserver(reply_tokens=4, token_interval=0.001)
@pytest.mark.asyncio
async def test_the_marker_sets_options_for_one_test(oa_mockserver: ThreadedMockServer) -> None:
    assert len(await ask(oa_mockserver.url)) == 4


@pytest.mark.oa_mockserver(allow_unmatched=True)
def test_allow_unmatched_accepts_requests_no_route_matched(
    oa_mockserver: ThreadedMockServer,
) -> None:
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(f"{oa_mockserver.url}/api/no-such-route")
    answer.value.close()
    assert answer.value.code == 404
    # Without the marker, teardown would fail this test: "no route matched GET /api/...".


def test_the_default_config_is_unpaced(oa_mockserver_config: ServerConfig) -> None:
    assert oa_mockserver_config.token_interval == 0.0
