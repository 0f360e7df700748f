"""Take the README's dashboard screenshot (docs/img/dashboard.png) in headless Chromium.

A paced server with two workers; three users talk at once (one meets a stall fault, one closes
its stream after six tokens, one waits in the queue), a fourth keeps a chat open, one fault
stays active, and a stream is (the stalled one) opened in the detail panel.

    .venv/bin/python scripts/dashboard_screenshot.py [OUTPUT.png]
"""

from __future__ import annotations

import asyncio
import sys

import aiohttp
from playwright.async_api import async_playwright

from oa_mockserver import MockServer, ServerConfig
from oa_provider import OAError, OpenAssistant

ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run",
]  # fmt: skip


async def talk(url: str, user: str, prompt: str, stop_after: int | None = None) -> None:
    provider = OpenAssistant(base_url=url, cookies={"next-auth.session-token": user})
    messages = [{"role": "user", "content": prompt}]
    try:
        count = 0
        async for _ in provider.create_async_generator(messages=messages):
            count += 1
            if stop_after is not None and count >= stop_after:
                break
    except OAError as error:  # a fault may fire: the dashboard shows it
        print(f"{user}: {type(error).__name__}")


async def main(output: str) -> None:
    config = ServerConfig(
        token_interval=0.03, first_token_delay=0.15, reply_tokens=20, workers=2,
        ping_interval=0.25, pending_interval=0.1,
    )  # fmt: skip
    async with MockServer(config) as server, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = await browser.new_page(viewport={"width": 1400, "height": 1050})
        await page.goto(server.dashboard_url)
        await page.wait_for_selector("#conn.live")
        server.add_fault("stall:0.4;after=8", step="events", times=1)
        await asyncio.gather(
            talk(server.url, "alice", "Tell me about tides."),
            talk(server.url, "bob", "What is a prime?"),
            talk(server.url, "carol", "Name a colour.", stop_after=6),
        )
        await server.wait_for_streams()
        server.add_fault("status:503;step=assistant_message;probability=0.2")
        async with aiohttp.ClientSession(cookies={"next-auth.session-token": "dave"}) as http:
            chat = await (await http.post(f"{server.url}/api/chat")).json()
            body = {"chat_id": chat["id"], "content": "Keep this chat open", "parent_id": None}
            await http.post(f"{server.url}/api/chat/prompter_message", json=body)
        await page.wait_for_timeout(800)
        await page.click("#requests tbody tr:has-text('stall')")
        await page.wait_for_timeout(400)
        await page.screenshot(path=output)
        await browser.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "docs/img/dashboard.png"))
