"""The in-memory store and the Redis store agree on any sequence of operations (Hypothesis
stateful test against a real redis-server): same answers, same errors, same listings.

Ids and times differ between two stores by nature; answers are compared with each id replaced
by a label given in creation order (``chat1``, ``msg3``), times left out.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from oa_mockserver._server.redis_store import _FIXED, _META, RedisStore
from oa_mockserver._server.state import ChatPage, ChatStore, StateError
from oa_mockserver._server.store import MemoryStore, Store

pytestmark = pytest.mark.redis

OWNERS = st.sampled_from(["ann", "bob"])
_TIMES = {"created_at", "modified_at"}
_WORK = {"model_config": {"model_id": "m"}, "sampling_parameters": {"temperature": 0.7}}


def test_the_stored_fields_and_their_order_are_pinned() -> None:
    """Chats are stored positionally, the fields taken from the dataclasses: a field added to,
    dropped from or moved in ``Chat`` or ``Message`` changes what running servers read, so it
    must be a decision taken here, not a side effect."""
    assert _META == (
        "owner", "created_at", "modified_at", "title", "hidden", "allow_data_use",
        "active_thread_tail_message_id",
    )  # fmt: skip
    assert _FIXED == ("parent_id", "role", "created_at", "work_parameters", "model")


class Labels:
    """Id -> label for one store, in creation order."""

    def __init__(self) -> None:
        self.of: dict[str, str] = {}

    def add(self, real: str, label: str) -> None:
        self.of[real] = label

    def norm(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self.norm(v) for k, v in value.items() if k not in _TIMES}
        if isinstance(value, list):
            return [self.norm(v) for v in value]
        if isinstance(value, str):
            return self.of.get(value, value)
        return value

    def page(self, page: ChatPage) -> Any:
        cursors = [
            self.of.get(base64.b64decode(c).decode(), "?") if c else None
            for c in (page.next, page.prev)
        ]
        return [self.norm(page.read()["chats"]), cursors]


class StoresAgree(RuleBasedStateMachine):
    url = ""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.client = aioredis.Redis.from_url(self.url)
        self.memory: Store = MemoryStore(ChatStore())
        self.redis = RedisStore(self.client)
        self.labels = (Labels(), Labels())
        self.ids: list[tuple[str, str, str]] = []  # (label, memory id, redis id) of chats
        self.messages: list[tuple[str, str, str, str]] = []  # (+ chat label) of messages
        self.count = 0

    @initialize()
    def empty(self) -> None:
        self.loop.run_until_complete(self.client.flushdb())

    def teardown(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()

    def both(self, call: Callable[[Store, Labels, int], Awaitable[Any]]) -> tuple[Any, Any]:
        """Run ``call`` on each store; its normalised answer or the error's type, for each."""
        out = []
        for index, store in enumerate((self.memory, self.redis)):
            try:
                out.append(self.loop.run_until_complete(call(store, self.labels[index], index)))
            except StateError as error:
                out.append(type(error).__name__)
        return out[0], out[1]

    def agree(self, call: Callable[[Store, Labels, int], Awaitable[Any]]) -> tuple[Any, Any]:
        memory, redis = self.both(call)
        assert memory == redis
        return memory, redis

    def _chat(self, index: int) -> tuple[str, str, str]:
        return self.ids[index % len(self.ids)] if self.ids else ("none", "none", "none")

    def _message(self, index: int) -> tuple[str, str, str, str] | None:
        return self.messages[index % len(self.messages)] if self.messages else None

    @rule(owner=OWNERS)
    def create_chat(self, owner: str) -> None:
        self.count += 1
        label = f"chat{self.count}"
        created: list[str] = []

        async def call(store: Store, labels: Labels, _: int) -> Any:
            chat = await store.create_chat(owner)
            labels.add(chat.id, label)
            created.append(chat.id)
            return labels.norm(chat.read())

        self.agree(call)
        self.ids.append((label, created[0], created[1]))

    @precondition(lambda self: self.ids)
    @rule(
        owner=OWNERS, pick=st.integers(0, 50), parent=st.integers(-1, 50), text=st.text(max_size=8)
    )
    def add_prompter_message(self, owner: str, pick: int, parent: int, text: str) -> None:
        chat = self._chat(pick)
        message = self._message(parent) if parent >= 0 else None
        self._add(owner, chat, message, lambda s, c, p: s.add_prompter_message(owner, c, p, text))

    @precondition(lambda self: self.ids and self.messages)
    @rule(owner=OWNERS, pick=st.integers(0, 50), parent=st.integers(0, 50))
    def add_assistant_message(self, owner: str, pick: int, parent: int) -> None:
        chat = self._chat(pick)
        message = self._message(parent)
        assert message is not None
        self._add(
            owner,
            chat,
            message,
            lambda s, c, p: s.add_assistant_message(
                owner, c, p or "", work_parameters=_WORK, model="m"
            ),
        )

    def _add(self, owner: str, chat: Any, parent: Any, make: Any) -> None:
        self.count += 1
        label = f"msg{self.count}"
        created: list[str] = []

        async def call(store: Store, labels: Labels, index: int) -> Any:
            parent_id = parent[1 + index] if parent is not None else None
            message = await make(store, chat[1 + index], parent_id)
            labels.add(message.id, label)
            created.append(message.id)
            return labels.norm(message.read())

        self.agree(call)
        if len(created) == 2:
            self.messages.append((label, created[0], created[1], chat[0]))

    @precondition(lambda self: self.ids)
    @rule(owner=OWNERS, pick=st.integers(0, 50))
    def delete_chat(self, owner: str, pick: int) -> None:
        chat = self._chat(pick)

        async def call(store: Store, labels: Labels, index: int) -> Any:
            return labels.norm((await store.delete_chat(owner, chat[1 + index])).read())

        self.agree(call)

    @precondition(lambda self: self.ids)
    @rule(
        owner=OWNERS,
        pick=st.integers(0, 50),
        title=st.none() | st.text(max_size=5),
        hidden=st.none() | st.booleans(),
        tail=st.none() | st.integers(0, 50),
    )
    def update_chat(
        self, owner: str, pick: int, title: str | None, hidden: bool | None, tail: int | None
    ) -> None:
        chat = self._chat(pick)
        message = self._message(tail) if tail is not None else None

        async def call(store: Store, labels: Labels, index: int) -> Any:
            changes: dict[str, Any] = {}
            if title is not None:
                changes["title"] = title
            if hidden is not None:
                changes["hidden"] = hidden
            if message is not None:
                changes["active_thread_tail_message_id"] = message[1 + index]
            return labels.norm((await store.update_chat(owner, chat[1 + index], changes)).read())

        self.agree(call)

    @precondition(lambda self: self.messages)
    @rule(owner=OWNERS, pick=st.integers(0, 50), score=st.sampled_from([-1, 0, 1]))
    def vote(self, owner: str, pick: int, score: int) -> None:
        message = self._message(pick)
        assert message is not None
        chat = next((c for c in self.ids if c[0] == message[3]), ("gone", "gone", "gone"))

        async def call(store: Store, labels: Labels, index: int) -> Any:
            voted = await store.vote(owner, chat[1 + index], message[1 + index], score)
            return labels.norm(voted.read())

        self.agree(call)

    @precondition(lambda self: self.ids)
    @rule(
        owner=OWNERS,
        limit=st.integers(1, 4),
        cursor=st.none() | st.tuples(st.booleans(), st.integers(0, 50)),
        hidden=st.booleans(),
    )
    def list_chats(
        self, owner: str, limit: int, cursor: tuple[bool, int] | None, hidden: bool
    ) -> None:
        chat = self._chat(cursor[1]) if cursor is not None else None

        async def call(store: Store, labels: Labels, index: int) -> Any:
            after = before = None
            if cursor is not None and chat is not None:
                if cursor[0]:
                    after = chat[1 + index]
                else:
                    before = chat[1 + index]
            page = await store.list_chats(
                owner, limit=limit, after=after, before=before, include_hidden=hidden
            )
            return labels.page(page)

        self.agree(call)

    @invariant()
    def same_chats(self) -> None:
        async def call(store: Store, labels: Labels, _: int) -> Any:
            return [labels.norm(chat.read()) for chat in await store.chats()]

        self.agree(call)


def test_memory_and_redis_stores_agree(redis_url: str) -> None:
    StoresAgree.url = redis_url
    runner = StoresAgree.TestCase
    runner.settings = settings(max_examples=25, stateful_step_count=25, deadline=None)
    runner().runTest()
