"""The control plane on Redis: fault rules every process applies, and one journal of every
process's calls.

Faults. The rules live in a Redis hash (``mock:faults``, rule id -> the rule's admin JSON); a rule
with ``times=N`` also has a counter (``mock:fault_left:{id}``). Each process keeps the rules in
memory, so a request with no rule to consider costs no round trip; a change is announced on the
channel ``mock:faults_changed`` and every process reloads (within milliseconds: pub/sub). A
counted rule that matches is taken by a script that decrements its counter only while it is
above 0 (and drops the rule at 0): ``times=N`` fires N times across all processes together. The
``probability`` of a rule is drawn by each process from its own RNG, seeded by ``seed``.

Journal. Each process journals its calls in memory as usual; the calls are then redacted (the
journal's own rules) and appended, batched, to a capped Redis stream ``mock:journal`` whose entry
ids are a shared sequence (``0-N``), so ``/__admin/requests`` on any process pages through every
process's calls with the same ``after`` cursors.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Iterable, Sequence
from typing import Any, cast

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from .._control.faults import Fault, FaultRule, rule_from_json, rule_to_json
from .._control.journal import Call, Journal, JournalPageError
from .redis_channel import Channel

__all__ = ["SharedFaults", "SharedJournal", "journal_page"]

log = logging.getLogger("oa_mockserver.redis")

_RULES = "mock:faults"
_LEFT = "mock:fault_left:"
_NEXT_RULE = "mock:fault_seq"
_CHANGED = "mock:faults_changed"
_SEEDED = "mock:faults_seeded"
_JOURNAL = "mock:journal"
_JOURNAL_SEQ = "mock:journal_seq"
_JOURNAL_CLEARED = "mock:journal_cleared"  # the last sequence id before the latest clear

# Take one firing of a counted rule: 1 if it may fire. At 0 the rule goes, and all hear of it.
_TAKE = """
local left = redis.call('DECR', KEYS[1])
if left < 0 then redis.call('DEL', KEYS[1]) return 0 end
if left == 0 then
  redis.call('DEL', KEYS[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('PUBLISH', KEYS[3], ARGV[1])
end
return 1
"""

# Append calls to the journal: each gets the next shared sequence id as its entry id.
# ARGV[1]: the cap (0: none); then one JSON call each.
_APPEND = """
for i = 2, #ARGV do
  local seq = redis.call('INCR', KEYS[2])
  if ARGV[1] == '0' then
    redis.call('XADD', KEYS[1], '0-' .. seq, 'c', ARGV[i])
  else
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '0-' .. seq, 'c', ARGV[i])
  end
end
return 1
"""


class SharedFaults:
    """The fault rules of every process (see the module docstring)."""

    def __init__(self, client: aioredis.Redis, seed: int) -> None:
        self.client = client
        self._take = client.register_script(_TAKE)
        self._rules: list[tuple[str, FaultRule]] = []
        self._rng = random.Random(seed)
        self._changes = Channel(
            self.client, _CHANGED, self.reload, "fault rules no longer follow Redis: %s"
        )
        self.round_trips = 0

    @property
    def rules(self) -> list[FaultRule]:
        """The rules as this process last loaded them, in the order they were added."""
        return [rule for _, rule in self._rules]

    async def start(self, startup: Sequence[FaultRule]) -> None:
        """Seed the startup rules (once for all processes), load, and follow changes."""
        await self._changes.subscribe()  # before loading: no change can fall in between
        if startup and await self.client.set(_SEEDED, b"1", nx=True):
            await self.add(startup)
        await self.reload()
        self._changes.follow()

    async def stop(self) -> None:
        """Stop following changes."""
        await self._changes.stop()

    async def reload(self) -> None:
        """Load the rules as they are in Redis now."""
        self.round_trips += 1
        stored = cast("dict[bytes, bytes]", await self.client.hgetall(_RULES))
        self._rules = [
            (rule_id.decode(), rule_from_json(json.loads(data)))
            for rule_id, data in sorted(stored.items(), key=lambda item: int(item[0]))
        ]

    async def add(self, rules: Iterable[FaultRule]) -> None:
        """Activate rules on every process."""
        pipe = self.client.pipeline(transaction=True)
        for rule in rules:
            rule_id = await self.client.incr(_NEXT_RULE)
            pipe.hset(_RULES, str(rule_id), json.dumps(rule_to_json(rule)))
            if rule.times is not None:
                pipe.set(f"{_LEFT}{rule_id}", rule.times)
        pipe.publish(_CHANGED, b"add")
        await pipe.execute()
        await self.reload()

    async def clear(self) -> int:
        """Remove every rule from every process; how many there were."""
        stored = cast("list[bytes]", await self.client.hkeys(_RULES))
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(_RULES, *(f"{_LEFT}{rule_id.decode()}" for rule_id in stored))
        pipe.publish(_CHANGED, b"clear")
        await pipe.execute()
        self._rules = []
        return len(stored)

    async def reset(self, startup: Sequence[FaultRule]) -> None:
        """Back to the startup rules."""
        await self.clear()
        if startup:
            await self.add(startup)

    async def select(self, method: str, path: str, step: str | None) -> list[Fault]:
        """The shared faults that fire for one request; a counted one only if it is taken."""
        fired: list[Fault] = []
        for rule_id, rule in self._rules:
            if not rule.matches(method, path, step):
                continue
            if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                continue
            if rule.times is not None:
                self.round_trips += 1
                keys = [f"{_LEFT}{rule_id}", _RULES, _CHANGED]
                taken = await self._take(keys=keys, args=[rule_id])
                if not taken:
                    continue
            fired.append(rule.fault)
        return fired


class SharedJournal(Journal):
    """This process's :class:`Journal`, whose calls also go to the shared one on Redis."""

    def __init__(self, client: aioredis.Redis, limit: int = 0, *, body_limit: int = 0) -> None:
        super().__init__(limit, body_limit=body_limit)
        self.client = client
        self._append_script = client.register_script(_APPEND)
        self._outbox: list[Call] = []
        self._writer: asyncio.Task[None] | None = None
        self.round_trips = 0

    def record_request(self, **fields: Any) -> None:
        """Journal one call here, and queue it for Redis (written soon after, batched)."""
        super().record_request(**fields)
        call = self.last  # built now: what goes to Redis is redacted like any journal read
        if call is None:
            return
        self._outbox.append(call)
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write_soon())

    async def _write_soon(self) -> None:
        """Write the queue until it is empty (calls recorded meanwhile join the next batch).

        Why a short-lived task per burst and not one that waits forever: nothing is left to
        cancel at shutdown, which :meth:`stop` only waits for, within a bound.
        """
        try:
            while self._outbox:
                await self.flush()
        except (RedisError, OSError) as error:
            log.warning("journal: calls not written to Redis: %s", error)
        finally:
            self._writer = None

    async def flush(self) -> None:
        """Write every queued call now (one script call)."""
        calls, self._outbox = self._outbox, []
        if not calls:
            return
        self.round_trips += 1
        payloads = [json.dumps(call.to_json(), ensure_ascii=False) for call in calls]
        await self._append_script(keys=[_JOURNAL, _JOURNAL_SEQ], args=[self.limit, *payloads])

    async def stop(self, timeout: float = 1.0) -> None:
        """Write what is queued (within ``timeout``)."""
        writer = self._writer
        if writer is not None:
            await asyncio.wait({writer}, timeout=timeout)

    async def clear_shared(self) -> int:
        """Empty the shared journal (sequence ids go on); how many calls it held."""
        await self.flush()
        pipe = self.client.pipeline(transaction=True)
        pipe.xlen(_JOURNAL)
        pipe.delete(_JOURNAL)
        pipe.get(_JOURNAL_SEQ)
        count, _, seq = await pipe.execute()
        await self.client.set(_JOURNAL_CLEARED, seq or b"0")
        self.clear()
        return int(count)


