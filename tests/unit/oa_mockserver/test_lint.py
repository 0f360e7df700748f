"""``oa-mockserver lint``: schema and version errors and secrets, each at file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from oa_mockserver.recording import (
    Cassette,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    dump_cassette,
    run_lint,
)
from oa_mockserver.recording._lint import lint_main, lint_text

JWE = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..CNWDBuemB0vJgrexVAdxCw.LGlP3CFO43i_twwHj7J.LgWuSnU"


def cassette_text(
    request_headers=(("Accept", "application/json"),),
    response_body=b'{"id":"c1"}',
    uri="http://127.0.0.1:1/api/chat",
) -> str:
    interaction = Interaction(
        request=RecordedRequest(method="POST", uri=uri, headers=tuple(request_headers)),
        response=RecordedResponse(
            status=200,
            reason="OK",
            headers=(("Content-Type", "application/json"),),
            body=response_body,
        ),
    )
    return dump_cassette(Cassette(interactions=(interaction,)))


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_clean_cassette_has_no_findings() -> None:
    text = cassette_text(request_headers=[("Cookie", 'next-auth.session-token="REDACTED"')])
    assert lint_text(text, "c.yaml") == []


@pytest.mark.parametrize(
    ("kwargs", "needle", "code"),
    [
        (
            {"request_headers": [("Cookie", "next-auth.session-token=abcdef")]},
            "abcdef",
            "secret-header",
        ),
        ({"request_headers": [("Authorization", "Bearer abcdefgh")]}, "abcdefgh", "secret-header"),
        ({"uri": "http://h/api/chat?access_token=zzzzzz"}, "zzzzzz", "secret-query"),
        ({"response_body": b'{"refresh_token":"plainvalue"}'}, "plainvalue", "secret-body"),
        ({"response_body": JWE.encode()}, JWE[:20], "secret-format"),
        (
            {"request_headers": [("X-Session-Key", "Zq8vT3xLm9Pw2Rk7Yb4N")]},
            "Zq8vT3",
            "secret-header",
        ),
        (
            {"request_headers": [("X-Trace-Auth", "Zq8vT3xLm9Pw2Rk7Yb4N")]},
            "Zq8vT3",
            "secret-header",
        ),
        (
            {"request_headers": [("X-Author-Hash", "Zq8vT3xLm9Pw2Rk7Yb4N")]},
            "Zq8vT3",
            "high-entropy",
        ),
    ],
    ids=["cookie", "authorization", "query", "json-key", "jwe", "named-key", "auth", "entropy"],
)
def test_secrets_are_found_at_their_line(kwargs, needle: str, code: str) -> None:
    text = cassette_text(**kwargs)
    findings = lint_text(text, "c.yaml")
    assert code in {f.code for f in findings}
    finding = next(f for f in findings if f.code == code)
    assert finding.line == line_of(text, needle)
    assert needle not in str(finding)  # the report never repeats the secret
    assert str(finding).startswith(f"c.yaml:{finding.line}: {code}: ")


def test_low_entropy_values_are_not_secrets() -> None:
    text = cassette_text(request_headers=[("X-Session-Mode", "aaaaaaaaaaaaaaaaaaaaaaa")])
    assert lint_text(text) == []


def test_schema_errors_are_findings(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("version: 2\ninteractions: []\n", encoding="utf-8")
    (tmp_path / "good.yml").write_text(cassette_text(), encoding="utf-8")
    (tmp_path / "notes.txt").write_text("ignored", encoding="utf-8")
    findings = run_lint([tmp_path])
    assert [(Path(f.path).name, f.line, f.code) for f in findings] == [("bad.yaml", 1, "schema")]
    assert "version 2" in findings[0].message


def test_lint_main_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "ok.yaml").write_text(cassette_text(), encoding="utf-8")
    assert lint_main([str(tmp_path)]) == 0
    (tmp_path / "leak.yaml").write_text(
        cassette_text(request_headers=[("Authorization", "Bearer abcdefgh")]), encoding="utf-8"
    )
    assert lint_main([str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "leak.yaml:" in out
    assert "secret-header" in out
    assert "abcdefgh" not in out
    assert lint_main([str(tmp_path / "missing")]) == 2


def test_reference_recordings_would_be_caught(tmp_path: Path) -> None:
    """The real server's tokens, pasted into a cassette unredacted, are flagged."""
    reference = Path(__file__).parents[2] / "reference" / "oa-inference-server-recordings.jsonl"
    import json

    record = next(
        json.loads(line)
        for line in reference.read_text(encoding="utf-8").splitlines()
        if '"auth_check"' in line
    )
    headers = [tuple(h) for h in record["request"]["headers"]]
    text = cassette_text(request_headers=headers)
    codes = {f.code for f in lint_text(text)}
    assert "secret-header" in codes


