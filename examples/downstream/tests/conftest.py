"""Suite-wide settings for the oa_mockserver fixtures: short, unpaced replies."""

from __future__ import annotations

import pytest

from oa_mockserver import ServerConfig


@pytest.fixture(scope="session")
def oa_mockserver_config() -> ServerConfig:
    # Overrides the plugin's fixture of the same name: every server of this suite starts so.
    return ServerConfig(token_interval=0.0, first_token_delay=0.0, reply_tokens=8)
