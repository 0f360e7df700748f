"""A replay plan worked out once per recording is the plan the per-reply planning made.

``_reference_plan`` is the previous ``plan_reply``, kept verbatim as the reference: it re-joined,
re-cut and re-parsed the recording at every reply. ``rewrite_ids`` (``replace_in_chunks``) is
pinned to its own previous implementation by ``test_splice_equivalence.py``. The cases aim at
what the new planning skips: the final event's content is taken from the recording unless an
id replacement may change it (an id inside the content, as a key, next to the mark, a live id
that is not a plain id, "message"...).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oa_mockserver.recording import Chunk, RecordedResponse, _replay
from oa_mockserver.recording._rechunk import rechunk
from oa_mockserver.recording._replay import (
    RecordedReply,
    ReplayLibrary,
    ReplayPlan,
    plan_reply,
    rewrite_ids,
)
from oa_mockserver.recording._timing import ReplaySettings, Timing

_FINAL_MARK = b'"event_type": "message"'


def _json(data: bytes | None) -> Any:
    if not data:
        return None
    try:
        return json.loads(data)
    except ValueError:
        return None


def _reference_final_content(data: bytes) -> str | None:
    start = data.rfind(b"data: ", 0, data.rfind(_FINAL_MARK) + 1)
    if start < 0:
        return None
    line = data[start + len(b"data: ") :].split(b"\r\n", 1)[0].split(b"\n", 1)[0]
    event = _json(line)
    if not isinstance(event, dict) or event.get("event_type") != "message":
        return None
    message = event.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    return content if isinstance(content, str) else ""


def _reference_plan(
    reply: RecordedReply, live_chat_id: str, live_ids: Sequence[str], settings: ReplaySettings
) -> ReplayPlan:
    stream = reply.stream
    if stream is None:
        return ReplayPlan(pieces=(), delays=(), complete=False)
    chunks = stream.chunks
    pieces = [c.data for c in chunks] if chunks else [stream.body]
    offsets = [c.offset_s for c in chunks] if chunks else [0.0]
    mapping: dict[str, str] = {}
    if reply.chat_id:
        mapping[reply.chat_id] = live_chat_id
    for old, new in zip(reversed(reply.ids), reversed(live_ids), strict=False):
        mapping[old] = new
    pieces = rewrite_ids(pieces, mapping)
    if len(pieces) != len(offsets):
        offsets = [offsets[min(i, len(offsets) - 1)] for i in range(len(pieces))]
    if settings.rechunk_seed is not None:
        pieces = rechunk(b"".join(pieces), settings.rechunk_seed, pieces=max(2, len(pieces)))
        offsets = [0.0] * len(pieces)
    content = _reference_final_content(b"".join(pieces))
    return ReplayPlan(
        pieces=tuple(p for p in pieces if p),
        delays=tuple(settings.timing.delays(offsets)),
        complete=content is not None,
        content=content,
    )


CHAT, PARENT, ANSWER = "c0ffee00-0000-4000-8000-000000000001", "p-1", "a.9"
# recorded ids: mostly plain ids found nowhere else (the fast path), sometimes words of the
# event itself, so that a replacement reaches the mark, a key or the content
_RECORDED_IDS = st.sampled_from([CHAT, PARENT, ANSWER] * 4 + ["message", "event_type", "x"])
# live ids: mostly plain ones (longer, shorter, equal, "message"), sometimes ones that are not
_LIVE_IDS = st.sampled_from(
    ["11111111-2222-4333-8444-555555555555", "n", "p-1", "message"] * 3
    + ['q"q', "b\\s", "sp ace", "co:lon", "nl\nx", "é-id", "data: "]
)
# values in the final event: where an id may stand, and texts an id or a mark may sit next to
_VALUE = st.one_of(
    _RECORDED_IDS.map(json.dumps),
    _RECORDED_IDS.map(json.dumps),
    st.sampled_from(
        [
            '"Hello"',
            "null",
            "3",
            "[]",
            '"data: x"',
            '"id: ' + CHAT + '"',
            '"\\"' + ANSWER + '"',
            '{"event_type": ' + json.dumps(ANSWER) + "}",
        ]
    ),
)


def _reply_of(
    stream: RecordedResponse, ids: tuple[str, ...] = ("id-1",), chat_id: str | None = None
) -> RecordedReply:
    """A recorded 200 reply of ``stream``, with these recorded ids."""
    return RecordedReply(
        source="x.yaml:1",
        fields={},
        answer=RecordedResponse(status=200, body=b"{}"),
        chat_id=chat_id,
        ids=ids,
        stream=stream,
    )


@st.composite
def _final_event(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        # as recorded: the ids as the values of the id keys, a text content
        ids = draw(st.permutations([CHAT, PARENT, ANSWER]))
        fields = [
            f'"{key}": "{value}"'
            for key, value in zip(("id", "parent_id", "chat_id"), ids, strict=True)
        ]
        fields = draw(st.permutations([*fields, '"content": "Consectetur dolor."', '"n": 3']))
        body = '{"event_type": "message", "message": {' + ", ".join(fields) + "}}"
        return ("data: " + body + "\r\n\r\n").encode()
    content = draw(st.one_of(_VALUE, st.sampled_from(['"Consectetur dolor."', '"' + PARENT + '"'])))
    fields = [f'"content": {content}']
    for _ in range(draw(st.integers(0, 4))):
        key = draw(st.one_of(st.sampled_from(["id", "chat_id", "parent_id", "x"]), _RECORDED_IDS))
        fields.append(f"{json.dumps(key)}: {draw(_VALUE)}")
    fields = draw(st.permutations(fields))
    event_type = draw(st.sampled_from(['"message"'] * 4 + ['"error"', json.dumps(ANSWER)]))
    head = draw(st.sampled_from(["", "", ' "x": {"event_type": "message"},']))
    message = draw(st.sampled_from(['"message"'] * 4 + ['"m\\u0065ssage"', '"other"']))
    body = "{" + head + f'"event_type": {event_type}, {message}: {{{", ".join(fields)}}}}}'
    if not draw(st.integers(0, 5)):
        body = body.replace(": ", ":")  # compact JSON: no mark, parsed the slow way
    end = draw(
        st.sampled_from(["\r\n\r\n"] * 3 + ["\n\n", "", "\r\n\r\ndata: " + json.dumps(ANSWER)])
    )
    return ("data: " + body + end).encode()


# token texts: mostly words, so that the ids are in the final event only (the common case)
_TEXT = st.one_of(st.sampled_from(["Hi ", "there."]), st.sampled_from(["Hi "]), _VALUE)


@st.composite
def _recordings(draw: st.DrawFn) -> RecordedReply:
    tokens = [
        f'data: {{"event_type": "token", "text": {json.dumps(draw(_TEXT))}}}\r\n\r\n'.encode()
        for _ in range(draw(st.integers(0, 3)))
    ]
    final = [draw(_final_event())] if draw(st.integers(0, 5)) else []
    data = b"".join([*tokens, *final])
    # cuts where the events were, and anywhere (inside an id too); empty pieces included
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=6)))
    points = [0, *cuts, len(data)]
    pieces = [data[a:b] for a, b in itertools.pairwise(points)]
    if draw(st.booleans()):
        pieces = [*tokens, *final]
    times = draw(
        st.lists(st.floats(-1.0, 5.0, allow_nan=False), min_size=len(pieces), max_size=len(pieces))
    )
    chunks = tuple(Chunk(t, p) for t, p in zip(times, pieces, strict=True))
    ids = tuple(draw(st.lists(_RECORDED_IDS, min_size=0, max_size=3)))
    stream = RecordedResponse(status=200, body=data, chunks=chunks)
    return _reply_of(stream, ids, draw(st.sampled_from([CHAT, None, ""])))


_SETTINGS = st.builds(
    ReplaySettings,
    timing=st.sampled_from([Timing.instant(), Timing.exact(), Timing(2.5), Timing(0.5)]),
    rechunk_seed=st.sampled_from([None, None, 0, 7]),
)


@settings(max_examples=400)
@given(
    _recordings(),
    _LIVE_IDS,
    st.lists(_LIVE_IDS, max_size=4),
    _SETTINGS,
    _LIVE_IDS,
    st.lists(_LIVE_IDS, max_size=4),
)
def test_plans_are_the_reference_plans(
    reply: RecordedReply,
    live_chat: str,
    live_ids: list[str],
    replay: ReplaySettings,
    other_chat: str,
    other_ids: list[str],
) -> None:
    expected = _reference_plan(reply, live_chat, live_ids, replay)
    assert plan_reply(reply, live_chat, live_ids, replay) == expected
    library = ReplayLibrary([reply], replay)
    assert library.plan(reply, live_chat, live_ids) == expected
    # again from what the library worked out the first time, for the same and other live ids
    assert library.plan(reply, live_chat, live_ids) == expected
    other = _reference_plan(reply, other_chat, other_ids, replay)
    assert library.plan(reply, other_chat, other_ids) == other


def test_a_recording_without_chunks_plans_its_body() -> None:
    body = b'data: {"event_type": "message", "message": {"id": "id-1", "content": "Hi"}}\r\n\r\n'
    reply = _reply_of(RecordedResponse(status=200, body=body))
    replay = ReplaySettings(timing=Timing.exact())
    plan = ReplayLibrary([reply], replay).plan(reply, "c", ["id-2"])
    assert plan == _reference_plan(reply, "c", ["id-2"], replay)
    assert plan.content == "Hi"
    assert plan.pieces == (body.replace(b"id-1", b"id-2"),)


def test_an_id_in_the_content_is_rewritten_in_the_content() -> None:
    final = b'data: {"event_type": "message", "message": {"id": "id-1", "content": "id-1"}}\r\n\r\n'
    reply = _reply_of(RecordedResponse(status=200, body=final, chunks=(Chunk(0.0, final),)))
    library = ReplayLibrary([reply], ReplaySettings())
    assert library.plan(reply, "c", ["id-2"]).content == "id-2"
    assert library.plan(reply, "c", ['"']).content is None  # the live id broke the JSON


_HI = b'{"event_type": "message", "message": {"id": "ID-1", "content": "Hi"}}'


@pytest.mark.parametrize(
    ("final", "recorded", "live", "content"),
    [
        # the usual: an id as a whole value, replaced by a plain id; the recorded content
        (_HI, "ID-1", "n-2", "Hi"),
        # a live id that is no plain id breaks the JSON: no final event
        (_HI, "ID-1", 'q"q', None),
        # the id is a key: replaced by "content", it is the content
        (b'{"event_type": "message", "message": {"content": "Hi", "ID-1": "x"}}', "ID-1",
         "content", "x"),
        # the recorded id is the mark's "message": the live bytes have no final event
        (b'{"event_type": "message"}', "message", "other", None),
        # a live "message" makes a later mark, and the last "data: " before it is in the content
        (b'{"event_type": "message", "message": {"content": "data: x", "x": {"event_type": '
         b'"ID-1"}}}', "ID-1", "message", None),
    ],
)  # fmt: skip
def test_a_replacement_that_may_change_the_content_has_it_parsed_again(
    final: bytes, recorded: str, live: str, content: str | None
) -> None:
    data = b"data: " + final + b"\r\n\r\n"
    reply = _reply_of(
        RecordedResponse(status=200, body=data, chunks=(Chunk(0.0, data),)), (recorded,)
    )
    plan = ReplayLibrary([reply], ReplaySettings()).plan(reply, "c", [live])
    assert plan.content == content
    assert plan == _reference_plan(reply, "c", [live], ReplaySettings())


def test_a_last_piece_left_empty_is_dropped() -> None:
    token = b'data: {"event_type": "token", "text": "Hi"}\r\n\r\n'
    reply = _reply_of(
        RecordedResponse(status=200, chunks=(Chunk(0.0, token), Chunk(0.1, b"ID-1"))), ("ID-1",)
    )
    replay = ReplaySettings(timing=Timing.exact())
    plan = ReplayLibrary([reply], replay).plan(reply, "c", [""])
    assert plan.pieces == (token,)
    assert plan == _reference_plan(reply, "c", [""], replay)


def test_a_recorded_reply_is_neither_re_cut_nor_re_parsed_per_replay(monkeypatch) -> None:
    tokens = [f'data: {{"event_type": "token", "text": "{w}"}}\r\n\r\n'.encode() for w in "ab"]
    final = (
        f'data: {{"event_type": "message", "message": {{"id": "{ANSWER}", "parent_id": '
        f'"{PARENT}", "chat_id": "{CHAT}", "content": "ab"}}}}\r\n\r\n'
    ).encode()
    reply = _reply_of(
        RecordedResponse(
            status=200, chunks=tuple(Chunk(0.2 * i, p) for i, p in enumerate([*tokens, final]))
        ),
        (PARENT, ANSWER),
        chat_id=CHAT,
    )
    library = ReplayLibrary([reply], ReplaySettings(timing=Timing.exact()))
    library.plan(reply, "c-0", ["p-0", "a-0"])  # works out the recording's part

    def fail(*args: object) -> None:
        raise AssertionError("worked out again")

    monkeypatch.setattr(_replay, "_final_content", fail)
    monkeypatch.setattr(_replay, "splice", fail)
    monkeypatch.setattr(_replay, "find_edits", fail)
    plan = library.plan(reply, "c-1", ["p-2", "a-1"])
    assert plan.content == "ab"
    assert plan.pieces[:2] == tuple(tokens)
    assert plan.pieces[0] is tokens[0]  # the recorded bytes, not a copy
    assert plan.pieces[2] == final.replace(ANSWER.encode(), b"a-1").replace(
        PARENT.encode(), b"p-2"
    ).replace(CHAT.encode(), b"c-1")


def test_live_ids_that_drop_a_piece_get_the_delays_of_their_pieces() -> None:
    token = b'data: {"event_type": "token", "text": "Hi"}\r\n\r\n'
    pieces = [token, b"ID-1", token, b"ID-1"]
    reply = _reply_of(
        RecordedResponse(status=200, chunks=tuple(Chunk(0.5 * i, p) for i, p in enumerate(pieces))),
        ("ID-1",),
    )
    replay = ReplaySettings(timing=Timing.exact())
    library = ReplayLibrary([reply], replay)
    for live in ("n-1", "", "n-2"):  # "" drops the pieces that were the id alone
        assert library.plan(reply, "c", [live]) == _reference_plan(reply, "c", [live], replay)
    assert len(library.plan(reply, "c", [""]).delays) == 2
