"""The journal's bound: drops counted, sequence ids, pages, bodies kept cut with a marker."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiohttp.test_utils import make_mocked_request
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from oa_mockserver import (
    TRUNCATED_MARKER,
    ConfigError,
    Journal,
    JournalPageError,
    ServerConfig,
    create_app,
)
from oa_mockserver._control.journal import MAX_PAGE_SIZE
from oa_mockserver._server.app import context_of
from oa_mockserver._server.routes.admin import _SLICE, _requests

HEADERS = {"Host": "127.0.0.1", "Content-Type": "application/json"}


def _record(journal: Journal, index: int = 0, **overrides: Any) -> None:
    values: dict[str, Any] = {
        "method": "POST",
        "path": f"/api/chat/{index}",
        "query_string": "",
        "headers": HEADERS,
        "body": b"",
        "content_type": "application/json",
        "status": 200,
        "matched": True,
        "step": None,
        "started_at": 0.0,
        "duration_s": 0.0,
        "faults": (),
        "stream": None,
    }
    journal.record_request(**{**values, **overrides})


def _walk(journal: Journal, limit: int) -> list[int]:
    """Every sequence id read page by page from the start (each page checked on its way)."""
    seen: list[int] = []
    page = journal.page(limit=limit)
    while True:
        assert len(page.calls) <= limit
        seen += [call.seq for call in page.calls]
        if not page.has_more:
            return seen
        assert page.calls, "a page that says more follows must not be empty"
        page = journal.page(after=page.next_after, limit=limit)


class BoundedJournal(RuleBasedStateMachine):
    """The journal against a plain list of what it must keep."""

    def __init__(self) -> None:
        super().__init__()
        self.limit = 0
        self.journal = Journal()
        self.kept: list[tuple[int, bool]] = []  # (seq, matched)
        self.next_seq = 1
        self.dropped = 0
        self.dropped_unmatched = 0

    @precondition(lambda self: self.next_seq == 1)
    @rule(limit=st.integers(0, 6))
    def start_with_limit(self, limit: int) -> None:
        self.limit = limit
        self.journal = Journal(limit)

    @rule(matched=st.booleans())
    def record(self, matched: bool) -> None:
        _record(self.journal, self.next_seq, matched=matched)
        self.kept.append((self.next_seq, matched))
        self.next_seq += 1
        if self.limit and len(self.kept) > self.limit:
            _, was_matched = self.kept.pop(0)
            self.dropped += 1
            self.dropped_unmatched += not was_matched

    @rule()
    def read_calls(self) -> None:  # builds calls in place: pages must still see the same ones
        assert [call.seq for call in self.journal.calls] == [seq for seq, _ in self.kept]

    @rule()
    def clear(self) -> None:
        assert self.journal.clear() == len(self.kept)
        self.kept.clear()
        self.dropped = self.dropped_unmatched = 0

    @rule(limit=st.integers(1, 4))
    def walk_covers_every_kept_call_once(self, limit: int) -> None:
        assert _walk(self.journal, limit) == [seq for seq, _ in self.kept]

    @rule(data=st.data(), limit=st.integers(1, 4))
    def page_after(self, data: st.DataObject, limit: int) -> None:
        after = data.draw(st.integers(0, self.next_seq - 1))
        page = self.journal.page(after=after, limit=limit)
        wanted = [seq for seq, _ in self.kept if seq > after]
        assert [call.seq for call in page.calls] == wanted[:limit]
        assert page.has_more == (len(wanted) > limit)
        assert page.next_after == (wanted[:limit][-1] if wanted else self.next_seq - 1)
        first = wanted[0] if wanted else self.next_seq
        assert page.missed == first - after - 1  # the ids in between are gone
        assert page.dropped == self.dropped

    @rule(data=st.data())
    def a_cursor_past_the_newest_id_is_refused(self, data: st.DataObject) -> None:
        after = data.draw(st.integers(self.next_seq, self.next_seq + 5))
        with pytest.raises(JournalPageError, match="past the newest sequence id"):
            self.journal.page(after=after)

    @invariant()
    def counts(self) -> None:
        journal = self.journal
        assert journal.call_count == len(journal) == len(self.kept)
        assert journal.dropped == self.dropped
        assert journal.dropped_unmatched == self.dropped_unmatched
        assert journal.last_seq == self.next_seq - 1
        assert [c.seq for c in journal.unmatched()] == [s for s, m in self.kept if not m]
        last = journal.last
        assert (last.seq if last else None) == (self.kept[-1][0] if self.kept else None)


TestBoundedJournal = BoundedJournal.TestCase
TestBoundedJournal.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)


def test_the_oldest_are_dropped_in_order_and_the_list_is_compacted() -> None:
    journal = Journal(3)
    for index in range(5000):  # past the compaction point, several times
        _record(journal, index, matched=index % 2 == 0)
    assert [call.path for call in journal.calls] == [f"/api/chat/{i}" for i in (4997, 4998, 4999)]
    assert [call.seq for call in journal.calls] == [4998, 4999, 5000]
    assert (journal.dropped, journal.dropped_unmatched) == (4997, 2498)
    assert len(journal._items) < 2 * 1024 + 3  # dead slots do not pile up


def test_limits_are_checked() -> None:
    with pytest.raises(ConfigError, match="journal limit must be an integer >= 0"):
        Journal(-1)
    with pytest.raises(ConfigError, match="journal body limit"):
        Journal(body_limit=True)
    with pytest.raises(ConfigError, match="journal_limit"):
        ServerConfig(journal_limit=-5)
    for limit in (0, MAX_PAGE_SIZE + 1):
        with pytest.raises(JournalPageError, match=r"limit must be an integer in 1\.\.1000"):
            Journal().page(limit=limit)
    with pytest.raises(JournalPageError, match="after must be a sequence id >= 0"):
        Journal().page(after=-1)


def test_the_server_default_is_bounded() -> None:
    config = ServerConfig()
    assert (config.journal_limit, config.journal_body_limit) == (5000, 4096)
    journal = context_of(create_app(config)).journal
    assert (journal.limit, journal.body_limit) == (5000, 4096)


# -- bodies kept cut ---------------------------------------------------------------------------

MARKER_START = TRUNCATED_MARKER.split("{", 1)[0].encode()


@given(
    text=st.text(st.sampled_from("ab é€😀\n"), max_size=300),
    limit=st.integers(1, 200),
)
def test_a_long_body_is_kept_cut_at_a_character_with_the_marker(text: str, limit: int) -> None:
    body = text.encode()
    journal = Journal(body_limit=limit)
    _record(journal, body=body, content_type="text/plain")
    (call,) = journal.calls
    assert call.body_size == len(body)
    assert call.body_truncated == (len(body) > limit)
    if not call.body_truncated:
        assert call.body == body
        return
    kept, marker, rest = call.body.partition(MARKER_START)
    assert marker
    assert len(kept) <= limit
    assert body.startswith(kept)
    assert len(kept) > limit - 4  # cut back at most to the start of one UTF-8 character
    assert marker + rest == TRUNCATED_MARKER.format(kept=len(kept), size=len(body)).encode()
    call.body.decode("utf-8")  # never cut inside a character
    shown = call.to_json()
    assert (shown["body_size"], shown["body_truncated"]) == (len(body), True)


@pytest.mark.parametrize("value", ["hunter2-hunter2-hunter2", {"v": "hunter2-hunter2-hunter2"}])
def test_a_secret_in_a_cut_body_is_redacted_before_the_cut(value: Any) -> None:
    # cut inside the secret: a nested value no longer parses as JSON once cut
    body = json.dumps({"password": value, "pad": "x" * 10_000}).encode()
    journal = Journal(body_limit=body.index(b"hunter2") + 10)
    _record(journal, body=body)
    (call,) = journal.calls
    assert call.body_truncated
    assert "hunter2" not in call.body.decode()


def test_a_megabyte_body_is_redacted_only_near_the_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    # The request path must not redact a whole megabyte to keep its first 4 KiB: that stalled
    # every other stream for ~45 ms a request. Secrets before and across the cut still go.
    from oa_mockserver._control import journal as journal_module

    seen: list[int] = []
    redactor = journal_module._REDACTOR

    class Spy:  # the redactor is frozen: spy on it from outside
        def __getattr__(self, name: str) -> Any:
            return getattr(redactor, name)

        def body(self, body: bytes, content_type: str | None = None) -> bytes:
            seen.append(len(body))
            return redactor.body(body, content_type)

    monkeypatch.setattr(journal_module, "_REDACTOR", Spy())
    head = json.dumps({"password": 1234, "pad": "x" * 4000, "token": "tok-" + "t" * 200})
    body = (head[:-1] + ', "content": "' + "y" * 1_000_000 + '"}').encode()
    limit = 4096
    journal = Journal(body_limit=limit)
    _record(journal, body=body)
    (call,) = journal.calls
    assert max(seen) <= limit + journal_module.REDACT_PAST_CUT
    assert call.body_truncated
    assert call.body_size == len(body)
    assert b"1234" not in call.body
    assert b"tok-ttt" not in call.body  # the secret across the cut is gone too
    kept = call.body.partition(MARKER_START)[0]
    assert len(kept) <= limit


def test_a_long_header_block_keeps_whole_lines_and_says_so() -> None:
    secret = "s3cr3t-cookie-value"
    headers = {"X-Pad": "p" * 40, "Cookie": f"session={secret}", "X-Big": "b" * 500}
    journal = Journal(body_limit=120)
    _record(journal, headers=headers)
    (call,) = journal.calls
    assert call.headers["X-Pad"] == "p" * 40
    assert call.headers["Cookie"] == "REDACTED"
    assert "X-Big" not in call.headers
    assert call.headers["X-OA-Mock-Journal"].startswith("headers truncated, kept ")
    assert secret not in repr(call.to_json())


def test_no_body_limit_keeps_a_body_whole() -> None:
    journal = Journal(body_limit=0)
    _record(journal, body=b"x" * 100_000, content_type="text/plain")
    (call,) = journal.calls
    assert (len(call.body), call.body_truncated, call.body_size) == (100_000, False, 100_000)


# -- the admin read yields to the loop between slices ------------------------------------------


def test_a_big_admin_read_yields_to_the_loop_between_slices() -> None:
    """Structural, not timed: the handler suspends once per slice of calls it serializes."""
    app = create_app(ServerConfig(journal_limit=0))
    journal = context_of(app).journal
    for index in range(MAX_PAGE_SIZE):
        _record(journal, index)
    request = make_mocked_request("GET", f"/__admin/requests?limit={MAX_PAGE_SIZE}", app=app)
    handler = _requests(request)
    suspensions = 0
    try:
        while True:
            assert handler.send(None) is None  # a bare yield: asyncio.sleep(0)
            suspensions += 1
    except StopIteration as done:
        response = done.value
    assert suspensions >= MAX_PAGE_SIZE // _SLICE - 1
    data = json.loads(response.body)
    assert [r["seq"] for r in data["requests"]] == list(range(1, MAX_PAGE_SIZE + 1))
    assert journal._items[0].__class__ is tuple  # an HTTP read builds no call into the journal


def test_the_admin_read_leaves_other_tasks_run_before_it_ends() -> None:
    async def scenario() -> list[str]:
        app = create_app(ServerConfig(journal_limit=0))
        for index in range(MAX_PAGE_SIZE):
            _record(context_of(app).journal, index)
        order: list[str] = []

        async def read() -> None:
            await _requests(make_mocked_request("GET", "/__admin/requests?limit=1000", app=app))
            order.append("read")

        async def other() -> None:
            await asyncio.sleep(0)  # starts once the read has begun
            order.append("other")

        await asyncio.gather(read(), other())
        return order

    assert asyncio.run(scenario()) == ["other", "read"]


def test_a_reader_building_calls_does_not_hold_up_the_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A test thread reading ``calls`` must not block the server thread's appends meanwhile."""
    import threading

    from oa_mockserver._control import journal as _journal

    journal = Journal(3)
    _record(journal, 0)
    building, appended = threading.Event(), threading.Event()
    waited: list[bool] = []
    real = _journal._call_of

    def slow(entry: Any, seq: int) -> Any:
        building.set()
        waited.append(appended.wait(timeout=10))  # the timeout only guards against a hang
        return real(entry, seq)

    monkeypatch.setattr(_journal, "_call_of", slow)
    seen: list[Any] = []
    reader = threading.Thread(target=lambda: seen.extend(journal.calls))
    reader.start()
    assert building.wait(timeout=10)
    for index in range(1, 5):  # drops the entry being built, too
        _record(journal, index)
    appended.set()
    reader.join(timeout=10)
    assert waited == [True]  # the appends went through while the call was being built
    assert [call.path for call in seen] == ["/api/chat/0"]  # the snapshot it began with
    assert [call.seq for call in journal.calls] == [3, 4, 5]