# --- issue 11: every secret left in a file is flagged, with its interaction and field ----------

GITHUB = "ghp_1234567890abcdefghijklmnopqrstuvwxyz"
AWS = "AKIAIOSFODNN7EXAMPLE"


def two_interactions(second: Interaction) -> str:
    first = Interaction(
        request=RecordedRequest(method="GET", uri="http://h/api/chat?chat_id=1"),
        response=RecordedResponse(status=200, reason="OK", body=b"[]"),
    )
    return dump_cassette(Cassette(interactions=(first, second)))


def request(**kwargs) -> Interaction:
    kwargs.setdefault("method", "POST")
    kwargs.setdefault("uri", "http://h/api/chat/prompter_message")
    return Interaction(
        request=RecordedRequest(**kwargs),
        response=RecordedResponse(status=200, reason="OK", body=b"{}"),
    )


def response(**kwargs) -> Interaction:
    kwargs.setdefault("status", 200)
    kwargs.setdefault("reason", "OK")
    kwargs.setdefault("body", b"{}")
    return Interaction(
        request=RecordedRequest(method="GET", uri="http://h/x"), response=RecordedResponse(**kwargs)
    )


JSON = (("Content-Type", "application/json"),)
FORM = (("Content-Type", "application/x-www-form-urlencoded"),)


@pytest.mark.parametrize(
    ("interaction", "secret", "code", "field"),
    [
        (request(headers=(("X-Auth-Token", "tok-1a2b"),)), "tok-1a2b", "secret-header",
         "request.headers.X-Auth-Token"),
        (request(headers=(("Api-Key", "key-3c4d"),)), "key-3c4d", "secret-header",
         "request.headers.Api-Key"),
        (request(headers=JSON, body=b'{"a": {"apiKey": "k-5e6f"}}'), "k-5e6f", "secret-body",
         "request.body"),
        (request(headers=JSON, body=b'{"password": 90817263}'), "90817263", "secret-body",
         "request.body"),
        (request(headers=JSON, body=b'{"password": ["p-7g8h", 5]}'), "p-7g8h", "secret-body",
         "request.body"),
        (request(uri="http://h/x?auth=a-9i0j"), "a-9i0j", "secret-query", "request.uri"),
        (request(uri="http://h/x?secret=s-1k2l"), "s-1k2l", "secret-query", "request.uri"),
        (request(headers=FORM, body=b"password=f-3m4n"), "f-3m4n", "secret-body", "request.body"),
        (request(headers=JSON, body=f'{{"content": "key {GITHUB} ok"}}'.encode()), GITHUB,
         "secret-format", "request.body"),
        (request(headers=JSON, body=f'{{"content": "{AWS}"}}'.encode()), AWS, "secret-format",
         "request.body"),
        (response(body=b'{"token": "t-5o6p"}', headers=JSON), "t-5o6p", "secret-body",
         "response.body"),
        (response(headers=(("X-Auth-Token", "t-7q8r"),)), "t-7q8r", "secret-header",
         "response.headers.X-Auth-Token"),
        (response(status=302, reason="Found", headers=(("Location", "/n?token=t-9s0t"),)),
         "t-9s0t", "secret-query", "response.headers.Location"),
        (response(body=f'data: {{"text": "{GITHUB}"}}\n\n'.encode(),
                  headers=(("Content-Type", "text/event-stream"),)),
         GITHUB, "secret-format", "response.body"),
    ],
    ids=["x-auth-token", "api-key", "json-deep", "json-number", "json-list", "query-auth",
         "query-secret", "form", "prompt-github", "prompt-aws", "answer-token",
         "answer-header", "answer-location", "answer-stream"],
)  # fmt: skip
def test_every_secret_is_flagged_with_interaction_and_field(
    interaction: Interaction, secret: str, code: str, field: str
) -> None:
    text = two_interactions(interaction)
    findings = lint_text(text, "c.yaml")
    mine = [f for f in findings if f.code == code and f.field == field]
    assert mine, findings
    assert all(f.interaction == 1 for f in mine)
    assert all(secret not in str(f) for f in findings)  # never printed
    assert f"c.yaml:{mine[0].line}: {code}: interaction 1, {field}: " in str(mine[0])
    assert secret in text.splitlines()[mine[0].line - 1]  # the line holds it


