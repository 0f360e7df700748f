"""Serialisation and request validation against the reference's exact bytes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oa_mockserver._server.validation import (
    InvalidBody,
    decode_json_body,
    validate_assistant,
    validate_prompter,
)
from oa_mockserver._server.wire import (
    detail_body,
    event_bytes,
    fastapi_json,
    ping_bytes,
    token_event,
)

RECORDINGS = Path(__file__).parents[2] / "reference" / "oa-inference-server-recordings.jsonl"
EXCHANGES = {e["seq"]: e for e in map(json.loads, RECORDINGS.read_text("utf-8").splitlines())}


def _detail(seq: int) -> object:
    return json.loads(EXCHANGES[seq]["response"]["body"])["detail"]


def test_fastapi_json_is_compact_utf8() -> None:
    assert fastapi_json({"a": "é", "b": [1, None]}) == '{"a":"é","b":[1,null]}'.encode()


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


def _answer(raw: bytes, content_type: str | None = "application/json") -> tuple[int, bytes]:
    """The status and rendered error body the inference dialect gives ``raw`` (0: valid)."""
    try:
        validate_assistant(decode_json_body(raw, content_type), with_chat_id=True)
    except InvalidBody as error:
        return error.status, detail_body(error.detail)
    return 0, b""


_JSON_SCRAPS = st.sampled_from(
    [b"{", b"}", b"[", b"]", b'"', b":", b",", b"1", b"-", b"e", b"\\u", b"d800", b"\\", b" "]
)


@given(
    st.lists(
        st.binary(max_size=8)
        | _JSON_SCRAPS
        | st.sampled_from(["\ud800".encode("utf-8", "surrogatepass"), b"\xff", b"9" * 4400]),
        max_size=12,
    ).map(b"".join)
)
def test_every_refusal_renders_as_a_json_body(raw: bytes) -> None:
    # Why: the guard answers 500 "oa_mockserver bug" when rendering the error fails
    status, body = _answer(raw)
    assert status in (0, 400, 422)
    if status:
        assert isinstance(json.loads(body)["detail"], (str, list))


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 100_000,  # deeper than any decoder goes (a RecursionError inside msgspec)
        b'{"content": ' + b"[" * 5_000 + b"]" * 5_000 + b"}",
        b'{"content": "x", "n": ' + b"1" * 4_301 + b"}",  # past int_max_str_digits
        b'{"content": -' + b"9" * 50_000 + b"}",
        b'{"content": "\xed\xa0\x80',  # UTF-8 bytes of a lone surrogate, and not JSON
        b"\x1f\x8b\x08\x00gzip",  # a gzip body: the reference does not inflate it
    ],
    ids=["deep-array", "deep-field", "4301-digits", "50000-digits", "surrogate-bytes", "gzip"],
)
def test_bodies_fastapi_cannot_parse_get_its_400(raw: bytes) -> None:
    assert _answer(raw) == (400, b'{"detail":"There was an error parsing the body"}')


def test_an_integer_of_4300_digits_still_converts() -> None:
    body = b'{"chat_id": "c", "parent_id": "p", "model_config_name": "m", '
    status, answer = _answer(body + b'"sampling_parameters": {"top_k": ' + b"7" * 4_300 + b"}}")
    assert status == 0, answer
