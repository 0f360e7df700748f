"""Status -> exception mapping and aiohttp error translation (map_exceptions)."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

import oa_provider as oa
from oa_provider._http import error_for_status, map_exceptions, parse_retry_after, server_text


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (401, oa.AuthenticationError),
        (403, oa.AuthenticationError),
        (404, oa.ChatNotFoundError),
        (413, oa.MessageTooLongError),
        (422, oa.InvalidRequestError),
        (429, oa.RateLimitError),
        (503, oa.ServerBusyError),
        (500, oa.ResponseError),
        (400, oa.ResponseError),
        (418, oa.ResponseError),
    ],
)
def test_status_mapping(status: int, cls: type[oa.ResponseError]) -> None:
    error = error_for_status(status, "", step="POST /api/chat")
    assert type(error) is cls
    assert isinstance(error, oa.OAError)
    assert isinstance(error, RuntimeError)
    assert error.status == status
    assert "POST /api/chat" in str(error)
    assert str(status) in str(error)


def test_web_site_message_body_becomes_the_text() -> None:
    error = error_for_status(
        422, '{"message":"Model no_such_model not found"}', step="POST /api/chat/assistant_message"
    )
    assert isinstance(error, oa.InvalidRequestError)
    assert "Model no_such_model not found" in str(error)


def test_fastapi_detail_list_is_summarised() -> None:
    body = json.dumps(
        {"detail": [{"loc": ["body", "content"], "msg": "field required", "type": "x"}]}
    )
    assert server_text(body) == "body.content: field required"


@pytest.mark.parametrize("body", ["", "Internal Server Error", "[1]", '{"x": 1}', "{"])
def test_bodies_without_text(body: str) -> None:
    assert server_text(body) is None


def test_body_excerpt_is_bounded() -> None:
    error = error_for_status(500, "x" * 10_000, step="GET /api/chat/events")
    assert len(error.body) == 500


def test_rate_limit_carries_retry_after() -> None:
    error = error_for_status(429, "", step="POST /api/chat/assistant_message", retry_after="7")
    assert isinstance(error, oa.RateLimitError)
    assert error.retry_after == 7.0
    assert "retry after 7 s" in str(error)
    assert error_for_status(429, "", step="x").retry_after is None  # type: ignore[attr-defined]


def test_retry_after_http_date() -> None:
    assert parse_retry_after("Thu, 01 Jan 1970 00:01:40 GMT", now=40.0) == 60.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-5") == 0.0


@given(st.integers(min_value=400, max_value=599), st.text(max_size=50))
def test_every_error_status_maps_to_a_response_error(status: int, text: str) -> None:
    error = error_for_status(status, json.dumps({"message": text}), step="s")
    assert isinstance(error, oa.ResponseError)
    assert error.status == status
    if text:
        assert text in str(error)


def test_map_exceptions_translates_client_errors() -> None:
    with (
        pytest.raises(oa.TransportError, match="POST /api/chat") as info,
        map_exceptions("POST /api/chat"),
    ):
        raise aiohttp.ClientConnectionError("refused")
    assert isinstance(info.value.__cause__, aiohttp.ClientConnectionError)


@pytest.mark.parametrize(
    "exc", [asyncio.TimeoutError(), aiohttp.ServerTimeoutError("read"), TimeoutError()]
)
def test_map_exceptions_translates_timeouts(exc: BaseException) -> None:
    with pytest.raises(oa.RequestTimeoutError, match="2 s"), map_exceptions("GET x", timeout=2.0):
        raise exc


def test_map_exceptions_passes_our_errors_and_others_through() -> None:
    own = oa.ChatNotFoundError("gone", status=404)
    with pytest.raises(oa.ChatNotFoundError) as info, map_exceptions("x"):
        raise own
    assert info.value is own
    with pytest.raises(KeyError), map_exceptions("x"):
        raise KeyError("k")


def test_proxy_credentials_are_scrubbed() -> None:
    with pytest.raises(oa.TransportError) as info, map_exceptions("POST /api/chat"):
        raise aiohttp.ClientConnectionError("proxy http://user:hunter2@proxy:3128 refused")
    assert "hunter2" not in str(info.value)


def test_a_strict_replay_409_is_the_request_s_fault_not_the_server_s() -> None:
    body = json.dumps({"detail": "no recorded assistant_message matches this request"})
    error = error_for_status(409, body, step="POST /api/chat/assistant_message")
    text = str(error)
    assert "no recorded assistant_message matches" in text
    assert "server failed" not in text
    assert "record this conversation" in text


@pytest.mark.parametrize(
    ("status", "blamed"), [(400, "refused"), (418, "refused"), (502, "failed")]
)
def test_unlisted_statuses_blame_the_right_side(status: int, blamed: str) -> None:
    assert f"the server {blamed}" in str(error_for_status(status, "", step="s"))
