"""The chat store on Redis: any number of server processes share every chat.

Theory of operation. One chat is one Redis hash, ``chat:{id}``; its owner's chats are a sorted
set, ``chats_of:{owner}``. A change runs :class:`~.state.ChatStore`'s own rules on the chat as
loaded (one ``HGETALL``) and writes back only the fields that changed, with a compare-and-set
script that checks the hash's version (``v``) and bumps it: a concurrent change by another
process makes the script refuse, and the change is run again on the fresh chat. So a change costs
two round trips, a read one, and the rules are the in-memory store's by construction.

The hash's fields: ``v`` (version), ``meta`` (the chat's own fields), and per message ``m:{id}``
(what never changes, with its position in the chat), ``s:{id}`` (state), ``c:{id}`` (content),
``r:{id}`` (score), ``d:{id}`` (a stream delivered its final event). State and content are
written by the process generating the reply (:mod:`.redis_stream`), the score by a vote: apart,
so that neither overwrites the other.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

import msgspec
import redis.asyncio as aioredis

from .._compat import Unpack
from .replay import prompt_thread
from .state import Chat, ChatNotFound, ChatPage, ChatStore, Message, NewReply, PageQuery, StateError

__all__ = [
    "RedisStore",
    "StoreConflict",
    "chat_key",
    "decode_chat",
    "encode_chat",
    "queue_key",
]

_T = TypeVar("_T")

_encode = msgspec.json.encode
_decode = msgspec.json.decode

#: Tries of one change against concurrent writers before giving up.
_ATTEMPTS = 50

# Compare-and-set: write the changed fields if the version is still the one read ('' when the
# chat must not exist yet), and bump it. One round trip; 1 written, 0 refused.
_CAS = """
local v = redis.call('HGET', KEYS[1], 'v')
if (v or '') ~= ARGV[1] then return 0 end
if #ARGV > 1 then redis.call('HSET', KEYS[1], unpack(ARGV, 2)) end
redis.call('HINCRBY', KEYS[1], 'v', 1)
return 1
"""


class StoreConflict(StateError):
    """A change kept losing to concurrent writers of the same chat; answered as the store's
    other refusals are (a StateError), so the client may retry."""

    detail = "The chat was changed by too many other requests meanwhile; retry"


def chat_key(chat_id: str) -> str:
    """The hash of one chat."""
    return f"chat:{chat_id}"


def owner_key(owner: str) -> str:
    """The sorted set of one owner's chat ids (scores 0: ids sort by time themselves)."""
    return f"chats_of:{owner}"


def queue_key(message_id: str) -> str:
    """The token stream of one assistant message, named as the real server named its queue."""
    return f"message_queue:{message_id}"


#: A chat's own fields kept in ``meta``, in this order: all but its id (the key) and messages.
_META = tuple(
    f.name for f in dataclasses.fields(Chat) if f.init and f.name not in ("id", "messages")
)
#: A message's fields that never change, kept in ``m:{id}`` after its position, in this order:
#: all but its id (in the key), its chat's id and the fields written apart (state, content, score).
_FIXED = tuple(
    f.name
    for f in dataclasses.fields(Message)
    if f.init and f.name not in ("id", "chat_id", "state", "content", "score")
)
# attrgetter: the values in one C call (these run on every change of a chat)
_meta_of = operator.attrgetter(*_META)
_fixed_of = operator.attrgetter(*_FIXED)


def encode_chat(chat: Chat) -> dict[bytes, bytes]:
    """The hash fields of ``chat`` (all but the version)."""
    fields = {b"meta": _encode(_meta_of(chat))}
    for position, message in enumerate(chat.messages.values()):
        mid = message.id.encode()
        fields[b"m:" + mid] = _encode((position, *_fixed_of(message)))
        fields[b"s:" + mid] = message.state.encode()
        fields[b"c:" + mid] = _encode(message.content)
        fields[b"r:" + mid] = str(message.score).encode()
    return fields


