"""ServerConfig validation: every bad option names itself and what is allowed."""

from __future__ import annotations

import dataclasses

import pytest

from oa_mockserver import ConfigError, ServerConfig


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [
        ("token_interval", -1, "token_interval must be >= 0"),
        ("token_interval", float("nan"), "finite"),
        ("ping_interval", 0, "ping_interval must be > 0"),
        ("reply_tokens", 0, "reply_tokens must be an integer >= 1"),
        ("workers", 0, "workers must be an integer >= 1 or None"),
        ("reply_mode", "poetry", "reply_mode must be one of lorem, echo"),
        ("port", 70000, "port must be in 0..65535"),
        ("max_body_size", True, "max_body_size"),
        ("unserved_models", "distilgpt2", "unserved_models"),
    ],
)
def test_bad_options(option: str, value: object, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        ServerConfig(**{option: value})  # type: ignore[arg-type]


def test_defaults_are_the_reference_server() -> None:
    config = ServerConfig()
    assert (config.host, config.token_interval, config.pending_interval, config.ping_interval) == (
        "127.0.0.1",
        0.2,
        1.0,
        15.0,
    )
    assert config.max_body_size == 1024 * 1024
    assert config.workers is None
    assert not config.fix_server_bugs
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.port = 1  # type: ignore[misc]
    assert ServerConfig(unserved_models={"a"}).unserved_models == frozenset({"a"})  # type: ignore[arg-type]
