"""The exceptions of :mod:`oa_mockserver`, one tree rooted at :class:`MockServerError`.

The tree is drawn once, in the docstring of :mod:`oa_mockserver` (their public home).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CassetteError",
    "CassetteMismatchError",
    "CassetteNotFoundError",
    "ConfigError",
    "FaultSpecError",
    "HarEntryError",
    "HarError",
    "JournalPageError",
    "MockServerError",
    "RedactionRuleError",
]


class MockServerError(Exception):
    """Base class of every error raised by :mod:`oa_mockserver`."""

    def __reduce__(self) -> tuple[Any, ...]:
        # Unpickled without calling __init__ again (several build their message from keywords).
        return _restore, (type(self), self.args, self.__dict__)


def _restore(cls: type[MockServerError], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


class FaultSpecError(MockServerError, ValueError):
    """A fault specification (header, admin JSON or Python) is invalid; the message says why."""


class ConfigError(MockServerError, ValueError):
    """A server option is invalid; the message names the option and the allowed values."""


class CassetteError(MockServerError, ValueError):
    """A cassette file is broken or unsupported; the message names the file, line and fix."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        where = path or "<cassette>"
        if line is not None:
            where = f"{where}:{line}"
        super().__init__(f"{where}: {message}")
        self.cassette_path = path
        self.line = line


class CassetteNotFoundError(MockServerError, FileNotFoundError):
    """A cassette to replay does not exist (record it first, or fix the path)."""

    def __init__(self, path: str) -> None:
        super().__init__(
            f"cassette {path} does not exist: record it first "
            "(record_mode 'once' or 'new_episodes') or fix the path"
        )
        self.cassette_path = path


class CassetteMismatchError(MockServerError, AssertionError):
    """No recorded request matches; the message names the nearest one and each differing field."""

    def __init__(self, message: str, *, nearest: int | None = None) -> None:
        super().__init__(message)
        self.nearest = nearest


class HarError(MockServerError, ValueError):
    """A HAR file cannot be imported as a cassette; the message names the file, what is wrong
    and what to do (``FILE: reason``)."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(f"{path or '<har>'}: {message}")
        self.har_path = path


class HarEntryError(HarError):
    """One entry of a HAR file is broken (no request, a body that is not valid base64...);
    ``entry`` is its index in ``log.entries``, named in the message."""

    def __init__(self, message: str, *, path: str | None = None, entry: int) -> None:
        super().__init__(f"entry {entry}: {message}", path=path)
        self.entry = entry


class RedactionRuleError(MockServerError, ValueError):
    """An extra redaction rule is invalid (a regular expression that does not compile)."""


class JournalPageError(MockServerError, ValueError):
    """A page of the journal was asked with a bad ``after`` or ``limit``; the message says why."""
