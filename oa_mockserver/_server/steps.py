"""Which conversation step a request is, in either dialect (the names of faults and journal)."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["step_of"]

_STEPS: Mapping[tuple[str, str], str] = {
    # the web site's routes
    ("POST", "/api/chat"): "create_chat",
    ("PUT", "/api/chat"): "update_chat",
    ("DELETE", "/api/chat"): "delete_chat",
    ("POST", "/api/chat/prompter_message"): "prompter_message",
    ("POST", "/api/chat/assistant_message"): "assistant_message",
    ("GET", "/api/chat/events"): "events",
    ("POST", "/api/chat/events"): "events",
    ("GET", "/api/chat/message"): "get_message",
    ("GET", "/api/chat/models"): "models",
    ("POST", "/api/chat/vote"): "vote",
    # the inference server's routes
    ("GET", "/auth/providers"): "auth",
    ("GET", "/auth/callback/debug"): "auth",
    ("GET", "/auth/check"): "auth",
    ("GET", "/auth/refresh"): "auth",
    ("GET", "/configs/model_configs"): "models",
    ("GET", "/chats"): "list_chats",
    ("POST", "/chats"): "create_chat",
    ("GET", "/chats/{chat_id}"): "get_chat",
    ("PUT", "/chats/{chat_id}"): "update_chat",
    ("DELETE", "/chats/{chat_id}"): "delete_chat",
    ("POST", "/chats/{chat_id}/prompter_message"): "prompter_message",
    ("POST", "/chats/{chat_id}/assistant_message"): "assistant_message",
    ("GET", "/chats/{chat_id}/messages/{message_id}"): "get_message",
    ("GET", "/chats/{chat_id}/messages/{message_id}/events"): "events",
    ("POST", "/chats/{chat_id}/messages/{message_id}/votes"): "vote",
}


def step_of(method: str, route: str | None, query: Mapping[str, str]) -> str | None:
    """The step of a request to the route pattern ``route`` (None when no route matched)."""
    if route is None:
        return None
    if method == "GET" and route == "/api/chat":
        return "get_chat" if "chat_id" in query else "list_chats"
    return _STEPS.get((method, route))
