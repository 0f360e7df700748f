"""Suite-wide settings: hypothesis profiles and a clean environment for every test."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

# CI runs on 2 cores under a time budget: bounded examples, no per-example deadline
# (loopback HTTP and a loaded machine make wall-clock deadlines flaky, not informative).
settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=40, deadline=None)
settings.register_profile("thorough", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

_OUR_VARIABLES = ("OA_BASE_URL", "OA_COOKIES", "OA_COOKIE_FILE", "OA_HAR_FILE")


@pytest.fixture(autouse=True)
def _clean_environ(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Keep the developer's own credentials and proxies out of every test."""
    for name in _OUR_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    # The provider looks for ~/.config/oa-toolkit/cookies.txt: point it at an empty dir.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg-config")))


# -- the redis group (`pytest -m redis`): one real redis-server per session, on a free port ----
# pytest-redis starts Debian's redis-server (no fake); only tests that ask for `redis_url` start it.
from pytest_redis import factories  # noqa: E402 - the redis group's fixtures, kept together here

redis_server = factories.redis_proc(executable="/usr/bin/redis-server", port=None)


@pytest.fixture
def redis_url(redis_server: object) -> str:
    """``redis://127.0.0.1:PORT/0`` of the session's redis-server, emptied for this test."""
    import redis

    host, port = redis_server.host, redis_server.port  # type: ignore[attr-defined]
    url = f"redis://{host}:{port}/0"
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()
    return url
