"""Shared helpers for the benchmarks: median timing, a plain-text table, a process's CPU time,
starting and stopping a server process, and the floor server (canned answers) the server
benchmarks measure against."""

from __future__ import annotations

import asyncio
import gc
import os
import re
import statistics
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from aiohttp import web


def median_seconds(run: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``repeat`` calls of ``run`` (garbage collection paused while timing)."""
    times = []
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
        finally:
            gc.enable()
    return statistics.median(times)


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Print a Markdown table with columns sized to their contents."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"
    print(line)
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) + " |")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far: nanoseconds from schedstat, else clock ticks."""
    tasks = Path(f"/proc/{pid}/task")
    try:
        return sum(int((t / "schedstat").read_text().split()[0]) for t in tasks.iterdir()) / 1e9
    except (OSError, ValueError, IndexError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


_RUNNING_ON = re.compile(r"Running on (http://127\.0\.0\.1:\d+)")


def start_server(command: list[str], **popen: Any) -> tuple[subprocess.Popen[str], str]:
    """Start a server process (``popen``: more ``subprocess.Popen`` options, e.g. ``cwd``,
    ``env``) and return it with the URL it prints once it listens."""
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen
    )
    assert process.stdout is not None
    output = []
    for line in process.stdout:
        match = _RUNNING_ON.search(line)
        if match:
            # read on, so a chatty server never blocks on a full pipe while it is measured
            threading.Thread(target=process.stdout.read, daemon=True).start()
            return process, match.group(1)
        output.append(line)
    process.wait()
    raise RuntimeError(f"the server did not start: {' '.join(command)}\n{''.join(output)}")


def stop_server(process: subprocess.Popen[str]) -> None:
    """Terminate a server process, killing it if it has not ended within 15 s."""
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def floor_app(
    tokens: int, *, prompt: str, interval: float | None = None, first: float = 0.0
) -> web.Application:
    """The floor: canned answers, and the stream as pre-encoded chunks (no state, no logic);
    unpaced, or paced with one ``asyncio.sleep`` per token (``first`` before the first).

    Its bytes are the mock server's for the same conversation: the same JSON shapes and sizes
    (the assistant message and the final event carry the work parameters the provider's request
    leads to), the reference's stream headers, and ``Server: uvicorn`` on every answer. So the
    ratio measures what the mock server does, not what it sends.
    """
    from oa_mockserver._server.catalog import model_spec
    from oa_mockserver._server.generation import reply_tokens
    from oa_mockserver._server.ids import uuid7
    from oa_mockserver._server.state import Message
    from oa_mockserver._server.stream import SERVER_SOFTWARE, SSE_HEADERS
    from oa_mockserver._server.wire import fastapi_json, message_event, token_event
    from oa_provider import DEFAULT_SAMPLING_PARAMETERS, OpenAssistant

    texts = reply_tokens(
        model="m", thread=["x"], sampling={}, system_prompt=None, count=tokens, mode="lorem"
    )
    chunks = [token_event(t) for t in texts]
    chat_id = uuid7()
    chat = {
        "id": chat_id, "created_at": "2026-01-01T00:00:00.000001",
        "modified_at": "2026-01-01T00:00:00.000001", "title": None, "hidden": False,
        "allow_data_use": True, "active_thread_tail_message_id": None,
    }  # fmt: skip
    # the server's own MessageRead shape, so the floor sends the same keys in the same order
    message = Message(
        id=uuid7(), parent_id=None, content=prompt, chat_id=chat_id,
        created_at="2026-01-01T00:00:00.000001", role="prompter", state="manual",
    ).read()  # fmt: skip
    work: dict[str, object] = {
        "model_config": model_spec(OpenAssistant.model),
        "sampling_parameters": dict(DEFAULT_SAMPLING_PARAMETERS), "do_sample": True,
        "seed": 13_835_058_055_282_163_712, "system_prompt": None, "user_profile": None,
        "user_response_instructions": None, "plugins": [], "plugin_max_depth": 4,
    }  # fmt: skip
    assistant = {**message, "id": uuid7(), "parent_id": message["id"], "role": "assistant"}
    chat_body, message_body = fastapi_json(chat), fastapi_json(message)
    assistant_body = fastapi_json(
        {**assistant, "content": None, "state": "pending", "work_parameters": work}
    )
    final = message_event(
        {**assistant, "state": "complete", "content": "".join(texts), "work_parameters": work}
    )
    json_headers = {"content-type": "application/json", "server": SERVER_SOFTWARE}
    stream_headers = {**dict(SSE_HEADERS), "server": SERVER_SOFTWARE}

    async def create(request: web.Request) -> web.Response:
        return web.Response(body=chat_body, headers=json_headers)

    async def prompter_message(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=message_body, headers=json_headers)

    async def assistant_message(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=assistant_body, headers=json_headers)

    async def delete(request: web.Request) -> web.Response:
        return web.Response(body=b"", headers={"server": SERVER_SOFTWARE})

    async def events(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers=stream_headers)
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            if interval is None:
                for chunk in chunks:
                    await response.write(chunk)
            else:
                await asyncio.sleep(first)
                for index, chunk in enumerate(chunks):
                    if index:
                        await asyncio.sleep(interval)
                    await response.write(chunk)
            await response.write(final)
            await response.write_eof()
        except ConnectionError:
            pass  # the client went away
        return response

    app = web.Application()
    app.router.add_post("/api/chat", create)
    app.router.add_delete("/api/chat", delete)
    app.router.add_post("/api/chat/prompter_message", prompter_message)
    app.router.add_post("/api/chat/assistant_message", assistant_message)
    app.router.add_route("*", "/api/chat/events", events)
    return app
