"""``oa-mockserver serve|record|lint [options]`` (also ``python -m oa_mockserver``).

``serve`` runs the mock server (``--cassettes PATH`` replays recorded replies), ``record`` runs
the recording proxy (:mod:`._proxy`), ``lint`` checks cassettes (:mod:`._lint`).

SIGINT and SIGTERM stop the server cleanly: open streams end, no traceback, exit status 0.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
from collections.abc import Sequence

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

from ._control.admin_access import ADMIN_TOKEN_ENV, is_loopback_host
from ._exceptions import CassetteError, ConfigError
from ._server.app import create_app
from ._server.config import REPLY_MODES, ServerConfig
from ._server.http import PROXY_OPTIONS, SERVER_OPTIONS
from ._server.runner import with_admin_token
from .recording._cassette import RECORD_MODES, cassette_file
from .recording._lint import lint_main
from .recording._proxy import create_proxy_app, default_cassette_name
from .recording._redact import Redactor
from .recording._timing import REPLAY_TIMINGS

__all__ = ["build_parser", "config_from_args", "main"]

log = logging.getLogger("oa_mockserver")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``oa-mockserver``."""
    parser = argparse.ArgumentParser(
        prog="oa-mockserver",
        description="A faithful, stateful OpenAssistant mock server (web site and inference "
        "server dialects over one in-memory store).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="run the server until SIGINT/SIGTERM")
    defaults = ServerConfig()
    serve.add_argument(
        "--host", default="127.0.0.1", help="interface to bind (default: %(default)s)"
    )
    serve.add_argument(
        "--port", type=int, default=8080, help="TCP port, 0 for a free one (default: %(default)s)"
    )
    serve.add_argument(
        "--admin-token",
        default=None,
        metavar="TOKEN",
        help="token the admin API (/__admin/) requires, as 'Authorization: Bearer TOKEN' "
        f"(default: ${ADMIN_TOKEN_ENV}; else none on loopback, and one made and printed "
        "on stderr when --host binds wider)",
    )
    serve.add_argument(
        "--token-interval",
        type=float,
        default=defaults.token_interval,
        metavar="SECONDS",
        help="seconds between two tokens (default: %(default)s, as the reference)",
    )
    serve.add_argument(
        "--first-token-delay",
        type=float,
        default=defaults.first_token_delay,
        metavar="SECONDS",
        help="seconds before the first token of a reply (default: %(default)s)",
    )
    serve.add_argument(
        "--reply-tokens",
        type=int,
        default=defaults.reply_tokens,
        metavar="N",
        help="tokens of a generated reply, capped by max_new_tokens (default: %(default)s)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="simulated workers; busy workers make new messages queue "
        "(default: one for every message)",
    )
    serve.add_argument(
        "--reply-mode",
        choices=REPLY_MODES,
        default=defaults.reply_mode,
        help="lorem: deterministic lorem-ipsum; echo: repeat the prompt (default: %(default)s)",
    )
    serve.add_argument(
        "--pending-interval",
        type=float,
        default=defaults.pending_interval,
        metavar="SECONDS",
        help="seconds between pending events while a message waits (default: %(default)s)",
    )
    serve.add_argument(
        "--ping-interval",
        type=float,
        default=defaults.ping_interval,
        metavar="SECONDS",
        help="seconds between SSE ping comments (default: %(default)s)",
    )
    serve.add_argument(
        "--max-body-size",
        type=int,
        default=defaults.max_body_size,
        metavar="BYTES",
        help="largest request body; larger ones get 413 (default: %(default)s)",
    )
    serve.add_argument(
        "--journal-limit",
        type=int,
        default=defaults.journal_limit,
        metavar="N",
        help="requests the journal keeps; the oldest are dropped and counted past it "
        "(0: keep all; default: %(default)s)",
    )
    serve.add_argument(
        "--journal-body-limit",
        type=int,
        default=defaults.journal_body_limit,
        metavar="BYTES",
        help="bytes of a body the journal keeps; a longer one is kept cut, with a marker "
        "(0: keep whole; default: %(default)s)",
    )
    serve.add_argument(
        "--fix-server-bugs",
        action="store_true",
        help="answer proper 404/400 JSON where the real server answered 500 or 401",
    )
    serve.add_argument(
        "--unserved-model",
        action="append",
        default=[],
        metavar="NAME",
        help="a model config no worker serves (its messages wait forever); repeatable",
    )
    serve.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="a fault active from the start, in the X-OA-Mock-Fault syntax, e.g. "
        "'status:503;step=assistant_message;times=1' or 'error-after:3'; repeatable",
    )
    serve.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the faults' probabilities, so a run repeats exactly (default: %(default)s)",
    )
    serve.add_argument(
        "--cassettes",
        default=None,
        metavar="PATH",
        help="replay assistant replies from this cassette file or directory",
    )
    serve.add_argument(
        "--timing",
        choices=REPLAY_TIMINGS,
        default=defaults.replay_timing,
        help="replay pace: recorded (exact, see --speed), instant, or rechunk "
        "(instant, the same bytes cut at seeded places) (default: %(default)s)",
    )
    serve.add_argument(
        "--speed",
        type=float,
        default=defaults.replay_speed,
        metavar="F",
        help="with --timing exact: 2 replays twice as fast (default: %(default)s)",
    )
    serve.add_argument(
        "--rechunk-seed",
        type=int,
        default=defaults.rechunk_seed,
        metavar="N",
        help="seed of --timing rechunk (default: %(default)s)",
    )
    serve.add_argument(
        "--strict",
        action="store_true",
        help="an unmatched assistant message gets 409 naming the nearest recording",
    )
    serve.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="logging level (default: %(default)s); never logs cookies, tokens or prompts",
    )
    record = commands.add_parser(
        "record", help="a recording proxy: forward to --upstream, write a cassette"
    )
    record.add_argument("--upstream", required=True, metavar="URL", help="the server to record")
    record.add_argument(
        "--cassettes", required=True, metavar="DIR", help="directory of the cassette to write"
    )
    record.add_argument(
        "--name",
        default=None,
        help="cassette file name, written as DIR/NAME.yaml: a plain name, no path "
        "(default: session-<date>-<time>)",
    )
    record.add_argument(
        "--record-mode",
        default="once",
        choices=RECORD_MODES,
        help="a cassette that exists already, as vcrpy's record modes: once refuses it (exit 2), "
        "new_episodes adds to it, all replaces it (default: %(default)s)",
    )
    record.add_argument("--host", default="127.0.0.1", help="interface (default: %(default)s)")
    record.add_argument("--port", type=int, default=8081, help="port (default: %(default)s)")
    record.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="logging level (default: %(default)s); cookies and tokens are never logged",
    )
    lint = commands.add_parser("lint", help="check cassettes: schema, version, secrets")
    lint.add_argument("paths", nargs="+", metavar="PATH", help="cassette files or directories")
    return parser  # fmt: skip


