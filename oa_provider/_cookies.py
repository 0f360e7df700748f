"""Finding the session cookie: explicit argument, environment, a HAR file, cookies.txt, the browser.

The web site authenticates with next-auth's session cookie. The client sends the cookies it
finds as one ``Cookie`` header rather than through aiohttp's cookie jar, because that jar
refuses cookies for IP hosts such as ``127.0.0.1`` (the mock server) and because a header we
build ourselves is never persisted anywhere.

Cookie values are secrets: nothing in this module puts a value into an exception, a log record,
a warning or a repr (parse errors name the line number, never the line).
"""

from __future__ import annotations

import http.cookiejar
import io
import json
import os
import re
import sqlite3
import time
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import urlsplit

from ._exceptions import MissingCredentialsError

__all__ = [
    "SESSION_COOKIE_NAMES",
    "CookieInput",
    "Credentials",
    "cookies_for_url",
    "default_cookie_file",
    "find_credentials",
    "parse_cookie_header",
    "parse_har_cookies",
    "parse_netscape_cookies",
]

#: What a caller may pass as ``cookies``: a mapping, a jar, or the path of a ``.har`` file.
CookieInput = Mapping[str, str] | http.cookiejar.CookieJar | str | os.PathLike[str] | None

_HTTPONLY_PREFIX = "#HttpOnly_"

#: The names of next-auth's session cookie (over https and over http).
SESSION_COOKIE_NAMES = ("__Secure-next-auth.session-token", "next-auth.session-token")


_BAD_NAME = re.compile(r"[\x00-\x20\x7f=;,]")
_BAD_VALUE = re.compile(r"[\x00-\x1f\x7f;]")


class Credentials:
    """The cookies to send and where they came from. Its repr shows names, never values."""

    __slots__ = ("_pairs", "source")

    def __init__(self, pairs: Iterable[tuple[str, str]], source: str) -> None:
        self._pairs = tuple(pairs)
        self.source = source
        for index, (name, value) in enumerate(self._pairs):
            # A CR or LF would split the Cookie header (aiohttp refuses it mid-request); a ';'
            # would split the cookie. Checked here so the error comes before any request.
            if not name or _BAD_NAME.search(name):
                raise ValueError(
                    f"cookie #{index + 1} from {source} has an invalid name: names are "
                    "printable ASCII without spaces, '=', ';' or ','"
                )
            if _BAD_VALUE.search(value):
                raise ValueError(
                    f"the value of cookie {name!r} from {source} holds a control character or "
                    "';': copy the cookie again (the value is not shown)"
                )

    @property
    def names(self) -> tuple[str, ...]:
        """The cookie names (not secret)."""
        return tuple(name for name, _ in self._pairs)

    def items(self) -> list[tuple[str, str]]:
        """The ``(name, value)`` pairs, e.g. to pass on as ``cookies=dict(creds.items())``."""
        return list(self._pairs)

    def header(self) -> str:
        """The ``Cookie`` request header value."""
        return "; ".join(f"{name}={value}" for name, value in self._pairs)

    def __repr__(self) -> str:
        return f"Credentials(source={self.source!r}, names={list(self.names)!r})"


def parse_cookie_header(text: str) -> list[tuple[str, str]]:
    """Split a ``Cookie`` header (``a=1; b=2``) into pairs; pieces without ``=`` are skipped."""
    pairs = []
    for piece in text.split(";"):
        name, sep, value = piece.strip().partition("=")
        if sep and name.strip():
            pairs.append((name.strip(), value.strip()))
    return pairs


def _domain_matches(host: str, domain: str) -> bool:
    domain = domain.lower()
    if domain.startswith("."):
        return host == domain[1:] or host.endswith(domain)
    return host == domain


