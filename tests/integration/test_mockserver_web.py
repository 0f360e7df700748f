"""The web site dialect over real loopback HTTP: a whole conversation, users, errors, streams."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from _chat import ask_for_reply
from yarl import URL

from oa_mockserver import MockServer, ServerConfig

COOKIE = "next-auth.session-token"


def _session(user: str | None, cookie: str = COOKIE) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookies={cookie: user} if user else None)


async def _conversation(
    url: str, http: aiohttp.ClientSession, prompt: str = "hi"
) -> tuple[dict[str, Any], dict[str, Any], bytes]:
    chat, assistant = await ask_for_reply(
        http,
        url,
        prompt,
        "OA_SFT_Llama_30B_6",
        sampling_parameters={"top_k": 50, "temperature": 0.35},
        plugins=[],
    )
    events = await http.post(
        f"{url}/api/chat/events", params={"chat_id": chat["id"], "message_id": assistant["id"]}
    )
    return chat, assistant, await events.read()


@pytest.mark.asyncio
async def test_conversation_streams_tokens_then_the_message(server: MockServer) -> None:
    async with _session("alice") as http:
        chat, assistant, raw = await _conversation(server.url, http, "Привет")
        assert assistant["state"] == "pending"
        assert assistant["content"] is None
        assert 0 <= assistant["work_parameters"]["seed"] < 2**64
        events = [e for e in raw.split(b"\r\n\r\n") if e]
        assert all(e.startswith(b"data: {") for e in events)
        assert b'"event_type": "token"' in events[0]
        assert b'"event_type": "message"' in events[-1]
        assert len(events) == 17
        got = await (
            await http.get(f"{server.url}/api/chat", params={"chat_id": chat["id"]})
        ).json()
        assert got["title"] == "Привет"
        assert [m["role"] for m in got["messages"]] == ["prompter", "assistant"]
        assert got["messages"][1]["state"] == "complete"
        # a second stream of the finished message: the web site pipes the 204 as an empty 200
        again = await http.get(
            f"{server.url}/api/chat/events",
            params={"chat_id": chat["id"], "message_id": assistant["id"]},
        )
        assert again.status == 200
        assert await again.read() == b""
        deleted = await http.delete(f"{server.url}/api/chat", params={"chat_id": chat["id"]})
        assert deleted.status == 200
        assert await deleted.read() == b""
    assert server.chats() == []


@pytest.mark.asyncio
async def test_same_request_same_reply_byte_for_byte(server: MockServer) -> None:
    async with _session("alice") as http:
        first = (await _conversation(server.url, http, "same"))[2]
        second = (await _conversation(server.url, http, "same"))[2]
        other = (await _conversation(server.url, http, "different"))[2]

    def tokens(raw: bytes) -> list[bytes]:
        return [e for e in raw.split(b"\r\n\r\n") if b'"token"' in e]

    assert tokens(first) == tokens(second)
    assert tokens(first) != tokens(other)


@pytest.mark.asyncio
async def test_users_see_only_their_own_chats(server: MockServer) -> None:
    async with (
        _session("alice") as alice,
        _session("bob", "__Secure-next-auth.session-token") as bob,
    ):
        chat = await (await alice.post(f"{server.url}/api/chat")).json()
        seen = await bob.get(f"{server.url}/api/chat", params={"chat_id": chat["id"]})
        assert seen.status == 404
        assert await seen.json() == {"message": "Chat not found"}
        listing = await (await bob.get(f"{server.url}/api/chat")).json()
        assert listing == {"chats": [], "next": None, "prev": None}
        mine = await (await alice.get(f"{server.url}/api/chat")).json()
        assert [c["id"] for c in mine["chats"]] == [chat["id"]]


@pytest.mark.asyncio
async def test_no_session_is_403_with_an_empty_body(server: MockServer) -> None:
    async with _session(None) as http:
        for method, path in [
            ("POST", "/api/chat"),
            ("GET", "/api/chat"),
            ("GET", "/api/chat/events"),
        ]:
            response = await http.request(method, server.url + path)
            assert response.status == 403
            assert await response.read() == b""


@pytest.mark.asyncio
async def test_message_errors_are_message_objects(server: MockServer) -> None:
    async with _session("alice") as http:
        chat = await (await http.post(f"{server.url}/api/chat")).json()
        bad_model = await http.post(
            f"{server.url}/api/chat/assistant_message",
            json={"chat_id": chat["id"], "parent_id": "x", "model_config_name": "nope"},
        )
        assert bad_model.status == 422
        assert await bad_model.json() == {"message": "Model nope not found"}
        unknown = await http.post(
            f"{server.url}/api/chat/prompter_message",
            json={"chat_id": "no-such-chat", "content": "x", "parent_id": None},
        )
        assert unknown.status == 500
        assert await unknown.json() == {"message": "Something went wrong"}


@pytest.mark.asyncio
async def test_chat_list_pages_of_twenty(server: MockServer) -> None:
    async with _session("alice") as http:
        ids = [(await (await http.post(f"{server.url}/api/chat")).json())["id"] for _ in range(25)]
        first = await (await http.get(f"{server.url}/api/chat")).json()
        assert [c["id"] for c in first["chats"]] == ids[::-1][:20]
        assert first["next"] is not None
        assert first["prev"] is None
        second = await (
            await http.get(f"{server.url}/api/chat", params={"after": first["next"]})
        ).json()
        assert [c["id"] for c in second["chats"]] == ids[::-1][20:]
        assert second["next"] is None


@pytest.mark.asyncio
async def test_journal_redacts_and_records_rejected_requests(server: MockServer) -> None:
    async with _session("secret-cookie-value") as http:
        await http.post(
            f"{server.url}/api/chat/prompter_message",
            data=b"{broken",
            headers={"Content-Type": "application/json"},
        )
        await http.get(f"{server.url}/no/such/route")
        await http.put(f"{server.url}/api/chat/models")
    calls = server.journal.calls
    assert [(c.method, c.path, c.status) for c in calls] == [
        ("POST", "/api/chat/prompter_message", 422),
        ("GET", "/no/such/route", 404),
        ("PUT", "/api/chat/models", 405),
    ]
    assert calls[0].body == b"{broken"
    assert calls[0].json is None
    assert calls[0].headers["Cookie"] == "REDACTED"
    assert "secret-cookie-value" not in repr(calls) + str([c.headers for c in calls])
    assert calls[1].matched is False
    server.reset()
    assert server.journal.calls == []


@pytest.mark.asyncio
async def test_journal_decodes_each_query_value_once(server: MockServer) -> None:
    """The query is journaled as sent and decoded when read: ``%2525`` is ``%25``, not ``%``."""
    async with _session("a") as http:
        url = URL(f"{server.url}/api/chat").with_query(
            {"chat_id": "a%25b&c", "q": "x y+z/é"}
        )
        response = await http.get(url)
        assert response.status == 404  # no such chat; the request is journaled all the same
    (call,) = server.journal.calls
    assert call.query == {"chat_id": "a%25b&c", "q": "x y+z/é"}


@pytest.mark.asyncio
async def test_body_over_the_limit_is_413_json() -> None:
    async with (
        MockServer(ServerConfig(token_interval=0.0, max_body_size=1000)) as server,
        _session("a") as http,
    ):
        response = await http.post(f"{server.url}/api/chat/prompter_message", data=b"x" * 2000)
        assert response.status == 413
        assert "limit is 1000 bytes" in (await response.json())["message"]


@pytest.mark.asyncio
async def test_queued_message_sends_pending_with_its_position() -> None:
    config = ServerConfig(
        token_interval=0.02,
        first_token_delay=0.0,
        reply_tokens=10,
        workers=1,
        pending_interval=0.05,
    )
    async with MockServer(config) as server, _session("a") as http:
        blocker = asyncio.ensure_future(_conversation(server.url, http, "first"))
        await asyncio.sleep(0.05)
        _, _, raw = await _conversation(server.url, http, "second")
        await blocker
    events = [e for e in raw.split(b"\r\n\r\n") if e]
    assert b'{"event_type": "pending", "queue_position": 1, "queue_size": 1}' in events[0]
    assert b'"token"' in events[-2]
    assert b'"message"' in events[-1]


@pytest.mark.asyncio
async def test_pings_and_shutdown_end_an_unserved_stream() -> None:
    config = ServerConfig(
        unserved_models=frozenset({"distilgpt2"}), ping_interval=0.05, pending_interval=0.03
    )
    server = MockServer(config)
    await server.start()
    async with _session("a") as http:
        chat, a = await ask_for_reply(http, server.url, "x", "distilgpt2")
        response = await http.get(
            f"{server.url}/api/chat/events", params={"chat_id": chat["id"], "message_id": a["id"]}
        )
        seen = b""
        while b": ping - " not in seen or seen.count(b"pending") < 2:
            seen += await response.content.readany()
        await server.stop()
        seen += await response.content.read()
    assert b'"message"' not in seen
    assert b'"token"' not in seen


@pytest.mark.asyncio
@pytest.mark.parametrize("dialect", ["web", "inference"])
async def test_a_lone_surrogate_is_refused_before_anything_is_stored(dialect: str) -> None:
    body = b'{"chat_id": "%s", "content": "a\\ud800b", "parent_id": null}'
    async with (
        MockServer(ServerConfig(token_interval=0.0)) as server,
        _session("alice") as http,
    ):
        if dialect == "web":
            chat = await (await http.post(f"{server.url}/api/chat")).json()
            url = f"{server.url}/api/chat/prompter_message"
            headers = {"Content-Type": "application/json"}
        else:
            tokens = await (
                await http.get(f"{server.url}/auth/callback/debug", params={"code": "alice"})
            ).json()
            headers = {
                "Content-Type": "application/json",
                "Authorization": "Bearer " + tokens["access_token"]["access_token"],
            }
            chat = await (await http.post(f"{server.url}/chats", json={}, headers=headers)).json()
            url = f"{server.url}/chats/{chat['id']}/prompter_message"
        response = await http.post(url, data=body % chat["id"].encode(), headers=headers)
        assert response.status == 400
        answer = await response.json()
        assert answer == (
            {"message": "There was an error parsing the body"}
            if dialect == "web"
            else {"detail": "There was an error parsing the body"}
        )
        assert server.problems() == []
        (stored,) = server.chats()
        assert stored.title is None  # nothing was stored
        assert stored.messages == {}
