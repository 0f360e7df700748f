"""``ServedApp``: an aiohttp app on a host and port, started and stopped as an async context
manager; the base of :class:`MockServer` and :class:`RecordingProxy` (a leaf module: it imports
nothing of the package but its exceptions, so both ``_server`` and ``recording`` may use it)."""

from __future__ import annotations

import abc
from types import TracebackType
from typing import Any, TypeVar

from aiohttp import web

from ._exceptions import MockServerError

__all__ = ["ServedApp"]

_S = TypeVar("_S", bound="ServedApp")


class ServedApp(abc.ABC):
    """An aiohttp app served on a host and port, used as an async context manager: what the
    mock server and the recording proxy share (``async with``: :meth:`start`, then
    :meth:`stop`)."""

    _runner: web.AppRunner | None = None

    @abc.abstractmethod
    async def start(self) -> object:
        """Bind and start serving (see the subclass)."""

    async def stop(self) -> None:
        """End open streams and stop serving. Safe to call twice."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _serve(self, app: web.Application, host: str, port: int, **options: Any) -> str:
        """Serve ``app`` on ``host:port`` (port 0: a free one); the base URL it answers at.

        Raises:
            MockServerError: already serving.
            OSError: the address cannot be bound (nothing is left running, as after any
                failure or cancellation here).
        """
        if self._runner is not None:
            raise MockServerError(f"this {type(self).__name__} is already running; start it once")
        runner = web.AppRunner(app, access_log=None, **options)
        try:
            await runner.setup()
            await web.TCPSite(runner, host, port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        bound_host, bound_port = runner.addresses[0][:2]  # the real port when port is 0
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        return f"http://{shown}:{bound_port}"

    async def __aenter__(self: _S) -> _S:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