def cookies_for_url(jar: http.cookiejar.CookieJar, url: str) -> list[tuple[str, str]]:
    """The cookies of ``jar`` that a browser would send to ``url`` (domain and ``secure`` only)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    https = parts.scheme == "https"
    return [
        (cookie.name, cookie.value or "")
        for cookie in jar
        if _domain_matches(host, cookie.domain) and (https or not cookie.secure)
    ]


def default_cookie_file(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/oa-toolkit/cookies.txt``, else ``~/.config/oa-toolkit/cookies.txt``."""
    env = os.environ if environ is None else environ
    config_home = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config_home) / "oa-toolkit" / "cookies.txt"


def parse_netscape_cookies(text: str, *, now: float | None = None) -> http.cookiejar.CookieJar:
    """Parse a Netscape ``cookies.txt`` into a CookieJar, dropping expired cookies.

    The parsing is ``http.cookiejar.MozillaCookieJar``'s. Before it sees the text, each line is
    checked (so an error can name its line number without quoting a cookie value, which
    ``LoadError`` would) and normalised for what real exports contain and MozillaCookieJar
    refuses: a missing ``# Netscape HTTP Cookie File`` header, an expiry of ``0`` (curl's mark of
    a session cookie, which MozillaCookieJar reads as expired in 1970), and a "include
    subdomains" flag that disagrees with the domain's leading dot (an ``assert`` there).

    Raises:
        ValueError: a line does not have 7 tab-separated fields, or its expiry is not an
            integer (names the line number only).
    """
    lines = ["# Netscape HTTP Cookie File"]
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip("\r\n")
        prefix = ""
        if line.startswith(_HTTPONLY_PREFIX):
            prefix, line = _HTTPONLY_PREFIX, line[len(_HTTPONLY_PREFIX) :]
        elif not line.strip() or line.lstrip().startswith(("#", "$")):
            continue
        fields = line.split("\t")
        if len(fields) != 7:
            raise ValueError(f"line {number} has {len(fields)} tab-separated fields, not 7")
        domain, subdomains, path, secure, expires, name, value = fields
        expires = expires.strip()
        if expires and not expires.isdigit():
            raise ValueError(f"line {number}: the expiry is not an integer")
        if expires == "0":
            expires = ""
        subdomains = "TRUE" if domain.startswith(".") else "FALSE"
        fields = [domain, subdomains, path or "/", secure.upper(), expires, name, value]
        lines.append(prefix + "\t".join(fields))
    jar = http.cookiejar.MozillaCookieJar()
    moment = time.time() if now is None else now
    with warnings.catch_warnings():
        # The lines were checked above; the warning MozillaCookieJar would emit for a bad
        # line quotes it, cookie value included, so it must never reach a log.
        warnings.simplefilter("ignore")
        try:
            # ``_really_load`` is what ``load()`` calls once it has opened the file; feeding it
            # the normalised text spares writing cookie values to a temporary file.
            jar._really_load(  # type: ignore[attr-defined]
                io.StringIO("\n".join(lines) + "\n"), "cookies.txt", True, True
            )
        except http.cookiejar.LoadError:
            raise ValueError("the file is not in Netscape cookies.txt format") from None
    for cookie in list(jar):
        if cookie.expires is not None and cookie.expires < moment:
            jar.clear(cookie.domain, cookie.path, cookie.name)
    return jar


