"""Who is calling: bearer tokens (inference dialect) and session cookies (web site dialect).

Tokens look like the real server's JWE compact tokens (``eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..``
then IV, ciphertext and tag) but are sealed with a per-server HMAC key: the mock can tell its own
tokens from anything else (401 ``Invalid token``) and access tokens from refresh tokens (400
``Invalid token type``). Users of the web dialect are keyed by a hash of their cookie, so the
cookie itself is never stored, logged or journaled. Nothing here does I/O.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass

from .._exceptions import MockServerError

__all__ = [
    "SESSION_COOKIES",
    "AuthError",
    "TokenAuthority",
    "bearer_user",
    "user_name",
    "web_user",
]

#: The next-auth session cookie names (https, then http).
SESSION_COOKIES = ("__Secure-next-auth.session-token", "next-auth.session-token")

_HEADER = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0"  # {"alg":"dir","enc":"A256GCM"}


class AuthError(MockServerError):
    """The caller is not authenticated; answer ``status`` with ``detail``."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class _Claims:
    user: str
    kind: str  # "access" or "refresh"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenAuthority:
    """Issues and reads this server's bearer tokens."""

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret if secret is not None else os.urandom(32)

    def _keystream(self, iv: bytes, length: int) -> bytes:
        blocks = bytearray()
        counter = 0
        while len(blocks) < length:
            blocks += hashlib.sha256(self._secret + iv + counter.to_bytes(4, "big")).digest()
            counter += 1
        return bytes(blocks[:length])

    def issue(self, user: str, kind: str = "access") -> str:
        """A new sealed token for ``user`` (``kind`` is ``access`` or ``refresh``)."""
        iv = os.urandom(12)
        plain = json.dumps({"sub": user, "type": kind}).encode()
        cipher = bytes(a ^ b for a, b in zip(plain, self._keystream(iv, len(plain)), strict=True))
        tag = hmac.new(self._secret, iv + cipher, hashlib.sha256).digest()[:16]
        return f"{_HEADER}..{_b64(iv)}.{_b64(cipher)}.{_b64(tag)}"

    def read(self, token: str) -> _Claims:
        """The claims of one of our tokens.

        Raises:
            AuthError: 401 ``Invalid token`` for anything we did not issue.
        """
        try:
            header, key, iv_text, cipher_text, tag_text = token.split(".")
            if header != _HEADER or key:
                raise ValueError("not our token")
            iv, cipher, tag = _unb64(iv_text), _unb64(cipher_text), _unb64(tag_text)
            expected = hmac.new(self._secret, iv + cipher, hashlib.sha256).digest()[:16]
            if not hmac.compare_digest(tag, expected):
                raise ValueError("bad tag")
            plain = bytes(
                a ^ b for a, b in zip(cipher, self._keystream(iv, len(cipher)), strict=True)
            )
            claims = json.loads(plain)
            return _Claims(user=str(claims["sub"]), kind=str(claims["type"]))
        except (ValueError, KeyError, TypeError):
            raise AuthError(401, "Invalid token") from None

    def login(self, user: str) -> dict[str, dict[str, str]]:
        """The debug login answer: an access and a refresh token."""
        return {
            "access_token": {"access_token": self.issue(user), "token_type": "bearer"},
            "refresh_token": {"access_token": self.issue(user, "refresh"), "token_type": "refresh"},
        }


def bearer_user(authority: TokenAuthority, authorization: str | None) -> str:
    """The user of an ``Authorization`` header, with the real server's failures.

    Raises:
        AuthError: 403 ``Not authenticated`` (missing, other scheme, empty), 401 ``Invalid
            token`` (not ours), 400 ``Invalid token type`` (a refresh token).
    """
    if not authorization or not authorization.startswith("Bearer "):
        raise AuthError(403, "Not authenticated")
    token = authorization[len("Bearer ") :].strip()
    if not token:
        raise AuthError(403, "Not authenticated")
    claims = authority.read(token)
    if claims.kind != "access":
        raise AuthError(400, "Invalid token type")
    return "inference:" + claims.user


def user_name(owner: str) -> str:
    """The user id shown to an inference-dialect owner (``/auth/check``)."""
    return owner.split(":", 1)[1]


def web_user(cookies: Mapping[str, str]) -> str | None:
    """The owner key of a web-dialect session cookie (a hash of it), or None without one."""
    for name in SESSION_COOKIES:
        value = cookies.get(name)
        if value:
            return "web:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return None
