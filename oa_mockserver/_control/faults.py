"""Fault injection, as data: what to break, where, how often, and the stream filters that do it.

Theory of operation. A *fault* is a small immutable spec (``Latency``, ``Status``,
``ErrorAfter``...).
A :class:`FaultRule` says where it applies (a conversation step or a path glob, a method) and how
often (the next ``times`` matching requests, with a seeded ``probability``). A :class:`FaultSet`
holds the rules and picks, per request, the faults that fire; the server's glue then

1. awaits the summed latency, then answers the first :class:`Status` fault instead of the route
   (``reply_for``), and otherwise
2. for an event stream, opens one stateful :class:`StreamFilter` per stream fault and pushes every
   event the server would send through the chain (``StreamChain``); a filter answers with
   *actions*: emit an event, emit raw bytes, pause, finish the stream, or drop the connection.

Filters compose like pytest-httpserver's post-hooks: the events one filter emits are the input of
the next, so ``safe_prompt`` plus ``error-after:3`` does what both say. Nothing here imports
aiohttp or asyncio: the glue executes the actions, and every decision is testable as data.

The header syntax (``X-OA-Mock-Fault``), one or more faults separated by commas::

    kind[:argument][;key=value]...
    status:503                      latency:0.5                 error-after:3
    status:429;retry-after=7        stall:2;after=5             drop-after:4
    malformed-after:2               truncate-after:10           safe-prompt   plugin-step
    delete-fails                    status:500;step=assistant_message;times=1;probability=0.5
"""

from __future__ import annotations

import fnmatch
import math
import random
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._exceptions import FaultSpecError

__all__ = [
    "FAULT_HEADER",
    "STEPS",
    "Action",
    "DeleteFails",
    "Disconnect",
    "DropAfter",
    "Emit",
    "EmitRaw",
    "ErrorAfter",
    "Fault",
    "FaultRule",
    "FaultSet",
    "Finish",
    "Latency",
    "MalformedAfter",
    "Pause",
    "PluginStep",
    "SafePrompt",
    "Stall",
    "Status",
    "StatusReply",
    "StreamChain",
    "StreamFilter",
    "TruncateAfter",
    "is_final_status",
    "parse_fault_header",
    "reply_for",
    "rule_from_json",
    "rule_to_json",
    "total_latency",
]

#: Conversation steps a rule can name instead of a path glob (both dialects map onto these).
STEPS = (
    "create_chat",
    "list_chats",
    "get_chat",
    "update_chat",
    "delete_chat",
    "prompter_message",
    "assistant_message",
    "get_message",
    "events",
    "vote",
    "models",
    "auth",
)

#: The request header that sets faults for that request alone.
FAULT_HEADER = "X-OA-Mock-Fault"

QUEUE_FULL_DETAIL = "The server is currently busy. Please try again later."


# -- actions a stream filter answers with -------------------------------------------------------


@dataclass(frozen=True)
class Emit:
    """Send one event (a JSON object) as its own SSE chunk."""

    payload: Mapping[str, Any]


@dataclass(frozen=True)
class EmitRaw:
    """Send these bytes as one chunk, as they are (for malformed events)."""

    data: bytes


@dataclass(frozen=True)
class Pause:
    """Send nothing for ``seconds``."""

    seconds: float


@dataclass(frozen=True)
class Finish:
    """End the stream normally (terminating chunk) and send nothing more."""


@dataclass(frozen=True)
class Disconnect:
    """Drop the connection at once, without the terminating chunk."""


Action = Emit | EmitRaw | Pause | Finish | Disconnect


@dataclass(frozen=True)
class StatusReply:
    """An HTTP answer that replaces the route's own (the glue shapes ``detail`` per dialect)."""

    status: int
    detail: str
    headers: Mapping[str, str] = field(default_factory=dict)


