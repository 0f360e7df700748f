"""Who may use the admin API (``/__admin/``): a request's headers in, answer or refusal out.

The admin API reads every user's prompts and chats and can fault or reset the server, so it
answers only callers that are neither a web page nor, on a wider bind, a stranger:

1. **Not a cross-site page** (403). A request whose ``Origin`` is not the server's own, or
   whose ``Sec-Fetch-Site`` is ``cross-site`` or ``same-site``, comes from a page the browser
   ran for another site. ``same-site`` is refused too: a page on another port of ``localhost``
   is "same site" but not the server, and the admin API serves no page of its own (no CORS), so
   no legitimate page needs it. ``same-origin`` and ``none`` (an address typed in the address
   bar) are let through, as is a request with neither header (curl, scripts, test clients).
2. **The token, where there is one** (401). A server bound wider than loopback always has one
   (``--admin-token``, ``$OA_MOCK_ADMIN_TOKEN``, or one made at start); on loopback only when
   given. It is sent as ``Authorization: Bearer <token>`` and only so: that header is the one
   proxies, loggers and this project's redaction already keep out of sight (no query parameter,
   which would reach access logs, and no custom header, which tools would not know to hide).
3. **Without a token, a Host that names loopback** (403), against DNS rebinding: a page of
   ``attacker.example`` has the name re-pointed to 127.0.0.1 and becomes "same origin" with the
   server, but its requests still say ``Host: attacker.example``. A server with no token is
   bound to loopback, so ``localhost`` and loopback addresses (any port) are all its names.
   With a token, the token is the proof instead (a rebinding page cannot know it), so any name
   that reaches a wider bind works: its address, a container's service name.
4. **A JSON body for a change** (415). POST, PUT, PATCH and DELETE must send
   ``application/json`` (or ``+json``): a page cannot send that cross-site without a CORS
   preflight, which this server never grants. Two exceptions keep scripts working: a request
   with no body (``curl -X POST .../reset``; aiohttp sends ``application/octet-stream`` there),
   unless it declares a type a page may send (``text/plain``, a form); and curl's ``-d``
   default type, ``application/x-www-form-urlencoded``, when the body is a JSON object (it
   starts with ``{``), which no HTML form can send (a form percent-encodes ``{``), and a script
   that could is refused by rule 1, since browsers send ``Origin`` with every POST.

No aiohttp here: the decision is plain data, unit-tested; :mod:`.._server.guard` applies it.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
import secrets
from dataclasses import dataclass

__all__ = [
    "ADMIN_TOKEN_ENV",
    "AdminAccess",
    "Refusal",
    "body_to_check",
    "form_body_refusal",
    "is_admin_path",
    "is_loopback_host",
    "new_admin_token",
    "token_error",
]

#: The environment variable ``oa-mockserver serve`` reads the admin token from.
ADMIN_TOKEN_ENV = "OA_MOCK_ADMIN_TOKEN"

_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The types a page may send cross-site without a CORS preflight (Fetch's "CORS-safelisted").
_PAGE_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"})
_FORM = "application/x-www-form-urlencoded"
# RFC 6750's b64token: what can travel in "Authorization: Bearer ..." as it is.
_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_SEND_TOKEN = (
    "send 'Authorization: Bearer <token>' (the token: --admin-token, $OA_MOCK_ADMIN_TOKEN, "
    "ServerConfig(admin_token=...), or the one printed on stderr at start)"
)


@dataclass(frozen=True)
class Refusal:
    """An admin request refused: the status, the JSON ``detail``, and headers to add."""

    status: int
    detail: str
    headers: tuple[tuple[str, str], ...] = ()


def new_admin_token() -> str:
    """A fresh random admin token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def token_error(token: object) -> str | None:
    """Why ``token`` cannot be an admin token, or None when it can (None: no token)."""
    if token is None:
        return None
    if not isinstance(token, str) or not _TOKEN.fullmatch(token):
        return (
            "admin_token must be a non-empty string of letters, digits and - . _ ~ + / "
            "(it travels as 'Authorization: Bearer <token>'), or None"
        )
    return None


def _bare(host: str) -> str:
    """A host name or address as compared here: lower case, no brackets, no final dot."""
    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host.rstrip(".")


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1 (Python < 3.13 says no)
    return address


def is_loopback_host(host: str) -> bool:
    """Whether binding ``host`` keeps a server on this machine (``localhost``, 127/8, ``::1``)."""
    bare = _bare(host)
    if bare == "localhost":
        return True
    address = _ip(bare)
    return address is not None and address.is_loopback


def _split_host(value: str) -> tuple[str, int | None] | None:
    """``(name, port)`` of a ``Host`` value (``h``, ``h:p``, ``[v6]``, ``[v6]:p``); None: bad."""
    value = value.strip()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[1:end], value[end + 1 :]
        if rest and not rest.startswith(":"):
            return None
        port_text = rest[1:] if rest else None
    else:
        name, _, port_text = value.partition(":")
        if ":" in port_text:  # an IPv6 address must come in brackets
            return None
        if not _:
            port_text = None
    if not name:
        return None
    if port_text is None:
        return _bare(name), None
    if not port_text.isascii() or not port_text.isdigit() or int(port_text) > 65535:
        return None
    return _bare(name), int(port_text)


