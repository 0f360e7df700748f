"""The final ``message`` event made from its template is the encoded MessageRead."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from oa_mockserver._server import wire as _wire
from oa_mockserver._server.generation import Generation
from oa_mockserver._server.state import ChatStore, Message, transition

_scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.text()
json_values = st.recursive(
    _scalars | st.floats(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


_maybe_text = st.none() | st.text()


@given(
    id_=st.text(),
    parent_id=_maybe_text,
    content=_maybe_text,
    role=st.sampled_from(["assistant", "prompter"]),
    state=st.sampled_from(["complete", "aborted_by_worker", "manual"]),
    score=st.integers(-(2**70), 2**70),
    work=st.none() | st.dictionaries(st.text(), json_values, max_size=6),
)
def test_the_message_event_template_is_the_encoded_message(
    id_: str,
    parent_id: str | None,
    content: str | None,
    role: str,
    state: str,
    score: int,
    work: dict[str, Any] | None,
) -> None:
    message = Message(
        id=id_,
        parent_id=parent_id,
        chat_id="06b04969-bd73-740d-8000-792f29c174a4",
        role=role,
        state=state,
        created_at="2026-11-24T12:00:00.123456",
        content=content,
        work_parameters=work,
        score=score,
    )
    assert message.event() == _wire.message_event(message.read())


def test_a_generated_reply_ends_with_the_template_event() -> None:
    store = ChatStore()
    chat = store.create_chat("owner")
    prompt = store.add_prompter_message("owner", chat.id, None, 'Grüße, "quoted"\n')
    message = store.add_assistant_message(
        "owner",
        chat.id,
        prompt.id,
        work_parameters={"sampling_parameters": {"top_p": 0.95}, "seed": 2**64 - 1},
    )
    generation = Generation(message)
    transition(message, "start")
    generation.extend(["Ipsum ", "dolor."])
    generation.finish()
    assert generation.final == _wire.message_event(message.read())
    assert json.loads(generation.final[len(b"data: ") :])["message"]["content"] == "Ipsum dolor."
