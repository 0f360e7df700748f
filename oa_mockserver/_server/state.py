"""The chat store: users' chats, their message trees, and the message state machine.

Theory of operation. Every chat belongs to one user (an opaque owner key made by the auth layer)
and another user's chat does not exist for you (404, as on the real server). A chat's messages form
a tree: a prompter message's parent is a complete assistant message (or nothing, for the first
message of an empty chat); an assistant message's parent is a prompter message.

Assistant messages move through :data:`TRANSITIONS`, a table from ``(state, event)`` to the next
state; anything not in the table raises :class:`IllegalTransition`. Prompter messages are
``manual`` and never move. The store knows nothing of HTTP or asyncio: the routes map the
:class:`StateError` family to statuses (one place per dialect) and the generation engine drives the
transitions.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any, TypedDict

import msgspec

from .._compat import Required, Unpack
from .._exceptions import MockServerError
from .ids import now_iso, uuid7
from .wire import message_read_event, work_fragment

__all__ = [
    "FINISHED_STATES",
    "TRANSITIONS",
    "Chat",
    "ChatNotFound",
    "ChatPage",
    "ChatStore",
    "IllegalTransition",
    "InvalidCursor",
    "InvalidParent",
    "Message",
    "MessageNotFound",
    "NewReply",
    "NotStreamable",
    "PageQuery",
    "ParentNotFound",
    "StateError",
    "decode_cursor",
    "encode_cursor",
    "transition",
]

PROMPTER = "prompter"
ASSISTANT = "assistant"

#: ``(state, event) -> next state`` for assistant messages; the only legal moves.
TRANSITIONS: dict[tuple[str, str], str] = {
    ("pending", "start"): "in_progress",
    ("pending", "cancel"): "cancelled",
    ("pending", "timeout"): "timeout",
    ("in_progress", "finish"): "complete",
    ("in_progress", "abort"): "aborted_by_worker",
    ("in_progress", "cancel"): "cancelled",
    ("in_progress", "timeout"): "timeout",
}

#: States after which a message never changes again (``manual``: prompter messages).
FINISHED_STATES = frozenset({"manual", "complete", "aborted_by_worker", "cancelled", "timeout"})


class StateError(MockServerError):
    """A request the store refuses; ``detail`` is the real server's text for it."""

    detail = "Invalid request"

    def __init__(self, detail: str | None = None) -> None:
        if detail is not None:
            self.detail = detail
        super().__init__(self.detail)


class ChatNotFound(StateError):
    """No such chat for this user (unknown, deleted, or another user's)."""

    detail = "Chat not found"


class MessageNotFound(StateError):
    """No such message in this chat."""

    detail = "Message not found"


class ParentNotFound(StateError):
    """The ``parent_id`` of a new message names no message of the chat."""

    detail = "Parent message not found"


class InvalidParent(StateError):
    """The parent exists but cannot take this child (wrong role, not complete, chat not empty)."""


class NotStreamable(StateError):
    """Only assistant messages have an event stream."""

    detail = "Only assistant messages can be streamed."


class IllegalTransition(StateError):
    """An event that the transition table does not allow in the message's current state."""

    def __init__(self, state: str, event: str) -> None:
        super().__init__(f"A message in state {state!r} cannot take the event {event!r}")
        self.state = state
        self.event = event


class InvalidCursor(StateError):
    """A paging cursor that is not base64 of a chat id."""

    detail = "Invalid cursor"


