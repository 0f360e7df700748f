"""What every handler of one server shares: settings, store, workers, tokens, journal."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web

from .._control.answer_log import AnswerLog
from .._control.faults import FaultSet, parse_fault_header
from .._control.journal import Journal, StreamLog
from .._control.replay_log import ReplayLog
from .auth import TokenAuthority
from .config import ServerConfig
from .generation import Engine
from .state import ChatStore
from .store import MemoryStore, Store

if TYPE_CHECKING:
    from .redis_backend import RedisBackend

__all__ = ["CONTEXT", "ServerContext"]


@dataclass
class ServerContext:
    """The state of one running app (one per :func:`create_app`)."""

    config: ServerConfig
    #: This process's chats: all of them in memory; with a Redis store, the chats of the replies
    #: this process is generating (the engine reads prompt threads here).
    store: ChatStore
    engine: Engine
    auth: TokenAuthority
    journal: Journal
    faults: FaultSet
    #: Tracebacks of handler errors (our own 500s): each one is a bug of the mock server.
    handler_errors: list[str] = field(default_factory=list)
    #: Event streams being written now (they are journaled when they end).
    open_streams: int = 0
    #: What the cassettes decided for each assistant message (servers with cassettes only).
    replay_log: ReplayLog = field(default_factory=ReplayLog)
    #: The logs of the event streams being written now, by ``id(log)``, with each request's
    #: path and query, while a dashboard page watches (None otherwise: no page, no cost).
    live_streams: dict[int, tuple[StreamLog, str]] | None = None
    #: The answers sent while a dashboard page watches (None otherwise).
    answers: AnswerLog | None = None
    #: The chats as the routes use them: :attr:`store` in memory, or the Redis store.
    chats: Store = field(init=False)
    #: The shared state when ``config.store`` names a Redis URL, else None.
    shared: RedisBackend | None = None

    def __post_init__(self) -> None:
        self.chats = MemoryStore(self.store) if self.shared is None else self.shared.store

    @classmethod
    def new(cls, config: ServerConfig) -> ServerContext:
        """Fresh, empty state for ``config`` (with a Redis store: connected when the app starts)."""
        shared: RedisBackend | None = None
        if config.store is not None:
            from .redis_backend import RedisBackend  # only then: redis is an extra

            shared = RedisBackend(config)
        store = shared.store.local if shared is not None else ChatStore()
        return cls(
            config=config,
            store=store,
            engine=Engine(config, store) if shared is None else shared.engine(store),
            auth=TokenAuthority(),
            journal=(
                Journal(config.journal_limit, body_limit=config.journal_body_limit)
                if shared is None
                else shared.journal
            ),
            faults=_startup_faults(config),
            shared=shared,
        )

    async def clear(self) -> None:
        """:meth:`reset`, and with a Redis store, the shared chats, streams, journal and faults."""
        self.reset()
        if self.shared is not None:
            await self.shared.clear()

    def reset(self) -> None:
        """Empty the store, the workers, the journal and the error list; restore the faults.

        With a Redis store this forgets what this process holds; :meth:`clear` also empties
        Redis."""
        self.engine.reset()
        self.store.reset()
        self.journal.clear()
        self.handler_errors.clear()
        self.replay_log = ReplayLog()
        self.faults = _startup_faults(self.config)


def _startup_faults(config: ServerConfig) -> FaultSet:
    """The rules of ``config.faults`` (validated by ServerConfig), on a fresh seeded RNG.

    With a Redis store they are shared instead (:mod:`.redis_control`): this process's own set
    starts empty, for rules added in Python to this process alone."""
    if config.store is not None:
        return FaultSet(seed=config.seed)
    return FaultSet(
        (rule for spec in config.faults for rule in parse_fault_header(spec)), seed=config.seed
    )


CONTEXT = web.AppKey("oa_mockserver.context", ServerContext)
