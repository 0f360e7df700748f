"""Every route maps onto a step a fault rule can name, and every such step has a route."""

from __future__ import annotations

import pytest

from oa_mockserver._control.faults import STEPS
from oa_mockserver._server.steps import _STEPS, step_of


def test_the_routes_steps_are_the_fault_rules_steps() -> None:
    listing = {step_of("GET", "/api/chat", {}), step_of("GET", "/api/chat", {"chat_id": "c"})}
    assert set(_STEPS.values()) | listing == set(STEPS)


@pytest.mark.parametrize(
    ("method", "route", "query", "step"),
    [("GET", "/api/chat", {}, "list_chats"), ("GET", "/api/chat", {"chat_id": "c"}, "get_chat"),
     ("POST", "/chats/{chat_id}/messages/{message_id}/votes", {}, "vote"),
     ("GET", "/nowhere", {}, None), ("GET", None, {}, None)],
)  # fmt: skip
def test_a_request_is_the_step_of_its_route(
    method: str, route: str | None, query: dict[str, str], step: str | None
) -> None:
    assert step_of(method, route, query) == step
