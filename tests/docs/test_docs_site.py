"""The guide's site holds together without building it (CI builds it: `mkdocs build --strict`):
every page is in the nav, every nav entry and every relative link has its page."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
LINK = re.compile(r"\]\((?!https?://|#|mailto:)(?P<target>[^)#\s]+)(?:#[^)]*)?\)")


def _nav_pages(node: object) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        return [page for item in node for page in _nav_pages(item)]
    if isinstance(node, dict):
        return [page for value in node.values() for page in _nav_pages(value)]
    return []


def _config() -> dict[str, object]:
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    loaded: dict[str, object] = yaml.safe_load(text)
    return loaded


def test_every_page_is_in_the_nav_and_every_entry_exists() -> None:
    nav = _nav_pages(_config()["nav"])
    assert [page for page in nav if not (DOCS / page).is_file()] == []
    pages = {p.name for p in DOCS.glob("*.md")}
    assert sorted(pages - set(nav)) == []


def test_relative_links_of_the_readme_and_the_guide_resolve() -> None:
    broken = []
    for page in [ROOT / "README.md", *DOCS.glob("*.md")]:
        for match in LINK.finditer(page.read_text(encoding="utf-8")):
            target = (page.parent / match.group("target")).resolve()
            if not target.exists():
                broken.append(f"{page.relative_to(ROOT)}: {match.group('target')}")
    assert broken == []


def _hooks() -> Any:
    spec = importlib.util.spec_from_file_location(
        "mkdocs_hooks", ROOT / "scripts" / "mkdocs_hooks.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_hook_leaves_python_markdown_a_language_and_a_title() -> None:
    # Python-Markdown renders a fence with words after the language as plain paragraphs.
    hooks = _hooks()
    fences = re.compile(r"^ *```(?P<info>\S.*)$", re.M)
    for page in DOCS.glob("*.md"):
        for match in fences.finditer(hooks.on_page_markdown(page.read_text(encoding="utf-8"))):
            info = match.group("info")
            assert re.fullmatch(r'[\w+-]+( title="[^"]+")?', info), f"{page.name}: {info}"
    rewritten = hooks.on_page_markdown("```python file=test_x.py\n1\n```\n```sh fragment\n```")
    assert rewritten == '```python title="test_x.py"\n1\n```\n```sh\n```'
