"""Faults, the journal, the assertion helpers and the admin API, over real loopback HTTP."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import urllib.request
from collections.abc import AsyncIterator
from typing import Any
from unittest.mock import ANY

import aiohttp
import pytest
import pytest_asyncio
from _helpers.conversation import ALICE, HELLO

import oa_provider._client
from oa_mockserver import (
    FAULT_HEADER,
    ErrorAfter,
    FaultRule,
    FaultSpecError,
    MockServer,
    ServerConfig,
    ThreadedMockServer,
)
from oa_provider import (
    GenerationError,
    IncompleteStreamError,
    OpenAssistant,
    PluginIntermediateEvent,
    ProtocolError,
    RateLimitError,
    SafePromptEvent,
    ServerBusyError,
    StreamTimeoutError,
    TokenEvent,
)

FAST = ServerConfig(token_interval=0.0, first_token_delay=0.0, reply_tokens=8)


@pytest_asyncio.fixture
async def server() -> AsyncIterator[MockServer]:
    async with MockServer(FAST) as running:
        yield running


def provider(server: MockServer) -> OpenAssistant:
    return OpenAssistant(base_url=server.url, cookies=ALICE)


async def chat(server: MockServer, **kwargs: Any) -> str:
    texts = provider(server).create_async_generator(messages=HELLO, **kwargs)
    return "".join([text async for text in texts])


# -- status faults ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_status_503_on_one_step_answers_the_real_busy_text(server: MockServer) -> None:
    server.add_fault("status:503", step="assistant_message", times=1)
    with pytest.raises(ServerBusyError, match="currently busy"):
        await chat(server)
    # times=1: the next conversation goes through, and the failed one left no chat behind
    assert await chat(server)
    server.assert_no_chats_left()
    busy = server.journal.assert_request_made("POST", "/api/chat/assistant_message", status=503)
    assert busy[0].faults == ("status",)
    assert busy[0].json == {
        "chat_id": ANY, "parent_id": ANY, "model_config_name": "OA_SFT_Llama_30B_6",
        "sampling_parameters": ANY, "plugins": [],
    }


@pytest.mark.asyncio
async def test_429_carries_retry_after(server: MockServer) -> None:
    server.add_fault("status:429;retry-after=7", step="create_chat")
    with pytest.raises(RateLimitError) as info:
        await chat(server)
    assert info.value.retry_after == 7


@pytest.mark.asyncio
async def test_fault_header_applies_to_that_request_only(server: MockServer) -> None:
    async with aiohttp.ClientSession(cookies=ALICE) as http:
        async with http.post(
            f"{server.url}/chats", json={}, headers={FAULT_HEADER: "status:500"}
        ) as response:
            assert response.status == 500
            assert await response.json() == {"detail": "Internal Server Error (injected fault)"}
        async with http.post(
            f"{server.url}/api/chat", headers={FAULT_HEADER: "status:503"}
        ) as response:
            assert response.status == 503
            assert await response.json() == {
                "message": "The server is currently busy. Please try again later."
            }
        async with http.post(f"{server.url}/api/chat") as response:
            assert response.status == 200


@pytest.mark.asyncio
async def test_invalid_fault_header_is_a_400_saying_why(server: MockServer) -> None:
    async with aiohttp.ClientSession(cookies=ALICE) as http, http.post(
        f"{server.url}/api/chat", headers={FAULT_HEADER: "explode"}
    ) as response:
        assert response.status == 400
        body = await response.json()
    assert "invalid X-OA-Mock-Fault header: unknown fault 'explode'" in body["message"]
    assert server.journal.last is not None
    assert server.journal.last.status == 400


@pytest.mark.asyncio
async def test_latency_delays_the_answer(server: MockServer) -> None:
    server.add_fault("latency:0.2", step="create_chat")
    await chat(server)
    (create,) = server.journal.iter_matching("POST", "/api/chat")
    assert create.duration_s >= 0.2
    assert create.faults == ("latency",)


@pytest.mark.asyncio
async def test_failing_delete_is_logged_and_the_chat_stays(
    server: MockServer, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The provider retries a failed DELETE within its budget: a short budget keeps this quick.
    monkeypatch.setattr(oa_provider._client, "DELETE_TIMEOUT", 0.3)
    server.add_fault("delete-fails")
    with caplog.at_level(logging.WARNING, logger="oa_provider"):
        assert await chat(server)
    assert any("delet" in record.getMessage().lower() for record in caplog.records)
    deletes = list(server.journal.iter_matching("DELETE", "/api/chat"))
    assert len(deletes) >= 2  # retried
    assert {d.status for d in deletes} == {500}
    assert len({d.query["chat_id"] for d in deletes}) == 1
    delete = deletes[0]
    with pytest.raises(AssertionError, match="still exists"):
        server.assert_chat_deleted(delete.query["chat_id"])
    with pytest.raises(AssertionError, match="1 chat"):
        server.assert_no_chats_left()


# -- stream faults ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_error_after_n_tokens_raises_with_the_partial_text(server: MockServer) -> None:
    server.add_fault("error-after:3")
    with pytest.raises(GenerationError, match="Injected generation error") as info:
        await chat(server)
    server.clear_faults()
    full = await chat(server)  # the same prompt gives the same reply
    assert full.startswith(info.value.partial_text)
    assert len(info.value.partial_text.split()) == 3
    server.assert_no_chats_left()


@pytest.mark.asyncio
async def test_drop_after_cuts_the_connection(server: MockServer) -> None:
    server.add_fault("drop-after:2")
    with pytest.raises(IncompleteStreamError):
        await chat(server)
    await server.wait_for_streams()
    stream = next(server.journal.iter_matching(step="events")).stream
    assert stream is not None
    assert stream.tokens_written == 2
    assert not stream.final_written
    server.assert_no_chats_left()


@pytest.mark.asyncio
async def test_truncate_after_ends_cleanly_without_the_final_event(server: MockServer) -> None:
    server.add_fault("truncate-after:4")
    with pytest.raises(IncompleteStreamError) as info:
        await chat(server)
    assert len(info.value.partial_text.split()) == 4
    server.assert_no_chats_left()


@pytest.mark.asyncio
async def test_malformed_event_is_a_protocol_error_after_the_good_tokens(
    server: MockServer,
) -> None:
    server.add_fault("malformed-after:2")
    got: list[str] = []

    async def consume() -> None:
        async for text in provider(server).create_async_generator(messages=HELLO):
            got.append(text)

    with pytest.raises(ProtocolError):
        await consume()
    # the two tokens before the broken event arrive in the same read: neither is lost
    assert len(got) == 2
    server.assert_no_chats_left()


@pytest.mark.asyncio
async def test_stall_trips_the_idle_timeout(server: MockServer) -> None:
    server.add_fault("stall:1.5;after=2")
    with pytest.raises(StreamTimeoutError):
        await chat(server, stream_idle_timeout=0.3)
    server.assert_no_chats_left()


@pytest.mark.asyncio
async def test_safe_prompt_and_plugin_step_events(server: MockServer) -> None:
    server.add_fault("safe-prompt")
    server.add_fault("plugin-step")
    events = [
        event
        async for event in provider(server).create_event_stream(messages=HELLO)
    ]
    assert isinstance(events[0], SafePromptEvent)
    assert isinstance(events[1], PluginIntermediateEvent)
    assert events[1].current_plugin_action_taken == "web_search"
    assert isinstance(events[2], TokenEvent)


@pytest.mark.asyncio
async def test_python_fault_objects_and_rules(server: MockServer) -> None:
    server.add_fault(FaultRule(ErrorAfter(after=0, error="boom"), step="events", times=1))
    with pytest.raises(GenerationError, match="boom"):
        await chat(server)
    assert await chat(server)


@pytest.mark.asyncio
async def test_bad_spec_on_the_handle_raises() -> None:
    async with MockServer(FAST) as running:
        with pytest.raises(FaultSpecError, match="unknown step"):
            running.add_fault("status:500", step="nowhere")


@pytest.mark.asyncio
async def test_seeded_probability_repeats_across_servers() -> None:
    async def pattern() -> list[int]:
        config = ServerConfig(token_interval=0.0, seed=42, faults=("status:500;probability=0.5",))
        async with MockServer(config) as running, aiohttp.ClientSession(cookies=ALICE) as http:
            statuses = []
            for _ in range(16):
                async with http.post(f"{running.url}/api/chat") as response:
                    statuses.append(response.status)
            return statuses

    first = await pattern()
    assert set(first) == {200, 500}
    assert await pattern() == first


# -- journal and stream checks -----------------------------------------------------------------


@pytest.mark.asyncio
async def test_journal_redacts_secrets_and_explains_misses(server: MockServer) -> None:
    await chat(server)
    create = server.journal.calls[0]
    assert create.headers["Cookie"] == "REDACTED"
    assert create.step == "create_chat"
    assert create.started_at > 0
    with pytest.raises(AssertionError) as info:
        server.journal.assert_request_made("POST", "/api/chat/prompter_mesage")
    text = str(info.value)
    assert "saw it 0 time(s)" in text
    assert "Nearest requests the server received (5 in all)" in text
    assert "POST /api/chat/prompter_message -> 200" in text
    server.journal.assert_request_made(
        "POST",
        "/api/chat/prompter_message",
        count=1,
        json={"chat_id": ANY, "content": "hello", "parent_id": None},
    )
    with pytest.raises(AssertionError, match="1 time"):
        server.journal.assert_request_made("DELETE", "/api/chat", count=2)


@pytest.mark.asyncio
async def test_journal_redacts_tokens_in_bodies_and_queries(server: MockServer) -> None:
    async with aiohttp.ClientSession() as http, http.post(
        f"{server.url}/chats?access_token=sekrit123",
        json={"access_token": "sekrit456"},
        headers={"Authorization": "Bearer sekrit789"},
    ) as response:
        assert response.status == 401  # an unreadable bearer token
    call = server.journal.last
    assert call is not None
    assert "sekrit" not in repr(call.to_json())


@pytest.mark.asyncio
async def test_stream_log_and_streaming_assertions() -> None:
    paced = ServerConfig(token_interval=0.03, first_token_delay=0.0, reply_tokens=12)
    async with MockServer(paced) as running:
        first_at = None
        async for _ in provider(running).create_async_generator(messages=HELLO):
            if first_at is None:
                first_at = time.monotonic()
        assert first_at is not None
        await running.wait_for_streams()
        running.assert_first_token_before_last_written(first_at)
        with pytest.raises(AssertionError, match="did not close the stream early"):
            running.assert_stream_closed_after(3)
        stream = next(running.journal.iter_matching(step="events")).stream
        assert stream is not None
        assert [c.kind for c in stream.chunks] == ["token"] * 12 + ["message"]
        offsets = [c.offset_s for c in stream.chunks]
        assert offsets == sorted(offsets)

        texts = provider(running).create_async_generator(messages=HELLO)
        got = [await texts.__anext__() for _ in range(3)]
        assert len(got) == 3
        await texts.aclose()
        await running.wait_for_streams()
        running.assert_stream_closed_after(3, slack=2)
        running.assert_no_chats_left()
        with pytest.raises(AssertionError, match="buffered the stream"):
            running.assert_first_token_before_last_written(time.monotonic())


# -- the admin API ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_admin_api(server: MockServer) -> None:
    base = f"{server.url}/__admin"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/health") as response:
            assert (await response.json())["status"] == "ok"
        async with http.post(f"{base}/faults", json={"faults": [{"kind": "nope"}]}) as response:
            assert response.status == 400
            assert "unknown fault 'nope'" in (await response.json())["detail"]
        async with http.post(
            f"{base}/faults", data=b"{not json", headers={"Content-Type": "application/json"}
        ) as response:
            assert response.status == 400
        rule = {"kind": "status", "status": 503, "step": "assistant_message", "times": 1}
        async with http.post(f"{base}/faults", json={"faults": [rule]}) as response:
            assert (await response.json())["faults"] == [rule]
        async with http.post(f"{base}/faults", json={"header": "latency:0.01"}) as response:
            assert len((await response.json())["faults"]) == 2
        async with http.delete(f"{base}/faults") as response:
            assert await response.json() == {"cleared": 2}

        await chat(server, keep_chat=True)
        async with http.get(f"{base}/requests") as response:
            requests = (await response.json())["requests"]
        # the admin calls themselves are not journaled
        assert [r["step"] for r in requests] == [
            "create_chat", "prompter_message", "assistant_message", "events"
        ]
        assert requests[0]["headers"]["Cookie"] == "REDACTED"
        async with http.get(f"{base}/chats") as response:
            (listed,) = (await response.json())["chats"]
        assert listed["title"] == "hello"
        async with http.delete(f"{base}/requests") as response:
            assert (await response.json())["cleared"] == len(requests)
        async with http.post(f"{base}/reset") as response:
            assert await response.json() == {"reset": True}
        async with http.get(f"{base}/chats") as response:
            assert await response.json() == {"chats": []}
    assert server.journal.call_count == 0


# -- the threaded handle ------------------------------------------------------------------------


def test_threaded_server_serves_sync_code_and_other_loops() -> None:
    with ThreadedMockServer(FAST) as server:
        request = urllib.request.Request(
            f"{server.url}/api/chat", method="POST", headers={"Cookie": "next-auth.session-token=x"}
        )
        with urllib.request.urlopen(request) as response:
            chat_id = json.loads(response.read())["id"]
        assert [c.id for c in server.chats()] == [chat_id]

        async def converse() -> str:
            texts = OpenAssistant(base_url=server.url, cookies=ALICE).create_async_generator(
                messages=HELLO
            )
            return "".join([text async for text in texts])

        assert asyncio.run(converse())
        assert asyncio.run(converse())  # a second loop, the same server
        server.add_fault("status:503", times=1)
        assert len(server.faults.rules) == 1
        server.reset()
        assert server.chats() == []
        assert server.faults.rules == []
        assert server.problems() == []
    with pytest.raises(Exception, match="not running"):
        _ = server.url


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("fault", "clean_end"), [("drop-after:2", False), ("truncate-after:2", True)]
)
async def test_drop_breaks_the_chunked_framing_truncate_does_not(
    server: MockServer, fault: str, clean_end: bool
) -> None:
    async with aiohttp.ClientSession(cookies=ALICE) as http:
        async with http.post(f"{server.url}/api/chat") as response:
            chat_id = (await response.json())["id"]
        body = {"chat_id": chat_id, "content": "hi", "parent_id": None}
        async with http.post(f"{server.url}/api/chat/prompter_message", json=body) as response:
            prompt_id = (await response.json())["id"]
        body = {"chat_id": chat_id, "parent_id": prompt_id, "model_config_name": "_lorem",
                "sampling_parameters": {}, "plugins": []}
        async with http.post(f"{server.url}/api/chat/assistant_message", json=body) as response:
            reply_id = (await response.json())["id"]
        params = {"chat_id": chat_id, "message_id": reply_id}
        async with http.get(
            f"{server.url}/api/chat/events", params=params, headers={FAULT_HEADER: fault}
        ) as response:
            if clean_end:
                data = await response.read()
                assert data.count(b'"event_type": "token"') == 2
                assert b'"event_type": "message"' not in data
            else:
                with pytest.raises(aiohttp.ClientPayloadError):
                    await response.read()


@pytest.mark.asyncio
@pytest.mark.parametrize("timing", ["instant", "rechunk"])
async def test_stream_faults_on_replayed_streams(timing: str) -> None:
    from oa_mockserver import library_path

    config = ServerConfig(
        token_interval=0.0,
        first_token_delay=0.0,
        cassettes=str(library_path() / "web" / "seed_example.yaml"),
        replay_timing=timing,
    )
    async with MockServer(config) as running:
        running.add_fault("error-after:1")
        messages = [{"role": "user", "content": "Привет, как дела?"}]
        texts = provider(running).create_async_generator(messages=messages)
        if timing == "instant":
            # whole recorded events: the fault counts them and cuts in after the first token
            with pytest.raises(GenerationError) as info:
                _ = [text async for text in texts]
            assert info.value.partial_text
        else:
            # rechunked pieces are not whole events: they pass unchanged, and nothing breaks
            assert "".join([text async for text in texts])
        assert running.problems() == []
