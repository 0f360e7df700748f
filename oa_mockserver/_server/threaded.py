"""A mock server on its own event loop in a background thread, for sync code and any test runner.

Why a thread: a server bound to one test's event loop dies with that loop, so a session-wide
server cannot live on pytest-asyncio's function-scoped loops (pytest-dev/pytest-asyncio#868), and
sync tests or anyio tests have no loop of ours at all. On its own loop the server serves every
client, whatever loop (or thread) the client runs on; the handle's methods are thread-safe.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from types import TracebackType
from typing import Any, TypeVar

from .._control.faults import Fault, FaultRule, FaultSet
from .._control.journal import Journal
from .._exceptions import MockServerError
from .config import ServerConfig
from .runner import MockServer, with_admin_token
from .state import Chat

__all__ = ["ThreadedMockServer"]

_T = TypeVar("_T")

_START_TIMEOUT = 30.0


class ThreadedMockServer:
    """A :class:`MockServer` running in a daemon thread; use it as a (sync) context manager.

    >>> with ThreadedMockServer(ServerConfig(token_interval=0)) as server:  # doctest: +SKIP
    ...     requests.post(f"{server.url}/api/chat", cookies={"next-auth.session-token": "me"})

    It offers the :class:`MockServer`'s API; calls that touch the server's state run on the
    server's loop, so they are safe from any thread.
    """

    def __init__(self, config: ServerConfig | None = None) -> None:
        # the token made now (bound wider than loopback) is the one the server will require
        self.config = with_admin_token(config if config is not None else ServerConfig())
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: MockServer | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> ThreadedMockServer:
        """Start the thread and the server; return once it accepts connections."""
        if self._thread is not None:
            raise MockServerError("this ThreadedMockServer is already started; start() it once")
        ready: Future[MockServer] = Future()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name="oa-mockserver", daemon=True
        )
        self._thread.start()
        self._server = ready.result(timeout=_START_TIMEOUT)
        return self

    def _run(self, ready: Future[MockServer]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        server = MockServer(self.config)
        try:
            loop.run_until_complete(server.__aenter__())
        except Exception as exc:  # noqa: BLE001 - handed to the starting thread, which re-raises it
            ready.set_exception(exc)
            loop.close()
            return
        ready.set_result(server)
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(server.__aexit__(None, None, None))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def stop(self) -> None:
        """Stop the server (open streams end) and join the thread. Safe to call twice."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if not loop.is_closed():
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=_START_TIMEOUT)
        self._loop = None
        self._thread = None

    def __enter__(self) -> ThreadedMockServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- access ------------------------------------------------------------------------------

    @property
    def server(self) -> MockServer:
        """The running :class:`MockServer` (raises when not started)."""
        if self._server is None:
            raise MockServerError("the server is not running: use it inside `with` or start() it")
        return self._server

    @property
    def url(self) -> str:
        """The base URL, ``http://127.0.0.1:PORT``."""
        return self.server.url

    @property
    def dashboard_url(self) -> str:
        """See :attr:`MockServer.dashboard_url`."""
        return self.server.dashboard_url

    @property
    def admin_token(self) -> str | None:
        """See :attr:`MockServer.admin_token` (known before the server starts)."""
        return self.config.admin_token

    def call(self, function: Callable[..., Coroutine[Any, Any, _T]], *args: Any) -> _T:
        """Run ``function(*args)`` (a coroutine function) on the server's loop and wait for it."""
        __tracebackhide__ = True  # pytest shows the caller's line, not ours
        return asyncio.run_coroutine_threadsafe(function(*args), self._running_loop()).result(
            _START_TIMEOUT
        )

    def _in_loop(self, function: Callable[..., _T], *args: Any) -> _T:
        __tracebackhide__ = True
        # The store, the workers and their tasks belong to the server's loop: touch them there.
        done: Future[_T] = Future()

        def run() -> None:
            try:
                done.set_result(function(*args))
            except Exception as error:  # noqa: BLE001 - re-raised in the calling thread
                done.set_exception(error)

        self._running_loop().call_soon_threadsafe(run)
        return done.result(_START_TIMEOUT)

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        loop = self._loop
        if loop is None or self._server is None:
            raise MockServerError("the server is not running: use it inside `with` or start() it")
        return loop

    # -- the MockServer's API, made safe to call from any thread -------------------------------

    @property
    def journal(self) -> Journal:
        """Every request received so far (thread-safe snapshot reads)."""
        return self.server.journal

    @property
    def faults(self) -> FaultSet:
        """The active fault rules (thread-safe)."""
        return self.server.faults

    def add_fault(self, fault: str | Fault | FaultRule, **scope: Any) -> list[FaultRule]:
        """See :meth:`MockServer.add_fault`."""
        return self.server.add_fault(fault, **scope)

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        self.server.clear_faults()

    def chats(self) -> list[Chat]:
        """A snapshot of the live chats of all users (with a Redis store: of every process)."""
        if self.config.store is not None:
            return self.call(self.server.shared_chats)
        return self._in_loop(self.server.chats)

    def reset(self) -> None:
        """Empty the store (ending open streams), the journal, errors; restore the faults.

        With a Redis store, the shared chats, journal and faults too."""
        if self.config.store is not None:
            self.call(self.server.clear)
            return
        self._in_loop(self.server.reset)

    def problems(self, *, include_unmatched: bool = True) -> list[str]:
        """See :meth:`MockServer.problems`."""
        return self._in_loop(lambda: self.server.problems(include_unmatched=include_unmatched))

    def wait_for_streams(self, timeout: float = 5.0) -> None:
        """Block until no event stream is being written (:meth:`MockServer.wait_for_streams`)."""
        __tracebackhide__ = True  # pytest shows the caller's line, not ours
        self.call(self.server.wait_for_streams, timeout)

    def assert_chat_deleted(self, chat_id: str) -> None:
        """See :meth:`MockServer.assert_chat_deleted`."""
        __tracebackhide__ = True  # pytest shows the caller's line, not ours
        self._in_loop(self.server.assert_chat_deleted, chat_id)

    def assert_no_chats_left(self) -> None:
        """See :meth:`MockServer.assert_no_chats_left`; with a Redis store, over the chats of
        every process sharing it (:meth:`MockServer.assert_no_shared_chats_left`)."""
        __tracebackhide__ = True  # pytest shows the caller's line, not ours
        if self.config.store is not None:
            self.call(self.server.assert_no_shared_chats_left)
            return
        self._in_loop(self.server.assert_no_chats_left)

    def assert_first_token_before_last_written(self, received_at: float) -> None:
        """See :meth:`MockServer.assert_first_token_before_last_written` (waits for streams)."""
        __tracebackhide__ = True  # pytest shows the caller's line, not ours
        self.wait_for_streams()
        self.server.assert_first_token_before_last_written(received_at)

    def assert_stream_closed_after(self, tokens: int, *, slack: int = 1) -> None:
        """See :meth:`MockServer.assert_stream_closed_after` (waits for streams to end first)."""
        __tracebackhide__ = True  # pytest shows the caller's line, not ours
        self.wait_for_streams()
        self.server.assert_stream_closed_after(tokens, slack=slack)

    def __repr__(self) -> str:
        state = self._server.url if self._server is not None else "not started"
        return f"<ThreadedMockServer {state}>"
