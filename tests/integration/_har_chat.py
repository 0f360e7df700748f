"""The browser page's conversation (scripts/make_browser_har.py) run with aiohttp, to replay a
cassette imported from its HAR: the same requests, bodies and order, tokens read per turn."""

from __future__ import annotations

import json
from typing import Any

import aiohttp


def tokens_of(stream: bytes) -> list[str]:
    """The token texts of an event stream (events split at blank lines, ``data:`` lines)."""
    tokens = []
    for line in stream.decode().replace("\r\n", "\n").split("\n"):
        if line.startswith("data: "):
            event = json.loads(line[6:])
            if event.get("event_type") == "token":
                tokens.append(event["text"])
    return tokens


async def converse(
    url: str, prompts: list[str] | tuple[str, ...], model: str, sampling: dict[str, Any]
) -> list[list[str]]:
    """Create a chat, run each prompt as a turn (prompter, assistant, events), delete the chat."""
    headers = {"Cookie": "next-auth.session-token=replayer"}
    turns: list[list[str]] = []
    async with aiohttp.ClientSession(headers=headers, cookie_jar=aiohttp.DummyCookieJar()) as http:

        async def post(path: str, body: dict[str, Any] | None = None) -> Any:
            data = json.dumps(body, separators=(",", ":")) if body is not None else None
            async with http.post(
                url + path, data=data, headers={"Content-Type": "application/json"}
            ) as response:
                assert response.status == 200, await response.text()
                return await response.json()

        chat = await post("/api/chat")
        parent = None
        for prompt in prompts:
            prompter = await post(
                "/api/chat/prompter_message",
                {"chat_id": chat["id"], "content": prompt, "parent_id": parent},
            )
            assistant = await post(
                "/api/chat/assistant_message",
                {
                    "chat_id": chat["id"],
                    "parent_id": prompter["id"],
                    "model_config_name": model,
                    "sampling_parameters": sampling,
                    "plugins": [],
                },
            )
            query = {"chat_id": chat["id"], "message_id": assistant["id"]}
            async with http.get(url + "/api/chat/events", params=query) as response:
                assert response.status == 200
                turns.append(tokens_of(await response.read()))
            parent = assistant["id"]
        async with http.delete(url + "/api/chat", params={"chat_id": chat["id"]}) as response:
            assert response.status == 200
    return turns
