"""Server settings: one frozen, validated dataclass shared by the app, the CLI and the fixtures.

The defaults reproduce the reference server (a worker that sleeps 0.2 s per word, pending events
every second, pings every 15 s); tests shrink the intervals to zero or a few milliseconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ._exceptions import ConfigError, FaultSpecError
from ._faults import parse_fault_header

__all__ = ["REPLY_MODES", "ServerConfig"]

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
            (``"status:503;step=assistant_message;times=1"``); see :mod:`oa_mockserver._faults`.
    """

    host: str = "127.0.0.1"
    port: int = 0
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

    def __post_init__(self) -> None:
        if not isinstance(self.host, str) or not self.host:
            raise ConfigError(f"host must be a non-empty interface address, got {self.host!r}")
        _check_int("port", self.port, minimum=0)
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
