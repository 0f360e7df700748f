"""Re-record the shipped cassette library (``cassettes/``) through the recording proxy.

Each scenario starts a mock server as the upstream (configured for what it must show), puts the
recording proxy (:class:`oa_mockserver.recording.RecordingProxy`) in front of it, and runs a
client through the proxy; error cases are made with the ``X-OA-Mock-Fault`` header, sent through
the proxy like any other header. CI does not re-record: it replays every cassette through both
engines (tests/integration/test_cassette_library.py) and compares what the client got with
:data:`SCENARIOS`' clients run against each engine.

    .venv/bin/python scripts/record_library.py [--out cassettes]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from oa_mockserver import MockServer, ServerConfig
from oa_mockserver.recording import RecordingProxy
from oa_provider import OpenAssistant

COOKIES = {"next-auth.session-token": "library-recording-user"}
#: A client run: ``(base_url, send_faults)`` -> its outcome. Replays send no fault header: the
#: recorded answer must come from the cassette, not from a live fault.
Client = Callable[[str, bool], Awaitable[list[str]]]


async def provider_chat(
    base_url: str,
    messages: list[dict[str, str]],
    *,
    fault: str | None = None,
    **options: Any,
) -> list[str]:
    """The provider's tokens, then ``!ErrorName`` if it raised (the outcome to compare)."""
    headers = {"X-OA-Mock-Fault": fault} if fault else {}
    out: list[str] = []
    async with aiohttp.ClientSession(
        headers=headers, cookie_jar=aiohttp.DummyCookieJar()
    ) as session:
        try:
            async for text in OpenAssistant().create_async_generator(
                messages=messages, base_url=base_url, cookies=COOKIES, session=session, **options
            ):
                out.append(text)
        except Exception as error:  # noqa: BLE001 - the error's type is the recorded outcome
            out.append(f"!{type(error).__name__}")
    return out


def _user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


async def no_cookie(base_url: str, send_faults: bool = True) -> list[str]:
    """A raw client without the session cookie: the web site answers 403, empty."""
    async with (
        aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session,
        session.post(base_url + "/api/chat") as response,
    ):
        return [str(response.status), (await response.read()).decode()]


async def finished_204(base_url: str, send_faults: bool = True) -> list[str]:
    """The inference dialect: stream a reply, then ask again for the finished message: 204."""
    out: list[str] = []
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        async with session.get(base_url + "/auth/callback/debug", params={"code": "lib"}) as r:
            token = (await r.json())["access_token"]["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        async with session.post(base_url + "/chats", json={}, headers=auth) as r:
            chat = (await r.json())["id"]
        body = {"parent_id": None, "content": "Finish, then ask again"}
        async with session.post(
            f"{base_url}/chats/{chat}/prompter_message", json=body, headers=auth
        ) as r:
            prompter = (await r.json())["id"]
        body2 = {
            "parent_id": prompter,
            "model_config_name": "OA_SFT_Llama_30B_6",
            "sampling_parameters": {"max_new_tokens": 6},
            "plugins": [],
        }
        async with session.post(
            f"{base_url}/chats/{chat}/assistant_message", json=body2, headers=auth
        ) as r:
            message = (await r.json())["id"]
        events = f"{base_url}/chats/{chat}/messages/{message}/events"
        async with session.get(events, headers=auth) as r:
            out.append(str(r.status))
            out += [line for line in (await r.text()).split("\r\n") if '"token"' in line]
        async with session.get(events, headers=auth) as r:
            out.append(str(r.status))
        async with session.delete(f"{base_url}/chats/{chat}", headers=auth) as r:
            out.append(str(r.status))
    return out


@dataclass(frozen=True)
class Scenario:
    """One cassette: its file, the upstream's settings, the client, and how it was made."""

    name: str
    client: Client
    config: dict[str, Any] = field(default_factory=dict)
    background: bool = False  # keep the only worker busy so the recorded message queues


LONG_PROMPT = "lorem " * 11000  # echoed back: the final message event is over 64 KiB

SCENARIOS: tuple[Scenario, ...] = (
    Scenario("web/seed_example", lambda u, f: provider_chat(u, _user("Привет, как дела?"))),
    Scenario(
        "web/multi_turn",
        lambda u, f: provider_chat(
            u,
            [
                {"role": "user", "content": "Name a colour."},
                {"role": "assistant", "content": "Blue."},
                {"role": "user", "content": "And another one?"},
            ],
        ),
    ),
    Scenario(
        "web/system_prompt",
        lambda u, f: provider_chat(
            u,
            [
                {"role": "system", "content": "You answer in one short sentence."},
                {"role": "user", "content": "What is a cassette?"},
            ],
        ),
    ),
    Scenario(
        "web/long_reply",
        lambda u, f: provider_chat(u, _user(LONG_PROMPT), max_new_tokens=4),
        config={"reply_mode": "echo"},
    ),
    Scenario(
        "web/queued",
        lambda u, f: provider_chat(u, _user("Wait in the queue, please.")),
        config={"workers": 1, "pending_interval": 0.05},
        background=True,
    ),
    Scenario(
        "web/error_event",
        lambda u, f: provider_chat(
            u, _user("Fail after two tokens."), fault="error-after:2" if f else None
        ),
    ),
    Scenario(
        "web/safe_prompt",
        lambda u, f: provider_chat(
            u, _user("Say something unsafe."), fault="safe-prompt" if f else None
        ),
    ),
    Scenario(
        "web/plugin_intermediate",
        lambda u, f: provider_chat(u, _user("Use a plugin."), fault="plugin-step" if f else None),
    ),
    Scenario("web/forbidden_no_cookie", no_cookie),
    Scenario(
        "web/unknown_model",
        lambda u, f: provider_chat(u, _user("Which model?"), model="no-such-model"),
    ),
    Scenario(
        "web/busy_503",
        lambda u, f: provider_chat(
            u, _user("Are you busy?"), fault="status:503;step=assistant_message" if f else None
        ),
    ),
    Scenario("inference/finished_204", finished_204),
)

DEFAULT_OUT = str(Path(__file__).resolve().parents[1] / "cassettes")
UPSTREAM = {"token_interval": 0.01, "first_token_delay": 0.005, "reply_tokens": 12}


async def record(scenario: Scenario, out: Path) -> Path:
    """Record one scenario into ``out/<name>.yaml`` (the file is replaced)."""
    target = out / f"{scenario.name}.yaml"
    target.unlink(missing_ok=True)
    config = ServerConfig(**{**UPSTREAM, **scenario.config})
    async with MockServer(config) as upstream:
        busy = None
        if scenario.background:
            busy = asyncio.ensure_future(provider_chat(upstream.url, _user("occupy the worker")))
            await asyncio.sleep(0.05)
        async with RecordingProxy(upstream.url, target) as proxy:
            await scenario.client(proxy.url, True)
        if busy is not None:
            await busy
    return target


async def main(argv: list[str] | None = None) -> int:
    """Record every scenario (or those named) into ``--out``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_OUT)
    parser.add_argument("names", nargs="*", help="scenario names (default: all)")
    args = parser.parse_args(argv)
    for scenario in SCENARIOS:
        if args.names and scenario.name not in args.names:
            continue
        path = await record(scenario, Path(args.out))
        print(f"recorded {path}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
