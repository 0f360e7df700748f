"""The dashboard page as one HTML document: the shipped template, style and script, inlined.

The server serves it as it is (the script then follows the live feed); the static report
(``oa-mockserver report``) embeds its data in it, and the same script draws that instead. The
files are package data (``oa_mockserver/ui/``), read once with :mod:`importlib.resources`.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from importlib import resources
from typing import Any

__all__ = ["ASSETS", "asset_bytes", "content_security_policy", "page_html"]

#: The files of the page, shipped as package data under ``oa_mockserver/ui/``.
ASSETS = ("dashboard.html", "dashboard.css", "dashboard.js")
_DATA_SLOT = "<!--OA-REPORT-DATA-->"


@functools.cache
def _asset(name: str) -> str:
    return (
        resources.files("oa_mockserver").joinpath("ui").joinpath(name).read_text(encoding="utf-8")
    )


def asset_bytes() -> int:
    """The bytes the page ships (its three files)."""
    return sum(len(_asset(name).encode()) for name in ASSETS)


@functools.cache
def content_security_policy() -> str:
    """The page's policy: its own script and style only (by their hashes, so no other inline
    code can run), requests to its own server only, and no framing by any site."""

    def digest(name: str) -> str:
        sha = hashlib.sha256(_asset(name).encode()).digest()
        return "'sha256-" + base64.b64encode(sha).decode() + "'"

    return (
        f"default-src 'none'; script-src {digest('dashboard.js')}; "
        f"style-src {digest('dashboard.css')}; connect-src 'self'; img-src data:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


def page_html(data: Any = None) -> str:
    """The page; with ``data`` (the report's rows), a static page that draws them.

    The data travels as JSON inside a ``<script type="application/json">`` element, with every
    ``<`` escaped so no string in it (a request body) can end the element.
    """
    page = (
        _asset("dashboard.html")
        .replace("/*OA-CSS*/", _asset("dashboard.css"))
        .replace("/*OA-JS*/", _asset("dashboard.js"))
    )
    if data is None:
        return page.replace(_DATA_SLOT, "")
    text = json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")
    return page.replace(
        _DATA_SLOT, f'<script type="application/json" id="oa-report">{text}</script>'
    )
