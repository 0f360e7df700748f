"""oa_mockserver: a faithful, stateful OpenAssistant mock server on aiohttp.

This package is the server: :class:`MockServer` (asyncio) and :class:`ThreadedMockServer` (any
code, in a thread) run the app of :func:`create_app` under a :class:`ServerConfig`; the faults
(:class:`Fault` and its kinds, scoped by :class:`FaultRule`, held in a :class:`FaultSet`) break it
on purpose; the :class:`Journal` records each request as a :class:`Call`, checked with a
:class:`RequestMatcher`. Cassettes (record and replay, redaction, lint) are the public subpackage
:mod:`oa_mockserver.recording`; :func:`library_path` finds the cassettes shipped with it.

The one exception tree::

    MockServerError (Exception)
    ├── ConfigError (ValueError)                   a server option is invalid
    ├── FaultSpecError (ValueError)                a fault specification is invalid
    ├── JournalPageError (ValueError)              a journal page asked with a bad after or limit
    ├── CassetteError (ValueError)                 a cassette file is broken (names file and line)
    ├── CassetteNotFoundError (FileNotFoundError)  a cassette to replay does not exist
    ├── CassetteMismatchError (AssertionError)     no recorded request matches (nearest + diff)
    ├── HarError (ValueError)                      a HAR file cannot be imported (names the file)
    │   └── HarEntryError                          one entry of it is broken (names the entry)
    └── RedactionRuleError (ValueError)            an extra redaction rule is invalid

The last six are also importable from :mod:`oa_mockserver.recording`.
"""

from __future__ import annotations

import importlib as _importlib
import typing as _typing
import warnings as _warnings

from . import recording as _recording
from ._control.faults import (
    FAULT_HEADER,
    DeleteFails,
    DropAfter,
    ErrorAfter,
    Fault,
    FaultRule,
    FaultSet,
    Latency,
    MalformedAfter,
    PluginStep,
    SafePrompt,
    Stall,
    Status,
    TruncateAfter,
    parse_fault_header,
)
from ._control.journal import (
    TRUNCATED_MARKER,
    Call,
    Journal,
    JournalPage,
    RequestMatcher,
    StreamLog,
)
from ._exceptions import (
    CassetteError,
    CassetteMismatchError,
    CassetteNotFoundError,
    ConfigError,
    FaultSpecError,
    HarEntryError,
    HarError,
    JournalPageError,
    MockServerError,
    RedactionRuleError,
)
from ._public import rehome as _rehome
from ._server.app import create_app
from ._server.config import ServerConfig
from ._server.runner import MockServer
from ._server.threaded import ThreadedMockServer
from .recording._cassette import library_path

__all__ = [
    "Call",
    "CassetteError",
    "CassetteMismatchError",
    "CassetteNotFoundError",
    "ConfigError",
    "create_app",
    "DeleteFails",
    "DropAfter",
    "ErrorAfter",
    "Fault",
    "FAULT_HEADER",
    "FaultRule",
    "FaultSet",
    "FaultSpecError",
    "HarEntryError",
    "HarError",
    "Journal",
    "JournalPage",
    "JournalPageError",
    "Latency",
    "library_path",
    "MalformedAfter",
    "MockServer",
    "MockServerError",
    "parse_fault_header",
    "PluginStep",
    "RedactionRuleError",
    "RequestMatcher",
    "SafePrompt",
    "ServerConfig",
    "Stall",
    "Status",
    "StreamLog",
    "ThreadedMockServer",
    "TruncateAfter",
    "TRUNCATED_MARKER",
]

# reprs, help() and tracebacks say ``oa_mockserver.MockServer``, not the private module
_rehome(__name__, globals())

# Deprecated paths, kept for one release (PEP 562): the names that moved to the public
# subpackage ``oa_mockserver.recording`` (all it exports but the errors, which stay here too)...
_MOVED = frozenset(_recording.__all__).difference(__all__)
# ...and the internal ones that were exported by mistake: their private module, and what to use.
_DROPPED: dict[str, tuple[str, str]] = {
    "ChunkedReplayStream": ("recording._vcr", "oa_vcr() and use_cassette() build it"),
    "ChunkRecord": ("_control.journal", "read the fields of Call.stream.chunks"),
    "create_proxy_app": ("recording._proxy", "use oa_mockserver.recording.RecordingProxy"),
    "diff_fields": ("recording._match", "CassetteMismatchError lists the differing fields"),
    "FieldDiff": ("recording._match", "CassetteMismatchError lists the differing fields"),
    "find_match": ("recording._match", "ServerConfig(cassettes=...) matches the recordings"),
    "lint_main": ("recording._lint", "run `oa-mockserver lint`, or recording.run_lint()"),
    "MatchResult": ("recording._match", "CassetteMismatchError explains a miss"),
    "MatchRules": ("recording._match", "use ServerConfig(match_ignore=, match_tolerance=)"),
    "parse_timing": ("recording._timing", "use Timing.exact(), Timing(speed), Timing.instant()"),
    "ReplayLibrary": ("recording._replay", "ServerConfig(cassettes=...) loads the recordings"),
    "ReplaySettings": ("recording._timing", "ServerConfig's replay options set it"),
    "request_fields": ("recording._match", "ServerConfig(cassettes=...) matches the recordings"),
    "SecretSpan": ("recording._redact", "read the fields of Redactor.secret_spans()"),
}


def _deprecated(name: str) -> object:
    """The object of a deprecated name, with a DeprecationWarning naming the new import."""
    if name in _MOVED:
        module, advice = "recording", f"use `from {__name__}.recording import {name}`"
    elif name in _DROPPED:
        module, instead = _DROPPED[name]
        advice = f"it is internal ({instead})"
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    _warnings.warn(
        f"`{__name__}.{name}` is deprecated and will be removed in the next release: {advice}",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(_importlib.import_module(f"{__name__}.{module}"), name)


if not _typing.TYPE_CHECKING:  # type checkers report the old paths as missing: the new ones
    __getattr__ = _deprecated
