"""aiohttp responses with the reference server's exact shapes (JSON, empty, plain-text 500)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .wire import SERVER_SOFTWARE, detail_body, fastapi_json, float_free_json, web_error_body

__all__ = [
    "WEB_PREFIX",
    "dialect_error",
    "empty",
    "internal_error_text",
    "json_bytes",
    "json_detail",
    "json_fastapi",
    "json_float_free",
    "json_web_error",
    "request_content_type",
]


# with the reference's ``Server`` already: the guard sets it on any answer without it
_JSON_HEADERS = {"content-type": "application/json", "server": SERVER_SOFTWARE}


def json_bytes(body: bytes, status: int = 200) -> web.Response:
    """A JSON response from pre-encoded bytes (``content-type: application/json``, no charset)."""
    return web.Response(body=body, status=status, headers=_JSON_HEADERS)


def json_fastapi(value: Any) -> web.Response:
    """200 with a compact JSON body."""
    return json_bytes(fastapi_json(value))


def json_float_free(value: Any) -> web.Response:
    """200 with a compact JSON body of a float-free value (see :func:`.wire.float_free_json`)."""
    return json_bytes(float_free_json(value))


def json_detail(status: int, detail: Any) -> web.Response:
    """FastAPI's error response ``{"detail": ...}``."""
    return json_bytes(detail_body(detail), status)


def json_web_error(status: int, detail: Any) -> web.Response:
    """The web site's error response ``{"message": ...}``."""
    return json_bytes(web_error_body(detail), status)


#: The web site's paths (the Next.js proxy); every other chat path is the inference server's.
WEB_PREFIX = "/api/"


def dialect_error(request: web.Request, status: int, detail: Any) -> web.Response:
    """An error in the shape of the dialect the request speaks: the web site's ``{"message": ...}``
    under :data:`WEB_PREFIX`, else FastAPI's ``{"detail": ...}``."""
    if request.path.startswith(WEB_PREFIX):
        return json_web_error(status, detail)
    return json_detail(status, detail)


def empty(status: int = 200) -> web.Response:
    """A response with no body: ``content-length: 0`` and no content type (204: neither)."""
    return web.Response(status=status, body=b"" if status != 204 else None)


def internal_error_text() -> web.Response:
    """Starlette's bare 500: ``text/plain; charset=utf-8``, body ``Internal Server Error``."""
    response = web.Response(status=500, body=b"Internal Server Error")
    response.headers["content-type"] = "text/plain; charset=utf-8"
    return response


def request_content_type(request: web.Request) -> str | None:
    """The raw Content-Type header of a request, or None."""
    return request.headers.get("Content-Type")
