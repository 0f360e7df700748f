"""gpt4free's call -> ``oa_provider``'s: messages, cookies and keyword arguments.

gpt4free hands a provider OpenAI-style messages and a mix of keyword arguments: the user's own
(``cookies``, ``temperature``...) and ones its entry points add for every provider (``stream``,
``stop``, ``provider``...). Here the first are translated, the second dropped (each one named
in :data:`G4F_HANDLED`, with why), and anything else refused with a TypeError listing what is
accepted, so a typo does not silently become a default. Pure, but for reading the cookies.txt
file a caller names.
"""

from __future__ import annotations

import http.cookiejar
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from oa_provider import ChatOptions, MissingCredentialsError
from oa_provider._cookies import (
    SESSION_COOKIE_NAMES,
    _har_path,
    cookies_for_url,
    parse_cookie_header,
    parse_netscape_cookies,
)
from oa_provider._prompt import message_mappings

__all__ = [
    "G4F_HANDLED",
    "OA_OPTIONS",
    "cookie_input",
    "oa_messages",
    "oa_options",
    "session_cookie",
]

#: What ``oa_provider`` takes besides the arguments spelled out in the provider's signature.
OA_OPTIONS: frozenset[str] = frozenset(ChatOptions.__annotations__)

#: Arguments gpt4free's entry points pass to every provider that mean nothing here. ``stop`` and
#: ``response_format`` are applied by gpt4free's client to the text we yield; ``stream`` does
#: not change what we do (we always stream, gpt4free joins the pieces when it was not asked).
G4F_HANDLED: frozenset[str] = frozenset(
    {
        "stream",  # we always stream; gpt4free joins the chunks for stream=False
        "ignore_stream",
        "provider",  # the sync client passes the provider to itself
        "stop",  # applied by gpt4free's client
        "response_format",  # applied by gpt4free's client
        "conversation",  # gpt4free's session cache: we start a fresh chat per call
        "history_disabled",
        "return_conversation",
        "user",  # only gpt4free's usage log reads it
        "download_media",
    }
)

_ROLE_ALIASES = {"developer": "system"}  # OpenAI's newer name for the system role


def _text_of(index: int, content: object) -> object:
    """A message's content as text: OpenAI's list of parts joined, images refused."""
    if content is None:
        return ""
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, Mapping) and part.get("type", "text") == "text":
                texts.append(str(part.get("text", "")))
            else:
                kind = part.get("type") if isinstance(part, Mapping) else type(part).__name__
                raise ValueError(
                    f"messages[{index}] holds a {kind!r} part: OpenAssistant takes text only; "
                    "send the text parts alone"
                )
        return "".join(texts)
    return content  # oa_provider checks it is a str and names the index if not


def oa_messages(messages: object) -> list[dict[str, Any]]:
    """gpt4free's messages as ``oa_provider`` takes them: ``role`` and ``content`` only.

    ``developer`` becomes ``system``; a list of text parts is joined; other keys of a message
    (``name``, ``tool_calls``...) are not sent, as no route of the API has a place for them.
    Roles and content types are then checked by ``oa_provider`` (ValueError naming the index).
    """
    # (gpt4free's client turns a str into one user message before it reaches us.)
    converted: list[dict[str, Any]] = []
    for index, message in message_mappings(messages):
        role = message.get("role")
        role = _ROLE_ALIASES.get(role, role) if isinstance(role, str) else role
        converted.append({"role": role, "content": _text_of(index, message.get("content"))})
    return converted


def _read_cookie_file(path: Path, base_url: str) -> http.cookiejar.CookieJar:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise MissingCredentialsError(
            f"{path}: cannot read the cookie file ({exc.strerror or type(exc).__name__}); "
            "check the path and its permissions"
        ) from None
    try:
        jar = parse_netscape_cookies(text)
    except ValueError as exc:
        raise MissingCredentialsError(
            f"{path}: not a Netscape cookies.txt ({exc}); each cookie line has 7 "
            "tab-separated fields: domain, subdomains, path, secure, expiry, name, value"
        ) from None
    if not cookies_for_url(jar, base_url):
        raise MissingCredentialsError(
            f"{path}: no cookie for {urlsplit(base_url).hostname} in the file; export the "
            "cookies of that site"
        )
    return jar