class StreamFilter:
    """One stream's state for one fault: sees each event, answers with actions.

    The default passes everything through; subclasses override what they change.
    """

    def start(self) -> list[Action]:
        """Actions to take before the first event."""
        return []

    def on_event(self, payload: Mapping[str, Any]) -> list[Action]:
        """Actions for one event the server (or an earlier filter) would send."""
        return [Emit(payload)]


# -- the faults ----------------------------------------------------------------------------------

#: Statuses that cannot end an exchange with a body: 1xx are interim (a client waits on for the
#: final answer, or the connection switches protocol), and 204 and 304 forbid content.
_BODILESS = frozenset({204, 304})


def is_final_status(status: object) -> bool:
    """Whether a fault may answer ``status``: a final HTTP status that carries a body.

    That is a whole number (not a bool) in 200..599, but 204 and 304: a 1xx is no final answer
    (aiohttp would send it and the client would wait for the real one), and the fault's JSON
    body cannot go with a 204 or a 304.
    """
    return type(status) is int and 200 <= status <= 599 and status not in _BODILESS


@dataclass(frozen=True)
class Fault:
    """Base of every fault spec.

    ``kind`` names it in the header and JSON syntax; ``argument`` is the option a header's
    ``kind:value`` sets (``status:503`` sets ``status``).
    """

    kind = ""
    argument = ""

    def __post_init__(self) -> None:
        # Every entry point (header, admin JSON, Python) builds the dataclass: check here.
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if value is None or isinstance(value, (bool, str)):
                continue
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise FaultSpecError(
                    f"fault {self.kind!r}: option {name.replace('_', '-')!r} must be a finite "
                    f"number >= 0, got {value!r}"
                )
        status = getattr(self, "status", None)
        if status is not None and not is_final_status(status):
            raise FaultSpecError(
                f"fault {self.kind!r}: status must be a final HTTP status that can carry the "
                f"fault's JSON body, a whole number in 200..599 but 204 and 304, got {status!r}"
            )

    def reply(self) -> StatusReply | None:
        """An answer replacing the route's, or None."""
        return None

    def latency(self) -> float:
        """Seconds to wait before answering."""
        return 0.0

    def open_stream(self) -> StreamFilter | None:
        """A fresh filter for one event stream, or None when this fault leaves streams alone."""
        return None

    def applies_to(self, step: str | None) -> bool:
        """Whether the fault can act on a request of ``step``: stream faults act on streams only,
        so a rule such as ``error-after:2;times=1`` is not used up by the requests before them."""
        return step == "events" or self.open_stream() is None

    def to_json(self) -> dict[str, Any]:
        """The JSON form accepted by the admin API."""
        data: dict[str, Any] = {"kind": self.kind}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if value is not None:
                data[name.replace("_", "-")] = value
        return data


@dataclass(frozen=True)
class Latency(Fault):
    """Wait ``seconds`` before answering."""

    kind = "latency"
    argument = "seconds"
    seconds: float = 0.0

    def latency(self) -> float:
        return self.seconds


@dataclass(frozen=True)
class Status(Fault):
    """Answer ``status`` instead of the route (429 carries Retry-After; 503 the real busy text)."""

    kind = "status"
    argument = "status"
    status: int = 500
    retry_after: int | None = None
    detail: str | None = None

    def reply(self) -> StatusReply:
        headers: dict[str, str] = {}
        if self.status == 429:
            headers["Retry-After"] = str(self.retry_after if self.retry_after is not None else 1)
        elif self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        detail = self.detail
        if detail is None:
            detail = {
                429: "Too Many Requests",
                503: QUEUE_FULL_DETAIL,
            }.get(self.status, "Internal Server Error (injected fault)")
        return StatusReply(self.status, detail, headers)


@dataclass(frozen=True)
class DeleteFails(Fault):
    """DELETE of a chat answers 500 (the rule is scoped to the ``delete_chat`` step)."""

    kind = "delete-fails"
    argument = "status"
    status: int = 500

    def reply(self) -> StatusReply:
        return StatusReply(self.status, "Failed to delete chat (injected fault)")


