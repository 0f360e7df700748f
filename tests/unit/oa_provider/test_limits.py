"""Limits: a frozen, documented, validated value (the decoders' limit is tested with them)."""

from __future__ import annotations

import pytest

from oa_provider import Limits


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "10"])
def test_a_bad_max_event_size_is_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="max_event_size"):
        Limits(max_event_size=bad)  # type: ignore[arg-type]


def test_limits_is_frozen_and_documented() -> None:
    limits = Limits()
    with pytest.raises(AttributeError):
        limits.extra_tokens = 3  # type: ignore[misc]
    assert Limits.__doc__ is not None
    for name in ("max_event_size", "max_response_size", "extra_tokens", "max_pending_events"):
        assert name in Limits.__doc__
    with pytest.raises(ValueError, match="extra_tokens"):
        Limits(extra_tokens=-1)
    assert Limits(extra_tokens=0, max_pending_events=None).max_pending_events is None