def _same_origin(origin: str, host: str | None) -> bool:
    """Whether ``Origin`` names this server as reached through ``Host`` (plain http)."""
    scheme, sep, rest = origin.strip().partition("://")
    if not sep or scheme.lower() != "http" or host is None or "/" in rest:
        return False  # "null", https (this server speaks http), or a malformed origin
    mine, theirs = _split_host(host), _split_host(rest)
    if mine is None or theirs is None:
        return False
    return (mine[0], mine[1] or 80) == (theirs[0], theirs[1] or 80)


def _media_type(content_type: str | None) -> str | None:
    if content_type is None:
        return None
    return content_type.partition(";")[0].strip().lower() or None


def _is_json(media_type: str | None) -> bool:
    return media_type is not None and (
        media_type == "application/json" or media_type.endswith("+json")
    )


def body_to_check(method: str, content_type: str | None, has_body: bool) -> bool:
    """Whether the decision needs the body: a change sent with curl's ``-d`` default type."""
    return has_body and method in _CHANGING and _media_type(content_type) == _FORM


def form_body_refusal(body: bytes) -> Refusal | None:
    """The refusal of a form-typed change whose body is not a JSON object (see rule 4)."""
    if body.lstrip()[:1] == b"{":
        return None
    return _unsupported(_FORM)


def _unsupported(media_type: str | None) -> Refusal:
    sent = f"Content-Type {media_type}" if media_type else "a body with no Content-Type"
    return Refusal(
        415,
        f"refused: admin requests that change the server must send JSON, not {sent}; "
        "send the body with 'Content-Type: application/json' (curl: --json '{...}' or "
        "-H 'Content-Type: application/json'), or send no body",
    )


def is_admin_path(path: str) -> bool:
    """Whether a decoded request path reaches the admin API, however it is spelled."""
    segments: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment not in ("", "."):
            segments.append(segment)
    return bool(segments) and segments[0] == "__admin"


@dataclass(frozen=True)
class AdminAccess:
    """The admin API's rules for a server bound to ``bound_host``, with ``token`` (or none).

    A server bound wider than loopback needs a token; one with ``token`` None there refuses
    every admin request (401) rather than open up.
    """

    bound_host: str
    token: str | None = None

    @property
    def needs_token(self) -> bool:
        """Whether every admin request must carry the token."""
        return self.token is not None or not is_loopback_host(self.bound_host)

    def refusal(
        self,
        *,
        method: str,
        host: str | None,
        origin: str | None,
        fetch_site: str | None,
        authorization: str | None,
        content_type: str | None,
        has_body: bool,
    ) -> Refusal | None:
        """Why an admin request with these headers is refused, or None to answer it.

        ``has_body``: the request has a body. A change sent as a form with a body is decided
        by :func:`form_body_refusal` once its body is read (see :func:`body_to_check`).
        """
        page = _page_refusal(origin, fetch_site, host)
        if page is not None:
            return page
        if self.needs_token:
            refused = self._token_refusal(authorization)
            if refused is not None:
                return refused
        elif not _names_loopback(host):
            # no token, so bound to loopback: the Host must name loopback too
            return Refusal(
                403,
                f"refused: Host {host!r} does not name this server, and without an admin token "
                "the admin API answers only requests addressed to localhost or a loopback "
                "address (a guard against DNS rebinding); call it as "
                "http://127.0.0.1:<port>/__admin/... or http://localhost:<port>/__admin/..., "
                "or give the server an admin token and send it",
            )
        if method in _CHANGING:
            media_type = _media_type(content_type)
            if not _is_json(media_type) and (
                media_type in _PAGE_TYPES if not has_body else media_type != _FORM
            ):
                return _unsupported(media_type)
        return None

    def _token_refusal(self, authorization: str | None) -> Refusal | None:
        challenge = 'Bearer realm="oa-mockserver admin"'
        if self.token is None:
            return Refusal(
                401,
                f"refused: this server is bound to {self.bound_host}, beyond loopback, and has "
                "no admin token, so its admin API is closed; give it one "
                "(ServerConfig(admin_token=...) or --admin-token; MockServer and "
                "oa-mockserver serve make one) and send 'Authorization: Bearer <token>'",
                (("WWW-Authenticate", challenge),),
            )
        scheme, _, credentials = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            return Refusal(
                401,
                f"refused: this admin API needs its token; {_SEND_TOKEN}",
                (("WWW-Authenticate", challenge),),
            )
        # aiohttp hands undecodable header bytes over as surrogates: compare them as sent
        sent = credentials.strip().encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(sent, self.token.encode()):
            return Refusal(
                401,
                f"refused: wrong admin token; {_SEND_TOKEN}",
                (("WWW-Authenticate", challenge + ', error="invalid_token"'),),
            )
        return None


def _names_loopback(host: str | None) -> bool:
    """Whether a ``Host`` value is ``localhost`` or a loopback address, any port."""
    parts = _split_host(host) if host is not None else None
    return parts is not None and is_loopback_host(parts[0])


def _page_refusal(origin: str | None, fetch_site: str | None, host: str | None) -> Refusal | None:
    if fetch_site is not None and fetch_site.strip().lower() not in ("same-origin", "none"):
        return Refusal(
            403,
            f"refused: the browser marked this request Sec-Fetch-Site: {fetch_site.strip()}, "
            "a web page of another site, and pages may not use the admin API; "
            "call it from curl or a script, not from a page",
        )
    if origin is not None and not _same_origin(origin, host):
        return Refusal(
            403,
            f"refused: a web page of another origin ({origin.strip()}) may not use the admin "
            "API; call it from curl or a script, not from a page",
        )
    return None
