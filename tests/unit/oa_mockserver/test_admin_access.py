"""The admin API's access rules as plain data: Host, Origin, Sec-Fetch-Site, token, body type."""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from oa_mockserver import ConfigError, ServerConfig
from oa_mockserver._control.admin_access import (
    AdminAccess,
    Refusal,
    body_to_check,
    form_body_refusal,
    is_admin_path,
    is_loopback_host,
    new_admin_token,
    token_error,
)

LOOPBACK = AdminAccess("127.0.0.1")
TOKEN = "s3cret-Token_value"
WIDE = AdminAccess("0.0.0.0", TOKEN)


def decide(access: AdminAccess = LOOPBACK, **headers: Any) -> Refusal | None:
    request: dict[str, Any] = {
        "method": "GET",
        "host": "127.0.0.1:8080",
        "origin": None,
        "fetch_site": None,
        "authorization": None,
        "content_type": None,
        "has_body": False,
    }
    request.update(headers)
    return access.refusal(**request)


def status(access: AdminAccess = LOOPBACK, **headers: Any) -> int:
    refusal = decide(access, **headers)
    return 200 if refusal is None else refusal.status


loopback_v4 = st.integers(0x7F000000, 0x7FFFFFFF).map(lambda n: str(ipaddress.IPv4Address(n)))
other_v4 = (
    st.integers(0, 2**32 - 1)
    .map(lambda n: str(ipaddress.IPv4Address(n)))
    .filter(lambda a: not ipaddress.IPv4Address(a).is_loopback)
)
ports = st.none() | st.integers(1, 65535)
names = st.from_regex(r"\A[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,10}){0,3}\Z").filter(
    lambda n: n.rstrip(".") != "localhost"
)


def with_port(host: str, port: int | None) -> str:
    return host if port is None else f"{host}:{port}"