def config_from_args(args: argparse.Namespace) -> ServerConfig:
    """The :class:`ServerConfig` of parsed ``serve`` arguments.

    Raises:
        ConfigError: an option is out of range (the message names it).
    """
    return ServerConfig(
        host=args.host,
        port=args.port,
        # the environment keeps the token out of `ps`; an empty variable counts as unset
        admin_token=args.admin_token or os.environ.get(ADMIN_TOKEN_ENV) or None,
        token_interval=args.token_interval,
        first_token_delay=args.first_token_delay,
        reply_tokens=args.reply_tokens,
        workers=args.workers,
        reply_mode=args.reply_mode,
        pending_interval=args.pending_interval,
        ping_interval=args.ping_interval,
        max_body_size=args.max_body_size,
        journal_limit=args.journal_limit,
        journal_body_limit=args.journal_body_limit,
        fix_server_bugs=args.fix_server_bugs,
        unserved_models=frozenset(args.unserved_model),
        faults=tuple(args.fault),
        seed=args.seed,
        cassettes=args.cassettes,
        replay_timing=args.timing,
        replay_speed=args.speed,
        rechunk_seed=args.rechunk_seed,
        strict_replay=args.strict,
    )


class RedactingAccessLogger(AbstractAccessLogger):
    """One INFO line per request: client, method, path with secrets redacted, status, size.

    aiohttp's default format logs the request line as sent, query tokens included. Here query
    parameters named like secrets and well-known secret formats anywhere in the path and query
    show as the journal and cassettes show them (:class:`Redactor`).
    """

    _rules = Redactor.default()

    @classmethod
    def prepare(cls) -> None:
        """Load the secret-format detectors now, so the first request does not wait for them."""
        cls._rules.uri("/")

    @property
    def enabled(self) -> bool:
        """Whether lines would be shown: when not, aiohttp skips :meth:`log` (and its redaction)."""
        return self.logger.isEnabledFor(logging.INFO)

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        self.logger.info(
            '%s "%s %s" %s %s',
            request.remote,
            request.method,
            self._rules.uri(request.path_qs),
            response.status,
            response.body_length,
        )