def parse_har_cookies(text: str, url: str) -> list[tuple[str, str]]:
    """The cookies a HAR file's requests sent to ``url``'s host, as gpt4free's cookie loader reads
    them: each entry's ``request.cookies`` (else its ``Cookie`` header) for that host, later
    entries winning (a HAR lists requests in order, so the last value is the live one).

    Raises:
        ValueError: the text is not a HAR document (not JSON, no ``log.entries`` list, an entry
            without a request); the message never quotes the file.
    """
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON (line {exc.lineno} column {exc.colno})") from None
    log = document.get("log") if isinstance(document, dict) else None
    entries = log.get("entries") if isinstance(log, dict) else None
    if not isinstance(entries, list):
        raise ValueError("no log.entries list: not a HAR file")
    host = (urlsplit(url).hostname or "").lower()
    found: dict[str, str] = {}
    for index, entry in enumerate(entries):
        request = entry.get("request") if isinstance(entry, dict) else None
        if not isinstance(request, dict) or not isinstance(request.get("url"), str):
            raise ValueError(f"entry {index} has no request with a url")
        if (urlsplit(request["url"]).hostname or "").lower() != host:
            continue
        listed = request.get("cookies")
        pairs = [
            (c["name"], str(c.get("value", "")))
            for c in (listed if isinstance(listed, list) else [])
            if isinstance(c, dict) and isinstance(c.get("name"), str)
        ]
        if not pairs:
            headers = request.get("headers")
            for header in headers if isinstance(headers, list) else []:
                if isinstance(header, dict) and str(header.get("name", "")).lower() == "cookie":
                    pairs += parse_cookie_header(str(header.get("value", "")))
        found.update(pairs)
    return list(found.items())


def _read_credentials_file(path: Path, kind: str, encoding: str = "utf-8") -> str:
    try:
        return path.read_text(encoding=encoding, errors="replace")
    except OSError as exc:
        raise MissingCredentialsError(
            f"cannot read {kind} {path}: {exc.strerror or type(exc).__name__}; "
            "check the path and its permissions"
        ) from None


def _load_har_file(path: Path, url: str) -> list[tuple[str, str]]:
    text = _read_credentials_file(path, "HAR file", "utf-8-sig")
    try:
        return parse_har_cookies(text, url)
    except ValueError as exc:
        raise MissingCredentialsError(
            f"HAR file {path} is not a valid HAR ({exc}); save it again from the browser's "
            "DevTools (Network panel: 'Save all as HAR') while logged in"
        ) from None


def _har_path(cookies: str | os.PathLike[str]) -> Path | None:
    """The path when ``cookies`` names a ``.har`` file, else None."""
    path = Path(os.fspath(cookies)).expanduser()
    return path if path.suffix.lower() == ".har" else None


def _load_cookie_file(path: Path, url: str) -> list[tuple[str, str]]:
    text = _read_credentials_file(path, "cookie file")
    try:
        jar = parse_netscape_cookies(text)
    except ValueError as exc:
        raise MissingCredentialsError(
            f"cookie file {path} is not a valid Netscape cookies.txt ({exc}); each cookie line "
            "needs 7 tab-separated fields: export it again with a cookies.txt browser extension"
        ) from None
    return cookies_for_url(jar, url)


def _browser_cookies(host: str, url: str) -> list[tuple[str, str]] | None:
    """The browser's cookies for ``url``; None when browser-cookie3 is not installed."""
    try:
        import browser_cookie3
    except ImportError:
        return None
    try:
        jar = browser_cookie3.load(domain_name=host)
    except (browser_cookie3.BrowserCookieError, OSError, sqlite3.Error):
        return []
    # browser-cookie3 matches the domain loosely: keep only what a browser would send to url
    return cookies_for_url(jar, url)


