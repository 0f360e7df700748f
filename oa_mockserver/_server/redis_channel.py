"""A Redis pub/sub channel followed in the background: every message calls back; a Redis that
goes away only stops the following (logged), it never fails the server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

__all__ = ["Channel"]

log = logging.getLogger("oa_mockserver.redis")


class Channel:
    """Subscribe first (:meth:`subscribe`: no message can fall between it and what the caller
    reads next), then :meth:`follow`; :meth:`stop` within a bound."""

    def __init__(
        self,
        client: aioredis.Redis,
        name: str,
        on_message: Callable[[], Awaitable[None]],
        lost: str,
    ) -> None:
        self._client = client
        self._name = name
        self._on_message = on_message
        self._lost = lost  # the warning when Redis goes away, with ``%s`` for the error
        self._pubsub: Any = None
        self._listener: asyncio.Task[None] | None = None

    async def subscribe(self) -> None:
        """Subscribe to the channel (one connection of its own)."""
        self._pubsub = self._client.pubsub()
        await self._pubsub.subscribe(self._name)

    def follow(self) -> None:
        """Call back on every message from now on, in a background task."""
        self._listener = asyncio.get_running_loop().create_task(self._listen(self._pubsub))

    async def _listen(self, pubsub: Any) -> None:
        try:
            async for item in pubsub.listen():
                if item.get("type") == "message":
                    await self._on_message()
        except (RedisError, OSError) as error:
            log.warning(self._lost, error)
        finally:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()

    async def stop(self) -> None:
        """Stop following (waited for within a bound, never bare: a stop must not hang on it)."""
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.wait({self._listener}, timeout=1.0)
