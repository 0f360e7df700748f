"""The dashboard's data shaping: journal calls to rows, streams to timeline points, the page."""

from __future__ import annotations

import itertools
import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oa_mockserver._control.dashboard import (
    STALL_MIN_S,
    chat_view,
    row_from_call,
    row_from_json,
    stream_key,
    timeline,
    timeline_of_log,
    user_label,
)
from oa_mockserver._control.dashboard_page import ASSETS, asset_bytes, page_html
from oa_mockserver._control.journal import Call, Journal, StreamLog, call_of
from oa_mockserver._control.replay_log import ReplayLog, ReplayOutcome

TOKEN = b'data: {"event_type": "token", "text": "a"}\n\n'
PING = b": ping\n\n"
FINAL = b'data: {"event_type": "message", "message": {}}\n\n'
SECRET = "ghp_" + "1234567890abcdefghijklmnopqrstuvwxyz"  # a GitHub token's format


def _log(start: float, chunks: list[tuple[float, bytes]]) -> StreamLog:
    log = StreamLog()
    log.start(start)
    for at, data in chunks:
        log.add(at, data)
    return log


offsets = st.lists(st.floats(0, 30, allow_nan=False), max_size=40).map(sorted)
kinds = st.sampled_from(["token", "ping", "pending", "message", "raw"])


@given(
    offsets.flatmap(
        lambda o: st.tuples(st.just(o), st.lists(kinds, min_size=len(o), max_size=len(o)))
    )
)
def test_points_keep_every_chunk_as_the_journal_has_it(case: tuple[list[float], list[str]]) -> None:
    times, names = case
    chunks = [(t, n * 3 + 1, k) for n, (t, k) in enumerate(zip(times, names, strict=False))]
    shown = timeline(chunks, key="k", origin=100.0)
    assert shown["points"] == [[t, s, k] for t, s, k in chunks]
    tokens = [t for t, _, k in chunks if k == "token"]
    assert shown["tokens"] == len(tokens)
    assert shown["ttft"] == (tokens[0] if tokens else None)
    gaps = [b - a for a, b in itertools.pairwise(tokens)]
    assert shown["max_gap"] == (max(gaps) if gaps else None)
    # a stall is a gap between two tokens, and a long one
    for start, length in shown["stalls"]:
        assert start in tokens
        assert length in gaps
        assert length > STALL_MIN_S


def test_a_stall_among_regular_tokens_is_found_and_regular_gaps_are_not() -> None:
    regular = [(0.1 + 0.02 * n, 10, "token") for n in range(10)]
    stalled = [*regular[:5], *[(t + 0.5, s, k) for t, s, k in regular[5:]]]
    assert timeline(regular, key="a", origin=0.0)["stalls"] == []
    stalls = timeline(stalled, key="b", origin=0.0)["stalls"]
    assert len(stalls) == 1
    assert stalls[0][0] == pytest.approx(0.18)
    assert stalls[0][1] == pytest.approx(0.52)


def test_a_live_log_becomes_points_with_its_own_offsets_and_kinds() -> None:
    log = _log(50.0, [(50.2, PING), (50.25, TOKEN), (50.3, TOKEN), (50.31, FINAL)])
    log.final_written = True
    shown = timeline_of_log(log, clock_offset=1_000.0, live=True)
    assert shown["key"] == stream_key(50.0)
    assert shown["origin"] == 1_050.0
    assert [p[0] for p in shown["points"]] == [c.offset_s for c in log.chunks]
    assert [p[2] for p in shown["points"]] == ["ping", "token", "token", "message"]
    assert shown["ttft"] == pytest.approx(0.25)
    assert shown["live"]
    assert shown["final"]
    assert not shown["disconnected"]


