"""HAR → cassette (oa_mockserver.recording._har): what is kept, how streams are cut and timed, what
is redacted, and (property) that a HAR of any conversation becomes a cassette that replays it."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oa_mockserver import HarEntryError, HarError
from oa_mockserver.recording import (
    REDACTED,
    dump_cassette,
    har_to_cassette,
    load_cassette,
    parse_cassette,
    run_lint,
    save_cassette,
)
from oa_mockserver.recording._har import parse_har, split_events
from oa_mockserver.recording._match import request_fields
from oa_mockserver.recording._replay import ReplayLibrary, plan_reply
from oa_mockserver.recording._timing import ReplaySettings

HOST = "127.0.0.1:8123"
SITE = f"http://{HOST}"
START = "2026-11-24T12:00:00.000Z"


# --- a HAR as a browser writes it --------------------------------------------------------------


def header_list(headers: dict[str, str]) -> list[dict[str, str]]:
    return [{"name": k, "value": v} for k, v in headers.items()]


def entry(
    method: str,
    url: str,
    *,
    status: int = 200,
    request_body: str | None = None,
    response_body: str = "",
    content_type: str = "application/json",
    base64_body: bool = False,
    started: str = START,
    receive: float = 1.0,
    request_headers: dict[str, str] | None = None,
    response_headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One HAR 1.2 entry (the fields Chromium and Playwright write)."""
    request: dict[str, Any] = {
        "method": method,
        "url": url,
        "httpVersion": "HTTP/1.1",
        "cookies": [{"name": "next-auth.session-token", "value": "s3cr3t-session"}],
        "headers": header_list(
            {
                "Host": HOST,
                "Cookie": "next-auth.session-token=s3cr3t-session",
                "Accept": "*/*",
                **(request_headers or {}),
            }
        ),
        "queryString": [],
        "headersSize": -1,
        "bodySize": len(request_body or ""),
    }
    if request_body is not None:
        request["postData"] = {"mimeType": "application/json", "text": request_body}
    content: dict[str, Any] = {"size": len(response_body.encode()), "mimeType": content_type}
    if base64_body:
        content["text"] = base64.b64encode(response_body.encode()).decode()
        content["encoding"] = "base64"
    else:
        content["text"] = response_body
    return {
        "startedDateTime": started,
        "time": 2 + receive,
        "request": request,
        "response": {
            "status": status,
            "statusText": "OK" if status == 200 else "",
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": header_list(
                {
                    "content-type": content_type,
                    "transfer-encoding": "chunked",
                    "content-encoding": "gzip",
                    ":status": str(status),
                    **(response_headers or {}),
                }
            ),
            "content": content,
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": -1,
        },
        "cache": {},
        "timings": {"send": 0.1, "wait": 1.0, "receive": receive},
    }


def har(entries: list[dict[str, Any]], version: str = "1.2") -> dict[str, Any]:
    return {
        "log": {"version": version, "creator": {"name": "test", "version": "1"}, "entries": entries}
    }


def event(payload: dict[str, Any], end: str = "\r\n\r\n") -> str:
    return f"data: {json.dumps(payload)}{end}"


