"""``MockServer``: start the app on a loopback port, use it, stop it (an async context manager)."""

from __future__ import annotations

from types import TracebackType

from aiohttp import web

from ._app import context_of, create_app
from ._config import ServerConfig
from ._exceptions import MockServerError
from ._journal import Journal
from ._state import Chat

__all__ = ["MockServer"]


class MockServer:
    """A running mock server::

        async with MockServer(ServerConfig(token_interval=0.0)) as server:
            server.url          # "http://127.0.0.1:54321"
            server.journal.calls, server.chats(), server.reset()

    It binds ``config.host`` (127.0.0.1 by default) on ``config.port`` (0: a free port).
    """

    def __init__(self, config: ServerConfig | None = None) -> None:
        self.config = config if config is not None else ServerConfig()
        self.app = create_app(self.config)
        self._context = context_of(self.app)
        self._runner: web.AppRunner | None = None
        self._url: str | None = None

    async def start(self) -> MockServer:
        """Bind and start serving.

        Raises:
            MockServerError: already started, or the address cannot be bound.
        """
        if self._runner is not None:
            raise MockServerError("this MockServer is already running; start it once")
        runner = web.AppRunner(
            self.app, shutdown_timeout=self.config.shutdown_timeout, access_log=None
        )
        await runner.setup()
        site = web.TCPSite(runner, self.config.host, self.config.port)
        try:
            await site.start()
        except OSError as error:
            await runner.cleanup()
            raise MockServerError(
                f"cannot listen on {self.config.host}:{self.config.port} ({error.strerror}); "
                "choose another host or port (port 0 picks a free one)"
            ) from error
        self._runner = runner
        host, port = runner.addresses[0][:2]
        shown = f"[{host}]" if ":" in host else host
        self._url = f"http://{shown}:{port}"
        return self

    async def stop(self) -> None:
        """End open streams and stop serving. Safe to call twice."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> MockServer:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

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
    def journal(self) -> Journal:
        """Every request received so far (secrets redacted)."""
        return self._context.journal

    def chats(self) -> list[Chat]:
        """A snapshot of the live chats of all users, oldest first."""
        return self._context.store.chats()

    def reset(self) -> None:
        """Empty the store (ending open streams), the journal and the recorded handler errors."""
        self._context.reset()

    def problems(self, *, include_unmatched: bool = True) -> list[str]:
        """What went wrong on the server side: handler errors, and requests no route matched."""
        found = list(self._context.handler_errors)
        if include_unmatched:
            found += [
                f"no route matched {call.method} {call.path} (answered {call.status})"
                for call in self.journal.calls
                if not call.matched
            ]
        return found

    def __repr__(self) -> str:
        where = self._url if self._runner is not None else "not running"
        return f"<MockServer {where}>"
