"""The admin API under ``/__admin/``: the journal, the chats, resets and faults, as JSON.

The same operations as the :class:`MockServer` handle, for a server in another process (the
command line) or a client in another language. Answers are JSON; a bad request is 400 with
``{"detail": ...}`` saying what to send instead.
"""

from __future__ import annotations

import json
import time
from typing import Any

from aiohttp import web

from ._context import CONTEXT
from ._exceptions import FaultSpecError
from ._faults import FaultRule, parse_fault_header, rule_from_json, rule_to_json
from ._routing import RouteTable

__all__ = ["ADMIN_PREFIX", "add_admin_routes", "rules_from_payload"]

ADMIN_PREFIX = "/__admin/"
_STARTED = web.AppKey("oa_mockserver.started", float)


def _json(data: Any, status: int = 200) -> web.Response:
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


async def _requests(request: web.Request) -> web.Response:
    journal = request.app[CONTEXT].journal
    if request.method == "DELETE":
        return _json({"cleared": journal.clear()})
    return _json({"requests": [call.to_json() for call in journal.calls]})


async def _chats(request: web.Request) -> web.Response:
    chats = request.app[CONTEXT].store.chats()
    return _json({"chats": [chat.read() for chat in chats]})


async def _reset(request: web.Request) -> web.Response:
    request.app[CONTEXT].reset()
    return _json({"reset": True})


async def _faults(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    if request.method == "DELETE":
        count = len(ctx.faults.rules)
        ctx.faults.clear()
        return _json({"cleared": count})
    if request.method == "POST":
        try:
            payload = json.loads(await request.read())
            rules = rules_from_payload(payload)
        except ValueError as error:  # FaultSpecError and JSONDecodeError are ValueErrors
            return _json({"detail": f"invalid faults: {error}"}, status=400)
        ctx.faults.add(*rules)
    return _json({"faults": [rule_to_json(rule) for rule in ctx.faults.rules]})


async def _health(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    return _json(
        {
            "status": "ok",
            "uptime_s": round(time.monotonic() - request.app[_STARTED], 3),
            "chats": len(ctx.store.chats()),
            "requests": ctx.journal.call_count,
            "faults": len(ctx.faults.rules),
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
