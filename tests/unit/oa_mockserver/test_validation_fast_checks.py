"""The type checks before the pydantic-shaped validation, and body decoding, agree with the full
validation and with Python's json; the providers' bodies take the fast checks."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oa_mockserver._server.validation import (
    InvalidBody,
    _fast_assistant,
    _fast_prompter,
    _full_assistant,
    _full_prompter,
    decode_json_body,
)

_scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.text()
json_values = st.recursive(
    _scalars | st.floats(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def _outcome(check: Any, *args: Any) -> Any:
    try:
        return check(*args)
    except InvalidBody as error:
        return ("invalid", error.status, error.detail)


_field_value = (
    st.none()
    | st.booleans()
    | st.integers(-5, 2**65)
    | st.floats(allow_nan=False)
    | st.text(max_size=5)
    | st.lists(st.dictionaries(st.text(max_size=2), st.integers()) | st.integers(), max_size=2)
    | st.dictionaries(st.sampled_from(["top_k", "top_p", "temperature", "x"]), st.integers())
)
_sampling = st.dictionaries(
    st.sampled_from(
        ["top_k", "top_p", "typical_p", "temperature", "repetition_penalty", "max_new_tokens"]
    ),
    st.none() | st.integers(-3, 2**40) | st.floats(allow_nan=False) | st.booleans() | st.text(),
)
_assistant_keys = [
    "chat_id",
    "parent_id",
    "model_config_name",
    "system_prompt",
    "user_profile",
    "user_response_instructions",
    "plugins",
    "used_plugin",
]


@st.composite
def assistant_bodies(draw: st.DrawFn) -> Any:
    """Mostly valid bodies with a few fields perturbed, and now and then anything at all."""
    if draw(st.integers(0, 9)) == 0:
        return draw(json_values)
    body: dict[str, Any] = {"chat_id": "c", "parent_id": "p", "model_config_name": "m"}
    for key in draw(st.lists(st.sampled_from(_assistant_keys), max_size=3)):
        body[key] = draw(_field_value)
    for key in draw(st.lists(st.sampled_from(_assistant_keys), max_size=2)):
        body.pop(key, None)
    if draw(st.booleans()):
        body["sampling_parameters"] = draw(_sampling | _field_value)
    return body


@settings(max_examples=300)
@given(assistant_bodies(), st.booleans())
def test_fast_assistant_check_agrees_with_the_full_one(body: Any, with_chat_id: bool) -> None:
    fast = _fast_assistant(body, with_chat_id)
    if fast is not None:  # repr: 1 == 1.0, but the wire shows the difference
        assert repr(fast) == repr(_outcome(_full_assistant, body, with_chat_id))


@settings(max_examples=300)
@given(
    st.dictionaries(st.sampled_from(["chat_id", "parent_id", "content", "x"]), _field_value)
    | json_values,
    st.booleans(),
)
def test_fast_prompter_check_agrees_with_the_full_one(body: Any, with_chat_id: bool) -> None:
    fast = _fast_prompter(body, with_chat_id)
    if fast is not None:
        assert repr(fast) == repr(_outcome(_full_prompter, body, with_chat_id))


def test_the_providers_bodies_take_the_fast_checks() -> None:
    assistant: dict[str, Any] = {
        "chat_id": "c",
        "parent_id": "p",
        "model_config_name": "OA_SFT_Llama_30B_6",
        "sampling_parameters": {
            "top_k": 50,
            "top_p": 0.95,
            "typical_p": None,
            "temperature": 0.75,
            "repetition_penalty": 1.2,
            "max_new_tokens": 1024,
        },
        "plugins": [],
        "system_prompt": None,
    }
    assert repr(_fast_assistant(assistant, True)) == repr(_full_assistant(assistant, True))
    prompter = {"chat_id": "c", "parent_id": None, "content": "Привет"}
    assert repr(_fast_prompter(prompter, True)) == repr(_full_prompter(prompter, True))


def _documents() -> st.SearchStrategy[bytes]:
    spaced = json_values.map(lambda v: json.dumps(v, ensure_ascii=False).encode())
    escaped = json_values.map(lambda v: json.dumps(v, indent=1).encode())
    odd = st.sampled_from(
        [b"NaN", b"[Infinity]", b"1e400", b"\xef\xbb\xbf{}", b'{"a":1,"a":2}', b'"\\ud800"']
    )
    return spaced | escaped | odd | st.binary(max_size=40)


@given(_documents())
def test_body_decoding_is_pythons_json(raw: bytes) -> None:
    try:
        expected: Any = json.loads(raw)
        json.dumps(expected, ensure_ascii=False).encode()  # a lone surrogate: refused (400)
    except (ValueError, RecursionError):
        expected = InvalidBody
    if raw and expected is InvalidBody:
        with pytest.raises(InvalidBody):
            decode_json_body(raw, "application/json")
        return
    got = decode_json_body(raw, "application/json")
    # repr: NaN is not equal to itself, and -0.0 == 0.0 would hide a sign
    assert repr(got) == repr(expected if raw else None)
    if isinstance(got, float) and math.isnan(got):
        assert math.isnan(expected)