def test_placeholders_and_sampling_parameters_are_clean() -> None:
    body = (
        b'{"content": "key REDACTED-0123456789ab", "password": "REDACTED", "token": "REDACTED",'
        b' "sampling_parameters": {"max_new_tokens": 1024, "top_k": 50}, "keep_chat": true}'
    )
    text = two_interactions(request(headers=JSON, body=body, uri="http://h/x?auth=REDACTED"))
    assert lint_text(text) == []


def test_lint_main_prints_where_but_never_the_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = two_interactions(request(headers=JSON, body=b'{"client_secret": 55443322}'))
    (tmp_path / "leak.yaml").write_text(text, encoding="utf-8")
    assert lint_main([str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "interaction 1, request.body: the value of JSON key 'client_secret'" in out
    assert "55443322" not in out


def _readme_example() -> str:
    readme = Path(__file__).resolve().parents[3] / "cassettes" / "README.md"
    text = readme.read_text(encoding="utf-8")
    return text.split("```yaml\n", 1)[1].split("```", 1)[0]


def test_the_cassettes_readme_example_is_lint_clean() -> None:
    # Its flow-style `Cookie: [name="REDACTED"]` once read as a high-entropy cookie value.
    assert lint_text(_readme_example()) == []


@pytest.mark.parametrize("marker", ['"REDACTED"', '"REDACTED-0123456789ab"', "REDACTED"])
def test_our_own_markers_in_a_flow_style_cookie_are_accepted(marker: str) -> None:
    line = f"    headers: {{Cookie: [next-auth.session-token={marker}]}}"
    text = _readme_example().replace(
        '    headers: {Cookie: [next-auth.session-token="REDACTED"]}', line
    )
    assert [f.code for f in lint_text(text)] == []


def test_a_flow_style_cookie_with_a_live_value_is_still_flagged() -> None:
    live = '"Zq8vN3xR7tLp2WmK9sD4fH6j"'
    text = _readme_example().replace('"REDACTED"]', live + "]")
    codes = {f.code for f in lint_text(text)}
    assert "high-entropy" in codes or "secret-header" in codes
    assert all(live.strip('"') not in str(f) for f in lint_text(text))


@pytest.mark.parametrize(
    "value",
    [
        "api_key=dGhpcyBpcyBhIHNlY3JldCB0b2tlbiB2YWx1ZQ==",  # base64 padding ends the value
        "api_key=dGhpcyBpcyBhIHNlY3JldCB0b2tlbiB2YWx1ZQ",
        "sid=dGhpcyBpcyBhIHNlY3JldCB0b2tlbiB2YWx1ZQ==",  # a cookie's name, then padded base64
    ],
)
def test_a_padded_base64_secret_in_a_flow_style_header_is_flagged(value: str) -> None:
    header = "X-Note" if value.startswith("api_key") else "Cookie"
    text = _readme_example().replace(
        '    headers: {Cookie: [next-auth.session-token="REDACTED"]}',
        f"    headers: {{{header}: [{value}]}}",
    )
    assert text != _readme_example()
    assert {f.code for f in lint_text(text)} & {"high-entropy", "secret-header"}
