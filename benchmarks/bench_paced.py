"""Paced streams at scale: server CPU per conversation at the real server's pace, against a floor.

Every conversation is the five web-dialect calls (create chat, prompter message, assistant
message, event stream, delete); the reply is 20 tokens at 0.2 s, the first after 0.2 s (the
reference worker's pace, the mock server's default). Three processes: the floor server, the mock
server, and one lean aiohttp client (``--client``) that runs C conversations at once against one
server and reports the gaps it saw between tokens. The floor is the simplest paced aiohttp
server: canned answers (the mock server's own bytes) and one ``asyncio.sleep`` per token per
stream. A third server replays a cassette recorded (through ``oa-mockserver record``) from a paced
mock server, with ``--timing exact``: the replay row.

Server CPU is the server process's user + system time, read from
``/proc/<pid>/task/*/schedstat`` in nanoseconds before and after each round; the ratio is the mock's
CPU per conversation against the floor's at the same C. CPU seconds hold on a busy machine; the
token gaps do not (a gap is wall time, and other processes steal it): read the gap columns with
``uptime``'s load in mind (printed with the table).

``--provider`` adds the server-side view: C = 2,000 conversations through
``oa_provider.OpenAssistant`` against a mock server that journals them all; the gaps between
token chunks are the journal's chunk times (``/__admin/requests``), so they are the server's pace,
not the client's reading. ``--memory`` measures RSS per open paced stream (a long reply at 1 s a
token) at 10,000 streams, on a bare aiohttp app and on the mock server.

The benchmark raises its soft ``RLIMIT_NOFILE`` to the hard limit (the servers and the client it
starts inherit it): C = 4,000 needs 8,000 sockets on the machine, ``--memory`` 10,000 per process.

    .venv/bin/python benchmarks/bench_paced.py               # C = 1,000, 2,000, 4,000 + replay
    .venv/bin/python benchmarks/bench_paced.py --quick       # C = 50, 5 tokens at 0.05 s (smoke)
    .venv/bin/python benchmarks/bench_paced.py --provider    # + server-side gaps, provider client
    .venv/bin/python benchmarks/bench_paced.py --memory      # RSS per open stream at 10,000
    .venv/bin/python benchmarks/bench_paced.py --split       # CPU per token, per conversation
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import cpu_seconds, floor_app, print_table, start_server, stop_server

COOKIE = {"next-auth.session-token": "bench"}
PROMPT = "question"  # one prompt for every conversation: the replay server matches it
MODEL = "OA_SFT_Llama_30B_6"
_TOKEN = b'"event_type": "token"'


# -- the floor -------------------------------------------------------------------------------------




# -- processes -------------------------------------------------------------------------------------


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def _raise_nofile() -> int:
    """Soft RLIMIT_NOFILE up to the hard limit (inherited by the processes started after)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def _mock_command(pace: tuple[int, float, float], *extra: str) -> list[str]:
    tokens, interval, first = pace
    return [sys.executable, "-m", "oa_mockserver", "serve", "--port", "0",
            "--token-interval", str(interval), "--first-token-delay", str(first),
            "--reply-tokens", str(tokens), "--log-level", "WARNING", *extra]  # fmt: skip


def _run_json(command: list[str]) -> dict[str, Any]:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# -- the lean client (its own process) -------------------------------------------------------------


async def _ask_for_reply(session: aiohttp.ClientSession, base: str) -> tuple[str, str]:
    """The first three web-dialect calls (chat, prompt, reply asked for): the chat's and the
    reply's ids, as the events route takes them."""
    async with session.post(f"{base}/api/chat", json={}) as response:
        chat_id: str = (await response.json())["id"]
    body = {"chat_id": chat_id, "content": PROMPT, "parent_id": None}
    async with session.post(f"{base}/api/chat/prompter_message", json=body) as response:
        parent_id = (await response.json())["id"]
    ask: dict[str, Any] = {
        "chat_id": chat_id, "parent_id": parent_id, "model_config_name": MODEL,
        "sampling_parameters": _SAMPLING, "plugins": [],
    }  # fmt: skip
    async with session.post(f"{base}/api/chat/assistant_message", json=ask) as response:
        message_id: str = (await response.json())["id"]
    return chat_id, message_id


