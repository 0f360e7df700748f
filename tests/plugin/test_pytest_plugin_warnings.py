"""A downstream project that installed ``oa-toolkit[pytest]`` and configured nothing else.

pytest-asyncio (0.24 and later) warns on every run when ``asyncio_default_fixture_loop_scope``
is unset; the extra brought it in, and our fixtures are sync, so the warning is not the user's to
act on: the plugin keeps it from showing, and from failing a ``filterwarnings = error`` suite.
"""

from __future__ import annotations

import pytest

BARE_TESTS = """
import pytest
from oa_provider import OpenAssistant


@pytest.mark.asyncio
async def test_a_reply(oa_provider, oa_mockserver):
    tokens = [t async for t in oa_provider.create_async_generator(
        messages=[{"role": "user", "content": "hi"}])]
    assert tokens
    oa_mockserver.assert_no_chats_left()
"""


@pytest.mark.parametrize("ini", ["", "filterwarnings = error\n"])
def test_no_loop_scope_warning_without_any_asyncio_setting(
    pytester: pytest.Pytester, ini: str
) -> None:
    pytester.makeini("[pytest]\naddopts = -p no:cacheprovider\n" + ini)
    pytester.makepyfile(test_bare=BARE_TESTS)
    result = pytester.runpytest_subprocess("-q", timeout=120)
    output = result.stdout.str() + result.stderr.str()
    assert "asyncio_default_fixture_loop_scope" not in output
    result.assert_outcomes(passed=1)


def test_a_project_that_sets_the_scope_keeps_its_setting(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        "[pytest]\naddopts = -p no:cacheprovider\nasyncio_default_fixture_loop_scope = module\n"
    )
    pytester.makepyfile(test_bare=BARE_TESTS)
    result = pytester.runpytest_subprocess(timeout=120)  # not -q: the header names the setting
    result.assert_outcomes(passed=1)
    assert "asyncio_default_fixture_loop_scope=module" in result.stdout.str()