def test_a_journaled_call_is_a_row_with_its_stream_and_the_point_the_client_left() -> None:
    journal = Journal()
    log = _log(10.0, [(10.1, TOKEN), (10.2, TOKEN)])
    log.client_disconnected = True
    journal.record_request(
        method="GET", path="/api/chat/events", query_string="chat_id=c1&message_id=m1",
        headers={"Cookie": "next-auth.session-token=" + SECRET}, body=b"", content_type=None,
        status=200, matched=True, step="events", started_at=1_010.0, duration_s=0.35,
        faults=("stall",), stream=log,
    )  # fmt: skip
    call = journal.calls[0]
    row = row_from_call(call, clock_offset=1_000.0, user="web:abc", replay={"outcome": "hit"})
    assert row["seq"] == 1
    assert (row["method"], row["path"], row["status"], row["step"]) == (
        "GET",
        "/api/chat/events",
        200,
        "events",
    )
    assert row["faults"] == ["stall"]
    assert row["user"] == "web:abc"
    assert row["replay"] == {"outcome": "hit"}
    assert row["query"] == {"chat_id": "c1", "message_id": "m1"}
    stream = row["stream"]
    assert [p[0] for p in stream["points"]] == [c.offset_s for c in call.stream.chunks]  # type: ignore[union-attr]
    assert stream["disconnected"]
    assert not stream["final"]
    assert stream["end"] == pytest.approx(0.35)  # arrival + duration, from the stream's start
    assert SECRET not in json.dumps(row)


def test_a_saved_journal_item_is_the_same_row() -> None:
    journal = Journal()
    log = _log(1.0, [(1.05, TOKEN), (1.1, FINAL)])
    log.final_written = True
    journal.record_request(
        method="GET", path="/api/chat/events", query_string="", headers={}, body=b"",
        content_type=None, status=200, matched=True, step="events", started_at=5.0,
        duration_s=0.2, faults=(), stream=log,
    )  # fmt: skip
    saved = json.loads(json.dumps(journal.page().calls[0].to_json()))
    row = row_from_json(saved)
    assert row["seq"] == 1
    assert row["stream"]["points"] == saved["stream"]["chunks"]
    assert row["stream"]["origin"] == 5.0
    assert row["stream"]["ttft"] == pytest.approx(0.05)
    assert row["stream"]["final"]
    assert row_from_json({"method": "GET", "path": "/x", "status": 404})["stream"] is None


def test_users_are_labelled_without_their_cookie() -> None:
    assert user_label("web:0123456789abcdef") == "web:01234567"
    assert user_label("inference:alice") == "inference:alice"
    assert user_label(None) is None


def test_a_chat_view_redacts_secrets_in_prompts_as_the_journal_does() -> None:
    view = chat_view(
        chat_id="c1", owner="web:ffffffffffffffff", title=None,
        messages=[
            {"id": "m1", "parent_id": None, "role": "prompter", "state": "manual",
             "content": f"my key is {SECRET}"},
            {"id": "m2", "parent_id": "m1", "role": "assistant", "state": "pending",
             "content": None},
        ],
    )  # fmt: skip
    assert view["user"] == "web:ffffffff"
    assert SECRET not in json.dumps(view)
    assert "my key is" in view["messages"][0]["content"]
    assert [(m["id"], m["parent_id"], m["state"]) for m in view["messages"]] == [
        ("m1", None, "manual"),
        ("m2", "m1", "pending"),
    ]


def test_the_page_ships_its_three_files_inlined_and_nothing_from_elsewhere() -> None:
    page = page_html()
    assert "/*OA-CSS*/" not in page
    assert "/*OA-JS*/" not in page
    assert 'id="oa-report"' not in page
    assert not re.search(r"""(src|href)=["']https?:""", page)  # no CDN, no remote file
    assert asset_bytes() == sum(len(page_html.__globals__["_asset"](n).encode()) for n in ASSETS)
    assert asset_bytes() < 40_000


def test_embedded_data_cannot_end_its_script_element() -> None:
    body = "</script><script>alert(1)</script>"
    page = page_html({"title": "t", "rows": [], "details": {"1": {"body": body}}})
    embedded = re.search(
        r'<script type="application/json" id="oa-report">(.*?)</script>', page, re.S
    )
    assert embedded is not None
    assert json.loads(embedded.group(1))["details"]["1"]["body"] == body
    assert page.count("<script>alert(1)") == 0