async def _lean_conversation(
    session: aiohttp.ClientSession, base: str, gaps: list[float]
) -> tuple[int, bool]:
    """The five calls, the stream read as it comes; the gaps between token arrivals kept."""
    try:
        chat_id, message_id = await _ask_for_reply(session, base)
        tokens = 0
        last = 0.0
        final = False
        params = {"chat_id": chat_id, "message_id": message_id}
        async with session.get(f"{base}/api/chat/events", params=params) as response:
            async for piece in response.content.iter_any():
                count = piece.count(_TOKEN)
                if count:
                    now = time.perf_counter()
                    if tokens:
                        gaps.append(now - last)
                    last = now
                    tokens += count
                if b'"event_type": "message"' in piece:
                    final = True
        async with session.delete(f"{base}/api/chat", params={"chat_id": chat_id}) as response:
            await response.read()
    except (aiohttp.ClientError, KeyError, ValueError):
        return 0, False
    return tokens, final


def _own_cpu() -> float:
    """This process's user + system CPU seconds so far (the client's own load)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * fraction))]


async def _lean_client(base: str, concurrency: int) -> dict[str, Any]:
    gaps: list[float] = []
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, cookies=COOKIE) as session:
        start = time.perf_counter()
        results = await asyncio.gather(
            *(_lean_conversation(session, base, gaps) for _ in range(concurrency))
        )
        wall = time.perf_counter() - start
    return {
        "conversations": concurrency,
        "tokens": sum(r[0] for r in results),
        "errors": sum(1 for r in results if not r[1]),
        "wall": wall,
        "gap_p50": _percentile(gaps, 0.5),
        "gap_p99": _percentile(gaps, 0.99),
        "client_cpu": _own_cpu(),
    }


async def _provider_client(base: str, concurrency: int) -> dict[str, Any]:
    """C conversations through the provider; the server-side gaps from the journal after."""
    from oa_provider import OpenAssistant

    provider = OpenAssistant(base_url=base, cookies=COOKIE)
    connector = aiohttp.TCPConnector(limit=0)

    async def one(session: aiohttp.ClientSession) -> bool:
        try:
            async for _ in provider.create_async_generator(
                messages=[{"role": "user", "content": PROMPT}], session=session
            ):
                pass
        except Exception:  # noqa: BLE001 - a benchmark counts failures instead of stopping
            return False
        return True

    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.perf_counter()
        ok = await asyncio.gather(*(one(session) for _ in range(concurrency)))
        wall = time.perf_counter() - start
    gaps, first = await _journal_gaps(base)
    return {
        "conversations": concurrency, "errors": ok.count(False), "wall": wall,
        "gap_p50": _percentile(gaps, 0.5), "gap_p99": _percentile(gaps, 0.99),
        "gap_max": max(gaps, default=float("nan")), "first_p99": _percentile(first, 0.99),
        "streams": len(first), "client_cpu": _own_cpu(),
    }  # fmt: skip


async def _journal_gaps(base: str) -> tuple[list[float], list[float]]:
    """Gaps between consecutive token chunks of every journaled stream, and first-token times."""
    gaps: list[float] = []
    first: list[float] = []
    after = 0
    async with aiohttp.ClientSession() as http:
        while True:
            params = {"after": str(after), "limit": "1000"}
            async with http.get(f"{base}/__admin/requests", params=params) as response:
                page = await response.json()
            for call in page["requests"]:
                stream = call.get("stream")
                if not stream:
                    continue
                times = [c[0] for c in stream["chunks"] if c[2] == "token"]
                if times:
                    first.append(times[0])
                gaps.extend(b - a for a, b in itertools.pairwise(times))
            if not page["has_more"]:
                break
            after = page["next_after"]
    return gaps, first


# -- the table -------------------------------------------------------------------------------------


def _round(process: subprocess.Popen[str], url: str, concurrency: int) -> dict[str, Any]:
    before = cpu_seconds(process.pid)
    result = _run_json([sys.executable, __file__, "--client", url, str(concurrency)])
    result["cpu"] = cpu_seconds(process.pid) - before
    return result


def _record_cassette(pace: tuple[int, float, float], directory: Path) -> Path:
    """One conversation recorded through ``oa-mockserver record`` from a paced mock server."""
    upstream, upstream_url = start_server(_mock_command(pace))
    try:
        proxy, proxy_url = start_server([
            sys.executable, "-m", "oa_mockserver", "record", "--upstream", upstream_url,
            "--cassettes", str(directory), "--name", "paced", "--port", "0",
            "--log-level", "WARNING",
        ])  # fmt: skip
        try:
            result = asyncio.run(_lean_client(proxy_url, 1))
            if result["errors"]:
                raise RuntimeError(f"recording the replay cassette failed: {result}")
        finally:
            stop_server(proxy)
    finally:
        stop_server(upstream)
    return directory / "paced.yaml"


def _table(args: argparse.Namespace, pace: tuple[int, float, float], levels: list[int]) -> None:
    tokens, interval, first = pace
    with tempfile.TemporaryDirectory() as scratch:
        cassette = _record_cassette(pace, Path(scratch))
        commands = {
            "floor": [sys.executable, __file__, "--serve-floor", str(tokens), str(interval),
                      str(first)],
            "mock": _mock_command(pace),
            "replay": _mock_command(pace, "--cassettes", str(cassette), "--timing", "exact"),
        }  # fmt: skip
        servers = {name: start_server(command) for name, command in commands.items()}
        measured: dict[tuple[str, int], list[dict[str, Any]]] = {}
        loads = []
        try:
            for process, url in servers.values():
                _round(process, url, min(levels[0], 200))  # warm-up: not measured
            for concurrency in levels:
                for _ in range(args.rounds):
                    for name, (process, url) in servers.items():
                        loads.append(os.getloadavg()[0])
                        measured.setdefault((name, concurrency), []).append(
                            _round(process, url, concurrency)
                        )
        finally:
            for process, _ in servers.values():
                stop_server(process)
    rows = []
    for concurrency in levels:
        per = {
            name: statistics.median(
                r["cpu"] / r["conversations"] for r in measured[(name, concurrency)]
            )
            for name in servers
        }  # fmt: skip
        middle = {
            name: sorted(measured[(name, concurrency)], key=lambda r: r["cpu"])[args.rounds // 2]
            for name in servers
        }
        for name in ("mock", "replay"):
            result = middle[name]
            rows.append([
                name, f"{concurrency:,}", f"{per['floor'] * concurrency:.2f} s",
                f"{per[name] * concurrency:.2f} s", f"{per['floor'] * 1e3:.2f}",
                f"{per[name] * 1e3:.2f}", f"{per[name] / per['floor']:.2f}x",
                f"{middle['floor']['gap_p99']:.2f} / {result['gap_p99']:.2f} s",
                f"{middle['floor']['errors']} / {result['errors']}",
            ])  # fmt: skip
    print(
        f"{tokens} tokens at {interval} s, first after {first} s; median of {args.rounds} "
        f"round(s) per server and C after a warm-up; server CPU = process user+system time; "
        f"load average (1 min) during the rounds: {min(loads):.2f}-{max(loads):.2f} on "
        f"{os.cpu_count()} cores (gaps are wall time: load stretches them, CPU seconds hold)"
    )
    print_table(
        ["server", "C", "floor CPU", "server CPU", "floor ms/conv", "server ms/conv",
         "ratio", "client gap p99 floor / server", "errors floor / server"],
        rows,
    )  # fmt: skip


def _split(args: argparse.Namespace, concurrency: int) -> None:
    """Where each server's CPU goes: per token, and per conversation before any token.

    Each server (the replay server too, from a cassette recorded at that length) runs twice, with
    replies of 1 and of 41 tokens at the table's pace; a token costs the difference divided by
    40, and the rest of the 1-token conversation is the fixed part (the five calls, the stream's
    setup and end). The servers take turns, ``args.rounds`` rounds each; medians.
    """
    short, long = 1, 41
    measured: dict[tuple[str, int], list[float]] = {}
    for tokens in (short, long):
        pace = (tokens, 0.2, 0.2)
        with tempfile.TemporaryDirectory() as scratch:
            cassette = _record_cassette(pace, Path(scratch))
            commands = {
                "floor": [sys.executable, __file__, "--serve-floor", str(tokens), "0.2", "0.2"],
                "mock": _mock_command(pace),
                "replay": _mock_command(pace, "--cassettes", str(cassette), "--timing", "exact"),
            }  # fmt: skip
            servers = {name: start_server(command) for name, command in commands.items()}
            try:
                for process, url in servers.values():
                    _round(process, url, min(concurrency, 200))  # warm-up: not measured
                for _ in range(args.rounds):
                    for name, (process, url) in servers.items():
                        result = _round(process, url, concurrency)
                        measured.setdefault((name, tokens), []).append(result["cpu"] / concurrency)
            finally:
                for process, _ in servers.values():
                    stop_server(process)
    rows = []
    parts: dict[str, tuple[float, float]] = {}
    for name in ("floor", "mock", "replay"):
        one = statistics.median(measured[(name, short)])
        many = statistics.median(measured[(name, long)])
        per_token = (many - one) / (long - short)
        parts[name] = (per_token, one - per_token)
    for name, (per_token, fixed) in parts.items():
        floor_token, floor_fixed = parts["floor"]
        rows.append([
            name, f"{per_token * 1e6:.1f} µs ({per_token / floor_token:.2f}x)",
            f"{fixed * 1e3:.3f} ms ({fixed / floor_fixed:.2f}x)",
            f"{(fixed + 20 * per_token) * 1e3:.3f} ms",
        ])  # fmt: skip
    print(
        f"server CPU split, C = {concurrency:,}, replies of {short} and {long} tokens at 0.2 s, "
        f"median of {args.rounds} round(s) each (load average {os.getloadavg()[0]:.2f} at the end)"
    )
    print_table(
        ["server", "per token (vs floor)", "per conversation, before tokens (vs floor)",
         "a 20-token conversation"],
        rows,
    )  # fmt: skip


def _provider_row(pace: tuple[int, float, float], concurrency: int) -> None:
    process, url = start_server(_mock_command(pace, "--journal-limit", "0"))
    try:
        _run_json([sys.executable, __file__, "--provider-client", url, "50"])  # warm-up
        asyncio.run(_clear_journal(url))
        before = cpu_seconds(process.pid)
        load = os.getloadavg()[0]
        result = _run_json([sys.executable, __file__, "--provider-client", url, str(concurrency)])
        cpu = cpu_seconds(process.pid) - before
    finally:
        stop_server(process)
    interval = pace[1]
    print(
        f"\nprovider as the client, C = {concurrency:,}, server-side token gaps from the journal "
        f"(load average {load:.2f} at the start)"
    )
    print_table(
        ["C", "streams", "errors", "gap p50", "gap p99", "p99 / interval", "gap max",
         "first token p99", "server CPU", "client CPU", "client wall"],
        [[f"{concurrency:,}", str(result["streams"]), str(result["errors"]),
          f"{result['gap_p50']:.3f} s", f"{result['gap_p99']:.3f} s",
          f"{result['gap_p99'] / interval:.2f}x", f"{result['gap_max']:.3f} s",
          f"{result['first_p99']:.3f} s", f"{cpu:.2f} s", f"{result['client_cpu']:.2f} s",
          f"{result['wall']:.1f} s"]],
    )  # fmt: skip


async def _clear_journal(base: str) -> None:
    async with aiohttp.ClientSession() as http, http.delete(f"{base}/__admin/requests") as answer:
        await answer.read()


# -- memory ----------------------------------------------------------------------------------------


def _idle_app() -> web.Application:
    """aiohttp's own cost of an open paced stream: a prepared response, one sleep per token."""
    from oa_mockserver._server.stream import SERVER_SOFTWARE, SSE_HEADERS
    from oa_mockserver._server.wire import token_event

    headers = {**dict(SSE_HEADERS), "server": SERVER_SOFTWARE}
    chunk = token_event("lorem ")

    async def events(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers=headers)
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            while True:
                await asyncio.sleep(1.0)
                await response.write(chunk)
        except ConnectionError:
            pass
        return response

    app = web.Application()
    app.router.add_get("/api/chat/events", events)
    return app