@dataclass(eq=False, slots=True)
class Message:
    """One message; :meth:`read` is its MessageRead JSON shape."""

    id: str
    parent_id: str | None
    chat_id: str
    role: str
    state: str
    created_at: str  # ISO 8601, naive UTC (see now_iso)
    content: str | None = None
    work_parameters: dict[str, Any] | None = None
    score: int = 0
    model: str | None = None  # the model config name (not part of MessageRead)
    _work_fragment: msgspec.Raw | None = field(default=None, init=False, repr=False)

    def read(self) -> dict[str, Any]:
        """The MessageRead object, keys in the real server's order."""
        return {
            "id": self.id,
            "parent_id": self.parent_id,
            "content": self.content,
            "chat_id": self.chat_id,
            "created_at": self.created_at,
            "role": self.role,
            "state": self.state,
            "score": self.score,
            "reports": [],
            "work_parameters": self.work_parameters,
            "safe_content": None,
            "safety_level": None,
            "safety_label": None,
            "safety_rots": None,
            "used_plugin": None,
        }

    def event(self) -> bytes:
        """The ``message`` event of :meth:`read` (as :func:`~._wire.message_event` makes it)."""
        return message_read_event(self)

    def read_prerendered(self) -> dict[str, Any]:
        """:meth:`read` for :func:`float_free_json`: ``work_parameters``, the one part with floats
        (the sampling parameters), as a fragment rendered once (it never changes)."""
        body = self.read()
        work = self._work()
        if work is not None:
            body["work_parameters"] = work
        return body

    def _work(self) -> msgspec.Raw | None:
        """``work_parameters`` as compact JSON, rendered the first time it is asked for."""
        if self._work_fragment is None and self.work_parameters is not None:
            self._work_fragment = work_fragment(self.work_parameters)
        return self._work_fragment

    @property
    def finished(self) -> bool:
        """True once the message can no longer change."""
        return self.state in FINISHED_STATES


@dataclass(eq=False, slots=True)
class Chat:
    """One chat of one owner."""

    id: str
    owner: str
    created_at: str  # ISO 8601, naive UTC (see now_iso)
    modified_at: str
    title: str | None = None
    hidden: bool = False
    allow_data_use: bool = True
    active_thread_tail_message_id: str | None = None
    messages: dict[str, Message] = field(default_factory=dict)

    def list_read(self) -> dict[str, Any]:
        """The ChatListRead object."""
        return {
            "id": self.id,
            "created_at": self.created_at,
            "modified_at": self.modified_at,
            "title": self.title,
            "hidden": self.hidden,
            "allow_data_use": self.allow_data_use,
            "active_thread_tail_message_id": self.active_thread_tail_message_id,
        }

    def read(self) -> dict[str, Any]:
        """The ChatRead object: ChatListRead plus the messages in creation order."""
        body = self.list_read()
        body["messages"] = [message.read() for message in self.messages.values()]
        return body

    def read_prerendered(self) -> dict[str, Any]:
        """:meth:`read` for :func:`float_free_json` (see :meth:`Message.read_prerendered`)."""
        body = self.list_read()
        body["messages"] = [message.read_prerendered() for message in self.messages.values()]
        return body

    def parent(self, parent_id: str, role: str, wrong_role: str) -> Message:
        """The message ``parent_id``, which must be a ``role`` message.

        Raises:
            ParentNotFound; InvalidParent: ``wrong_role``, the detail of another role.
        """
        parent = self.messages.get(parent_id)
        if parent is None:
            raise ParentNotFound()
        if parent.role != role:
            raise InvalidParent(wrong_role)
        return parent

    def add(
        self,
        parent_id: str | None,
        role: str,
        state: str,
        *,
        content: str | None = None,
        work_parameters: dict[str, Any] | None = None,
        model: str | None = None,
    ) -> Message:
        """A new message of this chat, created now with a fresh time-ordered id."""
        message = Message(
            id=uuid7(),
            parent_id=parent_id,
            chat_id=self.id,
            role=role,
            state=state,
            created_at=now_iso(),
            content=content,
            work_parameters=work_parameters,
            model=model,
        )
        self.messages[message.id] = message
        return message


class PageQuery(TypedDict, total=False):
    """The options of a chat listing, as every store's ``list_chats`` takes them (keywords).

    ``limit`` (default 10) chats at most; ``after``/``before`` are decoded chat ids (default
    None): ``after`` pages towards older chats, ``before`` towards newer ones;
    ``include_hidden`` (default False) lists hidden chats too.
    """

    limit: int
    after: str | None
    before: str | None
    include_hidden: bool


