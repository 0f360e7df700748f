"""gpt4free's four ways of calling a provider, each streaming or not, as one signature.

Each entry point takes ``(messages, **kwargs)`` and returns the reply as a list of text
chunks (one chunk when not streaming), so a test can run the same assertions on all eight.
The sync ones are called from sync tests (gpt4free runs its own event loop for them); the
async ones from async tests.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import g4f
from g4f.client import AsyncClient, Client

from oa_g4f import OpenAssistant

SyncCall = Callable[..., list[str]]
AsyncCall = Callable[..., Awaitable[list[str]]]


def completion_create(messages: list[dict[str, str]], **kwargs: Any) -> list[str]:
    text = g4f.ChatCompletion.create(
        model="", messages=messages, provider=OpenAssistant, **kwargs
    )
    assert isinstance(text, str)
    return [text]


def completion_create_stream(messages: list[dict[str, str]], **kwargs: Any) -> list[str]:
    return list(
        g4f.ChatCompletion.create(
            model="", messages=messages, provider=OpenAssistant, stream=True, **kwargs
        )
    )


def client_create(messages: list[dict[str, str]], **kwargs: Any) -> list[str]:
    response = Client(provider=OpenAssistant).chat.completions.create(
        messages=messages, **kwargs
    )
    assert response.choices[0].finish_reason == "stop"
    return [response.choices[0].message.content]


def client_create_stream(messages: list[dict[str, str]], **kwargs: Any) -> list[str]:
    chunks = list(
        Client(provider=OpenAssistant).chat.completions.create(
            messages=messages, stream=True, **kwargs
        )
    )
    assert chunks[-1].choices[0].finish_reason == "stop"
    return [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]


async def completion_create_async(messages: list[dict[str, str]], **kwargs: Any) -> list[str]:
    text = await g4f.ChatCompletion.create_async(
        model="", messages=messages, provider=OpenAssistant, **kwargs
    )
    assert isinstance(text, str)
    return [text]


async def completion_create_async_stream(
    messages: list[dict[str, str]], **kwargs: Any
) -> list[str]:
    stream = g4f.ChatCompletion.create_async(
        model="", messages=messages, provider=OpenAssistant, stream=True, **kwargs
    )
    return [chunk async for chunk in stream]


async def async_client_create(messages: list[dict[str, str]], **kwargs: Any) -> list[str]:
    response = await AsyncClient(provider=OpenAssistant).chat.completions.create(
        messages=messages, **kwargs
    )
    assert response.choices[0].finish_reason == "stop"
    return [response.choices[0].message.content]


async def async_client_create_stream(
    messages: list[dict[str, str]], **kwargs: Any
) -> list[str]:
    stream = AsyncClient(provider=OpenAssistant).chat.completions.create(
        messages=messages, stream=True, **kwargs
    )
    chunks = [chunk async for chunk in stream]
    assert chunks[-1].choices[0].finish_reason == "stop"
    return [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]


SYNC_CALLS: dict[str, SyncCall] = {
    "ChatCompletion.create": completion_create,
    "ChatCompletion.create(stream=True)": completion_create_stream,
    "Client.create": client_create,
    "Client.create(stream=True)": client_create_stream,
}
ASYNC_CALLS: dict[str, AsyncCall] = {
    "ChatCompletion.create_async": completion_create_async,
    "ChatCompletion.create_async(stream=True)": completion_create_async_stream,
    "AsyncClient.create": async_client_create,
    "AsyncClient.create(stream=True)": async_client_create_stream,
}
STREAMING = {name for name in [*SYNC_CALLS, *ASYNC_CALLS] if "stream=True" in name}