async def journal_page(journal: SharedJournal, after: int, limit: int) -> dict[str, Any]:
    """A page of the shared journal, as ``GET /__admin/requests`` answers it.

    Raises:
        JournalPageError: ``after`` is past the newest sequence id.
    """
    await journal.flush()  # this process's own calls are in it, up to now
    pipe = journal.client.pipeline(transaction=False)
    pipe.get(_JOURNAL_SEQ)
    pipe.get(_JOURNAL_CLEARED)
    pipe.xlen(_JOURNAL)
    pipe.xrange(_JOURNAL, f"({'0-' + str(after)}", "+", count=limit)
    raw_seq, raw_cleared, kept, entries = await pipe.execute()
    last_seq = int(raw_seq or 0)
    if after > last_seq:
        raise JournalPageError(
            f"after={after} is past the newest sequence id, {last_seq}: use the "
            "next_after of the last page (after=0 reads from the oldest call kept)"
        )
    cleared = int(raw_cleared or 0)
    items: list[tuple[int, dict[str, Any]]] = []
    for entry_id, fields in entries:
        seq = int(entry_id.split(b"-")[1])
        call = json.loads(fields[b"c"])
        call["seq"] = seq
        items.append((seq, call))
    next_after = items[-1][0] if items else last_seq
    first = items[0][0] if items else last_seq + 1
    return {
        "requests": [call for _, call in items],
        "next_after": next_after,
        "has_more": next_after < last_seq,
        "missed": first - after - 1,
        "dropped": max(0, last_seq - cleared - int(kept)),
    }
