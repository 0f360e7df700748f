"""One pool of simulated workers for every process on a Redis store (``--workers N`` in all).

Theory of operation. In memory the :class:`~.generation.Engine` keeps a queue of waiting messages
and a count of busy workers. On Redis both are shared: ``worker_queue`` is a sorted set of the
waiting message ids in arrival order (scored by ``worker_seq``, a counter), ``worker_slots`` the
set of message ids holding a worker. Both change only inside one Lua script (:data:`_ADMIT`), so
two processes never hand out the same slot. A process starts generating a message only once the
script granted it a slot; :class:`SharedEngine` is the engine with that one rule changed.

A message enters the queue when it is posted (one script call, the only round trip this adds to
a conversation). While this process has messages waiting, one task calls the script for all of
them whenever a slot is freed on any process (the freeing script publishes on the channel named
like the slots' key) and at least every ``pending_interval`` (at most every :data:`_POLL` s): it
grants the slots that came free, in arrival order whichever process holds the message, and
returns every message's place (``ZRANK + 1`` of ``ZCARD``), which the ``pending`` events show
here and, through the reply's queue (:mod:`.redis_stream`), on every other process.

A slot is freed by the last write of its reply (the ``_FEED`` script of :mod:`.redis_stream`
removes the id when the reply's lease is dropped), and a slot or place whose reply lease lapsed
(its process died: nobody renews the 5 s lease) is freed by the next script call of any process
(the timed look finds it: no message announces a death).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from .config import ServerConfig
from .generation import Engine, Generation
from .redis_channel import Channel
from .state import ChatStore

__all__ = ["QUEUE_KEY", "SLOTS_KEY", "SharedEngine", "WorkerPool"]

log = logging.getLogger("oa_mockserver.redis")

#: The shared queue (a sorted set of waiting message ids) and the busy slots (a set of ids).
QUEUE_KEY = "worker_queue"
SLOTS_KEY = "worker_slots"
_SEQ_KEY = "worker_seq"
#: Longest wait between two looks at the shared pool while a message of this process waits.
_POLL = 0.1

# Free the slots and places of replies whose lease lapsed (the places: all of them on a timed
# look, ARGV[3] = '2', else only at the head of the queue, where they would hold up a grant: a
# call per freed slot stays small); enter new ids (ARGV[3] = '1': each with the lease given, so
# that a process dying at once frees them too); grant the free slots to the first waiting ids,
# if they are this call's. KEYS: queue, slots, counter; ARGV: limit, lease in ms, mode, then
# message ids. Returns the queue's size, then for each id: 0 (it holds a slot now), its 1-based
# place in the queue, or -1 (not waiting: gone from the queue).
_ADMIT = """
for _, id in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if redis.call('EXISTS', 'message_lease:' .. id) == 0 then redis.call('SREM', KEYS[2], id) end
end
if ARGV[3] == '2' then
  for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
    if redis.call('EXISTS', 'message_lease:' .. id) == 0 then redis.call('ZREM', KEYS[1], id) end
  end
else
  while true do
    local head = redis.call('ZRANGE', KEYS[1], 0, 0)[1]
    if not head or redis.call('EXISTS', 'message_lease:' .. head) == 1 then break end
    redis.call('ZREM', KEYS[1], head)
  end
end
local mine = {}
for i = 4, #ARGV do
  mine[ARGV[i]] = true
  if ARGV[3] == '1' then
    redis.call('SET', 'message_lease:' .. ARGV[i], '1', 'PX', ARGV[2])
    redis.call('ZADD', KEYS[1], 'NX', redis.call('INCR', KEYS[3]), ARGV[i])
  end
end
local granted = {}
local free = tonumber(ARGV[1]) - redis.call('SCARD', KEYS[2])
if free > 0 then
  for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, free - 1)) do
    if mine[id] then
      redis.call('ZREM', KEYS[1], id)
      redis.call('SADD', KEYS[2], id)
      granted[id] = true
    end
  end
