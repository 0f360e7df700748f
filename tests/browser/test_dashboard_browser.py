"""The dashboard in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright).

Each test loads the page from a running mock server, makes the server do something (a
conversation through ``oa_provider``, a fault from the page's form, a strict replay miss) and
reads what the page shows. Screenshots go to ``$OA_SCREENSHOTS`` (default: a temporary
directory), for CI to keep as artefacts. Run with ``pytest -m browser``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest
import pytest_asyncio

from oa_mockserver import MockServer, ServerConfig
from oa_mockserver._control.dashboard_page import page_html
from oa_mockserver._report import report_data
from oa_provider import OAError, OpenAssistant

if TYPE_CHECKING:  # the default test run may lack the [e2e] extra: imported where used
    from playwright.async_api import Browser, Locator, Page
    from playwright.async_api._generated import LocatorAssertions


pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run",
]  # fmt: skip
ALICE = {"next-auth.session-token": "alice"}
BOB = {"next-auth.session-token": "bob"}
LIBRARY = Path(__file__).resolve().parents[2] / "cassettes"
PACED: dict[str, Any] = {"token_interval": 0.03, "first_token_delay": 0.05, "reply_tokens": 16}


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get("OA_SCREENSHOTS")
    path = Path(given) if given else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def expect(locator: Locator) -> LocatorAssertions:
    """Playwright's ``expect`` (imported here: the default test run may lack the [e2e] extra,
    and collects this module before it deselects it)."""
    from playwright.async_api import expect as playwright_expect

    return playwright_expect(locator)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        await launched.close()


@pytest_asyncio.fixture(loop_scope="module")
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    opened = await context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    # the page's policy allows its own script and style (by hash) and nothing else: a
    # violation is logged as a console error
    opened.on(
        "console",
        lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    yield opened
    await context.close()
    assert errors == []  # the page's script never threw, and broke no rule of its policy


async def talk(url: str, cookies: dict[str, str], prompt: str) -> str:
    provider = OpenAssistant(base_url=url, cookies=cookies)
    messages = [{"role": "user", "content": prompt}]
    return "".join([t async for t in provider.create_async_generator(messages=messages)])


async def open_dashboard(page: Page, server: MockServer) -> None:
    await page.goto(server.dashboard_url)
    await page.wait_for_selector("#conn.live")


async def test_a_conversation_appears_live_and_its_timeline_is_the_journals(
    page: Page, shots: Path
) -> None:
    p = page
    async with MockServer(ServerConfig(**PACED)) as server:
        await open_dashboard(p, server)
        conversation = asyncio.create_task(talk(server.url, ALICE, "hello"))
        await p.wait_for_selector("#timeline-svg .lane .pt.token", state="attached")
        assert not conversation.done()  # drawn while the server still streams it
        assert await conversation
        await server.wait_for_streams()
        await expect(p.locator("#requests tbody tr")).to_have_count(5)
        steps = await p.locator("#requests tbody tr td:nth-child(6)").all_inner_texts()
        assert steps == ["delete_chat", "events", "assistant_message", "prompter_message",
                         "create_chat"]  # fmt: skip
        await p.click("#requests tbody tr:nth-child(2)")
        await p.wait_for_selector("#detail-timeline .pt", state="attached")
        detail = await p.inner_text("#detail")
        assert "REDACTED" in detail  # the cookie, as the journal has it
        assert "alice" not in detail
        points = await p.eval_on_selector_all(
            "#detail-timeline .pt",
            "els => els.map(e => [e.dataset.offset, e.dataset.kind])",
        )
        stream = server.journal.calls[3].stream
        assert stream is not None
        assert [(float(o), k) for o, k in points] == [(c.offset_s, c.kind) for c in stream.chunks]
        ttft = await p.get_attribute("#detail-timeline .lane", "data-ttft")
        first = next(c.offset_s for c in stream.chunks if c.kind == "token")
        assert ttft is not None
        assert float(ttft) == first
        # an answer the server sent while the page watched: its body, pretty-printed
        chat_id = server.journal.calls[1].json["chat_id"]
        await p.click("#requests tbody tr:nth-child(5)")
        await expect(p.locator("#detail .answer-body")).to_contain_text(f'"id": "{chat_id}"')
        await p.screenshot(path=str(shots / "dashboard-conversation.png"), full_page=True)


async def test_a_fault_from_the_form_fires_on_the_next_request_and_clears(
    page: Page, shots: Path
) -> None:
    p = page
    config = ServerConfig(token_interval=0.0, first_token_delay=0.0)
    async with MockServer(config) as server:
        await open_dashboard(p, server)
        await p.fill("#fault-spec", "status:503;step=assistant_message")
        await p.click("#fault-form button[type=submit]")
        await p.wait_for_selector("#faults li:has-text('status')")
        assert [rule.fault.kind for rule in server.faults.rules] == ["status"]
        with pytest.raises(OAError):
            await talk(server.url, ALICE, "this one meets the fault")
        row = p.locator("#requests tbody tr", has_text="assistant_message")
        await row.first.wait_for()
        assert (await row.first.locator("td.status").inner_text()) == "503"
        assert (await row.first.locator("td.faults").inner_text()) == "status"
        await p.screenshot(path=str(shots / "dashboard-fault.png"), full_page=True)
        await p.click("#faults-clear")
        await p.wait_for_selector("#faults li.hint")
        assert server.faults.rules == []
        assert await talk(server.url, ALICE, "this one goes through")
        # a bad spec is refused with the server's reason, and nothing is added
        await p.fill("#fault-spec", "no-such-fault")
        await p.click("#fault-form button[type=submit]")
        await p.wait_for_selector("#fault-error:not(:empty)")
        assert server.faults.rules == []


async def test_a_strict_replay_miss_shows_the_nearest_recording_and_the_differences(
    page: Page, shots: Path
) -> None:
    p = page
    config = ServerConfig(
        cassettes=str(LIBRARY / "web/multi_turn.yaml"), strict_replay=True,
        token_interval=0.0, first_token_delay=0.0,
    )  # fmt: skip
    async with MockServer(config) as server:
        await open_dashboard(p, server)
        with pytest.raises(OAError):
            await talk(server.url, ALICE, "Name a fruit.")
        await p.wait_for_selector("#misses .miss-item")
        text = await p.inner_text("#misses")
        assert "multi_turn.yaml" in text
        assert "Name a fruit." in text  # the actual value, beside the recorded one
        row = p.locator("#requests tbody tr", has_text="strict-miss")
        await row.first.click()
        await p.wait_for_selector("#detail .miss table")
        await p.screenshot(path=str(shots / "dashboard-replay-miss.png"), full_page=True)


async def test_users_filter_the_list_and_live_chats_show_their_trees(
    page: Page, shots: Path
) -> None:
    p = page
    async with MockServer(ServerConfig(token_interval=0.0, first_token_delay=0.0)) as server:
        await open_dashboard(p, server)
        await talk(server.url, ALICE, "alice asks")
        async with aiohttp.ClientSession(cookies=BOB) as http:
            async with http.post(f"{server.url}/api/chat") as r:
                chat_id = (await r.json())["id"]
            body = {"chat_id": chat_id, "content": "bob keeps this chat", "parent_id": None}
            async with http.post(f"{server.url}/api/chat/prompter_message", json=body) as r:
                assert r.status == 200
        await p.wait_for_selector(f"#chats [data-chat='{chat_id}'] li.msg")
        assert "bob keeps this chat" in await p.inner_text("#chats")
        await expect(p.locator("#requests tbody tr")).to_have_count(7)
        users = await p.eval_on_selector_all(
            "#f-user option", "els => els.map(e => e.value).filter(Boolean)"
        )
        assert len(users) == 2
        alice = await _user_of(p, "assistant_message")
        bob = next(u for u in users if u != alice)
        await p.select_option("#f-user", bob)
        users_shown = p.locator("#requests tbody tr td:nth-child(10)")
        await expect(users_shown).to_have_text([bob, bob])
        await p.select_option("#f-user", "")
        await p.select_option("#f-step", "events")
        await expect(p.locator("#requests tbody tr")).to_have_count(1)
        await p.screenshot(path=str(shots / "dashboard-filtered.png"), full_page=True)


async def _user_of(p: Page, step: str) -> str:
    row = p.locator("#requests tbody tr", has_text=step)
    return str(await row.first.locator("td:nth-child(10)").inner_text())


async def test_streams_share_one_clock_or_align_their_starts(page: Page) -> None:
    p = page
    async with MockServer(ServerConfig(token_interval=0.0, first_token_delay=0.0)) as server:
        await open_dashboard(p, server)
        await talk(server.url, ALICE, "first")
        await asyncio.sleep(0.3)
        await talk(server.url, ALICE, "second")
        lanes = p.locator("#timeline-svg .lane .base")
        await expect(lanes).to_have_count(2)
        starts = [float(await lanes.nth(n).get_attribute("x1") or "nan") for n in range(2)]
        assert starts[0] < starts[1]  # one clock: the second began later
        await p.check("#align")
        await expect(lanes.nth(1)).to_have_attribute(
            "x1", str(await lanes.nth(0).get_attribute("x1"))
        )


async def test_a_server_with_a_token_asks_for_it_then_goes_live(page: Page) -> None:
    p = page
    token = "dashboard-token_123"
    async with MockServer(ServerConfig(admin_token=token)) as server:
        await p.goto(server.dashboard_url)
        await p.wait_for_selector("#token-form:not([hidden])")
        await p.fill("#token-input", token)
        await p.click("#token-form button")
        await p.wait_for_selector("#conn.live")
        await p.evaluate("() => sessionStorage.clear()")
        await p.goto("about:blank")
        await p.goto(f"{server.dashboard_url}#token={token}")
        await p.wait_for_selector("#conn.live")
        assert token not in p.url


async def test_a_report_draws_the_same_timeline_offline(
    page: Page, shots: Path, tmp_path: Path
) -> None:
    p = page
    async with MockServer(ServerConfig(**PACED)) as server:
        await talk(server.url, ALICE, "for the report")
        await server.wait_for_streams()
        saved = {"requests": [call.to_json() for call in server.journal.calls]}
        stream = server.journal.calls[3].stream
    report = tmp_path / "report.html"
    report.write_text(page_html(report_data(json.dumps(saved), "journal.json")))
    # offline: any request over the network fails
    await p.route(re.compile(r"^(https?|wss?)://"), lambda route: route.abort())
    await p.goto(report.as_uri())
    await p.wait_for_selector("#timeline-svg .lane", state="attached")
    offsets = await p.eval_on_selector_all(
        "#timeline-svg .pt", "els => els.map(e => Number(e.dataset.offset))"
    )
    assert stream is not None
    assert offsets == [c.offset_s for c in stream.chunks]
    await p.screenshot(path=str(shots / "report.png"), full_page=True)