# -- which binds are loopback -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("LOCALHOST.", True),
        ("127.0.0.1", True),
        ("127.2.3.4", True),
        ("::1", True),
        ("[::1]", True),
        ("::ffff:127.0.0.1", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.5", False),
        ("mock.internal", False),
        ("", False),
    ],
)
def test_loopback_binds(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback
    assert AdminAccess(host).needs_token is not loopback


def test_a_token_given_on_loopback_is_required() -> None:
    assert AdminAccess("127.0.0.1", TOKEN).needs_token
    assert status(AdminAccess("127.0.0.1", TOKEN)) == 401


# -- Host (DNS rebinding) -------------------------------------------------------------------------


@given(loopback_v4, ports)
def test_any_loopback_host_is_served(address: str, port: int | None) -> None:
    assert decide(host=with_port(address, port)) is None


@pytest.mark.parametrize(
    "host", ["localhost", "localhost:8080", "LocalHost.:1", "[::1]", "[::1]:8080", "127.0.0.2:9"]
)
def test_loopback_names_are_served(host: str) -> None:
    assert decide(host=host) is None


@given(names, ports)
def test_any_other_name_is_refused(name: str, port: int | None) -> None:
    refusal = decide(host=with_port(name, port))
    assert refusal is not None
    assert refusal.status == 403
    assert "DNS rebinding" in refusal.detail
    assert "http://127.0.0.1:<port>/__admin/" in refusal.detail  # what to do instead


@given(other_v4, ports)
def test_other_addresses_are_refused_without_a_token(address: str, port: int | None) -> None:
    assert status(host=with_port(address, port)) == 403


@pytest.mark.parametrize(
    "host", [None, "", "::1", "[::1", "[::1]x", "localhost:http", "localhost:99999", "a:1:2"]
)
def test_missing_or_malformed_hosts_are_refused(host: str | None) -> None:
    assert status(host=host) == 403


def test_a_token_stands_for_the_host() -> None:
    # bound wider, a right token admits whatever name reached the server (a service name)
    auth = f"Bearer {TOKEN}"
    assert decide(WIDE, host="mock:8080", authorization=auth) is None
    assert decide(WIDE, host="10.0.0.7:8080", authorization=auth) is None
    assert status(WIDE, host="mock:8080") == 401


@given(
    st.sampled_from([LOOPBACK, WIDE, AdminAccess("::")]),
    st.fixed_dictionaries(
        {
            "method": st.sampled_from(["GET", "POST", "DELETE", "OPTIONS"]),
            "host": st.none() | st.text(max_size=40),
            "origin": st.none() | st.text(max_size=40),
            "fetch_site": st.none() | st.text(max_size=20),
            "authorization": st.none() | st.text(max_size=40),
            "content_type": st.none() | st.text(max_size=40),
            "has_body": st.booleans(),
        }
    ),
)
def test_any_headers_get_an_answer_never_an_error(
    access: AdminAccess, headers: dict[str, Any]
) -> None:
    refusal = access.refusal(**headers)
    assert refusal is None or (refusal.status in (401, 403, 415) and refusal.detail)


# -- pages of other sites -------------------------------------------------------------------------


@pytest.mark.parametrize("site", ["cross-site", "same-site", "Cross-Site", "what-is-this"])
def test_pages_of_other_sites_are_refused(site: str) -> None:
    refusal = decide(fetch_site=site)
    assert refusal is not None
    assert refusal.status == 403
    assert "curl or a script" in refusal.detail
    # with the token too: a page must not use a token it somehow holds
    assert status(WIDE, fetch_site=site, authorization=f"Bearer {TOKEN}") == 403


@pytest.mark.parametrize("site", ["same-origin", "none"])
def test_the_servers_own_origin_and_typed_addresses_pass(site: str) -> None:
    assert decide(fetch_site=site) is None


@pytest.mark.parametrize(
    ("origin", "host"),
    [
        ("http://127.0.0.1:8080", "127.0.0.1:8080"),
        ("HTTP://LOCALHOST:8080", "localhost:8080"),
        ("http://localhost", "localhost:80"),
        ("http://[::1]:8080", "[::1]:8080"),
    ],
)
def test_same_origin_passes(origin: str, host: str) -> None:
    assert decide(origin=origin, host=host, method="POST", content_type="application/json") is None


@pytest.mark.parametrize(
    "origin",
    [
        "http://attacker.example",
        "null",
        "https://127.0.0.1:8080",  # this server speaks http
        "http://127.0.0.1:3000",  # another port of the same host is another origin
        "http://localhost:8080",  # Host says 127.0.0.1
        "http://127.0.0.1:8080/path",
        "",
    ],
)
def test_other_origins_are_refused(origin: str) -> None:
    refusal = decide(origin=origin, method="POST", content_type="text/plain", has_body=True)
    assert refusal is not None
    assert refusal.status == 403
    assert "another origin" in refusal.detail


@given(st.sampled_from(["http", "https"]), names | loopback_v4, ports)
def test_any_origin_but_the_host_is_refused(scheme: str, host: str, port: int | None) -> None:
    origin = f"{scheme}://{with_port(host, port)}"
    assume(origin not in ("http://127.0.0.1:8080",))
    assert status(origin=origin, host="127.0.0.1:8080") == 403


# -- the token ----------------------------------------------------------------------------------


def test_a_wide_bind_needs_the_token() -> None:
    refusal = decide(WIDE, host="10.0.0.7:8080")
    assert refusal is not None
    assert refusal.status == 401
    assert "Authorization: Bearer <token>" in refusal.detail
    assert ("WWW-Authenticate", 'Bearer realm="oa-mockserver admin"') in refusal.headers
    assert decide(WIDE, authorization=f"Bearer {TOKEN}") is None
    assert decide(WIDE, authorization=f"bearer   {TOKEN} ") is None


@given(st.text(max_size=60))
def test_a_wrong_token_is_refused_and_never_echoed(sent: str) -> None:
    assume(sent.strip() != TOKEN)
    missing, wrong = decide(WIDE), decide(WIDE, authorization="Bearer x")
    assert missing is not None
    assert wrong is not None
    for authorization in (f"Bearer {sent}", sent, f"Basic {sent}"):
        refusal = decide(WIDE, authorization=authorization)
        # one fixed text whatever was sent: nothing of it comes back
        assert refusal in (missing, wrong)


def test_undecodable_token_bytes_are_a_wrong_token() -> None:
    # aiohttp passes undecodable header bytes as lone surrogates
    assert status(WIDE, authorization="Bearer \udcff\udcfe") == 401


def test_a_wide_bind_without_a_token_stays_closed() -> None:
    refusal = decide(AdminAccess("0.0.0.0"), authorization="Bearer anything")
    assert refusal is not None
    assert refusal.status == 401
    assert "no admin token" in refusal.detail
    assert "admin_token=" in refusal.detail


def test_token_syntax() -> None:
    assert token_error(None) is None
    assert token_error(TOKEN) is None
    assert token_error("abc+/==") is None
    for bad in ("", "has space", "tab\t", "é", 42, "a\nb"):
        message = token_error(bad)
        assert message is not None
        assert "Authorization: Bearer" in message
    made = {new_admin_token() for _ in range(3)}
    assert len(made) == 3
    assert all(token_error(token) is None and len(token) >= 40 for token in made)


def test_server_config_takes_a_token_and_hides_it() -> None:
    config = ServerConfig(host="0.0.0.0", admin_token=TOKEN)
    assert config.admin_token == TOKEN
    assert TOKEN not in repr(config)
    assert ServerConfig().admin_token is None
    with pytest.raises(ConfigError, match="admin_token must be"):
        ServerConfig(admin_token="two words")


# -- the body of a change -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "content_type", "has_body", "expected"),
    [
        ("POST", "application/json", True, 200),
        ("POST", "Application/JSON; charset=utf-8", True, 200),
        ("PUT", "application/merge-patch+json", True, 200),
        ("POST", "application/json", False, 200),
        ("POST", None, False, 200),  # curl -X POST .../reset
        ("POST", "application/octet-stream", False, 200),  # aiohttp's post() with no data
        ("DELETE", None, False, 200),  # curl -X DELETE
        ("GET", "text/plain", True, 200),  # reads change nothing
        ("POST", "text/plain", True, 415),  # a page's cross-site "simple" POST
        ("POST", "text/plain", False, 415),
        ("POST", "application/x-www-form-urlencoded", False, 415),  # an empty HTML form
        ("POST", "multipart/form-data; boundary=x", True, 415),
        ("PATCH", None, True, 415),
        ("POST", "application/octet-stream", True, 415),
    ],
)
def test_changes_must_send_json(
    method: str, content_type: str | None, has_body: bool, expected: int
) -> None:
    assert body_to_check(method, content_type, has_body) is False
    refusal = decide(method=method, content_type=content_type, has_body=has_body)
    assert (200 if refusal is None else refusal.status) == expected
    if refusal is not None:
        assert "Content-Type: application/json" in refusal.detail