class NewReply(TypedDict, total=False):
    """What a new assistant message is made of, as every store's ``add_assistant_message``
    takes it (keywords): its ``work_parameters`` (required) and the model config name
    (``model``, default None)."""

    work_parameters: Required[dict[str, Any]]
    model: str | None


@dataclass(frozen=True)
class ChatPage:
    """One page of a chat listing with its base64 cursors."""

    chats: list[Chat]
    next: str | None
    prev: str | None

    def read(self) -> dict[str, Any]:
        """The ListChatsResponse object."""
        return {
            "chats": [chat.list_read() for chat in self.chats],
            "next": self.next,
            "prev": self.prev,
        }


def encode_cursor(chat_id: str) -> str:
    """The real server's cursor: standard base64 of the chat id."""
    return base64.b64encode(chat_id.encode()).decode()


def decode_cursor(cursor: str) -> str:
    """Undo :func:`encode_cursor`.

    Raises:
        InvalidCursor: the cursor is not base64 of UTF-8 text.
    """
    try:
        return base64.b64decode(cursor.encode(), validate=True).decode()
    except (binascii.Error, UnicodeError, ValueError):
        raise InvalidCursor() from None


class ChatStore:
    """All chats of all users, in memory. Not thread-safe: use it from one event loop."""

    def __init__(self) -> None:
        self._chats: dict[str, Chat] = {}

    # -- chats -------------------------------------------------------------------------------

    def create_chat(self, owner: str) -> Chat:
        """A new empty chat owned by ``owner``."""
        chat = Chat(id=uuid7(), owner=owner, created_at=now_iso(), modified_at=now_iso())
        self._chats[chat.id] = chat
        return chat

    def chat(self, owner: str, chat_id: str) -> Chat:
        """The chat ``chat_id`` if ``owner`` owns it.

        Raises:
            ChatNotFound: unknown, deleted, or another owner's chat.
        """
        chat = self._chats.get(chat_id)
        if chat is None or chat.owner != owner:
            raise ChatNotFound()
        return chat

    def list_chats(self, owner: str, **query: Unpack[PageQuery]) -> ChatPage:
        """A page of the owner's chats, newest first, with the real server's cursor rules
        (the options: :class:`PageQuery`)."""
        limit = query.get("limit", 10)
        after = query.get("after")
        before = query.get("before")
        include_hidden = query.get("include_hidden", False)
        mine = [
            chat
            for chat in self._chats.values()
            if chat.owner == owner and (include_hidden or not chat.hidden)
        ]
        if before is not None:
            rows = sorted((c for c in mine if c.id > before), key=lambda c: c.id)[: limit + 1]
        else:
            newest = sorted(mine, key=lambda c: c.id, reverse=True)
            rows = [c for c in newest if after is None or c.id < after][: limit + 1]
        more = len(rows) > limit
        page = rows[:limit]
        if before is not None:
            page.reverse()
        next_cursor: str | None = None
        prev_cursor: str | None = None
        if after is not None:
            prev_cursor = encode_cursor(page[0].id) if page else None
            if more:
                next_cursor = encode_cursor(page[-1].id)
        elif before is not None:
            next_cursor = encode_cursor(page[-1].id) if page else None
            if more:
                prev_cursor = encode_cursor(page[0].id)
        elif more:
            next_cursor = encode_cursor(page[-1].id)
        return ChatPage(chats=page, next=next_cursor, prev=prev_cursor)

    def delete_chat(self, owner: str, chat_id: str) -> Chat:
        """Remove a chat and its messages; return it.

        Raises:
            ChatNotFound: unknown or another owner's chat.
        """
        chat = self.chat(owner, chat_id)
        del self._chats[chat.id]
        return chat

    def update_chat(self, owner: str, chat_id: str, changes: dict[str, Any]) -> Chat:
        """Apply a validated update (title, hidden, allow_data_use, tail message id).

        Raises:
            ChatNotFound: unknown or another owner's chat.
            MessageNotFound: the new ``active_thread_tail_message_id`` is not in the chat.
        """
        chat = self.chat(owner, chat_id)
        tail = changes.get("active_thread_tail_message_id")
        if tail is not None and tail not in chat.messages:
            raise MessageNotFound()
        for name in ("title", "hidden", "allow_data_use", "active_thread_tail_message_id"):
            if name in changes:
                setattr(chat, name, changes[name])
        return chat

    def chats(self) -> list[Chat]:
        """Every live chat of every owner, oldest first."""
        return sorted(self._chats.values(), key=lambda c: c.id)

    def reset(self) -> None:
        """Forget every chat."""
        self._chats.clear()

    # -- messages ----------------------------------------------------------------------------

    def message(self, owner: str, chat_id: str, message_id: str) -> Message:
        """A message of one of the owner's chats.

        Raises:
            ChatNotFound: unknown or another owner's chat.
            MessageNotFound: no such message in the chat.
        """
        chat = self.chat(owner, chat_id)
        message = chat.messages.get(message_id)
        if message is None:
            raise MessageNotFound()
        return message

    def add_prompter_message(
        self, owner: str, chat_id: str, parent_id: str | None, content: str
    ) -> Message:
        """Add the user's message; the first one titles the chat.

        Raises:
            ChatNotFound, ParentNotFound, InvalidParent.
        """
        chat = self.chat(owner, chat_id)
        if parent_id is None:
            if chat.messages:
                raise InvalidParent("Trying to add first message to non-empty chat")
        else:
            parent = chat.parent(parent_id, ASSISTANT, "Parent message is not an assistant message")
            if parent.state != "complete":
                raise InvalidParent("Parent message is not complete")
        message = chat.add(parent_id, PROMPTER, "manual", content=content)
        if chat.title is None:
            chat.title = content
        chat.modified_at = message.created_at
        return message

    def add_assistant_message(
        self, owner: str, chat_id: str, parent_id: str, **reply: Unpack[NewReply]
    ) -> Message:
        """Add a ``pending`` assistant message answering the prompter message ``parent_id``.

        Raises:
            ChatNotFound, ParentNotFound, InvalidParent.
        """
        chat = self.chat(owner, chat_id)
        chat.parent(parent_id, PROMPTER, "Parent message is not a prompter message")
        return chat.add(parent_id, ASSISTANT, "pending", **reply)

    def vote(self, owner: str, chat_id: str, message_id: str, score: int) -> Message:
        """Record the user's score (-1, 0 or 1) on an assistant message.

        Raises:
            ChatNotFound, MessageNotFound, InvalidParent (not an assistant message).
        """
        message = self.message(owner, chat_id, message_id)
        if message.role != ASSISTANT:
            raise InvalidParent("Only assistant messages can be voted on")
        message.score = score
        return message

    def thread(self, message: Message) -> list[Message]:
        """The message's ancestors and itself, root first (the prompt thread)."""
        chat = self._chats.get(message.chat_id)
        thread: list[Message] = []
        current: Message | None = message
        while current is not None:
            thread.append(current)
            if current.parent_id is None or chat is None:
                break
            current = chat.messages.get(current.parent_id)
        thread.reverse()
        return thread


def transition(message: Message, event: str, *, content: str | None = None) -> None:
    """Move an assistant message along :data:`TRANSITIONS`; ``finish`` sets its content.

    Raises:
        IllegalTransition: the table has no entry for ``(message.state, event)``.
    """
    target = TRANSITIONS.get((message.state, event))
    if target is None:
        raise IllegalTransition(message.state, event)
    message.state = target
    if event == "finish":
        message.content = content if content is not None else ""
