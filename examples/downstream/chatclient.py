"""A tiny OpenAssistant chat client: the kind of code the oa_mockserver plugin is made to test.

It speaks the web site's API with aiohttp: create a chat, post the prompt, ask for a reply,
stream the reply's Server-Sent Events, and delete the chat whatever happens.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

__all__ = ["ChatError", "stream_reply"]

MODEL = "OA_SFT_Llama_30B_6"


class ChatError(RuntimeError):
    """The server answered an error status or sent an ``error`` event."""


async def _post(http: aiohttp.ClientSession, url: str, body: Any = None) -> dict[str, Any]:
    async with http.post(url, json=body) as response:
        if response.status != 200:
            raise ChatError(f"POST {url} answered {response.status}: {await response.text()}")
        data: dict[str, Any] = await response.json()
        return data


async def _events(response: aiohttp.ClientResponse) -> AsyncIterator[dict[str, Any]]:
    # The server frames one event per "data: ...\r\n\r\n" block; ": ping" lines are comments.
    buffer = b""
    async for chunk in response.content.iter_any():
        buffer += chunk
        while b"\r\n\r\n" in buffer:
            block, buffer = buffer.split(b"\r\n\r\n", 1)
            for line in block.split(b"\r\n"):
                if line.startswith(b"data:"):
                    yield json.loads(line[5:])


async def stream_reply(base_url: str, prompt: str, *, user: str = "me") -> AsyncIterator[str]:
    """Yield the assistant's reply to ``prompt``, token by token, from the server at ``base_url``.

    Raises:
        ChatError: the server refused a request or reported a generation error.
    """
    cookies = {"next-auth.session-token": user}
    async with aiohttp.ClientSession(cookies=cookies) as http:
        chat = await _post(http, f"{base_url}/api/chat")
        try:
            prompter = await _post(
                http,
                f"{base_url}/api/chat/prompter_message",
                {"chat_id": chat["id"], "content": prompt, "parent_id": None},
            )
            assistant = await _post(
                http,
                f"{base_url}/api/chat/assistant_message",
                {"chat_id": chat["id"], "parent_id": prompter["id"], "model_config_name": MODEL},
            )
            params = {"chat_id": chat["id"], "message_id": assistant["id"]}
            async with http.get(f"{base_url}/api/chat/events", params=params) as response:
                async for event in _events(response):
                    if event["event_type"] == "token":
                        yield event["text"]
                    elif event["event_type"] == "error":
                        raise ChatError(f"generation failed: {event['error']}")
        finally:
            # Leave no chat behind, also when the caller stops early.
            async with http.delete(f"{base_url}/api/chat", params={"chat_id": chat["id"]}):
                pass
