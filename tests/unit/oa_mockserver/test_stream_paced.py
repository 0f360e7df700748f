"""The paced path of the SSE writer: chunks written from the wheel, and its ways out.

The stream runs against a fake protocol and transport (to pause writing, or close, at will) and
a real :class:`Generation` and :class:`Engine`; what reaches the client is the transport's bytes
(de-framed) followed by the response's writes (the coroutine path after backpressure).
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest
from aiohttp import web
from hypothesis import given, settings
from hypothesis import strategies as st

from oa_mockserver import ServerConfig
from oa_mockserver._control.journal import StreamLog, chunk_kind
from oa_mockserver._server.generation import Engine, Generation
from oa_mockserver._server.state import ChatStore, Message
from oa_mockserver._server.stream import _PacedStream, _stream_loop, _stream_paced, _Writer
from oa_mockserver.recording import Chunk, RecordedResponse
from oa_mockserver.recording._replay import RecordedReply, ReplayLibrary


class _Transport:
    def __init__(self) -> None:
        self.data = bytearray()
        self.closing = False
        self.writes = 0

    def write(self, data: bytes) -> None:
        assert not self.closing, "written after the client went away"
        self.data += data
        self.writes += 1

    def is_closing(self) -> bool:
        return self.closing

    def abort(self) -> None:
        self.closing = True


class _Protocol:
    def __init__(self) -> None:
        self.transport: _Transport | None = _Transport()
        self.writing_paused = False


class _Request:
    def __init__(self) -> None:
        self.protocol = _Protocol()
        self.transport = self.protocol.transport


class _Response:
    """The coroutine path's writes (``response.write``), each one HTTP chunk."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.eof = False

    async def write(self, data: bytes) -> None:
        self.sent.append(data)

    async def write_eof(self) -> None:
        self.eof = True


def _deframe(data: bytes) -> list[bytes]:
    """The HTTP chunks in ``data`` (chunked transfer coding, no terminator)."""
    chunks = []
    while data:
        size_text, _, rest = data.partition(b"\r\n")
        size = int(size_text, 16)
        chunks.append(rest[:size])
        assert rest[size : size + 2] == b"\r\n"
        data = rest[size + 2 :]
    return chunks


def _config(**options: Any) -> ServerConfig:
    return ServerConfig(**{"ping_interval": 3600, "pending_interval": 3600, **options})


def _engine(**options: Any) -> tuple[Engine, ChatStore, ServerConfig]:
    """An engine over a new store, configured by ``options`` (the config's)."""
    config = ServerConfig(**options)
    store = ChatStore()
    return Engine(config, store), store, config


def _new_reply(store: ChatStore) -> Message:
    """A new chat's pending assistant message (to hand to an engine)."""
    chat = store.create_chat("u")
    prompter = store.add_prompter_message("u", chat.id, None, "x")
    return store.add_assistant_message("u", chat.id, prompter.id, work_parameters={}, model="_l")


def _generation() -> Generation:
    return Generation(Message("m", "p", "c", "assistant", "in_progress", "2026-01-01T00:00:00"))


class _Stream:
    """One paced stream, started as a task, with what it wrote."""

    def __init__(self, generation: Generation, engine: Engine, config: ServerConfig) -> None:
        self.request = _Request()
        self.response = _Response()
        self.log = StreamLog()
        self.task = asyncio.ensure_future(
            _stream_paced(
                cast(web.Request, self.request), cast(web.StreamResponse, self.response),
                generation, engine, config, self.log,
            )
        )  # fmt: skip

    @property
    def transport(self) -> _Transport:
        assert self.request.protocol.transport is not None
        return self.request.protocol.transport

    def received(self) -> list[bytes]:
        return _deframe(bytes(self.transport.data)) + self.response.sent


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def _started(**options: Any) -> tuple[Engine, Generation, _Stream]:
    """A paced stream of a new generation (``options``: the config's), open and waiting."""
    config = _config(**options)
    engine, generation = Engine(config, ChatStore()), _generation()
    stream = _Stream(generation, engine, config)
    await _settle()
    return engine, generation, stream


