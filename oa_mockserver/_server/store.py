"""The chat store as the routes see it: an async :class:`Store`, in memory or on Redis.

Why async: a store on Redis answers over the network, so every call the routes make is awaited.
The in-memory store (:class:`MemoryStore`, the default) wraps :class:`~.state.ChatStore`: its
methods never suspend, so awaiting them costs one coroutine frame a call, and its behaviour is
:class:`ChatStore`'s exactly. The Redis store (:mod:`.redis_store`) runs the same
:class:`ChatStore` rules on a chat loaded from Redis and writes the change back atomically, so the
two agree (``tests/unit/oa_mockserver/test_store_agreement.py`` checks it on random operations).
"""

from __future__ import annotations

from typing import Any, Protocol

from .._compat import Unpack
from .replay import prompt_thread
from .state import Chat, ChatPage, ChatStore, Message, NewReply, PageQuery

__all__ = ["MemoryStore", "Store"]


class Store(Protocol):
    """Chats, their messages and their owners; every method may raise the ``StateError`` family
    as :class:`~.state.ChatStore` does."""

    async def create_chat(self, owner: str) -> Chat:
        """A new empty chat owned by ``owner``."""
        ...

    async def chat(self, owner: str, chat_id: str) -> Chat:
        """The chat ``chat_id`` if ``owner`` owns it (else ChatNotFound)."""
        ...

    async def list_chats(self, owner: str, **query: Unpack[PageQuery]) -> ChatPage:
        """A page of the owner's chats (see :meth:`ChatStore.list_chats`)."""
        ...

    async def delete_chat(self, owner: str, chat_id: str) -> Chat:
        """Remove a chat and its messages; return it."""
        ...

    async def update_chat(self, owner: str, chat_id: str, changes: dict[str, Any]) -> Chat:
        """Apply a validated update (see :meth:`ChatStore.update_chat`)."""
        ...

    async def chats(self) -> list[Chat]:
        """Every live chat of every owner, oldest first."""
        ...

    async def reset(self) -> None:
        """Forget every chat."""
        ...

    async def message(self, owner: str, chat_id: str, message_id: str) -> Message:
        """A message of one of the owner's chats."""
        ...

    async def add_prompter_message(
        self, owner: str, chat_id: str, parent_id: str | None, content: str
    ) -> Message:
        """Add the user's message (see :meth:`ChatStore.add_prompter_message`)."""
        ...

    async def add_assistant_message(
        self, owner: str, chat_id: str, parent_id: str, **reply: Unpack[NewReply]
    ) -> Message:
        """Add a ``pending`` assistant message (see :meth:`ChatStore.add_assistant_message`)."""
        ...

    async def vote(self, owner: str, chat_id: str, message_id: str, score: int) -> Message:
        """Record the user's score on an assistant message."""
        ...

    async def prompt_thread(self, owner: str, chat_id: str, parent_id: str) -> list[str] | None:
        """The prompts of the thread ending at ``parent_id``, root first; None if unknown."""
        ...


class MemoryStore:
    """:class:`Store` over one in-process :class:`ChatStore` (the default)."""

    __slots__ = ("local",)

    def __init__(self, local: ChatStore) -> None:
        #: The wrapped store, which the engine reads prompt threads from.
        self.local = local

    async def create_chat(self, owner: str) -> Chat:
        return self.local.create_chat(owner)

    async def chat(self, owner: str, chat_id: str) -> Chat:
        return self.local.chat(owner, chat_id)

    async def list_chats(self, owner: str, **query: Unpack[PageQuery]) -> ChatPage:
        return self.local.list_chats(owner, **query)

    async def delete_chat(self, owner: str, chat_id: str) -> Chat:
        return self.local.delete_chat(owner, chat_id)

    async def update_chat(self, owner: str, chat_id: str, changes: dict[str, Any]) -> Chat:
        return self.local.update_chat(owner, chat_id, changes)

    async def chats(self) -> list[Chat]:
        return self.local.chats()

    async def reset(self) -> None:
        self.local.reset()

    async def message(self, owner: str, chat_id: str, message_id: str) -> Message:
        return self.local.message(owner, chat_id, message_id)

    async def add_prompter_message(
        self, owner: str, chat_id: str, parent_id: str | None, content: str
    ) -> Message:
        return self.local.add_prompter_message(owner, chat_id, parent_id, content)

    async def add_assistant_message(
        self, owner: str, chat_id: str, parent_id: str, **reply: Unpack[NewReply]
    ) -> Message:
        return self.local.add_assistant_message(owner, chat_id, parent_id, **reply)

    async def vote(self, owner: str, chat_id: str, message_id: str, score: int) -> Message:
        return self.local.vote(owner, chat_id, message_id, score)

    async def prompt_thread(self, owner: str, chat_id: str, parent_id: str) -> list[str] | None:
        return prompt_thread(self.local, owner, chat_id, parent_id)
