"""What every handler of one server shares: settings, store, workers, tokens, journal."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

from ._auth import TokenAuthority
from ._config import ServerConfig
from ._generation import Engine
from ._journal import Journal
from ._state import ChatStore

__all__ = ["CONTEXT", "ServerContext"]


@dataclass
class ServerContext:
    """The state of one running app (one per :func:`create_app`)."""

    config: ServerConfig
    store: ChatStore
    engine: Engine
    auth: TokenAuthority
    journal: Journal
    #: Tracebacks of handler errors (our own 500s): each one is a bug of the mock server.
    handler_errors: list[str] = field(default_factory=list)

    @classmethod
    def new(cls, config: ServerConfig) -> ServerContext:
        """Fresh, empty state for ``config``."""
        store = ChatStore()
        return cls(
            config=config,
            store=store,
            engine=Engine(config, store),
            auth=TokenAuthority(),
            journal=Journal(),
        )

    def reset(self) -> None:
        """Empty the store, the workers, the journal and the error list."""
        self.engine.reset()
        self.store.reset()
        self.journal.clear()
        self.handler_errors.clear()


CONTEXT = web.AppKey("oa_mockserver.context", ServerContext)
