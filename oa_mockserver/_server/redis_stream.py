"""Each reply's token stream on Redis: written by the process that generates it, read by any.

Theory of operation. As on the real server, a reply's tokens go through a Redis queue named
``message_queue:{message id}``, here a Redis stream. The process that took the assistant message
runs its :class:`~.generation.Generation` as it would in memory; :meth:`MessageQueues.publish`
follows it and appends what is new (``XADD``, batched in one script call with the message's
state and content, so a reader that sees the final event also finds the message complete).
An events request on any process reads the stream from its first entry into a local mirror
:class:`Generation` (``XRANGE``, then ``XREAD BLOCK`` while the reply runs) and hands that to
the ordinary SSE writer (:func:`~.stream.stream_events`): pings, pending events, faults and the
journal's stream log are the in-memory server's. On the process that generates the reply the
local generation itself is streamed, as in memory.

The entries, one field each: ``s`` (start; ``1`` for a generated reply, ``0`` for a replayed
one), ``p`` (``position,size`` in the worker queue, shared by every process with ``workers``
set (:mod:`.redis_pool`), while the message waits: the ``pending`` events of every process show
it), ``t`` (one pre-encoded chunk), ``f`` (the final
chunk), ``x`` (ended without a final event: the chat was deleted, or the generating process
stopped).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, cast

import msgspec
import redis.asyncio as aioredis
from aiohttp import web
from redis.exceptions import RedisError

from .generation import Engine, Generation
from .redis_pool import QUEUE_KEY, SLOTS_KEY, SharedEngine
from .redis_store import RedisStore, chat_key, queue_key
from .state import Message
from .stream import stream_events

if TYPE_CHECKING:
    from .context import ServerContext

__all__ = ["LEASE_MS", "MessageQueues", "lease_key"]

log = logging.getLogger("oa_mockserver.redis")

# Append entries to a message's queue and set its state and content, if its chat still exists;
# renew the reply's lease (its generating process is alive), or drop it once the reply is over,
# and with it the reply's worker slot (announced on the channel of the slots' key: waiting
# messages take it at once) or place in the shared worker queue (:mod:`.redis_pool`; also when
# the chat is gone: the reply stops). KEYS: the chat hash, the queue, the lease, the
# worker slots, the worker queue; ARGV: message id, state, content (JSON), lease in ms (0: the
# reply is over), then kind/data pairs.
_FEED = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[3])
  if redis.call('SREM', KEYS[4], ARGV[1]) == 1 then redis.call('PUBLISH', KEYS[4], '') end
  redis.call('ZREM', KEYS[5], ARGV[1])
  return 0
end
redis.call('HSET', KEYS[1], 's:' .. ARGV[1], ARGV[2], 'c:' .. ARGV[1], ARGV[3])
redis.call('HINCRBY', KEYS[1], 'v', 1)
for i = 5, #ARGV, 2 do redis.call('XADD', KEYS[2], '*', ARGV[i], ARGV[i + 1]) end
if ARGV[4] == '0' then
  redis.call('DEL', KEYS[3])
  if redis.call('SREM', KEYS[4], ARGV[1]) == 1 then redis.call('PUBLISH', KEYS[4], '') end
  redis.call('ZREM', KEYS[5], ARGV[1])
else redis.call('SET', KEYS[3], '1', 'PX', ARGV[4]) end
return 1
"""

# Mark a message's final event delivered, if its chat still exists (never recreate a hash).
_DELIVERED = """
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], ARGV[1], '1') end
return 1
"""

#: While a reply has no token yet, how often its state is re-published (pending -> in_progress
#: changes without waking the generation's waiters).
_STATE_POLL = 0.05
#: Longest block of one XREAD (ms); between two, a reader checks the reply's lease.
_BLOCK_MS = 1000
#: A running reply's lease (ms), renewed at least every second by its generating process: a
#: process that dies (SIGKILL) stops renewing, and streams of its replies on other processes end
#: (without a final event, as its own streams did) instead of waiting forever.
LEASE_MS = 5000


def lease_key(message_id: str) -> str:
    """The key that exists while the process generating a reply is alive."""
    return f"message_lease:{message_id}"


