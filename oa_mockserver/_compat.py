"""Typing names newer than Python 3.10, from one place (``typing`` has them from 3.11 on).

``Unpack`` types ``**kwargs`` by a ``TypedDict`` (PEP 692): the stores' ``PageQuery`` and
``NewReply``, ``Call.build``'s ``KeptAsGiven``.
"""

from __future__ import annotations

import sys

if sys.version_info >= (3, 11):
    from typing import Required, Unpack
else:
    from typing_extensions import Required, Unpack

__all__ = ["Required", "Unpack"]
