"""The web site's first three requests of a conversation, for tests that then read the events."""

from __future__ import annotations

from typing import Any

import aiohttp


async def ask_for_reply(
    http: aiohttp.ClientSession, url: str, prompt: str, model: str, **options: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Create a chat, post `prompt` and ask `model` for the reply (`options` go into that
    request's body); return the chat and the assistant message whose events the caller reads."""
    chat = await (await http.post(f"{url}/api/chat")).json()
    prompter = await (
        await http.post(
            f"{url}/api/chat/prompter_message",
            json={"chat_id": chat["id"], "content": prompt, "parent_id": None},
        )
    ).json()
    assistant = await (
        await http.post(
            f"{url}/api/chat/assistant_message",
            json={
                "chat_id": chat["id"],
                "parent_id": prompter["id"],
                "model_config_name": model,
                **options,
            },
        )
    ).json()
    return chat, assistant
