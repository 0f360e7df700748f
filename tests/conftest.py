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
