"""The inference dialect over loopback HTTP: auth, paced streams, bug fixes, bad input."""

from __future__ import annotations

import aiohttp
import pytest

from oa_mockserver import MockServer, ServerConfig


async def _login(http: aiohttp.ClientSession, url: str, user: str) -> tuple[dict[str, str], str]:
    tokens = await (await http.get(f"{url}/auth/callback/debug", params={"code": user})).json()
    return {"Authorization": "Bearer " + tokens["access_token"]["access_token"]}, tokens[
        "refresh_token"
    ]["access_token"]


@pytest.mark.asyncio
async def test_paced_stream_reports_in_progress_and_ends_with_the_message() -> None:
    config = ServerConfig(token_interval=0.01, first_token_delay=0.0, reply_tokens=10)
    async with MockServer(config) as server, aiohttp.ClientSession() as http:
        auth, _ = await _login(http, server.url, "alice")
        assert await (await http.get(f"{server.url}/auth/check", headers=auth)).json() == "alice"
        chat = await (await http.post(f"{server.url}/chats", json={}, headers=auth)).json()
        base = f"{server.url}/chats/{chat['id']}"
        p = await (
            await http.post(
                f"{base}/prompter_message", json={"parent_id": None, "content": "hi"}, headers=auth
            )
        ).json()
        a = await (
            await http.post(
                f"{base}/assistant_message",
                json={"parent_id": p["id"], "model_config_name": "_lorem"},
                headers=auth,
            )
        ).json()
        running = await (await http.get(f"{base}/messages/{a['id']}", headers=auth)).json()
        assert running["state"] == "in_progress"
        assert running["content"] is None
        stream = await http.get(f"{base}/messages/{a['id']}/events", headers=auth)
        chunks = []
        async for data, end in stream.content.iter_chunks():
            assert end  # every event is its own HTTP chunk
            chunks.append(data)
        assert len(chunks) == 11
        assert b'"message"' in chunks[-1]
        done = await (await http.get(f"{base}/messages/{a['id']}", headers=auth)).json()
        assert done["state"] == "complete"
        assert done["content"].endswith(".")
        again = await http.get(f"{base}/messages/{a['id']}/events", headers=auth)
        assert again.status == 204
        assert await again.read() == b""


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("authorization", "status", "detail"),
    [
        (None, 403, "Not authenticated"),
        ("Token abc", 403, "Not authenticated"),
        ("Bearer ", 403, "Not authenticated"),
        ("Bearer nope", 401, "Invalid token"),
    ],
)
async def test_bearer_failures(authorization: str | None, status: int, detail: str) -> None:
    async with (
        MockServer(ServerConfig(token_interval=0.0)) as server,
        aiohttp.ClientSession() as http,
    ):
        headers = {"Authorization": authorization} if authorization else {}
        response = await http.get(f"{server.url}/chats", headers=headers)
        assert (response.status, await response.json()) == (status, {"detail": detail})


@pytest.mark.asyncio
async def test_refresh_bug_by_default_and_fixed_on_request() -> None:
    for fix, status in ((False, 401), (True, 200)):
        async with (
            MockServer(ServerConfig(token_interval=0.0, fix_server_bugs=fix)) as server,
            aiohttp.ClientSession() as http,
        ):
            auth, refresh = await _login(http, server.url, "bob")
            as_bearer = await http.get(
                f"{server.url}/chats", headers={"Authorization": "Bearer " + refresh}
            )
            assert (as_bearer.status, await as_bearer.json()) == (
                400,
                {"detail": "Invalid token type"},
            )
            response = await http.get(f"{server.url}/auth/refresh", headers={"Refresh": refresh})
            assert response.status == status
            unknown = await http.get(f"{server.url}/chats/x/messages/y", headers=auth)
            assert unknown.status == (404 if fix else 500)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe",
        b"[]",
        b"null",
        b"{",
        b'{"parent_id": {"a": 1}, "content": ["x"]}',
        b"1e999",
        b'"\\ud800"',
    ],
)
async def test_bad_bodies_never_make_a_handler_raise(body: bytes) -> None:
    async with (
        MockServer(ServerConfig(token_interval=0.0)) as server,
        aiohttp.ClientSession() as http,
    ):
        auth, _ = await _login(http, server.url, "c")
        chat = await (await http.post(f"{server.url}/chats", json={}, headers=auth)).json()
        for path in ("prompter_message", "assistant_message"):
            response = await http.post(
                f"{server.url}/chats/{chat['id']}/{path}",
                data=body,
                headers={**auth, "Content-Type": "application/json"},
            )
            assert response.status in (400, 422), await response.text()
            assert "detail" in await response.json()
        assert server.problems() == []
