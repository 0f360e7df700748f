"""The oa_mockserver fixtures, driven as a downstream suite uses them (sync tests).

Two pytest runs: one where every user test passes (each fixture, the marker, the conftest
override, every fault through ``add_fault`` and through the header), and one where the plugin
must make tests fail, with messages that say why.
"""

from __future__ import annotations

import pytest

FIXTURE_TESTS = """
import asyncio

import pytest

from chatting import HELLO, chat, outcome
from oa_mockserver import ErrorAfter, FaultSpecError, ServerConfig, ThreadedMockServer
from oa_provider import GenerationError

seen = {}


def test_fresh_server_for_a_test(oa_mockserver):
    assert isinstance(oa_mockserver, ThreadedMockServer)
    assert oa_mockserver.url.startswith("http://127.0.0.1:")
    assert len(chat(oa_mockserver.url, keep_chat=True)) == 3  # conftest.py's reply_tokens
    oa_mockserver.add_fault("status:500")  # would break the next test if it leaked
    seen["fresh"] = oa_mockserver


def test_fresh_server_for_the_next_test(oa_mockserver):
    assert oa_mockserver is not seen["fresh"]
    assert oa_mockserver.journal.calls == []
    assert oa_mockserver.chats() == []
    assert oa_mockserver.faults.rules == []


def test_session_server_first(oa_mockserver_session):
    assert len(chat(oa_mockserver_session.url, keep_chat=True)) == 3
    oa_mockserver_session.add_fault("status:500", step="create_chat")
    seen["session"] = oa_mockserver_session


def test_session_server_is_shared_but_cleared(oa_mockserver_session):
    assert oa_mockserver_session is seen["session"]
    assert oa_mockserver_session.journal.calls == []
    assert oa_mockserver_session.chats() == []
    assert oa_mockserver_session.faults.rules == []
    assert len(chat(oa_mockserver_session.url)) == 3


def test_factory_starts_servers_with_other_settings(oa_mockserver_factory):
    short = oa_mockserver_factory(reply_tokens=2)
    echo = oa_mockserver_factory(
        ServerConfig(token_interval=0.0, first_token_delay=0.0, reply_mode="echo")
    )
    assert short.url != echo.url  # both run at once
    assert len(chat(short.url)) == 2
    assert "".join(chat(echo.url)).strip() == "hello"


def test_oa_provider_is_bound_to_oa_mockserver(oa_provider, oa_mockserver):
    async def tokens():
        return [t async for t in oa_provider.create_async_generator(messages=HELLO)]

    assert len(asyncio.run(tokens())) == 3
    assert oa_provider.base_url == oa_mockserver.url
    oa_mockserver.journal.assert_request_made("DELETE", "/api/chat", count=1, status=200)


def test_conftest_overrides_the_config(oa_mockserver, oa_mockserver_config):
    assert oa_mockserver_config.reply_tokens == 3
    assert oa_mockserver.config == oa_mockserver_config


@pytest.mark.oa_mockserver(reply_tokens=5)
class TestMarker:
    @pytest.mark.oa_mockserver(reply_mode="echo")
    def test_class_and_function_markers_merge(self, oa_mockserver):
        assert oa_mockserver.config.reply_tokens == 5
        assert oa_mockserver.config.reply_mode == "echo"
        assert oa_mockserver.config.token_interval == 0.0  # the rest from conftest.py

    @pytest.mark.oa_mockserver(reply_tokens=1)
    def test_the_closest_marker_wins(self, oa_mockserver):
        assert len(chat(oa_mockserver.url)) == 1


def test_a_fault_object_for_the_next_request_only(oa_mockserver):
    oa_mockserver.add_fault(ErrorAfter(after=1, error="overloaded"), step="events", times=1)
    with pytest.raises(GenerationError, match="overloaded"):
        chat(oa_mockserver.url)
    assert len(chat(oa_mockserver.url)) == 3
    assert oa_mockserver.faults.rules == []


def test_an_invalid_fault_spec_says_what_is_known(oa_mockserver):
    with pytest.raises(FaultSpecError, match="unknown fault 'nope'; known faults: .*status"):
        oa_mockserver.add_fault("nope:1")


def test_an_invalid_fault_header_answers_400(oa_mockserver):
    assert outcome(oa_mockserver.url, fault="status:abc")[0] == "ResponseError"
    [call] = oa_mockserver.journal.assert_request_made("POST", "/api/chat", status=400)
    assert "X-OA-Mock-Fault" in call.headers


# (spec, the client's outcome, tokens it got first or None to not check, options)
FAULTS = [
    ("latency:0.05;step=events", "ok", 3, {}),
    ("status:429;retry-after=7;step=assistant_message", "RateLimitError", None, {}),
    ("status:500;step=create_chat", "ResponseError", None, {}),
    ("status:503;step=assistant_message", "ServerBusyError", None, {}),
    ("error-after:2;step=events", "GenerationError", 2, {}),
    ("drop-after:2;step=events", "IncompleteStreamError", None, {}),
    ("malformed-after:1;step=events", "ProtocolError", None, {}),
    ("stall:0.6;after=1;step=events", "StreamTimeoutError", 1, {"stream_idle_timeout": 0.2}),
    ("truncate-after:2;step=events", "IncompleteStreamError", 2, {}),
    ("delete-fails", "ok", 3, {}),
]


@pytest.mark.parametrize("how", ["add_fault", "header"])
@pytest.mark.parametrize(("spec", "expected", "tokens", "options"), FAULTS)
def test_fault(oa_mockserver, how, spec, expected, tokens, options):
    if how == "add_fault":
        oa_mockserver.add_fault(spec)
    result, got = outcome(
        oa_mockserver.url, fault=spec if how == "header" else None, **options
    )
    assert result == expected
    if tokens is not None:
        assert len(got) == tokens if isinstance(got, list) else got.count(" ") == tokens
    kind = spec.split(";")[0].split(":")[0]
    oa_mockserver.wait_for_streams()  # a stream is journaled when it ends
    assert any(kind in call.faults for call in oa_mockserver.journal.calls)


@pytest.mark.parametrize("how", ["add_fault", "header"])
@pytest.mark.parametrize(
    ("spec", "event"),
    [("safe-prompt", "SafePromptEvent"), ("plugin-step", "PluginIntermediateEvent")],
)
def test_event_fault(oa_mockserver, how, spec, event):
    if how == "add_fault":
        oa_mockserver.add_fault(spec, step="events")
    events = chat(oa_mockserver.url, fault=spec if how == "header" else None, events=True)
    assert events[0] == event
    assert events[-1] == "MessageEvent"
"""

