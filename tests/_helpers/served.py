"""``python -m oa_mockserver ...`` in a child process, for the command line's and the Redis
group's tests."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

_LISTENING = re.compile(rb"Running on http://[\d.]+:(\d+)")
_WAIT_S = 30  # to start, or to end after a signal: a loaded CI machine is slow, not stuck


@dataclass
class Served:
    """A running ``oa-mockserver`` command: its base URL and what it printed so far."""

    process: asyncio.subprocess.Process
    url: str = ""
    output: bytes = b""
    ended: bool = False

    async def end(self) -> int:
        """Wait for the process to end (after a signal), keeping the rest of its output; its
        exit status."""
        try:
            rest, _ = await asyncio.wait_for(self.process.communicate(), _WAIT_S)
        except asyncio.TimeoutError:  # not yet the builtin on Python 3.10
            self.process.send_signal(signal.SIGABRT)  # with PYTHONFAULTHANDLER: its stacks
            rest, _ = await self.process.communicate()
            self.output += rest
            raise AssertionError(
                f"the server did not stop within {_WAIT_S} s:\n"
                f"{self.output.decode(errors='replace')}"
            ) from None
        self.output += rest
        self.ended = True
        assert self.process.returncode is not None
        return self.process.returncode

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        """Signal the process (unless it has ended) and wait for its end; its exit status."""
        if self.process.returncode is None:
            self.process.send_signal(sig)
        return await self.end()


def run_command(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m oa_mockserver ARGS`` to its end (at most a minute), its output as text."""
    return subprocess.run(
        [sys.executable, "-m", "oa_mockserver", *args], capture_output=True, text=True, timeout=60
    )


@asynccontextmanager
async def serving(*args: str, env: Mapping[str, str] | None = None) -> AsyncIterator[Served]:
    """Start ``python -m oa_mockserver ARGS`` and wait until it listens on 127.0.0.1.

    At the end of the block the process gets SIGTERM (unless the test ended it itself, with
    :meth:`Served.stop` or a signal and :meth:`Served.end`) and ``served.output`` is completed
    with the rest of its stdout and stderr.
    """
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "oa_mockserver", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env,
    )  # fmt: skip
    assert process.stdout is not None
    served = Served(process)
    try:
        while (match := _LISTENING.search(served.output)) is None:
            line = await asyncio.wait_for(process.stdout.readline(), _WAIT_S)
            assert line, served.output.decode(errors="replace")
            served.output += line
        served.url = f"http://127.0.0.1:{match.group(1).decode()}"
        yield served
    finally:
        if not served.ended:
            await served.stop()
