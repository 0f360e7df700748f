"""The provider against the mock server over loopback HTTP: the exact five requests of
protocol.md, the seed's own example, multi-turn and system prompts, cookies from the environment
and from a cookies.txt, and the chat deleted after success, aclose() and cancellation."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from _fakes import cancelled_after_first_token
from _helpers.conversation import ALICE

from oa_mockserver import MockServer, ServerConfig
from oa_provider import (
    DEFAULT_SAMPLING_PARAMETERS,
    InvalidRequestError,
    MessageEvent,
    MissingCredentialsError,
    OpenAssistant,
    TokenEvent,
)

SEED = [{"role": "user", "content": "Привет, как дела?"}]


async def collect(**kwargs: Any) -> str:
    return "".join([text async for text in OpenAssistant.create_async_generator(**kwargs)])


def requests(server: MockServer) -> list[tuple[str, str]]:
    return [(call.method, call.path) for call in server.journal.calls]


@pytest.mark.asyncio
async def test_the_seeds_example_end_to_end(server: MockServer) -> None:
    provider = OpenAssistant()
    text = "".join(
        [
            t
            async for t in provider.create_async_generator(
                messages=SEED, base_url=server.url, cookies=ALICE
            )
        ]
    )
    assert text
    calls = server.journal.calls
    assert requests(server) == [
        ("POST", "/api/chat"),
        ("POST", "/api/chat/prompter_message"),
        ("POST", "/api/chat/assistant_message"),
        ("GET", "/api/chat/events"),
        ("DELETE", "/api/chat"),
    ]
    assert [call.status for call in calls] == [200] * 5
    assert not calls[0].body
    chat_id = calls[1].json["chat_id"]
    assert calls[1].json == {"chat_id": chat_id, "content": SEED[0]["content"], "parent_id": None}
    assistant = calls[2].json
    assert assistant == {
        "chat_id": chat_id,
        "parent_id": assistant["parent_id"],
        "model_config_name": "OA_SFT_Llama_30B_6",
        "sampling_parameters": dict(DEFAULT_SAMPLING_PARAMETERS),
        "plugins": [],
    }
    assert calls[3].query["chat_id"] == chat_id
    assert calls[3].query["message_id"]
    assert calls[4].query == {"chat_id": chat_id}
    assert not server.chats()


@pytest.mark.asyncio
async def test_typed_events_end_with_the_whole_message(server: MockServer) -> None:
    events = [
        e
        async for e in OpenAssistant.create_event_stream(
            messages=SEED, base_url=server.url, cookies=ALICE
        )
    ]
    final = events[-1]
    assert isinstance(final, MessageEvent)
    tokens = [e.text for e in events if isinstance(e, TokenEvent)]
    assert len(tokens) == 16
    assert final.message.content == "".join(tokens)


@pytest.mark.asyncio
async def test_multi_turn_and_system_prompt(server: MockServer) -> None:
    await collect(
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": "How are you?"},
        ],
        base_url=server.url,
        cookies=ALICE,
        preset="k50-Precise",
        max_new_tokens=64,
    )
    calls = server.journal.calls
    assert calls[1].json["content"] == "User: Hi\nAssistant: Hello!\nUser: How are you?\nAssistant:"
    assert calls[2].json["system_prompt"] == "Be brief."
    assert calls[2].json["sampling_parameters"]["temperature"] == 0.1
    assert calls[2].json["sampling_parameters"]["max_new_tokens"] == 64


@pytest.mark.asyncio
async def test_cookies_from_the_environment(
    server: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OA_COOKIES", "next-auth.session-token=from-env; theme=dark")
    monkeypatch.setenv("OA_BASE_URL", server.url)
    assert await collect(messages=SEED)
    assert not server.chats()


@pytest.mark.asyncio
async def test_cookies_from_a_cookies_txt_for_127_0_0_1(
    server: MockServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "cookies.txt"
    path.write_text(
        "# Netscape HTTP Cookie File\n"
        "#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t0\tnext-auth.session-token\tfrom-file\n"
        ".example.org\tTRUE\t/\tFALSE\t0\tnext-auth.session-token\tnot-this-one\n"
    )
    monkeypatch.setenv("OA_COOKIE_FILE", str(path))
    assert await collect(messages=SEED, base_url=server.url)
    assert requests(server)[-1] == ("DELETE", "/api/chat")


@pytest.mark.asyncio
async def test_no_credentials_means_no_request(server: MockServer) -> None:
    with pytest.raises(MissingCredentialsError):
        await collect(messages=SEED, base_url=server.url)
    assert server.journal.calls == []


@pytest.mark.asyncio
async def test_bad_arguments_fail_before_any_request(server: MockServer) -> None:
    with pytest.raises(TypeError, match="temperature"):
        await collect(messages=SEED, base_url=server.url, cookies=ALICE, temprature=0.5)
    with pytest.raises(ValueError, match=r"messages\[0\]"):
        await collect(
            messages=[{"role": "bot", "content": "x"}], base_url=server.url, cookies=ALICE
        )
    assert server.journal.calls == []


@pytest.mark.asyncio
async def test_unknown_model_is_invalid_request_with_the_servers_text(server: MockServer) -> None:
    with pytest.raises(InvalidRequestError, match="no_such_model"):
        await collect(messages=SEED, base_url=server.url, cookies=ALICE, model="no_such_model")
    assert requests(server)[-1] == ("DELETE", "/api/chat")
    assert not server.chats()


@pytest.mark.asyncio
async def test_aclose_and_cancellation_delete_the_chat() -> None:
    async with MockServer(ServerConfig(token_interval=0.05, reply_tokens=200)) as server:
        gen = OpenAssistant.create_async_generator(
            messages=SEED, base_url=server.url, cookies=ALICE
        )
        await gen.__anext__()
        assert len(server.chats()) == 1
        await gen.aclose()
        assert not server.chats()

        task = await cancelled_after_first_token(server.url, SEED, ALICE)
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not server.chats()


@pytest.mark.asyncio
async def test_an_instance_carries_connection_defaults(server: MockServer) -> None:
    provider = OpenAssistant(base_url=server.url, cookies=ALICE)
    assert "alice" not in repr(provider)
    assert "".join([t async for t in provider.create_async_generator(messages=SEED)])
    # The class itself has no defaults: the same call made on it finds no credentials.
    with pytest.raises(MissingCredentialsError):
        OpenAssistant.create_async_generator(messages=SEED, base_url=server.url)
    # Arguments of the call win over the instance's.
    other = OpenAssistant(base_url="http://127.0.0.1:9", cookies={"x": "y"})
    assert await collect_from(other, messages=SEED, base_url=server.url, cookies=ALICE)
    assert not server.chats()


async def collect_from(provider: OpenAssistant, **kwargs: Any) -> str:
    return "".join([text async for text in provider.create_async_generator(**kwargs)])
