"""What every gpt4free test asserts about the mock server afterwards: the chat is gone."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from oa_mockserver import ThreadedMockServer
from oa_provider import OpenAssistant as CoreProvider

ME = {"next-auth.session-token": "g4f-user"}
HELLO = [{"role": "user", "content": "Hello from gpt4free"}]


def deletes(server: ThreadedMockServer) -> list[tuple[str | None, int]]:
    """The (chat_id, status) of every DELETE of a chat."""
    return [
        (call.query.get("chat_id"), call.status)
        for call in server.journal.calls
        if call.step == "delete_chat"
    ]


def assert_chat_deleted(server: ThreadedMockServer, *, created: int = 1) -> None:
    """``created`` chats were made, each was DELETEd (200), and none is left."""
    __tracebackhide__ = True
    made = [c for c in server.journal.calls if c.step == "create_chat" and c.status == 200]
    assert len(made) == created, [c.describe() for c in server.journal.calls]
    seen = deletes(server)
    assert len([status for _, status in seen if status == 200]) == created, seen
    for chat_id, _ in seen:
        assert chat_id is not None
        server.assert_chat_deleted(chat_id)
    server.assert_no_chats_left()


def run(coroutine_function: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    """Run a coroutine on a fresh loop in a thread of its own: callable from sync and async
    tests alike (an async test's loop is already running in this thread)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine_function()).result(timeout=30)


def expected_reply(server: ThreadedMockServer, messages: list[dict[str, str]]) -> str:
    """The reply oa_provider gets for ``messages`` (the mock's replies are deterministic)."""

    async def chat() -> str:
        return "".join(
            [
                text
                async for text in CoreProvider.create_async_generator(
                    messages=messages, base_url=server.url, cookies=ME
                )
            ]
        )

    reply: str = run(chat)
    server.reset()  # the tests' journal then holds their own calls only
    return reply
