"""The session cookie from a HAR file (``cookies=`` a ``.har`` path, or ``$OA_HAR_FILE``), read as
gpt4free's cookie loader reads one: the request cookies of the entries for the host."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from oa_provider import MissingCredentialsError
from oa_provider._cookies import find_credentials, parse_har_cookies

SECRET = "s3cr3t-har-session-do-not-print"
LOCAL = "http://127.0.0.1:8080"
FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "har" / "chromium_two_turns.har"


def _entry(url: str, cookies: list[tuple[str, str]], header: str | None = None) -> dict[str, Any]:
    headers = [{"name": "accept", "value": "*/*"}]
    if header is not None:
        headers.append({"name": "cookie", "value": header})
    return {
        "request": {
            "method": "GET",
            "url": url,
            "headers": headers,
            "cookies": [{"name": n, "value": v} for n, v in cookies],
        },
        "response": {"status": 200, "headers": [], "content": {"size": 0}},
    }


def _har(tmp_path: Path, entries: list[dict[str, Any]], name: str = "session.har") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps({"log": {"version": "1.2", "entries": entries}}), encoding="utf-8")
    return path


def test_cookies_may_be_the_path_of_a_har_file(tmp_path: Path) -> None:
    path = _har(
        tmp_path,
        [
            _entry("https://example.org/x", [("other", "x")]),
            _entry("http://127.0.0.1:9999/api/chat", [("next-auth.session-token", "old")]),
            _entry("http://127.0.0.1:9999/api/chat", [("next-auth.session-token", SECRET)]),
        ],
    )
    for given in (str(path), path):
        credentials = find_credentials(given, LOCAL)
        assert credentials.items() == [("next-auth.session-token", SECRET)]  # the last one
        assert credentials.source == f"HAR file {path}"
        assert SECRET not in repr(credentials)


def test_the_cookie_header_counts_when_the_har_lists_no_cookies(tmp_path: Path) -> None:
    path = _har(
        tmp_path, [_entry(f"{LOCAL}/api/chat", [], header=f"a=1; next-auth.session-token={SECRET}")]
    )
    assert find_credentials(str(path), LOCAL).names == ("a", "next-auth.session-token")


def test_a_real_chromium_har() -> None:
    credentials = find_credentials(str(FIXTURE), "http://127.0.0.1:1")
    assert credentials.names == ("next-auth.session-token",)


def test_oa_har_file_comes_after_oa_cookies_and_before_the_cookie_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _har(tmp_path, [_entry(f"{LOCAL}/api/chat", [("next-auth.session-token", SECRET)])])
    cookie_file = tmp_path / "cookies.txt"
    cookie_file.write_text("127.0.0.1\tFALSE\t/\tFALSE\t0\tnext-auth.session-token\tfromtxt\n")
    monkeypatch.setenv("OA_COOKIE_FILE", str(cookie_file))
    monkeypatch.setenv("OA_HAR_FILE", str(path))
    assert find_credentials(None, LOCAL).source == f"HAR file {path}"
    monkeypatch.setenv("OA_COOKIES", "next-auth.session-token=fromenv")
    assert find_credentials(None, LOCAL).source == "OA_COOKIES"


def test_a_har_without_our_host_is_passed_over_from_the_environment_but_not_as_argument(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _har(tmp_path, [_entry("https://example.org/", [("session", SECRET)])])
    with pytest.raises(MissingCredentialsError, match=r"holds no request cookie for 127\.0\.0\.1"):
        find_credentials(str(path), LOCAL)
    monkeypatch.setenv("OA_HAR_FILE", str(path))
    with pytest.raises(MissingCredentialsError, match=r"the HAR file .* \(no cookie for 127"):
        find_credentials(None, LOCAL, use_browser=False)


def test_a_missing_har_file_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(MissingCredentialsError, match="cannot read HAR file"):
        find_credentials(str(tmp_path / "nope.har"), LOCAL)
    monkeypatch.setenv("OA_HAR_FILE", str(tmp_path / "nope.har"))
    with pytest.raises(MissingCredentialsError, match=r"OA_HAR_FILE names .* does not exist"):
        find_credentials(None, LOCAL)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (f'{{"log": {{"entries": [{{"request": "{SECRET}"', "not JSON (line 1 column"),
        (f'{{"cookies": "{SECRET}"}}', "no log.entries list"),
        (f'{{"log": {{"entries": {{"x": "{SECRET}"}}}}}}', "no log.entries list"),
        (f'{{"log": {{"entries": [{{"response": "{SECRET}"}}]}}}}', "entry 0 has no request"),
    ],
)
def test_a_malformed_har_names_the_file_and_what_to_do_without_quoting_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, reason: str
) -> None:
    path = tmp_path / "broken.har"
    path.write_text(text, encoding="utf-8")
    for given, env in ((str(path), None), (None, str(path))):
        if env is not None:
            monkeypatch.setenv("OA_HAR_FILE", env)
        with pytest.raises(MissingCredentialsError) as info:
            find_credentials(given, LOCAL)
        message = str(info.value)
        assert message.startswith(f"HAR file {path} is not a valid HAR ({reason}")
        assert "save it again" in message
        assert SECRET not in message
        assert info.value.__cause__ is None


def test_parse_har_cookies_matches_the_host_not_the_port() -> None:
    text = json.dumps(
        {
            "log": {
                "entries": [
                    _entry("http://127.0.0.1:1/", [("a", "1")]),
                    _entry("http://localhost/", [("b", "2")]),
                ]
            }
        }
    )
    assert parse_har_cookies(text, "http://127.0.0.1:2") == [("a", "1")]
