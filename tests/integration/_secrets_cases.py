"""The secrets matrix of issue 11: each way a secret travels, and each place it must not land.

Shared by tests/integration/test_secrets_matrix.py (one test per case and place) and
benchmarks/secrets_matrix.py (prints the table). :func:`run_matrix` sends every case over real
loopback HTTP and gathers what each place kept:

* **record**: the cassette a :class:`RecordingProxy` wrote (default redaction);
* **journal**: the upstream mock server's journal, read through ``GET /__admin/requests``;
* **lint**: findings of ``run_lint`` on the same exchanges recorded *without* redaction;
* **access log**: the lines the upstream's ``RedactingAccessLogger`` (what ``oa-mockserver
  serve`` logs at INFO) wrote.

Request cases go client → proxy → a mock server (journaled, access-logged); response cases go
client → proxy → a small upstream that answers with the secret (no journal, no access log:
those places only see requests).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web

from oa_mockserver import ServerConfig, create_app
from oa_mockserver._cli import RedactingAccessLogger
from oa_mockserver.recording import Finding, RecordingProxy, Redactor, run_lint

OPENAI = "sk-proj-abcdEFGH1234ijklMNOP" + "T3BlbkFJ" + "qrstUVWX5678yzabCDEF"
AWS = "AKIAIOSFODNN7EXAMPLE"
GITHUB = "ghp_1234567890abcdefghijklmnopqrstuvwxyz"
GITHUB_IN_QUERY = "ghp_0987654321abcdefghijklmnopqrstuvwxyz"
GITHUB_IN_STREAM = "ghs_1234567890ABCDEFGHIJKLMNOPQRSTUVWXYZ"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwi"
    "aWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
PLACES = ("record", "journal", "lint", "access log")


@dataclass(frozen=True)
class Case:
    """One way a secret travels.

    Attributes:
        name: the case's id.
        secrets: the values that must not land anywhere (a number as its digits).
        field: the field lint must name (``request.headers.X-Auth-Token``, ``request.uri``...).
        method, path, headers, body: the client's request (to the proxy).
        response: True when the upstream's answer carries the secret.
    """

    name: str
    secrets: tuple[str, ...]
    field: str
    method: str = "POST"
    path: str = "/api/chat/prompter_message"
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None
    response: bool = False

    @property
    def places(self) -> tuple[str, ...]:
        """The places this case can reach (journal and access log see requests only)."""
        return ("record", "lint") if self.response else PLACES


def _prompt(secret: str) -> bytes:
    content = f"here is my key {secret} - keep it safe"
    return json.dumps({"chat_id": "c1", "content": content, "parent_id": None}).encode()


JSON_TYPE = (("Content-Type", "application/json"),)
FORM_TYPE = (("Content-Type", "application/x-www-form-urlencoded"),)

CASES: tuple[Case, ...] = (
    Case("header X-Auth-Token", ("hdr-auth-tok-7731",), "request.headers.X-Auth-Token",
         headers=(("X-Auth-Token", "hdr-auth-tok-7731"),)),
    Case("header Api-Key", ("hdr-api-key-5521",), "request.headers.Api-Key",
         headers=(("Api-Key", "hdr-api-key-5521"),)),
    Case("json token", ("json-token-8812",), "request.body",
         headers=JSON_TYPE, body=b'{"token": "json-token-8812"}'),
    Case("json apiKey", ("json-apikey-6623",), "request.body",
         headers=JSON_TYPE, body=b'{"apiKey": "json-apikey-6623"}'),
    Case("json client_secret", ("json-client-secret-4434",), "request.body",
         headers=JSON_TYPE, body=b'{"client_secret": "json-client-secret-4434"}'),
    Case("json auth_token", ("json-auth-token-3345",), "request.body",
         headers=JSON_TYPE, body=b'{"auth_token": "json-auth-token-3345"}'),
    Case("json password", ("json-password-2256",), "request.body",
         headers=JSON_TYPE, body=b'{"user": {"password": "json-password-2256"}}'),
    Case("json password number", ("987654321987",), "request.body",
         headers=JSON_TYPE, body=b'{"password": 987654321987}'),
    Case("json password list", ("list-secret-1167", "876543219876"), "request.body",
         headers=JSON_TYPE, body=b'{"password": ["list-secret-1167", 876543219876]}'),
    Case("query password", ("qry-password-9178",), "request.uri",
         method="GET", path="/api/chat?password=qry-password-9178&x=1"),
    Case("query secret", ("qry-secret-8089",), "request.uri",
         method="GET", path="/api/chat?secret=qry-secret-8089"),
    Case("query auth", ("qry-auth-7990",), "request.uri",
         method="GET", path="/api/chat?auth=qry-auth-7990"),
    Case("form password", ("frm-password-6801",), "request.body",
         headers=FORM_TYPE, body=b"password=frm-password-6801&x=1"),
    Case("form secret", ("frm-secret-5712",), "request.body",
         headers=FORM_TYPE, body=b"secret=frm-secret-5712"),
    Case("form auth", ("frm-auth-4623",), "request.body",
         headers=FORM_TYPE, body=b"auth=frm-auth-4623"),
    Case("prompt sk-", (OPENAI,), "request.body", headers=JSON_TYPE, body=_prompt(OPENAI)),
    Case("prompt AKIA", (AWS,), "request.body", headers=JSON_TYPE, body=_prompt(AWS)),
    Case("prompt ghp_", (GITHUB,), "request.body", headers=JSON_TYPE, body=_prompt(GITHUB)),
    Case("prompt JWT", (JWT,), "request.body", headers=JSON_TYPE, body=_prompt(JWT)),
    Case("query ghp_", (GITHUB_IN_QUERY,), "request.uri",
         method="GET", path=f"/api/chat?q={GITHUB_IN_QUERY}"),
    Case("answer body token", ("ans-body-token-3534",), "response.body",
         method="GET", path="/r/body-token", response=True),
    Case("answer X-Auth-Token", ("ans-hdr-token-2445",), "response.headers.X-Auth-Token",
         method="GET", path="/r/header", response=True),
    Case("answer Location ?token=", ("ans-loc-token-1356",), "response.headers.Location",
         method="GET", path="/r/location", response=True),
    Case("answer Set-Cookie", ("ans-cookie-0267",), "response.headers.Set-Cookie",
         method="GET", path="/r/set-cookie", response=True),
    Case("answer event stream ghs_", (GITHUB_IN_STREAM,), "response.body",
         method="GET", path="/r/stream", response=True),
)  # fmt: skip


async def _upstream_answers(request: web.Request) -> web.StreamResponse:
    """The secret-carrying answers of the response cases."""
    kind = request.match_info["kind"]
    if kind == "body-token":
        return web.json_response({"token": "ans-body-token-3534", "ok": True})
    if kind == "header":
        return web.json_response({"ok": True}, headers={"X-Auth-Token": "ans-hdr-token-2445"})
    if kind == "location":
        return web.Response(status=302, headers={"Location": "/next?token=ans-loc-token-1356"})
    if kind == "set-cookie":
        return web.json_response({}, headers={"Set-Cookie": "session=ans-cookie-0267; Path=/"})
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    event = f'data: {{"event_type": "token", "text": "{GITHUB_IN_STREAM}"}}\r\n\r\n'.encode()
    for piece in (event[:40], event[40:60], event[60:]):  # the secret cut across chunks
        await response.write(piece)
    await response.write_eof()
    return response


@dataclass
class Gathered:
    """What each place kept, and the lint findings (of the unredacted recordings)."""

    cassettes: dict[bool, str] = field(default_factory=dict)  # response cases? -> YAML text
    journal: str = ""
    access_log: str = ""
    findings: dict[bool, list[Finding]] = field(default_factory=dict)
    index: dict[str, int] = field(default_factory=dict)  # case -> its interaction index

    def kept(self, case: Case, place: str) -> str:
        """The text of ``place`` that ``case``'s secrets must not be in."""
        if place == "record":
            return self.cassettes[case.response]
        if place == "journal":
            return self.journal
        if place == "access log":
            return self.access_log
        return "\n".join(map(str, self.findings[case.response]))

    def flagged(self, case: Case) -> list[Finding]:
        """Lint's findings for ``case``'s interaction, in its field."""
        index = self.index[case.name]
        return [
            f
            for f in self.findings[case.response]
            if f.interaction == index and f.field == case.field
        ]

    def redacted(self, case: Case, place: str) -> bool:
        """Whether ``place`` kept none of ``case``'s secrets (for lint: and flagged it)."""
        clean = not any(secret in self.kept(case, place) for secret in case.secrets)
        return clean and (place != "lint" or bool(self.flagged(case)))


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@asynccontextmanager
async def _served(
    app: web.Application, access_log: logging.Logger | None = None
) -> AsyncIterator[str]:
    if access_log is None:
        runner = web.AppRunner(app, access_log=None)
    else:
        runner = web.AppRunner(app, access_log=access_log, access_log_class=RedactingAccessLogger)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


