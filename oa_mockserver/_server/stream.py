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

Three paths, by what the stream needs:

* finished before it opened, no fault: every chunk at once (``_write_finished``);
* paced, no fault (the load-test case): the stream attaches to its :class:`Generation` as a
  *sink* (:class:`_PacedStream`). The engine's :class:`~.wheel.Wheel` (one ``loop.call_at`` per
  5 ms bucket, for all streams) pushes each token when due, and the push writes it, framed as
  an HTTP chunk, straight to the transport; pings and ``pending`` events are entries on the
  same wheel. No coroutine wakes per chunk: the handler awaits one future, resolved when the
  stream ends (final event written, generation ended, client gone). Backpressure (the transport
  paused writing) or a cancelled handler detaches the sink; on backpressure the handler goes on
  in the coroutine path below from where the sink stopped, with ``response.write``'s drain.
* faults, or backpressure: one coroutine loop per stream (``_stream_loop``) that waits on the
  generation's shared future, writes through ``response.write`` and runs the fault chain.
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
from .generation import TOKEN_EVENTS, Engine, Generation
from .ids import ping_stamp, utcnow
from .wheel import Entry
from .wire import SERVER_SOFTWARE, event_bytes, pending_event, ping_bytes

__all__ = ["SERVER_SOFTWARE", "SSE_HEADERS", "STREAM_FAULTS", "STREAM_LOG", "stream_events"]

#: Response headers of an event stream, in the reference's order.
SSE_HEADERS = (
    ("cache-control", "no-cache"),
    ("connection", "keep-alive"),
    ("x-accel-buffering", "no"),
    ("content-type", "text/event-stream; charset=utf-8"),
)
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


def _frame(chunk: bytes) -> bytes:
    """``chunk`` as one HTTP/1.1 chunk (what ``StreamResponse.write`` sends for it)."""
    return b"%x\r\n%b\r\n" % (len(chunk), chunk)


# A generated reply's token events, framed once: the paced path's per-token write is a lookup.
_FRAMED = {event: _frame(event) for event in TOKEN_EVENTS.values()}


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
        started: float | None = None,
    ) -> None:
        self.response = response
        self.request = request
        self.loop = asyncio.get_running_loop()
        if started is None:  # else: a stream the paced path began, whose log has its start
            started = self.loop.time()
            log.start(time.monotonic())  # the journal's clock, as the chunk times
        self.started = started
        self.log = log
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
    if not faults:
        if generation.final is not None:
            return await _write_finished(response, generation, generation.final, log)
        return await _stream_paced(request, response, generation, engine, config, log)
    writer = _Writer(response, request, faults, log)
    started = writer.started
    return await _stream_loop(
        writer, generation, engine, config,
        sent=0, next_ping=started + config.ping_interval,
        next_pending=started + config.pending_interval,
    )  # fmt: skip


async def _stream_loop(
    writer: _Writer,
    generation: Generation,
    engine: Engine,
    config: ServerConfig,
    *,
    sent: int,
    next_ping: float,
    next_pending: float,
) -> web.StreamResponse:
    """The coroutine path: wait for changes on the generation's future, write, run faults."""
    response, loop = writer.response, writer.loop
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


# The states of a paced stream: writing from the wheel, or ended (and how).
_OPEN, _EOF, _GONE, _SLOW, _DETACHED = range(5)


