"""The SSE writer: one message's events over one chunked HTTP response.

As sse-starlette does on the reference server: each event and each ping is written as its own
HTTP chunk; pings (``: ping - <UTC time>``) come every ``ping_interval`` counted from the start of
the response, whatever else is sent; ``pending`` events come every ``pending_interval`` until the
first token; after the last token comes the ``message`` event, then the terminating chunk. A stream
ends early, without a final event, when the chat is deleted or the server shuts down.

Faults (:mod:`._faults`) that touch streams arrive on the request from the guard; when
there are none the pre-encoded chunks go out as they are (the fast path), otherwise every event
passes through the request's :class:`StreamChain` and the writer carries out its actions. What
was written when goes into the request's :class:`StreamLog`, for the journal.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from contextvars import ContextVar
from itertools import repeat
from typing import Any

from aiohttp import web

from ._config import ServerConfig
from ._faults import Disconnect, Emit, EmitRaw, Fault, Finish, Pause, StreamChain
from ._generation import Engine, Generation
from ._ids import ping_stamp, utcnow
from ._journal import StreamLog
from ._wire import event_bytes, pending_event, ping_bytes

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
#: Set by the guard around the handler (the handler runs in its task): the faults that
#: fired on this request, and the log the writer fills for the journal.
STREAM_FAULTS: ContextVar[Sequence[Fault]] = ContextVar("oa_mockserver.faults", default=())
STREAM_LOG: ContextVar[StreamLog | None] = ContextVar("oa_mockserver.stream_log", default=None)

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
        self, response: web.StreamResponse, request: web.Request, faults: Sequence[Fault]
    ) -> None:
        self.response = response
        self.request = request
        self.loop = asyncio.get_running_loop()
        self.started = self.loop.time()
        log = STREAM_LOG.get()
        self.log: StreamLog = log if log is not None else StreamLog()
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
    faults = STREAM_FAULTS.get()
    if not faults and generation.final is not None:
        return await _write_finished(response, generation, generation.final)
    writer = _Writer(response, request, faults)
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
    """Write each chunk as its own HTTP chunk and log its time: the hot path of every stream.

    Chunks written in one go share one time: until a write waits for the socket nothing else
    runs, so they all leave at that moment (to the microsecond). From the first write that
    waits on, each chunk is timed when its write returns. Why: a clock read per chunk was a
    visible share of an unpaced stream. If a write fails, the log still says exactly which
    chunks went out.
    """
    write, times, data = response.write, log.times, log.data
    turned: list[None] = []  # filled if the event loop ran: some write waited
    alarm = asyncio.get_running_loop().call_soon(turned.append, None)
    at = time.monotonic()
    sent = 0
    try:
        for chunk in chunks:
            await write(chunk)
            sent += 1
            if turned:
                break
        times.extend(repeat(at, sent - 1 if turned else sent))
        if turned:
            times.append(time.monotonic())
            for chunk in chunks[sent:]:
                await write(chunk)
                sent += 1
                times.append(time.monotonic())
    finally:
        alarm.cancel()
        missing = len(data) + sent - len(times)
        if missing > 0:  # a write failed before this burst's times were logged
            times.extend(repeat(at, missing))
        data.extend(chunks if sent == len(chunks) else chunks[:sent])


async def _write_finished(
    response: web.StreamResponse, generation: Generation, final: bytes
) -> web.StreamResponse:
    """A reply that was complete before its stream opened, with no fault: every event at once.

    The common case of an unpaced server; it skips the writer's machinery (pings and pending
    events cannot come: nothing is waited for). Each chunk is still logged with its time.
    """
    log = STREAM_LOG.get()
    if log is None:
        log = StreamLog()
    log.start(time.monotonic())
    if generation.generated:
        log.tokens_then_message()
    try:
        await _write_logged(response, [*generation.chunks, final], log)
        generation.delivered = True
        log.final_written = True
        await response.write_eof()
    except ConnectionError:
        log.client_disconnected = True  # the client went away mid-stream
    return response
