"""``diff_fields`` without a sort up front finds the differences the sorted one found, in order.

``_reference_diff_fields`` is the previous implementation, kept verbatim as the reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from oa_mockserver.recording._match import FieldDiff, MatchRules, _equal, diff_fields

_MISSING = "<absent>"


def _reference_diff_fields(
    recorded: Mapping[str, Any], actual: Mapping[str, Any], rules: MatchRules
) -> list[FieldDiff]:
    diffs: list[FieldDiff] = []
    for name in sorted(set(recorded) | set(actual)):
        if rules.ignores(name):
            continue
        left, right = recorded.get(name, _MISSING), actual.get(name, _MISSING)
        if not _equal(name, left, right, rules):
            diffs.append(FieldDiff(name, left, right))
    return diffs


_NAMES = st.sampled_from(["method", "route", "model", "sampling.top_p", "sampling.top_k", "body.x"])
_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-2, 2), st.floats(-1, 1), st.sampled_from(["a", (1,)])
)
_FIELDS = st.dictionaries(_NAMES, _VALUES, max_size=6)
_PATTERNS = st.sampled_from(["model", "sampling.*", "body.x", "route"])
_RULES = st.builds(
    MatchRules,
    ignore=st.frozensets(_PATTERNS, max_size=2),
    tolerance=st.dictionaries(_PATTERNS, st.sampled_from([0.0, 0.1, 1.0]), max_size=2),
)


@given(_FIELDS, _FIELDS, _RULES)
def test_diff_fields_finds_what_the_reference_found(
    recorded: dict[str, Any], actual: dict[str, Any], rules: MatchRules
) -> None:
    assert diff_fields(recorded, actual, rules) == _reference_diff_fields(recorded, actual, rules)