def _apply(mirror: _Mirror, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> bool:
    """Add stream entries to ``mirror``; True once it has its final event or its end."""
    for _entry_id, fields in entries:
        for kind, data in fields.items():
            if kind == b"t":
                mirror.chunks.append(data)
            elif kind == b"f":
                mirror.final = data
            elif kind == b"x":
                mirror.ended = True
            elif kind == b"p":
                position, _, size = data.partition(b",")
                mirror.position = (int(position), int(size))
            elif kind == b"s":
                mirror.generated = data == b"1"
    mirror.wake()
    return mirror.final is not None or mirror.ended


_DELIVERED_SLOT: Any = Generation.__dict__["delivered"]


class _Mirror(Generation):
    """Another process's reply, read from its queue: setting :attr:`delivered` (the writer does,
    right after the final event) starts marking it delivered on Redis at once."""

    __slots__ = ("marking", "on_delivered", "position")

    def __init__(self, message: Message) -> None:
        self.on_delivered: Callable[[], Coroutine[Any, Any, None]] | None = None
        self.marking: asyncio.Task[None] | None = None
        #: ``(position, size)`` in the worker queue, as the generating process last published it.
        self.position = (0, 0)
        super().__init__(message)

    @property
    def delivered(self) -> bool:
        value: bool = _DELIVERED_SLOT.__get__(self, Generation)
        return value

    @delivered.setter
    def delivered(self, value: bool) -> None:
        _DELIVERED_SLOT.__set__(self, value)
        if value and self.on_delivered is not None and self.marking is None:
            self.marking = asyncio.get_running_loop().create_task(self.on_delivered())


class _EngineView:
    """The engine as a stream of another process's reply sees it: the queue position is the
    one that process published; everything else is this process's engine."""

    def __init__(self, engine: Engine, mirror: _Mirror) -> None:
        self._engine = engine
        self._mirror = mirror

    def queue_position(self, generation: Generation) -> tuple[int, int]:
        return self._mirror.position

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)