class _CountingFilter(StreamFilter):
    """Counts token events; subclasses act once ``after`` tokens went through."""

    def __init__(self, after: int) -> None:
        self.after = after
        self.tokens = 0
        self.done = False

    def on_event(self, payload: Mapping[str, Any]) -> list[Action]:
        if self.done:
            return [Emit(payload)]
        is_token = payload.get("event_type") == "token"
        if is_token and self.tokens < self.after:
            self.tokens += 1
            return [Emit(payload)]
        if is_token or payload.get("event_type") == "message":
            self.done = True
            return self.act(payload)
        return [Emit(payload)]

    def act(self, payload: Mapping[str, Any]) -> list[Action]:
        """What to do with the first token past ``after`` (or the final message, if sooner)."""
        return [Emit(payload)]


class _ErrorFilter(_CountingFilter):
    """``error-after``: an ``error`` event, then the end of the stream."""

    def __init__(self, after: int, error: str) -> None:
        super().__init__(after)
        self.error = error

    def act(self, payload: Mapping[str, Any]) -> list[Action]:
        return [Emit({"event_type": "error", "error": self.error, "message": None}), Finish()]


@dataclass(frozen=True)
class ErrorAfter(Fault):
    """After ``after`` tokens, send an ``error`` event and end the stream."""

    kind = "error-after"
    argument = "after"
    after: int = 0
    error: str = "Injected generation error"

    def open_stream(self) -> StreamFilter:
        return _ErrorFilter(self.after, self.error)


class _DropFilter(_CountingFilter):
    """``drop-after``: the connection dropped."""

    def act(self, payload: Mapping[str, Any]) -> list[Action]:
        return [Disconnect()]


@dataclass(frozen=True)
class DropAfter(Fault):
    """After ``after`` tokens, drop the connection (no final event, no terminating chunk)."""

    kind = "drop-after"
    argument = "after"
    after: int = 0

    def open_stream(self) -> StreamFilter:
        return _DropFilter(self.after)


class _TruncateFilter(_CountingFilter):
    """``truncate-after``: the stream ends cleanly, without its final event."""

    def act(self, payload: Mapping[str, Any]) -> list[Action]:
        return [Finish()]


@dataclass(frozen=True)
class TruncateAfter(Fault):
    """After ``after`` tokens, end the stream cleanly but without the final ``message`` event."""

    kind = "truncate-after"
    argument = "after"
    after: int = 0

    def open_stream(self) -> StreamFilter:
        return _TruncateFilter(self.after)


#: An unterminated object: what a proxy cutting a chunk short produces.
_MALFORMED_EVENT = b'data: {"event_type": "token", "text": \r\n\r\n'


class _MalformedFilter(_CountingFilter):
    """``malformed-after``: one broken event, then the stream as it was."""

    def act(self, payload: Mapping[str, Any]) -> list[Action]:
        return [EmitRaw(_MALFORMED_EVENT), Emit(payload)]


@dataclass(frozen=True)
class MalformedAfter(Fault):
    """After ``after`` tokens, send one event whose JSON is broken, then go on as normal."""

    kind = "malformed-after"
    argument = "after"
    after: int = 0

    def open_stream(self) -> StreamFilter:
        return _MalformedFilter(self.after)


class _StallFilter(_CountingFilter):
    """``stall``: a pause of ``seconds``, then the stream as it was."""

    def __init__(self, after: int, seconds: float) -> None:
        super().__init__(after)
        self.seconds = seconds

    def act(self, payload: Mapping[str, Any]) -> list[Action]:
        return [Pause(self.seconds), Emit(payload)]


@dataclass(frozen=True)
class Stall(Fault):
    """After ``after`` tokens, send nothing for ``seconds``, then go on."""

    kind = "stall"
    argument = "seconds"
    seconds: float = 1.0
    after: int = 0

    def open_stream(self) -> StreamFilter:
        return _StallFilter(self.after, self.seconds)


