"""Reading from the network within deadlines and limits, without ever swallowing a cancel.

Why not ``asyncio.wait_for``: on Python 3.10 and 3.11 it returns the inner result when the
caller's cancel arrives just as the inner awaitable completes (bpo-42130, fixed in 3.12 by
rewriting it on ``asyncio.timeout``). Around a read of a stream whose bytes arrive back to back,
that is nearly every cancel: the generator ran on to the end of the stream. Nothing here cancels
the caller's task for its own purposes, so there is no cancel of ours to tell apart from the
caller's:

* :func:`read_idle` bounds one read of an event stream by failing the *reader* at the deadline
  (``StreamReader.set_exception``), so the read raises :class:`IdleExpired`;
* :func:`within` runs a one-shot request in a child task and waits for it with
  ``asyncio.wait``, which never swallows a cancel: the child is cancelled and awaited;
* :func:`read_body` reads a REST answer incrementally and refuses it at the size limit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import aiohttp

from ._exceptions import LimitExceededError

__all__ = ["IdleExpired", "read_body", "read_idle", "within"]

_T = TypeVar("_T")


class IdleExpired(Exception):
    """Internal: a stream read's deadline passed (the client turns it into StreamTimeoutError)."""


async def read_idle(reader: aiohttp.StreamReader, deadline: float | None) -> bytes:
    """The next bytes of ``reader`` (``b""`` at its end), waiting until ``deadline`` at most.

    ``deadline`` is a time of the running loop's clock, or None for no deadline.

    Raises:
        IdleExpired: nothing arrived before the deadline. The reader is failed for good: a
            chunk that arrives in the very loop iteration of the deadline counts as late.
    """
    chunk = reader.read_nowait()
    if chunk or reader.is_eof():
        return chunk  # no wait: no timer (the common case while tokens flow)
    if deadline is None:
        return await reader.readany()
    timer = asyncio.get_running_loop().call_at(deadline, reader.set_exception, IdleExpired())
    try:
        return await reader.readany()
    finally:
        timer.cancel()


async def within(
    request: Coroutine[Any, Any, _T],
    seconds: float,
    *,
    discard: Callable[[_T], object] | None = None,
) -> _T:
    """Await ``request`` for ``seconds`` at most.

    Args:
        request: the coroutine to run (in a child task).
        seconds: the time limit.
        discard: called with a result that arrived too late to be used (when the caller was
            cancelled as it completed), e.g. to close a response.

    Raises:
        asyncio.TimeoutError: the limit passed (the child was cancelled and has ended).
        asyncio.CancelledError: the caller was cancelled (the child too, and has ended).
    """
    child = asyncio.ensure_future(request)
    try:
        await asyncio.wait((child,), timeout=max(0.0, seconds))
    except asyncio.CancelledError:
        await _stop(child, discard)
        raise
    if not child.done():
        await _stop(child, discard)
        raise asyncio.TimeoutError
    return child.result()


async def _stop(child: asyncio.Future[_T], discard: Callable[[_T], object] | None) -> None:
    child.cancel()
    # asyncio.wait, not await: the child's own error is not ours to raise here.
    await asyncio.wait((child,))
    if not child.cancelled() and child.exception() is None and discard is not None:
        discard(child.result())


async def read_body(response: aiohttp.ClientResponse, limit: int | None, step: str) -> bytes:
    """The whole body of ``response``, refused once it passes ``limit`` bytes (None: no limit).

    Raises:
        LimitExceededError: the body (as announced, or as read so far) is over the limit.
    """
    if limit is None:
        return await response.read()
    announced = response.content_length
    if announced is not None and announced > limit:
        raise _too_large(step, limit, f"announced {announced} bytes")
    chunks: list[bytes] = []
    size = 0
    read = response.content.readany
    while chunk := await read():
        size += len(chunk)
        if size > limit:
            raise _too_large(step, limit, f"sent more than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(step: str, limit: int, what: str) -> LimitExceededError:
    return LimitExceededError(
        f"{step} answered a body over max_response_size={limit} bytes ({what}): the server is "
        "broken or hostile; if it is trusted, raise Limits(max_response_size=...)",
        limit="max_response_size",
        maximum=limit,
    )
