"""_reading.within: a deadline that never swallows the caller's cancel (asyncio.wait_for did on
Python 3.10 and 3.11 when the inner awaitable completed as the cancel arrived)."""

from __future__ import annotations

import asyncio

import pytest

from oa_provider._reading import within


async def answer() -> str:
    return "answer"


@pytest.mark.asyncio
async def test_a_cancel_that_arrives_as_the_request_completes_is_not_swallowed() -> None:
    discarded: list[str] = []
    task = asyncio.ensure_future(within(answer(), 10.0, discard=discarded.append))
    await asyncio.sleep(0)  # the task waits; the request's child task is ready to complete
    task.cancel()  # lands in the same loop iteration as the child's result
    with pytest.raises(asyncio.CancelledError):
        await task
    assert discarded == ["answer"], "a result that came too late is handed to discard"


@pytest.mark.asyncio
async def test_the_result_when_in_time() -> None:
    assert await within(answer(), 10.0) == "answer"


@pytest.mark.asyncio
async def test_past_the_deadline_the_request_is_cancelled_and_timeout_raised() -> None:
    ended = asyncio.Event()

    async def hang() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            ended.set()

    with pytest.raises(asyncio.TimeoutError):
        await within(hang(), 0.01)
    assert ended.is_set(), "the request has ended when within() returns"


@pytest.mark.asyncio
async def test_the_requests_own_error_is_raised() -> None:
    async def fail() -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        await within(fail(), 10.0)
