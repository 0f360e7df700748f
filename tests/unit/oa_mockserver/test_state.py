"""The chat store and its transition table, example by example and as a hypothesis state machine."""

from __future__ import annotations

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule

from oa_mockserver._server.state import (
    TRANSITIONS,
    ChatNotFound,
    ChatStore,
    IllegalTransition,
    InvalidCursor,
    InvalidParent,
    MessageNotFound,
    ParentNotFound,
    decode_cursor,
    encode_cursor,
    transition,
)

WP = {"model_config": {"model_id": "_lorem"}}


def _turn(store: ChatStore, owner: str = "u") -> tuple[str, str, str]:
    chat = store.create_chat(owner)
    prompter = store.add_prompter_message(owner, chat.id, None, "hello")
    assistant = store.add_assistant_message(owner, chat.id, prompter.id, work_parameters=WP)
    return chat.id, prompter.id, assistant.id


def test_first_prompt_titles_the_chat_and_touches_modified_at() -> None:
    store = ChatStore()
    chat = store.create_chat("u")
    message = store.add_prompter_message("u", chat.id, None, "Title me")
    assert chat.title == "Title me"
    assert chat.modified_at == message.created_at
    assert message.read()["state"] == "manual"
    assert message.read()["work_parameters"] is None


def test_parent_rules_of_the_real_server() -> None:
    store = ChatStore()
    chat_id, prompter_id, assistant_id = _turn(store)
    with pytest.raises(InvalidParent, match="first message to non-empty chat"):
        store.add_prompter_message("u", chat_id, None, "x")
    with pytest.raises(InvalidParent, match="not an assistant message"):
        store.add_prompter_message("u", chat_id, prompter_id, "x")
    with pytest.raises(InvalidParent, match="not complete"):
        store.add_prompter_message("u", chat_id, assistant_id, "x")
    with pytest.raises(ParentNotFound):
        store.add_prompter_message("u", chat_id, "nope", "x")
    with pytest.raises(InvalidParent, match="not a prompter message"):
        store.add_assistant_message("u", chat_id, assistant_id, work_parameters=WP)
    message = store.message("u", chat_id, assistant_id)
    transition(message, "start")
    transition(message, "finish", content="done")
    assert store.add_prompter_message("u", chat_id, assistant_id, "more").parent_id == assistant_id


def test_other_users_chats_do_not_exist() -> None:
    store = ChatStore()
    chat_id, prompter_id, _ = _turn(store, "alice")
    with pytest.raises(ChatNotFound):
        store.chat("bob", chat_id)
    with pytest.raises(ChatNotFound):
        store.message("bob", chat_id, prompter_id)
    with pytest.raises(MessageNotFound):
        store.message("alice", chat_id, "nope")


@pytest.mark.parametrize(
    ("state", "event"),
    [
        (s, e)
        for s in ("pending", "in_progress", "complete", "cancelled")
        for e in ("start", "finish", "abort", "cancel", "timeout")
    ],
)
def test_transition_table_is_the_only_law(state: str, event: str) -> None:
    store = ChatStore()
    chat_id, _, assistant_id = _turn(store)
    message = store.message("u", chat_id, assistant_id)
    message.state = state
    if (state, event) in TRANSITIONS:
        transition(message, event)
        assert message.state == TRANSITIONS[(state, event)]
    else:
        with pytest.raises(IllegalTransition):
            transition(message, event)
        assert message.state == state


@pytest.mark.parametrize("bad", ["%%%", "not base64!", "/w=="])
def test_bad_cursors_are_typed_errors(bad: str) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(bad)


def test_cursor_round_trip() -> None:
    assert (
        decode_cursor(encode_cursor("06b04969-bd73-740d-8000-792f29c174a4"))
        == "06b04969-bd73-740d-8000-792f29c174a4"
    )


class StoreMachine(RuleBasedStateMachine):
    """The store against a model: owner -> {chat id: [roles of its messages]}."""

    chats = Bundle("chats")

    def __init__(self) -> None:
        super().__init__()
        self.store = ChatStore()
        self.model: dict[str, tuple[str, list[tuple[str, str]]]] = {}

    @rule(target=chats, owner=st.sampled_from(["alice", "bob"]))
    def create(self, owner: str) -> tuple[str, str]:
        chat = self.store.create_chat(owner)
        self.model[chat.id] = (owner, [])
        return owner, chat.id

    @rule(ref=chats, content=st.text(max_size=5))
    def prompt(self, ref: tuple[str, str], content: str) -> None:
        owner, chat_id = ref
        if chat_id not in self.model:
            with pytest.raises(ChatNotFound):
                self.store.add_prompter_message(owner, chat_id, None, content)
            return
        messages = self.model[chat_id][1]
        complete = [mid for mid, role in messages if role == "assistant-complete"]
        parent = complete[-1] if complete else None
        if parent is None and messages:
            with pytest.raises(InvalidParent):
                self.store.add_prompter_message(owner, chat_id, None, content)
            return
        message = self.store.add_prompter_message(owner, chat_id, parent, content)
        messages.append((message.id, "prompter"))

    @rule(ref=chats, finish=st.booleans())
    def answer(self, ref: tuple[str, str], finish: bool) -> None:
        owner, chat_id = ref
        if chat_id not in self.model:
            return
        prompts = [mid for mid, role in self.model[chat_id][1] if role == "prompter"]
        if not prompts:
            return
        message = self.store.add_assistant_message(owner, chat_id, prompts[-1], work_parameters=WP)
        role = "assistant-pending"
        if finish:
            transition(message, "start")
            transition(message, "finish", content="x")
            role = "assistant-complete"
        self.model[chat_id][1].append((message.id, role))

    @rule(ref=consumes(chats), intruder=st.booleans())
    def delete(self, ref: tuple[str, str], intruder: bool) -> None:
        owner, chat_id = ref
        if chat_id not in self.model:
            with pytest.raises(ChatNotFound):
                self.store.delete_chat(owner, chat_id)
            return
        if intruder:
            with pytest.raises(ChatNotFound):
                self.store.delete_chat("mallory", chat_id)
        self.store.delete_chat(owner, chat_id)
        del self.model[chat_id]

    @invariant()
    def matches_model(self) -> None:
        assert {c.id for c in self.store.chats()} == set(self.model)
        for chat in self.store.chats():
            owner, messages = self.model[chat.id]
            assert chat.owner == owner
            assert list(chat.messages) == [mid for mid, _ in messages]
            if messages:
                assert chat.title is not None
        for owner in ("alice", "bob"):
            listed = self.store.list_chats(owner, limit=100).chats
            assert [c.id for c in listed] == sorted(
                (cid for cid, (o, _) in self.model.items() if o == owner), reverse=True
            )


TestStoreMachine = StoreMachine.TestCase
