"""Credential lookup: argument, OA_COOKIES, cookies.txt, browser; secrets never shown."""

from __future__ import annotations

import http.cookiejar
import sys
import types
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oa_provider import MissingCredentialsError
from oa_provider._cookies import (
    cookies_for_url,
    default_cookie_file,
    find_credentials,
    parse_cookie_header,
    parse_netscape_cookies,
)

SECRET = "s3cr3t-value-do-not-print"
LOCAL = "http://127.0.0.1:8080"


def _cookie(name: str, value: str, domain: str, *, secure: bool = False) -> http.cookiejar.Cookie:
    return http.cookiejar.Cookie(
        0,
        name,
        value,
        None,
        False,
        domain,
        True,
        domain.startswith("."),
        "/",
        True,
        secure,
        None,
        True,
        None,
        None,
        {},
    )


def _write_cookies_txt(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# Netscape HTTP Cookie File\n" + "".join(f"{ln}\n" for ln in lines))
    return path


def test_explicit_dict_wins_and_builds_a_cookie_header(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OA_COOKIES", "other=1")
    creds = find_credentials({"next-auth.session-token": SECRET, "b": "2"}, LOCAL)
    assert creds.header() == f"next-auth.session-token={SECRET}; b=2"
    assert creds.source == "cookies argument"


def test_repr_shows_names_never_values() -> None:
    creds = find_credentials({"next-auth.session-token": SECRET}, LOCAL)
    assert SECRET not in repr(creds)
    assert "next-auth.session-token" in repr(creds)


def test_empty_dict_reads_the_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OA_COOKIES", f"next-auth.session-token={SECRET}; x=y")
    creds = find_credentials({}, LOCAL)
    assert creds.source == "OA_COOKIES"
    assert creds.names == ("next-auth.session-token", "x")


def test_cookiejar_is_filtered_to_the_target_host_and_scheme() -> None:
    jar = http.cookiejar.CookieJar()
    jar.set_cookie(_cookie("next-auth.session-token", SECRET, "127.0.0.1"))
    jar.set_cookie(_cookie("elsewhere", "x", "example.org"))
    jar.set_cookie(_cookie("__Secure-next-auth.session-token", "y", "127.0.0.1", secure=True))
    assert find_credentials(jar, LOCAL).names == ("next-auth.session-token",)


def test_domain_cookies_match_subdomains() -> None:
    jar = http.cookiejar.CookieJar()
    jar.set_cookie(_cookie("a", "1", ".open-assistant.io"))
    jar.set_cookie(_cookie("b", "2", "evil-open-assistant.io"))
    assert cookies_for_url(jar, "https://open-assistant.io") == [("a", "1")]
    assert cookies_for_url(jar, "https://www.open-assistant.io/api") == [("a", "1")]


def test_cookiejar_without_a_cookie_for_the_host_is_an_error() -> None:
    jar = http.cookiejar.CookieJar()
    jar.set_cookie(_cookie("a", SECRET, "example.org"))
    with pytest.raises(MissingCredentialsError, match=r"127\.0\.0\.1") as info:
        find_credentials(jar, LOCAL)
    assert SECRET not in str(info.value)


def test_cookie_file_named_by_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write_cookies_txt(
        tmp_path / "c.txt",
        [
            f"127.0.0.1\tFALSE\t/\tFALSE\t0\tnext-auth.session-token\t{SECRET}",
            "example.org\tFALSE\t/\tFALSE\t0\tother\tx",
        ],
    )
    monkeypatch.setenv("OA_COOKIE_FILE", str(path))
    creds = find_credentials(None, LOCAL)
    assert creds.header() == f"next-auth.session-token={SECRET}"
    assert str(path) in creds.source


def test_expired_cookies_in_the_file_are_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write_cookies_txt(
        tmp_path / "c.txt",
        ["127.0.0.1\tFALSE\t/\tFALSE\t1000\told\tx", "127.0.0.1\tFALSE\t/\tFALSE\t0\tnew\ty"],
    )
    monkeypatch.setenv("OA_COOKIE_FILE", str(path))
    assert find_credentials(None, LOCAL).names == ("new",)


def test_default_cookie_file_in_the_user_config_dir(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path)}
    path = default_cookie_file(env)
    assert path == tmp_path / "oa-toolkit" / "cookies.txt"
    _write_cookies_txt(path, ["127.0.0.1\tFALSE\t/\tFALSE\t0\tnext-auth.session-token\tv"])
    assert find_credentials(None, LOCAL, environ=env).names == ("next-auth.session-token",)


def test_nothing_found_names_every_place(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "browser_cookie3", None)  # an import of it fails
    with pytest.raises(MissingCredentialsError) as info:
        find_credentials(None, LOCAL)
    text = str(info.value)
    places = ("cookies argument", "OA_COOKIES", "OA_HAR_FILE", "cookies.txt", "browser-cookie3")
    for place in places:
        assert place in text


def test_a_file_without_our_host_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write_cookies_txt(tmp_path / "c.txt", ["example.org\tFALSE\t/\tFALSE\t0\tother\tx"])
    monkeypatch.setenv("OA_COOKIE_FILE", str(path))
    with pytest.raises(MissingCredentialsError, match=r"no cookie for 127\.0\.0\.1"):
        find_credentials(None, LOCAL, use_browser=False)


def test_broken_file_is_reported_without_quoting_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.txt"
    path.write_text(f"# Netscape HTTP Cookie File\n127.0.0.1\tbroken\t{SECRET}\n")
    monkeypatch.setenv("OA_COOKIE_FILE", str(path))
    with pytest.raises(MissingCredentialsError, match="Netscape") as info:
        find_credentials(None, LOCAL)
    assert SECRET not in str(info.value)
    assert info.value.__cause__ is None


def test_missing_named_file_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OA_COOKIE_FILE", str(tmp_path / "nope.txt"))
    with pytest.raises(MissingCredentialsError, match="does not exist"):
        find_credentials(None, LOCAL)


def test_browser_cookies_through_browser_cookie3(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    def load(domain_name: str) -> http.cookiejar.CookieJar:
        seen.append(domain_name)
        jar = http.cookiejar.CookieJar()
        jar.set_cookie(_cookie("__Secure-next-auth.session-token", SECRET, domain_name))
        # browser-cookie3 matches domains loosely: another site's cookie comes along too
        jar.set_cookie(_cookie("other-site", "x", "not-open-assistant.io.example"))
        return jar

    fake = types.SimpleNamespace(load=load, BrowserCookieError=type("E", (Exception,), {}))
    monkeypatch.setitem(sys.modules, "browser_cookie3", fake)
    creds = find_credentials(None, "https://open-assistant.io")
    assert creds.source == "browser"
    assert seen == ["open-assistant.io"]
    assert creds.names == ("__Secure-next-auth.session-token",)


@pytest.mark.parametrize(
    ("cookies", "message"),
    [
        ({"next-auth.session-token": "x\r\nX-Injected: 1"}, "control character"),
        ({"next-auth.session-token": "a;b"}, "control character or ';'"),
        ({"bad name": "v"}, "invalid name"),
    ],
)
def test_cookies_that_would_break_the_header_fail_before_any_request(
    cookies: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message) as info:
        find_credentials(cookies, "https://open-assistant.io")
    assert "Injected" not in str(info.value)


@pytest.mark.parametrize("bad", [["a", "b"], {"a": 1}, "a=b", "cookies.txt"])
def test_wrong_cookie_type_is_a_type_error(bad: object) -> None:
    with pytest.raises(TypeError, match="cookies"):
        find_credentials(bad, LOCAL)  # type: ignore[arg-type]


def test_parse_cookie_header() -> None:
    assert parse_cookie_header(" a=1; b = 2 ;junk; =x; c=") == [("a", "1"), ("b", "2"), ("c", "")]


def test_oa_cookies_without_pairs_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OA_COOKIES", "garbage")
    with pytest.raises(MissingCredentialsError, match="OA_COOKIES"):
        find_credentials(None, LOCAL)


def test_netscape_parser_keeps_httponly_and_session_cookies() -> None:
    text = (
        "# Netscape HTTP Cookie File\n"
        "# a comment\n\n"
        f"#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t0\tnext-auth.session-token\t{SECRET}\r\n"
        ".example.org\tTRUE\t/\tTRUE\t4102444800\tlong\tx\n"
        "example.org\tFALSE\t/\tFALSE\t100\texpired\tx\n"
    )
    jar = parse_netscape_cookies(text, now=1000.0)
    assert sorted(c.name for c in jar) == ["long", "next-auth.session-token"]
    assert cookies_for_url(jar, LOCAL) == [("next-auth.session-token", SECRET)]
    assert cookies_for_url(jar, "https://a.example.org") == [("long", "x")]
    assert cookies_for_url(jar, "http://a.example.org") == []  # secure cookie over http


def test_netscape_parser_errors_name_the_line_not_its_text() -> None:
    with pytest.raises(ValueError, match="line 2") as info:
        parse_netscape_cookies(f"# Netscape HTTP Cookie File\nhost\t{SECRET}\n")
    assert SECRET not in str(info.value)
    with pytest.raises(ValueError, match="line 1: the expiry"):
        parse_netscape_cookies("h\tFALSE\t/\tFALSE\tsoon\tn\tv")


@given(
    st.lists(
        st.tuples(
            st.text(alphabet="abcdefgh._-", min_size=1, max_size=10),
            st.text(alphabet="xyz0123456789=", max_size=12),
        ),
        max_size=6,
    )
)
def test_netscape_round_trip(pairs: list[tuple[str, str]]) -> None:
    lines = "".join(
        f"127.0.0.1\tFALSE\t/p{i}\tFALSE\t0\t{n}\t{v}\n" for i, (n, v) in enumerate(pairs)
    )
    jar = parse_netscape_cookies(lines)
    assert sorted(cookies_for_url(jar, LOCAL)) == sorted(pairs)
