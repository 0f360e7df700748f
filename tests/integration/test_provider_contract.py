"""The provider's remaining promises over loopback HTTP: the ids that link the five requests,
the default model and base URL, the opt-in prompt template, the caller's session really used,
DEBUG lines for every step, and the final DELETE bounded and shielded from a second cancel."""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from typing import Any

import aiohttp
import pytest
from _fakes import FIVE, SESSION, USER, FakeSite, Reply, cancelled_after_first_token, chat, sse

import oa_provider._client as client_module
from oa_mockserver import MockServer, ServerConfig
from oa_provider import (
    LLAMA2_TEMPLATE,
    MessageEvent,
    MissingCredentialsError,
    OpenAssistant,
    ProtocolError,
    RequestTimeoutError,
    StreamTimeoutError,
)


def test_the_original_class_attributes() -> None:
    assert OpenAssistant.url == "https://open-assistant.io/chat"
    assert OpenAssistant.needs_auth is True
    assert isinstance(OpenAssistant.working, bool)
    assert OpenAssistant.model == "OA_SFT_Llama_30B_6"
    assert OpenAssistant().model == "OA_SFT_Llama_30B_6"


@pytest.mark.asyncio
async def test_the_ids_link_the_five_requests_on_the_mock_server() -> None:
    async with MockServer(
        ServerConfig(token_interval=0.0, first_token_delay=0.0, reply_tokens=8)
    ) as server:
        events = [
            e
            async for e in OpenAssistant().create_event_stream(
                messages=USER, base_url=server.url, cookies=SESSION
            )
        ]
        final = events[-1]
        assert isinstance(final, MessageEvent)
        create, prompter, assistant, stream, delete = server.journal.calls
        chat_id = final.message.chat_id
        assert prompter.json == {
            "chat_id": chat_id,
            "content": USER[0]["content"],
            "parent_id": None,
        }
        # The assistant message answers the prompter message the second request created.
        assert assistant.json["chat_id"] == chat_id
        assert assistant.json["parent_id"] == final.message.parent_id
        assert stream.query == {"chat_id": chat_id, "message_id": final.message.id}
        assert delete.query == {"chat_id": chat_id}
        assert (create.method, create.body) == ("POST", b"")
        assert not server.chats()


@pytest.mark.parametrize("model", [None, ""], ids=["none", "empty"])
@pytest.mark.asyncio
async def test_no_model_means_the_default(site: FakeSite, model: str | None) -> None:
    await chat(site, model=model)
    assert site.calls[2].json["model_config_name"] == "OA_SFT_Llama_30B_6"
    await chat(site, model="OA_SFT_Llama2_70B_10")
    assert site.calls[-3].json["model_config_name"] == "OA_SFT_Llama2_70B_10"


def _host_looked_for(monkeypatch: pytest.MonkeyPatch, **kwargs: Any) -> str:
    """The host the provider would talk to, read off the credentials error (no request made)."""
    monkeypatch.setitem(sys.modules, "browser_cookie3", None)
    with pytest.raises(MissingCredentialsError) as info:
        OpenAssistant.create_async_generator(messages=USER, **kwargs)
    found = re.search(r"no session cookie for (\S+);", str(info.value))
    assert found is not None, str(info.value)
    return found.group(1)


def test_base_url_keyword_then_environment_then_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _host_looked_for(monkeypatch) == "open-assistant.io"
    monkeypatch.setenv("OA_BASE_URL", "http://env.example:8080")
    assert _host_looked_for(monkeypatch) == "env.example"
    assert _host_looked_for(monkeypatch, base_url="http://kw.example") == "kw.example"


