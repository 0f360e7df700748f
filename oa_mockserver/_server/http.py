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
from types import MappingProxyType
from typing import Any

from aiohttp.http_exceptions import HttpProcessingError

__all__ = ["HTTP_LOG", "PROXY_OPTIONS", "SERVER_OPTIONS", "ClientErrorFilter"]

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
