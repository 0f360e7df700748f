"""``oa-chat``: chat once from the command line, streaming the reply to stdout.

With no base URL and no credentials configured anywhere, it starts the embedded mock server
(:mod:`oa_mockserver`) in-process on a free loopback port and chats with it, so the README's
first command works offline. Exit codes: 0 done, 1 server or generation error, 2 usage error,
130 interrupted (after the chat was deleted), 141 stdout closed early (``oa-chat ... | head``:
the chat is deleted, nothing is printed, as a tool that SIGPIPE ended would exit).

The console script enters through :mod:`_oa_chat_entry`, outside this package, so that a
Ctrl-C while the package is still importing ends quietly too.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import threading
import traceback
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing, asynccontextmanager
from typing import Any, TextIO

import msgspec

from ._client import DEFAULT_BASE_URL, OpenAssistant, _resolve_base_url
from ._cookies import find_credentials
from ._events import ChatEvent, MessageEvent, TokenEvent
from ._exceptions import MissingCredentialsError, OAError
from ._sampling import SAMPLING_PRESETS

__all__ = ["DEMO_TOKEN_INTERVAL", "build_parser", "main"]

#: Seconds between tokens of the embedded mock server: slow enough to see the stream.
DEMO_TOKEN_INTERVAL = 0.02

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 0, 1, 2, 130, 141
_PROG = "oa-chat"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``oa-chat``."""
    parser = argparse.ArgumentParser(
        prog=_PROG,
        description="Chat once with an OpenAssistant server and stream the reply to stdout. "
        "With no base URL and no credentials configured, chat with the embedded mock server.",
    )
    parser.add_argument("prompt", help="the user message")
    parser.add_argument("--base-url", help="the site (default: $OA_BASE_URL, else the mock)")
    parser.add_argument(
        "--cookie-file",
        help="a Netscape cookies.txt with the session cookie: one cookie a line, 7 tab-separated "
        "fields (domain, subdomains, path, secure, expiry, name, value), e.g. "
        "'127.0.0.1<TAB>FALSE<TAB>/<TAB>FALSE<TAB>0<TAB>next-auth.session-token<TAB>VALUE'",
    )
    parser.add_argument("--model", help=f"model config name (default {OpenAssistant.model})")
    parser.add_argument("--preset", choices=list(SAMPLING_PRESETS), help="sampling preset")
    parser.add_argument("--system", help="a system prompt")
    parser.add_argument(
        "--max-new-tokens",
        type=int,
        metavar="N",
        help="the most tokens the reply may have (default: the preset's, 1024)",
    )
    parser.add_argument("--json", action="store_true", help="print typed events as JSON lines")
    parser.add_argument(
        "--record",
        metavar="PATH",
        help="record the conversation to this cassette (vcrpy YAML, secrets redacted)",
    )
    parser.add_argument(
        "--record-mode",
        choices=["all", "once", "new_episodes", "none"],
        default="all",
        help="vcrpy record mode with --record (default: %(default)s: record anew; "
        "'none' replays the cassette instead of the network)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log each request")
    return parser


def _messages(args: argparse.Namespace) -> list[dict[str, str]]:
    messages = [{"role": "user", "content": args.prompt}]
    if args.system:
        messages.insert(0, {"role": "system", "content": args.system})
    return messages


async def _stream(options: dict[str, Any], as_json: bool, out: TextIO) -> None:
    # aclosing: when writing fails (a closed pipe), the chat is deleted here, while the
    # embedded server still runs, not by the event loop's shutdown after it stopped.
    async with aclosing(OpenAssistant.create_event_stream(**options)) as events:
        if as_json:
            async for event in events:
                out.write(msgspec.json.encode(event).decode() + "\n")
                out.flush()
        else:
            await _write_reply(events, out)


async def _write_reply(events: AsyncIterator[ChatEvent], out: TextIO) -> None:
    wrote = ""
    async for event in events:
        text = ""
        if isinstance(event, TokenEvent):
            text = event.text
        elif isinstance(event, MessageEvent) and not wrote:
            text = event.message.content or ""  # a finished message fetched without tokens
        if text:
            out.write(text)
            out.flush()
            wrote = text
    if wrote and not wrote.endswith("\n"):
        out.write("\n")
        out.flush()


def _check_cookie_file(path: str) -> None:
    # Checked here so that the error names the flag the user gave, not OA_COOKIE_FILE (which
    # carries the path on to find_credentials).
    if not os.path.isfile(os.path.expanduser(path)):
        raise MissingCredentialsError(
            f"--cookie-file names {path}, which does not exist or is not a file: fix the path "
            "(a Netscape cookies.txt, see oa-chat --help)"
        )