def _is_loopback(host: str) -> bool:
    return is_loopback_host(host)


def _announce(text: str) -> None:
    # always shown, whatever the log level: scripts wait for the "Running on" line
    print(text.strip(), flush=True)


def _record(args: argparse.Namespace) -> int:
    name = args.name if args.name is not None else default_cassette_name()
    try:
        target = cassette_file(args.cassettes, name)
        app = create_proxy_app(args.upstream, target, record_mode=args.record_mode)
    except (ConfigError, CassetteError) as error:
        print(f"oa-mockserver record: {error}", file=sys.stderr)
        return 2
    _announce(f"recording {Redactor.default().uri(args.upstream)} into {target}")
    if not _is_loopback(args.host):
        log.warning(
            "binding %s: the recording proxy is reachable from other machines, and whatever "
            "they send goes to %s and into the cassette; use --host 127.0.0.1 unless you mean it",
            args.host,
            args.upstream,
        )
    try:
        web.run_app(
            app,
            host=args.host,
            port=args.port,
            print=_announce,
            access_log=None,
            **PROXY_OPTIONS,
        )
    except OSError as error:
        print(
            f"oa-mockserver record: cannot listen on {args.host}:{args.port} "
            f"({error.strerror}); choose another --host or --port",
            file=sys.stderr,
        )
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    if args.command == "lint":
        return lint_main([str(p) for p in args.paths])
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    if args.command == "record":
        return _record(args)
    try:
        given = config_from_args(args)
        config = with_admin_token(given)
        app = create_app(config)
    except (ConfigError, CassetteError) as error:
        print(f"oa-mockserver: {error}", file=sys.stderr)
        return 2
    # What exists now lives as long as the server: the collector need not walk it again (a
    # full collection of the startup objects cost ~14 ms; load tests met one every ~1,000 chats).
    if logging.getLogger("aiohttp.access").isEnabledFor(logging.INFO):
        RedactingAccessLogger.prepare()
    gc.collect()
    gc.freeze()
    if not _is_loopback(config.host):
        log.warning(
            "binding %s: the mock server is reachable from other machines; "
            "use --host 127.0.0.1 unless you mean it",
            config.host,
        )
    if config.admin_token is not None and given.admin_token is None:
        # made for this run: shown once, here only (never logged), for whoever started it
        print(
            "oa-mockserver: the admin API (/__admin/) requires this token, made for this run; "
            f"send 'Authorization: Bearer <token>': {config.admin_token}",
            file=sys.stderr,
            flush=True,
        )
    try:
        web.run_app(
            app,
            host=config.host,
            port=config.port,
            shutdown_timeout=config.shutdown_timeout,
            print=_announce,
            access_log_class=RedactingAccessLogger,
            **SERVER_OPTIONS,
        )
    except OSError as error:
        print(
            f"oa-mockserver: cannot listen on {config.host}:{config.port} ({error.strerror}); "
            "choose another --host or --port",
            file=sys.stderr,
        )
        return 1
    return 0
