"""The journal under load: server memory over N conversations, and what reading it costs.

For each configuration (default: the server's default journal bound, then ``--journal-limit 0``,
unbounded, as the baseline), a mock server runs in its own process on 127.0.0.1. The script
drives N conversations (the provider's whole flow: create chat, prompter message, assistant
message, event stream, delete; 5 journaled requests each) and samples the server's RSS
(``VmRSS`` of ``/proc/PID/status``) after a warm-up and at the end. Then, while a prober in
another process sends ``GET /api/chat`` one after the other and keeps every wait, it times
``GET /__admin/requests`` (the first page, median of 5) and a full walk of the journal page by
page (``?limit=1000&after=…``), with the server's CPU time per entry walked. The prober alone
(no read running, as long as the walk took) is the baseline of the wait columns: on a busy
machine the worst wait is mostly the scheduler's, and shows in both.

    .venv/bin/python benchmarks/bench_journal.py                       # 30,000 conversations
    .venv/bin/python benchmarks/bench_journal.py --conversations 3000  # quicker
    .venv/bin/python benchmarks/bench_journal.py --server-root /tmp/old --configs legacy

``--server-root`` runs the server from another checkout (e.g. the code before the bound:
``git archive <commit> | tar -x -C /tmp/old``); ``legacy`` passes no journal option.
Bounded: the drive stops at ``--max-seconds`` per server, the walk at 600 s.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import cpu_seconds, print_table, start_server

from oa_provider import OpenAssistant

USER = {"next-auth.session-token": "bench"}
CONFIGS = {
    "default": [],
    "unbounded": ["--journal-limit", "0"],
    "legacy": [],  # a server without the option (see --server-root)
}
_WALK_LIMIT_S = 600.0


def _start(root: Path, extra: list[str], tokens: int) -> tuple[subprocess.Popen[str], str]:
    command = [
        sys.executable, "-m", "oa_mockserver", "serve", "--host", "127.0.0.1", "--port", "0",
        "--token-interval", "0", "--first-token-delay", "0", "--reply-tokens", str(tokens),
        "--log-level", "WARNING", *extra,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(root)}
    return start_server(command, cwd=root, env=env)


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


async def _drive(url: str, count: int, concurrency: int, deadline: float) -> tuple[int, int]:
    """Up to ``count`` conversations, ``concurrency`` at once, until ``deadline``."""
    provider = OpenAssistant(base_url=url, cookies=USER)
    done = errors = 0
    next_index = 0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal done, errors, next_index
        while next_index < count and time.monotonic() < deadline:
            index, next_index = next_index, next_index + 1
            try:
                async for _ in provider.create_async_generator(
                    messages=[{"role": "user", "content": f"question {index}"}], session=session
                ):
                    pass
                done += 1
            except Exception:  # noqa: BLE001 - a benchmark counts failures instead of stopping
                errors += 1

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    return done, errors


def _probe(url: str, stop: Event, started: Event, results: Any) -> None:
    """In another process: ``GET /api/chat`` in turn until ``stop``; report every wait."""

    async def run() -> list[float]:
        waits: list[float] = []
        async with aiohttp.ClientSession(cookies=USER) as http:
            while not stop.is_set():
                start = time.perf_counter()
                async with http.get(f"{url}/api/chat") as response:
                    await response.read()
                waits.append(time.perf_counter() - start)
                started.set()
        return waits

    results.put(asyncio.run(run()))


class Prober:
    """A prober process for the span of a ``with`` block; then :meth:`summary` of its waits."""

    def __init__(self, url: str) -> None:
        context = multiprocessing.get_context("spawn")
        self._stop, self._started = context.Event(), context.Event()
        self._results = context.Queue()
        self._process = context.Process(
            target=_probe, args=(url, self._stop, self._started, self._results), daemon=True
        )
        self.waits: list[float] = []

    def __enter__(self) -> Prober:
        self._process.start()
        if not self._started.wait(30):
            raise RuntimeError("the prober did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.waits = sorted(self._results.get(timeout=60))
        self._process.join(timeout=10)

    def summary(self) -> str:
        """``p50 / p99 / worst`` wait in ms."""
        waits = self.waits or [0.0]
        p99 = waits[min(len(waits) - 1, int(len(waits) * 0.99))]
        return f"{waits[len(waits) // 2] * 1000:.1f} / {p99 * 1000:.1f} / {waits[-1] * 1000:.1f}"


async def _get_json(http: aiohttp.ClientSession, url: str) -> Any:
    async with http.get(url) as response:
        response.raise_for_status()
        return await response.json()


async def _first_page(url: str) -> float:
    times = []
    async with aiohttp.ClientSession() as http:
        for _ in range(5):
            start = time.perf_counter()
            await _get_json(http, f"{url}/__admin/requests")
            times.append(time.perf_counter() - start)
    return statistics.median(times)


async def _walk(url: str) -> tuple[float, int, int]:
    """Seconds, entries and pages of a walk of the whole journal, 1,000 entries a page."""
    entries = pages = 0
    after = 0
    timeout = aiohttp.ClientTimeout(total=_WALK_LIMIT_S)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        start = time.perf_counter()
        while time.perf_counter() - start < _WALK_LIMIT_S:
            page = await _get_json(http, f"{url}/__admin/requests?limit=1000&after={after}")
            entries += len(page["requests"])
            pages += 1
            if not page.get("has_more"):  # a server without pages answers all at once
                break
            after = page["next_after"]
        return time.perf_counter() - start, entries, pages


def _health(url: str) -> dict[str, Any]:
    async def get() -> Any:
        async with aiohttp.ClientSession() as http:
            return await _get_json(http, f"{url}/__admin/health")

    result: dict[str, Any] = asyncio.run(get())
    return result



def _measure(name: str, root: Path, args: argparse.Namespace) -> list[str]:
    process, url = _start(root, CONFIGS[name], args.tokens)
    try:
        asyncio.run(_drive(url, 200, args.concurrency, time.monotonic() + 60))  # warm-up
        rss_start = _rss_mb(process.pid)
        wall = time.perf_counter()
        done, errors = asyncio.run(
            _drive(url, args.conversations, args.concurrency, time.monotonic() + args.max_seconds)
        )
        wall = time.perf_counter() - wall
        rss_end = _rss_mb(process.pid)
        health = _health(url)
        with Prober(url) as during_first:
            first = asyncio.run(_first_page(url))
        cpu = cpu_seconds(process.pid)
        with Prober(url) as during_walk:
            walk_s, entries, pages = asyncio.run(_walk(url))
        cpu = cpu_seconds(process.pid) - cpu
        rss_after_read = _rss_mb(process.pid)
        with Prober(url) as idle:  # as long as the walk (its worst wait is over as many tries)
            time.sleep(min(max(walk_s, 2.0), 60.0))
    finally:
        process.terminate()
        process.wait(timeout=10)
    label = f"{name} ({' '.join(CONFIGS[name]) or 'no option'})"
    return [
        label, f"{done} ({errors} err, {done / wall:.0f}/s)",
        str(health["requests"]), str(health.get("requests_dropped", "n/a")),
        f"{rss_start:.1f}", f"{rss_end:.1f}", f"{rss_end - rss_start:+.1f}",
        f"{rss_after_read - rss_start:+.1f}",
        f"{first * 1000:.1f}", f"{walk_s:.2f} ({entries} in {pages})",
        f"{cpu / max(entries, 1) * 1e6:.0f}",
        idle.summary(), during_first.summary(), during_walk.summary(),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--conversations", type=int, default=30_000, help="conversations per server (30,000)"
    )
    parser.add_argument("--concurrency", type=int, default=32, help="at once (default 32)")
    parser.add_argument("--tokens", type=int, default=8, help="tokens per reply (default 8)")
    parser.add_argument(
        "--max-seconds", type=float, default=900, help="stop driving a server after (900 s)"
    )
    parser.add_argument(
        "--configs",
        default="default,unbounded",
        help=f"comma-separated, of {', '.join(CONFIGS)} (default: default,unbounded)",
    )
    parser.add_argument(
        "--server-root", type=Path, default=Path(__file__).resolve().parent.parent,
        help="the checkout the server runs from (default: this one)",
    )  # fmt: skip
    args = parser.parse_args()
    names = [name.strip() for name in args.configs.split(",") if name.strip()]
    unknown = [name for name in names if name not in CONFIGS]
    if unknown:
        parser.error(f"unknown configuration(s) {unknown}; choose among {list(CONFIGS)}")
    rows = [_measure(name, args.server_root.resolve(), args) for name in names]
    print(
        f"{args.conversations} conversations of {args.tokens} tokens, {args.concurrency} at "
        "once, 5 journaled requests each; RSS of the server process (MB) after a 200-"
        "conversation warm-up and at the end; first page: median of 5 GET /__admin/requests; "
        "walk: ?limit=1000 pages to the end (the prober's own requests join the journal); "
        "chat wait: GET /api/chat latencies of a prober in another process during each read, "
        "and alone (idle) for as long as the walk took (2-60 s)"
    )
    print_table(
        [
            "server", "conversations", "kept", "dropped", "RSS start", "RSS end", "ΔRSS",
            "ΔRSS after reads", "first page ms", "full walk s (entries in pages)",
            "walk CPU µs/entry", "chat wait idle ms p50/p99/max", "during first page",
            "during walk",
        ],
        rows,
    )  # fmt: skip


if __name__ == "__main__":
    main()
