"""``oa-mockserver serve [options]`` (also ``python -m oa_mockserver``).

SIGINT and SIGTERM stop the server cleanly: open streams end, no traceback, exit status 0.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import sys
from collections.abc import Sequence

from aiohttp import web

from ._app import create_app
from ._config import REPLY_MODES, ServerConfig
from ._exceptions import ConfigError

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
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="logging level (default: %(default)s); never logs cookies, tokens or prompts",
    )
    return parser  # fmt: skip


def config_from_args(args: argparse.Namespace) -> ServerConfig:
    """The :class:`ServerConfig` of parsed ``serve`` arguments.

    Raises:
        ConfigError: an option is out of range (the message names it).
    """
    return ServerConfig(
        host=args.host,
        port=args.port,
        token_interval=args.token_interval,
        first_token_delay=args.first_token_delay,
        reply_tokens=args.reply_tokens,
        workers=args.workers,
        reply_mode=args.reply_mode,
        pending_interval=args.pending_interval,
        ping_interval=args.ping_interval,
        max_body_size=args.max_body_size,
        fix_server_bugs=args.fix_server_bugs,
        unserved_models=frozenset(args.unserved_model),
        faults=tuple(args.fault),
        seed=args.seed,
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _announce(text: str) -> None:
    # always shown, whatever the log level: scripts wait for the "Running on" line
    print(text.strip(), flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    try:
        config = config_from_args(args)
    except ConfigError as error:
        print(f"oa-mockserver: {error}", file=sys.stderr)
        return 2
    if not _is_loopback(config.host):
        log.warning(
            "binding %s: the mock server is reachable from other machines; "
            "use --host 127.0.0.1 unless you mean it",
            config.host,
        )
    app = create_app(config)
    try:
        web.run_app(
            app,
            host=config.host,
            port=config.port,
            shutdown_timeout=config.shutdown_timeout,
            print=_announce,
            access_log_format='%a "%r" %s %b',
        )
    except OSError as error:
        print(
            f"oa-mockserver: cannot listen on {config.host}:{config.port} ({error.strerror}); "
            "choose another --host or --port",
            file=sys.stderr,
        )
        return 1
    return 0
