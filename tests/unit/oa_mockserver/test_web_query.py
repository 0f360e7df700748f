"""The web site's plain query split gives what yarl's query gives, and is taken for its ids."""

from __future__ import annotations

from aiohttp.test_utils import make_mocked_request
from hypothesis import given
from hypothesis import strategies as st

from oa_mockserver._server.routes.web import query_of

_query_text = st.text(alphabet="ab_.~-=&%+;2F0 é", max_size=24)


@given(_query_text)
def test_the_plain_query_split_is_yarls_query(raw: str) -> None:
    request = make_mocked_request("GET", "/api/chat/events?" + raw)
    ours, theirs = query_of(request), request.query
    assert set(ours) == set(theirs)
    assert {name: ours.get(name) for name in theirs} == {name: theirs.get(name) for name in theirs}


def test_the_web_sites_queries_take_the_plain_split() -> None:
    request = make_mocked_request(
        "GET", "/api/chat/events?chat_id=06b04969-bd73-740d&message_id=06b04969-bd73-741d"
    )
    query = query_of(request)
    assert type(query) is dict  # not yarl's MultiDictProxy: the fast path was taken
    assert query == {"chat_id": "06b04969-bd73-740d", "message_id": "06b04969-bd73-741d"}
