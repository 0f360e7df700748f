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

from .._exceptions import ConfigError
from .redis_store import RedisStore
from .redis_stream import MessageQueues

__all__ = ["RedisBackend"]

#: The key of the secret every process seals and reads bearer tokens with.
_AUTH_SECRET = "mock:auth_secret"


class RedisBackend:
    """One process's connection to the shared state."""

    def __init__(self, url: str) -> None:
        # bytes in and out: token chunks are bytes, and decoding every reply costs for nothing
        self.client = aioredis.Redis.from_url(url, decode_responses=False)
        self.store = RedisStore(self.client)
        self.queues = MessageQueues(self.client, self.store)

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

    async def close(self) -> None:
        """End followers (they write the end of stopped replies), then disconnect."""
        await self.queues.close()
        await self.client.aclose()
