"""The public home of the names a package exports, shared by ``oa_mockserver`` and its
``recording`` subpackage.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["rehome"]


def rehome(package: str, namespace: Mapping[str, Any]) -> None:
    """Make each name of ``namespace["__all__"]`` defined in a private module below ``package``
    report ``package`` as its module (as httpx does).

    reprs, ``help()``, pickles and tracebacks then say ``oa_mockserver.MockServer``, not the
    private module that defines it. A name from elsewhere keeps its home: the errors that
    ``oa_mockserver.recording`` re-exports stay ``oa_mockserver``'s.
    """
    below = f"{package}."
    for name in namespace["__all__"]:
        value = namespace[name]
        module: str = getattr(value, "__module__", "")
        private = any(part.startswith("_") for part in module.removeprefix(below).split("."))
        if module.startswith(below) and private:
            value.__module__ = package