@pytest.mark.asyncio
async def test_tokens_are_written_from_the_push_without_the_handler_waking() -> None:
    config = _config()
    engine, generation = Engine(config, ChatStore()), _generation()
    generation.push("Before ")  # made before the stream opened: sent at once
    stream = _Stream(generation, engine, config)
    await _settle()
    assert generation.sinks
    for text in ("a ", "b "):
        generation.push(text)
        # written synchronously, inside push: no await between the token and the bytes
        assert stream.received()[-1] == generation.chunks[-1]
    generation.push_last("c")
    await stream.task
    assert stream.received() == [*generation.chunks, generation.final]
    assert stream.log.data == stream.received()
    assert stream.log.final_written
    assert generation.delivered
    assert stream.response.eof
    assert generation.sinks == []
    # the last token and the final event went out in one write
    assert stream.transport.writes == 4


@pytest.mark.asyncio
async def test_backpressure_hands_the_rest_to_the_coroutine_path_in_order() -> None:
    _, generation, stream = await _started()
    generation.push("one ")
    stream.request.protocol.writing_paused = True  # the transport's buffer is full
    generation.push("two ")
    generation.push("three ")
    await _settle()
    assert generation.sinks == []  # detached: the handler writes now
    assert _deframe(bytes(stream.transport.data)) == generation.chunks[:1]
    generation.push("four ")
    generation.finish()
    await stream.task
    assert stream.response.sent == [*generation.chunks[1:], generation.final]
    assert stream.received() == stream.log.data == [*generation.chunks, generation.final]
    assert stream.response.eof


@pytest.mark.asyncio
async def test_a_client_gone_mid_stream_ends_it_without_a_final_event() -> None:
    _, generation, stream = await _started()
    generation.push("one ")
    stream.transport.closing = True
    generation.push("two ")  # the write finds the transport closing: nothing written
    await stream.task
    assert stream.received() == stream.log.data == generation.chunks[:1]
    assert stream.log.client_disconnected
    assert not stream.response.eof
    assert not generation.delivered
    assert generation.sinks == []


@pytest.mark.asyncio
async def test_a_cancelled_handler_detaches_and_its_ping_leaves_the_wheel() -> None:
    engine, generation, stream = await _started(ping_interval=1.0)
    wheel = engine.wheel()
    assert len(wheel) == 2  # the stream's next ping and next pending event
    stream.task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stream.task
    assert generation.sinks == []
    generation.push("late ")  # nothing may write for a handler that is gone
    assert stream.received() == []
    # the ping entry is cancelled: the wheel no longer holds the stream
    held = [arg for bucket in wheel._buckets.values() for arg in bucket[1::2]]
    assert not any(isinstance(arg, _PacedStream) for arg in held)


@pytest.mark.asyncio
async def test_the_generation_ending_ends_the_stream_with_a_terminating_chunk() -> None:
    _, generation, stream = await _started()
    generation.push("one ")
    generation.end()  # the chat was deleted
    await stream.task
    assert stream.received() == generation.chunks
    assert stream.response.eof
    assert not stream.log.final_written


@pytest.mark.asyncio
async def test_pending_events_and_pings_come_from_the_wheel_with_true_positions() -> None:
    engine, store, config = _engine(
        ping_interval=0.03, pending_interval=0.01, token_interval=10.0, first_token_delay=10.0,
        workers=1,
    )  # fmt: skip
    messages = [_new_reply(store) for _ in range(3)]
    engine.submit(messages[0])  # the one worker is busy with it for a long while
    waiting = [engine.submit(message) for message in messages[1:]]
    stream = _Stream(waiting[1], engine, config)
    await asyncio.sleep(0.08)
    kinds = [chunk.split(b'"event_type": "', 1)[-1][:7] for chunk in stream.received()]
    assert kinds.count(b"pending") >= 2
    assert any(chunk.startswith(b": ping - ") for chunk in stream.received())
    pending = [chunk for chunk in stream.received() if b"pending" in chunk]
    assert all(b'"queue_position": 2, "queue_size": 2' in chunk for chunk in pending)
    stream.task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stream.task
    engine.close()