def conversation_entries(
    prompts: list[str],
    replies: list[list[str]],
    *,
    ends: str = "\r\n\r\n",
    base64_body: bool = False,
) -> tuple[list[dict[str, Any]], list[list[str]], list[str]]:
    """A browser's HAR entries of one chat: create, then per turn prompter, assistant and events
    (tokens, then the final message), then delete. Returns the entries, each turn's events, and
    the ids in order (chat, then prompter and assistant per turn)."""
    chat = str(uuid.uuid4())
    ids = [chat]
    entries = [
        entry("POST", f"{SITE}/api/chat", response_body=json.dumps({"id": chat, "title": None}))
    ]
    streams = []
    parent = None
    for prompt, tokens in zip(prompts, replies, strict=True):
        prompter, assistant = str(uuid.uuid4()), str(uuid.uuid4())
        ids += [prompter, assistant]
        body = {"chat_id": chat, "content": prompt, "parent_id": parent}
        answer = {"id": prompter, "parent_id": parent, "content": prompt, "chat_id": chat}
        entries.append(
            entry(
                "POST",
                f"{SITE}/api/chat/prompter_message",
                request_body=json.dumps(body, ensure_ascii=False),
                response_body=json.dumps(answer, ensure_ascii=False),
            )
        )
        ask = {
            "chat_id": chat,
            "parent_id": prompter,
            "model_config_name": "OA_SFT_Llama_30B_6",
            "sampling_parameters": {"top_k": 50, "temperature": 0.35},
            "plugins": [],
        }
        entries.append(
            entry(
                "POST",
                f"{SITE}/api/chat/assistant_message",
                request_body=json.dumps(ask),
                response_body=json.dumps({"id": assistant, "chat_id": chat, "state": "pending"}),
            )
        )
        final = {
            "id": assistant,
            "parent_id": prompter,
            "chat_id": chat,
            "content": "".join(tokens),
        }
        events = [event({"event_type": "token", "text": t}, ends) for t in tokens]
        events.append(event({"event_type": "message", "message": final}, ends))
        streams.append(events)
        entries.append(
            entry(
                "GET",
                f"{SITE}/api/chat/events?chat_id={chat}&message_id={assistant}",
                response_body="".join(events),
                content_type="text/event-stream; charset=utf-8",
                base64_body=base64_body,
                receive=40.0,
            )
        )
        parent = assistant
    entries.append(entry("DELETE", f"{SITE}/api/chat?chat_id={chat}", content_type="x-unknown"))
    return entries, streams, ids


NOISE = [
    entry("GET", f"{SITE}/index.html", content_type="text/html", response_body="<html></html>"),
    entry("GET", "https://fonts.example.com/font.woff2", content_type="font/woff2"),
    entry("GET", f"{SITE}/api/auth/session", response_body="{}"),
    entry("POST", f"{SITE}/api/chat/vote", status=0),
]


# --- splitting an event stream -----------------------------------------------------------------

EVENT_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"))


@given(st.lists(EVENT_TEXT, min_size=1, max_size=8), st.sampled_from(["\r\n", "\n", "\r"]))
def test_split_events_gives_each_event_whole(lines: list[str], end: str) -> None:
    events = [f"data: {line}{end}{end}".encode() for line in lines]
    assert split_events(b"".join(events)) == events


@given(st.binary(max_size=200))
def test_split_events_pieces_join_to_the_body(body: bytes) -> None:
    pieces = split_events(body)
    assert b"".join(pieces) == body
    assert all(pieces)


def test_split_events_keeps_a_multi_line_event_and_a_tail_cut_short() -> None:
    body = b"event: x\r\ndata: a\r\ndata: b\r\n\r\n: ping\n\ndata: cut"
    assert split_events(body) == [
        b"event: x\r\ndata: a\r\ndata: b\r\n\r\n",
        b": ping\n\n",
        b"data: cut",
    ]


# --- what is kept, and how ---------------------------------------------------------------------


def test_only_the_chat_routes_of_one_host_are_kept_and_the_rest_counted() -> None:
    entries, _, _ = conversation_entries(["hi"], [["a ", "b"]])
    result = har_to_cassette(NOISE + entries)
    assert result.host == HOST
    assert result.imported == len(entries) == 5
    assert result.skipped == {"another host": 1, "another route": 2, "no response": 1}
    assert "skipped 4 entries" in result.summary()
    assert [i.request.path for i in result.cassette.interactions] == [
        "/api/chat",
        "/api/chat/prompter_message",
        "/api/chat/assistant_message",
        "/api/chat/events",
        "/api/chat",
    ]
    assert [len(e.interactions) for e in result.cassette.episodes] == [5]


def test_the_host_can_be_chosen() -> None:
    entries, _, _ = conversation_entries(["hi"], [["a"]])
    other = [
        dict(e, request=dict(e["request"], url=e["request"]["url"].replace(HOST, "b.test")))
        for e in entries
    ]
    result = har_to_cassette(entries + other, host="b.test")
    assert result.host == "b.test"
    assert result.imported == 5
    assert result.skipped == {"another host": 5}


