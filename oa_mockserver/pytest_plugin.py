"""pytest fixtures for projects that test OpenAssistant clients (loaded through ``pytest11``).

Fixtures (all sync, so they work under pytest-asyncio strict or auto mode, anyio, or no async
plugin at all; each server runs on its own loop in a background thread, bound to 127.0.0.1 on a
free port, so ``pytest -n 2`` never clashes):

- ``oa_mockserver``: a fresh server for each test (fresh state and journal).
- ``oa_mockserver_session``: one server for the whole session, cleared before each test.
- ``oa_mockserver_factory``: ``factory(**options)`` starts a server with other settings; every
  server it started is stopped at the end of the session.
- ``oa_provider``: an ``oa_provider.OpenAssistant`` bound to ``oa_mockserver``.
- ``oa_cassette``: with ``@pytest.mark.oa_cassette("chat.yaml", record_mode="once")`` the
  test's HTTP is recorded to (or replayed from) that cassette by vcrpy in-process; the marker
  alone does it, the fixture gives the vcrpy cassette object.
- ``oa_mockserver_config``: the :class:`ServerConfig` the servers start from (session scope);
  override it in your ``conftest.py`` to change the defaults for a whole suite, or set options
  for one test with ``@pytest.mark.oa_mockserver(token_interval=0.05, workers=1)``.

At teardown a test fails if a handler of the server raised (with the server's traceback) or if
the client sent requests that no route matched (listed), unless the test marked them expected
with ``@pytest.mark.oa_mockserver(allow_unmatched=True)``.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterator
from typing import Any, Protocol

import pytest

from ._server.config import ServerConfig
from ._server.threaded import ThreadedMockServer

# Fixtures are found by name in this module, so importing them registers them.
from .recording._pytest_cassette import _oa_cassette_marker, oa_cassette  # noqa: F401
from .recording._pytest_cassette import pytest_configure as _configure_cassettes

__all__ = [
    "MockServerFactory",
    "oa_cassette",
    "oa_mockserver",
    "oa_mockserver_config",
    "oa_mockserver_factory",
    "oa_mockserver_session",
    "oa_provider",
]

_MARKER = "oa_mockserver"


class MockServerFactory(Protocol):
    """``factory(config=None, **options) -> ThreadedMockServer`` (started; stopped at teardown)."""

    def __call__(self, config: ServerConfig | None = None, **options: Any) -> ThreadedMockServer:
        ...


#: pytest-asyncio's warning when its ``asyncio_default_fixture_loop_scope`` is unset (0.24+).
_LOOP_SCOPE_UNSET = r'The configuration option "asyncio_default_fixture_loop_scope" is unset'


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    # Why: `pip install 'oa-toolkit[pytest]'` brings pytest-asyncio to projects that never chose
    # it, and its warning about the loop scope of async fixtures (which ours are not: every
    # fixture here is sync) greeted each run, or failed it under `filterwarnings = error`. The
    # filter lives in pytest's configure-time warnings context only; a project that sets the
    # option itself is unaffected.
    warnings.filterwarnings(
        "ignore", message=_LOOP_SCOPE_UNSET, category=pytest.PytestDeprecationWarning
    )
    _configure_cassettes(config)
    config.addinivalue_line(
        "markers",
        f"{_MARKER}(**options): ServerConfig options for this test's oa_mockserver "
        "(and allow_unmatched=True to accept requests no route matched)",
    )


def _marker_options(request: pytest.FixtureRequest) -> tuple[dict[str, Any], bool]:
    options: dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers(_MARKER))):
        options.update(marker.kwargs)
    allow_unmatched = bool(options.pop("allow_unmatched", False))
    return options, allow_unmatched


def _check(server: ThreadedMockServer, *, allow_unmatched: bool) -> None:
    problems = server.problems(include_unmatched=not allow_unmatched)
    if problems:
        pytest.fail("oa_mockserver: " + "\n\n".join(problems), pytrace=False)


@pytest.fixture(scope="session")
def oa_mockserver_config() -> ServerConfig:
    """The settings every server of these fixtures starts from: no pacing, as fast as it goes.

    The journal keeps every request, bodies whole (``journal_limit=0``,
    ``journal_body_limit=0``): a test's assertions must see all it sent, and a fixture's
    journal lives one test (the session server's is cleared before each). A test that drives a
    long load can set a bound with ``@pytest.mark.oa_mockserver(journal_limit=5000)``.

    Override in your conftest.py::

        @pytest.fixture(scope="session")
        def oa_mockserver_config():
            return ServerConfig(token_interval=0.0, reply_tokens=8)
    """
    return ServerConfig(
        token_interval=0.0, first_token_delay=0.0, journal_limit=0, journal_body_limit=0
    )


@pytest.fixture(scope="session")
def oa_mockserver_factory(oa_mockserver_config: ServerConfig) -> Iterator[MockServerFactory]:
    """Start servers with custom settings; all are stopped at the end of the session."""
    started: list[ThreadedMockServer] = []

    def factory(config: ServerConfig | None = None, **options: Any) -> ThreadedMockServer:
        base = config if config is not None else oa_mockserver_config
        server = ThreadedMockServer(dataclasses.replace(base, **options) if options else base)
        server.start()
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()


@pytest.fixture
def oa_mockserver(
    request: pytest.FixtureRequest, oa_mockserver_config: ServerConfig
) -> Iterator[ThreadedMockServer]:
    """A fresh mock server for this test; teardown checks it for handler errors and misses."""
    options, allow_unmatched = _marker_options(request)
    config = dataclasses.replace(oa_mockserver_config, **options) if options else (
        oa_mockserver_config
    )
    with ThreadedMockServer(config) as server:
        yield server
        _check(server, allow_unmatched=allow_unmatched)


@pytest.fixture(scope="session")
def _oa_mockserver_session_instance(
    oa_mockserver_config: ServerConfig,
) -> Iterator[ThreadedMockServer]:
    with ThreadedMockServer(oa_mockserver_config) as server:
        yield server


@pytest.fixture
def oa_mockserver_session(
    request: pytest.FixtureRequest, _oa_mockserver_session_instance: ThreadedMockServer
) -> Iterator[ThreadedMockServer]:
    """One server for the whole session, with state, journal and faults cleared for this test."""
    server = _oa_mockserver_session_instance
    _, allow_unmatched = _marker_options(request)
    server.reset()
    yield server
    _check(server, allow_unmatched=allow_unmatched)


@pytest.fixture
def oa_provider(oa_mockserver: ThreadedMockServer) -> Any:
    """An ``oa_provider.OpenAssistant`` talking to ``oa_mockserver`` as the user ``pytest``."""
    from oa_provider import OpenAssistant

    return OpenAssistant(
        base_url=oa_mockserver.url, cookies={"next-auth.session-token": "pytest"}
    )
