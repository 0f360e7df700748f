"""vcrpy configured for our cassettes: streamed responses recorded and replayed chunk by chunk.

vcrpy's aiohttp stub has limits that matter for a streaming client (kevin1024/vcrpy#927, #502):

1. On replay it builds ``response.content`` from the whole body at once, so ``readany()`` returns
   the whole stream in one piece and chunk boundaries are never exercised.
2. On record it calls ``await response.read()``: the chunk boundaries and their timing are lost.
3. Its persister writes in place (a crash leaves half a file) and turns a broken file into an
   empty cassette; it records secrets as they are.
4. Its default matchers compare host and port, so a cassette recorded against one loopback port
   never matches the next run's port, and they ignore the body, so two prompts to the same route
   are told apart only by their order.

What this module does about each, through vcrpy's public hooks (``custom_patches``, a persister,
``before_record_*``, ``register_matcher``):

1. ``build_response`` is wrapped: when the recorded response has ``chunks``, its ``content`` is a
   :class:`ChunkedReplayStream` that hands the chunks out one per ``readany()``/``iter_any()``
   (and marks them as HTTP chunks for ``iter_chunks()``), instantly or with the recorded timing.
2. ``record_response`` is replaced: a streamed response (``text/event-stream`` or chunked
   transfer-encoding) is read chunk by chunk with ``iter_chunks()``, each with its offset after the
   headers; the caller then reads those same chunks. The stream is read to its end before the
   caller sees it (a recording limit: an endless stream cannot be recorded in-process; use the
   recording proxy).
3. :class:`CassettePersister` loads through :func:`load_cassette` (``CassetteError`` with file and
   line) and saves atomically; redaction runs at record time (:class:`Redactor`).
4. The default ``match_on`` is method, path, query and the JSON body compared as JSON.

The patches exist only inside a cassette made by :func:`oa_vcr`; plain vcrpy is left untouched.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, cast

import vcr
from aiohttp import ClientConnectionError, ClientResponse, streams
from aiohttp.base_protocol import BaseProtocol
from vcr.persisters.filesystem import CassetteNotFoundError as _VcrNotFound
from vcr.request import Request as VcrRequest
from vcr.stubs import aiohttp_stubs

from .._exceptions import CassetteNotFoundError, ConfigError
from ._cassette import (
    Chunk,
    Interaction,
    RecordedResponse,
    deserialize_request,
    deserialize_response,
    is_streamed,
    load_cassette,
    recorded_cassette,
    save_cassette,
    serialize_request,
    serialize_response,
)
from ._rechunk import rechunk
from ._redact import Redactor, redact_response
from ._timing import Timing

__all__ = [
    "DEFAULT_MATCH_ON",
    "RECORD_MODES",
    "CassettePersister",
    "ChunkedReplayStream",
    "oa_vcr",
    "use_cassette",
]

# vcrpy 9 (Python >= 3.11) takes cassette metadata as a third element from a persister; vcrpy 8,
# what Python 3.10 gets, unpacks exactly two. The mock server's replay reads metadata itself.
_VCR_TAKES_METADATA = int(vcr.__version__.split(".")[0]) >= 9

RECORD_MODES = ("once", "new_episodes", "all", "none")
DEFAULT_MATCH_ON = ("method", "path", "query", "oa_json_body")

_ORIGINAL_BUILD_RESPONSE = aiohttp_stubs.build_response


class _NoConnection:
    """Stands in for the transport protocol a StreamReader expects; nothing to pause or resume."""

    _reading_paused = False
    # True so that a reader waiting for a timed chunk waits instead of failing.
    connected = True

    def pause_reading(self) -> None:
        """Nothing to pause: the data is in memory."""

    def resume_reading(self, resume_parser: bool = True) -> None:
        """Nothing to resume: the data is in memory."""


class ChunkedReplayStream(streams.StreamReader):
    """aiohttp's StreamReader fed with recorded chunks, handing them out one at a time.

    ``readany()`` (and so ``iter_any()``) returns at most one recorded chunk per call, and each
    chunk is an HTTP chunk for ``readchunk()``/``iter_chunks()``; ``readline()``, ``read(n)`` and
    the rest behave as aiohttp's own. With ``delays`` the chunks arrive over time (a feeder task
    sleeps before each); without, they are all there at once.
    """

    def __init__(self, chunks: Sequence[bytes], delays: Sequence[float] | None = None) -> None:
        total = sum(len(c) for c in chunks)
        # aiohttp refuses lines longer than the limit; size it so no recorded line is refused.
        super().__init__(
            cast(BaseProtocol, _NoConnection()),
            max(total, 2**16),
            loop=asyncio.get_running_loop(),
        )
        self.begin_http_chunk_receiving()
        self._feeder: asyncio.Task[None] | None = None
        if delays is None or not any(delays):
            for chunk in chunks:
                self._feed_one(chunk)
            self.feed_eof()
        else:
            self._feeder = asyncio.get_running_loop().create_task(
                self._feed(list(chunks), list(delays))
            )

    def _feed_one(self, chunk: bytes) -> None:
        if chunk:
            self.feed_data(chunk)
            self.end_http_chunk_receiving()

    async def _feed(self, chunks: list[bytes], delays: list[float]) -> None:
        try:
            for chunk, delay in zip(chunks, delays, strict=False):
                if delay > 0:
                    await asyncio.sleep(delay)
                self._feed_one(chunk)
        finally:
            self.feed_eof()

    async def readany(self) -> bytes:
        """The next recorded chunk (or what is left of it), b"" at the end."""
        if self._exception is not None:
            raise self._exception
        while not self._buffer and not self._eof:
            await self._wait("readany")
        if not self._buffer:
            return b""
        return self._read_nowait_chunk(-1)


# --- record ---------------------------------------------------------------------------------


async def _read_chunks(response: ClientResponse) -> list[Chunk]:
    loop = asyncio.get_running_loop()
    start = loop.time()
    chunks: list[Chunk] = []
    pending = bytearray()
    async for data, end_of_http_chunk in response.content.iter_chunks():
        pending += data
        # A large HTTP chunk can arrive in several reads: keep it whole, timed at its last byte.
        if end_of_http_chunk and pending:
            chunks.append(Chunk(loop.time() - start, bytes(pending)))
            pending.clear()
    if pending:
        chunks.append(Chunk(loop.time() - start, bytes(pending)))
    return chunks


async def _record_response(cassette: Any, vcr_request: Any, response: ClientResponse) -> None:
    """vcrpy's ``record_response``, keeping each chunk of a streamed body with its offset."""
    chunks: list[Chunk] = []
    try:
        if is_streamed(response.headers):
            chunks = await _read_chunks(response)
            body = b"".join(c.data for c in chunks)
            response._body = body
        else:
            body = await response.read()
    except ClientConnectionError:
        body = b""
    else:
        if body:
            # The caller reads the same chunks the server sent (all at once: already received).
            response.content = ChunkedReplayStream([c.data for c in chunks] or [body])
    recorded = RecordedResponse(
        status=response.status,
        reason=response.reason or "",
        headers=tuple(response.headers.items()),
        body=body,
        chunks=tuple(chunks),
    )
    cassette.append(vcr_request, serialize_response(recorded))


