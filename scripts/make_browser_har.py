"""Make a HAR file as a user's browser makes one: headless Chromium chatting with the mock server.

A mock server (web dialect) runs on a free loopback port. Debian's Chromium (``/usr/bin/chromium``,
driven by Playwright's Python package) opens a page on the server's origin (the page itself is
served by Playwright's router, ``page.route``, since the mock serves no HTML), with the session
cookie set on the browser context, and runs a two-turn conversation with ``fetch`` calls, as the
web site's own page did: create the chat, post the prompter message, post the assistant message,
read the event stream to its end, post the second prompter message and its assistant message,
read that stream, delete the chat. Playwright records everything into a HAR file
(``record_har_path``, bodies embedded).

    .venv/bin/python scripts/make_browser_har.py OUT.har [--redact]

``--redact`` rewrites the HAR with the recorder's rules (:class:`Redactor`: cookies, the session
cookie in ``request.cookies``, ``Authorization``, tokens in bodies and URLs), as committed in
tests/fixtures/har/chromium_two_turns.har. The browser test (tests/integration/test_har_browser.py,
``-m browser``) runs :func:`record_browser_har` and imports what it wrote.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from oa_mockserver import MockServer, ServerConfig
from oa_mockserver.recording import Redactor
from oa_mockserver.recording._cassette import write_text_atomically

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SESSION_COOKIE = "next-auth.session-token"
PROMPTS = ("Name a colour.", "And another one?")
MODEL = "OA_SFT_Llama_30B_6"
SAMPLING = {
    "top_k": 50,
    "top_p": None,
    "typical_p": None,
    "temperature": 0.35,
    "repetition_penalty": 1.1111111111111112,
    "max_new_tokens": 1024,
}
#: The upstream the HAR is recorded against: a few tokens, a few ms apart (so the HAR's timings
#: have something to show), in the reference server's SSE framing.
SERVER = ServerConfig(token_interval=0.01, first_token_delay=0.01, reply_tokens=8)

# The page's script: the web site's own sequence of calls, with fetch. It returns the token texts
# of each turn as read from the stream (events split at blank lines, "data:" lines parsed).
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>oa-toolkit HAR page</title></head><body>
<script>
async function json(response) {
  if (!response.ok) throw new Error(response.url + ": " + response.status);
  return response.json();
}
function post(path, body) {
  const init = {method: "POST"};
  if (body !== undefined) {
    init.headers = {"Content-Type": "application/json"};
    init.body = JSON.stringify(body);
  }
  return fetch(path, init).then(json);
}
async function stream(chatId, messageId) {
  const response = await fetch(
    `/api/chat/events?chat_id=${chatId}&message_id=${messageId}`,
    {headers: {"Accept": "text/event-stream"}});
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  for (;;) {
    const {value, done} = await reader.read();
    if (done) break;
    text += decoder.decode(value, {stream: true});
  }
  const tokens = [];
  for (const block of text.split(/\\r\\n\\r\\n|\\n\\n/)) {
    for (const line of block.split(/\\r\\n|\\n/)) {
      if (!line.startsWith("data: ")) continue;
      const event = JSON.parse(line.slice(6));
      if (event.event_type === "token") tokens.push(event.text);
    }
  }
  return tokens;
}
async function converse(prompts, model, sampling) {
  const chat = await post("/api/chat");
  const turns = [];
  let parent = null;
  for (const prompt of prompts) {
    const prompter = await post("/api/chat/prompter_message",
      {chat_id: chat.id, content: prompt, parent_id: parent});
    const assistant = await post("/api/chat/assistant_message",
      {chat_id: chat.id, parent_id: prompter.id, model_config_name: model,
       sampling_parameters: sampling, plugins: []});
    turns.push(await stream(chat.id, assistant.id));
    parent = assistant.id;
  }
  const deleted = await fetch(`/api/chat?chat_id=${chat.id}`, {method: "DELETE"});
  if (!deleted.ok) throw new Error("delete: " + deleted.status);
  return turns;
}
</script></body></html>
"""


async def record_browser_har(
    har_path: Path, server_url: str, session: str = "browser-user"
) -> list[list[str]]:
    """Run the conversation in headless Chromium against ``server_url``, recording ``har_path``.

    Returns each turn's token texts as the page read them from the event stream.
    """
    from playwright.async_api import Route, async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            context = await browser.new_context(
                record_har_path=str(har_path), record_har_content="embed"
            )
            await context.add_cookies(
                [{"name": SESSION_COOKIE, "value": session, "url": server_url}]
            )
            page = await context.new_page()

            async def serve_page(route: Route) -> None:
                await route.fulfill(status=200, content_type="text/html", body=PAGE)

            await page.route(f"{server_url}/index.html", serve_page)
            await page.goto(f"{server_url}/index.html")
            turns: list[list[str]] = await page.evaluate(
                "([prompts, model, sampling]) => converse(prompts, model, sampling)",
                [list(PROMPTS), MODEL, SAMPLING],
            )
            await context.close()  # writes the HAR
        finally:
            await browser.close()
    return turns


def redact_har(document: dict[str, Any], rules: Redactor | None = None) -> dict[str, Any]:
    """The HAR with every secret the recorder would remove replaced (in place, and returned)."""
    rules = rules if rules is not None else Redactor.default()
    for entry in document["log"]["entries"]:
        for side in ("request", "response"):
            part = entry[side]
            for header in part.get("headers", []):
                header["value"] = rules.header_value(header["name"], header["value"])
            for cookie in part.get("cookies", []):
                cookie["value"] = "REDACTED"
        request, response = entry["request"], entry["response"]
        request["url"] = rules.uri(request["url"])
        for item in request.get("queryString", []):
            item["value"] = rules.uri(f"?{item['name']}={item['value']}").partition("=")[2]
        post = request.get("postData")
        if post and isinstance(post.get("text"), str):
            post["text"] = rules.text(post["text"])
        content = response.get("content", {})
        if isinstance(content.get("text"), str) and content.get("encoding") != "base64":
            content["text"] = rules.text(content["text"])
    return document


def redact_file(path: Path) -> None:
    """Rewrite a HAR file redacted (:func:`redact_har`)."""
    document = json.loads(path.read_text(encoding="utf-8"))
    write_text_atomically(path, json.dumps(redact_har(document), indent=2) + "\n")


async def _main(out: Path, redact: bool) -> None:
    async with MockServer(SERVER) as server:
        turns = await record_browser_har(out, server.url)
    if redact:
        redact_file(out)
    print(f"wrote {out}: {len(turns)} turns, {sum(len(t) for t in turns)} tokens")


def main(argv: list[str] | None = None) -> int:
    """Write the HAR file named on the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("out", type=Path, help="the HAR file to write")
    parser.add_argument("--redact", action="store_true", help="redact it for committing")
    args = parser.parse_args(argv)
    asyncio.run(_main(args.out, args.redact))
    return 0


if __name__ == "__main__":
    sys.exit(main())