async def _open_streams(base: str, count: int, hold: float, conversations: bool) -> None:
    """Open ``count`` event streams (after their conversations, on the mock) and hold them.

    Prints ``ready`` once the conversations exist (before any stream opens), ``open`` once every
    stream has its headers, then reads the streams (discarding) for ``hold`` seconds.
    """
    address = base.removeprefix("http://")
    host, port = address.split(":")
    targets: list[str] = []
    if conversations:
        connector = aiohttp.TCPConnector(limit=50)
        async with aiohttp.ClientSession(connector=connector, cookies=COOKIE) as session:
            gate = asyncio.Semaphore(50)

            async def setup() -> str:
                async with gate:
                    chat_id, message_id = await _ask_for_reply(session, base)
                    return f"/api/chat/events?chat_id={chat_id}&message_id={message_id}"

            targets = list(await asyncio.gather(*(setup() for _ in range(count))))
    else:
        targets = ["/api/chat/events"] * count
    print("ready", flush=True)
    sys.stdin.readline()
    request = "GET {} HTTP/1.1\r\nHost: {}\r\nCookie: next-auth.session-token=bench\r\n\r\n"
    opened = 0
    all_open = asyncio.Event()

    gate = asyncio.Semaphore(64)  # connects in flight: within the server's listen backlog

    async def hold_one(target: str) -> None:
        nonlocal opened
        async with gate:
            reader, writer = await asyncio.open_connection(host, int(port))
            writer.write(request.format(target, address).encode())
            await reader.readuntil(b"\r\n\r\n")
        opened += 1
        if opened == count:
            all_open.set()
        try:
            while await reader.read(65536):
                pass
        finally:
            writer.close()

    tasks = [asyncio.ensure_future(hold_one(t)) for t in targets]
    await asyncio.wait(
        [asyncio.ensure_future(all_open.wait()), *tasks],
        timeout=300,
        return_when=asyncio.FIRST_COMPLETED,  # all open, or a stream failed
    )
    if not all_open.is_set():
        failed = [t.exception() for t in tasks if t.done() and not t.cancelled()]
        raise RuntimeError(f"{opened} of {count} streams opened; first error: {failed[:1]}")
    print("open", flush=True)
    await asyncio.sleep(hold)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _memory(count: int) -> None:
    """RSS per open stream: the bare app's (aiohttp's own), the mock server's, the difference."""
    rows = []
    figures: dict[str, float] = {}
    commands = {
        "bare aiohttp (sleep per token)": ([sys.executable, __file__, "--serve-idle"], False),
        "oa_mockserver": (
            _mock_command((300, 1.0, 1.0), "--journal-limit", "0", "--ping-interval", "15"),
            True,
        ),
    }
    for name, (command, conversations) in commands.items():
        process, url = start_server(command)
        try:
            client = subprocess.Popen(
                [sys.executable, __file__, "--hold-streams", url, str(count), "10",
                 "1" if conversations else "0"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            assert client.stdin is not None
            assert client.stdout is not None
            if client.stdout.readline().strip() != "ready":
                raise RuntimeError("the stream client failed")
            time.sleep(1.0)
            ready = _rss_kib(process.pid)
            client.stdin.write("go\n")
            client.stdin.flush()
            if client.stdout.readline().strip() != "open":
                raise RuntimeError("the stream client could not open every stream")
            time.sleep(5.0)  # a few tokens on every stream: the steady state
            opened = _rss_kib(process.pid)
            client.wait(timeout=120)
        finally:
            stop_server(process)
        per = (opened - ready) * 1024 / count
        figures[name] = per
        rows.append([name, f"{count:,}", f"{ready / 1024:.1f} MB", f"{opened / 1024:.1f} MB",
                     f"{per / 1024:.2f} KB"])  # fmt: skip
    bare, mock = figures.values()
    print(
        f"RSS per open paced stream at {count:,} streams (1 s a token); 'before' is after the "
        "conversations were created (mock) and before any stream opened"
    )
    print_table(["server", "streams", "RSS before", "RSS open", "per stream"], rows)
    print(f"the mock server beyond aiohttp's own: {(mock - bare) / 1024:.2f} KB per stream")


_SAMPLING = {
    "max_new_tokens": 1024, "temperature": 0.8, "top_k": None, "top_p": 0.9,
    "typical_p": None, "repetition_penalty": 1.2,
}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: C = 50, 5 fast tokens")
    parser.add_argument("--rounds", type=int, default=1, help="rounds per server and C")
    parser.add_argument("--provider", action="store_true", help="also the provider/journal row")
    parser.add_argument("--provider-only", action="store_true", help="only the provider row")
    parser.add_argument("--memory", action="store_true", help="only RSS per open stream")
    parser.add_argument(
        "--split", action="store_true", help="only the CPU per token and per conversation"
    )
    parser.add_argument("--streams", type=int, default=10_000, help="streams of --memory")
    parser.add_argument("--serve-floor", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--serve-idle", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--client", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--provider-client", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--hold-streams", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    run_app: dict[str, Any] = {
        "host": "127.0.0.1", "port": 0, "access_log": None,
        "print": lambda text: print(text, flush=True),
    }  # fmt: skip
    if args.serve_floor:
        tokens, interval, first = args.serve_floor
        app = floor_app(int(tokens), prompt=PROMPT, interval=float(interval), first=float(first))
        web.run_app(app, **run_app)
        return
    if args.serve_idle:
        web.run_app(_idle_app(), backlog=4096, **run_app)
        return
    if args.client:
        print(json.dumps(asyncio.run(_lean_client(args.client[0], int(args.client[1])))))
        return
    if args.provider_client:
        url, concurrency = args.provider_client
        print(json.dumps(asyncio.run(_provider_client(url, int(concurrency)))))
        return
    if args.hold_streams:
        url, count, hold, conversations = args.hold_streams
        asyncio.run(_open_streams(url, int(count), float(hold), conversations == "1"))
        return
    hard = _raise_nofile()
    print(f"RLIMIT_NOFILE raised to {hard} for this benchmark and the processes it starts")
    if args.memory:
        _memory(args.streams)
        return
    if args.split:
        _split(args, 50 if args.quick else 1000)
        return
    pace = (5, 0.05, 0.05) if args.quick else (20, 0.2, 0.2)
    levels = [50] if args.quick else [1000, 2000, 4000]
    if not args.provider_only:
        _table(args, pace, levels)
    if args.provider or args.provider_only:
        _provider_row(pace, 100 if args.quick else 2000)


if __name__ == "__main__":
    main()
