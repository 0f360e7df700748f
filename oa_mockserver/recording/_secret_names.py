"""Which names (headers, JSON keys, query and form parameters) hold secrets.

The rule, case-insensitive, on the name's words: a name is cut into words at every character
that is not a letter or a digit and at each lower-to-upper case change (``X-Auth-Token`` →
``x auth token``, ``apiKey`` → ``api key``, ``APIKey`` → ``api key``, ``max_new_tokens`` →
``max new tokens``). The name is secret when

1. one of its words is a secret word: ``auth``, ``oauth``, ``authorization``,
   ``authentication``, ``token``, ``secret``, ``secrets``, ``password``, ``passwd``, ``pwd``,
   ``passphrase``, ``key``, ``apikey``, ``session``, ``sessionid``, ``sessid``, ``cookie``,
   ``cookies``, ``credential``, ``credentials``, ``signature``, ``sig``, ``jwt``; or a
   run-together word ends with one (``csrftoken``, ``clientsecret``, ``jsessionid``, ``xapikey``:
   the endings ``token``, ``secret``, ``password``, ``passwd``, ``apikey``, ``accesskey``,
   ``secretkey``, ``privatekey``, ``sessionid``, ``sessid``, ``cookie``, ``credential(s)``);
2. and its last word (digits aside) does not describe the secret instead of holding it:
   ``type``, ``kind``, ``name``, ``length``, ``count``, ``size``, ``limit``, ``expires``,
   ``expiry``, ``ttl``, ``in``, ``at``, ``scope``, ``format``, ``method``, ``mode``,
   ``version``, ``url``, ``uri``, ``endpoint``, ``header``, ``policy``, ``hint``, ``used``,
   ``enabled``, ``required`` (``token_type``, ``expires_in``, ``X-Session-Mode``).

Why words and not substrings: ``max_new_tokens`` (a sampling parameter: redacting it would break
replay matching), ``top_k``, ``keep_chat``, ``message_id``, ``parent_id``, ``author`` and
``monkey`` hold a secret's letters but no secret. Plurals are not secret words for the same
reason (``tokens`` is a count in this API). Every field name of the OpenAssistant protocol but
``access_token`` and ``refresh_token`` is not secret (tests/unit/oa_mockserver/test_redact.py
checks them all).
"""

from __future__ import annotations

import functools
import re

__all__ = ["is_descriptive_name", "is_secret_name", "words_of"]

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_SECRET_WORDS = frozenset(
    {
        "auth", "oauth", "authorization", "authentication", "token", "secret", "secrets",
        "password", "passwd", "pwd", "passphrase", "key", "apikey", "session", "sessionid",
        "sessid", "cookie", "cookies", "credential", "credentials", "signature", "sig", "jwt",
    }
)  # fmt: skip
_SECRET_ENDINGS = (
    "token", "secret", "password", "passwd", "apikey", "accesskey", "secretkey", "privatekey",
    "sessionid", "sessid", "cookie", "credential", "credentials",
)  # fmt: skip
_DESCRIPTORS = frozenset(
    {
        "type", "kind", "name", "length", "count", "size", "limit", "expires", "expiry", "ttl",
        "in", "at", "scope", "format", "method", "mode", "version", "url", "uri", "endpoint",
        "header", "policy", "hint", "used", "enabled", "required",
    }
)  # fmt: skip


def words_of(name: str) -> list[str]:
    """The lower-case words of a name (see the module docstring)."""
    return [word.lower() for word in _WORD.findall(name)]


def _secret_word(word: str) -> bool:
    return word in _SECRET_WORDS or word.endswith(_SECRET_ENDINGS)


def is_descriptive_name(name: str) -> bool:
    """True when the name's last word describes a secret (``token_type``): rule 2 above."""
    named = [word for word in words_of(name) if not word.isdigit()]
    return bool(named) and named[-1] in _DESCRIPTORS


@functools.lru_cache(maxsize=4096)
def is_secret_name(name: str) -> bool:
    """True when a header, JSON key or parameter named ``name`` holds a secret."""
    words = words_of(name)
    return any(_secret_word(word) for word in words) and not is_descriptive_name(name)
