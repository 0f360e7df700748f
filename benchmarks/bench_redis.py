"""The shared store's scale figures: tokens per second and CPU per token for one and two server
processes on Redis, against the in-memory server in the same run; Redis round trips and bytes
per conversation.

Each conversation is ``oa_provider``'s whole flow against the web dialect (create chat, prompter
message, assistant message, event stream, delete), token interval 0, 64 tokens, C at once.
Servers:

- ``memory, 1 process``: ``oa-mockserver serve`` (the default store), the baseline;
- ``redis, 1 process``: ``serve --store redis://...``;
- ``redis, 2 processes``: ``serve --processes 2 --store redis://...`` (gunicorn, one port).

CPU is counted in CPU seconds, not wall time, because the machine may be shared: the server
processes (the arbiter and its workers), ``redis-server`` and this client, each from /proc
(schedstat nanoseconds). ``tokens/s`` is wall-clock and so depends on what else runs.

Round trips and bytes are measured on one in-process server (``MockServer`` on a Redis store):
its own count of round trips (a script, a command or a pipeline counts one) and the Redis
server's ``INFO stats`` counters (commands, network bytes in and out), over sequential
conversations; without a worker limit, and with ``workers=4`` (the worker pool shared by every
process: one script call more per reply, to take a slot).

    .venv/bin/python benchmarks/bench_redis.py            # 600 conversations, C = 50
    .venv/bin/python benchmarks/bench_redis.py --quick    # 60 conversations, C = 10
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import cpu_seconds, print_table

from oa_mockserver import MockServer, ServerConfig
from oa_mockserver._server.app import context_of
from oa_provider import OpenAssistant

TOKENS = 64
MODEL = "OA_SFT_Llama_30B_6"
COOKIES = {"next-auth.session-token": "bench"}
_LISTENING = re.compile(rb"Running on http://[\d.]+:(\d+)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port




def _tree(pid: int) -> list[int]:
    """A process and its children (gunicorn's workers)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [pid, *(int(child) for child in children)]


def _tree_cpu(pids: list[int]) -> float:
    return sum(cpu_seconds(pid) for pid in pids)


class Redis:
    """A throwaway redis-server on a free port (no persistence)."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.dir = tempfile.mkdtemp(prefix="bench-redis-")
        self.process = subprocess.Popen(
            [shutil.which("redis-server") or "/usr/bin/redis-server", "--port", str(self.port),
             "--save", "", "--appendonly", "no", "--dir", self.dir],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.client = redis.Redis(port=self.port)
        for _ in range(100):
            try:
                self.client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)

    def stats(self) -> dict[str, int]:
        info = self.client.info("stats")
        keys = ("total_commands_processed", "total_net_input_bytes", "total_net_output_bytes")
        return {key: int(info[key]) for key in keys}

    def close(self) -> None:
        self.client.close()
        self.process.terminate()
        self.process.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


def _serve(*args: str) -> tuple[subprocess.Popen[bytes], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "oa_mockserver", "serve", "--port", "0", "--log-level", "WARNING",
         "--token-interval", "0", "--first-token-delay", "0", "--reply-tokens", str(TOKENS),
         *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    assert process.stdout is not None
    seen = b""
    while (match := _LISTENING.search(seen)) is None:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(seen.decode(errors="replace"))
        seen += line
    return process, f"http://127.0.0.1:{match.group(1).decode()}"


async def _drive(url: str, conversations: int, concurrency: int) -> tuple[float, int]:
    """Run the conversations, ``concurrency`` at a time; wall seconds and tokens received."""
    provider = OpenAssistant(base_url=url, cookies=COOKIES)
    gate = asyncio.Semaphore(concurrency)
    received = 0

    async def one(index: int) -> None:
        nonlocal received
        async with gate:
            prompt = [{"role": "user", "content": f"hello {index}"}]
            async for _ in provider.create_async_generator(MODEL, prompt):
                received += 1

    start = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(conversations)))
    return time.perf_counter() - start, received


def _measure(
    label: str, args: tuple[str, ...], store: Redis | None, conversations: int, concurrency: int
) -> list[str]:
    process, url = _serve(*args)
    try:
        asyncio.run(_drive(url, max(10, conversations // 10), concurrency))  # warm-up
        pids = _tree(process.pid)
        redis_pid = store.process.pid if store is not None else None
        server_before = _tree_cpu(pids)
        redis_before = cpu_seconds(redis_pid) if redis_pid else 0.0
        client_before = time.process_time()
        wall, tokens = asyncio.run(_drive(url, conversations, concurrency))
        client = time.process_time() - client_before
        server = _tree_cpu(pids) - server_before
        redis_cpu = (cpu_seconds(redis_pid) - redis_before) if redis_pid else 0.0
    finally:
        process.terminate()
        process.wait(30)
    assert tokens == conversations * TOKENS, (tokens, conversations)
    total = server + redis_cpu + client
    return [
        label,
        f"{tokens / wall:,.0f}",
        f"{server / tokens * 1e6:.1f}",
        f"{redis_cpu / tokens * 1e6:.1f}",
        f"{client / tokens * 1e6:.1f}",
        f"{total / tokens * 1e6:.1f}",
        f"{total:.2f}",
    ]


async def _per_conversation(store: Redis, conversations: int) -> list[list[str]]:
    """Redis traffic per conversation, without a worker limit and with a shared pool."""
    unbounded = await _traffic(store, conversations, None)
    pooled = await _traffic(store, conversations, 4)
    return [[name, a, b] for (name, a), (_, b) in zip(unbounded, pooled, strict=True)]


async def _traffic(store: Redis, conversations: int, workers: int | None) -> list[tuple[str, str]]:
    config = ServerConfig(
        store=store.url,
        token_interval=0.0,
        first_token_delay=0.0,
        reply_tokens=TOKENS,
        workers=workers,
    )
    async with MockServer(config) as server:
        backend = context_of(server.app).shared
        assert backend is not None
        provider = OpenAssistant(base_url=server.url, cookies=COOKIES)
        prompt = [{"role": "user", "content": "hello"}]
        async for _ in provider.create_async_generator(MODEL, prompt):  # warm-up
            pass
        await asyncio.sleep(0.1)  # the journal's batch of the warm-up is written
        trips, before = backend.round_trips, store.stats()
        for _ in range(conversations):
            async for _ in provider.create_async_generator(MODEL, prompt):
                pass
        await asyncio.sleep(0.1)
        trips, after = backend.round_trips - trips, store.stats()
    per = {key: (after[key] - before[key]) / conversations for key in after}
    return [
        ("round trips (scripts, commands, pipelines)", f"{trips / conversations:.1f}"),
        ("Redis commands (those a script runs too)", f"{per['total_commands_processed']:.1f}"),
        ("bytes sent to Redis", f"{per['total_net_input_bytes']:,.0f}"),
        ("bytes received from Redis", f"{per['total_net_output_bytes']:,.0f}"),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    options = parser.parse_args()
    conversations, concurrency = (60, 10) if options.quick else (600, 50)
    store = Redis()
    try:
        rows = [
            _measure("memory, 1 process", (), None, conversations, concurrency),
            _measure("redis, 1 process", ("--store", store.url), store, conversations, concurrency),
            _measure(
                "redis, 2 processes",
                ("--store", store.url, "--processes", "2"),
                store,
                conversations,
                concurrency,
            ),
        ]
        print(f"{conversations} conversations, {concurrency} at once, {TOKENS} tokens each; "
              f"{os.cpu_count()} CPUs (shared: compare CPU seconds, not tokens/s)\n")  # fmt: skip
        print_table(
            ["server", "tokens/s (wall)", "server µs CPU/token", "redis µs CPU/token",
             "client µs CPU/token", "total µs CPU/token", "total CPU s"],
            rows,
        )  # fmt: skip
        print()
        print_table(["per conversation (Redis store)", "no --workers", "--workers 4"], asyncio.run(
            _per_conversation(store, 20 if options.quick else 100)
        ))  # fmt: skip
    finally:
        store.close()


if __name__ == "__main__":
    main()