def find_credentials(
    cookies: CookieInput,
    base_url: str,
    *,
    environ: Mapping[str, str] | None = None,
    use_browser: bool = True,
) -> Credentials:
    """Find the cookies to send to ``base_url``.

    Order: ``cookies`` when non-empty (a dict, a ``CookieJar`` filtered to the host, or the
    path of a ``.har`` file: the cookies its requests sent to the host); else ``OA_COOKIES`` (a
    Cookie header string); else the HAR file at ``OA_HAR_FILE``; else the cookies.txt at
    ``OA_COOKIE_FILE`` or :func:`default_cookie_file`, filtered to the host; else the browser's
    cookies through the optional ``browser-cookie3`` (extra ``[browser]``).

    Raises:
        MissingCredentialsError: nothing found (the message names every place searched), a
            named cookie or HAR file cannot be read or is malformed, or a HAR file given as
            ``cookies`` holds no cookie for the host.
        TypeError: ``cookies`` is neither a mapping of str to str, a CookieJar, nor the path
            of a ``.har`` file.
    """
    env = os.environ if environ is None else environ
    host = (urlsplit(base_url).hostname or "").lower()
    if isinstance(cookies, str | os.PathLike):
        har = _har_path(cookies)
        if har is None:
            raise TypeError(
                "cookies must be a dict of name -> value, an http.cookiejar.CookieJar or the "
                "path of a .har file; a string that does not end in .har is none of them"
            )
        pairs = _load_har_file(har, base_url)
        if not pairs:
            raise MissingCredentialsError(
                f"HAR file {har} holds no request cookie for {host}; save the HAR while "
                f"logged in to {host}"
            )
        return Credentials(pairs, f"HAR file {har}")
    if isinstance(cookies, http.cookiejar.CookieJar):
        if len(cookies):
            pairs = cookies_for_url(cookies, base_url)
            if not pairs:
                raise MissingCredentialsError(
                    f"the CookieJar given as cookies holds no cookie for {host}; "
                    "add the session cookie for that host or pass a dict"
                )
            return Credentials(pairs, "cookies argument")
    elif cookies is not None:
        if not isinstance(cookies, Mapping):
            raise TypeError(
                "cookies must be a dict of name -> value or an http.cookiejar.CookieJar, "
                f"not {type(cookies).__name__}"
            )
        for name, value in cookies.items():
            if not isinstance(name, str) or not isinstance(value, str):
                raise TypeError("cookies must map str names to str values")
        if cookies:
            return Credentials(cookies.items(), "cookies argument")

    searched = ["the cookies argument (empty)"]
    header = env.get("OA_COOKIES", "")
    if header.strip():
        pairs = parse_cookie_header(header)
        if not pairs:
            raise MissingCredentialsError(
                "OA_COOKIES is set but holds no name=value pair; set it to a Cookie header "
                "such as 'next-auth.session-token=...'"
            )
        return Credentials(pairs, "OA_COOKIES")
    searched.append("the OA_COOKIES environment variable (unset)")

    har_named = env.get("OA_HAR_FILE")
    if har_named:
        har_file = Path(har_named).expanduser()
        if not har_file.is_file():
            raise MissingCredentialsError(
                f"OA_HAR_FILE names {har_file}, which does not exist; fix the path or unset it"
            )
        pairs = _load_har_file(har_file, base_url)
        if pairs:
            return Credentials(pairs, f"HAR file {har_file}")
        searched.append(f"the HAR file {har_file} (no cookie for {host})")
    else:
        searched.append("the OA_HAR_FILE environment variable (unset)")

    named = env.get("OA_COOKIE_FILE")
    path = Path(named).expanduser() if named else default_cookie_file(env)
    if path.is_file():
        pairs = _load_cookie_file(path, base_url)
        if pairs:
            return Credentials(pairs, f"cookie file {path}")
        searched.append(f"the cookie file {path} (no cookie for {host})")
    elif named:
        raise MissingCredentialsError(
            f"OA_COOKIE_FILE names {path}, which does not exist; fix the path or unset it"
        )
    else:
        searched.append(f"the cookie file {path} (absent; OA_COOKIE_FILE unset)")

    if use_browser:
        found = _browser_cookies(host, base_url)
        if found:
            return Credentials(found, "browser")
        searched.append(
            "the browser (browser-cookie3 not installed: pip install 'oa-toolkit[browser]')"
            if found is None
            else f"the browser (no cookie for {host})"
        )
    raise MissingCredentialsError(
        f"no session cookie for {host}; looked in: {'; '.join(searched)}. "
        f"Pass cookies={{'{SESSION_COOKIE_NAMES[1]}': ...}}, set OA_COOKIES, "
        "or save a cookies.txt there"
    )