def decode_chat(chat_id: str, fields: Mapping[bytes, bytes]) -> Chat:
    """The chat of a hash read whole (``HGETALL``)."""
    chat = Chat(id=chat_id, **dict(zip(_META, _decode(fields[b"meta"]), strict=True)))
    rows: list[tuple[int, Message]] = []
    for name, value in fields.items():
        if not name.startswith(b"m:"):
            continue
        mid = name[2:]
        position, *fixed = _decode(value)
        message = Message(
            id=mid.decode(),
            chat_id=chat_id,
            state=fields.get(b"s:" + mid, b"pending").decode(),
            content=_decode(fields.get(b"c:" + mid, b"null")),
            score=int(fields.get(b"r:" + mid, b"0")),
            **dict(zip(_FIXED, fixed, strict=True)),
        )
        rows.append((position, message))
    rows.sort(key=lambda row: row[0])
    chat.messages = {message.id: message for _, message in rows}
    return chat


class RedisStore:
    """:class:`~.store.Store` on Redis (``redis.asyncio``), shared by every process using it.

    ``local`` holds the chats of replies being generated by this process, for the engine,
    which reads prompt threads synchronously (:meth:`keep` and :meth:`forget`).
    """

    def __init__(self, client: aioredis.Redis) -> None:
        self.client = client
        self.local = ChatStore()
        self._cas = client.register_script(_CAS)
        #: Redis round trips made by this store (a script or a pipeline counts one).
        self.round_trips = 0

    # -- loading and changing -----------------------------------------------------------------

    async def _load(self, chat_id: str) -> tuple[Chat | None, bytes]:
        self.round_trips += 1
        # redis-py types its replies loosely; with decode_responses=False they are bytes
        fields = cast("dict[bytes, bytes]", await self.client.hgetall(chat_key(chat_id)))
        if not fields or b"meta" not in fields:
            return None, b""
        return decode_chat(chat_id, fields), fields.get(b"v", b"")

    async def _owned(self, owner: str, chat_id: str) -> Chat:
        chat, _ = await self._load(chat_id)
        if chat is None or chat.owner != owner:
            raise ChatNotFound()
        return chat

    async def _change(self, chat_id: str, change: Callable[[ChatStore], _T]) -> _T:
        """Run ``change`` on a one-chat ChatStore holding the chat as stored; write the fields
        it changed back if nobody else changed the chat meanwhile, else run it again."""
        for _ in range(_ATTEMPTS):
            chat, version = await self._load(chat_id)
            scratch = ChatStore()
            before: dict[bytes, bytes] = {}
            if chat is not None:
                scratch._chats[chat.id] = chat
                before = encode_chat(chat)
            result = change(scratch)  # raises the StateError family as the memory store does
            after = encode_chat(scratch._chats[chat_id])
            pairs: list[bytes] = []
            for name, value in after.items():
                if before.get(name) != value:
                    pairs += (name, value)
            if not pairs:
                return result
            self.round_trips += 1
            if await self._cas(keys=[chat_key(chat_id)], args=[version, *pairs]):
                return result
        raise StoreConflict()

    # -- the Store interface ------------------------------------------------------------------

    async def create_chat(self, owner: str) -> Chat:
        scratch = ChatStore()
        chat = scratch.create_chat(owner)
        # a fresh time-ordered id: nobody else writes this chat yet
        pipe = self.client.pipeline(transaction=True)
        mapping: dict[Any, Any] = {**encode_chat(chat), b"v": b"1"}
        pipe.hset(chat_key(chat.id), mapping=mapping)
        pipe.zadd(owner_key(owner), {chat.id: 0})
        self.round_trips += 1
        await pipe.execute()
        return chat

    async def chat(self, owner: str, chat_id: str) -> Chat:
        return await self._owned(owner, chat_id)

    async def list_chats(self, owner: str, **query: Unpack[PageQuery]) -> ChatPage:
        scratch = ChatStore()
        for chat in await self._load_all(await self._ids_of(owner)):
            if chat.owner == owner:
                scratch._chats[chat.id] = chat
        return scratch.list_chats(owner, **query)

    async def _ids_of(self, owner: str) -> list[str]:
        self.round_trips += 1
        ids = cast("list[bytes]", await self.client.zrange(owner_key(owner), 0, -1))
        return [raw.decode() for raw in ids]

    async def _load_all(self, chat_ids: list[str]) -> list[Chat]:
        if not chat_ids:
            return []
        pipe = self.client.pipeline(transaction=False)
        for chat_id in chat_ids:
            pipe.hgetall(chat_key(chat_id))
        self.round_trips += 1
        rows = await pipe.execute()
        return [
            decode_chat(chat_id, fields)
            for chat_id, fields in zip(chat_ids, rows, strict=True)
            if fields and b"meta" in fields
        ]

    async def delete_chat(self, owner: str, chat_id: str) -> Chat:
        chat = await self._owned(owner, chat_id)
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(chat_key(chat_id))
        pipe.zrem(owner_key(owner), chat_id)
        for message in chat.messages.values():
            if message.role == "assistant":
                # an open stream on any process ends at this entry; the queue then expires
                queue = queue_key(message.id)
                pipe.xadd(queue, {b"x": b""})
                pipe.expire(queue, 60)
        self.round_trips += 1
        await pipe.execute()
        return chat

    async def update_chat(self, owner: str, chat_id: str, changes: dict[str, Any]) -> Chat:
        return await self._change(chat_id, lambda s: s.update_chat(owner, chat_id, changes))

    async def chats(self) -> list[Chat]:
        ids: list[str] = []
        self.round_trips += 1
        async for key in self.client.scan_iter(match="chat:*", count=1000):
            ids.append(key.decode().partition(":")[2])
        return sorted(await self._load_all(ids), key=lambda c: c.id)

    async def reset(self) -> None:
        self.local.reset()
        for pattern in ("chat:*", "chats_of:*", "message_queue:*", "message_lease:*", "worker_*"):
            keys = [key async for key in self.client.scan_iter(match=pattern, count=1000)]
            if keys:
                await self.client.delete(*keys)

    async def message(self, owner: str, chat_id: str, message_id: str) -> Message:
        chat = await self._owned(owner, chat_id)
        scratch = ChatStore()
        scratch._chats[chat.id] = chat
        return scratch.message(owner, chat_id, message_id)

    async def add_prompter_message(
        self, owner: str, chat_id: str, parent_id: str | None, content: str
    ) -> Message:
        return await self._change(
            chat_id, lambda s: s.add_prompter_message(owner, chat_id, parent_id, content)
        )

    async def add_assistant_message(
        self, owner: str, chat_id: str, parent_id: str, **reply: Unpack[NewReply]
    ) -> Message:
        """As the Store's; the chat, as written, is also kept in :attr:`local` for the engine
        (see :meth:`forget`)."""
        written: list[ChatStore] = []

        def change(scratch: ChatStore) -> Message:
            written[:] = [scratch]
            return scratch.add_assistant_message(owner, chat_id, parent_id, **reply)

        message = await self._change(chat_id, change)
        self.local._chats[chat_id] = written[0]._chats[chat_id]
        return message

    async def vote(self, owner: str, chat_id: str, message_id: str, score: int) -> Message:
        return await self._change(chat_id, lambda s: s.vote(owner, chat_id, message_id, score))

    async def prompt_thread(self, owner: str, chat_id: str, parent_id: str) -> list[str] | None:
        chat, _ = await self._load(chat_id)
        if chat is None:
            return None
        scratch = ChatStore()
        scratch._chats[chat.id] = chat
        return prompt_thread(scratch, owner, chat_id, parent_id)

    # -- the engine's view ----------------------------------------------------------------------

    def forget(self, chat_id: str) -> None:
        """The reply is generated (or stopped): the local copy is no longer needed."""
        self.local._chats.pop(chat_id, None)
