"""oa_mockserver: a faithful, stateful OpenAssistant mock server on aiohttp."""

from __future__ import annotations

from ._app import create_app
from ._cassette import (
    Cassette,
    Chunk,
    Episode,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    dump_cassette,
    library_path,
    load_cassette,
    parse_cassette,
    save_cassette,
)
from ._config import ServerConfig
from ._exceptions import (
    CassetteError,
    CassetteMismatchError,
    CassetteNotFoundError,
    ConfigError,
    FaultSpecError,
    MockServerError,
    RedactionRuleError,
)
from ._faults import (
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
from ._journal import (
    TRUNCATED_MARKER,
    Call,
    ChunkRecord,
    Journal,
    JournalPage,
    JournalPageError,
    RequestMatcher,
    StreamLog,
)
from ._lint import Finding, lint_main, run_lint
from ._match import FieldDiff, MatchResult, MatchRules, diff_fields, find_match, request_fields
from ._proxy import RecordingProxy, create_proxy_app
from ._rechunk import rechunk
from ._redact import REDACTED, Redactor, SecretSpan
from ._replay import ReplayLibrary
from ._server import MockServer
from ._threaded import ThreadedMockServer
from ._timing import ReplaySettings, Timing, parse_timing
from ._vcr import ChunkedReplayStream, oa_vcr, use_cassette

__all__ = [
    "Call",
    "Cassette",
    "CassetteError",
    "CassetteMismatchError",
    "CassetteNotFoundError",
    "Chunk",
    "ChunkedReplayStream",
    "ChunkRecord",
    "ConfigError",
    "create_app",
    "create_proxy_app",
    "DeleteFails",
    "diff_fields",
    "DropAfter",
    "dump_cassette",
    "Episode",
    "ErrorAfter",
    "Fault",
    "FAULT_HEADER",
    "FaultRule",
    "FaultSet",
    "FaultSpecError",
    "FieldDiff",
    "find_match",
    "Finding",
    "Interaction",
    "Journal",
    "JournalPage",
    "JournalPageError",
    "Latency",
    "library_path",
    "lint_main",
    "load_cassette",
    "MalformedAfter",
    "MatchResult",
    "MatchRules",
    "MockServer",
    "MockServerError",
    "oa_vcr",
    "parse_cassette",
    "parse_fault_header",
    "parse_timing",
    "PluginStep",
    "rechunk",
    "RecordedRequest",
    "RecordedResponse",
    "RecordingProxy",
    "REDACTED",
    "RedactionRuleError",
    "Redactor",
    "ReplayLibrary",
    "ReplaySettings",
    "request_fields",
    "RequestMatcher",
    "run_lint",
    "SafePrompt",
    "save_cassette",
    "SecretSpan",
    "ServerConfig",
    "Stall",
    "Status",
    "StreamLog",
    "ThreadedMockServer",
    "Timing",
    "TruncateAfter",
    "TRUNCATED_MARKER",
    "use_cassette",
]
