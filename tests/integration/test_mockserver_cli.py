"""``python -m oa_mockserver serve``: help, bad options, and a clean stop on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys

import aiohttp
import pytest
from _chat import ask_for_reply
from _helpers.served import serving


def test_help_documents_every_option() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "oa_mockserver", "serve", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for option in (
        "--host",
        "--port",
        "--token-interval",
        "--first-token-delay",
        "--workers",
        "--reply-mode",
        "--pending-interval",
        "--ping-interval",
        "--max-body-size",
        "--fix-server-bugs",
        "--unserved-model",
        "--reply-tokens",
        "--fault",
        "--seed",
    ):
        assert option in out


@pytest.mark.parametrize(
    ("option", "error"),
    [
        (["--workers", "0"], "workers must be an integer >= 1"),
        (["--fault", "status:abc"], "option 'status' must be a whole number"),
    ],
    ids=["workers", "fault"],
)
def test_bad_option_is_a_clear_error(option: list[str], error: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "oa_mockserver", "serve", *option],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert error in result.stderr


@pytest.mark.asyncio
async def test_fault_option_is_active_from_the_start() -> None:
    fault = "status:418;step=create_chat;times=1"
    async with serving("serve", "--port", "0", "--fault", fault) as served:
        url = served.url
        async with aiohttp.ClientSession(cookies={"next-auth.session-token": "me"}) as http:
            async with http.post(f"{url}/api/chat") as first:
                assert first.status == 418
            async with http.post(f"{url}/api/chat") as second:
                assert second.status == 200
            async with http.get(f"{url}/__admin/requests") as journal:
                statuses = [r["status"] for r in (await journal.json())["requests"]]
        assert statuses == [418, 200]
    assert served.process.returncode == 0


@pytest.mark.asyncio
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
async def test_signal_ends_open_streams_and_exits_zero(sig: signal.Signals) -> None:
    args = ("serve", "--port", "0", "--host", "0.0.0.0", "--unserved-model", "_lorem")
    async with serving(*args) as served:
        async with aiohttp.ClientSession(cookies={"next-auth.session-token": "me"}) as http:
            url = served.url
            chat, a = await ask_for_reply(http, url, "secret prompt", "_lorem")
            async with http.get(f"{url}/chats?access_token=sekrit-query&chat_id=1") as denied:
                assert denied.status == 403
            stream = await http.get(
                f"{url}/api/chat/events", params={"chat_id": chat["id"], "message_id": a["id"]}
            )
            served.process.send_signal(sig)
            await asyncio.wait_for(stream.content.read(), 20)  # the stream ends
        await served.end()
    output = served.output
    assert served.process.returncode == 0, output
    assert b"Traceback" not in output
    assert b"reachable from other machines" in output
    assert b"secret prompt" not in output
    assert b"sekrit-query" not in output
    assert b"/chats?access_token=REDACTED&chat_id=1" in output  # the access log, redacted
    assert b"=me" not in output
