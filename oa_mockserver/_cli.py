"""``oa-mockserver serve|record|lint|report [options]`` (also ``python -m oa_mockserver``).

``serve`` runs the mock server (``--cassettes PATH`` replays recorded replies), ``record`` runs
the recording proxy (:mod:`._proxy`), ``lint`` checks cassettes (:mod:`._lint`), ``report``
writes a cassette's or a saved journal's requests and streams as one HTML file (:mod:`._report`).

SIGINT and SIGTERM stop the server cleanly: open streams end, no traceback, exit status 0.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

from ._control.admin_access import ADMIN_TOKEN_ENV, is_loopback_host
from ._dashboard_link import dashboard_announcer
from ._exceptions import CassetteError, ConfigError
from ._report import add_report_parser, report_main
from ._server.app import create_app
from ._server.collector import settle_collector
from ._server.config import REPLY_MODES, ServerConfig
from ._server.http import PROXY_OPTIONS, SERVER_OPTIONS
from ._server.processes import serve_processes, shared_problem
from ._server.runner import with_admin_token
from .recording._cassette import RECORD_MODES, cassette_file
from .recording._import_har import add_import_har_parser, import_har_main
from .recording._lint import lint_main
from .recording._proxy import create_proxy_app, default_cassette_name
from .recording._redact import Redactor
from .recording._timing import REPLAY_TIMINGS

__all__ = ["build_parser", "config_from_args", "main"]

log = logging.getLogger("oa_mockserver")


#: The ``serve`` options that each set one :class:`ServerConfig` field: flag -> (field, metavar,
#: help). The field's default is the option's default and gives its kind (a number or a name
#: takes a value of that type, True/False is a switch, a collection is a repeatable option), so
#: defaults live in ServerConfig alone; :func:`config_from_args` reads the same table.
_CONFIG_OPTIONS: dict[str, tuple[str, str | None, str]] = {
    "--token-interval": (
        "token_interval",
        "SECONDS",
        "seconds between two tokens (default: %(default)s, as the reference)",
    ),
    "--first-token-delay": (
        "first_token_delay",
        "SECONDS",
        "seconds before the first token of a reply (default: %(default)s)",
    ),
    "--reply-tokens": (
        "reply_tokens",
        "N",
        "tokens of a generated reply, capped by max_new_tokens (default: %(default)s)",
    ),
    "--reply-mode": (
        "reply_mode",
        None,
        "lorem: deterministic lorem-ipsum; echo: repeat the prompt (default: %(default)s)",
    ),
    "--pending-interval": (
        "pending_interval",
        "SECONDS",
        "seconds between pending events while a message waits (default: %(default)s)",
    ),
    "--ping-interval": (
        "ping_interval",
        "SECONDS",
        "seconds between SSE ping comments (default: %(default)s)",
    ),
    "--max-body-size": (
        "max_body_size",
        "BYTES",
        "largest request body; larger ones get 413 (default: %(default)s)",
    ),
    "--journal-limit": (
        "journal_limit",
        "N",
        "requests the journal keeps; the oldest are dropped and counted past it "
        "(0: keep all; default: %(default)s)",
    ),
    "--journal-body-limit": (
        "journal_body_limit",
        "BYTES",
        "bytes of a body the journal keeps; a longer one is kept cut, with a marker "
        "(0: keep whole; default: %(default)s)",
    ),
    "--fix-server-bugs": (
        "fix_server_bugs",
        None,
        "answer proper 404/400 JSON where the real server answered 500 or 401",
    ),
    "--unserved-model": (
        "unserved_models",
        "NAME",
        "a model config no worker serves (its messages wait forever); repeatable",
    ),
    "--fault": (
        "faults",
        "SPEC",
        "a fault active from the start, in the X-OA-Mock-Fault syntax, e.g. "
        "'status:503;step=assistant_message;times=1' or 'error-after:3'; repeatable",
    ),
    "--seed": (
        "seed",
        "SEED",
        "seed of the faults' probabilities, so a run repeats exactly (default: %(default)s)",
    ),
    "--cassettes": (
        "cassettes",
        "PATH",
        "replay assistant replies from this cassette file or directory",
    ),
    "--timing": (
        "replay_timing",
        None,
        "replay pace: recorded (exact, see --speed), instant, or rechunk "
        "(instant, the same bytes cut at seeded places) (default: %(default)s)",
    ),
    "--speed": (
        "replay_speed",
        "F",
        "with --timing exact: 2 replays twice as fast (default: %(default)s)",
    ),
    "--rechunk-seed": (
        "rechunk_seed",
        "N",
        "seed of --timing rechunk (default: %(default)s)",
    ),
    "--strict": (
        "strict_replay",
        None,
        "an unmatched assistant message gets 409 naming the nearest recording",
    ),
    "--store": (
        "store",
        "URL",
        "keep the state in Redis (redis://HOST:PORT/DB), shared by every server given the "
        "same URL; needs the [redis] extra (default: this process's memory)",
    ),
}

#: The fields of :data:`_CONFIG_OPTIONS` that take one of a few names.
_CHOICES = {"reply_mode": REPLY_MODES, "replay_timing": REPLAY_TIMINGS}


def _add_listening_options(parser: argparse.ArgumentParser, port: int, never_logs: str) -> None:
    """The options ``serve`` and ``record`` share: where to listen, and how much to log."""
    parser.add_argument(
        "--host", default="127.0.0.1", help="interface to bind (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=port, help="TCP port, 0 for a free one (default: %(default)s)"
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help=f"logging level (default: %(default)s); never logs {never_logs}",
    )


def _add_config_options(serve: argparse.ArgumentParser) -> None:
    """The options of :data:`_CONFIG_OPTIONS`, each stored under its ServerConfig field."""
    defaults = ServerConfig()
    for flag, (field, metavar, help) in _CONFIG_OPTIONS.items():
        default = getattr(defaults, field)
        if isinstance(default, bool):
            serve.add_argument(flag, dest=field, action="store_true", help=help)
        elif isinstance(default, (tuple, frozenset)):
            serve.add_argument(
                flag, dest=field, action="append", default=[], metavar=metavar, help=help
            )
        else:
            serve.add_argument(
                flag,
                dest=field,
                # None (no value): a path, given as typed
                type=str if default is None else type(default),
                default=default,
                choices=_CHOICES.get(field),
                metavar=metavar,
                help=help,
            )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``oa-mockserver``."""
    parser = argparse.ArgumentParser(
        prog="oa-mockserver",
        description="A faithful, stateful OpenAssistant mock server (web site and inference "
        "server dialects over one in-memory store).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="run the server until SIGINT/SIGTERM")
    _add_listening_options(serve, port=8080, never_logs="cookies, tokens or prompts")
    serve.add_argument(
        "--admin-token",
        default=None,
        metavar="TOKEN",
        help="token the admin API (/__admin/) requires, as 'Authorization: Bearer TOKEN' "
        f"(default: ${ADMIN_TOKEN_ENV}; else none on loopback, and one made and printed "
        "on stderr when --host binds wider)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="simulated workers; busy workers make new messages queue "
        "(default: one for every message)",
    )
    _add_config_options(serve)
    serve.add_argument(
        "--open", action="store_true", help="open the dashboard (/__admin/ui) in a browser"
    )
    serve.add_argument(
        "--processes",
        type=int,
        default=1,
        metavar="N",
        help="server processes on the one port (gunicorn), sharing the --store "
        "(default: %(default)s)",
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
    _add_listening_options(record, port=8081, never_logs="cookies or tokens")
    lint = commands.add_parser("lint", help="check cassettes: schema, version, secrets")
    lint.add_argument("paths", nargs="+", metavar="PATH", help="cassette files or directories")
    add_import_har_parser(commands)
    add_report_parser(commands)
    return parser


def config_from_args(args: argparse.Namespace) -> ServerConfig:
    """The :class:`ServerConfig` of parsed ``serve`` arguments.

    Raises:
        ConfigError: an option is out of range (the message names it).
    """
    settings = {field: getattr(args, field) for field, _, _ in _CONFIG_OPTIONS.values()}
    return ServerConfig(
        host=args.host,
        port=args.port,
        # the environment keeps the token out of `ps`; an empty variable counts as unset
        admin_token=args.admin_token or os.environ.get(ADMIN_TOKEN_ENV) or None,
        workers=args.workers,
        **settings,
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


def _announce(text: str) -> None:
    # always shown, whatever the log level: scripts wait for the "Running on" line
    print(text.strip(), flush=True)


def _failed(command: str, problem: object, status: int) -> int:
    """Say on stderr why ``command`` stops, and return its exit status."""
    print(f"{command}: {problem}", file=sys.stderr)
    return status


def _warn_if_exposed(host: str, exposed: str) -> None:
    """Warn when ``host`` binds wider than loopback; ``exposed`` says what others could reach."""
    if not is_loopback_host(host):
        log.warning("binding %s: %s; use --host 127.0.0.1 unless you mean it", host, exposed)


def _run(
    command: str,
    app: web.Application,
    host: str,
    port: int,
    announce: Any = _announce,
    **options: Any,
) -> int:
    """Serve ``app`` until SIGINT/SIGTERM: 0, or 1 when the address cannot be bound."""
    try:
        web.run_app(app, host=host, port=port, print=announce, **options)
    except OSError as error:
        problem = f"cannot listen on {host}:{port} ({error.strerror})"
        return _failed(command, f"{problem}; choose another --host or --port", 1)
    return 0


def _record(args: argparse.Namespace) -> int:
    name = args.name if args.name is not None else default_cassette_name()
    try:
        target = cassette_file(args.cassettes, name)
        app = create_proxy_app(args.upstream, target, record_mode=args.record_mode)
    except (ConfigError, CassetteError) as error:
        return _failed("oa-mockserver record", error, 2)
    _announce(f"recording {Redactor.default().uri(args.upstream)} into {target}")
    _warn_if_exposed(
        args.host,
        "the recording proxy is reachable from other machines, and whatever they send goes to "
        f"{args.upstream} and into the cassette",
    )
    return _run("oa-mockserver record", app, args.host, args.port, access_log=None, **PROXY_OPTIONS)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    if args.command == "lint":
        return lint_main([str(p) for p in args.paths])
    if args.command == "import-har":
        return import_har_main(args)
    if args.command == "report":
        return report_main(args)
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
        return _failed("oa-mockserver", error, 2)
    if args.processes != 1 or config.store is not None:
        problem = shared_problem(config, args.processes)
        if problem is not None:
            return _failed("oa-mockserver serve", problem, 2)
        if args.processes > 1:
            return serve_processes(config, args.processes, args.log_level, _announce)
    if logging.getLogger("aiohttp.access").isEnabledFor(logging.INFO):
        RedactingAccessLogger.prepare()
    settle_collector()  # after everything the server keeps is built
    _warn_if_exposed(config.host, "the mock server is reachable from other machines")
    if config.admin_token is not None and given.admin_token is None:
        # made for this run: shown once, here only (never logged), for whoever started it
        print(
            "oa-mockserver: the admin API (/__admin/) requires this token, made for this run; "
            f"send 'Authorization: Bearer <token>': {config.admin_token}",
            file=sys.stderr,
            flush=True,
        )
    return _run(
        "oa-mockserver",
        app,
        config.host,
        config.port,
        dashboard_announcer(
            _announce, open_browser=args.open, needs_token=config.admin_token is not None
        ),
        shutdown_timeout=config.shutdown_timeout,
        access_log_class=RedactingAccessLogger,
        **SERVER_OPTIONS,
    )
