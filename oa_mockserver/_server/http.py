"""The HTTP layer's settings, shared by every way of running the mock server (and the proxy).

Two differences from aiohttp's defaults, both to behave as the reference server does:

* Request bodies are not decoded by their ``Content-Encoding``. uvicorn and Starlette hand the
  app the bytes as sent, so a gzip body reaches FastAPI's JSON parsing as gzip (400 ``There was
  an error parsing the body``). aiohttp would inflate it, and a body that is not valid gzip broke
  the read: a 500 named as a mock bug, an ERROR traceback, the connection dropped.
* A request aiohttp cannot parse (a malformed request line, a bad header, broken chunked framing)
  is answered 400 by aiohttp and logged, on :data:`HTTP_LOG`, as one WARNING line naming the
  client and the kind of error, instead of aiohttp's ERROR with a traceback. The client's bytes
  are not shown (a request line may carry a token in its query). A real failure of the server
  keeps its ERROR and traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import MappingProxyType, TracebackType
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

__all__ = ["HTTP_LOG", "PROXY_OPTIONS", "SERVER_OPTIONS", "ClientErrorFilter", "ServedApp"]

_S = TypeVar("_S", bound="ServedApp")

#: The logger aiohttp's request handler uses for the mock server's connections.
HTTP_LOG = logging.getLogger("oa_mockserver.http")


class ClientErrorFilter(logging.Filter):
    """Turns aiohttp's record of a request it could not parse into one line, WARNING at most.

    aiohttp logs these with ``logger.exception`` (ERROR and a traceback), though the fault is
    the client's and aiohttp has already answered it 400. Records of any other error pass as
    they are.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            remote = record.args[0] if isinstance(record.args, tuple) and record.args else None
            record.msg = "malformed request from %s (%s): answered %s and closed the connection"
            record.args = (remote or "an unknown client", type(error).__name__, error.code or 400)
            record.exc_info = None
            record.exc_text = None
            if record.levelno > logging.WARNING:
                record.levelno = logging.WARNING
                record.levelname = logging.getLevelName(logging.WARNING)
        return True


HTTP_LOG.addFilter(ClientErrorFilter())

#: Keyword arguments for ``web.AppRunner`` / ``web.run_app`` of the mock server.
SERVER_OPTIONS: Mapping[str, Any] = MappingProxyType({"auto_decompress": False, "logger": HTTP_LOG})
#: The same for the recording proxy, which keeps aiohttp's decoding of request bodies.
PROXY_OPTIONS: Mapping[str, Any] = MappingProxyType({"logger": HTTP_LOG})


class ServedApp:
    """An aiohttp app served on a host and port, used as an async context manager: what the
    mock server and the recording proxy share (``async with``: :meth:`start`, then
    :meth:`stop`)."""

    _runner: web.AppRunner | None = None

    async def start(self) -> object:
        """Bind and start serving (see the subclass)."""
        raise NotImplementedError

    async def stop(self) -> None:
        """End open streams and stop serving. Safe to call twice."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _serve(self, app: web.Application, host: str, port: int, **options: Any) -> str:
        """Serve ``app`` on ``host:port`` (port 0: a free one); the base URL it answers at.

        Raises:
            OSError: the address cannot be bound (nothing is left running).
        """
        runner = web.AppRunner(app, access_log=None, **options)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError:
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
