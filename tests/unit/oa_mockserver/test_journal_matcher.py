"""RequestMatcher: the criteria behind Call.matches, iter_matching and assert_request_made."""

from __future__ import annotations

from typing import Any
from unittest.mock import ANY

import pytest

from oa_mockserver import Call, Journal, RequestMatcher


def _call(**overrides: Any) -> Call:
    values: dict[str, Any] = {
        "method": "POST",
        "path": "/api/chat",
        "query": {"chat_id": "c1", "q": "x"},
        "headers": [],
        "body": b'{"content": "hi", "n": 2}',
        "status": 200,
        "step": "create_chat",
    }
    values.update(overrides)
    return Call.build(**values)


def _journal(*calls: Call) -> Journal:
    journal = Journal()
    journal._items.extend(calls)  # calls as the journal keeps them once built
    return journal


@pytest.mark.parametrize(
    ("matcher", "fits"),
    [
        (RequestMatcher(), True),
        (RequestMatcher("post", "/api/chat"), True),
        (RequestMatcher("GET"), False),
        (RequestMatcher(path="/api/chat/"), False),
        (RequestMatcher(json={"content": "hi", "n": ANY}), True),
        (RequestMatcher(json={"content": "hi"}), False),
        (RequestMatcher(query={"chat_id": "c1"}), True),
        (RequestMatcher(query={"chat_id": "c2"}), False),
        (RequestMatcher(query={"missing": "x"}), False),
        (RequestMatcher(status=200, step="create_chat"), True),
        (RequestMatcher(status=500), False),
        (RequestMatcher(step="events"), False),
    ],
)
def test_a_matcher_checks_each_criterion_it_sets(matcher: RequestMatcher, fits: bool) -> None:
    call = _call()
    assert matcher.match(call) is fits
    criteria = {"json": matcher.json, "query": matcher.query, "status": matcher.status}
    assert call.matches(matcher.method, matcher.path, step=matcher.step, **criteria) is fits
    assert list(_journal(call).iter_matching(matcher)) == ([call] if fits else [])


def test_the_journal_takes_a_matcher_or_the_criteria_alike() -> None:
    create, other = _call(), _call(method="GET", path="/api/chat", status=404, body=b"")
    journal = _journal(create, other)
    matcher = RequestMatcher("GET", "/api/chat", status=404)
    assert list(journal.iter_matching("GET", "/api/chat", status=404)) == [other]
    assert list(journal.iter_matching(matcher)) == [other]
    assert journal.assert_request_made(matcher, count=1) == [other]
    assert journal.assert_request_made("get", "/api/chat", status=404) == [other]


def test_a_missed_matcher_names_every_criterion_and_the_nearest_calls() -> None:
    journal = _journal(_call())
    matcher = RequestMatcher("get", "/api/chat", query={"chat_id": "c9"}, status=200, step="x")
    with pytest.raises(AssertionError) as failed:
        journal.assert_request_made(matcher)
    message = str(failed.value)
    assert message.startswith(
        "expected GET /api/chat query⊇{'chat_id': 'c9'} status=200 step=x at least once, "
        "saw it 0 time(s).\nNearest requests the server received (1 in all):\n  POST /api/chat"
    )
    assert RequestMatcher().describe() == "* *"


def test_a_matcher_with_other_criteria_or_a_method_without_a_path_is_refused() -> None:
    journal = _journal(_call())
    with pytest.raises(TypeError, match="one RequestMatcher, or criteria"):
        list(journal.iter_matching(RequestMatcher("GET"), status=200))
    with pytest.raises(TypeError, match="one RequestMatcher, or criteria"):
        journal.assert_request_made(RequestMatcher("GET"), "/api/chat")
    with pytest.raises(TypeError, match="needs a path"):
        journal.assert_request_made("GET")
