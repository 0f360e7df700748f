"""The dashboard: the page at ``/__admin/ui``, its live feed at ``/__admin/ui/events``, and
``/__admin/ui/answers/{seq}``, the answers sent while a page watched (see :class:`AnswerLog`).

The feed is Server-Sent Events. While a page is subscribed, its task polls the server's state
:data:`POLL_S` apart and sends what changed: new journal entries (from its cursor, the
journal's sequence ids), the chunks of the event streams being written, and the faults, chats,
strict replay misses and health figures when they differ from what it last sent. Nothing of it
runs when no page is open: the chat routes do no work for the dashboard (the guard notes the
streams it opens and the answers it sends only while :attr:`ServerContext.live_streams` and
:attr:`ServerContext.answers` are set, i.e. while a page watches), and the stream writer is
never touched.

A page that reads slowly never slows the server: the feed keeps no queue of its own. Its
buffer is the connection's, bounded twice: the kernel's send buffer is set to
:data:`FEED_SNDBUF` (no autotuning to megabytes), and aiohttp makes a write wait once the
transport holds its high-water mark. So a slow page only makes its own task wait, and the next
poll sends it everything new in one message; a page that accepts nothing for
:data:`WRITE_TIMEOUT_S` is dropped (it reconnects from its cursor).

Access: the feed is an admin route like the others (:func:`.guard.admin_refusal`). The page
itself is a static file holding no data; it is refused to other sites and, without a token,
to Host names other than loopback, as the admin API is, but served without the token (a
browser cannot send one when it opens a link): the page asks for it, or reads it from the
link's ``#token=`` fragment, which never leaves the browser, and sends it on every request.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import Coroutine
from typing import Any

from aiohttp import hdrs, web

from ..._control.answer_log import AnswerLog
from ..._control.dashboard import (
    chat_view,
    health_view,
    row_from_call,
    stream_key,
    timeline_of_log,
    user_label,
)
from ..._control.dashboard_page import content_security_policy, page_html
from ..._control.faults import rule_to_json
from ..._control.journal import JournalPageError, call_summary, raw_headers, redacted_target
from ..auth import AuthError, bearer_user, web_user
from ..context import CONTEXT, ServerContext
from ..guard import admin_checked, admin_refusal, announce
from ..responses import json_detail
from .admin import ADMIN_PREFIX

__all__ = ["POLL_S", "UI_PATH", "WRITE_TIMEOUT_S", "add_ui_routes", "dashboard_url"]

UI_PATH = ADMIN_PREFIX + "ui"
#: Seconds between two polls of a subscribed feed.
POLL_S = 0.2
#: A page that takes longer than this to accept one message is dropped.
WRITE_TIMEOUT_S = 10.0
#: The kernel's send buffer of a feed's connection (Linux doubles it): with aiohttp's own
#: high-water mark, what a page that reads nothing can hold of the server's memory.
FEED_SNDBUF = 64 * 1024
#: Journal entries sent in one message at most (the rest follow at the next polls).
_BATCH = 1000
_SLICE = 50  # rows built between two yields to the loop
_CHATS_SHOWN = 50
_STARTED = web.AppKey("oa_mockserver.ui_started", float)


def dashboard_url(base_url: str) -> str:
    """The dashboard's address on the server at ``base_url`` (``http://host:port``)."""
    return base_url.rstrip("/") + UI_PATH


class _Hub:
    """The subscribed feeds of one app: how many, and the signal that the app stops."""

    def __init__(self) -> None:
        self.subscribers = 0
        self.stopping = asyncio.Event()

    def join(self, ctx: ServerContext) -> None:
        self.subscribers += 1
        if ctx.live_streams is None:
            ctx.live_streams = {}
        if ctx.answers is None:
            ctx.answers = AnswerLog()

    def leave(self, ctx: ServerContext) -> None:
        self.subscribers -= 1
        if self.subscribers == 0:
            # no page: the guard stops noting streams and answers (those kept go too)
            ctx.live_streams = None
            ctx.answers = None

    async def pause(self, seconds: float) -> bool:
        """Wait ``seconds``; False when the app is stopping."""
        await _within(self.stopping.wait(), seconds)
        return not self.stopping.is_set()


_HUB = web.AppKey("oa_mockserver.ui_hub", _Hub)


