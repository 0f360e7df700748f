"""The oa_mockserver fixtures under async test runners: pytest-asyncio (strict and auto), anyio,
and pytest-xdist.

The fixtures are sync and each server runs on its own loop in a thread, so a session-scoped
server must serve tests whose event loops come and go (pytest-dev/pytest-asyncio#868).
"""

from __future__ import annotations

import pytest

STRICT_TESTS = """
import asyncio

import aiohttp
import pytest
import pytest_asyncio

from chatting import COOKIES, HELLO, talk
from oa_provider import OpenAssistant

loops = []


@pytest_asyncio.fixture
async def http():
    async with aiohttp.ClientSession(cookies=COOKIES) as session:
        yield session


@pytest.mark.asyncio
async def test_fresh_server(oa_mockserver):
    assert len(await talk(oa_mockserver.url)) == 3
    oa_mockserver.journal.assert_request_made("GET", "/api/chat/events", count=1)


@pytest.mark.asyncio
async def test_provider(oa_provider, oa_mockserver):
    tokens = [t async for t in oa_provider.create_async_generator(messages=HELLO)]
    assert len(tokens) == 3
    oa_mockserver.assert_no_chats_left()


@pytest.mark.asyncio
async def test_session_server_from_a_first_loop(oa_mockserver_session, http):
    loops.append(asyncio.get_running_loop())
    async with http.post(f"{oa_mockserver_session.url}/api/chat") as response:
        assert response.status == 200
    assert len(oa_mockserver_session.chats()) == 1


def test_session_server_from_sync_code(oa_mockserver_session):
    assert oa_mockserver_session.chats() == []


@pytest.mark.asyncio
async def test_session_server_from_a_second_loop(oa_mockserver_session, http):
    loops.append(asyncio.get_running_loop())
    assert loops[0] is not loops[1]
    assert oa_mockserver_session.journal.calls == []
    assert len(await talk(oa_mockserver_session.url)) == 3


@pytest.mark.asyncio(loop_scope="module")
async def test_session_server_from_a_module_loop(oa_mockserver_session):
    assert len(await talk(oa_mockserver_session.url)) == 3


@pytest.mark.asyncio
async def test_fault_and_journal_from_async_code(oa_mockserver):
    oa_mockserver.add_fault("status:503", step="assistant_message", times=1)
    with pytest.raises(Exception, match="busy"):
        await talk(oa_mockserver.url)
    assert len(await talk(oa_mockserver.url)) == 3
    oa_mockserver.journal.assert_request_made("POST", "/api/chat/assistant_message", count=2)


@pytest.mark.anyio
async def test_anyio(oa_mockserver_session, anyio_backend):
    tokens = [
        t
        async for t in OpenAssistant.create_async_generator(
            messages=HELLO, base_url=oa_mockserver_session.url, cookies=COOKIES
        )
    ]
    assert len(tokens) == 3
    oa_mockserver_session.assert_no_chats_left()
"""

AUTO_TESTS = """
import asyncio

import aiohttp
import pytest

from chatting import COOKIES, talk

loops = []


@pytest.fixture
async def chat_id(oa_mockserver_session):
    async with aiohttp.ClientSession(cookies=COOKIES) as http:
        async with http.post(f"{oa_mockserver_session.url}/api/chat") as response:
            yield (await response.json())["id"]


async def test_fresh_server(oa_mockserver):
    assert len(await talk(oa_mockserver.url)) == 3


async def test_session_server_with_an_async_fixture(oa_mockserver_session, chat_id):
    loops.append(asyncio.get_running_loop())
    assert [chat.id for chat in oa_mockserver_session.chats()] == [chat_id]


def test_sync_in_between(oa_mockserver_session):
    assert oa_mockserver_session.chats() == []


async def test_session_server_from_another_loop(oa_mockserver_session):
    assert loops[0] is not asyncio.get_running_loop()
    events = await talk(oa_mockserver_session.url, fault="safe-prompt", events=True)
    assert events[0] == "SafePromptEvent"
"""

XDIST_TESTS = """
import os

import pytest

from chatting import chat


@pytest.mark.parametrize("n", range(6))
def test_each_worker_has_its_own_servers(oa_mockserver, n):
    assert len(chat(oa_mockserver.url)) == 3
    oa_mockserver.journal.assert_request_made("DELETE", "/api/chat", count=1)
    print("worker", os.environ["PYTEST_XDIST_WORKER"])


@pytest.mark.parametrize("n", range(4))
def test_session_servers_per_worker(oa_mockserver_session, n):
    assert oa_mockserver_session.journal.calls == []
    assert len(chat(oa_mockserver_session.url)) == 3
"""


def test_pytest_asyncio_strict_mode_and_anyio(project: pytest.Pytester) -> None:
    project.makepyfile(test_user=STRICT_TESTS)
    result = project.runpytest_subprocess("-q", "-o", "asyncio_mode=strict", timeout=120)
    result.assert_outcomes(passed=8)


def test_pytest_asyncio_auto_mode(project: pytest.Pytester) -> None:
    project.makepyfile(test_user=AUTO_TESTS)
    result = project.runpytest_subprocess("-q", "-o", "asyncio_mode=auto", timeout=120)
    result.assert_outcomes(passed=4)


def test_pytest_xdist_two_workers(project: pytest.Pytester) -> None:
    project.makepyfile(test_user=XDIST_TESTS)
    result = project.runpytest_subprocess("-n", "2", "-rA", timeout=120)
    result.assert_outcomes(passed=10)
    output = result.stdout.str()
    assert "worker gw0" in output
    assert "worker gw1" in output
