"""The ``oa-chat`` console script's entry point, outside the ``oa_provider`` package on purpose.

Importing :mod:`oa_provider` imports aiohttp and msgspec: a few hundred milliseconds in which
Ctrl-C used to print a ``KeyboardInterrupt`` traceback from the middle of an import. Importing
any module of the package runs that import first, so the console script starts here instead,
where nothing is imported yet that an interrupt could cut short.
"""

from __future__ import annotations

import sys

__all__ = ["main"]

_EXIT_INTERRUPTED = 130  # oa_provider._cli.EXIT_INTERRUPTED, which is not imported yet


def main() -> int:
    """Run ``oa-chat``; a Ctrl-C before it handles Ctrl-C itself exits 130 without a traceback."""
    try:
        from oa_provider._cli import main as run

        return run()
    except KeyboardInterrupt:
        sys.stderr.write("\noa-chat: interrupted\n")
        return _EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
