"""Hostile or broken input over real loopback HTTP: a documented answer, never a mock bug.

Each case was a 500 that named itself an ``oa_mockserver bug`` (and so failed the plugin's
handler-error check), or an ERROR traceback. The answers are the reference's (FastAPI 0.88 on
uvicorn): any failure of body parsing but a JSON syntax error is 400 ``There was an error parsing
the body``; a request body's ``Content-Encoding`` is not decoded. ``fix_server_bugs`` changes
none of them (none is a bug of the real server). After each, the server has no problem to report,
logged nothing at ERROR, and the same connection serves the next request.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from _helpers.served import serving

from oa_mockserver import MockServer, ServerConfig

PARSE_FAILED = "There was an error parsing the body"
WEB_COOKIE = {"next-auth.session-token": "alice"}


@dataclass
class Target:
    """A running server, a logged-in client session and a chat, in one dialect."""

    server: MockServer
    http: aiohttp.ClientSession
    dialect: str
    prompter_url: str
    assistant_url: str
    parent_id: str
    chat_id: str
    headers: dict[str, str]

    def envelope(self, detail: Any) -> dict[str, Any]:
        """An error body as the dialect wraps it."""
        return {"detail": detail} if self.dialect == "inference" else {"message": detail}

    def body(self, fields: str) -> bytes:
        """A prompter/assistant body: ``fields`` plus the web dialect's ``chat_id``."""
        if self.dialect == "web":
            fields = f'"chat_id": "{self.chat_id}", {fields}'
        return ("{" + fields + "}").encode()

    async def post(
        self, url: str, data: bytes, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        response = await self.http.post(url, data=data, headers={**self.headers, **(headers or {})})
        raw = await response.read()
        assert response.headers["Content-Type"] == "application/json", raw[:200]
        return response.status, json.loads(raw)


@pytest_asyncio.fixture(
    params=[
        ("inference", False),
        ("inference", True),
        ("web", False),
        ("web", True),
    ],
    ids=["inference", "inference-fixed", "web", "web-fixed"],
)
async def target(
    request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[Target]:
    dialect, fix = request.param
    caplog.set_level(logging.INFO)
    config = ServerConfig(token_interval=0.0, reply_tokens=3, fix_server_bugs=fix)
    async with MockServer(config) as server:
        # one connection: a broken request must not cost the client its connection
        connector = aiohttp.TCPConnector(limit=1)
        if dialect == "inference":
            async with aiohttp.ClientSession(connector=connector) as http:
                login = await (
                    await http.get(f"{server.url}/auth/callback/debug?code=alice")
                ).json()
                headers = {
                    "Authorization": f"Bearer {login['access_token']['access_token']}",
                    "Content-Type": "application/json",
                }
                chat = await (
                    await http.post(f"{server.url}/chats", json={}, headers=headers)
                ).json()
                base = f"{server.url}/chats/{chat['id']}"
                prompter = await (
                    await http.post(
                        f"{base}/prompter_message",
                        json={"parent_id": None, "content": "hi"},
                        headers=headers,
                    )
                ).json()
                yield Target(
                    server,
                    http,
                    dialect,
                    f"{base}/prompter_message",
                    f"{base}/assistant_message",
                    prompter["id"],
                    chat["id"],
                    headers,
                )
        else:
            async with aiohttp.ClientSession(connector=connector, cookies=WEB_COOKIE) as http:
                chat = await (await http.post(f"{server.url}/api/chat")).json()
                prompter = await (
                    await http.post(
                        f"{server.url}/api/chat/prompter_message",
                        json={"chat_id": chat["id"], "parent_id": None, "content": "hi"},
                    )
                ).json()
                yield Target(
                    server,
                    http,
                    dialect,
                    f"{server.url}/api/chat/prompter_message",
                    f"{server.url}/api/chat/assistant_message",
                    prompter["id"],
                    chat["id"],
                    {"Content-Type": "application/json"},
                )
        assert server.problems() == []
        assert server.app is not None
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


async def _still_serves(target: Target) -> None:
    """The same connection answers a good request after the bad one."""
    status, body = await target.post(
        target.assistant_url,
        target.body(f'"parent_id": "{target.parent_id}", "model_config_name": "_lorem"'),
    )
    assert status == 200, body
    assert body["parent_id"] == target.parent_id


async def _refused_as_unparsable(
    target: Target, data: bytes, headers: dict[str, str] | None = None
) -> None:
    """A prompter message of ``data`` is the parse error's 400, and the server still serves."""
    assert await target.post(target.prompter_url, data, headers) == (
        400,
        target.envelope(PARSE_FAILED),
    )
    await _still_serves(target)


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.asyncio
@pytest.mark.parametrize("depth", [1_100, 5_000, 100_000])
async def test_json_nested_too_deep_is_a_parse_error(target: Target, depth: int) -> None:
    data = target.body(f'"parent_id": null, "content": {_nested(depth)}')
    await _refused_as_unparsable(target, data)


@pytest.mark.asyncio
async def test_nesting_the_decoder_takes_gets_the_usual_validation(target: Target) -> None:
    data = target.body(f'"parent_id": "{target.parent_id}", "content": {_nested(500)}')
    status, body = await target.post(target.prompter_url, data)
    assert status == 422
    detail = body["detail"] if target.dialect == "inference" else body["message"]
    assert detail[0]["type"] == "type_error.str"


@pytest.mark.asyncio
@pytest.mark.parametrize("where", ["plugins", "used_plugin"])
@pytest.mark.parametrize("depth", [150, 500, 800])
async def test_deep_plugin_data_is_refused_not_a_500(
    target: Target, where: str, depth: int
) -> None:
    # Decoded fine, but rendered again in the answer and the stream, where json would recurse.
    value = f'{{"a": {_nested(depth)}}}'
    if where == "plugins":
        value = f"[{value}]"
    data = target.body(
        f'"parent_id": "{target.parent_id}", "model_config_name": "_lorem", "{where}": {value}'
    )
    status, body = await target.post(target.assistant_url, data)
    assert status == 422, body
    (item,) = body["detail"] if target.dialect == "inference" else body["message"]
    assert item["type"] == "value_error.too_deep"
    assert item["loc"] == (["body", "plugins", 0] if where == "plugins" else ["body", where])
    await _still_serves(target)


@pytest.mark.asyncio
async def test_plugin_data_within_the_depth_limit_is_kept(target: Target) -> None:
    plugin = {"url": "http://plugin.example", "deep": json.loads(_nested(90))}
    data = target.body(
        f'"parent_id": "{target.parent_id}", "model_config_name": "_lorem", '
        f'"plugins": [{json.dumps(plugin)}]'
    )
    status, body = await target.post(target.assistant_url, data)
    assert status == 200, body
    assert body["work_parameters"]["plugins"] == [plugin]


@pytest.mark.asyncio
@pytest.mark.parametrize("digits", [4_301, 5_000, 50_000])
@pytest.mark.parametrize("where", ["content", "extra"])
async def test_integer_past_pythons_digit_limit_is_a_parse_error(
    target: Target, digits: int, where: str
) -> None:
    number = "7" * digits
    fields = (
        f'"parent_id": null, "content": {number}'
        if where == "content"
        else f'"parent_id": null, "content": "x", "z": {number}'
    )
    await _refused_as_unparsable(target, target.body(fields))


@pytest.mark.asyncio
async def test_integer_within_the_limit_is_validated_as_usual(target: Target) -> None:
    # 4,300 digits convert: pydantic v1 then makes the integer a string, as the reference does
    data = target.body(f'"parent_id": "{target.parent_id}", "content": {"7" * 4_300}')
    status, body = await target.post(target.prompter_url, data)
    assert status == 400  # the chat's last message is not an assistant's: the usual check ran
    assert "assistant" in json.dumps(body)


@pytest.mark.asyncio
async def test_invalid_gzip_body_is_read_as_sent(target: Target) -> None:
    # uvicorn hands FastAPI the bytes as sent: they are not JSON, so FastAPI's 422
    status, body = await target.post(
        target.prompter_url, b"not gzip at all", {"Content-Encoding": "gzip"}
    )
    assert status == 422
    (item,) = body["detail"] if target.dialect == "inference" else body["message"]
    assert item["type"] == "value_error.jsondecode"
    assert item["ctx"]["doc"] == "not gzip at all"
    await _still_serves(target)


@pytest.mark.asyncio
async def test_valid_gzip_body_is_not_inflated(target: Target) -> None:
    # gzip bytes are not UTF-8: FastAPI's json.loads fails with a UnicodeDecodeError, so 400
    packed = gzip.compress(target.body('"parent_id": null, "content": "hi"'))
    await _refused_as_unparsable(target, packed, {"Content-Encoding": "gzip"})


# -- the admin API ----------------------------------------------------------------------------


@pytest_asyncio.fixture
async def server(caplog: pytest.LogCaptureFixture) -> AsyncIterator[MockServer]:
    caplog.set_level(logging.INFO)
    async with MockServer(ServerConfig(token_interval=0.0)) as running:
        yield running
        assert running.problems() == []
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("body", "says"),
    [
        (_nested(5_000).encode(), "invalid faults: maximum recursion depth exceeded"),
        (('{"kind": "status", "status": ' + "5" * 5_000 + "}").encode(), "invalid faults: "),
        (b'{"kind": "status", "status": ' + _nested(900).encode() + b"}", "invalid faults: "),
        (gzip.compress(b'{"kind": "status"}'), "invalid faults: "),
        (b'{"kind": "status", "status": 101}', "final HTTP status"),
        (b'{"kind": "status", "status": 204}', "but 204 and 304, got 204"),
        (b'{"kind": "delete-fails", "status": 304}', "but 204 and 304, got 304"),
        (b'{"header": "status:100"}', "got 100"),
    ],
    ids=["deep", "long-int", "deep-status", "gzip", "101", "204", "304", "header-100"],
)
async def test_admin_faults_refuse_bad_input_with_400_json(
    server: MockServer, body: bytes, says: str
) -> None:
    async with aiohttp.ClientSession() as http:
        headers = {"Content-Type": "application/json"}
        if body.startswith(b"\x1f\x8b"):
            headers["Content-Encoding"] = "gzip"
        response = await http.post(f"{server.url}/__admin/faults", data=body, headers=headers)
        assert response.status == 400
        assert response.headers["Content-Type"].startswith("application/json")
        detail = (await response.json())["detail"]
        assert says in detail
        assert len(detail) < 20_000
        listed = await (await http.get(f"{server.url}/__admin/faults")).json()
        assert listed == {"faults": []}


# -- a client that goes away, or sends what is not HTTP ---------------------------------------


async def _raw(url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return await asyncio.open_connection(host, int(port))


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "path", ["/chats/c1/prompter_message", "/api/chat/prompter_message", "/__admin/faults"]
)
async def test_an_upload_cut_short_is_no_server_error(
    server: MockServer, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    _, writer = await _raw(server.url)
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Content-Length: 1000000\r\n\r\n".encode()
        + b'{"content": "'
        + b"a" * 10_000
    )
    await writer.drain()
    await asyncio.sleep(0.05)  # the server is reading the body now
    writer.close()
    await writer.wait_closed()
    for _ in range(100):  # the server notices the close on its next read
        if path.startswith("/__admin/") or server.journal.calls:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.05)
    if not path.startswith("/__admin/"):
        (call,) = server.journal.calls
        assert (call.path, call.status) == (path, 499)
    assert server.problems(include_unmatched=False) == []


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET / HTTP/1.1 extra words\r\nHost: x\r\n\r\n",
        b"GET /chats HTTP/9.9\r\nHost: x\r\n\r\n",
        b"GET /x?token=s3cret HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 tls hello\r\n\r\n",
        b"GET /chats HTTP/1.1\r\nHost: x\r\n\r\nNOT-A-METHOD / HTTP/1.1\r\n\r\n",
        b"POST /chats HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nab\r\n",
    ],
    ids=["extra-words", "http-9", "bad-header", "tls", "second-line", "bad-chunk"],
)
async def test_a_malformed_request_is_one_log_line(
    server: MockServer, caplog: pytest.LogCaptureFixture, request_bytes: bytes
) -> None:
    # aiohttp logs a first request that is not HTTP at all at DEBUG: see that one too
    caplog.set_level(logging.DEBUG, logger="oa_mockserver.http")
    reader, writer = await _raw(server.url)
    writer.write(request_bytes)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    await writer.wait_closed()
    assert b"HTTP/1.0 400 Bad Request\r\n" in answer or b"HTTP/1.1 400 Bad Request\r\n" in answer
    lines = [r for r in caplog.records if r.name in ("oa_mockserver.http", "aiohttp.server")]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    (line,) = lines
    assert line.levelno <= logging.WARNING
    assert line.exc_info is None
    message = line.getMessage()
    assert "\n" not in message
    assert message.startswith("malformed request from 127.0.0.1 (")
    assert "s3cret" not in message
    assert server.problems(include_unmatched=False) == []


@pytest.mark.asyncio
@pytest.mark.parametrize("command", ["serve", "record"])
async def test_the_command_line_logs_a_malformed_request_as_one_line(
    tmp_path: Path, command: str
) -> None:
    extra = (
        ["--upstream", "http://127.0.0.1:9", "--cassettes", str(tmp_path), "--name", "x"]
        if command == "record"
        else []
    )
    async with serving(command, "--port", "0", *extra) as served:
        reader, writer = await _raw(served.url)
        writer.write(b"GET /?token=s3cret HTTP/1.1 extra\r\nHost: x\r\n\r\n")
        await writer.drain()
        assert b" 400 " in await asyncio.wait_for(reader.read(), 5)
        writer.close()
        await writer.wait_closed()
    output = served.output
    assert served.process.returncode == 0, output
    assert b"Traceback" not in output
    assert b" ERROR " not in output
    lines = [line for line in output.splitlines() if b"malformed request" in line]
    assert len(lines) == 1, output
    assert (
        b"oa_mockserver.http WARNING malformed request from 127.0.0.1 (BadStatusLine)" in lines[0]
    )
    assert b"s3cret" not in output
