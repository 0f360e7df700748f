"""The SSE writer: one message's events over one chunked HTTP response.

As sse-starlette does on the reference server: each event and each ping is written as its own
HTTP chunk; pings (``: ping - <UTC time>``) come every ``ping_interval`` counted from the start of
the response, whatever else is sent; ``pending`` events come every ``pending_interval`` until the
first token; after the last token comes the ``message`` event, then the terminating chunk. A stream
ends early, without a final event, when the chat is deleted or the server shuts down.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from ._config import ServerConfig
from ._generation import Engine, Generation
from ._ids import ping_stamp, utcnow
from ._wire import pending_event, ping_bytes

__all__ = ["SSE_HEADERS", "stream_events"]

#: Response headers of an event stream, in the reference's order.
SSE_HEADERS = (
    ("cache-control", "no-cache"),
    ("connection", "keep-alive"),
    ("x-accel-buffering", "no"),
    ("content-type", "text/event-stream; charset=utf-8"),
)


async def stream_events(
    request: web.Request, generation: Generation, engine: Engine, config: ServerConfig
) -> web.StreamResponse:
    """Stream ``generation`` to the client until its final event (or cancellation)."""
    response = web.StreamResponse(status=200)
    for name, value in SSE_HEADERS:
        response.headers[name] = value
    response.enable_chunked_encoding()
    await response.prepare(request)
    loop = asyncio.get_running_loop()
    started = loop.time()
    next_ping = started + config.ping_interval
    next_pending = started + config.pending_interval
    sent = 0
    try:
        while True:
            chunks = generation.chunks
            while sent < len(chunks):
                await response.write(chunks[sent])
                sent += 1
            if generation.final is not None:
                await response.write(generation.final)
                generation.delivered = True
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
                await response.write(ping_bytes(ping_stamp(utcnow())))
                while next_ping <= now:
                    next_ping += config.ping_interval
            if not generation.chunks and now >= next_pending:
                position, size = engine.queue_position(generation)
                await response.write(pending_event(position, size))
                next_pending = now + config.pending_interval
        await response.write_eof()
    except ConnectionResetError:
        # the client went away mid-stream: nothing left to tell it
        pass
    return response
