"""No input makes a handler raise: hypothesis throws requests at every route over loopback HTTP.

A handler that raises answers our own 500 and leaves a traceback in ``problems()``; both are
failures here. With ``fix_server_bugs`` the real server's own 500s (unknown ids) become 404/400
too, so then no 500 may appear at all.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oa_mockserver import ServerConfig, ThreadedMockServer

COOKIE = "next-auth.session-token=fuzzer"


@dataclass
class Target:
    server: ThreadedMockServer
    chat_id: str
    prompter_id: str
    assistant_id: str
    bearer: str
    refresh: str

    def connection(self) -> http.client.HTTPConnection:
        parts = urlsplit(self.server.url)
        assert parts.hostname is not None
        return http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)


def _call(
    conn: http.client.HTTPConnection,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    return response.status, response.read()


def _prepare(server: ThreadedMockServer) -> Target:
    parts = urlsplit(server.url)
    assert parts.hostname is not None
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    web = {"Cookie": COOKIE, "Content-Type": "application/json"}
    chat = json.loads(_call(conn, "POST", "/api/chat", b"", web)[1])
    prompter = json.loads(_call(conn, "POST", "/api/chat/prompter_message", json.dumps(
        {"chat_id": chat["id"], "content": "hi", "parent_id": None}).encode(), web)[1])
    assistant = json.loads(_call(conn, "POST", "/api/chat/assistant_message", json.dumps(
        {"chat_id": chat["id"], "parent_id": prompter["id"], "model_config_name": "_lorem"}
    ).encode(), web)[1])
    tokens = json.loads(_call(conn, "GET", "/auth/callback/debug?code=fuzzer")[1])
    conn.close()
    return Target(
        server,
        chat["id"],
        prompter["id"],
        assistant["id"],
        tokens["access_token"]["access_token"],
        tokens["refresh_token"]["access_token"],
    )


@pytest.fixture(scope="module", params=[False, True], ids=["as-the-real-server", "fixed-bugs"])
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    config = ServerConfig(
        token_interval=0.0,
        first_token_delay=0.0,
        reply_tokens=4,
        ping_interval=0.05,
        pending_interval=0.05,
        fix_server_bugs=request.param,
    )
    with ThreadedMockServer(config) as server:
        yield _prepare(server)


ROUTES = [
    "/api/chat",
    "/api/chat/prompter_message",
    "/api/chat/assistant_message",
    "/api/chat/events",
    "/api/chat/message",
    "/api/chat/models",
    "/api/chat/vote",
    "/auth/providers",
    "/auth/callback/debug",
    "/auth/check",
    "/auth/refresh",
    "/configs/model_configs",
    "/chats",
    "/chats/{chat}",
    "/chats/{chat}/prompter_message",
    "/chats/{chat}/assistant_message",
    "/chats/{chat}/messages/{message}",
    "/chats/{chat}/messages/{message}/events",
    "/chats/{chat}/messages/{message}/votes",
    "/nowhere",
]
FIELDS = [
    "chat_id", "parent_id", "content", "model_config_name", "sampling_parameters", "plugins",
    "system_prompt", "title", "hidden", "allow_data_use", "active_thread_tail_message_id",
    "score", "message_id", "temperature", "top_k", "max_new_tokens", "used_plugin",
]  # fmt: skip

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(FIELDS), inner,
                                                                max_size=5),
    max_leaves=12,
)


@st.composite
def requests(
    draw: st.DrawFn, t: Target, route: str
) -> tuple[str, str, bytes | None, dict[str, str]]:
    ids = st.sampled_from([t.chat_id, t.prompter_id, t.assistant_id, "x", "", "%00", "ü" * 3])
    path = route.replace("{chat}", quote(draw(ids)) or "c").replace(
        "{message}", quote(draw(ids)) or "m"
    )
    query = draw(st.dictionaries(st.sampled_from(["chat_id", "message_id", "before", "after",
                                                  "limit", "include_hidden", "code"]),
                                 ids | st.text(max_size=8), max_size=3))
    if query:
        path += "?" + urlencode(query)
    method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "GET", "POST", "PATCH"]))
    body = draw(
        st.none()
        | st.binary(max_size=64)
        | json_values.map(lambda v: json.dumps(v, allow_nan=True).encode())
        | st.dictionaries(st.sampled_from(FIELDS), json_values | ids, max_size=6).map(
            lambda v: json.dumps(v).encode()
        )
    )
    auth = draw(st.sampled_from(["", f"Bearer {t.bearer}", f"Bearer {t.refresh}", "Bearer x",
                                 "Token y", "Bearer "]))
    headers = {"Content-Type": draw(st.sampled_from(["application/json", "text/plain", ""]))}
    if draw(st.booleans()):
        headers["Cookie"] = COOKIE
    if auth:
        headers["Authorization"] = auth
    return method, path, body, headers


@pytest.mark.parametrize("route", ROUTES)
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_no_request_makes_a_handler_raise(target: Target, route: str, data: st.DataObject) -> None:
    method, path, body, headers = data.draw(requests(target, route))
    conn = target.connection()
    try:
        status, payload = _call(conn, method, path, body, headers)
    finally:
        conn.close()
    problems = target.server.problems(include_unmatched=False)
    assert problems == [], problems[0]
    if target.server.config.fix_server_bugs:
        assert status != 500, (method, path, body, payload)
    if status >= 400 and payload and headers.get("Cookie") and path.startswith("/api/"):
        parsed: Any = json.loads(payload)  # web-dialect errors are JSON
        assert isinstance(parsed, dict)
