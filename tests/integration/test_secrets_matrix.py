"""Issue 11's secrets matrix: every case × every place it can reach, over real loopback HTTP.

See _secrets_cases for the cases and how each place is read. A place passes when it keeps none
of the case's secrets; lint passes when, on the same exchanges recorded without redaction, it
flags the case's interaction and field without printing the secret.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _secrets_cases import CASES, Case, Gathered, gather

from oa_mockserver import REDACTED, run_lint


@pytest.fixture(scope="module")
def gathered(tmp_path_factory: pytest.TempPathFactory) -> Gathered:
    return gather(tmp_path_factory.mktemp("secrets"))


@pytest.mark.parametrize(
    ("case", "place"),
    [(case, place) for case in CASES for place in case.places],
    ids=[f"{case.name}-{place}" for case in CASES for place in case.places],
)
def test_the_secret_does_not_land(gathered: Gathered, case: Case, place: str) -> None:
    kept = gathered.kept(case, place)
    for secret in case.secrets:
        assert secret not in kept, f"{case.name}: {place} kept it"
    if place == "lint":
        assert gathered.flagged(case), f"lint did not flag {case.field} of {case.name}"


def test_the_exchanges_went_through(gathered: Gathered) -> None:
    """Each request reached its upstream, so a clean place is not an empty one."""
    journal = json.loads(gathered.journal)
    calls = journal if isinstance(journal, list) else journal["requests"]
    assert len(calls) >= sum(not c.response for c in CASES)
    assert gathered.cassettes[False].count("- episode:") == sum(not c.response for c in CASES)
    assert gathered.cassettes[True].count("- episode:") == sum(c.response for c in CASES)
    assert REDACTED in gathered.cassettes[False]
    assert len(gathered.access_log.splitlines()) >= sum(not c.response for c in CASES)
    assert "password=REDACTED" in gathered.access_log


def test_the_redacted_recordings_lint_clean(gathered: Gathered, tmp_path: Path) -> None:
    for response_side, text in gathered.cassettes.items():
        path = tmp_path / f"{response_side}.yaml"
        path.write_text(text, encoding="utf-8")
        assert run_lint([path]) == []