def test_event_streams_become_one_chunk_per_event_spread_over_the_receive_time() -> None:
    entries, streams, _ = conversation_entries(["hi"], [["one ", "two ", "three"]])
    events = har_to_cassette(entries).cassette.interactions[3].response
    assert [c.data.decode() for c in events.chunks] == streams[0]
    offsets = [c.offset_s for c in events.chunks]
    assert offsets == sorted(offsets)
    assert offsets[-1] == pytest.approx(0.040)  # timings.receive: 40 ms
    assert offsets[0] == pytest.approx(0.010)
    plain = har_to_cassette(entries).cassette.interactions[1].response
    assert plain.chunks == ()


def test_without_timings_the_chunks_are_at_zero() -> None:
    entries, _, _ = conversation_entries(["hi"], [["a ", "b"]])
    for item in entries:
        del item["timings"]
    chunks = har_to_cassette(entries).cassette.interactions[3].response.chunks
    assert chunks
    assert {c.offset_s for c in chunks} == {0.0}


def test_entries_are_ordered_by_start_time() -> None:
    entries, _, _ = conversation_entries(["hi"], [["a"]])
    times = [f"2026-11-24T12:00:0{i}.000Z" for i in range(len(entries))]
    for item, moment in zip(entries, times, strict=True):
        item["startedDateTime"] = moment
    shuffled = entries[2:] + entries[:2]
    paths = [i.request.path for i in har_to_cassette(shuffled).cassette.interactions]
    assert paths[:2] == ["/api/chat", "/api/chat/prompter_message"]


def test_base64_bodies_are_decoded() -> None:
    entries, streams, _ = conversation_entries(["hi"], [["a ", "b"]], base64_body=True)
    response = har_to_cassette(entries).cassette.interactions[3].response
    assert response.body == "".join(streams[0]).encode()


def test_headers_lose_pseudo_hop_by_hop_and_encoding_and_secrets() -> None:
    entries, _, _ = conversation_entries(["hi"], [["a"]])
    entries[1]["request"]["headers"] += header_list(
        {
            "Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abcdefghij",
            ":authority": HOST,
        }
    )
    interaction = har_to_cassette(entries).cassette.interactions[1]
    names = [n.lower() for n, _ in interaction.request.headers]
    assert "host" not in names
    assert ":authority" not in names
    assert interaction.request.header("Authorization") == f"Bearer {REDACTED}"
    assert interaction.request.header("Cookie") == f'next-auth.session-token="{REDACTED}"'
    response_names = [n.lower() for n, _ in interaction.response.headers]
    assert response_names == ["content-type"]


def test_cookies_listed_apart_become_a_redacted_cookie_header() -> None:
    entries, _, _ = conversation_entries(["hi"], [["a"]])
    for item in entries:
        item["request"]["headers"] = [
            h for h in item["request"]["headers"] if h["name"] != "Cookie"
        ]
    request = har_to_cassette(entries).cassette.interactions[0].request
    assert request.header("Cookie") == f'next-auth.session-token="{REDACTED}"'


def test_secrets_in_bodies_are_redacted_and_the_result_lints_clean(tmp_path: Any) -> None:
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abcdefghijklmnop"
    entries, _, _ = conversation_entries([f"my key is ghp_{'a1B2' * 9}"], [[f"echo {token}"]])
    entries[0]["response"]["content"]["text"] = json.dumps({"id": "x", "access_token": "t0ps3cr3t"})
    cassette = har_to_cassette(entries).cassette
    text = tmp_path / "c.yaml"
    save_cassette(text, cassette)
    raw = text.read_text()
    for secret in ("s3cr3t-session", "t0ps3cr3t", token, "ghp_"):
        assert secret not in raw
    assert run_lint([text]) == []