async def _send(session: aiohttp.ClientSession, base: str, case: Case) -> None:
    async with session.request(
        case.method, base + case.path, headers=dict(case.headers), data=case.body,
        allow_redirects=False,
    ) as response:  # fmt: skip
        await response.read()


async def run_matrix(directory: Path) -> Gathered:
    """Send every case through recording proxies (redacting and not) and gather each place."""
    gathered = Gathered()
    logger = logging.getLogger("oa_mockserver.test_secrets_access")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    lines = _Lines()
    logger.addHandler(lines)
    mock = create_app(ServerConfig(token_interval=0.0, first_token_delay=0.0))
    answers = web.Application()
    answers.router.add_get("/r/{kind}", _upstream_answers)
    try:
        async with (
            _served(mock, logger) as mock_url,
            _served(answers) as answers_url,
            aiohttp.ClientSession() as session,
        ):
            for response_side, upstream in ((False, mock_url), (True, answers_url)):
                cases = [c for c in CASES if c.response == response_side]
                for redactor, name in ((None, "redacted"), (Redactor.none(), "raw")):
                    path = directory / f"{name}-{'answers' if response_side else 'requests'}.yaml"
                    async with RecordingProxy(upstream, path, redactor=redactor) as proxy:
                        for index, case in enumerate(cases):
                            gathered.index[case.name] = index
                            await _send(session, proxy.url, case)
                    if redactor is None:
                        gathered.cassettes[response_side] = path.read_text(encoding="utf-8")
                    else:
                        gathered.findings[response_side] = run_lint([path])
            async with session.get(mock_url + "/__admin/requests?limit=1000") as response:
                gathered.journal = await response.text()
    finally:
        logger.removeHandler(lines)
    gathered.access_log = "\n".join(lines.lines)
    return gathered


def gather(directory: Path) -> Gathered:
    """:func:`run_matrix` in its own event loop."""
    return asyncio.run(run_matrix(directory))
