"""``MockServer``: start the app on a loopback port, use it, stop it (an async context manager)."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from .._control.admin_access import is_loopback_host, new_admin_token
from .._control.faults import Fault, FaultRule, FaultSet, parse_fault_header
from .._control.journal import Journal, StreamLog
from .._exceptions import ConfigError, MockServerError
from .._serving import ServedApp
from .app import context_of, create_app
from .config import ServerConfig
from .http import SERVER_OPTIONS
from .routes.ui import dashboard_url
from .state import Chat

__all__ = ["MockServer", "with_admin_token"]


def with_admin_token(config: ServerConfig) -> ServerConfig:
    """``config``, with an admin token made for it when it binds wider than loopback."""
    if config.admin_token is None and not is_loopback_host(config.host):
        return dataclasses.replace(config, admin_token=new_admin_token())
    return config


class MockServer(ServedApp):
    """A running mock server::

        async with MockServer(ServerConfig(token_interval=0.0)) as server:
            server.url          # "http://127.0.0.1:54321"
            server.journal.calls, server.chats(), server.reset()

    It binds ``config.host`` (127.0.0.1 by default) on ``config.port`` (0: a free port).
    Bound wider than loopback with no ``config.admin_token``, it makes one for its admin API
    (:attr:`admin_token`).
    """

    def __init__(self, config: ServerConfig | None = None) -> None:
        self.config = with_admin_token(config if config is not None else ServerConfig())
        self.app = create_app(self.config)
        self._context = context_of(self.app)
        self._url: str | None = None

    async def start(self) -> MockServer:
        """Bind and start serving.

        Raises:
            MockServerError: already started, or the address cannot be bound.
        """
        if self._runner is not None:
            raise MockServerError("this MockServer is already running; start it once")
        host, port, grace = self.config.host, self.config.port, self.config.shutdown_timeout
        try:
            self._url = await self._serve(
                self.app, host, port, shutdown_timeout=grace, **SERVER_OPTIONS
            )
        except OSError as error:
            raise MockServerError(
                f"cannot listen on {host}:{port} ({error.strerror}); "
                "choose another host or port (port 0 picks a free one)"
            ) from error
        return self

    @property
    def url(self) -> str:
        """The base URL, ``http://127.0.0.1:PORT``.

        Raises:
            MockServerError: the server is not running.
        """
        if self._url is None or self._runner is None:
            raise MockServerError("the server is not running: use it inside `async with`")
        return self._url

    @property
    def dashboard_url(self) -> str:
        """The dashboard's address, ``http://127.0.0.1:PORT/__admin/ui``: open it in a browser
        to watch the requests, streams, chats and faults live.

        Raises:
            MockServerError: the server is not running.
        """
        return dashboard_url(self.url)

    @property
    def admin_token(self) -> str | None:
        """The token the admin API requires (``Authorization: Bearer <token>``), or None."""
        return self.config.admin_token

    @property
    def journal(self) -> Journal:
        """Every request received so far (secrets redacted)."""
        return self._context.journal

    def chats(self) -> list[Chat]:
        """A snapshot of the live chats of all users, oldest first (with a Redis store: the
        chats this process is generating a reply for; see :meth:`shared_chats`)."""
        return self._context.store.chats()

    def reset(self) -> None:
        """Empty the store (ending open streams), the journal and the recorded handler errors.

        With a Redis store this empties what this process holds: :meth:`clear` empties Redis."""
        self._context.reset()

    async def shared_chats(self) -> list[Chat]:
        """:meth:`chats`, and with a Redis store the live chats of every process."""
        return await self._context.chats.chats()

    async def clear(self) -> None:
        """:meth:`reset`, and with a Redis store the shared chats, journal and faults too."""
        await self._context.clear()

    # -- faults --------------------------------------------------------------------------------

    @property
    def faults(self) -> FaultSet:
        """The active fault rules (seeded by ``config.seed``)."""
        return self._context.faults

    def add_fault(
        self,
        fault: str | Fault | FaultRule,
        *,
        step: str | None = None,
        path: str | None = None,
        method: str | None = None,
        times: int | None = None,
        probability: float | None = None,
    ) -> list[FaultRule]:
        """Activate a fault: a header spec (``"error-after:3"``), a :class:`Fault`, or a rule.

        The keyword arguments scope it (they override the spec's own ``step=`` and so on)::

            server.add_fault("status:503", step="assistant_message", times=1)

        Returns the rules added. Raises FaultSpecError for an invalid spec or scope.
        """
        if isinstance(fault, str):
            rules = parse_fault_header(fault)
        elif isinstance(fault, FaultRule):
            rules = [fault]
        else:
            rules = [FaultRule(fault)]
        scope: dict[str, Any] = {
            key: value
            for key, value in (
                ("step", step),
                ("path", path),
                ("method", method),
                ("times", times),
                ("probability", probability),
            )
            if value is not None
        }
        rules = [dataclasses.replace(rule, **scope) for rule in rules]
        self._context.faults.add(*rules)
        return rules

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        self._context.faults.clear()

    # -- assertions ----------------------------------------------------------------------------

    def assert_chat_deleted(self, chat_id: str) -> None:
        """Assert a DELETE of ``chat_id`` succeeded and the chat is gone.

        Raises AssertionError saying which of the two is not so, with the DELETEs seen.
        """
        __tracebackhide__ = True  # pytest shows the caller's line, not ours
        deletes = [
            call
            for call in self.journal.calls
            if call.step == "delete_chat"
            and (call.query.get("chat_id") == chat_id or call.path.endswith("/" + chat_id))
        ]
        alive = any(chat.id == chat_id for chat in self.chats())
        if alive or not any(call.status == 200 for call in deletes):
            seen = "\n".join(f"  {call.describe()}" for call in deletes) or "  (none)"
            state = "still exists" if alive else "is gone"
            raise AssertionError(
                f"chat {chat_id} was not deleted: it {state}; DELETE requests for it:\n{seen}"
            )

    def assert_no_chats_left(self) -> None:
        """Assert no user has a chat left on the server (a client leaked none).

        Raises:
            AssertionError: chats are left; it lists them.
            ConfigError: the server has a Redis store: this process alone cannot see every
                process's chats without awaiting Redis; ``await``
                :meth:`assert_no_shared_chats_left` instead (``ThreadedMockServer``'s
                ``assert_no_chats_left`` does).
        """
        __tracebackhide__ = True  # pytest shows the caller's line, not ours
        if self.config.store is not None:
            raise ConfigError(
                "assert_no_chats_left: this server keeps its chats in Redis (config.store), "
                "shared with other processes; use 'await server.assert_no_shared_chats_left()'"
            )
        _no_chats_left(self.chats())

    async def assert_no_shared_chats_left(self) -> None:
        """:meth:`assert_no_chats_left` over :meth:`shared_chats`: with a Redis store, no chat
        is left on any process sharing it (without one, the same as the synchronous check)."""
        __tracebackhide__ = True  # pytest shows the caller's line, not ours
        _no_chats_left(await self.shared_chats())

    async def wait_for_streams(self, timeout: float = 5.0) -> None:
        """Wait until no event stream is being written (each is journaled when it ends).

        A client that closes a stream is noticed at the server's next write; call this before
        the stream assertions. Raises AssertionError if streams are still open after ``timeout``.
        """
        __tracebackhide__ = True  # pytest shows the caller's line, not ours
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._context.open_streams:
            if loop.time() >= deadline:
                raise AssertionError(
                    f"{self._context.open_streams} event stream(s) still open after {timeout} s"
                )
            await asyncio.sleep(0.005)

    def _last_stream(self) -> StreamLog:
        for call in reversed(self.journal.calls):
            if call.stream is not None:
                return call.stream
        raise AssertionError("the server streamed no events: no events request was journaled")

    def assert_first_token_before_last_written(self, received_at: float) -> None:
        """Assert the client had its first token before the server wrote the last one.

        ``received_at`` is ``time.monotonic()`` when the client got its first token (same
        process as the server, as under the pytest fixtures). Proves the client streams
        rather than buffering the whole reply. Needs a paced server (``token_interval > 0``).
        """
        __tracebackhide__ = True  # pytest shows the caller's line, not ours
        last = self._last_stream().last_token_at
        if last is None:
            raise AssertionError("the last event stream carried no token")
        if not received_at < last:
            raise AssertionError(
                f"the client's first token came {received_at - last:.4f} s after the server "
                "wrote the last one: the client buffered the stream instead of streaming it"
            )

    def assert_stream_closed_after(self, tokens: int, *, slack: int = 1) -> None:
        """Assert the client closed the last event stream early, after about ``tokens`` tokens.

        The server notices a closed connection on its next write, so up to ``slack`` more
        tokens may have been written. Needs a paced server (``token_interval > 0``).
        """
        __tracebackhide__ = True  # pytest shows the caller's line, not ours
        stream = self._last_stream()
        written = stream.tokens_written
        if not stream.client_disconnected or stream.final_written:
            raise AssertionError(
                f"the client did not close the stream early: it read to the end "
                f"({written} tokens, final event written: {stream.final_written})"
            )
        if not tokens <= written <= tokens + slack:
            raise AssertionError(
                f"the client closed the stream after {written} tokens were written, "
                f"expected {tokens} (up to {tokens + slack})"
            )

    def problems(self, *, include_unmatched: bool = True) -> list[str]:
        """What went wrong on the server side: handler errors, and requests no route matched."""
        found = list(self._context.handler_errors)
        if include_unmatched:
            found += [
                f"no route matched {call.method} {call.path} (answered {call.status})"
                for call in self.journal.unmatched()
            ]
            dropped = self.journal.dropped_unmatched
            if dropped:  # the journal's limit dropped them, but they were misses all the same
                found.append(
                    f"no route matched {dropped} more request(s), dropped from the journal by "
                    f"its limit ({self.journal.limit}; journal_limit=0 keeps them all)"
                )
        return found

    def __repr__(self) -> str:
        where = self._url if self._runner is not None else "not running"
        return f"<MockServer {where}>"


def _no_chats_left(chats: list[Chat]) -> None:
    """Raise AssertionError listing ``chats``, if there are any."""
    __tracebackhide__ = True  # pytest shows the caller's line, not ours
    if chats:
        listed = "\n".join(f"  {chat.id} title={chat.title!r}" for chat in chats)
        raise AssertionError(f"{len(chats)} chat(s) left on the server:\n{listed}")
