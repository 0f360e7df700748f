"""A client that resets its connection mid-stream is the client's doing, never a mock bug.

aiohttp reports a peer that resets while the server waits for the socket to drain as a plain
``ConnectionError("Connection lost")``, not a ``ConnectionResetError``: the stream writers must
take both as "the client went away" (journaled as such), with nothing in ``problems()`` and
nothing logged at ERROR.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import struct

import pytest

from oa_mockserver import MockServer, ServerConfig

WEB = {"next-auth.session-token": "reset-test"}


async def _post(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str,
                path: str, body: object) -> dict[str, object]:
    data = json.dumps(body).encode()
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nCookie: next-auth.session-token=reset-test\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n".encode() + data
    )
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    answer: dict[str, object] = json.loads(await reader.readexactly(length))
    return answer


async def _read_then_reset(server: MockServer, nbytes: int) -> None:
    """Start a long reply's stream, read ``nbytes`` of it, then reset the connection (RST)."""
    host = server.url.removeprefix("http://")
    reader, writer = await asyncio.open_connection(*host.split(":"))
    chat = await _post(reader, writer, host, "/api/chat", {})
    prompt = await _post(reader, writer, host, "/api/chat/prompter_message",
                         {"chat_id": chat["id"], "content": "hi", "parent_id": None})
    reply = await _post(reader, writer, host, "/api/chat/assistant_message", {
        "chat_id": chat["id"], "parent_id": prompt["id"], "model_config_name": "OA_SFT_Llama_30B_6",
        "sampling_parameters": {"max_new_tokens": 400_000},
    })
    writer.write(
        f"GET /api/chat/events?chat_id={chat['id']}&message_id={reply['id']} HTTP/1.1\r\n"
        f"Host: {host}\r\nCookie: next-auth.session-token=reset-test\r\n\r\n".encode()
    )
    await writer.drain()
    await reader.readexactly(nbytes)
    sock = writer.get_extra_info("socket")
    # SO_LINGER with a zero timeout: close() sends RST instead of FIN, as a killed client does
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


@pytest.mark.asyncio
@pytest.mark.parametrize("nbytes", [500, 20_000, 200_000])
async def test_a_reset_mid_stream_is_no_mock_bug(
    nbytes: int, caplog: pytest.LogCaptureFixture
) -> None:
    config = ServerConfig(token_interval=0.0, reply_tokens=400_000)
    with caplog.at_level(logging.WARNING, logger="oa_mockserver"):
        async with MockServer(config) as server:
            for _ in range(3):
                await _read_then_reset(server, nbytes)
            await server.wait_for_streams()
            assert server.problems() == []
            streams = [c.stream for c in server.journal.iter_matching("GET", "/api/chat/events")]
    assert len(streams) == 3
    assert all(s is not None and s.client_disconnected for s in streams)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
