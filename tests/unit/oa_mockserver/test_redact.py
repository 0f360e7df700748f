"""Record-time redaction: headers keep their shape, bodies keep their bytes but the secrets."""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oa_mockserver import RedactionRuleError
from oa_mockserver.recording import REDACTED, Chunk, RecordedResponse, Redactor
from oa_mockserver.recording._redact import redact_response, redact_spans
from oa_mockserver.recording._secret_formats import detectors, format_spans
from oa_mockserver.recording._secret_names import is_descriptive_name

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
    redacted = R.text(f"login failed for {token} today")
    assert re.fullmatch(r"login failed for REDACTED-[0-9a-f]{12} today", redacted)
    stream = f'data: {{"event_type": "x", "refresh_token": "{token}"}}\r\n\r\n'.encode()
    assert token.encode() not in R.body(stream, "text/event-stream")


def test_form_bodies() -> None:
    body = b"grant_type=refresh&refresh_token=abcdef&x=1"
    assert R.body(body, "application/x-www-form-urlencoded") == (
        b"grant_type=refresh&refresh_token=REDACTED&x=1"
    )


def test_extended_rules_compose_and_validate() -> None:
    rules = R.extended(
        headers=["X-Pin"], json_keys=["pin"], query_params=["sid"], patterns=["sk-[a-z0-9]+"]
    )
    assert rules.header_value("x-pin", "v") == REDACTED
    assert rules.uri("http://h/?sid=1") == "http://h/?sid=REDACTED"
    redacted = rules.body(b'{"pin": "12345678", "k": "sk-abc123"}')
    assert re.fullmatch(rb'\{"pin": "REDACTED", "k": "REDACTED-[0-9a-f]{12}"\}', redacted)
    assert R.header_value("x-pin", "v") == "v"  # the default is untouched
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


# --- issue 11: secrets by name family, any value type, both directions; secrets by format ----

OPENAI = "sk-proj-abcdEFGH1234ijklMNOP" + "T3BlbkFJ" + "qrstUVWX5678yzabCDEF"
AWS = "AKIAIOSFODNN7EXAMPLE"
GITHUB = "ghp_1234567890abcdefghijklmnopqrstuvwxyz"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwi"
    "aWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
SLACK = "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
STRIPE = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dcXYZabc"
PRIVATE_KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7bq\n-----END RSA PRIVATE KEY-----"
FORMATS = {
    "openai": OPENAI,
    "aws": AWS,
    "github": GITHUB,
    "jwt": JWT,
    "slack": SLACK,
    "stripe": STRIPE,
    "private-key": PRIVATE_KEY,
}
PLACEHOLDER = re.compile(r"REDACTED-[0-9a-f]{12}")
SAMPLING = ("max_new_tokens", "top_k", "top_p", "typical_p", "temperature",
            "repetition_penalty", "seed", "do_sample")  # fmt: skip


def protocol_field_names() -> set[str]:
    """Every JSON key of the reference recordings (both dialects, both directions)."""
    names: set[str] = set()

    def walk(value: object) -> None:
        if isinstance(value, dict):
            names.update(value)
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for record in reference():
        for side in ("request", "response"):
            body = record[side].get("body")
            texts = [body] if isinstance(body, str) else []
            for chunk in (record[side].get("stream") or {}).get("http_chunks", []):
                texts.append(chunk.get("data", "") if isinstance(chunk, dict) else "")
            for text in texts:
                for piece in [
                    text,
                    *(line[5:] for line in text.splitlines() if line[:5] == "data:"),
                ]:
                    with contextlib.suppress(ValueError):
                        walk(json.loads(piece))
        names.update(name for name, _ in parse_qsl(record["request"].get("query") or ""))
    return names


@pytest.mark.parametrize(
    "name",
    ["X-Auth-Token", "Api-Key", "token", "apiKey", "APIKey", "client_secret", "auth_token",
     "password", "Password", "PASSWD", "secret", "auth", "Authorization", "session",
     "sessionId", "PHPSESSID", "JSESSIONID", "csrftoken", "X-CSRF-Token", "cookie",
     "Set-Cookie", "credentials", "X-Amz-Credential", "X-Amz-Signature", "private_key",
     "access_token", "refresh_token", "next-auth.session-token", "x-api-key", "api_key2"],
)  # fmt: skip
def test_secret_names(name: str) -> None:
    assert R.secret_key(name)
    assert R.secret_param(name)
    assert R.secret_header(name)


