"""The journal's raw entries, the calls built from them, and the stream log."""

from __future__ import annotations

import gc
import json
import threading
from typing import Any

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from oa_mockserver._control.journal import Call, Journal, StreamLog
from oa_mockserver._server.wire import token_event

SECRET = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


def _record(journal: Journal, **overrides: Any) -> None:
    headers = CIMultiDictProxy(
        CIMultiDict(
            [
                ("Host", "127.0.0.1"),
                ("Cookie", f"next-auth.session-token={SECRET}"),
                ("Authorization", f"Bearer {SECRET}"),
                ("X-Trace", "a: b"),
                ("X-Trace", "second"),
                ("Content-Type", "application/json"),
            ]
        )
    )
    values: dict[str, Any] = {
        "method": "POST",
        "path": "/api/chat/prompter_message",
        "query_string": f"chat_id=c%2F1&access_token={SECRET}&q=a+b&q=last",
        "headers": headers,
        "body": json.dumps({"content": "hi", "refresh_token": SECRET}).encode(),
        "content_type": "application/json",
        "status": 200,
        "matched": True,
        "step": "prompter_message",
        "started_at": 1.5,
        "duration_s": 0.25,
        "faults": ("latency",),
        "stream": None,
    }
    journal.record_request(**{**values, **overrides})


def test_a_raw_entry_becomes_a_redacted_call_when_read() -> None:
    journal = Journal()
    _record(journal)
    (call,) = journal.calls
    assert (call.method, call.path, call.status, call.step) == (
        "POST",
        "/api/chat/prompter_message",
        200,
        "prompter_message",
    )
    assert call.query == {"chat_id": "c/1", "access_token": "REDACTED", "q": "last"}
    assert call.headers["Cookie"] == "REDACTED"
    assert call.headers["Authorization"] == "REDACTED"
    assert call.headers["X-Trace"] == "a: b, second"  # a value with ": " survives the round trip
    assert call.json == {"content": "hi", "refresh_token": "REDACTED"}
    assert (call.started_at, call.duration_s, call.faults) == (1.5, 0.25, ("latency",))
    assert SECRET not in repr(call.to_json()) + call.describe()


def test_a_call_is_built_once_and_kept() -> None:
    journal = Journal()
    _record(journal)
    _record(journal, path="/api/chat", step="create_chat")
    first = journal.calls
    assert journal.calls[0] is first[0]
    assert journal.last is first[1]
    assert journal.call_count == len(journal) == 2
    assert journal.clear() == 2
    assert journal.calls == []


def test_entries_leave_the_garbage_collector_alone() -> None:
    journal = Journal()
    _record(journal)
    log = StreamLog(1.0)
    log.add(1.5, token_event("a "))
    log.add(2.0, b'data: {"event_type": "message", "message": {}}\r\n\r\n')
    _record(journal, step="events", stream=log)
    gc.collect()
    gc.collect()
    assert [gc.is_tracked(entry) for entry in journal._items] == [False, False]
    (_, call) = journal.calls
    assert call.stream is not None
    assert [(c.at, c.kind) for c in call.stream.chunks] == [(1.5, "token"), (2.0, "message")]


def test_readers_see_whole_calls_while_the_server_appends() -> None:
    journal = Journal()
    total = 3000
    seen: list[int] = []

    def server() -> None:
        for index in range(total):
            _record(journal, status=200 + index % 2)

    writer = threading.Thread(target=server)
    writer.start()
    while writer.is_alive() or len(seen) < 2:
        calls = journal.calls
        assert all(isinstance(call, Call) for call in calls)
        last = journal.last
        assert last is None or isinstance(last, Call)
        seen.append(len(calls))
    writer.join()
    assert seen == sorted(seen)  # a snapshot never shrinks while only the server writes
    calls = journal.calls
    assert len(calls) == total
    assert [call.status for call in calls] == [200 + index % 2 for index in range(total)]


@pytest.mark.parametrize("repeat", [1, 2])  # the second time, the token's code is cached
def test_stream_log_freezes_to_sizes_and_kinds(repeat: int) -> None:
    written = [
        (10.5, token_event("Hi ")),
        (11.0, b": ping - 2026-11-24 10:00:00.000000\r\n\r\n"),
        (11.2, b'data: {"event_type": "no_such_kind"}\r\n\r\n'),
        (11.3, token_event("there")),
        (11.4, b"data: {broken\r\n\r\n"),
        (11.5, b'data: {"event_type": "message", "message": {}}\r\n\r\n'),
    ]
    for _ in range(repeat):
        log = StreamLog(10.0)
        for at, chunk in written:
            log.add(at, chunk)
        log.final_written = True
        live = log.chunks
        thawed = StreamLog.thaw(log.freeze())
    expected = ["token", "ping", "no_such_kind", "token", "raw", "message"]
    for chunks in (live, thawed.chunks):
        assert [c.kind for c in chunks] == expected
        assert [c.size for c in chunks] == [len(chunk) for _, chunk in written]
        assert [c.offset_s for c in chunks] == pytest.approx([at - 10.0 for at, _ in written])
    assert thawed.tokens_written == log.tokens_written == 2
    assert thawed.last_token_at == log.last_token_at == 11.3
    assert thawed.final_written
    assert not thawed.client_disconnected
    assert StreamLog.thaw(StreamLog().freeze()).last_token_at is None