# --- broken documents and entries --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{not json", "not JSON (line 1 column 2"),
        ("", "not JSON"),
        ("[]", "no 'log' object"),
        ('{"entries": []}', "no 'log' object"),
        ('{"log": {"version": "2.0", "entries": []}}', "HAR version '2.0' is not supported"),
        ('{"log": {"entries": []}}', "HAR version None"),
        ('{"log": {"version": "1.2"}}', "log.entries is missing"),
        ('{"log": {"version": "1.2", "entries": {}}}', "log.entries is missing or not a list"),
    ],
)
def test_a_broken_document_names_the_file_and_the_reason(text: str, reason: str) -> None:
    with pytest.raises(HarError) as caught:
        parse_har(text, "session.har")
    assert str(caught.value).startswith("session.har: ")
    assert reason in str(caught.value)
    assert not isinstance(caught.value, HarEntryError)


def test_bytes_that_are_not_utf8_are_refused() -> None:
    with pytest.raises(HarError, match=r"^s.har: not UTF-8"):
        parse_har(b'{"log": "\xff"}', "s.har")
    assert parse_har(b'\xef\xbb\xbf{"log": {"version": "1.2", "entries": []}}') == []


def _broken(change: Any) -> list[dict[str, Any]]:
    entries, _, _ = conversation_entries(["hi"], [["a ", "b"]])
    change(entries)
    return entries


@pytest.mark.parametrize(
    ("change", "index", "reason"),
    [
        (lambda e: e[1].pop("request"), 1, "request is missing, not an object"),
        (lambda e: e[2].pop("response"), 2, "response is missing"),
        (lambda e: e.__setitem__(0, "entry"), 0, "the entry is a str"),
        (lambda e: e[1]["request"].pop("url"), 1, "request.url must be a string"),
        (lambda e: e[1]["response"].__setitem__("status", "200"), 1, "response.status must be"),
        (lambda e: e[3].__setitem__("startedDateTime", "yesterday"), 3, "not an ISO 8601 date"),
        (lambda e: e[1]["request"].__setitem__("headers", {}), 1, "request.headers must be a list"),
        (
            lambda e: e[3]["response"]["content"].update(text="not base64!", encoding="base64"),
            3,
            "response.content.text is not valid base64",
        ),
        (
            lambda e: e[3]["response"]["content"].update(encoding="gzip"),
            3,
            "encoding 'gzip' is unknown",
        ),
        (lambda e: e[3]["response"]["content"].pop("text"), 3, "was not saved"),
    ],
)
def test_a_broken_entry_names_the_file_the_entry_and_the_reason(
    change: Any, index: int, reason: str
) -> None:
    with pytest.raises(HarEntryError) as caught:
        har_to_cassette(_broken(change), path="s.har")
    assert str(caught.value).startswith(f"s.har: entry {index}: ")
    assert reason in str(caught.value)
    assert caught.value.entry == index


def test_a_har_without_a_chat_route_is_refused() -> None:
    with pytest.raises(HarError, match=r"nothing to import.*4 entries"):
        har_to_cassette(NOISE, path="s.har")


# --- property: any conversation round-trips to a cassette that replays it ----------------------

PROMPT = st.text(
    st.sampled_from("abcdefghijklmnopqrstuvwxyz ABCXYZ0123456789.,!?'-éжß中"),
    min_size=1,
    max_size=30,
)
TOKEN = st.text(st.sampled_from("abcdefghij klmnop.,éж"), min_size=1, max_size=8)