@pytest.mark.parametrize(
    "name",
    [*SAMPLING, "keep_chat", "message_id", "parent_id", "chat_id", "token_type", "expires_in",
     "event_type", "author", "monkey", "tokens", "tokenizer", "X-Session-Mode", "keyword",
     "Content-Type", "Accept-Encoding", "X-OA-Mock-Fault", "Keep-Alive", "WWW-Authenticate",
     "user_profile", "safety_level", "work_parameters", "sampling_parameters"],
)  # fmt: skip
def test_names_that_are_not_secret(name: str) -> None:
    assert not R.secret_key(name)
    assert not R.secret_param(name)


def test_no_protocol_field_but_the_tokens_is_secret() -> None:
    names = protocol_field_names()
    assert {"max_new_tokens", "top_k", "token_type", "parent_id"} <= names  # the walk saw them
    assert {n for n in names if R.secret_key(n)} == {"access_token", "refresh_token"}
    assert {n for n in names if R.secret_param(n)} == {"access_token", "refresh_token"}
    headers = {name for r in reference() for side in ("request", "response")
               for name, _ in r[side]["headers"]}  # fmt: skip
    assert {h.lower() for h in headers if R.secret_header(h)} == {"authorization", "refresh"}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"token": 123456}', b'{"token": "REDACTED"}'),
        (b'{"password": [1, "two", 3.5e2]}', b'{"password": ["REDACTED", "REDACTED", "REDACTED"]}'),
        (b'{"apiKey": {"v": "k", "n": -1}}', b'{"apiKey": {"v": "REDACTED", "n": "REDACTED"}}'),
        (b'{"a": [{"client_secret": "s"}]}', b'{"a": [{"client_secret": "REDACTED"}]}'),
        (b'{"auth_token": true, "x": null}', b'{"auth_token": true, "x": null}'),
        (b'{"auth": {"token_type": "bearer", "t": "x"}}',
         b'{"auth": {"token_type": "bearer", "t": "REDACTED"}}'),
        (b'{"\\u0070assword": "p"}', b'{"\\u0070assword": "REDACTED"}'),
        (b'{"max_new_tokens": 1024, "top_k": 50, "keep_chat": true}',
         b'{"max_new_tokens": 1024, "top_k": 50, "keep_chat": true}'),
        (b'{"password": 12', b'{"password": "REDACTED"'),
    ],
    ids=["number", "list", "object", "deep", "bool-kept", "descriptive-kept", "escaped-key",
         "sampling", "cut-short"],
)  # fmt: skip
def test_json_values_of_any_type(body: bytes, expected: bytes) -> None:
    assert R.body(body, "application/json") == expected


def test_query_form_and_headers_in_both_directions() -> None:
    uri = "http://h/x?password=p1&secret=s1&auth=a1&chat_id=1&max_new_tokens=3"
    assert R.uri(uri) == (
        "http://h/x?password=REDACTED&secret=REDACTED&auth=REDACTED&chat_id=1&max_new_tokens=3"
    )
    form = b"password=p1&Secret=s1&auth=a1&top_k=5"
    assert R.body(form, "application/x-www-form-urlencoded") == (
        b"password=REDACTED&Secret=REDACTED&auth=REDACTED&top_k=5"
    )
    assert R.header_value("X-Auth-Token", "t0k") == REDACTED
    assert R.header_value("Api-Key", "k3y") == REDACTED
    assert R.header_value("Location", "/next?token=t0k&page=2") == "/next?token=REDACTED&page=2"
    assert R.header_value("Set-Cookie", "sid=abc; Path=/") == 'sid="REDACTED"; Path=/'
    assert R.header_value("X-Note", f"use {GITHUB}").startswith("use REDACTED-")


@pytest.mark.parametrize("kind", sorted(FORMATS))
def test_well_known_formats_anywhere(kind: str) -> None:
    secret = FORMATS[kind]
    prompt = json.dumps({"content": f"my key is {secret}, keep it", "parent_id": None}).encode()
    redacted = R.body(prompt, "application/json")
    assert secret.encode() not in redacted
    assert json.loads(redacted)["content"].startswith("my key is REDACTED-")
    event = f'data: {{"event_type": "token", "text": "{secret}"}}\n\n'.encode("unicode_escape")
    assert secret.encode("unicode_escape")[:12] not in R.body(event, "text/event-stream")
    assert PLACEHOLDER.search(R.uri(f"http://h/x?q={secret}&a=1")) or kind == "private-key"


