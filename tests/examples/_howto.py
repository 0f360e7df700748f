"""What every how-to's conversation needs: a prompt, a session cookie, and the reply's tokens."""

from __future__ import annotations

from contextlib import aclosing
from typing import Any

from _helpers.conversation import ALICE, HELLO

from oa_provider import OpenAssistant

__all__ = ["ALICE", "HELLO", "ask"]


async def ask(base_url: str, **options: Any) -> list[str]:
    """One conversation as Alice (``options``: the provider's), its tokens; the chat is deleted
    even when the test stops reading early."""
    stream = OpenAssistant.create_async_generator(
        messages=HELLO, base_url=base_url, cookies=ALICE, **options
    )
    async with aclosing(stream) as tokens:
        return [token async for token in tokens]
