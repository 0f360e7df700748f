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
    MockServerError,
    RedactionRuleError,
)
from ._journal import Call, Journal
from ._lint import Finding, lint_main, run_lint
from ._match import FieldDiff, MatchResult, MatchRules, diff_fields, find_match, request_fields
from ._rechunk import rechunk
from ._redact import REDACTED, Redactor
from ._server import MockServer
from ._timing import Timing, parse_timing
from ._vcr import ChunkedReplayStream, oa_vcr, use_cassette

__all__ = [
    "Call",
    "Cassette",
    "CassetteError",
    "CassetteMismatchError",
    "CassetteNotFoundError",
    "Chunk",
    "ChunkedReplayStream",
    "ConfigError",
    "create_app",
    "diff_fields",
    "dump_cassette",
    "Episode",
    "FieldDiff",
    "find_match",
    "Finding",
    "Interaction",
    "Journal",
    "lint_main",
    "load_cassette",
    "MatchResult",
    "MatchRules",
    "MockServer",
    "MockServerError",
    "oa_vcr",
    "parse_cassette",
    "parse_timing",
    "rechunk",
    "RecordedRequest",
    "RecordedResponse",
    "REDACTED",
    "RedactionRuleError",
    "Redactor",
    "request_fields",
    "run_lint",
    "save_cassette",
    "ServerConfig",
    "Timing",
    "use_cassette",
]
