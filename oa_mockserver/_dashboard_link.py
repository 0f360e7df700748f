"""The dashboard's link on ``oa-mockserver serve``'s startup line, and ``serve --open``."""

from __future__ import annotations

import os
import re
import sys
import threading
import webbrowser
from collections.abc import Callable

from ._server.routes.ui import dashboard_url

__all__ = ["dashboard_announcer"]

_RUNNING = re.compile(r"Running on (http://\S+)")


def dashboard_announcer(
    announce: Callable[[str], None], *, open_browser: bool, needs_token: bool
) -> Callable[[str], None]:
    """``announce``, followed on the "Running on" line by the dashboard's address (and, with
    ``open_browser``, the page opened in the user's browser where there is one)."""

    def print_with_dashboard(text: str) -> None:
        announce(text)
        found = _RUNNING.search(text)
        if found is None:
            return
        url = dashboard_url(found.group(1))
        hint = " (it asks for the admin token)" if needs_token else ""
        announce(f"dashboard: {url}{hint}")
        if open_browser:
            # in a thread: a browser's start must not hold up the server's
            threading.Thread(target=_open, args=(url,), daemon=True).start()

    return print_with_dashboard


def _has_browser() -> bool:
    """Whether a graphical browser can open here: ``$BROWSER`` names one, a display is there,
    or the system opens addresses itself. Not a console browser: started by ``webbrowser``
    on a bare terminal, lynx or w3m would take over the server's own terminal."""
    return sys.platform in ("darwin", "win32") or any(
        os.environ.get(name) for name in ("BROWSER", "DISPLAY", "WAYLAND_DISPLAY")
    )


def _open(url: str) -> None:
    if not _has_browser() or not webbrowser.open(url):
        print(f"oa-mockserver: no browser found; open {url} yourself", file=sys.stderr)