async def _within(awaitable: Coroutine[Any, Any, Any], seconds: float) -> bool:
    """Await ``awaitable`` for at most ``seconds``; False (and it cancelled) when it took longer.

    Why not ``asyncio.wait_for``: before Python 3.11 its timeout is ``asyncio.TimeoutError``,
    not the builtin, and on 3.10 and 3.11 it can swallow a cancel of the caller (the server
    stopping) that lands as the awaitable finishes.
    """
    task = asyncio.ensure_future(awaitable)
    try:
        done, _ = await asyncio.wait((task,), timeout=seconds)
    finally:
        if not task.done():
            task.cancel()
    if done:
        task.result()  # its exception, if any
    return bool(done)


async def _page(request: web.Request) -> web.StreamResponse:
    refused = await admin_refusal(request)
    # Only the token missing (a server that has one): the page holds no data, and asks for it.
    if refused is not None and not (
        refused.status == 401 and request.app[CONTEXT].config.admin_token is not None
    ):
        announce(refused)
        return refused
    response = web.Response(
        text=page_html(), content_type="text/html", charset="utf-8",
        headers={
            hdrs.CACHE_CONTROL: "no-store",
            "Content-Security-Policy": content_security_policy(),
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer",
        },
    )  # fmt: skip
    announce(response)
    return response


def _sse(event: str, data: Any) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def _user_of(ctx: ServerContext, headers: str | None) -> str | None:
    """The label of the user who sent a request (from its raw headers), or None."""
    if not headers:
        return None
    cookie = authorization = None
    for line in headers.split("\r\n"):
        name, _, value = line.partition(": ")
        lowered = name.lower()
        if lowered == "cookie":
            cookie = value
        elif lowered == "authorization":
            authorization = value
    if cookie:
        pairs = (part.strip().partition("=") for part in cookie.split(";"))
        owner = web_user({name: value for name, _, value in pairs})
        if owner is not None:
            return user_label(owner)
    if authorization:
        try:
            return user_label(bearer_user(ctx.auth, authorization))
        except AuthError:
            return None
    return None


class _Feed:
    """What one subscriber was sent, so each poll sends only what changed."""

    def __init__(self, request: web.Request, response: web.StreamResponse, after: int) -> None:
        self.app = request.app
        self.ctx = request.app[CONTEXT]
        self.response = response
        self.cursor = after
        self.streams: dict[str, int] = {}  # live stream key -> chunks sent
        self.last: dict[str, str] = {}  # state part -> the JSON sent last
        self.chat_mark: Any = None

    async def send(self, event: str, data: Any) -> None:
        if not await _within(self.response.write(_sse(event, data)), WRITE_TIMEOUT_S):
            raise TimeoutError(f"the page read nothing for {WRITE_TIMEOUT_S} s")

    async def requests(self) -> None:
        journal = self.ctx.journal
        if journal.last_seq <= self.cursor:
            return
        try:
            window = journal.window(self.cursor, _BATCH)
        except JournalPageError:  # a cursor from another server: start over
            window = journal.window(0, _BATCH)
        offset = time.time() - time.monotonic()
        rows = []
        for start in range(0, len(window.items), _SLICE):
            if start:
                await asyncio.sleep(0)  # a big batch must not stall the chat routes
            for seq, item in window.items[start : start + _SLICE]:
                outcome = self.ctx.replay_log.get(seq)
                rows.append(
                    row_from_call(
                        call_summary(seq, item),
                        clock_offset=offset,
                        user=_user_of(self.ctx, raw_headers(item)),
                        replay=outcome.to_json() if outcome is not None else None,
                    )
                )
        self.cursor = window.next_after
        await self.send("requests", {"rows": rows, "missed": window.missed})

    async def live(self) -> None:
        live = self.ctx.live_streams or {}
        offset = time.time() - time.monotonic()
        seen = set()
        for log, path_qs in list(live.values()):
            if not log.started:
                continue  # not started yet: nothing to draw
            key = stream_key(log.started)
            seen.add(key)
            count = len(log.times)
            if not count or self.streams.get(key) == count:
                continue  # nothing written yet, or nothing new
            self.streams[key] = count
            shown = timeline_of_log(log, clock_offset=offset, live=True)
            await self.send("stream", {"path": redacted_target(path_qs), "timeline": shown})
        for key in set(self.streams) - seen:
            del self.streams[key]  # ended: its journal entry carries the whole timeline

    async def state(self) -> None:
        ctx = self.ctx
        # with a Redis store: the chats this process holds; the rules of every process
        chats = ctx.store.chats()
        rules = ctx.faults.rules + (ctx.shared.faults.rules if ctx.shared is not None else [])
        parts = {
            "faults": [rule_to_json(rule) for rule in rules],
            "misses": [
                {"seq": seq, **outcome.to_json()} for seq, outcome in ctx.replay_log.misses()
            ],
            "health": health_view(
                uptime_s=time.monotonic() - self.app[_STARTED],
                requests=ctx.journal.call_count,
                dropped=ctx.journal.dropped,
                handler_errors=len(ctx.handler_errors),
                open_streams=ctx.open_streams,
                chats=len(chats),
                faults=len(rules),
            ),
        }
        shown = chats[-_CHATS_SHOWN:]
        # the content is redacted only when a chat changed: most polls see none change
        mark = [(c.id, [(m.id, m.state) for m in c.messages.values()]) for c in shown]
        if mark != self.chat_mark:
            self.chat_mark = mark
            parts["chats"] = [
                chat_view(
                    chat_id=c.id,
                    owner=c.owner,
                    title=c.title,
                    messages=[m.read() for m in c.messages.values()],
                )
                for c in shown
            ]
        for name, value in parts.items():
            text = json.dumps(value, sort_keys=True)
            if self.last.get(name) != text:
                self.last[name] = text
                await self.send(name, value)


