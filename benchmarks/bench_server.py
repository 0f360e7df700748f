"""Mock server throughput: C concurrent conversations driven by ``oa_provider.OpenAssistant``.

Each conversation is the provider's whole flow against the web dialect (create chat, prompter
message, assistant message, event stream, delete), token interval 0, 64 tokens. The same run
measures the floor: a bare aiohttp app answering the same five requests with canned,
pre-encoded bytes (the stream: the same 64 token events and final event, one chunk each). Both
servers run in their own process so their CPU time (from /proc) is theirs alone; the ratio column
is server CPU per token against the floor's.

C is the number of conversations at once; a round holds at least 100 conversations (at C = 1,
100 in turn). Both servers run at once; each first answers a warm-up round (one-time costs,
imports and caches, are not counted), then every level runs ``--rounds`` times per server, the
servers taking turns round by round (so a drift of the machine hits both alike), and the round
with the median CPU per token is reported. CPU is read in nanoseconds from
``/proc/<pid>/task/*/schedstat`` (clock ticks of ``/proc/<pid>/stat`` where that is missing).

    .venv/bin/python benchmarks/bench_server.py            # C = 1, 100, 1000
    .venv/bin/python benchmarks/bench_server.py --quick    # C = 1, 20, 8 tokens (smoke run)
    .venv/bin/python benchmarks/bench_server.py --page     # also a server with a dashboard open

``--page`` adds a third server, the same mock server with a dashboard page open all along: a
subscriber (its own process) reads the live feed (``/__admin/ui/events``) and decodes every
event, as the page does. The second row measures the server with no page open, which must cost
what it cost before the dashboard existed.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import cpu_seconds, floor_app, print_table, start_server, stop_server

from oa_provider import OpenAssistant

USER = "bench"




async def _watch(url: str) -> None:
    """A dashboard page, as far as the server can tell: read the feed, decode every event."""
    import json

    from oa_provider import SSEDecoder

    decoder = SSEDecoder(max_event_size=None)
    rows = missed = 0
    async with aiohttp.ClientSession() as http, http.get(f"{url}/__admin/ui/events") as feed:
        print("watching", flush=True)
        async for chunk in feed.content.iter_any():
            for event in decoder.feed(chunk):
                data = json.loads(event.data)
                if event.event == "requests":
                    rows += len(data["rows"])
                    missed += data["missed"]  # dropped by the journal's limit before sent
                    print(f"{rows} {missed}", flush=True)  # the last line: all the page got


def _serve_floor(tokens: int) -> None:
    web.run_app(
        floor_app(tokens, prompt="question 1"),
        host="127.0.0.1",
        port=0,
        access_log=None,
        print=lambda text: print(text, flush=True),
    )


async def _conversation(
    provider: OpenAssistant, session: aiohttp.ClientSession, index: int
) -> tuple[float, int, bool]:
    start = time.perf_counter()
    count = 0
    try:
        async for _ in provider.create_async_generator(
            messages=[{"role": "user", "content": f"question {index}"}], session=session
        ):
            count += 1
    except Exception:  # noqa: BLE001 - a benchmark counts failures instead of stopping
        return time.perf_counter() - start, count, False
    return time.perf_counter() - start, count, True


async def _journaled(url: str) -> int:
    """How many requests the server journaled since it started (kept and dropped)."""
    async with aiohttp.ClientSession() as http, http.get(f"{url}/__admin/health") as response:
        health = await response.json()
    return int(health["requests"]) + int(health["requests_dropped"])


async def _chats_left(url: str) -> int:
    left, cursor = 0, None
    async with aiohttp.ClientSession(cookies={"next-auth.session-token": USER}) as http:
        while True:
            params: dict[str, str] = {"after": cursor} if cursor else {}
            async with http.get(f"{url}/api/chat", params=params) as response:
                if response.status != 200:
                    return -1  # the floor keeps no chats
                page = await response.json()
            left += len(page["chats"])
            cursor = page["next"]
            if not cursor:
                return left


async def _drive(url: str, concurrency: int, repeat: int = 1) -> dict[str, float]:
    """``concurrency`` workers, each holding ``repeat`` conversations one after the other."""
    provider = OpenAssistant(base_url=url, cookies={"next-auth.session-token": USER})
    connector = aiohttp.TCPConnector(limit=0)

    async def worker(index: int) -> list[tuple[float, int, bool]]:
        return [
            await _conversation(provider, session, index * repeat + n) for n in range(repeat)
        ]

    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.perf_counter()
        batches = await asyncio.gather(*(worker(i) for i in range(concurrency)))
        wall = time.perf_counter() - start
    results = [result for batch in batches for result in batch]
    latencies = sorted(r[0] for r in results)
    return {
        "wall": wall,
        "conversations": len(results),
        "tokens": sum(r[1] for r in results),
        "errors": sum(1 for r in results if not r[2]),
        "p50": statistics.median(latencies),
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
    }


def _round(process: subprocess.Popen[str], url: str, concurrency: int) -> dict[str, float]:
    """One round at ``concurrency``, with the server's CPU per token.

    Below C = 100 each worker holds several conversations in turn, so a round holds at least
    100 (one conversation at C = 1 is a millisecond of CPU, too little to measure alone).
    """
    before = cpu_seconds(process.pid)
    result = asyncio.run(_drive(url, concurrency, max(1, 100 // concurrency)))
    result["cpu_per_token"] = (cpu_seconds(process.pid) - before) / max(1, result["tokens"])
    return result


def _median_round(results: list[dict[str, float]]) -> dict[str, float]:
    return sorted(results, key=lambda r: r["cpu_per_token"])[len(results) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: C = 1, 20 and 8 tokens")
    parser.add_argument("--rounds", type=int, default=7, help="rounds per level (default 7)")
    parser.add_argument(
        "--page", action="store_true", help="also measure a server with a dashboard page open"
    )
    parser.add_argument("--serve-floor", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--watch", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_floor:
        _serve_floor(args.serve_floor)
        return
    if args.watch:
        asyncio.run(_watch(args.watch))
        return
    tokens = 8 if args.quick else 64
    levels = [1, 20] if args.quick else [1, 100, 1000]
    rounds = 1 if args.quick else max(1, args.rounds)
    commands = {
        "floor (bare aiohttp)": [sys.executable, __file__, "--serve-floor", str(tokens)],
        "oa_mockserver": [sys.executable, "-m", "oa_mockserver", "serve", "--port", "0",
                          "--token-interval", "0", "--first-token-delay", "0",
                          "--reply-tokens", str(tokens), "--log-level", "WARNING"],
    }  # fmt: skip
    if args.page:
        commands["oa_mockserver, page open"] = commands["oa_mockserver"]
    servers = {name: start_server(command) for name, command in commands.items()}
    watcher = None
    if args.page:
        page_url = servers["oa_mockserver, page open"][1]
        watcher = subprocess.Popen(
            [sys.executable, __file__, "--watch", page_url], stdout=subprocess.PIPE, text=True
        )
        assert watcher.stdout is not None
        assert watcher.stdout.readline().strip() == "watching", "the page could not subscribe"
    rows = []
    try:
        for _process, url in servers.values():
            asyncio.run(_drive(url, 50))  # warm-up: not measured
        measured: dict[tuple[str, int], list[dict[str, float]]] = {}
        for concurrency in levels:
            # rounds alternate between the servers, so a drift of the machine hits both alike
            for _ in range(rounds):
                for name, (process, url) in servers.items():
                    measured.setdefault((name, concurrency), []).append(
                        _round(process, url, concurrency)
                    )
        for name, (_process, url) in servers.items():
            left = asyncio.run(_chats_left(url))
            for concurrency in levels:
                result = _median_round(measured[(name, concurrency)])
                floor = _median_round(measured[(next(iter(servers)), concurrency)])
                per_token = result["cpu_per_token"]
                rows.append([
                    name, str(concurrency), f"{result['conversations'] / result['wall']:.1f}",
                    f"{result['tokens'] / result['wall']:.0f}", f"{result['p50'] * 1000:.1f}",
                    f"{result['p99'] * 1000:.1f}", str(int(result["errors"])),
                    "n/a" if left < 0 else str(left), f"{per_token * 1e6:.1f}",
                    f"{per_token / floor['cpu_per_token']:.2f}x",
                ])  # fmt: skip
        if watcher is not None:
            journaled = asyncio.run(_journaled(servers["oa_mockserver, page open"][1]))
            time.sleep(2)  # the page may lag under load: let it catch up before it is stopped
    finally:
        for process in [*(p for p, _ in servers.values()), *([watcher] if watcher else [])]:
            stop_server(process)
    if watcher is not None:
        assert watcher.stdout is not None
        counts = [line for line in watcher.stdout.read().splitlines() if line != "watching"]
        last = (counts or ["0 0"])[-1].split()
        received, missed = int(last[0]), int(last[1])
        print(
            f"the page received {received} of the {journaled} requests journaled "
            f"({missed} dropped by the journal's limit before the feed read them)"
        )
    print(
        f"{tokens} tokens per reply, token interval 0, median of {rounds} round(s) after a "
        "warm-up; CPU = server process user+system time"
    )
    print_table(
        ["server", "C", "conv/s", "tokens/s", "p50 ms", "p99 ms", "errors", "chats left",
         "server CPU us/token", "CPU/token vs floor"],
        rows,
    )  # fmt: skip


if __name__ == "__main__":
    main()
