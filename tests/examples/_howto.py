"""What every how-to's conversation needs: a prompt, a session cookie, and the reply's tokens."""

from __future__ import annotations

from contextlib import aclosing
from typing import Any

from oa_provider import OpenAssistant

HELLO = [{"role": "user", "content": "hello"}]
ALICE = {"next-auth.session-token": "alice"}


async def ask(base_url: str, **options: Any) -> list[str]:
    """One conversation as Alice (``options``: the provider's), its tokens; the chat is deleted
    even when the test stops reading early."""
    stream = OpenAssistant.create_async_generator(
        messages=HELLO, base_url=base_url, cookies=ALICE, **options
    )
    async with aclosing(stream) as tokens:
        return [token async for token in tokens]