class MessageQueues:
    """Publishes this process's replies into Redis and streams any process's replies."""

    def __init__(self, client: aioredis.Redis, readers: aioredis.Redis, store: RedisStore) -> None:
        self.client = client
        self.readers = readers
        self.store = store
        self._feed = client.register_script(_FEED)
        self._delivered = client.register_script(_DELIVERED)
        self._followers: set[asyncio.Task[None]] = set()

    # -- the writing side -----------------------------------------------------------------------

    async def publish(self, engine: Engine, generation: Generation) -> None:
        """Write what ``generation`` has so far (awaited: the queue exists before the answer),
        then follow it in the background until its final event or its end.

        With a shared worker pool the message first enters the shared queue (and starts if it
        gets a slot): one more round trip."""
        if isinstance(engine, SharedEngine):
            await engine.admit(generation)
        flushed = await self._flush(engine, generation, 0, first=True)
        if flushed is None or flushed[1]:
            self._done(engine, generation)
            return
        sent = flushed[0]
        task = asyncio.get_running_loop().create_task(self._follow(engine, generation, sent))
        self._followers.add(task)
        task.add_done_callback(self._followers.discard)

    @staticmethod
    def _over(generation: Generation) -> bool:
        return generation.final is not None or generation.ended

    async def _follow(self, engine: Engine, generation: Generation, sent: int) -> None:
        message = generation.message
        state = message.state
        position = engine.queue_position(generation)
        loop = asyncio.get_running_loop()
        checked = loop.time()
        try:
            while True:
                now = engine.queue_position(generation) if not generation.chunks else position
                unchanged = (
                    len(generation.chunks) == sent and message.state == state and now == position
                )
                # a message that waits (a busy pool, an unserved model) is checked now and then:
                # its chat may have been deleted on another process; and at least once a
                # second the reply's lease is renewed by the flush below
                if unchanged and not self._over(generation) and loop.time() - checked < 1.0:
                    timeout = _STATE_POLL if not generation.chunks else 1.0
                    await asyncio.wait((generation.wait(),), timeout=timeout)
                    continue
                state, position = message.state, now
                checked = loop.time()
                flushed = await self._flush(engine, generation, sent, first=False)
                # over only once the end is written: the reply may have ended (its last token
                # due, or started and finished unpaced by the shared worker pool) while the
                # flush was on its way, and that end must still go out
                if flushed is None or flushed[1]:
                    return
                sent = flushed[0]
        except (RedisError, OSError) as error:
            # Redis gone: the reply goes on here for this process's streams; the others' end
            # when its lease, no longer renewed, runs out
            log.warning("a reply is no longer written to Redis: %s", error)
        finally:
            self._done(engine, generation)

    def _done(self, engine: Engine, generation: Generation) -> None:
        """All of the reply is on Redis (or its chat is gone): this process lets go of it.

        Why: the chat may be deleted on another process, and this one would never hear of it;
        streams of the reply, here too, now read it from Redis.
        """
        message = generation.message
        if message.finished or generation.ended:
            engine.cancel([message.id])
        self.store.forget(message.chat_id)

    async def _flush(
        self, engine: Engine, generation: Generation, sent: int, *, first: bool
    ) -> tuple[int, bool] | None:
        """Append the chunks from ``sent`` on (and the end, if reached); the new count and
        whether the end was written, or None when the chat is gone (the reply is then stopped
        here too)."""
        message = generation.message
        chunks = generation.chunks
        count = len(chunks)
        over = generation.final is not None or generation.ended
        args: list[Any] = [
            message.id,
            message.state,
            msgspec.json.encode(message.content),
            0 if over else LEASE_MS,
        ]
        if first:
            args += (b"s", b"1" if generation.generated else b"0")
        if not chunks and not over:
            # where it waits in the worker queue: streams on other processes show it
            args += (b"p", "{},{}".format(*engine.queue_position(generation)).encode())
        for chunk in chunks[sent:count]:
            args += (b"t", chunk)
        if generation.final is not None:
            args += (b"f", generation.final)
        elif generation.ended:
            args += (b"x", b"")
        self.store.round_trips += 1
        keys = [
            chat_key(message.chat_id), queue_key(message.id), lease_key(message.id),
            SLOTS_KEY, QUEUE_KEY,
        ]  # fmt: skip
        written = await self._feed(keys=keys, args=args)
        if not written:
            engine.cancel([message.id])  # deleted on another process: stop generating it
            return None
        return count, over

    async def close(self, timeout: float = 1.0) -> None:
        """Let followers write the end of replies stopped by the shutdown, then stop them."""
        if self._followers:
            _, pending = await asyncio.wait(set(self._followers), timeout=timeout)
            for task in pending:
                task.cancel()

    # -- the reading side -----------------------------------------------------------------------

    async def open(
        self, request: web.Request, message: Message, ctx: ServerContext
    ) -> web.StreamResponse | None:
        """Stream a message's events from this process's generation or from Redis; None when
        there is nothing to stream (as :func:`~.routes.common.open_stream`)."""
        engine = ctx.engine
        local = engine.generation(message.id)
        key = chat_key(message.chat_id)
        delivered_field = b"d:" + message.id.encode()
        pipe = self.client.pipeline(transaction=False)
        pipe.hexists(key, delivered_field)
        if local is None:
            pipe.xrange(queue_key(message.id))
        self.store.round_trips += 1
        replies = await pipe.execute()
        delivered = bool(replies[0])
        if message.finished and delivered:
            return None
        if local is not None:
            if local.ended or (message.finished and local.delivered):
                return None
            response = await stream_events(request, local, engine, ctx.config)
            if local.delivered:
                await self._mark_delivered(key, delivered_field)
            return response
        entries = replies[1]
        if not entries:
            return None  # no reply under way for this message (any more)
        mirror = _Mirror(message)
        mirror.on_delivered = lambda: self._mark_delivered(key, delivered_field)
        done = _apply(mirror, entries)
        if mirror.ended:
            return None
        feeder = None
        if not done:
            feeder = asyncio.get_running_loop().create_task(
                self._read(mirror, message.id, entries[-1][0])
            )
        try:
            view = cast(Engine, _EngineView(engine, mirror))
            response = await stream_events(request, mirror, view, ctx.config)
        finally:
            if feeder is not None:
                feeder.cancel()
        if mirror.delivered:
            # marked when the writer set it, before the end of the response went out: a client
            # that then asks another process must find it (as in memory, where it is set there)
            await asyncio.shield(mirror.marking or self._mark_delivered(key, delivered_field))
        return response

    async def _read(self, mirror: _Mirror, message_id: str, last: bytes) -> None:
        """Follow the queue from entry ``last`` to the reply's end (cancelled with its stream).

        Redis gone (an error, not a cancel): the stream ends as its generating process's would
        have, without a final event, instead of waiting for entries that cannot come.
        """
        try:
            await self._follow_queue(mirror, message_id, last)
        except (RedisError, OSError) as error:
            log.warning("a reply's stream from Redis broke off: %s", error)
            mirror.end()

    async def _follow_queue(self, mirror: _Mirror, message_id: str, last: bytes) -> None:
        queue = queue_key(message_id)
        while True:
            self.store.round_trips += 1
            reply: Any = await self.readers.xread({queue: last}, count=1000, block=_BLOCK_MS)
            for _name, entries in reply or ():
                last = entries[-1][0]
                if _apply(mirror, entries):
                    return
            if not reply:
                self.store.round_trips += 1
                if not await self.readers.exists(lease_key(message_id)):
                    # its process died: nothing more will come (a last look for the end first)
                    tail: Any = await self.readers.xread({queue: last}, count=1000)
                    for _name, entries in tail or ():
                        if _apply(mirror, entries):
                            return
                    mirror.end()
                    return

    async def _mark_delivered(self, key: str, field: bytes) -> None:
        self.store.round_trips += 1
        await self._delivered(keys=[key], args=[field])
