"""The arguments gpt4free users pass reach the server as oa_provider's: cookies in each form
gpt4free users hold them, sampling options, gpt4free's own names; bad ones refused before any
request."""

from __future__ import annotations

import http.cookiejar
import json
from pathlib import Path
from typing import Any

import g4f
import g4f.cookies
import pytest
from _g4f_checks import HELLO, ME, run
from g4f.client import Client

import oa_provider as oa
from oa_g4f import OpenAssistant
from oa_mockserver import ThreadedMockServer
from oa_mockserver._server.auth import web_user

pytestmark = pytest.mark.g4f

TOKEN = "g4f-user"


def _create(server: ThreadedMockServer, **kwargs: Any) -> str:
    kwargs.setdefault("messages", HELLO)
    text = g4f.ChatCompletion.create(
        model="", provider=OpenAssistant, base_url=server.url, **kwargs
    )
    assert isinstance(text, str)
    assert text
    return text


def _as_user(server: ThreadedMockServer, token: str) -> None:
    """Assert the call was made as the user of session token ``token``. The journal redacts
    cookies, so the chat is kept (``keep_chat=True``) and its owner compared: the mock keys
    each user by a hash of the session cookie's value."""
    __tracebackhide__ = True
    [chat] = server.chats()
    assert chat.owner == web_user({"next-auth.session-token": token})


@pytest.mark.parametrize(
    "cookies",
    [
        pytest.param({"next-auth.session-token": TOKEN}, id="dict"),
        pytest.param(f"theme=dark; next-auth.session-token={TOKEN}", id="cookie-header"),
    ],
)
def test_cookies_as_dict_or_header(oa_mockserver: ThreadedMockServer, cookies: Any) -> None:
    _create(oa_mockserver, cookies=cookies, keep_chat=True)
    _as_user(oa_mockserver, TOKEN)


def _cookies_txt(tmp_path: Path, host: str) -> Path:
    path = tmp_path / "cookies.txt"
    path.write_text(
        "# Netscape HTTP Cookie File\n"
        f"{host}\tFALSE\t/\tFALSE\t0\tnext-auth.session-token\t{TOKEN}\n"
        "example.org\tFALSE\t/\tFALSE\t0\tother\tx\n"
    )
    return path


@pytest.mark.parametrize("as_str", [True, False], ids=["str-path", "pathlike"])
def test_cookies_as_a_cookies_txt_path(
    oa_mockserver: ThreadedMockServer, tmp_path: Path, as_str: bool
) -> None:
    path = _cookies_txt(tmp_path, "127.0.0.1")

    _create(oa_mockserver, cookies=str(path) if as_str else path, keep_chat=True)

    _as_user(oa_mockserver, TOKEN)


@pytest.mark.parametrize("as_str", [True, False], ids=["str-path", "pathlike"])
def test_cookies_as_a_har_path(
    oa_mockserver: ThreadedMockServer, tmp_path: Path, as_str: bool
) -> None:
    path = tmp_path / "session.har"
    entry = {
        "request": {
            "url": f"{oa_mockserver.url}/api/chat",
            "cookies": [{"name": "next-auth.session-token", "value": TOKEN}],
        }
    }
    path.write_text(json.dumps({"log": {"version": "1.2", "entries": [entry]}}))

    _create(oa_mockserver, cookies=str(path) if as_str else path, keep_chat=True)

    _as_user(oa_mockserver, TOKEN)


def test_a_cookies_txt_without_the_host_names_the_file(
    oa_mockserver: ThreadedMockServer, tmp_path: Path
) -> None:
    path = _cookies_txt(tmp_path, "open-assistant.io")
    with pytest.raises(g4f.errors.MissingAuthError, match=r"cookies\.txt: no cookie for 127"):
        _create(oa_mockserver, cookies=path)
    assert oa_mockserver.journal.calls == []


def test_a_broken_cookies_txt_is_missing_auth_naming_the_line(
    oa_mockserver: ThreadedMockServer, tmp_path: Path
) -> None:
    path = tmp_path / "cookies.txt"
    path.write_text(f"127.0.0.1\tFALSE\t/\tnext-auth.session-token\t{TOKEN}\n")
    with pytest.raises(g4f.errors.MissingAuthError) as caught:
        _create(oa_mockserver, cookies=path)
    assert "line 1 has 5 tab-separated fields" in str(caught.value)
    assert TOKEN not in str(caught.value)


def test_a_cookie_jar(oa_mockserver: ThreadedMockServer) -> None:
    jar = http.cookiejar.CookieJar()
    jar.set_cookie(
        http.cookiejar.Cookie(
            0, "next-auth.session-token", TOKEN, None, False, "127.0.0.1", True, False, "/",
            True, False, None, True, None, None, {},
        )
    )
    _create(oa_mockserver, cookies=jar, keep_chat=True)
    _as_user(oa_mockserver, TOKEN)


def test_a_str_that_is_neither_header_nor_file_is_refused_without_quoting_it(
    oa_mockserver: ThreadedMockServer,
) -> None:
    with pytest.raises(ValueError, match="neither a Cookie header") as caught:
        _create(oa_mockserver, cookies="s3cr3t-token-without-a-name")
    assert "s3cr3t" not in str(caught.value)
    assert oa_mockserver.journal.calls == []


