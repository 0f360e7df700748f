"""The one exception tree of :mod:`oa_mockserver`::

    MockServerError (Exception)
    ├── ConfigError (ValueError)          a server option is invalid
    └── (the control and cassette issues add FaultError, CassetteError, ...)
"""

from __future__ import annotations

__all__ = ["ConfigError", "MockServerError"]


class MockServerError(Exception):
    """Base class of every error raised by :mod:`oa_mockserver`."""


class ConfigError(MockServerError, ValueError):
    """A server option is invalid; the message names the option and the allowed values."""
