"""Record-time redaction: headers keep their shape, bodies keep their bytes but the secrets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oa_mockserver import REDACTED, RedactionRuleError, Redactor
from oa_mockserver._redact import redact_spans

REFERENCE = Path(__file__).parents[2] / "reference" / "oa-inference-server-recordings.jsonl"
R = Redactor.default()


def reference() -> list[dict]:
    return [json.loads(line) for line in REFERENCE.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("Authorization", "Bearer eyJabc.def", "Bearer REDACTED"),
        ("authorization", "Token xyz", "Token REDACTED"),
        ("Authorization", "Bearer ", "REDACTED"),
        (
            "Cookie",
            "a=1; next-auth.session-token=s3cr3t",
            'a="REDACTED"; next-auth.session-token="REDACTED"',
        ),
        ("Set-Cookie", "sid=abc; Path=/; HttpOnly", 'sid="REDACTED"; Path=/; HttpOnly'),
        ("Set-Cookie", "garbage", "REDACTED"),
        ("Refresh", "eyJrefresh", "REDACTED"),
        ("Content-Type", "application/json", "application/json"),
    ],
)
def test_header_values(name: str, value: str, expected: str) -> None:
    assert R.header_value(name, value) == expected


def test_query_tokens_and_userinfo() -> None:
    uri = "http://u:pw@h/x?chat_id=1&access_token=abc&Token=def&empty=&b=2"
    assert (
        R.uri(uri)
        == "http://u:REDACTED@h/x?chat_id=1&access_token=REDACTED&Token=REDACTED&empty=&b=2"
    )
    assert R.uri("http://h/api/chat?chat_id=1") == "http://h/api/chat?chat_id=1"


def test_reference_login_tokens_are_redacted_but_bytes_otherwise_kept() -> None:
    login = next(r for r in reference() if r["name"] == "auth_debug_login")
    body = login["response"]["body"].encode()
    out = R.body(body, "application/json")
    data = json.loads(out)
    assert data["access_token"] == {"access_token": REDACTED, "token_type": "bearer"}
    assert data["refresh_token"] == {"access_token": REDACTED, "token_type": "refresh"}
    assert b'","token_type":"bearer"}' in out  # compact spacing kept: bytes edited, not re-dumped


def test_every_reference_authorization_header_is_redacted() -> None:
    seen = 0
    for record in reference():
        for name, value in record["request"]["headers"]:
            if name.lower() == "authorization" and len(value) > 20:
                seen += 1
                assert "eyJ" not in R.header_value(name, value)
    assert seen > 10


def test_jwt_shapes_in_free_text_and_streams() -> None:
    token = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..CNWDBuemB0vJ.LGlP3CFO43i.LgWuSnU"
    assert R.text(f"login failed for {token} today") == "login failed for REDACTED today"
    stream = f'data: {{"event_type": "x", "refresh_token": "{token}"}}\r\n\r\n'.encode()
    assert token.encode() not in R.body(stream, "text/event-stream")


def test_form_bodies() -> None:
    body = b"grant_type=refresh&refresh_token=abcdef&x=1"
    assert R.body(body, "application/x-www-form-urlencoded") == (
        b"grant_type=refresh&refresh_token=REDACTED&x=1"
    )


def test_extended_rules_compose_and_validate() -> None:
    rules = R.extended(
        headers=["X-Secret"], json_keys=["pin"], query_params=["sid"], patterns=["sk-[a-z0-9]+"]
    )
    assert rules.header_value("x-secret", "v") == REDACTED
    assert rules.uri("http://h/?sid=1") == 'http://h/?sid=REDACTED'
    assert (
        rules.body(b'{"pin": "12345678", "k": "sk-abc123"}')
        == b'{"pin": "REDACTED", "k": "REDACTED"}'
    )
    assert R.header_value("x-secret", "v") == "v"  # the default is untouched
    combined = Redactor.none() + rules
    assert combined.header_value("X-Secret", "v") == REDACTED
    with pytest.raises(RedactionRuleError, match="does not compile"):
        R.extended(patterns=["("])
    with pytest.raises(RedactionRuleError, match="empty string"):
        R.extended(patterns=["a*"])


def test_journal_mapping() -> None:
    data = {"access_token": {"access_token": "x", "token_type": "bearer"}, "n": 1, "l": ["ok"]}
    assert R.mapping(data) == {
        "access_token": {"access_token": REDACTED, "token_type": REDACTED},
        "n": 1,
        "l": ["ok"],
    }


@given(
    data=st.binary(max_size=60),
    spans=st.lists(st.tuples(st.integers(0, 60), st.integers(0, 20)), max_size=4),
    cuts=st.lists(st.integers(0, 60), max_size=5),
)
def test_redact_spans_keeps_chunks_joined(data: bytes, spans, cuts) -> None:
    real_spans = [(min(s, len(data)), min(s + n, len(data))) for s, n in spans]
    real_spans = [(s, e) for s, e in real_spans if e > s]
    points = sorted({c for c in cuts if 0 < c < len(data)})
    sizes = [b - a for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    new, new_sizes = redact_spans(data, real_spans, sizes if data else [])
    assert new_sizes is not None
    assert sum(new_sizes) == len(new)
    assert all(s > 0 for s in new_sizes)
    if not real_spans:
        assert new == data
        assert new_sizes == [n for n in sizes if n]
    else:
        assert REDACTED.encode() in new
        assert new.startswith(data[: min(s for s, _ in real_spans)])


@given(
    prefix=st.text(max_size=20),
    suffix=st.text(max_size=20),
    cuts=st.lists(st.integers(1, 200), max_size=6),
)
def test_chunked_redaction_equals_whole_redaction(prefix: str, suffix: str, cuts) -> None:
    body = json.dumps({"p": prefix, "access_token": "secret-value-123", "s": suffix}).encode()
    points = sorted({c for c in cuts if c < len(body)})
    chunks = [body[a:b] for a, b in zip([0, *points], [*points, len(body)], strict=True)]
    new_body, new_chunks = R.chunks(chunks, "application/json")
    assert new_body == R.body(body, "application/json")
    assert b"".join(new_chunks) == new_body
    assert b"secret-value-123" not in new_body


@pytest.mark.parametrize(
    "body",
    [
        b'{"chat_id":"x","content":"hi","refresh_token":"SEKRIT8",',
        b'{"Access_Token" : "SEKRIT8"',
        b'{"refresh_token":"SEK\\"RIT8"}}}',
        b'not json at all "api_key":"SEKRIT8" trailing',
    ],
    ids=["cut-short", "spaced-and-cased", "escaped-quote-and-junk", "inside-text"],
)
def test_secret_keys_in_bodies_that_do_not_parse_are_redacted(body: bytes) -> None:
    redacted = Redactor.default().body(body)
    assert b"SEKRIT" not in redacted
    assert b"RIT8" not in redacted
    assert b"REDACTED" in redacted