# --- replay ---------------------------------------------------------------------------------


def _make_build_response(timing: Timing, rechunk_seed: int | None) -> Callable[..., Any]:
    def build_response(vcr_request: Any, vcr_response: dict[str, Any], history: Any) -> Any:
        response = _ORIGINAL_BUILD_RESPONSE(vcr_request, vcr_response, history)
        if not vcr_response.get("chunks"):
            return response
        recorded = deserialize_response(vcr_response).chunks
        chunks = [c.data for c in recorded]
        offsets = [c.offset_s for c in recorded]
        if rechunk_seed is not None:
            chunks = rechunk(b"".join(chunks), rechunk_seed, pieces=max(2, len(chunks)))
            offsets = [0.0] * len(chunks)
        delays = None if timing.is_instant else timing.delays(offsets)
        response.content = ChunkedReplayStream(chunks, delays)
        return response

    return build_response


# --- hooks and matchers ---------------------------------------------------------------------


def _normalise_body(body: Any) -> Any:
    # aiohttp's ``json=`` reaches vcrpy as a dict: store the bytes a server would have seen.
    if isinstance(body, dict | list):
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return body


def _make_request_hook(redactor: Redactor) -> Callable[[VcrRequest], VcrRequest]:
    def before_record_request(request: VcrRequest) -> VcrRequest:
        headers = {name: request.headers[name] for name in request.headers}
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
        body = _normalise_body(request.body)
        if isinstance(body, bytes) and body:
            body = redactor.body(body, content_type)
        return VcrRequest(
            request.method, redactor.uri(request.uri), body, redactor.headers_dict(headers)
        )

    return before_record_request


def _make_response_hook(redactor: Redactor) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def before_record_response(response: dict[str, Any]) -> dict[str, Any]:
        return serialize_response(redact_response(redactor, deserialize_response(response)))

    return before_record_response


def oa_json_body(r1: VcrRequest, r2: VcrRequest) -> None:
    """Bodies equal as JSON (spacing, key order ignored) or as bytes; else AssertionError."""
    a, b = _normalise_body(r1.body), _normalise_body(r2.body)
    if a == b:
        return
    try:
        if json.loads(a or b"null") == json.loads(b or b"null"):
            return
    except (ValueError, TypeError):
        pass
    raise AssertionError(f"body {a!r} != {b!r}")


