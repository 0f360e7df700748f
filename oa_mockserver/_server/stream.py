"""The SSE writer: one message's events over one chunked HTTP response.

As sse-starlette does on the reference server: each event and each ping is written as its own
HTTP chunk; pings (``: ping - <UTC time>``) come every ``ping_interval`` counted from the start of
the response, whatever else is sent; ``pending`` events come every ``pending_interval`` until the
first token; after the last token comes the ``message`` event, then the terminating chunk. A stream
ends early, without a final event, when the chat is deleted or the server shuts down.

Faults (:mod:`.._control.faults`) that touch streams arrive on the request from the guard
(``request[STREAM_FAULTS]``, with the log to fill, ``request[STREAM_LOG]``); when
there are none the pre-encoded chunks go out as they are (the fast path), otherwise every event
passes through the request's :class:`StreamChain` and the writer carries out its actions. What
was written when goes into the request's :class:`StreamLog`, for the journal.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .._control.faults import Disconnect, Emit, EmitRaw, Fault, Finish, Pause, StreamChain
from .._control.journal import StreamLog
from .config import ServerConfig
from .generation import Engine, Generation
from .ids import ping_stamp, utcnow
from .wire import event_bytes, pending_event, ping_bytes

__all__ = ["SERVER_SOFTWARE", "SSE_HEADERS", "STREAM_FAULTS", "STREAM_LOG", "stream_events"]

#: Response headers of an event stream, in the reference's order.
SSE_HEADERS = (
    ("cache-control", "no-cache"),
    ("connection", "keep-alive"),
    ("x-accel-buffering", "no"),
    ("content-type", "text/event-stream; charset=utf-8"),
)
#: The ``Server`` header of every answer: the reference's.
SERVER_SOFTWARE = "uvicorn"
# Set on the request by the guard before the handler runs: the faults that fired on this
# request, and the log the writer fills for the journal (absent: no faults, a log nobody reads).
if TYPE_CHECKING or hasattr(web, "RequestKey"):
    STREAM_FAULTS = web.RequestKey("stream_faults", Sequence[Fault])
    STREAM_LOG = web.RequestKey("stream_log", StreamLog)
else:  # aiohttp before 3.13 has no RequestKey, and takes string keys without a warning
    STREAM_FAULTS = "oa_mockserver.stream_faults"
    STREAM_LOG = "oa_mockserver.stream_log"

_STREAM_HEADERS = {**dict(SSE_HEADERS), "server": SERVER_SOFTWARE}
_DATA = b"data: "


def _whole_event(chunk: bytes) -> dict[str, Any] | None:
    """The JSON object of a chunk that is exactly one ``data: {...}`` event, else None."""
    if not (chunk.startswith(_DATA) and chunk.endswith(b"\r\n\r\n")):
        return None
    try:
        payload = json.loads(chunk[len(_DATA) :])
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


class _Writer:
    """Writes chunks, logs them, and runs fault actions; ``done()`` once the stream must end."""

    def __init__(
        self,
        response: web.StreamResponse,
        request: web.Request,
        faults: Sequence[Fault],
        log: StreamLog,
    ) -> None:
        self.response = response
        self.request = request
        self.loop = asyncio.get_running_loop()
        self.started = self.loop.time()
        self.log = log
        self.log.start(time.monotonic())  # the journal's clock, as the chunk times
        self.chain = StreamChain(faults) if faults else None
        self._done = False
        self.dropped = False

    def done(self) -> bool:
        """Whether a fault ended the stream (a call, so that type narrowing never caches it)."""
        return self._done

    async def raw(self, chunk: bytes) -> None:
        await self.response.write(chunk)
        self.log.add(time.monotonic(), chunk)

    async def burst(self, chunks: list[bytes], sent: int) -> int:
        """Write ``chunks[sent:]`` as they are, one HTTP chunk each; return the new index.

        ``chunks`` may grow while a write waits for the socket: the loop reads its length anew.
        """
        while sent < len(chunks):
            batch = chunks[sent:]
            await _write_logged(self.response, batch, self.log)
            sent += len(batch)
        return sent

    async def event(self, chunk: bytes) -> None:
        """One pre-encoded event, through the fault chain when there is one."""
        if self.chain is None:
            await self.raw(chunk)
            return
        payload = _whole_event(chunk)
        if payload is None:
            # A replayed piece that is not one whole event (a recorded ping, a rechunked cut):
            # faults count and rewrite whole events, so it goes out as it is.
            await self.raw(chunk)
            return
        await self.run(self.chain.on_event(payload))

    async def start(self) -> None:
        if self.chain is not None:
            await self.run(self.chain.start())

    async def run(self, actions: Sequence[Any]) -> None:
        for action in actions:
            if isinstance(action, Emit):
                await self.raw(event_bytes(action.payload))
            elif isinstance(action, EmitRaw):
                await self.raw(action.data)
            elif isinstance(action, Pause):
                await asyncio.sleep(action.seconds)
            elif isinstance(action, Finish):
                self._done = True
            elif isinstance(action, Disconnect):
                self._done = self.dropped = True
                transport = self.request.transport
                if transport is not None:
                    transport.abort()


async def stream_events(
    request: web.Request, generation: Generation, engine: Engine, config: ServerConfig
) -> web.StreamResponse:
    """Stream ``generation`` to the client until its final event (or cancellation)."""
    # the Server header too: a stream is prepared here, before the guard sees it
    response = web.StreamResponse(status=200, headers=_STREAM_HEADERS)
    response.enable_chunked_encoding()
    await response.prepare(request)
    faults: Sequence[Fault] = request.get(STREAM_FAULTS, ())
    log: StreamLog = request.get(STREAM_LOG) or StreamLog()
    if not faults and generation.final is not None:
        return await _write_finished(response, generation, generation.final, log)
    writer = _Writer(response, request, faults, log)
    loop = writer.loop
    next_ping = writer.started + config.ping_interval
    next_pending = writer.started + config.pending_interval
    sent = 0
    try:
        if writer.chain is not None:
            await writer.start()
        while not writer.done():
            chunks = generation.chunks
            if writer.chain is None:
                # the hot path: no fault to consult, each pre-encoded event goes out as is
                sent = await writer.burst(chunks, sent)
            while sent < len(chunks) and not writer.done():
                await writer.event(chunks[sent])
                sent += 1
            if writer.done():
                break
            if generation.final is not None:
                await writer.event(generation.final)
                if not writer.done():
                    generation.delivered = True
                    writer.log.final_written = True
                break
            if generation.ended or engine.closing:
                break
            now = loop.time()
            deadline = next_ping if sent else min(next_ping, next_pending)
            if deadline > now:
                # asyncio.wait, not wait_for: the shared future must survive our timeout
                await asyncio.wait((generation.wait(),), timeout=deadline - now)
                now = loop.time()
            if now >= next_ping:
                await writer.raw(ping_bytes(ping_stamp(utcnow())))
                while next_ping <= now:
                    next_ping += config.ping_interval
            if not generation.chunks and now >= next_pending:
                position, size = engine.queue_position(generation)
                await writer.event(pending_event(position, size))
                next_pending = now + config.pending_interval
        if not writer.dropped:
            await response.write_eof()
    except ConnectionError:  # reset, aborted, or "Connection lost" while draining
        # the client went away mid-stream: nothing left to tell it
        writer.log.client_disconnected = True
    return response


async def _write_logged(
    response: web.StreamResponse, chunks: Sequence[bytes], log: StreamLog
) -> None:
    """Write each chunk as its own HTTP chunk, logged with the time its write returned.

    The hot path of every stream. If a write fails, the log holds exactly the chunks that went
    out.
    """
    write, add, clock = response.write, log.add, time.monotonic
    for chunk in chunks:
        await write(chunk)
        add(clock(), chunk)


async def _write_finished(
    response: web.StreamResponse, generation: Generation, final: bytes, log: StreamLog
) -> web.StreamResponse:
    """A reply that was complete before its stream opened, with no fault: every event at once.

    The common case of an unpaced server; it skips the writer's machinery (pings and pending
    events cannot come: nothing is waited for). Each chunk is still logged with its time.
    """
    log.start(time.monotonic())
    if generation.generated:
        log.mark_generated()
    try:
        await _write_logged(response, [*generation.chunks, final], log)
        generation.delivered = True
        log.final_written = True
        await response.write_eof()
    except ConnectionError:
        log.client_disconnected = True  # the client went away mid-stream
    return response
