"""The Redis side of one server process: the client, the store, the message queues, and what
every process must agree on (the bearer tokens' key).

Only imported when :attr:`ServerConfig.store` names a Redis URL, so the default server never
imports ``redis`` (the ``[redis]`` extra).
"""

from __future__ import annotations

import os
from typing import cast

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from .._control.faults import parse_fault_header
from .._exceptions import ConfigError
from .config import ServerConfig
from .generation import Engine
from .redis_control import SharedFaults, SharedJournal
from .redis_pool import SharedEngine, WorkerPool
from .redis_store import RedisStore
from .redis_stream import LEASE_MS, MessageQueues
from .state import ChatStore

__all__ = ["RedisBackend"]

#: Connections of one process for requests, and for streams following a running reply.
_CONNECTIONS = 32
_READERS = 100_000

#: The key of the secret every process seals and reads bearer tokens with.
_AUTH_SECRET = "mock:auth_secret"


class RedisBackend:
    """One process's connection to the shared state."""

    def __init__(self, config: ServerConfig) -> None:
        url = config.store or ""
        # Bytes in and out: token chunks are bytes, and decoding every reply costs for nothing.
        # Requests share a bounded pool and wait for a free connection (Redis runs one command
        # at a time: more connections add no throughput); a stream that follows a running reply
        # blocks in XREAD on a connection of its own, from a second pool, bounded only by the
        # open streams.
        # (from_pool: the client owns its pool, and closing it disconnects every connection)
        self.client = aioredis.Redis.from_pool(
            aioredis.BlockingConnectionPool.from_url(
                url, max_connections=_CONNECTIONS, timeout=None
            )
        )
        self.readers = aioredis.Redis.from_pool(
            aioredis.ConnectionPool.from_url(url, max_connections=_READERS)
        )
        self.store = RedisStore(self.client)
        self.queues = MessageQueues(self.client, self.readers, self.store)
        self.faults = SharedFaults(self.client, config.seed)
        self.journal = SharedJournal(
            self.client, config.journal_limit, body_limit=config.journal_body_limit
        )
        #: The worker pool shared by every process (``--workers N`` in all of them).
        self.pool = WorkerPool(self.client, LEASE_MS)
        self._config = config
        self._startup_rules = [rule for spec in config.faults for rule in parse_fault_header(spec)]

    def engine(self, store: ChatStore) -> Engine:
        """This process's engine: with ``workers`` set, one whose workers are the shared pool's;
        without (a worker for every message, nothing ever waits) the in-memory engine."""
        if self._config.workers is None:
            return Engine(self._config, store)
        return SharedEngine(self._config, store, self.pool)

    async def auth_secret(self) -> bytes:
        """The shared token key: made by the first process (``SET NX``), read by the others.

        Raises:
            ConfigError: Redis cannot be reached at the URL.
        """
        try:
            await self.client.set(_AUTH_SECRET, os.urandom(32), nx=True)
            secret = cast("bytes | None", await self.client.get(_AUTH_SECRET))
        except (RedisError, OSError) as error:
            raise ConfigError(
                f"store: cannot reach Redis ({type(error).__name__}: {error}); start "
                "redis-server or correct the --store URL"
            ) from error
        self.store.round_trips += 2
        if secret is None:  # flushed between the two calls: use ours next time round
            raise ConfigError("store: the Redis database was flushed while the server started")
        return secret

    async def start(self) -> None:
        """Follow the shared fault rules, and with a worker limit the freed slots, from now on."""
        await self.faults.start(self._startup_rules)
        if self._config.workers is not None:
            await self.pool.start()

    async def clear(self) -> None:
        """Empty the shared chats, streams and journal; back to the startup fault rules."""
        await self.store.reset()
        await self.journal.clear_shared()
        await self.faults.reset(self._startup_rules)

    @property
    def round_trips(self) -> int:
        """Redis round trips made by this process so far (a script or a pipeline counts one)."""
        return (
            self.store.round_trips
            + self.faults.round_trips
            + self.journal.round_trips
            + self.pool.round_trips
        )

    async def close(self) -> None:
        """End followers (they write the end of stopped replies), then disconnect."""
        await self.queues.close()
        await self.journal.stop()
        await self.faults.stop()
        await self.pool.stop()
        await self.readers.aclose()
        await self.client.aclose()
