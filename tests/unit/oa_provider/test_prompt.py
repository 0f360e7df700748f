"""Message validation and the original provider's flattening."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oa_provider._prompt import LLAMA2_TEMPLATE, Prompt, build_prompt, validate_messages


def test_one_user_message_is_sent_as_is() -> None:
    assert build_prompt([{"role": "user", "content": "Привет, как дела?"}]) == Prompt(
        "Привет, как дела?"
    )


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        pytest.param(
            [("user", "Hi"), ("assistant", "Hello!"), ("user", "Tell me a joke")],
            Prompt("User: Hi\nAssistant: Hello!\nUser: Tell me a joke\nAssistant:"),
            id="several-messages-become-role-lines-ending-with-assistant",
        ),
        pytest.param(
            [("system", "Be brief."), ("user", "Hi")],
            Prompt("Hi", system_prompt="Be brief."),
            id="system-message-goes-to-system-prompt-not-the-prompt",
        ),
        pytest.param(
            [("system", "A"), ("user", "Hi"), ("system", "B")],
            Prompt("Hi", system_prompt="A\n\nB"),
            id="several-system-messages-are-joined",
        ),
    ],
)
def test_messages_flatten_to_one_prompt(messages: list[tuple[str, str]], expected: Prompt) -> None:
    assert build_prompt([{"role": r, "content": c} for r, c in messages]) == expected


def test_template_is_opt_in_and_keeps_braces_in_text() -> None:
    prompt = build_prompt([{"role": "user", "content": "{x} }{"}], prompt_template=LLAMA2_TEMPLATE)
    assert prompt.content == "<s>[INST]\n{x} }{\n[/INST]"


def test_template_without_placeholder_is_refused() -> None:
    with pytest.raises(ValueError, match="prompt"):
        build_prompt([{"role": "user", "content": "x"}], prompt_template="<s>[INST]")


@pytest.mark.parametrize(
    ("messages", "index"),
    [
        ([{"role": "user", "content": "a"}, {"role": "robot", "content": "b"}], 1),
        ([{"role": "user", "content": 3}], 0),
        ([{"role": "user"}], 0),
        ([{"role": "user", "content": "a"}, "hello"], 1),
        ([{"role": "user", "content": "a"}, {"role": "user", "content": "b", "name": "x"}], 1),
    ],
)
def test_bad_message_names_its_index(messages: list[object], index: int) -> None:
    with pytest.raises(ValueError, match=rf"messages\[{index}\]"):
        validate_messages(messages)


@pytest.mark.parametrize("messages", ["hello", None, {"role": "user", "content": "x"}])
def test_not_a_list_is_a_type_error(messages: object) -> None:
    with pytest.raises(TypeError, match="list"):
        validate_messages(messages)


@pytest.mark.parametrize(
    "messages", [[], [{"role": "system", "content": "x"}], [{"role": "assistant", "content": "x"}]]
)
def test_a_user_message_is_required(messages: list[object]) -> None:
    with pytest.raises(ValueError, match="user"):
        build_prompt(messages)


_message = st.fixed_dictionaries(
    {"role": st.sampled_from(["system", "user", "assistant"]), "content": st.text(max_size=30)}
)


@given(st.lists(_message, min_size=1, max_size=8))
def test_flattening_properties(messages: list[dict[str, str]]) -> None:
    if not any(m["role"] == "user" for m in messages):
        with pytest.raises(ValueError, match="user"):
            build_prompt(messages)
        return
    prompt = build_prompt(messages)
    turns = [m for m in messages if m["role"] != "system"]
    systems = [m["content"] for m in messages if m["role"] == "system"]
    assert prompt.system_prompt == ("\n\n".join(systems) if systems else None)
    if len(turns) == 1:
        assert prompt.content == turns[0]["content"]
    else:
        assert prompt.content.endswith("\nAssistant:")
        for turn in turns:
            assert f"{turn['role'].capitalize()}: {turn['content']}" in prompt.content
