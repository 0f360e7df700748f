"""Each fast path of the server's hot path gives exactly what the path it stands in for gives.

The server answers most requests through cheaper routes (msgspec for JSON, a type check before
the pydantic-shaped validation, floats spliced into msgspec output); each is held here, by
property, to the slower reference it replaces, and each is shown to be taken for the bodies real
clients send, so that a regression to the slow path cannot pass unnoticed either.
"""

from __future__ import annotations

import json
import math
from typing import Any

import msgspec
import pytest
from aiohttp.test_utils import make_mocked_request
from hypothesis import given, settings
from hypothesis import strategies as st

from oa_mockserver import _wire
from oa_mockserver._catalog import model_spec
from oa_mockserver._generation import Generation
from oa_mockserver._routes_web import query_of
from oa_mockserver._state import ChatStore, Message, transition
from oa_mockserver._validation import (
    InvalidBody,
    _fast_assistant,
    _fast_prompter,
    _full_assistant,
    _full_prompter,
    decode_json_body,
)
from oa_mockserver._wire import exact_fragment, fastapi_json, float_free_json, work_fragment

# Float-free JSON: what float_free_json promises to render exactly as fastapi_json does.
_scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.text()
plain_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
json_values = st.recursive(
    _scalars | st.floats(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(plain_values)
def test_float_free_json_is_fastapi_json_for_float_free_values(value: Any) -> None:
    assert float_free_json(value) == fastapi_json(value)


_sampling_value = (
    st.none()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.booleans()
    | st.text(max_size=3)
)
_MODELS = ["OA_SFT_Llama_30B_6", "OA_SFT_Pythia_12Bq_4", "_lorem"]


@st.composite
def work_parameters(draw: st.DrawFn) -> dict[str, Any]:
    """Dicts shaped like a message's work_parameters, with every unusual value they may hold."""
    spec = model_spec(draw(st.sampled_from(_MODELS)))
    names = ["top_k", "top_p", "typical_p", "temperature", "repetition_penalty", "max_new_tokens"]
    return {
        "model_config": spec,
        "sampling_parameters": {name: draw(_sampling_value) for name in names},
        "do_sample": True,
        "seed": draw(st.integers(0, 2**64 - 1)),
        "system_prompt": draw(st.none() | st.text(max_size=8)),
        "user_profile": draw(st.none() | st.text(max_size=8)),
        "user_response_instructions": draw(st.none() | st.text(max_size=8)),
        "plugins": draw(st.lists(st.dictionaries(st.text(max_size=3), json_values), max_size=2)),
        "plugin_max_depth": 4,
    }


@given(work_parameters())
def test_work_fragment_is_the_exact_rendering(work: dict[str, Any]) -> None:
    assert bytes(work_fragment(work)) == bytes(exact_fragment(work))


def test_typical_work_parameters_skip_pythons_json(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(value: Any) -> msgspec.Raw:
        raise AssertionError("the exact (slow) rendering was used")

    monkeypatch.setattr(_wire, "exact_fragment", refuse)
    work: dict[str, Any] = {
        "model_config": model_spec("OA_SFT_Llama_30B_6"),
        "sampling_parameters": {
            "top_k": 50,
            "top_p": 0.95,
            "typical_p": None,
            "temperature": 1e-05,
            "repetition_penalty": 1.2,
            "max_new_tokens": 1024,
        },
        "do_sample": True,
        "seed": 2**64 - 1,
        "system_prompt": "Tu es un assistant. 😀",
        "user_profile": None,
        "user_response_instructions": None,
        "plugins": [],
        "plugin_max_depth": 4,
    }
    assert json.loads(bytes(work_fragment(work))) == work
    assert b'"temperature":1e-05' in bytes(work_fragment(work))  # Python's float text


# -- request bodies ------------------------------------------------------------------------


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
    prompt = store.add_prompter_message("owner", chat.id, None, "Grüße, \"quoted\"\n")
    message = store.add_assistant_message(
        "owner", chat.id, prompt.id, {"sampling_parameters": {"top_p": 0.95}, "seed": 2**64 - 1}
    )
    generation = Generation(message)
    transition(message, "start")
    generation.extend(["Ipsum ", "dolor."])
    generation.finish()
    assert generation.final == _wire.message_event(message.read())
    assert json.loads(generation.final[len(b"data: ") :])["message"]["content"] == "Ipsum dolor."


_query_text = st.text(alphabet="ab_.~-=&%+;2F0 é", max_size=24)


@given(_query_text)
def test_the_plain_query_split_is_yarls_query(raw: str) -> None:
    request = make_mocked_request("GET", "/api/chat/events?" + raw)
    ours, theirs = query_of(request), request.query
    assert set(ours) == set(theirs)
    assert {name: ours.get(name) for name in theirs} == {name: theirs.get(name) for name in theirs}


def test_the_web_sites_queries_take_the_plain_split() -> None:
    request = make_mocked_request(
        "GET", "/api/chat/events?chat_id=06b04969-bd73-740d&message_id=06b04969-bd73-741d"
    )
    query = query_of(request)
    assert type(query) is dict  # not yarl's MultiDictProxy: the fast path was taken
    assert query == {"chat_id": "06b04969-bd73-740d", "message_id": "06b04969-bd73-741d"}