@given(
    st.lists(st.tuples(PROMPT, st.lists(TOKEN, min_size=1, max_size=6)), min_size=1, max_size=3),
    st.sampled_from(["\r\n\r\n", "\n\n"]),
    st.booleans(),
    st.lists(st.sampled_from(NOISE), max_size=3),
    st.integers(min_value=1, max_value=2),
)
def test_a_har_of_any_conversation_becomes_a_cassette_that_replays_it(
    turns: list[tuple[str, list[str]]], ends: str, encoded: bool, noise: list[Any], chats: int
) -> None:
    prompts = [p for p, _ in turns]
    replies = [r for _, r in turns]
    entries: list[dict[str, Any]] = []
    streams: list[list[str]] = []
    all_ids: list[list[str]] = []
    for _ in range(chats):
        made, events, ids = conversation_entries(prompts, replies, ends=ends, base64_body=encoded)
        entries += made
        streams += events
        all_ids.append(ids)
    result = har_to_cassette(noise + entries)
    cassette = parse_cassette(dump_cassette(result.cassette))
    assert sum(result.skipped.values()) == len(noise)
    assert len(cassette.episodes) == chats
    assert [i.request.uri for i in cassette.interactions] == [e["request"]["url"] for e in entries]

    # the mock server's replay: each live assistant message matches its recording, and its
    # stream is the recorded events with the live ids in place of the recorded ones
    library = ReplayLibrary.from_cassettes([cassette], ReplaySettings())
    for chat in range(chats):
        live_chat = f"live-chat-{chat}"
        live_ids: list[str] = []
        for turn in range(len(prompts)):
            live_ids += [f"live-p{turn}", f"live-a{turn}"]
            body = {
                "chat_id": live_chat,
                "parent_id": live_ids[-2],
                "model_config_name": "OA_SFT_Llama_30B_6",
                "sampling_parameters": {"top_k": 50, "temperature": 0.35},
                "plugins": [],
            }
            fields = request_fields(
                "POST", "/api/chat/assistant_message", json.dumps(body), thread=prompts[: turn + 1]
            )
            reply, found = library.match(fields)
            assert reply is not None, found.explain()
            plan = plan_reply(reply, live_chat, live_ids, ReplaySettings())
            recorded = all_ids[chat]
            expected = "".join(streams[chat * len(prompts) + turn]).replace(recorded[0], live_chat)
            for old, new in zip(recorded[1 : 2 * turn + 3], live_ids, strict=True):
                expected = expected.replace(old, new)
            assert b"".join(plan.pieces).decode() == expected
            assert len(plan.pieces) == len(replies[turn]) + 1  # one piece per event
            assert plan.complete
            assert plan.content == "".join(replies[turn])


def test_an_imported_cassette_survives_a_save_and_load(tmp_path: Any) -> None:
    entries, _, _ = conversation_entries(["hi", "again"], [["a ", "b"], ["c"]])
    cassette = har_to_cassette(entries, source="x.har").cassette
    path = tmp_path / "x.yaml"
    save_cassette(path, cassette)
    loaded = load_cassette(path)
    assert loaded.interactions == cassette.interactions
    assert loaded.metadata == {"recorded_with": "oa-mockserver import-har", "source": "x.har"}


def test_a_password_in_a_url_never_reaches_the_host_or_the_cassette() -> None:
    entries, _, _ = conversation_entries(["hi"], [["a"]])
    for item in entries:
        item["request"]["url"] = item["request"]["url"].replace(HOST, f"me:pa55word@{HOST}")
    result = har_to_cassette(entries)
    assert result.host == HOST
    assert "pa55word" not in dump_cassette(result.cassette)
    with pytest.raises(HarError) as caught:
        har_to_cassette([entry("GET", "http://me:pa55word@x.test/")])
    assert "pa55word" not in str(caught.value)
    assert "x.test" in str(caught.value)


@pytest.mark.parametrize(
    "moments",
    [
        ["2026-11-24T12:00:01.5Z", "2026-11-24T12:00:00.1234567Z"],  # 1 and 7 digits (.NET)
        ["2026-11-24T13:00:01+01:00", "2026-11-24T12:00:00.000+00:00"],  # offsets (Firefox)
        ["2026-11-24T13:00:01.000+0100", "2026-11-24T12:00:00-0000"],  # offsets without a colon
    ],
)
def test_start_times_of_every_writer_are_read(moments: list[str]) -> None:
    entries, _, _ = conversation_entries(["hi"], [["a"]])
    first, second = entries[0], entries[1]
    first["startedDateTime"], second["startedDateTime"] = moments
    for item in entries[2:]:
        item["startedDateTime"] = "2026-11-24T12:00:05Z"
    paths = [i.request.path for i in har_to_cassette(entries).cassette.interactions]
    assert paths[:2] == ["/api/chat/prompter_message", "/api/chat"]
