"""A tiny scriptable web site for the provider's error paths (real loopback HTTP).

The mock server models the real service; this fake only answers what a test scripts: a status
for one route, an event stream made of raw chunks, pauses and a dropped connection.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from aiohttp import web
from aiohttp.test_utils import TestServer

SESSION = {"next-auth.session-token": "fake-session-secret-1234"}
DROP = "drop"  # in an events script: cut the connection without the terminating chunk
USER = [{"role": "user", "content": "Привет, как дела?"}]
#: The provider's five requests, in order (protocol.md section 2).
FIVE = [
    "POST /api/chat",
    "POST /api/chat/prompter_message",
    "POST /api/chat/assistant_message",
    "GET /api/chat/events",
    "DELETE /api/chat",
]


def sse(obj: dict[str, Any]) -> bytes:
    """One event as the real server frames it."""
    return f"data: {json.dumps(obj)}\r\n\r\n".encode()


def message(chat_id: str, content: str | None, state: str = "complete") -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "parent_id": None,
        "content": content,
        "chat_id": chat_id,
        "created_at": "2026-11-23T19:40:11.905010",
        "role": "assistant",
        "state": state,
        "score": 0,
        "reports": [],
        "work_parameters": None,
        "safe_content": None,
        "safety_level": None,
        "safety_label": None,
        "safety_rots": None,
        "used_plugin": None,
    }


def token_script(chat_id: str, tokens: list[str]) -> list[Any]:
    return [sse({"event_type": "token", "text": t}) for t in tokens] + [
        sse({"event_type": "message", "message": message(chat_id, "".join(tokens))})
    ]


@dataclass
class Reply:
    status: int
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    times: int | None = None  # answer only the next N requests (then the route is normal)
    chunked: bool = False  # send the body in 64 KiB chunks, without a Content-Length
    drop: bool = False  # close the connection instead of answering


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    json: Any
    headers: dict[str, str]
    peer: Any  # the client's (host, port): tells connections apart


@dataclass
class FakeSite:
    """What the fake answers. ``script`` items: bytes (one chunk), float (a pause), DROP."""

    tokens: list[str] = field(default_factory=lambda: ["Hello", ", ", "world", "!"])
    replies: dict[tuple[str, str], Reply] = field(default_factory=dict)
    script: list[Any] | None = None
    events_status: int = 200
    final: dict[str, Any] | None = None  # what GET /api/chat/message answers
    calls: list[Call] = field(default_factory=list)
    live_chats: set[str] = field(default_factory=set)
    # Routes whose client hung up during a scripted delay (the request was abandoned).
    abandoned: list[str] = field(default_factory=list)
    url: str = ""

    def paths(self) -> list[str]:
        return [f"{c.method} {c.path}" for c in self.calls]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.calls.append(
            Call(
                request.method,
                request.path,
                dict(request.query),
                json.loads(body) if body else None,
                dict(request.headers),
                request.transport.get_extra_info("peername") if request.transport else None,
            )
        )
        if "next-auth.session-token" not in request.cookies:
            return web.Response(status=403)
        reply = self.replies.get((request.method, request.path))
        if reply is not None and reply.times is not None:
            if reply.times <= 0:
                reply = None
            else:
                reply.times -= 1
        if reply is not None:
            await asyncio.sleep(reply.delay)
            if request.transport is None or request.transport.is_closing():
                self.abandoned.append(f"{request.method} {request.path}")
            if reply.drop:
                assert request.transport is not None
                request.transport.close()
                return web.Response()
            if reply.chunked:
                return await _chunked(request, reply)
            if reply.status:
                return web.Response(status=reply.status, text=reply.body, headers=reply.headers)
        route = (request.method, request.path)
        rest = rest_reply(request, self.live_chats)
        if rest is not None:
            return rest
        if route == ("GET", "/api/chat/message"):
            return web.json_response(
                self.final or message(request.query["chat_id"], None, "pending")
            )
        if route == ("GET", "/api/chat/events"):
            return await self._events(request)
        return web.Response(status=404)

    async def _events(self, request: web.Request) -> web.StreamResponse:
        if self.events_status != 200:
            return web.Response(status=self.events_status)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        script = (
            self.script
            if self.script is not None
            else token_script(request.query["chat_id"], self.tokens)
        )
        for item in script:
            if item == DROP:
                assert request.transport is not None
                request.transport.close()
                return response
            if isinstance(item, float):
                await asyncio.sleep(item)
            else:
                await response.write(item)
        await response.write_eof()
        return response


async def _chunked(request: web.Request, reply: Reply) -> web.StreamResponse:
    response = web.StreamResponse(status=reply.status, headers=reply.headers)
    response.enable_chunked_encoding()
    await response.prepare(request)
    body = reply.body.encode()
    try:
        for start in range(0, len(body), 65536):
            await response.write(body[start : start + 65536])
        await response.write_eof()
    except ConnectionError:
        pass  # the client stopped reading: what a size limit does
    return response


def rest_reply(request: web.Request, live_chats: set[str]) -> web.Response | None:
    """The web site's answer to the conversation's REST calls (create, post a message, delete),
    keeping ``live_chats``; None for any other route."""
    route = (request.method, request.path)
    if route == ("POST", "/api/chat"):
        chat_id = str(uuid.uuid4())
        live_chats.add(chat_id)
        return web.json_response({"id": chat_id})
    if route in (
        ("POST", "/api/chat/prompter_message"),
        ("POST", "/api/chat/assistant_message"),
    ):
        return web.json_response({"id": str(uuid.uuid4())})
    if route == ("DELETE", "/api/chat"):
        live_chats.discard(request.query["chat_id"])
        return web.Response()
    return None


class Site(Protocol):
    """A fake web site: :func:`serve` routes every request to its ``_handle``."""

    url: str

    async def _handle(self, request: web.Request) -> web.StreamResponse: ...


_S = TypeVar("_S", bound=Site)


@asynccontextmanager
async def serve(site: _S) -> AsyncIterator[_S]:
    """``site`` on a free loopback port (its ``url`` set) for the block."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", site._handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    site.url = str(server.make_url("")).rstrip("/")
    try:
        yield site
    finally:
        await server.close()


async def chat(site: FakeSite, **kwargs: Any) -> str:
    """One conversation of the provider with ``site``: the reply's text."""
    from oa_provider import OpenAssistant

    options: dict[str, Any] = {"base_url": site.url, "cookies": SESSION, **kwargs}
    return "".join(
        [t async for t in OpenAssistant.create_async_generator(messages=USER, **options)]
    )


async def cancelled_after_first_token(
    base_url: str,
    messages: list[dict[str, str]] = USER,
    cookies: dict[str, str] = SESSION,
) -> asyncio.Task[None]:
    """A conversation with ``base_url``, cancelled once its first token has arrived.

    The task is returned cancelling; awaiting it raises :class:`asyncio.CancelledError`.
    """
    from oa_provider import OpenAssistant

    first = asyncio.Event()

    async def consume() -> None:
        async for _ in OpenAssistant.create_async_generator(
            messages=messages, base_url=base_url, cookies=cookies
        ):
            first.set()

    task = asyncio.ensure_future(consume())
    await first.wait()
    task.cancel()
    return task
