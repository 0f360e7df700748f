"""The SSE writer's hot path: what it writes, and what it logs of it for the journal."""

from __future__ import annotations

import asyncio
import time
from typing import Any, cast

import pytest
from aiohttp import web

from oa_mockserver._control.journal import StreamLog
from oa_mockserver._server.stream import _write_finished, _Writer
from oa_mockserver._server.wire import token_event


class _Response:
    """Accepts ``fail_after`` writes, then the client is gone."""

    def __init__(self, fail_after: int) -> None:
        self.fail_after = fail_after
        self.sent: list[bytes] = []
        self.eof = False

    async def write(self, data: bytes) -> None:
        if len(self.sent) == self.fail_after:
            raise ConnectionResetError("gone")
        self.sent.append(data)

    async def write_eof(self) -> None:
        self.eof = True


def _writer(response: _Response) -> _Writer:
    return _Writer(cast(web.StreamResponse, response), cast(web.Request, None), (), StreamLog())


@pytest.mark.asyncio
async def test_a_burst_cut_short_logs_exactly_what_went_out() -> None:
    response = _Response(fail_after=3)
    writer = _writer(response)
    chunks = [token_event(f"t{i} ") for i in range(6)]
    with pytest.raises(ConnectionResetError):
        await writer.burst(chunks, 0)
    assert writer.log.data == response.sent == chunks[:3]
    assert len(writer.log.times) == 3


class _SlowResponse(_Response):
    """Makes the writer wait (as for a full socket) on the writes numbered in ``waits``."""

    def __init__(self, fail_after: int, waits: set[int]) -> None:
        super().__init__(fail_after)
        self.waits = waits

    async def write(self, data: bytes) -> None:
        if len(self.sent) in self.waits:
            await asyncio.sleep(0.002)
        await super().write(data)


@pytest.mark.asyncio
@pytest.mark.parametrize("fail_after", [4, 100])
@pytest.mark.parametrize("waits", [set(), {0}, {2}, {2, 4}])
async def test_each_chunk_of_a_burst_is_timed_when_its_write_returns(
    fail_after: int, waits: set[int]
) -> None:
    response = _SlowResponse(fail_after, waits)
    writer = _writer(response)
    writer.log.add(1.0, token_event("before "))  # an earlier burst's chunk stays as it was
    chunks = [token_event(f"t{i} ") for i in range(6)]
    before = time.monotonic()
    try:
        await writer.burst(chunks, 0)
    except ConnectionResetError:
        assert fail_after < len(chunks)
    sent = min(fail_after, len(chunks))
    times = writer.log.times
    assert writer.log.data[1:] == response.sent == chunks[:sent]
    assert len(times) == 1 + sent
    assert times[0] == 1.0
    burst = times[1:]
    assert burst == sorted(burst)
    for index in waits:
        if index < sent:  # the write that waited is timed after its wait, not before
            assert burst[index] >= before + 0.002


@pytest.mark.asyncio
@pytest.mark.parametrize("fail_after", [0, 4, 5, 100])
@pytest.mark.parametrize("generated", [True, False])
async def test_a_finished_reply_is_written_whole_or_logged_as_cut(
    fail_after: int, generated: bool
) -> None:
    class _Generation:
        def __init__(self) -> None:
            self.chunks = [token_event(f"t{i} ") for i in range(5)]
            self.final = b'data: {"event_type": "message", "message": {}}\r\n\r\n'
            self.delivered = False
            self.generated = generated  # True: the log is told the kinds, not made to look

    generation = _Generation()
    response = _Response(fail_after)
    log = StreamLog()
    await _write_finished(
        cast(web.StreamResponse, response), cast(Any, generation), generation.final, log
    )
    complete = fail_after > len(generation.chunks)
    assert generation.delivered is log.final_written is complete
    assert response.eof is complete
    assert log.client_disconnected is not complete
    assert response.sent == [*generation.chunks, generation.final][:fail_after] == log.data
    assert len(log.times) == len(log.data)
    kinds = ["token"] * min(fail_after, 5) + ["message"] * complete
    assert [chunk.kind for chunk in log.chunks] == kinds
    assert [chunk.kind for chunk in StreamLog.thaw(log.freeze()).chunks] == kinds
    assert [chunk.size for chunk in log.chunks] == [len(chunk) for chunk in log.data]
