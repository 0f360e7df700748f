"""ChunkedReplayStream alone: aiohttp's StreamReader API, one recorded chunk per readany()."""

from __future__ import annotations

import pytest

from oa_mockserver import ConfigError
from oa_mockserver.recording import oa_vcr
from oa_mockserver.recording._vcr import ChunkedReplayStream

CHUNKS = [b"data: a\r", b"\n\r\ndata: \xd0", b"\xb1\r\n\r\n"]


@pytest.mark.asyncio
async def test_readany_hands_out_one_chunk_at_a_time() -> None:
    stream = ChunkedReplayStream(CHUNKS)
    assert [piece async for piece in stream.iter_any()] == CHUNKS
    assert await stream.readany() == b""


@pytest.mark.asyncio
async def test_readline_and_read_see_one_continuous_body() -> None:
    stream = ChunkedReplayStream(CHUNKS)
    assert await stream.readline() == b"data: a\r\n"
    assert await stream.readany() == b"\r\ndata: \xd0"  # the rest of the second chunk
    assert await stream.read() == b"\xb1\r\n\r\n"


@pytest.mark.asyncio
async def test_timed_chunks_arrive_in_order() -> None:
    stream = ChunkedReplayStream(CHUNKS, delays=[0.0, 0.001, 0.001])
    assert b"".join([piece async for piece in stream.iter_any()]) == b"".join(CHUNKS)


@pytest.mark.asyncio
async def test_iter_chunks_marks_http_chunk_ends() -> None:
    stream = ChunkedReplayStream(CHUNKS)
    assert [item async for item in stream.iter_chunks()] == [(c, True) for c in CHUNKS]


def test_unknown_record_mode_is_refused() -> None:
    with pytest.raises(ConfigError, match="once, new_episodes, all, none"):
        oa_vcr(record_mode="sometimes")
