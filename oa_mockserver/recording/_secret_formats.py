"""Well-known secret formats, found wherever they appear (prompt text, event bodies, URIs).

The formats are Yelp's ``detect-secrets`` plugins (a maintained rule set, not a list of our own):
AWS keys, Azure storage keys, basic-auth URLs, Discord, GitHub, GitLab, JWTs, Mailchimp, npm,
OpenAI, private keys, PyPI, SendGrid, Slack, Square, Stripe, Telegram and Twilio. Left out on
purpose: its keyword, high-entropy, IP and vendor-keyword plugins (they flag ordinary words,
ids and numbers; secrets *by name* are :mod:`._secret_names`' job) and Artifactory's (its
``AP…`` pattern matches plain capitalised words such as ``APEXLegends``).

How a match becomes a span: a pattern whose secret is one capture group (basic auth, the AWS
secret key after its keyword, npm) redacts that group; the others redact the whole token the
match sits in (letters, digits, ``_`` and ``-`` on either side), because several patterns match
a fixed-length prefix of a longer real key (Stripe's keys grew past its 24 characters). A private
key is redacted from ``-----BEGIN`` to its ``-----END …-----`` line. No span crosses a quote, a
backslash or white space (except a private key's), so a JSON string keeps its closing quote.

Why loaded lazily: importing ``detect-secrets`` (and ``requests``, which it imports) costs tens
of milliseconds, and only recording, lint and journal or log redaction need it; ``serve`` and
the chat routes never do.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import re
from dataclasses import dataclass

__all__ = ["PLACEHOLDER", "Detector", "detectors", "format_spans", "is_placeholder", "placeholder"]

#: The marker that starts every replacement (by name it is the whole value).
PLACEHOLDER = b"REDACTED"
# Why a keyed digest: the same secret must give the same placeholder (so a replayed request,
# redacted the same way, still matches its recording) and different secrets different ones.
# The key is public: anyone who can redact a live request can test a guess, whatever the key;
# that is safe for these formats because each is a long random string (80 bits or more).
_DIGEST_KEY = b"oa-mockserver redaction 1"
_DIGEST_BYTES = 6
_PLACEHOLDER_SHAPE = re.compile(rb"REDACTED(?:-[0-9a-f]{%d})?" % (2 * _DIGEST_BYTES))

# Each plugin: its module in detect_secrets.plugins, its class, which capture group is the secret
# in which of its patterns (default: the whole token), and literals its every match contains:
# one of each group. A literal in lower case is looked for in the data in lower case (which can
# only let more through, as the case-insensitive patterns need), any other as it is. Why:
# looking for ~40 literals costs less than running the ~30 patterns (most have no literal prefix
# the regex engine could skip to), and a common body holds none of them (a chat's URI, a prompt).
_GITLAB = (
    b"glpat-", b"gldt-", b"glft-", b"glsoat-", b"glrt-", b"glcbt-", b"glimt-", b"glptt-",
    b"glagent-", b"gloas-", b"gr1348941",
)  # fmt: skip
_PLUGINS: tuple[tuple[str, str, dict[int, int], tuple[tuple[bytes, ...], ...]], ...] = (
    ("aws", "AWSKeyDetector", {1: 1}, ((b"a3t", b"abia", b"acca", b"akia", b"asia", b"aws"),)),
    ("azure_storage_key", "AzureStorageKeyDetector", {}, ((b"accountkey=",),)),
    ("basic_auth", "BasicAuthDetector", {0: 1}, ((b"://",), (b"@",))),
    ("discord", "DiscordBotTokenDetector", {}, ((b".",),)),
    ("github_token", "GitHubTokenDetector", {}, ((b"ghp_", b"gho_", b"ghu_", b"ghs_", b"ghr_"),)),
    ("gitlab_token", "GitLabTokenDetector", {}, (_GITLAB,)),
    ("jwt", "JwtTokenDetector", {}, ((b"eyj",),)),
    ("mailchimp", "MailchimpDetector", {}, ((b"-us",),)),
    ("npm", "NpmDetector", {0: 1}, ((b"_authtoken",),)),
    ("openai", "OpenAIDetector", {}, ((b"t3blbkfj",),)),
    ("private_key", "PrivateKeyDetector", {}, ((b"private key", b"putty-user-key-file"),)),
    ("pypi_token", "PypiTokenDetector", {}, ((b"pypi-",),)),
    ("sendgrid", "SendGridDetector", {}, ((b"sg.",),)),
    ("slack", "SlackDetector", {}, ((b"xox", b"hooks.slack.com"),)),
    ("square_oauth", "SquareOAuthDetector", {}, ((b"sq0csp-",),)),
    ("stripe", "StripeDetector", {}, ((b"k_live_",),)),
    ("telegram_token", "TelegramBotTokenDetector", {}, ((b":",),)),
    ("twilio", "TwilioKeyDetector", {}, ((b"AC", b"SK"),)),
)
_TOKEN_CHAR = re.compile(rb"[A-Za-z0-9_-]")
_STOPS = re.compile(rb'["\\\s]')
_KEY_END = re.compile(rb"-----END[ A-Z0-9]*-----")
_STRING_END = re.compile(rb'(?<!\\)"')

Span = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Detector:
    """One pattern of a ``detect-secrets`` plugin, compiled for bytes.

    Attributes:
        name: the plugin's ``secret_type`` (``"GitHub Token"``): what lint reports.
        regex: the plugin's pattern as a bytes regex, same flags.
        group: the capture group that is the secret (0: the whole token around the match).
        private_key: the match is a private key's ``BEGIN`` line (the span runs to its end).
    """

    name: str
    regex: re.Pattern[bytes]
    group: int = 0
    private_key: bool = False

    def spans(self, data: bytes) -> list[Span]:
        """The secret spans this pattern finds in ``data``."""
        found: list[Span] = []
        for match in self.regex.finditer(data):
            if self.private_key:
                found.append(_private_key_span(data, match.start()))
                continue
            start, end = match.span(self.group)
            if self.group == 0:
                while start > 0 and _TOKEN_CHAR.match(data, start - 1):
                    start -= 1
                while end < len(data) and _TOKEN_CHAR.match(data, end):
                    end += 1
            stop = _STOPS.search(data, start, end)
            if stop is not None:
                end = stop.start()
            if end > start and not is_placeholder(data[start:end]):
                found.append((start, end))
        return found


def _private_key_span(data: bytes, at: int) -> Span:
    start = data.rfind(b"-----", max(0, at - 5), at)
    start = start if start >= 0 else at
    end = _KEY_END.search(data, at)
    if end is not None:
        return start, end.end()
    # No END line (cut short): up to the end of the JSON string or of the data.
    quote = _STRING_END.search(data, at)
    return start, quote.start() if quote is not None else len(data)


@functools.cache
def _plugins() -> tuple[tuple[tuple[tuple[bytes, ...], ...], tuple[Detector, ...]], ...]:
    """Per plugin: its literal groups and its detectors, built on first use (then cached)."""
    built = []
    for module_name, class_name, groups, needles in _PLUGINS:
        module = importlib.import_module(f"detect_secrets.plugins.{module_name}")
        plugin = getattr(module, class_name)
        found = tuple(
            Detector(
                name=str(plugin.secret_type),
                regex=re.compile(pattern.pattern.encode("ascii"), pattern.flags & ~re.UNICODE),
                group=groups.get(index, 0),
                private_key=module_name == "private_key",
            )
            for index, pattern in enumerate(plugin.denylist)
        )
        built.append((needles, found))
    return tuple(built)


def detectors() -> tuple[Detector, ...]:
    """Every detector, built from ``detect-secrets`` on first use."""
    return tuple(d for _, found in _plugins() for d in found)


_LITERALS = tuple({n for _, _, _, groups in _PLUGINS for group in groups for n in group})


def format_spans(data: bytes) -> list[tuple[int, int, str]]:
    """Every well-known secret in ``data``: ``(start, end, kind)``, placeholders left out."""
    lowered = data.lower()
    present = {n for n in _LITERALS if n in (lowered if n.islower() else data)}
    spans: list[tuple[int, int, str]] = []
    for needles, found in _plugins() if present else _unconditional():
        if all(not present.isdisjoint(group) for group in needles):
            for detector in found:
                spans += [(s, e, detector.name) for s, e in detector.spans(data)]
    return spans


@functools.cache
def _unconditional() -> tuple[tuple[tuple[tuple[bytes, ...], ...], tuple[Detector, ...]], ...]:
    """The plugins with no literal: all that can match data that holds none."""
    return tuple(plugin for plugin in _plugins() if not plugin[0])


def placeholder(secret: bytes) -> bytes:
    """``REDACTED-`` and a keyed digest of ``secret``: the same secret, the same placeholder."""
    digest = hashlib.blake2b(secret, digest_size=_DIGEST_BYTES, key=_DIGEST_KEY).hexdigest()
    return PLACEHOLDER + b"-" + digest.encode()


def is_placeholder(value: bytes) -> bool:
    """True for ``REDACTED`` and for a placeholder made by :func:`placeholder`."""
    return _PLACEHOLDER_SHAPE.fullmatch(value) is not None