class _PacedStream:
    """A stream written from the pacing clock (see the module docstring); a generation's sink.

    ``sent`` counts the generation's chunks written; ``done`` resolves with the state the stream
    ended in: ``_EOF`` (write the terminating chunk), ``_GONE`` (the client went away) or
    ``_SLOW`` (the transport pushed back: the coroutine path takes over at ``sent``).
    """

    __slots__ = (
        "done", "engine", "extras", "generation", "log", "next_pending", "next_ping",
        "pending_entry", "pending_interval", "ping_entry", "ping_interval", "protocol", "sent",
        "state", "wheel",
    )  # fmt: skip

    def __init__(
        self,
        request: web.Request,
        generation: Generation,
        engine: Engine,
        config: ServerConfig,
        log: StreamLog,
        started: float,
    ) -> None:
        self.protocol = request.protocol
        self.generation = generation
        self.engine = engine
        self.wheel = engine.wheel()
        self.log = log
        self.sent = 0
        self.state = _OPEN
        self.done: asyncio.Future[int] = self.wheel.loop.create_future()
        self.ping_interval = config.ping_interval
        self.pending_interval = config.pending_interval
        self.next_ping = started + config.ping_interval
        self.next_pending = started + config.pending_interval
        self.ping_entry: Entry | None = None
        self.pending_entry: Entry | None = None
        #: Whether a chunk of the stream's own (a ping, a ``pending`` event) went out.
        self.extras = False

    def _end(self, state: int) -> None:
        self.state = state
        if not self.done.done():
            self.done.set_result(state)

    def _transport(self) -> asyncio.Transport | None:
        """The transport to write to now, or None after ending the stream (gone or paused)."""
        transport = self.protocol.transport
        if transport is None or transport.is_closing():
            self._end(_GONE)
            return None
        if self.protocol.writing_paused:
            self._end(_SLOW)
            return None
        return transport

    def on_change(self) -> None:
        """Write what the generation has that this stream has not sent (a tick's token, mostly)."""
        if self.state != _OPEN:
            return
        transport = self._transport()
        if transport is None:
            return
        generation = self.generation
        chunks = generation.chunks
        sent = self.sent
        final = generation.final
        add, clock = self.log.add, time.monotonic
        if final is None and sent + 1 == len(chunks) and not generation.ended:
            # the common case: a tick's one token
            chunk = chunks[sent]
            framed = _FRAMED.get(chunk)
            transport.write(framed if framed is not None else _frame(chunk))
            add(clock(), chunk)
            self.sent = sent + 1
            return
        # Several at once (the chunks made before the stream opened, the last token with the
        # final event): one write, each still its own HTTP chunk, each logged with its time.
        due = chunks[sent:]
        if final is not None:
            due.append(final)
        if due:
            transport.write(b"".join([_FRAMED.get(chunk) or _frame(chunk) for chunk in due]))
            for chunk in due:
                add(clock(), chunk)
        self.sent = len(chunks)
        if final is not None:
            generation.delivered = True
            self.log.final_written = True
            self._end(_EOF)
        elif generation.ended or self.engine.closing:
            self._end(_EOF)

    def _write_now(self, chunk: bytes) -> bool:
        """Write one chunk of the stream's own (a ping, a ``pending`` event); False if ended."""
        transport = self._transport()
        if transport is None:
            return False
        transport.write(_frame(chunk))
        self.log.add(time.monotonic(), chunk)
        self.extras = True
        return True

    @staticmethod
    def on_ping(stream: _PacedStream) -> None:
        """The wheel's call for the next ``: ping`` (static: no bound method per entry)."""
        if stream.state != _OPEN:
            return
        if not stream._write_now(ping_bytes(ping_stamp(utcnow()))):
            return
        now = stream.wheel.loop.time()
        while stream.next_ping <= now:
            stream.next_ping += stream.ping_interval
        stream.ping_entry = stream.wheel.schedule(stream.next_ping, _PacedStream.on_ping, stream)

    @staticmethod
    def on_pending(stream: _PacedStream) -> None:
        """The wheel's call for the next ``pending`` event, until the first token."""
        generation = stream.generation
        if stream.state != _OPEN or generation.chunks:
            return
        position, size = stream.engine.queue_position(generation)
        if not stream._write_now(pending_event(position, size)):
            return
        stream.next_pending = stream.wheel.loop.time() + stream.pending_interval
        stream.pending_entry = stream.wheel.schedule(
            stream.next_pending, _PacedStream.on_pending, stream
        )


async def _stream_paced(
    request: web.Request,
    response: web.StreamResponse,
    generation: Generation,
    engine: Engine,
    config: ServerConfig,
    log: StreamLog,
) -> web.StreamResponse:
    """A stream with no fault that is not finished yet: written from the wheel, see above."""
    started = engine.wheel().loop.time()
    log.start(time.monotonic())
    stream = _PacedStream(request, generation, engine, config, log, started)
    wheel = stream.wheel
    generation.sinks.append(stream)
    try:
        stream.on_change()  # the chunks made before the stream opened, from the first
        if stream.state == _OPEN:
            stream.ping_entry = wheel.schedule(stream.next_ping, _PacedStream.on_ping, stream)
            if not generation.chunks:
                stream.pending_entry = wheel.schedule(
                    stream.next_pending, _PacedStream.on_pending, stream
                )
        state = await stream.done
    finally:
        if stream.state == _OPEN:  # cancelled: no wheel entry may write any more
            stream.state = _DETACHED
        generation.sinks.remove(stream)
        # the next ping is seconds away: the wheel must not keep the ended stream until then
        if stream.ping_entry is not None:
            wheel.cancel(stream.ping_entry, stream)
        if stream.pending_entry is not None:
            wheel.cancel(stream.pending_entry, stream)
    if generation.generated and not stream.extras and state != _SLOW:
        # only the generation's token events and its final event went out: the journal knows
        # their kinds without reading each chunk again
        log.mark_generated()
    if state == _GONE:
        log.client_disconnected = True
        return response
    if state == _SLOW:
        writer = _Writer(response, request, (), log, started=started)
        return await _stream_loop(
            writer, generation, engine, config,
            sent=stream.sent, next_ping=stream.next_ping, next_pending=stream.next_pending,
        )  # fmt: skip
    try:
        await response.write_eof()
    except ConnectionError:
        log.client_disconnected = True
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