FAILING_TESTS = """
import time
import urllib.error
import urllib.request
import asyncio
from unittest.mock import ANY

import pytest

from chatting import chat, first_token_at, read_tokens


def get(url):
    request = urllib.request.Request(url, headers={"Cookie": "next-auth.session-token=me"})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status
    except urllib.error.HTTPError as error:
        error.close()
        return error.code


def test_handler_raised(oa_mockserver, monkeypatch):
    def broken():
        raise RuntimeError("boom in the handler")

    monkeypatch.setattr("oa_mockserver._server.routes.web.model_configs_body", broken)
    assert get(oa_mockserver.url + "/api/chat/models") == 500


def test_unmatched(oa_mockserver):
    assert get(oa_mockserver.url + "/api/nowhere") == 404


@pytest.mark.oa_mockserver(allow_unmatched=True)
def test_unmatched_allowed(oa_mockserver):
    assert get(oa_mockserver.url + "/api/nowhere") == 404


def test_unmatched_on_the_session_server(oa_mockserver_session):
    assert get(oa_mockserver_session.url + "/api/elsewhere") == 404


def test_the_session_server_is_clean_again(oa_mockserver_session):
    assert oa_mockserver_session.journal.calls == []


def test_request_made(oa_mockserver):
    chat(oa_mockserver.url)
    journal = oa_mockserver.journal
    [call] = journal.assert_request_made(
        "POST", "/api/chat/prompter_message", count=1,
        json={"chat_id": ANY, "content": "hello", "parent_id": None},
    )
    assert call.status == 200
    assert len(list(journal.iter_matching("GET", "/api/chat/events"))) == 1
    assert journal.call_count == 5
    assert journal.last.method == "DELETE"


def test_request_made_fails(oa_mockserver):
    chat(oa_mockserver.url)
    oa_mockserver.journal.assert_request_made("POST", "/api/chat/prompter_messages")


def test_request_count_fails(oa_mockserver):
    chat(oa_mockserver.url)
    oa_mockserver.journal.assert_request_made("DELETE", "/api/chat", count=2)


def test_chat_deleted(oa_mockserver):
    chat(oa_mockserver.url)
    oa_mockserver.assert_chat_deleted(oa_mockserver.journal.last.query["chat_id"])
    oa_mockserver.assert_no_chats_left()


def test_chat_deleted_fails(oa_mockserver):
    chat(oa_mockserver.url, keep_chat=True)
    oa_mockserver.assert_chat_deleted(oa_mockserver.chats()[0].id)


def test_no_chats_left_fails(oa_mockserver):
    chat(oa_mockserver.url, keep_chat=True)
    oa_mockserver.assert_no_chats_left()


@pytest.mark.oa_mockserver(token_interval=0.02, reply_tokens=10)
def test_first_token_before_last_written(oa_mockserver):
    oa_mockserver.assert_first_token_before_last_written(
        asyncio.run(first_token_at(oa_mockserver.url))
    )


@pytest.mark.oa_mockserver(token_interval=0.02, reply_tokens=10)
def test_first_token_before_last_written_fails(oa_mockserver):
    oa_mockserver.assert_first_token_before_last_written(
        asyncio.run(first_token_at(oa_mockserver.url, buffered=True))
    )


@pytest.mark.oa_mockserver(token_interval=0.05, reply_tokens=20)
def test_stream_closed_after(oa_mockserver):
    assert len(asyncio.run(read_tokens(oa_mockserver.url, 2))) == 2
    oa_mockserver.assert_stream_closed_after(2, slack=2)


def test_stream_closed_after_fails(oa_mockserver):
    chat(oa_mockserver.url)
    oa_mockserver.assert_stream_closed_after(2)
"""