def test_a_longer_key_than_the_pattern_is_redacted_whole() -> None:
    # detect-secrets' Stripe pattern is 24 characters after the prefix; real keys are longer
    redacted = R.text(f"key {STRIPE}XYZ0123456789 end")
    assert re.fullmatch(r"key REDACTED-[0-9a-f]{12} end", redacted)


def test_the_same_secret_gives_the_same_placeholder_and_others_differ() -> None:
    text = R.text(f"{GITHUB} {AWS} {GITHUB}")
    first, second, third = text.split()
    assert first == third != second
    assert PLACEHOLDER.fullmatch(first)
    assert PLACEHOLDER.fullmatch(second)
    assert R.text(GITHUB) == first  # another call, another body: the same placeholder


def test_chunks_of_a_stream_with_a_secret_cut_across_them() -> None:
    body = f'data: {{"event_type": "token", "text": "{GITHUB}"}}\r\n\r\n'.encode()
    chunks = [body[:30], body[30:45], body[45:]]
    new_body, new_chunks = R.chunks(chunks, "text/event-stream")
    assert b"".join(new_chunks) == new_body == R.body(body)
    assert GITHUB[4:].encode() not in new_body


def test_a_recorded_response_is_redacted_in_headers_body_and_chunks_keeping_times() -> None:
    body = f'data: {{"event_type": "token", "text": "{GITHUB}"}}\r\n\r\n'.encode()
    cuts = [body[:30], body[30:45], body[45:]]
    recorded = RecordedResponse(
        status=200,
        reason="OK",
        headers=(("Content-Type", "text/event-stream"), ("Set-Cookie", "session=abc")),
        body=body,
        chunks=tuple(Chunk(0.5 * i, c) for i, c in enumerate(cuts)),
    )
    redacted = redact_response(R, recorded)
    assert redacted.body == R.body(body)
    assert b"".join(c.data for c in redacted.chunks) == redacted.body
    assert [c.offset_s for c in redacted.chunks] == [0.0, 0.5, 1.0]
    assert redacted.header("Set-Cookie") == f'session="{REDACTED}"'
    assert (redacted.status, redacted.reason) == (200, "OK")
    plain = RecordedResponse(status=200, body=b'{"password": "hunter22"}')
    assert redact_response(R, plain).body == b'{"password": "REDACTED"}'


# --- properties ----------------------------------------------------------------------------

_names = st.sampled_from(
    ["content", "text", "parent_id", "model_config_name", "chat_id", "note", "user",
     "token", "apiKey", "password", "client_secret", "auth_token", "X-Auth-Token", *SAMPLING]
)  # fmt: skip
_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**9), 10**9),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(list(FORMATS.values())).map(lambda s: f"say {s} now"),
)
_json = st.recursive(
    _leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(_names, inner, max_size=4)
    ),
    max_leaves=12,
)