end
local out = {redis.call('ZCARD', KEYS[1])}
for i = 4, #ARGV do
  if granted[ARGV[i]] then out[#out + 1] = 0
  else
    local rank = redis.call('ZRANK', KEYS[1], ARGV[i])
    if rank then out[#out + 1] = rank + 1 else out[#out + 1] = -1 end
  end
end
return out
"""


class WorkerPool:
    """The shared queue and slots on Redis: one script call enters, polls and grants."""

    def __init__(self, client: aioredis.Redis, lease_ms: int) -> None:
        self._client = client
        self._admit = client.register_script(_ADMIT)
        self._lease_ms = lease_ms
        #: Redis round trips made by the pool (one per script call).
        self.round_trips = 0
        #: Called whenever a slot is freed on any process (set by :class:`SharedEngine`).
        self.on_freed: Callable[[], None] | None = None
        self._freed = Channel(
            client, SLOTS_KEY, self._slot_freed, "worker pool: no longer hears of freed slots: %s"
        )

    async def start(self) -> None:
        """Hear of every freed slot from now on (one subscribed connection)."""
        await self._freed.subscribe()
        self._freed.follow()

    async def _slot_freed(self) -> None:
        if self.on_freed is not None:
            self.on_freed()

    async def stop(self) -> None:
        """Stop listening (within a bound: a stop must not hang on Redis)."""
        await self._freed.stop()

    async def admit(
        self, message_ids: list[str], limit: int, *, enter: bool, look: bool = False
    ) -> tuple[int, list[int]]:
        """``(queue size, [0 granted | place | -1 gone, ...])`` for ``message_ids``, entering
        them at the end of the queue first when ``enter``; ``look``: a timed look, which also
        frees the places of lapsed leases in the whole queue."""
        self.round_trips += 1
        mode = "1" if enter else "2" if look else "0"
        reply: Any = await self._admit(
            keys=[QUEUE_KEY, SLOTS_KEY, _SEQ_KEY],
            args=[limit, self._lease_ms, mode, *message_ids],
        )
        return int(reply[0]), [int(place) for place in reply[1:]]


class SharedEngine(Engine):
    """The engine whose workers are the shared pool's: a message starts once it holds a slot.

    Everything else (pacing, replays, unserved models, which wait forever here as in memory) is
    the in-memory engine's.
    """

    def __init__(self, config: ServerConfig, store: ChatStore, pool: WorkerPool) -> None:
        super().__init__(config, store)
        self.pool = pool
        self._granted: set[str] = set()  # holding a slot, not started yet
        self._places: dict[str, tuple[int, int]] = {}  # place and size, as Redis last said
        self._poller: asyncio.Task[None] | None = None
        self._freed = asyncio.Event()  # a slot was freed somewhere: look again now
        pool.on_freed = self._freed.set

    def queue_position(self, generation: Generation) -> tuple[int, int]:
        """``(position, size)`` in the shared queue (as last polled); ``(0, 0)`` once it runs."""
        # a lookup, not a scan of the queue: every waiting reply's follower asks 20 times a second
        place = self._places.get(generation.message.id)
        return place if place is not None else super().queue_position(generation)

    def _pump(self) -> None:
        # only messages that hold a shared slot start: the limit is Redis's, not this process's
        if self.closing or not self._granted:
            return
        for generation in [g for g in self._queue if g.message.id in self._granted]:
            self._queue.remove(generation)
            self._granted.discard(generation.message.id)
            self._start(generation)

    async def admit(self, generation: Generation) -> None:
        """Enter a newly submitted message in the shared queue; it starts if it gets a slot,
        else it waits and this process polls the pool until it gets one."""
        if generation not in self._queue:
            return  # a replay, or a model no worker serves: no slot
        await self._settle([generation.message.id], enter=True)
        if self._queue and self._poller is None and not self.closing:
            self._poller = asyncio.get_running_loop().create_task(self._poll())

    async def _settle(self, message_ids: list[str], *, enter: bool, look: bool = False) -> None:
        assert self.config.workers is not None  # a SharedEngine only serves a bounded pool
        size, places = await self.pool.admit(
            message_ids, self.config.workers, enter=enter, look=look
        )
        for message_id, place in zip(message_ids, places, strict=True):
            if place == 0:
                self._granted.add(message_id)
                self._places.pop(message_id, None)
            elif place > 0:
                self._places[message_id] = (place, size)
        self._pump()
        # a message granted after its chat went (cancelled meanwhile): its reply's last write
        # has freed the slot; forget it here
        waiting = {g.message.id for g in self._queue}
        self._granted &= waiting
        for message_id in [m for m in self._places if m not in waiting]:
            del self._places[message_id]

    async def _poll(self) -> None:
        interval = min(self.config.pending_interval, _POLL)
        try:
            while self._queue and not self.closing:
                look = False
                try:
                    await asyncio.wait_for(self._freed.wait(), interval)
                except asyncio.TimeoutError:  # not yet the builtin on Python 3.10
                    look = True
                self._freed.clear()
                if not self._queue or self.closing:
                    break
                try:
                    await self._settle([g.message.id for g in self._queue], enter=False, look=look)
                except (RedisError, OSError) as error:
                    # the messages keep waiting; the next look may reach Redis again
                    log.warning("worker pool: cannot reach Redis (%s)", error)
        finally:
            self._poller = None

    def cancel(self, message_ids: Sequence[str]) -> None:
        """Stop the messages of a deleted chat (their replies' last writes free their slots)."""
        for message_id in message_ids:
            self._places.pop(message_id, None)
            self._granted.discard(message_id)
        super().cancel(message_ids)

    def close(self) -> None:
        """Stop polling, then stop as the in-memory engine does."""
        if self._poller is not None:
            self._poller.cancel()
        super().close()

    def reset(self) -> None:
        """Forget every generation and every slot this process was granted or waits for."""
        super().reset()
        self._granted.clear()
        self._places.clear()
