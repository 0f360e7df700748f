"""oa_mockserver: a faithful, stateful OpenAssistant mock server on aiohttp."""

from __future__ import annotations

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
    ChunkRecord,
    Journal,
    JournalPage,
    JournalPageError,
    RequestMatcher,
    StreamLog,
)
from ._exceptions import (
    CassetteError,
    CassetteMismatchError,
    CassetteNotFoundError,
    ConfigError,
    FaultSpecError,
    MockServerError,
    RedactionRuleError,
)
from ._server.app import create_app
from ._server.config import ServerConfig
from ._server.runner import MockServer
from ._server.threaded import ThreadedMockServer
from .recording._cassette import (
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
from .recording._lint import Finding, lint_main, run_lint
from .recording._match import (
    FieldDiff,
    MatchResult,
    MatchRules,
    diff_fields,
    find_match,
    request_fields,
)
from .recording._proxy import RecordingProxy, create_proxy_app
from .recording._rechunk import rechunk
from .recording._redact import REDACTED, Redactor, SecretSpan
from .recording._replay import ReplayLibrary
from .recording._timing import ReplaySettings, Timing, parse_timing
from .recording._vcr import ChunkedReplayStream, oa_vcr, use_cassette

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