@asynccontextmanager
async def _target(args: argparse.Namespace, err: TextIO) -> AsyncIterator[dict[str, Any]]:
    """Yield the base URL and cookies to use, starting the embedded mock server if needed."""
    env = dict(os.environ)
    if args.cookie_file:
        _check_cookie_file(args.cookie_file)
        env["OA_COOKIE_FILE"] = args.cookie_file
        # the flag given on this command line wins over every variable read before it
        env.pop("OA_COOKIES", None)
        env.pop("OA_HAR_FILE", None)
    base_url = args.base_url or env.get("OA_BASE_URL")
    if base_url:
        base_url = _resolve_base_url(base_url)  # a malformed URL is a usage error (exit 2)
    try:
        credentials = find_credentials(None, base_url or DEFAULT_BASE_URL, environ=env)
    except MissingCredentialsError:
        if base_url or args.cookie_file:
            raise
    else:
        yield {"base_url": base_url or DEFAULT_BASE_URL, "cookies": dict(credentials.items())}
        return
    # Imported here: the provider does not need the server unless it runs the demo.
    from oa_mockserver import MockServer, ServerConfig

    async with MockServer(
        ServerConfig(token_interval=DEMO_TOKEN_INTERVAL, first_token_delay=DEMO_TOKEN_INTERVAL)
    ) as server:
        err.write(
            f"{_PROG}: no base URL or credentials configured: "
            f"chatting with the embedded mock server at {server.url}\n"
        )
        err.flush()
        yield {"base_url": server.url, "cookies": {"next-auth.session-token": "oa-chat-demo"}}


class RecordingError(OAError):
    """--record could not write, read or match its cassette."""


def _check_cassette_exists(path: str) -> None:
    # vcrpy would read a missing file as an empty cassette and report a request not matching.
    if not os.path.exists(path):
        raise RecordingError(
            f"the cassette {path} does not exist (looked for {os.path.abspath(path)}); "
            "record mode 'none' only replays: record it first with --record-mode all"
        )


async def _recorded(args: argparse.Namespace, options: dict[str, Any], out: TextIO) -> bool:
    """Chat through the cassette ``args.record``; True when a request was recorded to it."""
    # Imported here: only recording needs vcrpy and the cassette format.
    from vcr.errors import CannotOverwriteExistingCassetteException

    from oa_mockserver import MockServerError
    from oa_mockserver.recording import oa_vcr

    if args.record_mode == "none":
        _check_cassette_exists(args.record)
    try:
        with oa_vcr(record_mode=args.record_mode).use_cassette(args.record) as cassette:
            loaded = len(cassette.data)
            await _stream(options, args.json, out)
            return len(cassette.data) > loaded  # vcrpy appends what it records
    except BrokenPipeError:
        raise  # stdout closed early: not a cassette problem
    except CannotOverwriteExistingCassetteException:
        raise RecordingError(
            f"the cassette {args.record} has no recorded request matching this chat "
            f"(record mode {args.record_mode!r}): record it first with --record-mode all"
        ) from None
    except (MockServerError, OSError) as error:
        raise RecordingError(f"cannot use the cassette {args.record}: {error}") from None


async def _run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    task = asyncio.current_task()
    interrupted = False

    def on_sigint() -> None:
        nonlocal interrupted
        interrupted = True
        if task is not None:
            task.cancel()

    loop = asyncio.get_running_loop()
    # Loop signal handlers exist only on Unix and in the main thread; elsewhere asyncio.run's
    # own KeyboardInterrupt handling still cancels us, so the chat is deleted either way.
    handles_signals = (
        sys.platform != "win32" and threading.current_thread() is threading.main_thread()
    )
    if handles_signals:
        loop.add_signal_handler(signal.SIGINT, on_sigint)
    try:
        async with _target(args, err) as target:
            options = {
                "messages": _messages(args),
                "model": args.model,
                "preset": args.preset,
                **target,
            }
            if args.max_new_tokens is not None:
                options["max_new_tokens"] = args.max_new_tokens
            if args.record:
                if await _recorded(args, options, out):
                    err.write(f"{_PROG}: recorded the conversation to {args.record}\n")
                else:
                    err.write(f"{_PROG}: replayed the conversation from {args.record}\n")
            else:
                await _stream(options, args.json, out)
        return EXIT_OK
    except asyncio.CancelledError:
        if interrupted:
            err.write(f"\n{_PROG}: interrupted\n")
            return EXIT_INTERRUPTED
        raise
    finally:
        if handles_signals:
            loop.remove_signal_handler(signal.SIGINT)


def _discard_stdout() -> None:
    """Point stdout at /dev/null: the interpreter's final flush would fail on the closed pipe
    again and print "Exception ignored ... BrokenPipeError" (Python's documented remedy)."""
    try:
        fileno = sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):
        return  # not a real file (a test's capture): nothing will flush to a pipe
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fileno)
    finally:
        os.close(devnull)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``oa-chat``; returns the exit code."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(name)s: %(message)s")
    if args.verbose:
        logging.getLogger("oa_provider").setLevel(logging.DEBUG)
    try:
        return asyncio.run(_run(args, sys.stdout, sys.stderr))
    except KeyboardInterrupt:
        sys.stderr.write(f"\n{_PROG}: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _discard_stdout()
        return EXIT_BROKEN_PIPE
    except (TypeError, ValueError) as exc:
        sys.stderr.write(f"{_PROG}: error: {exc}\n")
        return EXIT_USAGE
    except OAError as exc:
        if args.verbose:
            traceback.print_exc(file=sys.stderr)
        sys.stderr.write(f"{_PROG}: {type(exc).__name__}: {exc}\n")
        return EXIT_ERROR
