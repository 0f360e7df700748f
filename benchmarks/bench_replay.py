"""Replayed conversations: the mock server over loopback HTTP vs vcrpy in-process, same run.

    .venv/bin/python benchmarks/bench_replay.py [--quick] [-n 200]

Both replay cassettes/web/seed_example.yaml (instant timing) to the provider; the baseline is
vcrpy in-process. Target: over real HTTP within 1.5x of vcrpy's in-process time.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import print_table

from oa_mockserver import MockServer, ServerConfig
from oa_mockserver.recording import oa_vcr
from oa_provider import OpenAssistant

CASSETTE = Path(__file__).resolve().parents[1] / "cassettes/web/seed_example.yaml"
MESSAGES = [{"role": "user", "content": "Привет, как дела?"}]
COOKIES = {"next-auth.session-token": "bench"}


async def _conversations(base_url: str, n: int, session: aiohttp.ClientSession) -> float:
    start = time.perf_counter()
    for _ in range(n):
        tokens = [
            t
            async for t in OpenAssistant().create_async_generator(
                messages=MESSAGES, base_url=base_url, cookies=COOKIES, session=session
            )
        ]
        assert tokens
    return time.perf_counter() - start


async def over_http(n: int) -> float:
    config = ServerConfig(cassettes=str(CASSETTE), token_interval=0.0, first_token_delay=0.0)
    async with MockServer(config) as server, aiohttp.ClientSession() as session:
        await _conversations(server.url, 3, session)  # warm up
        return await _conversations(server.url, n, session)


async def in_process(n: int) -> float:
    async with aiohttp.ClientSession() as session:
        with oa_vcr(record_mode="none").use_cassette(str(CASSETTE), allow_playback_repeats=True):
            await _conversations("http://127.0.0.1:9", 3, session)
            return await _conversations("http://127.0.0.1:9", n, session)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run (10 conversations)")
    parser.add_argument("-n", type=int, default=200, help="conversations per engine")
    args = parser.parse_args()
    n = 10 if args.quick else args.n
    vcr_s = min([await in_process(n) for _ in range(1 if args.quick else 3)])
    http_s = min([await over_http(n) for _ in range(1 if args.quick else 3)])
    rows = [
        ["vcrpy in-process (baseline)", f"{vcr_s / n * 1000:.2f}", "1.00x"],
        ["mock server over loopback", f"{http_s / n * 1000:.2f}", f"{http_s / vcr_s:.2f}x"],
    ]
    print(f"{n} replayed conversations each, best of {1 if args.quick else 3}")
    print_table(["engine", "ms/conversation", "vs vcrpy"], rows)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
