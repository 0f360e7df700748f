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
