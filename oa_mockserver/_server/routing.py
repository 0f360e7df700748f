"""Route registration that the route modules share: a table that wraps each handler."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from aiohttp import web
from aiohttp.typedefs import Handler

__all__ = ["RouteTable", "Wrap", "WrappedRoutes"]


class RouteTable(Protocol):
    """What the route modules use of aiohttp's router (so a wrapping table can stand in)."""

    def add_route(self, method: str, path: str, handler: Handler) -> Any:
        """Register ``handler`` for ``method`` (``*``: any) on ``path``."""

    def add_get(self, path: str, handler: Handler) -> Any:
        """Register a GET (and HEAD) route."""

    def add_post(self, path: str, handler: Handler) -> Any:
        """Register a POST route."""

    def add_put(self, path: str, handler: Handler) -> Any:
        """Register a PUT route."""

    def add_delete(self, path: str, handler: Handler) -> Any:
        """Register a DELETE route."""


Wrap = Callable[[Handler, str, str], Handler]


class WrappedRoutes:
    """A :class:`RouteTable` that registers each handler on ``router`` as ``wrap`` returns it
    (``wrap(handler, method, path)``)."""

    def __init__(self, router: web.UrlDispatcher, wrap: Wrap) -> None:
        self._router = router
        self._wrap = wrap

    def add_route(self, method: str, path: str, handler: Handler) -> Any:
        """Register ``handler``, wrapped, for ``method`` on ``path``."""
        return self._router.add_route(method, path, self._wrap(handler, method, path))

    def add_get(self, path: str, handler: Handler) -> Any:
        """Register a wrapped GET (and HEAD) route."""
        return self._router.add_get(path, self._wrap(handler, "GET", path))

    def add_post(self, path: str, handler: Handler) -> Any:
        """Register a wrapped POST route."""
        return self.add_route("POST", path, handler)

    def add_put(self, path: str, handler: Handler) -> Any:
        """Register a wrapped PUT route."""
        return self.add_route("PUT", path, handler)

    def add_delete(self, path: str, handler: Handler) -> Any:
        """Register a wrapped DELETE route."""
        return self.add_route("DELETE", path, handler)