# --- persistence ----------------------------------------------------------------------------


def _to_vcr(interaction: Interaction) -> tuple[VcrRequest, dict[str, Any]]:
    raw = serialize_request(interaction.request)
    request = VcrRequest(raw["method"], raw["uri"], raw["body"], raw["headers"])
    return request, serialize_response(interaction.response)


def _from_vcr(request: VcrRequest, response: dict[str, Any]) -> Interaction:
    body = _normalise_body(request.body)
    raw = {
        "method": request.method,
        "uri": request.uri,
        # a body vcrpy kept as some other object (a form, a file) is recorded as none, as before
        "body": body if isinstance(body, bytes | str) else None,
        "headers": dict(request.headers.items()),
    }
    return Interaction(request=deserialize_request(raw), response=deserialize_response(response))


class CassettePersister:
    """A vcrpy persister over :func:`load_cassette`/:func:`save_cassette` (typed, atomic, loud)."""

    @staticmethod
    def load_cassette(cassette_path: Any, serializer: Any) -> tuple[Any, ...]:
        """Requests, responses (and metadata) for vcrpy; a missing file is a new cassette."""
        try:
            cassette = load_cassette(cassette_path)
        except CassetteNotFoundError:
            raise _VcrNotFound() from None
        pairs = [_to_vcr(i) for i in cassette.interactions]
        requests = [p[0] for p in pairs]
        responses = [p[1] for p in pairs]
        if cassette.metadata and _VCR_TAKES_METADATA:
            return requests, responses, dict(cassette.metadata)
        return requests, responses

    @staticmethod
    def save_cassette(cassette_path: Any, cassette_dict: dict[str, Any], serializer: Any) -> None:
        """Save atomically, numbering the episodes."""
        interactions = [
            _from_vcr(req, resp)
            for req, resp in zip(cassette_dict["requests"], cassette_dict["responses"], strict=True)
        ]
        metadata = dict(cassette_dict.get("metadata") or {})
        save_cassette(cassette_path, recorded_cassette(interactions, metadata))


# --- the configured VCR ---------------------------------------------------------------------


def oa_vcr(
    *,
    record_mode: str = "once",
    redactor: Redactor | None = None,
    timing: Timing | None = None,
    rechunk_seed: int | None = None,
    match_on: Sequence[str] = DEFAULT_MATCH_ON,
    **vcr_options: Any,
) -> vcr.VCR:
    """A ``vcr.VCR`` configured for oa-toolkit cassettes.

    Args:
        record_mode: ``once``, ``new_episodes``, ``all`` or ``none`` (vcrpy's modes).
        redactor: record-time redaction rules (default :meth:`Redactor.default`).
        timing: replay pace of streamed chunks (default instant).
        rechunk_seed: when set, streamed bodies are replayed cut at new seeded places.
        match_on: vcrpy matcher names; ``oa_json_body`` compares bodies as JSON.
        vcr_options: passed to ``vcr.VCR`` unchanged.

    Raises:
        ConfigError: an unknown record mode.
    """
    if record_mode not in RECORD_MODES:
        raise ConfigError(f"record_mode {record_mode!r} is not one of {', '.join(RECORD_MODES)}")
    rules = redactor if redactor is not None else Redactor.default()
    patches = (
        (aiohttp_stubs, "record_response", _record_response),
        (aiohttp_stubs, "build_response", _make_build_response(timing or Timing(), rechunk_seed)),
    )
    configured = vcr.VCR(
        record_mode=record_mode,
        match_on=tuple(match_on),
        before_record_request=_make_request_hook(rules),
        before_record_response=_make_response_hook(rules),
        custom_patches=patches,
        decode_compressed_response=False,
        **vcr_options,
    )
    configured.register_matcher("oa_json_body", oa_json_body)
    configured.register_persister(CassettePersister)
    return configured


def use_cassette(
    path: str | os.PathLike[str], *, record_mode: str = "none", **options: Any
) -> AbstractContextManager[Any]:
    """``oa_vcr(**options).use_cassette(path)``; replay only (``none``) unless told otherwise.

    Raises:
        CassetteNotFoundError: ``record_mode`` is ``none`` and the file does not exist.
        CassetteError: the file is broken (raised on entering the context).
    """
    name = os.fspath(path)
    if record_mode == "none" and not os.path.exists(name):
        raise CassetteNotFoundError(name)
    return cast(
        AbstractContextManager[Any],
        oa_vcr(record_mode=record_mode, **options).use_cassette(name),
    )
