"""A downstream project in a temporary directory, to drive the oa_mockserver plugin with pytester.

Each ``pytester`` run is a fresh pytest process (about a second on a loaded machine), so the
tests group many user tests into one run and assert their outcomes and output once.
"""

from __future__ import annotations

import pytest

# What a downstream suite would write next to its tests: a sync helper that has one
# conversation with oa_provider, optionally with faults in the X-OA-Mock-Fault header.
CHATTING = '''
"""Conversations with oa_provider, for the user tests."""

from __future__ import annotations

import asyncio
import time
from contextlib import aclosing

import aiohttp

from oa_provider import OAError, OpenAssistant

HELLO = [{"role": "user", "content": "hello"}]
COOKIES = {"next-auth.session-token": "pytester"}


async def talk(url, *, fault=None, events=False, **options):
    """The reply's tokens (or the type names of the typed events)."""
    headers = {"X-OA-Mock-Fault": fault} if fault else {}
    async with aiohttp.ClientSession(headers=headers) as session:
        make = OpenAssistant.create_event_stream if events else OpenAssistant.create_async_generator
        stream = make(messages=HELLO, base_url=url, cookies=COOKIES, session=session, **options)
        async with aclosing(stream) as items:
            return [type(item).__name__ if events else item async for item in items]


def chat(url, **options):
    """``talk`` from sync code."""
    return asyncio.run(talk(url, **options))


def outcome(url, **options):
    """("ok", tokens) or (the client's error class name, the tokens it got before it)."""
    try:
        return "ok", chat(url, **options)
    except OAError as error:
        return type(error).__name__, getattr(error, "partial_text", None)


async def first_token_at(url, *, buffered=False):
    """time.monotonic() when the first token reached us (after the whole reply if buffered)."""
    stream = OpenAssistant.create_async_generator(messages=HELLO, base_url=url, cookies=COOKIES)
    received_at = None
    async with aclosing(stream) as tokens:
        async for _ in tokens:
            if received_at is None and not buffered:
                received_at = time.monotonic()
    return received_at if received_at is not None else time.monotonic()


async def read_tokens(url, count):
    """Read ``count`` tokens, then close the stream."""
    stream = OpenAssistant.create_async_generator(messages=HELLO, base_url=url, cookies=COOKIES)
    got = []
    async with aclosing(stream) as tokens:
        async for token in tokens:
            got.append(token)
            if len(got) == count:
                break
    return got
'''

CONFTEST = '''
import pytest

from oa_mockserver import ServerConfig


@pytest.fixture(scope="session")
def oa_mockserver_config():
    """Overrides the plugin's defaults for the whole suite: 3-token replies, no pacing."""
    return ServerConfig(token_interval=0.0, first_token_delay=0.0, reply_tokens=3)


@pytest.fixture
def anyio_backend():
    return "asyncio"
'''

INI = """
[pytest]
addopts = -p no:cacheprovider --strict-markers
asyncio_default_fixture_loop_scope = function
filterwarnings = error
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A downstream project using the installed plugin: helpers, conftest.py and pytest.ini."""
    pytester.makepyfile(chatting=CHATTING)
    pytester.makeconftest(CONFTEST)
    pytester.makeini(INI)
    return pytester
