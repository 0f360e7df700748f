"""What the installed distribution ships and promises: the licence file, and the extras the guide
tells users to install (read from the installed metadata, as pip sees it)."""

from __future__ import annotations

import re
from importlib.metadata import distribution
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _extra(name: str) -> set[str]:
    requires = distribution("oa-toolkit").requires or []
    marker = re.compile(rf"""extra\s*==\s*["']{name}["']""")
    return {re.split(r"[\s<>=!~;\[]", r, maxsplit=1)[0] for r in requires if marker.search(r)}


def test_the_licence_ships_with_the_distribution() -> None:
    metadata = distribution("oa-toolkit").metadata
    assert metadata.get_all("License-File") == ["LICENSE"]
    assert metadata["License-Expression"] == "MIT"
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")


def test_the_pytest_extra_brings_exactly_what_the_fixtures_need() -> None:
    assert _extra("pytest") == {"pytest", "pytest-asyncio"}


def test_the_docs_extra_builds_the_guide() -> None:
    assert {"mkdocs", "mkdocstrings"} <= _extra("docs")


def test_the_downstream_example_installs_the_fixtures_through_the_extra() -> None:
    example = ROOT / "examples" / "downstream"
    # a line match, not tomllib: the suite runs on Python 3.10 too
    project = (example / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^test = \["oa-toolkit\[pytest\]"\]$', project, re.M)
    readme = (example / "README.md").read_text(encoding="utf-8")
    assert '.venv/bin/pip install "../..[pytest]" -e ".[test]"' in readme
