"""Matching a live request to a recorded one, and explaining a miss field by field (pure).

A request is reduced to flat fields: ``method``, ``route`` (the path with ids replaced by
``{id}``), ``thread`` (the prompts of the conversation so far, when the caller knows them),
``content``, ``model``, ``sampling.<name>`` for each sampling parameter, ``body.<key>`` for other
body keys and ``query.<key>`` for query parameters. Ids (keys named ``id`` or ending in ``_id``)
are left out: they differ between recording and replay by nature and are mapped, not matched.
:class:`MatchRules` drops fields (``ignore``) or accepts numeric differences (``tolerance``).
A miss names the nearest recorded request (fewest differing fields) and lists each difference.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .._exceptions import CassetteMismatchError

__all__ = [
    "FieldDiff",
    "MatchResult",
    "MatchRules",
    "diff_fields",
    "find_match",
    "request_fields",
    "route_of",
]

_ID_SEGMENT = re.compile(
    r"^(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|no-such-[\w-]+)$"
)
_MISSING = "<absent>"


# the web site's paths are a few fixed ones, asked at every assistant message; the inference
# server's hold the chat's id, so each is new: bounded, a miss costs what the call did
@functools.lru_cache(maxsize=1024)
def route_of(path: str) -> str:
    """``path`` with id-like segments replaced by ``{id}``: ``/chats/{id}/messages/{id}``."""
    return "/".join("{id}" if _ID_SEGMENT.match(s) else s for s in path.split("/"))


@functools.lru_cache(maxsize=1024)  # the same few keys at every request
def _is_id(key: str) -> bool:
    lower = key.lower()
    return lower == "id" or lower.endswith("_id")


def request_fields(
    method: str,
    uri_or_path: str,
    body: bytes | str | Mapping[str, Any] | None = None,
    *,
    thread: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The flat, comparable fields of a request (see the module docstring)."""
    parts = urlsplit(uri_or_path)
    fields: dict[str, Any] = {"method": method.upper(), "route": route_of(parts.path)}
    if thread is not None:
        fields["thread"] = tuple(thread)
    if parts.query:
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if not _is_id(key):
                fields[f"query.{key}"] = value
    parsed: Any = body
    if isinstance(body, bytes | str):
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
            fields["body"] = body if isinstance(body, str) else body.decode("utf-8", "replace")
    # ``type(...) is dict`` first: the ABC check costs, and a parsed body is a dict
    if type(parsed) is dict or isinstance(parsed, Mapping):
        for key, value in parsed.items():
            if _is_id(key):
                continue
            if key == "content":
                fields["content"] = value
            elif key == "model_config_name":
                fields["model"] = value
            elif key == "sampling_parameters" and (
                type(value) is dict or isinstance(value, Mapping)
            ):
                for name, number in value.items():
                    fields[f"sampling.{name}"] = number
            else:
                fields[f"body.{key}"] = value
    return fields


@dataclass(frozen=True, slots=True, kw_only=True)
class MatchRules:
    """Fields to ignore, and absolute tolerances for numeric fields (``"sampling.*"`` works)."""

    ignore: frozenset[str] = frozenset()
    tolerance: Mapping[str, float] = field(default_factory=dict)

    def ignores(self, name: str) -> bool:
        """True when field ``name`` is not compared."""
        return name in self.ignore or any(
            p.endswith("*") and name.startswith(p[:-1]) for p in self.ignore
        )

    def tolerance_for(self, name: str) -> float:
        """The absolute tolerance of field ``name`` (0 when none is set)."""
        if name in self.tolerance:
            return self.tolerance[name]
        for pattern, value in self.tolerance.items():
            if pattern.endswith("*") and name.startswith(pattern[:-1]):
                return value
        return 0.0


@dataclass(frozen=True, slots=True)
class FieldDiff:
    """One differing field: its name, the recorded value and the actual one."""

    name: str
    recorded: Any
    actual: Any

    def __str__(self) -> str:
        return f"{self.name}: recorded {self.recorded!r}, got {self.actual!r}"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _equal(name: str, recorded: Any, actual: Any, rules: MatchRules) -> bool:
    if recorded == actual:
        return True
    a, b = _number(recorded), _number(actual)
    if a is None or b is None:
        return False
    return math.isclose(a, b, rel_tol=0.0, abs_tol=rules.tolerance_for(name))


def diff_fields(
    recorded: Mapping[str, Any], actual: Mapping[str, Any], rules: MatchRules = MatchRules()
) -> list[FieldDiff]:
    """The fields that differ (ignored ones left out), in a stable order."""
    diffs: list[FieldDiff] = []
    # Why not sorted first: this runs for every recorded request at every assistant message,
    # and mostly finds nothing to sort; names are unique, so sorting the diffs is the same order.
    ignore = rules.ignore  # empty: nothing is ignored, no need to ask per field
    for name in recorded.keys() | actual.keys():
        if ignore and rules.ignores(name):
            continue
        left, right = recorded.get(name, _MISSING), actual.get(name, _MISSING)
        # ``==`` first, as _equal does: most fields are equal, and a call each costs
        if left == right or _equal(name, left, right, rules):
            continue
        diffs.append(FieldDiff(name, left, right))
    if len(diffs) > 1:
        diffs.sort(key=attrgetter("name"))
    return diffs


@dataclass(frozen=True, slots=True, kw_only=True)
class MatchResult:
    """The matched candidate's index, or the nearest one and its differences."""

    index: int | None
    nearest: int | None = None
    diffs: tuple[FieldDiff, ...] = ()

    @property
    def matched(self) -> bool:
        """True when a candidate matched."""
        return self.index is not None

    def explain(self) -> str:
        """A human explanation of a miss (empty for a match)."""
        if self.matched:
            return ""
        if self.nearest is None:
            return "no recorded request to compare with: record this conversation first"
        lines = [f"no recorded request matches; the nearest is #{self.nearest}, which differs in:"]
        lines += [f"  {d}" for d in self.diffs]
        return "\n".join(lines)

    def raise_if_missed(self) -> int:
        """The matched index.

        Raises:
            CassetteMismatchError: nothing matched; the message is :meth:`explain`.
        """
        if self.index is None:
            raise CassetteMismatchError(self.explain(), nearest=self.nearest)
        return self.index


def find_match(
    actual: Mapping[str, Any],
    candidates: Sequence[Mapping[str, Any]],
    rules: MatchRules = MatchRules(),
    *,
    used: Collection[int] = (),
) -> MatchResult:
    """The first unused candidate equal to ``actual`` under ``rules``, else the nearest one.

    The nearest is the candidate with the fewest differing fields; among equals, a same-route
    candidate, then the first unused one, then the first.
    """
    best: tuple[tuple[int, int, int, int], int, list[FieldDiff]] | None = None
    for index, candidate in enumerate(candidates):
        diffs = diff_fields(candidate, actual, rules)
        if not diffs and index not in used:
            return MatchResult(index=index)
        # no diffs: a used equal one (replayed again when all are used), the common case
        other_route = int(any(d.name in {"method", "route"} for d in diffs)) if diffs else 0
        key = (other_route, len(diffs), int(index in used), index)
        if best is None or key < best[0]:
            best = (key, index, diffs)
    if best is None:
        return MatchResult(index=None)
    return MatchResult(index=None, nearest=best[1], diffs=tuple(best[2]))
