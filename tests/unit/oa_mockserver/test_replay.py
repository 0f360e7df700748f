"""Pure replay pieces: id rewriting keeps boundaries, plans end as recorded, config validates."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oa_mockserver import ConfigError, ServerConfig
from oa_mockserver.recording import Chunk, RecordedResponse
from oa_mockserver.recording._replay import RecordedReply, plan_reply, rewrite_ids
from oa_mockserver.recording._timing import ReplaySettings

OLD = "06b04969-bd73-740d-8000-792f29c174a4"
NEW = "11111111-2222-3333-4444-555555555555"


@given(st.lists(st.integers(min_value=0, max_value=200), max_size=8), st.integers(0, 3))
def test_rewrite_ids_replaces_every_id_and_keeps_equal_length_cuts(cuts, copies) -> None:
    data = (b"data: {" + (b'"id": "' + OLD.encode() + b'", ') * copies + b"}\r\n\r\n") * 2
    points = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    pieces = [data[a:b] for a, b in itertools.pairwise(points) if b > a] or [data]
    out = rewrite_ids(pieces, {OLD: NEW})
    assert b"".join(out) == data.replace(OLD.encode(), NEW.encode())
    assert [len(p) for p in out] == [len(p) for p in pieces]


def test_rewrite_ids_moves_a_cut_inside_a_shorter_id_to_its_end() -> None:
    data = b'x"' + OLD.encode() + b'"y'
    out = rewrite_ids([data[:10], data[10:]], {OLD: "abc"})
    assert out == [b'x"abc', b'"y']


def _reply(body: bytes, pieces: list[bytes]) -> RecordedReply:
    stream = RecordedResponse(
        status=200, body=body, chunks=tuple(Chunk(0.1 * i, p) for i, p in enumerate(pieces))
    )
    answer = RecordedResponse(status=200, body=b"{}")
    return RecordedReply(
        source="x.yaml:1",
        fields={},
        answer=answer,
        chat_id="c-old",
        ids=("p-old", "a-old"),
        stream=stream,
    )


def test_plan_of_a_complete_stream_ends_with_the_final_event_and_live_ids() -> None:
    token = b'data: {"event_type": "token", "text": "Hi"}\r\n\r\n'
    final = (
        b'data: {"event_type": "message", "message": '
        b'{"id": "a-old", "chat_id": "c-old", "content": "Hi"}}\r\n\r\n'
    )
    plan = plan_reply(
        _reply(token + final, [token, final]), "c-new", ["p-new", "a-new"], ReplaySettings()
    )
    assert plan.complete
    assert plan.content == "Hi"
    assert plan.pieces[0] == token
    assert b'"a-new"' in plan.pieces[-1]
    assert b'"c-new"' in plan.pieces[-1]
    assert plan.delays == (0.0, 0.0)


def test_plan_of_an_error_stream_is_incomplete_and_exact_timing_keeps_the_pace() -> None:
    token = b'data: {"event_type": "token", "text": "Hi"}\r\n\r\n'
    error = b'data: {"event_type": "error", "error": "boom", "message": null}\r\n\r\n'
    settings = ServerConfig(replay_timing="exact", replay_speed=2.0).replay_settings
    plan = plan_reply(_reply(token + error, [token, error]), "c", ["p", "a"], settings)
    assert not plan.complete
    assert plan.content is None
    assert plan.delays == pytest.approx((0.0, 0.05))


def test_rechunk_timing_cuts_the_same_bytes_differently() -> None:
    body = b'data: {"event_type": "token", "text": "\\u043f\\u0440"}\r\n\r\n' * 20
    settings = ServerConfig(replay_timing="rechunk", rechunk_seed=5).replay_settings
    plan = plan_reply(_reply(body, [body]), "c", ["p", "a"], settings)
    assert b"".join(plan.pieces) == body
    assert len(plan.pieces) >= 2


@pytest.mark.parametrize(
    "options",
    [
        {"replay_timing": "fast"},
        {"replay_speed": 0},
        {"replay_speed": float("nan")},
        {"rechunk_seed": -1},
        {"strict_replay": "yes"},
        {"match_ignore": "sampling.*"},
        {"match_tolerance": {"sampling.temperature": -1}},
        {"cassettes": ""},
    ],
)
def test_bad_replay_options_raise_config_error(options) -> None:
    with pytest.raises(ConfigError):
        ServerConfig(**options)


def test_match_options_become_rules() -> None:
    config = ServerConfig(match_ignore={"sampling.*"}, match_tolerance={"body.x": 0.5})
    rules = config.replay_settings.rules
    assert rules.ignores("sampling.top_k")
    assert rules.tolerance_for("body.x") == 0.5
