"""How to: change the settings of every server of a suite by overriding ``oa_mockserver_config``.

Put the fixture in your ``conftest.py`` to cover the whole suite (here in a module, for this
module alone). ``@pytest.mark.oa_mockserver(...)`` then changes single options for one test.
"""

from __future__ import annotations

import pytest

from oa_mockserver import ServerConfig, ThreadedMockServer


@pytest.fixture(scope="session")
def oa_mockserver_config() -> ServerConfig:
    return ServerConfig(token_interval=0.0, first_token_delay=0.0, reply_tokens=2, workers=1)


def test_servers_start_from_the_overridden_config(oa_mockserver: ThreadedMockServer) -> None:
    assert oa_mockserver.config.reply_tokens == 2
    assert oa_mockserver.config.workers == 1


@pytest.mark.oa_mockserver(reply_tokens=7)
def test_the_marker_changes_one_option_of_it(oa_mockserver: ThreadedMockServer) -> None:
    assert oa_mockserver.config.reply_tokens == 7
    assert oa_mockserver.config.workers == 1