def test_fixtures_and_faults_as_a_user_suite_uses_them(project: pytest.Pytester) -> None:
    project.makepyfile(test_user=FIXTURE_TESTS)
    result = project.runpytest_subprocess("-q", timeout=120)
    result.assert_outcomes(passed=12 + 2 * 10 + 2 * 2)


def test_the_plugin_fails_tests_and_says_why(project: pytest.Pytester) -> None:
    project.makepyfile(test_user=FAILING_TESTS)
    result = project.runpytest_subprocess("-q", timeout=120)
    # Every test body passes or fails on its own; the teardown errors are the plugin's.
    result.assert_outcomes(passed=9, failed=6, errors=3)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_handler_raised*",
            "oa_mockserver: GET /api/chat/models: Traceback (most recent call last):",
            "*RuntimeError: boom in the handler",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_unmatched *",
            "oa_mockserver: no route matched GET /api/nowhere (answered 404)",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_unmatched_on_the_session_server*",
            "oa_mockserver: no route matched GET /api/elsewhere (answered 404)",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*_ test_request_made_fails _*",
            "E *AssertionError: expected POST /api/chat/prompter_messages at least once, "
            "saw it 0 time(s).",
            "E *Nearest requests the server received (5 in all):",
            "E *  POST /api/chat/prompter_message -> 200 json=*hello*",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*_ test_request_count_fails _*",
            "E *AssertionError: expected DELETE /api/chat 2 time(s), saw it 1 time(s).",
            "E *Nearest requests the server received (5 in all):",
            "E *  DELETE /api/chat?chat_id=* -> 200",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*_ test_chat_deleted_fails _*",
            "E *AssertionError: chat * was not deleted: it still exists; DELETE requests for it:",
            "E *  (none)",
        ]
    )
    result.stdout.fnmatch_lines(
        ["*_ test_no_chats_left_fails _*", "E *AssertionError: 1 chat(s) left on the server:"]
    )
    result.stdout.fnmatch_lines(
        [
            "*_ test_first_token_before_last_written_fails _*",
            "E *AssertionError: the client's first token came * s after the server wrote the "
            "last one: the client buffered the stream instead of streaming it",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*_ test_stream_closed_after_fails _*",
            "E *AssertionError: the client did not close the stream early: it read to the end "
            "(3 tokens, final event written: True)",
        ]
    )
    # A test that only expected its unmatched request is not reported.
    assert "test_unmatched_allowed" not in result.stdout.str().split("short test summary")[-1]
