"""The admin API under ``/__admin/``: the journal, the chats, resets and faults, as JSON.

The same operations as the :class:`MockServer` handle, for a server in another process (the
command line) or a client in another language. Answers are JSON; a bad request is 400 with
``{"detail": ...}`` saying what to send instead.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ..._control.faults import FaultRule, parse_fault_header, rule_from_json, rule_to_json
from ..._control.journal import DEFAULT_PAGE_SIZE, JournalPageError, call_of
from ..._exceptions import FaultSpecError
from ..context import CONTEXT

if TYPE_CHECKING:
    from ..redis_control import SharedFaults, SharedJournal
from ..routing import RouteTable

__all__ = ["ADMIN_PREFIX", "add_admin_routes", "rules_from_payload"]

ADMIN_PREFIX = "/__admin/"
_STARTED = web.AppKey("oa_mockserver.started", float)
#: Calls serialized between two yields to the loop while a journal page is built: each call
#: costs 0.1-0.25 ms (redaction, JSON), so a slice keeps other requests waiting a few
#: milliseconds at most, whatever the size of the page.
_SLICE = 10
_DIGITS = re.compile(r"[0-9]{1,18}")


def _json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(data, ensure_ascii=False).encode(),
        content_type="application/json",
    )


def rules_from_payload(payload: Any) -> list[FaultRule]:
    """Fault rules from the admin JSON: ``{"faults": [...]}``, one rule object, or a header spec.

    Raises:
        FaultSpecError: the payload is none of those, or a rule is invalid.
    """
    if isinstance(payload, dict) and isinstance(payload.get("header"), str):
        return parse_fault_header(payload["header"])
    if isinstance(payload, dict) and "faults" in payload:
        items = payload["faults"]
        if not isinstance(items, list):
            raise FaultSpecError('"faults" must be a list of fault objects')
        return [rule_from_json(item) for item in items]
    if isinstance(payload, dict) and "kind" in payload:
        return [rule_from_json(payload)]
    raise FaultSpecError(
        'send {"faults": [{"kind": "status", "status": 503, "step": "assistant_message", '
        '"times": 1}]}, one such object, or {"header": "status:503;times=1"}'
    )


def _query_int(request: web.Request, name: str, default: int) -> int:
    value = request.query.get(name)
    if value is None:
        return default
    if not _DIGITS.fullmatch(value):
        raise JournalPageError(f"{name} must be a whole number, got {value!r}")
    return int(value)


async def _requests(request: web.Request) -> web.Response:
    """A page of the journal: ``?after=SEQ`` (default 0) and ``?limit=N`` (default 100)."""
    ctx = request.app[CONTEXT]
    journal = ctx.journal
    if ctx.shared is not None:  # every process's calls, from Redis
        return await _shared_requests(request, ctx.shared.journal)
    if request.method == "DELETE":
        return _json_response({"cleared": journal.clear()})
    try:
        window = journal.window(
            _query_int(request, "after", 0), _query_int(request, "limit", DEFAULT_PAGE_SIZE)
        )
    except JournalPageError as error:
        return _json_response({"detail": str(error)}, status=400)
    items = window.items
    parts: list[bytes] = []
    for start in range(0, len(items), _SLICE):
        if start:
            await asyncio.sleep(0)  # let other requests run: a big page must not stall them
        # "replace": a header's undecodable bytes reach us as lone surrogates: never an error
        parts.extend(
            json.dumps(call_of(seq, item).to_json(), ensure_ascii=False).encode("utf-8", "replace")
            for seq, item in items[start : start + _SLICE]
        )
    rest = json.dumps(
        {
            "next_after": window.next_after,
            "has_more": window.has_more,
            "missed": window.missed,
            "dropped": window.dropped,
        }
    )
    body = b'{"requests": [' + b", ".join(parts) + b"], " + rest[1:].encode()
    return web.Response(body=body, content_type="application/json")


async def _shared_requests(request: web.Request, journal: SharedJournal) -> web.Response:
    from ..redis_control import journal_page  # only with a Redis store: redis is an extra

    if request.method == "DELETE":
        return _json_response({"cleared": await journal.clear_shared()})
    try:
        page = await journal_page(
            journal,
            _query_int(request, "after", 0),
            _query_int(request, "limit", DEFAULT_PAGE_SIZE),
        )
    except JournalPageError as error:
        return _json_response({"detail": str(error)}, status=400)
    return _json_response(page)


async def _chats(request: web.Request) -> web.Response:
    chats = await request.app[CONTEXT].chats.chats()
    return _json_response({"chats": [chat.read() for chat in chats]})


async def _reset(request: web.Request) -> web.Response:
    await request.app[CONTEXT].clear()
    return _json_response({"reset": True})


async def _faults(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    if ctx.shared is not None:  # the rules of every process, on Redis
        return await _shared_faults(request, ctx.shared.faults)
    if request.method == "DELETE":
        count = len(ctx.faults.rules)
        ctx.faults.clear()
        return _json_response({"cleared": count})
    if request.method == "POST":
        try:
            payload = json.loads(await request.read())
            rules = rules_from_payload(payload)
        except (ValueError, RecursionError) as error:
            # FaultSpecError, JSONDecodeError, bytes that are not UTF-8 and an integer of too
            # many digits are ValueErrors; JSON nested too deep to decode is a RecursionError
            return _json_response({"detail": f"invalid faults: {error}"}, status=400)
        except ConnectionError:
            return web.Response(status=499)  # the client left before its body was read
        ctx.faults.add(*rules)
    return _json_response({"faults": [rule_to_json(rule) for rule in ctx.faults.rules]})


async def _shared_faults(request: web.Request, faults: SharedFaults) -> web.Response:
    if request.method == "DELETE":
        return _json_response({"cleared": await faults.clear()})
    if request.method == "POST":
        try:
            rules = rules_from_payload(json.loads(await request.read()))
        except (ValueError, RecursionError) as error:
            return _json_response({"detail": f"invalid faults: {error}"}, status=400)
        except ConnectionError:
            return web.Response(status=499)
        await faults.add(rules)
    else:
        await faults.reload()
    return _json_response({"faults": [rule_to_json(rule) for rule in faults.rules]})


async def _health(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    return _json_response(
        {
            "status": "ok",
            "uptime_s": round(time.monotonic() - request.app[_STARTED], 3),
            "chats": len(await ctx.chats.chats()),
            "requests": ctx.journal.call_count,
            "requests_dropped": ctx.journal.dropped,
            "journal_limit": ctx.journal.limit,
            "faults": len(ctx.faults.rules)
            + (len(ctx.shared.faults.rules) if ctx.shared is not None else 0),
            "handler_errors": len(ctx.handler_errors),
        }
    )


def add_admin_routes(app: web.Application, router: RouteTable) -> None:
    """Register the ``/__admin/`` routes of ``app`` on ``router``."""
    app[_STARTED] = time.monotonic()
    router.add_get(ADMIN_PREFIX + "requests", _requests)
    router.add_delete(ADMIN_PREFIX + "requests", _requests)
    router.add_get(ADMIN_PREFIX + "chats", _chats)
    router.add_post(ADMIN_PREFIX + "reset", _reset)
    router.add_get(ADMIN_PREFIX + "faults", _faults)
    router.add_post(ADMIN_PREFIX + "faults", _faults)
    router.add_delete(ADMIN_PREFIX + "faults", _faults)
    router.add_get(ADMIN_PREFIX + "health", _health)