def cookie_input(
    cookies: object, base_url: str
) -> Mapping[str, str] | http.cookiejar.CookieJar | Path | None:
    """gpt4free's ``cookies=`` as ``oa_provider`` takes it (None: look elsewhere).

    A dict or a CookieJar is passed on; a path of a ``.har`` file is passed on as a path
    (``oa_provider`` reads a HAR's cookies as gpt4free does); another path (``os.PathLike``, or a
    str naming an existing file) is read as a Netscape cookies.txt; another str is a ``Cookie``
    header (``name=value; ...``).

    Raises:
        MissingCredentialsError: the file cannot be read or holds no cookie for the host.
        ValueError: a str that is neither a header nor a file (the value is not shown: it may
            be a secret).
        TypeError: another type.
    """
    if cookies is None:
        return None
    if isinstance(cookies, (Mapping, http.cookiejar.CookieJar)):
        return cookies or None  # an empty dict: look elsewhere, as oa_provider does
    if isinstance(cookies, (str, os.PathLike)) and (har := _har_path(cookies)) is not None:
        return har
    if isinstance(cookies, os.PathLike):
        return _read_cookie_file(Path(cookies), base_url)
    if isinstance(cookies, str):
        if not cookies.strip():
            return None
        if "=" not in cookies and Path(cookies).expanduser().is_file():
            return _read_cookie_file(Path(cookies).expanduser(), base_url)
        pairs = parse_cookie_header(cookies)
        if pairs:
            return dict(pairs)
        raise ValueError(
            "cookies is a str that is neither a Cookie header ('name=value; ...') nor the "
            "path of an existing cookies.txt (the value is not shown)"
        )
    raise TypeError(
        "cookies must be a dict, an http.cookiejar.CookieJar, a Cookie header str or a "
        f"cookies.txt path, not {type(cookies).__name__}"
    )


def session_cookie(api_key: str, base_url: str) -> dict[str, str]:
    """``api_key=`` as the next-auth session cookie (the ``__Secure-`` name over https)."""
    secure = urlsplit(base_url).scheme == "https"
    return {SESSION_COOKIE_NAMES[0] if secure else SESSION_COOKIE_NAMES[1]: api_key}


def oa_options(
    kwargs: Mapping[str, Any], *, max_tokens: int | None, stream_timeout: float | None
) -> dict[str, Any]:
    """The ``oa_provider`` options of a call: ours passed on, gpt4free's own dropped.

    ``max_tokens`` becomes ``max_new_tokens`` and ``stream_timeout`` ``stream_idle_timeout``
    (gpt4free's names for the same thing).

    Raises:
        TypeError: an argument that is neither ours nor one of :data:`G4F_HANDLED`, or both
            names of one option.
    """
    options: dict[str, Any] = {}
    for key, value in kwargs.items():
        if key in OA_OPTIONS:
            options[key] = value
        elif key in ("media", "images"):
            if value:
                raise ValueError("OpenAssistant takes text only: do not pass images or media")
        elif key not in G4F_HANDLED:
            raise TypeError(
                f"OpenAssistant got an unknown argument {key!r}; it takes cookies, api_key, "
                "base_url, proxy, timeout, stream_timeout, max_tokens, temperature, top_p, "
                f"top_k and oa_provider's options ({', '.join(sorted(OA_OPTIONS))})"
            )
    for theirs, ours, value in (
        ("max_tokens", "max_new_tokens", max_tokens),
        ("stream_timeout", "stream_idle_timeout", stream_timeout),
    ):
        if value is None:
            continue
        if ours in options:
            raise TypeError(f"pass {theirs} or {ours}, not both (they are the same option)")
        options[ours] = value
    return options
