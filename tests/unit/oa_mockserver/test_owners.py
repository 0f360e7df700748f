"""The web dialect's owner of a request: one per session cookie value, from a bounded cache."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import make_mocked_request

from oa_mockserver._server.auth import AuthError
from oa_mockserver._server.routes import web as _routes_web


def _owner_of(cookie: str | None) -> str:
    headers = {"Cookie": cookie} if cookie is not None else {}
    return _routes_web._owner(make_mocked_request("GET", "/api/chat", headers=headers))


def test_each_session_value_is_its_own_owner() -> None:
    alice = _owner_of("next-auth.session-token=alice")
    assert alice == _owner_of("next-auth.session-token=alice")  # from the cache
    assert alice == _owner_of("theme=dark; next-auth.session-token=alice")
    assert alice != _owner_of("next-auth.session-token=bob")
    assert alice == _owner_of("__Secure-next-auth.session-token=alice")
    assert "alice" not in alice  # a hash, not the secret


@pytest.mark.parametrize("cookie", [None, "", "theme=dark", "next-auth.session-token="])
def test_no_session_is_403(cookie: str | None) -> None:
    for _ in range(2):  # the second answer comes from the cache
        with pytest.raises(AuthError) as caught:
            _owner_of(cookie)
        assert caught.value.status == 403


def test_the_cache_stays_bounded() -> None:
    for index in range(_routes_web._OWNERS_MAX + 50):
        _owner_of(f"next-auth.session-token=user{index}")
    assert len(_routes_web._OWNERS) <= _routes_web._OWNERS_MAX
    assert _owner_of("next-auth.session-token=user0") != _owner_of("next-auth.session-token=x")
