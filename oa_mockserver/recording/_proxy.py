"""The recording proxy: forward to a real upstream, stream answers through, write a cassette.

``oa-mockserver record --upstream URL --cassettes DIR [--name NAME]`` (or :class:`RecordingProxy`)
forwards every request, whatever the dialect, to ``URL`` with its method, path, query, headers
(hop-by-hop ones dropped) and body; never the admin API (``/__admin/...``: 403, not recorded).
Streamed answers (``text/event-stream`` or chunked) go to the client HTTP chunk by HTTP chunk as
they arrive, never buffered whole, and each chunk is kept with its offset after the upstream's
headers. A stream that breaks (the upstream disconnects, or the
client goes away) is kept as far as it got, its index listed under ``metadata.disconnected``, and
the client's connection is dropped too, as the upstream's was.

One cassette per proxy session: ``DIR/NAME.yaml``, rewritten atomically after every exchange
(secrets redacted first, by :class:`Redactor`), so stopping the proxy at any moment leaves a
whole file. Episodes are numbered by chat creation, as everywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

from .._control.admin_access import is_admin_path
from .._exceptions import ConfigError
from .._serving import ServedApp
from ._cassette import (
    UNRECORDED_HEADERS,
    Cassette,
    Chunk,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    is_streamed,
    recorded_cassette,
    recording_base,
    save_cassette,
)
from ._redact import Redactor, redact_interaction

__all__ = [
    "CassetteRecorder",
    "RecordingProxy",
    "create_proxy_app",
    "default_cassette_name",
]

# Hop-by-hop headers (RFC 9110 7.6.1) and those aiohttp recomputes for the new message.


class CassetteRecorder:
    """The cassette being recorded: interactions in order, saved atomically after each one."""

    def __init__(
        self, path: Path, redactor: Redactor | None = None, base: Cassette | None = None
    ) -> None:
        self.path = path
        self.redactor = redactor if redactor is not None else Redactor.default()
        # base: the cassette recorded before (record mode new_episodes), kept whole, first
        self.interactions: list[Interaction] = list(base.interactions) if base else []
        broken = str(base.metadata.get("disconnected", "")) if base else ""
        self.disconnected: list[int] = [int(i) for i in broken.split(",") if i.isdigit()]

    def add(self, request: RecordedRequest, response: RecordedResponse, *, broken: bool) -> None:
        """Redact and append one exchange, then save the whole cassette."""
        if broken:
            self.disconnected.append(len(self.interactions))
        self.interactions.append(redact_interaction(self.redactor, request, response))
        self.save()

    def cassette(self) -> Cassette:
        """The cassette recorded so far."""
        metadata = {"recorded_with": "oa-mockserver record"}
        if self.disconnected:
            metadata["disconnected"] = ",".join(str(i) for i in self.disconnected)
        return recorded_cassette(self.interactions, metadata)

    def save(self) -> None:
        """Write the cassette atomically."""
        save_cassette(self.path, self.cassette())


_RECORDER = web.AppKey("oa_mockserver.recorder", CassetteRecorder)
_SESSION = web.AppKey("oa_mockserver.proxy_session", aiohttp.ClientSession)
_UPSTREAM = web.AppKey("oa_mockserver.upstream", str)


def _forwardable(headers: Iterable[tuple[str, str]]) -> CIMultiDict[str]:
    result: CIMultiDict[str] = CIMultiDict()
    for name, value in headers:
        if name.lower() not in UNRECORDED_HEADERS and name.lower() != "accept-encoding":
            result.add(name, value)
    # Redaction needs the bytes in clear: a gzipped body would keep its tokens out of sight of
    # every rule (and of lint). Asking for identity also keeps the recorded chunks readable.
    result["Accept-Encoding"] = "identity"
    return result


async def _stream_through(
    request: web.Request, upstream: aiohttp.ClientResponse, headers: CIMultiDict[str]
) -> tuple[web.StreamResponse, list[Chunk], bool]:
    loop = asyncio.get_running_loop()
    started = loop.time()
    response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
    response.headers.extend(headers)
    response.enable_chunked_encoding()
    await response.prepare(request)
    chunks: list[Chunk] = []
    pending = bytearray()
    broken = False

    async def send() -> None:
        data = bytes(pending)
        pending.clear()
        chunks.append(Chunk(loop.time() - started, data))
        await response.write(data)

    try:
        async for data, end_of_http_chunk in upstream.content.iter_chunks():
            pending += data
            # One upstream HTTP chunk may arrive in several reads: pass it on whole.
            if end_of_http_chunk and pending:
                await send()
        if pending:
            await send()
    except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError, ConnectionError):
        broken = True
        if pending:
            chunks.append(Chunk(loop.time() - started, bytes(pending)))
    if broken:
        if request.transport is not None:
            request.transport.abort()  # the client sees the disconnect the upstream made
    else:
        # the client may have left after the last chunk (a client stops reading at the final
        # event): the upstream's exchange is whole, and is recorded as such
        with contextlib.suppress(ConnectionError):
            await response.write_eof()
    return response, chunks, broken


async def _forward(request: web.Request) -> web.StreamResponse:
    if is_admin_path(request.path):
        # the upstream's admin API (a mock's journal, faults, reset) is not the proxy's to
        # lend: whoever reaches the proxy would reach it, and its answers would be recorded
        detail = (
            "the recording proxy does not forward the admin API (/__admin/...); "
            f"call it on the upstream directly: {request.app[_UPSTREAM]}/__admin/..."
        )
        return web.json_response({"detail": detail}, status=403)
    recorder = request.app[_RECORDER]
    session = request.app[_SESSION]
    upstream_url = request.app[_UPSTREAM]
    body = await request.read()
    url = upstream_url + request.path_qs
    sent_headers = _forwardable(request.headers.items())
    recorded_request = RecordedRequest(
        method=request.method,
        uri=url,
        body=body if body else None,
        headers=tuple((str(k), v) for k, v in sent_headers.items()),
    )
    try:
        upstream = await session.request(
            request.method,
            url,
            data=body if body else None,
            headers=sent_headers,
            allow_redirects=False,
        )
    except aiohttp.ClientError as error:
        detail = (
            "the recording proxy could not reach its upstream "
            f"{Redactor.default().uri(upstream_url)} "
            f"({type(error).__name__}); check --upstream and that the server is running"
        )
        return web.json_response({"detail": detail}, status=502)
    async with upstream:
        headers = _forwardable(upstream.headers.items())
        if is_streamed(upstream.headers):
            response, chunks, broken = await _stream_through(request, upstream, headers)
            body_bytes = b"".join(c.data for c in chunks)
        else:
            broken = False
            chunks = []
            body_bytes = await upstream.read()
            response = web.Response(
                status=upstream.status, reason=upstream.reason, body=body_bytes, headers=headers
            )
        recorder.add(
            recorded_request,
            RecordedResponse(
                status=upstream.status,
                reason=upstream.reason or "",
                headers=tuple((str(k), v) for k, v in headers.items()),
                body=body_bytes,
                chunks=tuple(chunks),
            ),
            broken=broken,
        )
    return response


def _check_upstream(upstream: str) -> str:
    if not upstream.startswith(("http://", "https://")):
        raise ConfigError(
            f"upstream must be an http(s) URL such as http://127.0.0.1:8080, got {upstream!r}"
        )
    return upstream.rstrip("/")


def create_proxy_app(
    upstream: str,
    cassette_path: str | Path,
    redactor: Redactor | None = None,
    *,
    record_mode: str = "once",
) -> web.Application:
    """An aiohttp app that forwards to ``upstream`` and records into ``cassette_path``.

    ``record_mode`` says what happens to a cassette already there, as vcrpy's
    (:func:`recording_base`): ``once`` refuses it, ``new_episodes`` adds to it, ``all``
    replaces it.

    Raises:
        ConfigError: ``upstream`` is not an http(s) URL; the cassette exists and the mode is
            ``once``; the mode is unknown.
        CassetteError: ``new_episodes`` and the existing file is not a readable cassette.
    """
    path = Path(cassette_path)
    base = recording_base(path, record_mode)
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[_UPSTREAM] = _check_upstream(upstream)
    app[_RECORDER] = CassetteRecorder(path, redactor, base)

    async def session_context(app: web.Application) -> AsyncIterator[None]:
        # no decompression: the client must get the upstream's bytes; no cookie jar: the
        # client's own Cookie headers are forwarded as they are
        session = aiohttp.ClientSession(
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=30),
        )
        app[_SESSION] = session
        yield
        await session.close()

    app.cleanup_ctx.append(session_context)
    app.router.add_route("*", "/{tail:.*}", _forward)
    return app


def default_cassette_name() -> str:
    """``session-YYYYmmdd-HHMMSS`` (local time), the default ``--name``."""
    return time.strftime("session-%Y%m%d-%H%M%S")


class RecordingProxy(ServedApp):
    """A running recording proxy on 127.0.0.1 (a free port by default), as a context manager.

    ``async with RecordingProxy(upstream, "cassettes/x.yaml") as proxy: proxy.url``
    """

    def __init__(
        self,
        upstream: str,
        cassette_path: str | Path,
        *,
        redactor: Redactor | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        record_mode: str = "once",
    ) -> None:
        self.app = create_proxy_app(upstream, cassette_path, redactor, record_mode=record_mode)
        self.host = host
        self.port = port
        self.url = ""

    @property
    def recorder(self) -> CassetteRecorder:
        """The cassette being written."""
        return self.app[_RECORDER]

    async def start(self) -> None:
        """Bind and start serving."""
        self.url = await self._serve(self.app, self.host, self.port)

    async def close(self) -> None:
        """Stop serving (the cassette is already saved); the same as :meth:`stop`."""
        await self.stop()