class _LeadingEventFilter(StreamFilter):
    """``safe-prompt``, ``plugin-step``: one event before the first, then the stream as it was."""

    def __init__(self, event: Mapping[str, Any]) -> None:
        self.event = event

    def start(self) -> list[Action]:
        return [Emit(self.event)]


@dataclass(frozen=True)
class SafePrompt(Fault):
    """Before the first token, send a ``safe_prompt`` event (the safety model's rewrite)."""

    kind = "safe-prompt"
    argument = "safe_prompt"
    safe_prompt: str = "[the prompt, rewritten by the safety model]"

    def open_stream(self) -> StreamFilter:
        event = {"event_type": "safe_prompt", "safe_prompt": self.safe_prompt, "message": None}
        return _LeadingEventFilter(event)


@dataclass(frozen=True)
class PluginStep(Fault):
    """Before the first token, send a ``plugin_intermediate`` event."""

    kind = "plugin-step"
    argument = "thought"
    thought: str = "I should look this up."
    action: str = "web_search"
    action_input: str = "lorem ipsum"
    action_response: str = "Lorem ipsum is placeholder text."

    def open_stream(self) -> StreamFilter:
        return _LeadingEventFilter(
            {
                "event_type": "plugin_intermediate",
                "current_plugin_thought": self.thought,
                "current_plugin_action_taken": self.action,
                "current_plugin_action_input": self.action_input,
                "current_plugin_action_response": self.action_response,
                "message": None,
            }
        )


#: Every fault class by its ``kind``.
_FAULT_CLASSES: dict[str, type[Fault]] = {
    cls.kind: cls
    for cls in (
        Latency,
        Status,
        DeleteFails,
        ErrorAfter,
        DropAfter,
        TruncateAfter,
        MalformedAfter,
        Stall,
        SafePrompt,
        PluginStep,
    )
}
_RULE_KEYS = ("step", "path", "method", "times", "probability")


# -- rules and selection -------------------------------------------------------------------------


@dataclass(frozen=True)
class FaultRule:
    """Where and how often a fault applies.

    Args:
        fault: the fault spec.
        step: a conversation step from :data:`STEPS`, or None for any.
        path: a glob over the request path (``/api/chat*``), or None for any.
        method: an HTTP method, or None for any.
        times: fire for the next ``times`` matching requests only; None for always.
        probability: the chance to fire on a matching request, drawn from the set's seeded RNG.
    """

    fault: Fault
    step: str | None = None
    path: str | None = None
    method: str | None = None
    times: int | None = None
    probability: float = 1.0

    def __post_init__(self) -> None:
        if isinstance(self.fault, DeleteFails) and self.step is None and self.path is None:
            # a failing DELETE is what this fault means, however it was given
            object.__setattr__(self, "step", "delete_chat")
        if self.step is not None and self.step not in STEPS:
            raise FaultSpecError(f"unknown step {self.step!r}; use one of: {', '.join(STEPS)}")
        if self.times is not None and self.times < 1:
            raise FaultSpecError(f"times must be >= 1, got {self.times}")
        if not 0.0 <= self.probability <= 1.0:
            raise FaultSpecError(f"probability must be within 0..1, got {self.probability}")

    def matches(self, method: str, path: str, step: str | None) -> bool:
        """Whether this rule covers a request (counts and probability aside)."""
        if self.step is not None and self.step != step:
            return False
        if not self.fault.applies_to(step):
            return False
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path is None or fnmatch.fnmatchcase(path, self.path)


