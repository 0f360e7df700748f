"""The provider, given a HAR file as ``cookies``, authenticates with its session cookie."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oa_mockserver import MockServer
from oa_provider import MissingCredentialsError, OpenAssistant


@pytest.mark.asyncio
async def test_the_provider_chats_with_the_cookie_of_a_har_file(
    server: MockServer, tmp_path: Path
) -> None:
    har = tmp_path / "open-assistant.har"
    entry = {
        "request": {
            "method": "GET",
            "url": f"{server.url}/api/chat/models",
            "headers": [],
            "cookies": [{"name": "next-auth.session-token", "value": "har-user"}],
        },
        "response": {"status": 200, "headers": [], "content": {"size": 0}},
    }
    har.write_text(json.dumps({"log": {"version": "1.2", "entries": [entry]}}), encoding="utf-8")
    tokens = [
        t
        async for t in OpenAssistant().create_async_generator(
            messages=[{"role": "user", "content": "hi"}], base_url=server.url, cookies=str(har)
        )
    ]
    assert len(tokens) == 16
    sent = [c for c in server.journal.calls if c.path == "/api/chat" and c.method == "POST"]
    assert sent
    assert all(c.headers.get("Cookie") == "REDACTED" for c in sent)  # sent, and redacted

    # the same HAR for another host: no cookie for this server, refused before any request
    entry["request"]["url"] = "https://open-assistant.io/api/chat/models"
    har.write_text(json.dumps({"log": {"version": "1.2", "entries": [entry]}}), encoding="utf-8")
    before = len(server.journal.calls)
    with pytest.raises(MissingCredentialsError, match=r"holds no request cookie for 127\.0\.0\.1"):
        async for _ in OpenAssistant().create_async_generator(
            messages=[{"role": "user", "content": "hi"}], base_url=server.url, cookies=str(har)
        ):
            pass
    assert len(server.journal.calls) == before