@pytest.mark.asyncio
async def test_a_paced_stream_with_pings_keeps_their_kind_in_the_journal() -> None:
    """A stream that wrote pings between its tokens ends normally: its log still reads each
    chunk's kind (only a stream of tokens and its final event takes the short way)."""
    engine, store, config = _engine(
        ping_interval=0.02, pending_interval=3600, token_interval=0.03, first_token_delay=0.05,
        reply_tokens=3,
    )  # fmt: skip
    stream = _Stream(engine.submit(_new_reply(store)), engine, config)
    await asyncio.wait_for(stream.task, 5)
    kinds = stream.log.kinds
    assert "ping" in kinds
    assert kinds.count("token") == 3
    assert kinds[-1] == "message"
    assert kinds == tuple(map(chunk_kind, stream.log.data))
    engine.close()


# -- the paced path against the simple path, for any schedule ----------------------------------

_STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("push"), st.sampled_from(["Ipsum ", "dolor ", 'say "hi" ', "é "])),
        st.tuples(st.just("pause"), st.booleans()),
        st.tuples(st.just("settle"), st.just("")),
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(before=st.integers(0, 3), steps=_STEPS, ending=st.sampled_from(["finish", "end"]))
def test_any_schedule_gives_the_chunks_and_order_of_the_simple_path(
    before: int, steps: list[tuple[str, Any]], ending: str
) -> None:
    async def run() -> tuple[list[bytes], list[bytes], list[bytes], list[bytes]]:
        config = _config()
        engine, generation = Engine(config, ChatStore()), _generation()
        for index in range(before):
            generation.push(f"b{index} ")
        paced = _Stream(generation, engine, config)
        # the simple path: the coroutine loop, which waits on the generation's future
        simple_response = _Response()
        simple_log = StreamLog()
        writer = _Writer(
            cast(web.StreamResponse, simple_response), cast(web.Request, _Request()), (),
            simple_log,
        )  # fmt: skip
        simple = asyncio.ensure_future(
            _stream_loop(
                writer, generation, engine, config, sent=0,
                next_ping=writer.started + 3600, next_pending=writer.started + 3600,
            )
        )  # fmt: skip
        for action, value in steps:
            if action == "push":
                generation.push(value)
            elif action == "pause":
                paced.request.protocol.writing_paused = value
            else:
                await _settle()
        if ending == "finish":
            generation.finish()
        else:
            generation.end()
        await asyncio.wait_for(asyncio.gather(paced.task, simple), 5)
        expected = [*generation.chunks, *([generation.final] if generation.final else [])]
        # the journal's kinds, however the log came by them, are those of the chunks it wrote
        assert paced.log.kinds == tuple(map(chunk_kind, paced.log.data))
        return paced.received(), simple_response.sent, paced.log.data, expected

    paced, simple, log, expected = asyncio.run(run())
    assert paced == simple == log == expected


@pytest.mark.asyncio
async def test_replayed_pieces_recorded_at_one_offset_go_out_in_one_write() -> None:
    config = _config(replay_timing="exact", replay_speed=20.0)
    store = ChatStore()
    chat = store.create_chat("u")
    prompt = store.add_prompter_message("u", chat.id, None, "hi")
    message = store.add_assistant_message("u", chat.id, prompt.id, work_parameters={})
    tokens = [b'data: {"event_type": "token", "text": "%d "}\r\n\r\n' % i for i in range(3)]
    final = b'data: {"event_type": "message", "message": {"content": "0 1 2 "}}\r\n\r\n'
    # the last token and the final event were one write when recorded: offsets 0.1 ms apart,
    # in one bucket of the wheel (5 ms; 20x: 12.5 and 12.505 ms after the start, a bucket edge)
    offsets = [0.05, 0.15, 0.25, 0.2501]
    recorded = RecordedReply(
        source="x.yaml:1", fields={}, answer=RecordedResponse(status=200, body=b"{}"),
        stream=RecordedResponse(
            status=200, body=b"".join([*tokens, final]),
            chunks=tuple(Chunk(t, p) for t, p in zip(offsets, [*tokens, final], strict=True)),
        ),
    )  # fmt: skip
    engine = Engine(config, store)
    generation = Generation(message)
    stream = _Stream(generation, engine, config)
    await _settle()
    engine._replay(generation, recorded, ReplayLibrary([recorded], config.replay_settings))
    await asyncio.wait_for(stream.task, 5)
    assert stream.received() == [*tokens, final]
    assert stream.log.final_written
    assert stream.transport.writes == 3  # the two tokens, then the last token with the final
