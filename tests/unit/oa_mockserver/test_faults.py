"""Fault specs, their syntax, seeded selection, and the stream filters, as data (no server)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oa_mockserver._control.faults import (
    STEPS,
    DeleteFails,
    Disconnect,
    DropAfter,
    Emit,
    EmitRaw,
    ErrorAfter,
    FaultRule,
    FaultSet,
    Finish,
    Latency,
    MalformedAfter,
    Pause,
    PluginStep,
    SafePrompt,
    Stall,
    Status,
    StreamChain,
    TruncateAfter,
    parse_fault_header,
    reply_for,
    rule_from_json,
    rule_to_json,
    total_latency,
)
from oa_mockserver._exceptions import FaultSpecError


def token(text: str) -> dict[str, Any]:
    return {"event_type": "token", "text": text}


FINAL = {"event_type": "message", "message": {"content": "a b c d"}}
STREAM = [token("a "), token("b "), token("c "), token("d"), FINAL]


def run(chain: StreamChain, events: list[dict[str, Any]] = STREAM) -> list[Any]:
    actions = chain.start()
    for event in events:
        actions.extend(chain.on_event(event))
    return actions


def emitted(actions: list[Any]) -> list[Any]:
    return [a.payload for a in actions if isinstance(a, Emit)]


# -- the header syntax --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("status:503", FaultRule(Status(status=503))),
        ("status:429;retry-after=7", FaultRule(Status(status=429, retry_after=7))),
        ("latency:0.25", FaultRule(Latency(seconds=0.25))),
        ("error-after:3", FaultRule(ErrorAfter(after=3))),
        ("drop-after:4", FaultRule(DropAfter(after=4))),
        ("truncate-after:10", FaultRule(TruncateAfter(after=10))),
        ("malformed-after:2", FaultRule(MalformedAfter(after=2))),
        ("stall:2;after=5", FaultRule(Stall(seconds=2.0, after=5))),
        ("safe-prompt", FaultRule(SafePrompt())),
        ("plugin-step", FaultRule(PluginStep())),
        ("delete-fails", FaultRule(DeleteFails(), step="delete_chat")),
        (
            "status:500;step=assistant_message;times=1;probability=0.5",
            FaultRule(Status(status=500), step="assistant_message", times=1, probability=0.5),
        ),
        (
            "  STATUS:503 ; path=/api/chat* ; method=post ",
            FaultRule(Status(status=503), path="/api/chat*", method="post"),
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_header_syntax(header: str, expected: FaultRule) -> None:
    assert parse_fault_header(header) == [expected]


def test_header_with_several_faults_keeps_their_order() -> None:
    rules = parse_fault_header("safe-prompt, error-after:2")
    assert [type(rule.fault) for rule in rules] == [SafePrompt, ErrorAfter]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("explode", "unknown fault 'explode'"),
        ("explode:3", "unknown fault 'explode'"),
        ("status:abc", "'status' must be a whole number"),
        ("latency:-1", "'seconds' must be a number"),
        ("status:503;colour=red", "no option 'colour'"),
        ("status:503;times", "key=value"),
        ("status:503;times=0", "times must be >= 1"),
        ("status:503;times=x", "times must be a whole number"),
        ("status:503;probability=2", "probability must be within 0..1"),
        ("status:503;step=nowhere", "unknown step 'nowhere'"),
        (" , ", "empty fault header"),
        ("status:99", r"status must be a final HTTP status .* 200\.\.599 but 204 and 304"),
        ("status:600", r"status must be a final HTTP status .* 200\.\.599 but 204 and 304"),
        ("status:101", "got 101"),
        ("status:204", "got 204"),
        ("delete-fails:304", "got 304"),
        ("error-after:-3", "must be a finite number >= 0"),
        ("latency:inf", "must be a finite number >= 0"),
        ("latency:nan", "must be a finite number >= 0"),
        ("stall:1e309", "must be a finite number >= 0"),
    ],
)
def test_header_errors_say_what_is_wrong(header: str, message: str) -> None:
    with pytest.raises(FaultSpecError, match=message):
        parse_fault_header(header)


def test_fault_spec_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown fault"):
        parse_fault_header("nope")


def test_python_fault_objects_are_checked_too() -> None:
    with pytest.raises(FaultSpecError, match=r"200\.\.599"):
        Status(status=1000)
    with pytest.raises(FaultSpecError, match=">= 0"):
        rule_from_json({"kind": "latency", "seconds": float("inf")})


def test_json_rejects_non_objects() -> None:
    with pytest.raises(FaultSpecError, match='"kind"'):
        rule_from_json(["status", 503])


rules = st.builds(
    FaultRule,
    fault=st.one_of(
        st.builds(
            Status,
            status=st.sampled_from([429, 500, 503]),
            retry_after=st.none() | st.integers(0, 60),
        ),
        st.builds(Latency, seconds=st.floats(0, 5)),
        st.builds(ErrorAfter, after=st.integers(0, 50)),
        st.builds(DropAfter, after=st.integers(0, 50)),
        st.builds(Stall, seconds=st.floats(0, 5), after=st.integers(0, 50)),
        st.builds(SafePrompt),
        st.builds(PluginStep),
    ),
    step=st.none() | st.sampled_from(STEPS),
    times=st.none() | st.integers(1, 10),
    probability=st.floats(0, 1),
)


@given(rules)
def test_json_round_trip(rule: FaultRule) -> None:
    assert rule_from_json(rule_to_json(rule)) == rule


# -- selection ----------------------------------------------------------------------------------


@given(times=st.integers(1, 8), requests=st.integers(0, 20))
def test_times_fires_exactly_that_often(times: int, requests: int) -> None:
    faults = FaultSet([FaultRule(Status(status=503), step="events", times=times)])
    fired = sum(bool(faults.select("GET", "/api/chat/events", "events")) for _ in range(requests))
    assert fired == min(times, requests)
    assert len(faults.rules) == (1 if requests < times else 0)


def test_rules_only_match_their_step_path_and_method() -> None:
    faults = FaultSet(
        [
            FaultRule(Status(status=500), step="delete_chat"),
            FaultRule(Latency(seconds=1.0), path="/chats/*", method="GET"),
        ]
    )
    assert faults.select("DELETE", "/api/chat", "delete_chat") == [Status(status=500)]
    assert faults.select("GET", "/chats/abc", "get_chat") == [Latency(seconds=1.0)]
    assert faults.select("POST", "/chats/abc", "prompter_message") == []


@given(seed=st.integers(0, 2**32), probability=st.floats(0.05, 0.95))
def test_probability_is_seeded_so_a_run_repeats(seed: int, probability: float) -> None:
    def pattern() -> list[bool]:
        faults = FaultSet([FaultRule(Status(status=500), probability=probability)], seed=seed)
        return [bool(faults.select("GET", "/chats", "list_chats")) for _ in range(40)]

    assert pattern() == pattern()


def test_clear_restarts_the_rng() -> None:
    faults = FaultSet([FaultRule(Status(status=500), probability=0.5)], seed=7)
    first = [bool(faults.select("GET", "/x", None)) for _ in range(30)]
    faults.clear()
    assert faults.rules == []
    faults.add(FaultRule(Status(status=500), probability=0.5))
    assert [bool(faults.select("GET", "/x", None)) for _ in range(30)] == first


def test_per_request_rules_come_after_the_servers() -> None:
    faults = FaultSet([FaultRule(Latency(seconds=0.5))])
    extra = parse_fault_header("status:429;retry-after=3")
    fired = faults.select("POST", "/api/chat", "create_chat", extra)
    assert total_latency(fired) == 0.5
    reply = reply_for(fired)
    assert reply is not None
    assert (reply.status, dict(reply.headers)) == (429, {"Retry-After": "3"})


def test_status_503_carries_the_real_busy_text() -> None:
    reply = Status(status=503).reply()
    assert reply.detail == "The server is currently busy. Please try again later."


# -- stream filters -----------------------------------------------------------------------------


def test_no_stream_faults_means_an_empty_chain() -> None:
    assert not StreamChain([Status(status=500), Latency(seconds=1)])


@pytest.mark.parametrize("after", [0, 1, 3, 4])
def test_error_after_n_tokens(after: int) -> None:
    actions = run(StreamChain([ErrorAfter(after=after)]))
    assert emitted(actions)[:after] == STREAM[:after]
    assert emitted(actions)[after] == {
        "event_type": "error",
        "error": "Injected generation error",
        "message": None,
    }
    assert isinstance(actions[-1], Finish)
    assert len(emitted(actions)) == after + 1


def test_error_after_more_tokens_than_the_stream_has_replaces_the_final_message() -> None:
    actions = run(StreamChain([ErrorAfter(after=99)]))
    assert [e["event_type"] for e in emitted(actions)] == ["token"] * 4 + ["error"]


def test_drop_after_disconnects_without_a_final_event() -> None:
    actions = run(StreamChain([DropAfter(after=2)]))
    assert emitted(actions) == STREAM[:2]
    assert isinstance(actions[-1], Disconnect)


def test_truncate_after_finishes_without_the_message_event() -> None:
    actions = run(StreamChain([TruncateAfter(after=3)]))
    assert emitted(actions) == STREAM[:3]
    assert isinstance(actions[-1], Finish)


def test_malformed_after_inserts_one_broken_event_and_goes_on() -> None:
    actions = run(StreamChain([MalformedAfter(after=1)]))
    assert emitted(actions) == STREAM
    raw = [a for a in actions if isinstance(a, EmitRaw)]
    assert len(raw) == 1
    assert actions.index(raw[0]) == 1
    assert raw[0].data.startswith(b"data: {")
    assert raw[0].data.endswith(b"\r\n\r\n")


def test_stall_pauses_once_then_goes_on() -> None:
    actions = run(StreamChain([Stall(seconds=2.5, after=2)]))
    assert emitted(actions) == STREAM
    assert [a for a in actions if isinstance(a, Pause)] == [Pause(2.5)]
    assert actions.index(Pause(2.5)) == 2


def test_safe_prompt_and_plugin_step_come_first() -> None:
    actions = run(StreamChain([SafePrompt(), PluginStep()]))
    kinds = [e["event_type"] for e in emitted(actions)]
    assert kinds == [
        "safe_prompt",
        "plugin_intermediate",
        "token",
        "token",
        "token",
        "token",
        "message",
    ]


def test_faults_compose_in_order() -> None:
    # The injected safe_prompt event is not a token, so the error still comes after 2 tokens.
    actions = run(StreamChain([SafePrompt(), ErrorAfter(after=2)]))
    kinds = [e["event_type"] for e in emitted(actions)]
    assert kinds == ["safe_prompt", "token", "token", "error"]


def test_nothing_after_the_end() -> None:
    chain = StreamChain([TruncateAfter(after=0)])
    assert chain.on_event(token("a")) == [Finish()]
    assert chain.ended
    assert chain.on_event(token("b")) == []


@given(st.lists(st.text(max_size=5), max_size=30), st.integers(0, 40))
def test_pass_through_events_are_untouched_before_the_fault(texts: list[str], after: int) -> None:
    events = [token(t) for t in texts] + [FINAL]
    actions = run(StreamChain([TruncateAfter(after=after)]), events)
    assert emitted(actions) == events[: min(after, len(texts))]


def test_delete_fails_is_scoped_to_the_delete_however_it_is_given() -> None:
    assert FaultRule(DeleteFails()).step == "delete_chat"
    faults = FaultSet([FaultRule(DeleteFails())])
    assert faults.select("POST", "/api/chat", "create_chat") == []
    assert faults.select("DELETE", "/api/chat", "delete_chat") == [DeleteFails()]


def test_stream_faults_are_not_used_up_by_the_requests_before_the_stream() -> None:
    faults = FaultSet(parse_fault_header("error-after:2;times=1"))
    for step in ("create_chat", "prompter_message", "assistant_message"):
        assert faults.select("POST", "/api/chat", step) == []
    assert faults.select("GET", "/api/chat/events", "events") == [ErrorAfter(after=2)]
    assert faults.rules == []


# -- which statuses a fault may answer -----------------------------------------------------------


def _final_with_body(status: int) -> bool:
    """The rule, spelt out: a final status (not 1xx) whose answer may carry the JSON body."""
    return 200 <= status <= 599 and status not in (204, 304)


@given(st.integers(min_value=-1000, max_value=2000), st.sampled_from(["status", "delete-fails"]))
def test_a_fault_answers_only_a_final_status_with_a_body(status: int, kind: str) -> None:
    header = f"{kind}:{status}"
    if _final_with_body(status):
        (rule,) = parse_fault_header(header)
        reply = rule.fault.reply()
        assert reply is not None
        assert reply.status == status
        assert rule_from_json({"kind": kind, "status": status}).fault == rule.fault
    else:
        # a negative number is refused by the check every option gets, the rest by this rule
        rule = "final HTTP status" if status >= 0 else "finite number >= 0"
        with pytest.raises(FaultSpecError, match=f"{rule}.*got {status}"):
            parse_fault_header(header)
        with pytest.raises(FaultSpecError, match=f"got {status}"):
            rule_from_json({"kind": kind, "status": status})
        with pytest.raises(FaultSpecError, match=f"got {status}"):
            (Status if kind == "status" else DeleteFails)(status=status)


@pytest.mark.parametrize("status", [100, 101, 103, 199, 204, 304])
def test_interim_and_bodiless_statuses_are_refused(status: int) -> None:
    with pytest.raises(FaultSpecError, match=r"200\.\.599 but 204 and 304"):
        Status(status=status)


@pytest.mark.parametrize("status", [503.0, True, "503"])
def test_a_status_must_be_a_whole_number_object(status: Any) -> None:
    with pytest.raises(FaultSpecError):
        Status(status=status)


_ALL_FAULTS = [
    Latency, Status, DeleteFails, ErrorAfter, DropAfter, TruncateAfter, MalformedAfter, Stall,
    SafePrompt, PluginStep,
]  # fmt: skip


@pytest.mark.parametrize("cls", _ALL_FAULTS, ids=lambda cls: cls.kind)
def test_each_fault_names_its_header_argument_beside_its_kind(cls: type[Any]) -> None:
    assert cls.argument in cls.__dataclass_fields__
    value = 503 if cls.argument == "status" else 2 if cls.argument in ("after", "seconds") else "x"
    [rule] = parse_fault_header(f"{cls.kind}:{value}")
    assert type(rule.fault) is cls
    assert getattr(rule.fault, cls.argument) == value