def test_curl_d_with_a_json_object_is_taken() -> None:
    # curl -d '{...}' sends application/x-www-form-urlencoded: decided on the body
    form = "application/x-www-form-urlencoded"
    assert decide(method="POST", content_type=form, has_body=True) is None
    assert body_to_check("POST", form, True)
    assert not body_to_check("GET", form, True)
    assert form_body_refusal(b'{"header": "error-after:3;step=events"}') is None
    assert form_body_refusal(b'\n  {"faults": []}') is None
    for body in (b"a=b", b"", b"[1]", b"%7B%22a%22%3A1%7D="):
        refusal = form_body_refusal(body)
        assert refusal is not None
        assert refusal.status == 415


@given(st.lists(st.tuples(st.text(min_size=1), st.text()), min_size=1))
def test_no_html_form_can_pass_as_json(fields: list[tuple[str, str]]) -> None:
    # what a browser sends for a form (the urlencoded serializer percent-encodes "{")
    body = urlencode(fields).encode()
    assert form_body_refusal(body) is not None


# -- the recording proxy's view of paths --------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/__admin/reset", "/__admin", "//__admin/requests", "/./__admin/x", "/a/../__admin/x"],
)
def test_admin_paths_however_spelled(path: str) -> None:
    assert is_admin_path(path)


@pytest.mark.parametrize("path", ["/", "/api/chat", "/__administrator", "/x/__admin/y", "/_admin"])
def test_other_paths(path: str) -> None:
    assert not is_admin_path(path)


@given(st.lists(st.sampled_from(["", ".", "x/..", "/"]), max_size=5), st.text(max_size=20))
def test_dot_and_slash_segments_never_hide_the_admin_path(noise: list[str], rest: str) -> None:
    path = "/" + "/".join(noise) + "/__admin/" + rest.replace("..", "")
    assert is_admin_path(path)
