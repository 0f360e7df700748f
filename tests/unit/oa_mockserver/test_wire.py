"""Serialisation and request validation against the reference's exact bytes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oa_mockserver._validation import (
    InvalidBody,
    decode_json_body,
    validate_assistant,
    validate_prompter,
)
from oa_mockserver._wire import event_bytes, ping_bytes, rest_json, token_event

RECORDINGS = Path(__file__).parents[2] / "reference" / "oa-inference-server-recordings.jsonl"
EXCHANGES = {e["seq"]: e for e in map(json.loads, RECORDINGS.read_text("utf-8").splitlines())}


def _detail(seq: int) -> object:
    return json.loads(EXCHANGES[seq]["response"]["body"])["detail"]


def test_rest_json_is_compact_utf8() -> None:
    assert rest_json({"a": "é", "b": [1, None]}) == '{"a":"é","b":[1,null]}'.encode()


@given(st.text())
def test_token_event_matches_pydantic_v1_json(text: str) -> None:
    raw = token_event(text)
    assert raw == event_bytes({"event_type": "token", "text": text})
    assert raw.isascii()
    assert raw.endswith(b"\r\n\r\n")
    assert json.loads(raw[6:-4]) == {"event_type": "token", "text": text}


def test_recorded_token_bytes() -> None:
    recorded = EXCHANGES[11]["stream"]["http_chunks"][0]["data"].encode()
    assert token_event("Neque ") == recorded
    assert (
        ping_bytes("2026-11-23 19:40:43.367684") == b": ping - 2026-11-23 19:40:43.367684\r\n\r\n"
    )


@pytest.mark.parametrize(
    ("seq", "validator"),
    [
        (23, validate_prompter),
        (24, validate_assistant),
        (25, validate_prompter),
        (26, validate_assistant),
        (27, validate_assistant),
    ],
)
def test_recorded_422_bodies(seq: int, validator: Callable[[Any], object]) -> None:
    request = EXCHANGES[seq]["request"]
    with pytest.raises(InvalidBody) as caught:
        validator(decode_json_body(request["body"].encode(), "application/json"))
    assert caught.value.status == 422
    assert caught.value.detail == _detail(seq)


def test_invalid_utf8_and_non_objects() -> None:
    with pytest.raises(InvalidBody) as caught:
        decode_json_body(b'{"content": "\xff"}', "application/json")
    assert (caught.value.status, caught.value.detail) == (
        400,
        "There was an error parsing the body",
    )
    for body in (b"[1]", b'"x"', b"3"):
        with pytest.raises(InvalidBody) as caught:
            validate_prompter(decode_json_body(body, None))
        assert caught.value.detail == [
            {"loc": ["body"], "msg": "value is not a valid dict", "type": "type_error.dict"}
        ]
    with pytest.raises(InvalidBody) as caught:
        validate_prompter(decode_json_body(b"", "application/json"))
    assert caught.value.detail[0]["type"] == "value_error.missing"


def test_coercions_like_pydantic_v1() -> None:
    body = validate_assistant(
        {
            "parent_id": 5,
            "model_config_name": "_lorem",
            "sampling_parameters": {"temperature": "0.5", "top_k": 3.9},
        }
    )
    assert body.parent_id == "5"
    assert body.sampling_parameters == {
        "top_k": 3,
        "top_p": None,
        "typical_p": None,
        "temperature": 0.5,
        "repetition_penalty": None,
        "max_new_tokens": 1024,
    }


@given(st.binary(max_size=64), st.sampled_from([None, "application/json", "text/plain"]))
def test_validation_never_raises_anything_untyped(raw: bytes, content_type: str | None) -> None:
    status = 0
    try:
        validate_assistant(decode_json_body(raw, content_type), with_chat_id=True)
    except InvalidBody as error:
        status = error.status
    assert status in (0, 400, 422)