class FaultSet:
    """The server's active rules, with a seeded RNG so a run repeats exactly.

    Thread-safe (the CLI and the pytest plugin may call it from another thread than the server's).
    """

    def __init__(self, rules: Iterable[FaultRule] = (), *, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = list(rules)
        self._remaining: list[int | None] = [rule.times for rule in self._rules]
        self._seed = seed
        self._rng = random.Random(seed)

    @property
    def rules(self) -> list[FaultRule]:
        """The rules still active, in the order they were added."""
        with self._lock:
            return list(self._rules)

    def add(self, *rules: FaultRule) -> None:
        """Activate more rules (after those already set)."""
        with self._lock:
            for rule in rules:
                self._rules.append(rule)
                self._remaining.append(rule.times)

    def clear(self) -> None:
        """Remove every rule and restart the RNG from the seed."""
        with self._lock:
            self._rules.clear()
            self._remaining.clear()
            self._rng = random.Random(self._seed)

    def select(
        self, method: str, path: str, step: str | None, extra: Sequence[FaultRule] = ()
    ) -> list[Fault]:
        """The faults that fire for one request; consumes ``times`` of the rules that fired.

        ``extra`` are per-request rules (from the ``X-OA-Mock-Fault`` header), checked after the
        server's own.
        """
        fired: list[Fault] = []
        if not self._rules and not extra:
            return fired  # the common case, checked without the lock (a list read is atomic)
        with self._lock:
            keep: list[int] = []
            for index, rule in enumerate(self._rules):
                if rule.matches(method, path, step) and self._draw(rule):
                    fired.append(rule.fault)
                    left = self._remaining[index]
                    if left is not None:
                        left -= 1
                        self._remaining[index] = left
                        if left == 0:
                            continue
                keep.append(index)
            self._rules = [self._rules[i] for i in keep]
            self._remaining = [self._remaining[i] for i in keep]
            for rule in extra:
                if rule.matches(method, path, step) and self._draw(rule):
                    fired.append(rule.fault)
        return fired

    def _draw(self, rule: FaultRule) -> bool:
        return rule.probability >= 1.0 or self._rng.random() < rule.probability


def reply_for(faults: Sequence[Fault]) -> StatusReply | None:
    """The first replacing answer among ``faults``, or None."""
    for fault in faults:
        reply = fault.reply()
        if reply is not None:
            return reply
    return None


def total_latency(faults: Sequence[Fault]) -> float:
    """The seconds to wait before answering: the latencies add up."""
    return sum(fault.latency() for fault in faults)


class StreamChain:
    """The stream filters of one event stream, composed in order."""

    def __init__(self, faults: Sequence[Fault]) -> None:
        self._filters = [f for f in (fault.open_stream() for fault in faults) if f is not None]
        self.ended = False

    def __bool__(self) -> bool:
        return bool(self._filters)

    def start(self) -> list[Action]:
        """Actions before the first event: each filter's own, passed through the later ones."""
        actions: list[Action] = []
        for index, stream_filter in enumerate(self._filters):
            actions.extend(self._through(stream_filter.start(), index + 1))
        return self._until_end(actions)

    def on_event(self, payload: Mapping[str, Any]) -> list[Action]:
        """Actions for one event the server would send."""
        if self.ended:
            return []
        return self._until_end(self._through([Emit(payload)], 0))

    def _through(self, actions: list[Action], first: int) -> list[Action]:
        for stream_filter in self._filters[first:]:
            out: list[Action] = []
            for action in actions:
                if isinstance(action, Emit):
                    out.extend(stream_filter.on_event(action.payload))
                else:
                    out.append(action)
            actions = out
        return actions

    def _until_end(self, actions: list[Action]) -> list[Action]:
        for index, action in enumerate(actions):
            if isinstance(action, (Finish, Disconnect)):
                self.ended = True
                return actions[: index + 1]
        return actions


# -- the header and JSON syntax ------------------------------------------------------------------


def _convert(kind: str, name: str, raw: Any) -> Any:
    cls = _FAULT_CLASSES[kind]
    fields = cls.__dataclass_fields__
    if name not in fields:
        allowed = ", ".join(n.replace("_", "-") for n in fields) or "(none)"
        raise FaultSpecError(
            f"fault {kind!r} has no option {name.replace('_', '-')!r}; options: {allowed}"
        )
    default = fields[name].default
    if raw is None and default is None:
        return None
    try:
        if isinstance(default, bool):
            return str(raw).lower() in ("1", "true", "yes")
        if isinstance(default, int) or name in ("retry_after", "status", "after"):
            if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
                raise ValueError(raw)
            return int(raw)
        if isinstance(default, float):
            value = float(raw)
            if value < 0:
                raise ValueError(raw)
            return value
    except (TypeError, ValueError):
        raise FaultSpecError(
            f"fault {kind!r}: option {name.replace('_', '-')!r} must be a "
            f"{'number' if isinstance(default, float) else 'whole number'}, got {raw!r}"
        ) from None
    return str(raw)


def _unknown_fault(kind: str) -> FaultSpecError:
    return FaultSpecError(
        f"unknown fault {kind!r}; known faults: {', '.join(sorted(_FAULT_CLASSES))}"
    )


def _build(kind: str, options: Mapping[str, Any]) -> FaultRule:
    if kind not in _FAULT_CLASSES:
        raise _unknown_fault(kind)
    fault_args: dict[str, Any] = {}
    rule_args: dict[str, Any] = {}
    for key, raw in options.items():
        name = key.replace("-", "_")
        if name in _RULE_KEYS:
            if name in ("times",):
                try:
                    rule_args[name] = int(raw)
                except (TypeError, ValueError):
                    raise FaultSpecError(f"times must be a whole number, got {raw!r}") from None
            elif name == "probability":
                try:
                    rule_args[name] = float(raw)
                except (TypeError, ValueError):
                    raise FaultSpecError(f"probability must be a number, got {raw!r}") from None
            else:
                rule_args[name] = str(raw)
        else:
            fault_args[name] = _convert(kind, name, raw)
    return FaultRule(_FAULT_CLASSES[kind](**fault_args), **rule_args)


def parse_fault_header(value: str) -> list[FaultRule]:
    """Parse an ``X-OA-Mock-Fault`` header (see the module docstring for the syntax).

    Raises:
        FaultSpecError: the text names an unknown fault or option, or a value of the wrong type.
    """
    rules: list[FaultRule] = []
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        head, *params = (part.strip() for part in item.split(";"))
        kind, _, argument = head.partition(":")
        kind = kind.strip().lower()
        options: dict[str, Any] = {}
        if argument.strip():
            if kind not in _FAULT_CLASSES:
                raise _unknown_fault(kind)
            options[_FAULT_CLASSES[kind].argument] = argument.strip()
        for param in params:
            if not param:
                continue
            key, sep, raw = param.partition("=")
            if not sep:
                raise FaultSpecError(f"fault option {param!r} needs the form key=value")
            options[key.strip().lower()] = raw.strip()
        rules.append(_build(kind, options))
    if not rules:
        raise FaultSpecError("empty fault header; example: 'X-OA-Mock-Fault: status:503'")
    return rules


def rule_from_json(data: Any) -> FaultRule:
    """Build a rule from the admin API's JSON: ``{"kind": "status", "status": 503, "times": 1}``."""
    if not isinstance(data, Mapping) or not isinstance(data.get("kind"), str):
        raise FaultSpecError(
            'a fault must be a JSON object with a "kind", e.g. {"kind": "status", "status": 503}'
        )
    options = {key: value for key, value in data.items() if key != "kind"}
    return _build(data["kind"].lower(), options)


def rule_to_json(rule: FaultRule) -> dict[str, Any]:
    """The JSON form of a rule (what ``GET /__admin/faults`` lists)."""
    data = rule.fault.to_json()
    for name in _RULE_KEYS:
        value = getattr(rule, name)
        if value is not None and not (name == "probability" and value == 1.0):
            data[name] = value
    return data
