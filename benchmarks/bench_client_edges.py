"""The provider at the edges: cancel latency mid-stream, client peak RSS against hostile servers.

Run:  .venv/bin/python benchmarks/bench_client_edges.py [--quick] [--cancel-only] [--unlimited S]

1. Cancel latency, for the Python running this script: a consumer task reads a reply streamed
   flat out (``oa-mockserver serve --token-interval 0 --reply-tokens 3000000`` in its own
   process, and a raw endless server in this one), is cancelled after 2,000 tokens, and we time
   ``task.cancel()`` -> the task done (``CancelledError`` out of the generator, after the chat's
   DELETE). Before the fix, 3.10 and 3.11 swallowed the cancel and ran to the end of the stream
   (shown as "inf"). Every Python on the machine::

       for v in 3.10.13 3.11.7 3.12.1 3.13.0; do
           ~/.pyenv/versions/$v/bin/python -m venv /tmp/v$v &&
           /tmp/v$v/bin/pip install -q -e '.[test]' &&
           /tmp/v$v/bin/python benchmarks/bench_client_edges.py --cancel-only
       done

2. Client peak RSS per hostile case: each conversation runs in a child process (this script with
   ``--child``) that reports its own peak RSS (``ru_maxrss``) at the end, against servers run
   here: an ordinary chat (the baseline row), an SSE line that never ends, tokens that never
   end, a 200 MB REST answer, and ``pending`` events forever. With the default ``Limits`` each
   hostile case must end with ``LimitExceededError`` within the limit plus a few MB of the
   baseline. ``--unlimited S`` adds rows with every limit lifted (the client as it was), each
   stopped after S seconds or at 2 GiB of address space (``MemoryError``: the machine is
   shared), to show what the limits prevent. Peak RSS is the child's ``VmHWM``
   (``ru_maxrss`` would include the parent's RSS at the fork, which exec keeps on Linux).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import resource
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import print_table
from aiohttp import web
from aiohttp.test_utils import TestServer

from oa_mockserver import MockServer, ServerConfig
from oa_provider import LimitExceededError, Limits, OAError, OpenAssistant

SESSION = {"next-auth.session-token": "bench-edges"}
USER = [{"role": "user", "content": "Tell me everything."}]
HUGE = 3_000_000
CASES = ["baseline", "endless-line", "endless-tokens", "rest-200mb", "endless-pending"]
_BLOCK = 64 * 1024


def _sse(obj: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(obj)}\r\n\r\n".encode()


class HostileSite:
    """The four routes of the web site; ``/<case>/api/...`` picks how the server misbehaves."""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        await request.read()
        case, _, route = request.path.lstrip("/").partition("/")
        route = "/" + route
        if request.method == "DELETE":
            return web.Response()
        if route == "/api/chat/prompter_message" and case == "rest-200mb":
            return await self._stream(request, "application/json", self._huge_json())
        if request.method == "POST":
            return web.json_response({"id": str(uuid.uuid4())})
        if route == "/api/chat/events":
            return await self._stream(request, "text/event-stream", self._events(case))
        return web.Response(status=404)

    async def _stream(
        self, request: web.Request, content_type: str, body: AsyncIterator[bytes]
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": content_type})
        await response.prepare(request)
        try:
            async for chunk in body:
                await response.write(chunk)
            await response.write_eof()
        except (ConnectionError, RuntimeError):
            pass  # the client stopped reading: what a limit does
        return response

    async def _huge_json(self) -> AsyncIterator[bytes]:
        yield b'{"id": "m-1", "padding": "'
        block = b"p" * _BLOCK
        for _ in range(200 * 1024 * 1024 // _BLOCK):
            yield block
        yield b'"}'

    async def _events(self, case: str) -> AsyncIterator[bytes]:
        if case == "endless-line":
            yield b"data: "
            block = b"x" * _BLOCK
            while True:
                yield block
        if case == "endless-tokens":
            block = b"".join(_sse({"event_type": "token", "text": f"w{i} "}) for i in range(256))
            while True:
                yield block
        if case == "endless-pending":
            block = _sse({"event_type": "pending", "queue_position": 3, "queue_size": 9}) * 256
            while True:
                yield block


@asynccontextmanager
async def hostile_site() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", HostileSite().handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


# -- 1. cancel latency ---------------------------------------------------------------------


async def _cancel_once(url: str) -> float:
    flowing = asyncio.Event()

    async def consume() -> None:
        seen = 0
        async for _ in OpenAssistant.create_async_generator(
            messages=USER, base_url=url, cookies=SESSION, max_new_tokens=HUGE
        ):
            seen += 1
            if seen == 2000:
                flowing.set()

    task = asyncio.ensure_future(consume())
    await flowing.wait()
    started = time.perf_counter()
    task.cancel()
    await asyncio.wait({task}, timeout=120)
    took = time.perf_counter() - started
    if not task.cancelled():
        return float("inf")  # swallowed: the stream ran to its end
    return took


@asynccontextmanager
async def mock_server_process(*options: str) -> AsyncIterator[str]:
    """``oa-mockserver serve`` in a process of its own (as the issue measured it): its URL."""
    process = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "oa_mockserver", "serve", "--port", "0", *options],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert process.stdout is not None
    try:
        while True:
            line = (await process.stdout.readline()).decode()
            if not line:
                raise SystemExit("oa-mockserver serve exited before it was ready")
            found = re.search(r"http://127\.0\.0\.1:\d+", line)
            if found:
                break
        yield found.group(0)
    finally:
        process.terminate()
        await process.wait()


async def cancel_latency(trials: int) -> list[list[str]]:
    rows = []
    options = ["--token-interval", "0", "--first-token-delay", "0", "--reply-tokens", str(HUGE)]
    async with mock_server_process(*options) as url:
        rows.append(_latency_row("oa-mockserver serve --token-interval 0", [
            await _cancel_once(url) for _ in range(trials)
        ]))  # fmt: skip
    async with hostile_site() as url:
        rows.append(_latency_row("endless raw server", [
            await _cancel_once(url + "/endless-tokens") for _ in range(trials)
        ]))  # fmt: skip
    return rows


def _latency_row(server: str, times: list[float]) -> list[str]:
    version = ".".join(map(str, sys.version_info[:3]))
    landed = [t for t in times if t != float("inf")]
    return [
        version,
        server,
        f"{len(landed)}/{len(times)}",
        f"{statistics.median(landed) * 1000:.1f}" if landed else "-",
        f"{max(landed) * 1000:.1f}" if landed else "-",
    ]


# -- 2. peak RSS per hostile case ----------------------------------------------------------


#: Address space of a child with the limits lifted: an endless line reaches it in seconds.
UNLIMITED_ADDRESS_SPACE = 2 * 1024**3


async def child(url: str, unlimited: bool, cap: float) -> None:
    limits = Limits(None, None, None, None) if unlimited else Limits()
    if unlimited:
        resource.setrlimit(resource.RLIMIT_AS, (UNLIMITED_ADDRESS_SPACE, UNLIMITED_ADDRESS_SPACE))
    outcome = "completed"

    async def chat() -> None:
        async for _ in OpenAssistant.create_async_generator(
            messages=USER, base_url=url, cookies=SESSION, limits=limits, max_new_tokens=1024
        ):
            pass

    task = asyncio.ensure_future(chat())
    await asyncio.wait({task}, timeout=cap)
    if not task.done():
        task.cancel()
        await asyncio.wait({task})
        outcome = f"stopped after {cap:g} s"
    elif task.exception() is not None:
        error = task.exception()
        outcome = type(error).__name__
        if isinstance(error, LimitExceededError):
            outcome += f" ({error.limit})"
        elif not isinstance(error, OAError):
            outcome += " (not an OAError)"
    print(json.dumps({"outcome": outcome, "peak_mib": _peak_kib() / 1024}))


def _peak_kib() -> float:
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # KiB on Linux
    return float(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))  # type: ignore[union-attr]


async def _run_child(url: str, unlimited: bool, cap: float) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", url, "--cap", str(cap)]
    process = await asyncio.create_subprocess_exec(
        *command, *(["--child-unlimited"] if unlimited else []), stdout=asyncio.subprocess.PIPE
    )
    out, _ = await process.communicate()
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result


async def peak_rss(unlimited_cap: float | None) -> list[list[str]]:
    rows = []
    async with MockServer(ServerConfig(token_interval=0.0, first_token_delay=0.0)) as mock:
        base = await _run_child(mock.url, False, 60)
        rows.append(["baseline: an ordinary chat (mock)", "limits", base["outcome"],
                     f"{base['peak_mib']:.1f}", "+0.0"])  # fmt: skip
    async with hostile_site() as url:
        for case in CASES[1:]:
            runs = [(False, 120.0)]
            if unlimited_cap is not None:
                runs.append((True, unlimited_cap))
            for unlimited, cap in runs:
                result = await _run_child(f"{url}/{case}", unlimited, cap)
                rows.append([
                    case, "none (as before)" if unlimited else "limits", result["outcome"],
                    f"{result['peak_mib']:.1f}", f"{result['peak_mib'] - base['peak_mib']:+.1f}",
                ])  # fmt: skip
    return rows


async def main_async(args: argparse.Namespace) -> None:
    trials = 3 if args.quick else 10
    print(f"cancel latency: cancel after 2,000 tokens, {trials} trials per server\n")
    print_table(["python", "server", "landed", "median ms", "max ms"], await cancel_latency(trials))
    if args.cancel_only:
        return
    print("\nclient peak RSS (child process, VmHWM), default Limits() unless lifted\n")
    print_table(
        ["case", "limits", "outcome", "peak RSS MiB", "vs baseline"],
        await peak_rss(args.unlimited),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 cancel trials instead of 10")
    parser.add_argument("--cancel-only", action="store_true", help="only the cancel latency")
    parser.add_argument(
        "--unlimited",
        type=float,
        metavar="S",
        help="also run each hostile case with every limit lifted, stopped after S seconds",
    )
    parser.add_argument("--child", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--child-unlimited", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--cap", type=float, default=120.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        asyncio.run(child(args.child, args.child_unlimited, args.cap))
    else:
        asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
