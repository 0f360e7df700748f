"""Pure replay pieces: the request matcher, the rechunker and the timing schedule."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oa_mockserver import CassetteMismatchError, ConfigError
from oa_mockserver.recording import Timing, rechunk
from oa_mockserver.recording._match import (
    MatchRules,
    diff_fields,
    find_match,
    request_fields,
    route_of,
)
from oa_mockserver.recording._rechunk import nasty_cut_points
from oa_mockserver.recording._timing import parse_timing

CHAT = "06b04969-bd73-740d-8000-792f29c174a4"


def assistant(temperature: float = 0.35, model: str = "_lorem", chat: str = CHAT) -> dict:
    body = {
        "chat_id": chat,
        "parent_id": "06b04969-0000-740d-8000-792f29c174a4",
        "model_config_name": model,
        "sampling_parameters": {"top_k": 50, "temperature": temperature},
        "plugins": [],
    }
    return request_fields("POST", "/api/chat/assistant_message", body, thread=["hi"])


def test_fields_leave_ids_out_and_name_the_route() -> None:
    fields = request_fields("get", f"/chats/{CHAT}/messages/{CHAT}/events?chat_id=x&limit=3")
    assert fields == {
        "method": "GET",
        "route": "/chats/{id}/messages/{id}/events",
        "query.limit": "3",
    }
    assert assistant(chat="a") == assistant(chat="b")
    assert route_of("/api/chat") == "/api/chat"


def test_match_ignore_and_tolerance() -> None:
    recorded = [assistant(0.35), assistant(0.9)]
    assert find_match(assistant(0.9), recorded).index == 1
    assert find_match(assistant(0.36), recorded).index is None
    loose = MatchRules(tolerance={"sampling.*": 0.05})
    assert find_match(assistant(0.36), recorded, loose).index == 0
    assert find_match(assistant(0.36), recorded, loose, used={0}).index is None
    assert (
        find_match(assistant(model="x"), recorded, MatchRules(ignore=frozenset({"model"}))).index
        == 0
    )


def test_miss_names_the_nearest_and_each_difference() -> None:
    recorded = [request_fields("POST", "/api/chat"), assistant(0.35, model="_lorem")]
    result = find_match(assistant(0.5, model="big"), recorded)
    assert result.nearest == 1
    assert [(d.name, d.recorded, d.actual) for d in result.diffs] == [
        ("model", "_lorem", "big"),
        ("sampling.temperature", 0.35, 0.5),
    ]
    text = result.explain()
    assert "#1" in text
    assert "model: recorded '_lorem', got 'big'" in text
    with pytest.raises(CassetteMismatchError, match="nearest is #1") as info:
        result.raise_if_missed()
    assert isinstance(info.value, AssertionError)
    assert find_match(assistant(), []).explain().startswith("no recorded request")


def test_absent_fields_differ() -> None:
    diffs = diff_fields({"a": 1}, {"b": 1})
    assert [str(d) for d in diffs] == [
        "a: recorded 1, got '<absent>'",
        "b: recorded '<absent>', got 1",
    ]


@given(st.dictionaries(st.sampled_from(["a", "b", "c"]), st.integers(0, 3)))
def test_a_request_always_matches_itself(fields) -> None:
    assert find_match(fields, [{"x": 1}, fields]).index in {0, 1}
    assert diff_fields(fields, fields) == []


# --- rechunk ---------------------------------------------------------------------------------

STREAM = (
    'data: {"event_type": "token", "text": "Привет 👋"}\r\n\r\n'
    ": ping - 2026-11-23 19:40:43.367684\r\n\r\n"
    'data: {"event_type": "token", "text": "мир"}\r\n\r\n'
).encode()


@given(data=st.binary(max_size=300), seed=st.integers(), pieces=st.none() | st.integers(1, 50))
def test_rechunk_joined_is_identical(data: bytes, seed: int, pieces) -> None:
    out = rechunk(data, seed, pieces=pieces)
    assert b"".join(out) == data
    assert all(out)
    assert rechunk(data, seed, pieces=pieces) == out


@given(seed=st.integers(0, 10_000))
def test_rechunk_prefers_the_nasty_places(seed: int) -> None:
    out = rechunk(STREAM, seed, pieces=9, nasty_share=1.0)
    cuts = set()
    position = 0
    for piece in out[:-1]:
        position += len(piece)
        cuts.add(position)
    assert cuts <= set(nasty_cut_points(STREAM))
    assert len(out) == 9


def test_nasty_points_are_mid_crlf_and_mid_utf8() -> None:
    points = nasty_cut_points("a\r\nб".encode())
    assert points == [2, 4]


def test_rechunk_validates() -> None:
    with pytest.raises(ConfigError, match="pieces"):
        rechunk(b"ab", 1, pieces=0)
    with pytest.raises(ConfigError, match="nasty_share"):
        rechunk(b"ab", 1, nasty_share=2)
    assert rechunk(b"", 1) == []


# --- timing ----------------------------------------------------------------------------------


def test_timing_modes() -> None:
    recorded = [0.0, 0.2, 0.4, 0.41]
    assert Timing.exact().delays(recorded) == pytest.approx([0.0, 0.2, 0.2, 0.01])
    assert Timing(2).offsets(recorded) == pytest.approx([0.0, 0.1, 0.2, 0.205])
    assert Timing.instant().delays(recorded) == [0.0] * 4
    assert parse_timing("exact") == Timing(1.0)
    assert parse_timing("instant").is_instant
    assert parse_timing("2").speed == 2.0
    with pytest.raises(ConfigError, match="speed factor"):
        parse_timing("fast")
    with pytest.raises(ConfigError, match="> 0"):
        Timing(0)
    with pytest.raises(ConfigError):
        Timing(math.nan)


@given(st.lists(st.floats(0, 100), max_size=20), st.floats(0.1, 10))
def test_delays_never_negative_and_sum_to_last_offset(offsets, speed) -> None:
    delays = Timing(speed).delays(offsets)
    assert all(d >= 0 for d in delays)
    if offsets:
        assert sum(delays) == pytest.approx(max(offsets) / speed)
