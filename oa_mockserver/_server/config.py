"""Server settings: one frozen, validated dataclass shared by the app, the CLI and the fixtures.

The defaults reproduce the reference server (a worker that sleeps 0.2 s per word, pending events
every second, pings every 15 s); tests shrink the intervals to zero or a few milliseconds.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

from .._control.admin_access import token_error
from .._control.faults import parse_fault_header
from .._exceptions import ConfigError, FaultSpecError
from ..recording._match import MatchRules
from ..recording._timing import REPLAY_TIMINGS, ReplaySettings, Timing

__all__ = ["REPLY_MODES", "ServerConfig"]

#: URL schemes :attr:`ServerConfig.store` accepts (redis-py's).
_STORE_SCHEMES = ("redis://", "rediss://", "unix://")

#: Allowed values of :attr:`ServerConfig.reply_mode`.
REPLY_MODES = ("lorem", "echo")


def _check_interval(name: str, value: float, *, positive: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number of seconds, got {value!r}")
    if value < 0 or (positive and value == 0):
        bound = "> 0" if positive else ">= 0"
        raise ConfigError(f"{name} must be {bound} seconds, got {value!r}")


def _check_int(name: str, value: int | None, *, minimum: int, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        allowed = f"an integer >= {minimum}" + (" or None" if optional else "")
        raise ConfigError(f"{name} must be {allowed}, got {value!r}")


@dataclass(frozen=True)
class ServerConfig:
    """Settings of one mock server (immutable; build a new one with ``dataclasses.replace``).

    Attributes:
        host: interface to bind; 127.0.0.1 unless you mean to expose the server.
        port: TCP port; 0 picks a free one.
        admin_token: the token the admin API (``/__admin/``) then requires, as
            ``Authorization: Bearer <token>``. None: none on loopback; bound wider,
            :class:`MockServer` makes one (``server.admin_token``). Never shown in the repr.
        token_interval: seconds between two tokens of a reply (the reference worker: 0.2).
        first_token_delay: seconds from the worker taking a message to its first token.
        reply_tokens: number of tokens of a generated reply (capped by ``max_new_tokens``).
        workers: simulated workers; None means one for every message (nothing ever queues).
        reply_mode: ``"lorem"`` (deterministic lorem-ipsum words) or ``"echo"`` (the prompt).
        pending_interval: seconds between ``pending`` events while a message waits.
        ping_interval: seconds between ``: ping`` comments, counted from the response start.
        max_body_size: largest accepted request body in bytes; larger bodies get 413.
        fix_server_bugs: answer proper 404/400 JSON where the real server answered 500 or 401.
        unserved_models: model config names no worker serves: their messages wait forever.
        shutdown_timeout: seconds a stopping server waits for open connections.
        seed: seeds the fault rules' probabilities, so a run with faults repeats exactly.
        faults: fault rules active from the start, in the ``X-OA-Mock-Fault`` header syntax
            (``"status:503;step=assistant_message;times=1"``); see
            :mod:`oa_mockserver._control.faults`.
        cassettes: a cassette file or a directory of them: assistant replies are replayed from
            the recordings (see :mod:`oa_mockserver.recording._replay`); None generates every reply.
        replay_timing: ``"exact"`` (recorded pace, scaled by ``replay_speed``), ``"instant"``,
            or ``"rechunk"`` (instant, the same bytes cut at new places seeded by
            ``rechunk_seed``).
        replay_speed: with ``exact`` timing, 2.0 replays twice as fast as recorded.
        rechunk_seed: the seed of ``rechunk`` timing.
        strict_replay: an assistant message no recording matches gets a 409 error JSON naming
            the nearest recording and each differing field, instead of a generated reply.
        match_ignore: request fields left out of matching (``"sampling.*"`` patterns work).
        match_tolerance: ``{field: absolute tolerance}`` for numeric fields.
        journal_limit: the most requests the journal keeps; past it the oldest are dropped
            and counted (0: keep every one, for tests that need them all). The default keeps
            the server's memory flat under load (a few MB of journal) while holding the last
            ~1,000 conversations.
        journal_body_limit: the most bytes of a request body the journal keeps (the header
            block too); a longer one is kept cut, ending with a marker (0: keep it whole).
        store: None (the default) keeps the state in this process's memory; a Redis URL
            (``redis://HOST:PORT/DB``) keeps chats, token streams, faults and the journal in
            Redis, shared by every server given the same URL (the ``[redis]`` extra; see
            ``docs/redis.md``).
    """

    host: str = "127.0.0.1"
    port: int = 0
    admin_token: str | None = field(default=None, repr=False)
    token_interval: float = 0.2
    first_token_delay: float = 0.2
    reply_tokens: int = 40
    workers: int | None = None
    reply_mode: str = "lorem"
    pending_interval: float = 1.0
    ping_interval: float = 15.0
    max_body_size: int = 1024 * 1024
    fix_server_bugs: bool = False
    unserved_models: frozenset[str] = field(default_factory=frozenset)
    shutdown_timeout: float = 1.0
    seed: int = 0
    faults: tuple[str, ...] = ()
    cassettes: str | None = None
    replay_timing: str = "instant"
    replay_speed: float = 1.0
    rechunk_seed: int = 0
    strict_replay: bool = False
    match_ignore: frozenset[str] = field(default_factory=frozenset)
    match_tolerance: tuple[tuple[str, float], ...] = ()
    journal_limit: int = 5000
    journal_body_limit: int = 4096
    store: str | None = field(default=None, repr=False)  # a URL may carry a password

    def __post_init__(self) -> None:
        if not isinstance(self.host, str) or not self.host:
            raise ConfigError(f"host must be a non-empty interface address, got {self.host!r}")
        _check_int("port", self.port, minimum=0)
        token_problem = token_error(self.admin_token)
        if token_problem is not None:
            raise ConfigError(token_problem)
        if self.port > 65535:
            raise ConfigError(f"port must be in 0..65535 (0: a free port), got {self.port!r}")
        _check_interval("token_interval", self.token_interval)
        _check_interval("first_token_delay", self.first_token_delay)
        _check_interval("pending_interval", self.pending_interval, positive=True)
        _check_interval("ping_interval", self.ping_interval, positive=True)
        _check_interval("shutdown_timeout", self.shutdown_timeout)
        _check_int("reply_tokens", self.reply_tokens, minimum=1)
        _check_int("workers", self.workers, minimum=1, optional=True)
        _check_int("max_body_size", self.max_body_size, minimum=1)
        _check_int("journal_limit", self.journal_limit, minimum=0)
        _check_int("journal_body_limit", self.journal_body_limit, minimum=0)
        if self.reply_mode not in REPLY_MODES:
            raise ConfigError(
                f"reply_mode must be one of {', '.join(REPLY_MODES)}, got {self.reply_mode!r}"
            )
        if not isinstance(self.fix_server_bugs, bool):
            raise ConfigError(
                f"fix_server_bugs must be True or False, got {self.fix_server_bugs!r}"
            )
        models: object = self.unserved_models
        if isinstance(models, str) or not all(
            isinstance(name, str) for name in self.unserved_models
        ):
            raise ConfigError(
                "unserved_models must be a collection of model config names (strings), "
                f"got {self.unserved_models!r}"
            )
        object.__setattr__(self, "unserved_models", frozenset(self.unserved_models))
        _check_int("seed", self.seed, minimum=0)
        faults: object = self.faults
        if isinstance(faults, str) or not all(isinstance(f, str) for f in self.faults):
            raise ConfigError(
                "faults must be a sequence of fault specs such as 'status:503', "
                f"got {self.faults!r}"
            )
        object.__setattr__(self, "faults", tuple(self.faults))
        for spec in self.faults:
            try:
                parse_fault_header(spec)
            except FaultSpecError as error:
                raise ConfigError(f"faults: {error}") from None
        self._check_replay()
        if self.store is not None and (
            not isinstance(self.store, str) or not self.store.startswith(_STORE_SCHEMES)
        ):
            raise ConfigError(
                "store must be a Redis URL such as redis://127.0.0.1:6379/0 "
                f"(schemes: {', '.join(_STORE_SCHEMES)}), got {self.store!r}"
            )

    def _check_replay(self) -> None:
        cassettes: object = self.cassettes
        if cassettes is not None:
            if isinstance(cassettes, os.PathLike):
                cassettes = os.fspath(cassettes)
            if not isinstance(cassettes, str) or not cassettes:
                raise ConfigError(
                    f"cassettes must be a cassette file or directory path, got {self.cassettes!r}"
                )
            object.__setattr__(self, "cassettes", cassettes)
        if self.replay_timing not in REPLAY_TIMINGS:
            raise ConfigError(
                f"replay_timing must be one of {', '.join(REPLAY_TIMINGS)}, "
                f"got {self.replay_timing!r}"
            )
        speed: object = self.replay_speed
        if (
            isinstance(speed, bool)
            or not isinstance(speed, (int, float))
            or not math.isfinite(speed)
            or speed <= 0
        ):
            raise ConfigError(f"replay_speed must be a finite number > 0, got {speed!r}")
        _check_int("rechunk_seed", self.rechunk_seed, minimum=0)
        if not isinstance(self.strict_replay, bool):
            raise ConfigError(f"strict_replay must be True or False, got {self.strict_replay!r}")
        ignore: object = self.match_ignore
        if isinstance(ignore, str) or not all(isinstance(n, str) for n in self.match_ignore):
            raise ConfigError(
                f"match_ignore must be a collection of field names, got {self.match_ignore!r}"
            )
        object.__setattr__(self, "match_ignore", frozenset(self.match_ignore))
        raw: object = self.match_tolerance
        items = list(raw.items()) if isinstance(raw, dict) else raw
        if not isinstance(items, (list, tuple)) or not all(
            isinstance(item, (list, tuple))
            and len(item) == 2
            and isinstance(item[0], str)
            and isinstance(item[1], (int, float))
            and not isinstance(item[1], bool)
            and math.isfinite(item[1])
            and item[1] >= 0
            for item in items
        ):
            raise ConfigError(
                "match_tolerance must map field names to tolerances >= 0, such as "
                f"{{'sampling.temperature': 0.01}}, got {self.match_tolerance!r}"
            )
        object.__setattr__(
            self, "match_tolerance", tuple(sorted((str(k), float(v)) for k, v in items))
        )

    @property
    def replay_settings(self) -> ReplaySettings:
        """The replay settings these options describe."""
        timing = Timing.instant() if self.replay_timing != "exact" else Timing(self.replay_speed)
        return ReplaySettings(
            timing=timing,
            rechunk_seed=self.rechunk_seed if self.replay_timing == "rechunk" else None,
            strict=self.strict_replay,
            rules=MatchRules(ignore=self.match_ignore, tolerance=dict(self.match_tolerance)),
        )
