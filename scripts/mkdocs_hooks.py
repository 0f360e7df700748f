"""MkDocs hook: the guide's code-block info strings, made readable by Python-Markdown.

The guide's blocks carry words for the test runner (``sh background``, ``python fragment``,
``python file=test_x.py``, ``needs=g4f``; see ``tests/docs/_blocks.py``). Python-Markdown's
fences take only a language, so a block with more words would render as plain paragraphs: this
hook keeps the language and turns what a reader needs into the block's title.
"""

from __future__ import annotations

import re
from typing import Any

_FENCE = re.compile(r"^(?P<head> *(?:`{3,}|~{3,}))(?P<lang>[\w+-]+)[ \t]+(?P<words>[^`\n]+)$", re.M)


def _title(words: list[str]) -> str | None:
    for word in words:
        if word.startswith("file="):
            return word.partition("=")[2]
    if "background" in words:
        return "in the background (in your shell: end it with &)"
    return None


def _rewrite(match: re.Match[str]) -> str:
    words = match.group("words").split()
    if any(word.startswith("title=") for word in words):
        return match.group(0)  # already in Python-Markdown's own form
    title = _title(words)
    head = match.group("head") + match.group("lang")
    return f'{head} title="{title}"' if title else head


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    """Rewrite each fence's info string before the page is converted."""
    return _FENCE.sub(_rewrite, markdown)