async def _events(request: web.Request) -> web.StreamResponse:
    """The live feed (SSE): ``?after=SEQ`` resumes after a journal sequence id."""
    after_text = request.query.get("after", "0")
    after = int(after_text) if _is_number(after_text) and len(after_text) < 19 else 0
    hub = request.app[_HUB]
    ctx = request.app[CONTEXT]
    response = web.StreamResponse(
        headers={
            hdrs.CONTENT_TYPE: "text/event-stream; charset=utf-8",
            hdrs.CACHE_CONTROL: "no-store",
            "X-Accel-Buffering": "no",
        }
    )
    announce(response)
    sock = request.transport.get_extra_info("socket") if request.transport else None
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, FEED_SNDBUF)
    await response.prepare(request)
    feed = _Feed(request, response, after)
    hub.join(ctx)
    try:
        await feed.send("hello", {"poll_s": POLL_S, "journal_limit": ctx.journal.limit})
        while True:
            await feed.requests()
            await feed.live()
            await feed.state()
            if not await hub.pause(POLL_S):
                break
    except TimeoutError:
        # the page stopped reading: end its connection now (a graceful end would wait on the
        # full send buffer for as long as the page does not read)
        if request.transport is not None:
            request.transport.abort()
    except ConnectionError:
        pass  # the page went away: nothing to send it any more
    finally:
        hub.leave(ctx)
    return response


def _is_number(text: str) -> bool:
    """ASCII digits only (``str.isdigit`` also takes "²", which ``int`` refuses)."""
    return text.isascii() and text.isdigit()


async def _answer(request: web.Request) -> web.Response:
    """``GET /__admin/ui/answers/{seq}``: the answer to a request made while a page watched."""
    answers = request.app[CONTEXT].answers
    seq_text = request.match_info["seq"]
    kept = answers.read(int(seq_text)) if answers is not None and _is_number(seq_text) else None
    if kept is None:
        return json_detail(
            404,
            f"no answer kept for request {seq_text}: answers are kept only while a dashboard "
            "page watches, the latest few hundred, and never for event streams",
        )
    return web.json_response(kept)


async def _stop_feeds(app: web.Application) -> None:
    app[_HUB].stopping.set()


def add_ui_routes(app: web.Application) -> None:
    """Register the dashboard's page and feed on ``app`` (before the fallback route)."""
    app[_STARTED] = time.monotonic()
    app[_HUB] = _Hub()

    app.router.add_get(UI_PATH, _page)
    app.router.add_get(UI_PATH + "/events", admin_checked(_events))
    app.router.add_get(UI_PATH + "/answers/{seq}", admin_checked(_answer))
    app.on_shutdown.append(_stop_feeds)
