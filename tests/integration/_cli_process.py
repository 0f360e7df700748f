"""``python -m oa_mockserver ...`` in a child process, for the command line's tests."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

_LISTENING = re.compile(rb"Running on http://[\d.]+:(\d+)")


@dataclass
class Served:
    """A running ``oa-mockserver`` command: its base URL and what it printed so far."""

    process: asyncio.subprocess.Process
    url: str = ""
    output: bytes = b""
    ended: bool = False

    async def end(self) -> None:
        """Wait for the process to end (after a signal), keeping the rest of its output."""
        rest, _ = await asyncio.wait_for(self.process.communicate(), 20)
        self.output += rest
        self.ended = True


@asynccontextmanager
async def serving(*args: str, env: Mapping[str, str] | None = None) -> AsyncIterator[Served]:
    """Start ``python -m oa_mockserver ARGS`` and wait until it listens on 127.0.0.1.

    At the end of the block the process gets SIGTERM (unless the test ended it with a signal of
    its own and :meth:`Served.end`) and ``served.output`` is completed with the rest of its
    stdout and stderr.
    """
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "oa_mockserver", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env,
    )  # fmt: skip
    assert process.stdout is not None
    served = Served(process)
    try:
        while (match := _LISTENING.search(served.output)) is None:
            line = await asyncio.wait_for(process.stdout.readline(), 20)
            assert line, served.output
            served.output += line
        served.url = f"http://127.0.0.1:{match.group(1).decode()}"
        yield served
    finally:
        if not served.ended:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            await served.end()