def test_api_key_is_the_session_token(oa_mockserver: ThreadedMockServer) -> None:
    """Client(api_key=...) is how gpt4free users hand a provider its secret."""
    client = Client(provider=OpenAssistant, api_key=TOKEN, base_url=oa_mockserver.url)
    response = client.chat.completions.create(messages=HELLO, keep_chat=True)
    assert response.choices[0].message.content
    _as_user(oa_mockserver, TOKEN)


def test_api_key_over_https_uses_the_secure_cookie_name() -> None:
    from oa_g4f._kwargs import session_cookie

    assert session_cookie("t", "https://example.org") == {"__Secure-next-auth.session-token": "t"}
    assert session_cookie("t", "http://127.0.0.1:1") == {"next-auth.session-token": "t"}


def test_openassistant_api_key_variable_reaches_the_client(
    oa_mockserver: ThreadedMockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """gpt4free's client reads <PROVIDER>_API_KEY for a provider that needs_auth."""
    monkeypatch.setenv("OPENASSISTANT_API_KEY", TOKEN)
    client = Client(provider=OpenAssistant, base_url=oa_mockserver.url)
    response = client.chat.completions.create(messages=HELLO, keep_chat=True)
    assert response.choices[0].message.content
    _as_user(oa_mockserver, TOKEN)


def test_cookies_gpt4free_holds_for_the_host(oa_mockserver: ThreadedMockServer) -> None:
    g4f.cookies.set_cookies("127.0.0.1", {"next-auth.session-token": TOKEN})
    _create(oa_mockserver, keep_chat=True)
    _as_user(oa_mockserver, TOKEN)


def test_explicit_cookies_win_over_api_key(oa_mockserver: ThreadedMockServer) -> None:
    """The cookies given are sent alone: without the session cookie the server refuses."""
    with pytest.raises(g4f.errors.MissingAuthError, match="403"):
        _create(oa_mockserver, cookies={"theme": "dark"}, api_key=TOKEN)
    oa_mockserver.assert_no_chats_left()


def test_sampling_options_and_gpt4free_names(oa_mockserver: ThreadedMockServer) -> None:
    _create(
        oa_mockserver, cookies=ME, temperature=0.5, top_p=0.9, top_k=20, max_tokens=12,
        repetition_penalty=1.1, stream_timeout=30, timeout=10,
    )
    [call] = [c for c in oa_mockserver.journal.calls if c.step == "assistant_message"]
    assert call.json["sampling_parameters"] == {
        "top_k": 20, "top_p": 0.9, "typical_p": None, "temperature": 0.5,
        "repetition_penalty": 1.1, "max_new_tokens": 12,
    }


def test_a_preset_passes_through(oa_mockserver: ThreadedMockServer) -> None:
    _create(oa_mockserver, cookies=ME, preset="k50-Precise")
    [call] = [c for c in oa_mockserver.journal.calls if c.step == "assistant_message"]
    assert call.json["sampling_parameters"] == dict(oa.SAMPLING_PRESETS["k50-Precise"])


def test_keep_chat_passes_through(oa_mockserver: ThreadedMockServer) -> None:
    _create(oa_mockserver, cookies=ME, keep_chat=True)
    assert len(oa_mockserver.chats()) == 1  # kept, as asked


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        pytest.param({"temprature": 0.5}, TypeError, "unknown argument 'temprature'", id="typo"),
        pytest.param({"frequency_penalty": 1}, TypeError, "unknown argument", id="unsupported"),
        pytest.param(
            {"max_tokens": 5, "max_new_tokens": 5}, TypeError, "not both", id="both-names"
        ),
        pytest.param({"temperature": -1}, ValueError, "temperature", id="bad-value"),
        pytest.param({"media": [("data:image/png;base64,AA", "a.png")]}, ValueError,
                     "text only", id="image"),
    ],
)
def test_bad_arguments_fail_before_any_request(
    oa_mockserver: ThreadedMockServer, kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        _create(oa_mockserver, cookies=ME, **kwargs)
    assert oa_mockserver.journal.calls == []


def test_gpt4free_message_forms(oa_mockserver: ThreadedMockServer) -> None:
    """OpenAI's 'developer' role and lists of text parts, as gpt4free passes them on."""
    messages = [
        {"role": "developer", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Hello "},
                                     {"type": "text", "text": "there"}], "name": "ada"},
    ]
    _create(oa_mockserver, cookies=ME, messages=messages)
    [prompter] = [c for c in oa_mockserver.journal.calls if c.step == "prompter_message"]
    [assistant] = [c for c in oa_mockserver.journal.calls if c.step == "assistant_message"]
    assert prompter.json["content"] == "Hello there"
    assert assistant.json["system_prompt"] == "Be brief."


@pytest.mark.parametrize(
    ("messages", "match"),
    [
        pytest.param([{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}],
                     "'image_url' part", id="image-part"),
        pytest.param([{"role": "tool", "content": "42"}], r"messages\[0\]\['role'\]", id="tool"),
        pytest.param("hello", "must be a list", id="a-str"),
    ],
)
def test_messages_oa_cannot_send_are_refused(
    oa_mockserver: ThreadedMockServer, messages: Any, match: str
) -> None:
    async def call() -> None:
        async for _ in OpenAssistant.create_async_generator(
            model="", messages=messages, base_url=oa_mockserver.url, cookies=ME
        ):
            pass

    with pytest.raises((TypeError, ValueError), match=match):
        run(call)
    assert oa_mockserver.journal.calls == []