@pytest.mark.asyncio
async def test_base_url_from_the_environment_is_used_on_the_wire(
    site: FakeSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OA_BASE_URL", site.url)
    assert "".join(
        [t async for t in OpenAssistant.create_async_generator(messages=USER, cookies=SESSION)]
    )
    assert site.paths() == FIVE
    # The keyword wins over the environment (which now names a closed port).
    monkeypatch.setenv("OA_BASE_URL", "http://127.0.0.1:9")
    assert await chat(site) == "Hello, world!"


@pytest.mark.asyncio
async def test_prompt_template_is_opt_in(site: FakeSite) -> None:
    await chat(site)
    assert site.calls[1].json["content"] == USER[0]["content"]
    await chat(site, prompt_template=LLAMA2_TEMPLATE)
    assert site.calls[-4].json["content"] == f"<s>[INST]\n{USER[0]['content']}\n[/INST]"


@pytest.mark.asyncio
async def test_the_callers_session_carries_every_request(site: FakeSite) -> None:
    seen: list[str] = []

    async def on_request_start(
        session: aiohttp.ClientSession, context: Any, params: aiohttp.TraceRequestStartParams
    ) -> None:
        seen.append(f"{params.method} {params.url.path}")

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_request_start)
    async with aiohttp.ClientSession(trace_configs=[trace]) as session:
        assert await chat(site, session=session) == "Hello, world!"
        assert seen == FIVE
        assert not session.closed


@pytest.mark.asyncio
async def test_every_step_is_logged_at_debug_without_secrets(
    site: FakeSite, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="oa_provider")
    await chat(site)
    for step in FIVE:
        assert re.search(rf"{re.escape(step)} -> 200 in \d+\.\d ms", caplog.text), step
    assert all(r.levelno == logging.DEBUG for r in caplog.records)
    assert SESSION["next-auth.session-token"] not in caplog.text


@pytest.mark.asyncio
async def test_a_hanging_delete_is_bounded_and_logged_at_warning(
    site: FakeSite, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client_module, "DELETE_TIMEOUT", 0.2)
    site.replies[("DELETE", "/api/chat")] = Reply(0, delay=1.0)
    caplog.set_level(logging.DEBUG, logger="oa_provider")
    assert await chat(site) == "Hello, world!"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "could not delete chat" in warnings[0].getMessage()
    assert "took longer than 0.2 s" in warnings[0].getMessage()


@pytest.mark.asyncio
async def test_the_delete_survives_a_second_cancellation(site: FakeSite) -> None:
    site.script = [sse({"event_type": "token", "text": "a"}), 30.0]
    site.replies[("DELETE", "/api/chat")] = Reply(0, delay=0.3)
    task = await cancelled_after_first_token(site.url)
    for _ in range(200):  # wait until the DELETE is on its way, then cancel again
        if "DELETE /api/chat" in site.paths():
            break
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(300):
        if not site.live_chats:
            break
        await asyncio.sleep(0.01)
    assert not site.live_chats
    assert site.abandoned == [], "the shielded DELETE must not be abandoned"


@pytest.mark.asyncio
async def test_slow_events_route_is_a_request_timeout(site: FakeSite) -> None:
    site.replies[("GET", "/api/chat/events")] = Reply(0, delay=2.0)
    with pytest.raises(RequestTimeoutError, match="GET /api/chat/events"):
        await chat(site, timeout=0.3)
    assert site.paths()[-1] == "DELETE /api/chat"
    assert not site.live_chats


@pytest.mark.asyncio
async def test_malformed_event_is_a_protocol_error_and_the_chat_is_deleted(
    site: FakeSite,
) -> None:
    site.script = [sse({"event_type": "token", "text": "a"}), b'data: {"event_type": "tok\r\n\r\n']
    with pytest.raises(ProtocolError, match="not valid JSON"):
        await chat(site)
    assert site.paths()[-1] == "DELETE /api/chat"
    assert not site.live_chats


@pytest.mark.asyncio
async def test_a_steady_ping_does_not_hide_a_stall(site: FakeSite) -> None:
    # Pings keep arriving, each well within the idle limit, but no chat event does: a stall.
    pings: list[Any] = []
    for i in range(40):
        pings += [f": ping - {i}\r\n\r\n".encode(), 0.05]
    site.script = [*pings, sse({"event_type": "token", "text": "late"})]
    with pytest.raises(StreamTimeoutError) as info:
        await chat(site, stream_idle_timeout=0.4)
    assert info.value.partial_text == ""
    assert site.paths()[-1] == "DELETE /api/chat"