def _skeleton(value: object) -> object:
    """The structure: keys in order, list lengths; every leaf None."""
    if isinstance(value, dict):
        return [(k, _skeleton(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [_skeleton(v) for v in value]
    return None


def _secret_leaves(value: object, secret: bool = False) -> list[tuple[object, bool]]:
    """Every leaf, and whether it is secret: under a secret key, and inside a secret object not
    under a descriptive key (``token_type``, ``model_config_name``)."""
    if isinstance(value, dict):
        return [
            x
            for k, v in value.items()
            for x in _secret_leaves(
                v,
                R.secret_key(k)
                or (secret and not (is_descriptive_name(k) and not isinstance(v, dict | list))),
            )
        ]
    if isinstance(value, list):
        return [x for v in value for x in _secret_leaves(v, secret)]
    return [(value, secret)]


@given(document=st.dictionaries(_names, _json, max_size=5), compact=st.booleans())
def test_redaction_keeps_json_structure_and_is_idempotent(document: dict, compact: bool) -> None:
    separators = (",", ":") if compact else (", ", ": ")
    body = json.dumps(document, separators=separators).encode()
    once = R.body(body, "application/json")
    assert R.body(once, "application/json") == once
    parsed = json.loads(once)
    before, after = _secret_leaves(document), _secret_leaves(parsed)
    assert len(before) == len(after)
    for (old, secret), (new, _) in zip(before, after, strict=True):
        if secret and not isinstance(old, bool | type(None)) and old != "":
            assert new == REDACTED  # an empty string holds nothing: it stays
        elif isinstance(old, str):
            assert isinstance(new, str)
        else:
            assert new == old  # numbers, booleans, null outside secrets are kept as they were
    assert _skeleton(parsed) == _skeleton(document)
    for secret in FORMATS.values():
        assert secret.encode() not in once


@given(
    params=st.dictionaries(
        st.sampled_from(SAMPLING), st.one_of(st.integers(0, 4096), st.floats(0, 2)), min_size=1
    ),
    noise=st.sampled_from([AWS, GITHUB, "plain words"]),
)
def test_sampling_parameters_are_never_redacted(params: dict, noise: str) -> None:
    body = json.dumps(
        {"content": noise, "sampling_parameters": params, "token": "t", "password": 7}
    ).encode()
    out = json.loads(R.body(body, "application/json"))
    assert out["sampling_parameters"] == params
    query = "&".join(f"{k}={v}" for k, v in params.items())
    assert R.uri(f"http://h/x?{query}") == f"http://h/x?{query}"


@given(
    before=st.text(max_size=30),
    after=st.text(max_size=30),
    secret=st.sampled_from(list(FORMATS.values())),
)
def test_the_same_secret_same_placeholder_in_any_text(before: str, after: str, secret: str) -> None:
    first = R.text(f"{before} {secret} {after}")
    second = R.text(f"x {secret} y")
    assert secret not in first
    found = {m.group() for m in PLACEHOLDER.finditer(second)}
    assert len(found) == 1
    assert found <= {m.group() for m in PLACEHOLDER.finditer(first)}
    assert R.text(first) == first


# --- the detect-secrets plugins in use: each finds its format, literals and all -----------

PLUGIN_SAMPLES = {
    "AWS Access Key": AWS,
    "Azure Storage Account access key": "AccountKey=" + "a1B2" * 22,
    "Basic Auth Credentials": "https://deploy:hunter2pass@git.example.com/repo",
    "Discord Bot Token": "MTA" + "x" * 21 + ".GhIjKl." + "y" * 27,
    "GitHub Token": GITHUB,
    "GitLab Token": "glpat-" + "AbCdEfGhIjKlMnOpQrSt",
    "JSON Web Token": JWT,
    "Mailchimp Access Key": "0123456789abcdef0123456789abcdef-us12",
    "NPM tokens": "//registry.npmjs.org/:_authToken=npm_AbCdEf0123456789",
    "OpenAI Token": OPENAI,
    "Private Key": PRIVATE_KEY,
    "PyPI Token": "pypi-AgEIcHlwaS5vcmc" + "Ab1" * 25,
    "SendGrid API Key": "SG." + "a" * 22 + "." + "b" * 43,
    "Slack Token": SLACK,
    "Square OAuth Secret": "sq0csp-" + "c" * 43,
    "Stripe Access Key": STRIPE,
    "Telegram Bot Token": "123456789:" + "AbCdEfGhIjKlMnOpQrStUvWxYz012345678",
    "Twilio API Key": "AC" + "0123456789abcdef" * 2,
}


@pytest.mark.parametrize("kind", sorted(PLUGIN_SAMPLES))
def test_each_plugin_in_use_finds_its_format(kind: str) -> None:
    sample = PLUGIN_SAMPLES[kind]
    data = json.dumps({"note": f"see {sample} here"}).encode()
    assert kind in {what for _, _, what in format_spans(data)}
    redacted = R.body(data, "application/json")
    secret_part = sample.rpartition(":")[2] if kind == "Basic Auth Credentials" else sample
    assert secret_part.split("@")[0].encode() not in redacted
    assert json.loads(redacted)["note"].startswith("see ")  # still a JSON string


def test_the_plugins_are_the_ones_the_table_was_written_for() -> None:
    """A new detect-secrets release that changes a plugin's patterns must be looked at: the
    table of capture groups and literals (_secret_formats._PLUGINS) is written for these."""
    counts = {}
    for detector in detectors():
        counts[detector.name] = counts.get(detector.name, 0) + 1
    assert set(counts) == set(PLUGIN_SAMPLES)
    assert counts["GitLab Token"] == 7
    assert counts["Private Key"] == 8
    assert counts["AWS Access Key"] == counts["Slack Token"] == counts["Twilio API Key"] == 2
