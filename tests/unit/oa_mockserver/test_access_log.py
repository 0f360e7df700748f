"""The command line's access log: redacted, and skipped entirely when it would not be shown."""

from __future__ import annotations

import logging

import pytest
from aiohttp.test_utils import make_mocked_request
from aiohttp.web import Response

from oa_mockserver._cli import RedactingAccessLogger


def test_disabled_below_info_so_aiohttp_never_calls_it() -> None:
    logger = logging.getLogger("oa_mockserver.test_access")
    access = RedactingAccessLogger(logger, "")
    logger.setLevel(logging.WARNING)
    assert access.enabled is False
    logger.setLevel(logging.INFO)
    assert access.enabled is True


def test_the_line_has_no_token(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("oa_mockserver.test_access_line")
    logger.setLevel(logging.INFO)
    request = make_mocked_request("GET", "/auth/check?access_token=sekrit-value&x=1")
    with caplog.at_level(logging.INFO, logger=logger.name):
        RedactingAccessLogger(logger, "").log(request, Response(status=200), 0.01)
    assert "access_token=REDACTED" in caplog.text
    assert "sekrit-value" not in caplog.text