def test_the_replay_log_keeps_the_latest_decisions_and_lists_strict_misses() -> None:
    log = ReplayLog(kept=3)
    miss = ReplayOutcome(
        "strict-miss", "a.yaml:3", ({"field": "content", "recorded": "a", "actual": "b"},)
    )
    for seq, outcome in enumerate(
        [ReplayOutcome("hit"), miss, ReplayOutcome("miss"), ReplayOutcome("hit")], start=1
    ):
        log.note(seq, outcome)
    assert log.get(1) is None  # the oldest was forgotten
    assert log.get(2) == miss
    assert log.misses() == [(2, miss)]
    assert miss.to_json()["differences"] == [{"field": "content", "recorded": "a", "actual": "b"}]


def test_a_built_call_has_no_raw_headers() -> None:
    from oa_mockserver._control.journal import raw_headers

    journal = Journal()
    journal.record_request(
        method="GET", path="/", query_string="", headers={"Cookie": "a=b"}, body=b"",
        content_type=None, status=200, matched=True, step=None, started_at=0.0,
        duration_s=0.0, faults=(), stream=None,
    )  # fmt: skip
    item = journal.window().items[0][1]
    assert raw_headers(item) == "Cookie: a=b"
    assert raw_headers(call_of(1, item)) is None
    assert isinstance(call_of(1, item), Call)


def test_a_summary_has_no_headers_nor_body_and_a_redacted_query() -> None:
    from oa_mockserver._control.journal import call_summary

    journal = Journal()
    body = f'{{"content": "{SECRET}"}}'.encode()
    journal.record_request(
        method="POST", path="/api/chat/prompter_message", query_string=f"token={SECRET}&a=1",
        headers={"Cookie": "next-auth.session-token=" + SECRET}, body=body,
        content_type="application/json", status=200, matched=True, step="prompter_message",
        started_at=3.0, duration_s=0.01, faults=("latency",), stream=None,
    )  # fmt: skip
    seq, item = journal.window().items[0]
    summary = call_summary(seq, item)
    assert (summary.headers, summary.body, summary.body_size) == ({}, b"", len(body))
    assert summary.query == {"token": "REDACTED", "a": "1"}
    full = call_of(seq, item)
    assert (summary.method, summary.path, summary.status, summary.step, summary.faults) == (
        full.method, full.path, full.status, full.step, full.faults,
    )  # fmt: skip
    assert call_summary(seq, full).headers == {}  # from a call built already, the same


def test_the_policy_names_the_pages_own_script_and_style_by_hash() -> None:
    import base64
    import hashlib

    from oa_mockserver._control.dashboard_page import content_security_policy

    page, policy = page_html(), content_security_policy()

    def hashed(text: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"

    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    styles = re.findall(r"<style>(.*?)</style>", page, re.S)
    assert len(scripts) == 1
    assert len(styles) == 1
    assert f"script-src {hashed(scripts[0])};" in policy
    assert f"style-src {hashed(styles[0])};" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy


def test_the_answer_log_is_bounded_cuts_bodies_and_redacts_when_read() -> None:
    from oa_mockserver._control.answer_log import BODY_KEPT, AnswerLog

    log = AnswerLog(kept=2)
    log.keep(1, 200, "application/json", b'{"id": "a"}')
    log.keep(2, 200, "application/json", json.dumps({"access_token": SECRET}).encode())
    log.keep(3, 200, "text/plain", b"x" * (BODY_KEPT + 10))
    assert log.read(1) is None  # the oldest was forgotten
    token = log.read(2)
    assert token is not None
    assert SECRET not in token["body"]
    long = log.read(3)
    assert long is not None
    assert (len(long["body"]), long["body_size"], long["body_truncated"]) == (
        BODY_KEPT, BODY_KEPT + 10, True,
    )  # fmt: skip
