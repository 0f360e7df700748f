"""Every Python and shell block of README.md and docs/*.md runs as pasted, in order, per page.

One test per page (a temp dir shared by the page's blocks, its background servers started once
and stopped at the end), and one more per page and group for the blocks marked ``needs=GROUP``:
those carry the group's marker, so the default command deselects them and ``pytest -m GROUP``
runs them (after the page's own blocks, which they may build on). The convention and the runner
are in ``_blocks.py``.

Skipped on purpose: the README's ``## Quick start``. Its first command deletes and recreates the
venv this suite runs in, and its second runs this very suite; ``.ci/run`` runs both itself.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _blocks import Block, parse_blocks, run_blocks, select_blocks

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
#: Sections whose blocks are never run here (see the module docstring for why).
NOT_RUN = {("README.md", "Quick start")}
GROUPS = ("browser", "g4f", "redis")


def _blocks(page: Path) -> list[Block]:
    name = page.relative_to(ROOT).as_posix()
    return [
        block
        for block in parse_blocks(page.read_text(encoding="utf-8"), name)
        if (name, block.section) not in NOT_RUN
    ]


def _cases() -> list[object]:
    cases: list[object] = []
    for page in PAGES:
        name = page.relative_to(ROOT).as_posix()
        cases.append(pytest.param(page, None, id=name))
        try:
            groups = sorted({b.group for b in _blocks(page) if b.group is not None})
        except ValueError:
            continue  # a page that does not parse fails its own test, not the collection
        for group in groups:
            mark = getattr(pytest.mark, group)
            cases.append(pytest.param(page, group, id=f"{name}[{group}]", marks=mark))
    return cases


@pytest.mark.parametrize(("page", "group"), _cases())
def test_page_runs_as_pasted(page: Path, group: str | None, tmp_path: Path) -> None:
    ran = run_blocks(select_blocks(_blocks(page), group), tmp_path)
    if group is not None:
        assert any(b.group == group for b in ran)


def test_every_group_named_in_the_docs_has_a_marker() -> None:
    named = {b.group for page in PAGES for b in _blocks(page) if b.group is not None}
    assert named <= set(GROUPS), f"unknown needs= groups: {sorted(named - set(GROUPS))}"


def test_the_quick_start_is_the_only_part_left_out() -> None:
    readme = parse_blocks((ROOT / "README.md").read_text(encoding="utf-8"), "README.md")
    left_out = [b for b in readme if b.section == "Quick start"]
    assert len(left_out) == 1
    assert left_out[0].lang == "sh"
    assert left_out[0].code.splitlines()[1] == ".venv/bin/python -m pytest"
