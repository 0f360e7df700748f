"""``oa-chat``: streaming, --json, options, exit codes, and the embedded mock server demo."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from _fakes import SESSION, FakeSite, Reply

from oa_mockserver import MockServer, ServerConfig
from oa_provider._cli import main

ROOT = Path(__file__).resolve().parents[2]
SEED_PROMPT = "Привет, как дела?"


@pytest.fixture
def cookie_file(tmp_path: Path) -> Path:
    ((name, value),) = SESSION.items()
    path = tmp_path / "cookies.txt"
    path.write_text(
        f"# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t0\t{name}\t{value}\n"
    )
    return path


async def run_cli(*argv: str) -> int:
    # main() runs its own event loop: give it a thread, the fake site keeps this loop.
    return await asyncio.to_thread(main, list(argv))


@pytest.mark.asyncio
async def test_streams_the_reply(
    site: FakeSite, cookie_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await run_cli(SEED_PROMPT, "--base-url", site.url, "--cookie-file", str(cookie_file))
    out, err = capsys.readouterr()
    assert (code, out, err) == (0, "Hello, world!\n", "")
    assert site.paths()[-1] == "DELETE /api/chat"
    assert site.calls[1].json["content"] == SEED_PROMPT


def test_a_missing_cookie_file_error_names_the_flag_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OA_COOKIE_FILE", raising=False)
    missing = tmp_path / "nope.txt"
    code = main(["--cookie-file", str(missing), "--base-url", "http://127.0.0.1:9", "hi"])
    err = capsys.readouterr().err
    assert code == 1
    assert f"--cookie-file names {missing}, which does not exist" in err
    assert "OA_COOKIE_FILE" not in err


@pytest.mark.asyncio
@pytest.mark.parametrize("variable", ["OA_COOKIES", "OA_HAR_FILE"])
async def test_the_cookie_file_flag_wins_over_the_cookie_variables(
    site: FakeSite,
    cookie_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    variable: str,
) -> None:
    if variable == "OA_COOKIES":
        monkeypatch.setenv(variable, "next-auth.session-token=someone-else")
    else:
        har = tmp_path / "other.har"
        entry = {
            "request": {
                "url": f"{site.url}/api/chat",
                "cookies": [{"name": "next-auth.session-token", "value": "someone-else"}],
            }
        }
        har.write_text(json.dumps({"log": {"version": "1.2", "entries": [entry]}}))
        monkeypatch.setenv(variable, str(har))
    code = await run_cli("hi", "--base-url", site.url, "--cookie-file", str(cookie_file))
    assert code == 0
    assert site.calls[0].headers["Cookie"] == "; ".join(f"{k}={v}" for k, v in SESSION.items())


@pytest.mark.asyncio
async def test_options_reach_the_request(
    site: FakeSite, cookie_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await run_cli(
        "hi",
        "--base-url",
        site.url,
        "--cookie-file",
        str(cookie_file),
        "--model",
        "OA_SFT_Llama2_70B_10",
        "--preset",
        "k50-Precise",
        "--system",
        "Be brief.",
    )
    assert code == 0
    body = site.calls[2].json
    assert body["model_config_name"] == "OA_SFT_Llama2_70B_10"
    assert body["sampling_parameters"]["temperature"] == 0.1
    assert body["system_prompt"] == "Be brief."
    assert site.calls[1].json["content"] == "hi"


@pytest.mark.asyncio
async def test_json_prints_typed_events(
    site: FakeSite, cookie_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await run_cli("hi", "--json", "--base-url", site.url, "--cookie-file", str(cookie_file))
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0
    assert [e["event_type"] for e in lines] == ["token"] * 4 + ["message"]
    assert lines[-1]["message"]["content"] == "Hello, world!"


@pytest.mark.asyncio
async def test_server_error_is_one_line_and_exit_1(
    site: FakeSite, cookie_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site.replies[("POST", "/api/chat/assistant_message")] = Reply(503, '{"message":"busy"}')
    code = await run_cli("hi", "--base-url", site.url, "--cookie-file", str(cookie_file))
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1
    assert err.startswith("oa-chat: ServerBusyError:")
    assert "Traceback" not in err
    assert site.paths()[-1] == "DELETE /api/chat"


@pytest.mark.asyncio
async def test_verbose_logs_steps_and_shows_the_traceback(
    site: FakeSite, cookie_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site.replies[("POST", "/api/chat/prompter_message")] = Reply(413)
    code = await run_cli("hi", "-v", "--base-url", site.url, "--cookie-file", str(cookie_file))
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" in err
    assert SESSION["next-auth.session-token"] not in err


@pytest.mark.asyncio
async def test_base_url_without_credentials_is_an_error(
    site: FakeSite, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await run_cli("hi", "--base-url", site.url)
    err = capsys.readouterr().err
    assert code == 1
    assert "MissingCredentialsError" in err
    assert "OA_COOKIES" in err
    assert site.calls == []


@pytest.mark.parametrize(
    "argv", [[], ["hi", "--preset", "k50-precise"], ["hi", "--base-url", "ftp://x"]]
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "Traceback" not in capsys.readouterr().err


def _demo_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OA_")}
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def test_the_readme_command_chats_with_the_embedded_mock_server() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "oa_provider", SEED_PROMPT],
        cwd=ROOT,
        env=_demo_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("\n") == 1
    assert "embedded mock server at http://127.0.0.1:" in result.stderr
    assert result.stdout.strip()


def _start_verbose_demo_chat() -> subprocess.Popen[bytes]:
    """``oa-chat SEED_PROMPT -v`` against the embedded demo server, its output piped."""
    return subprocess.Popen(
        [sys.executable, "-m", "oa_provider", SEED_PROMPT, "-v"],
        cwd=ROOT,
        env=_demo_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_ctrl_c_deletes_the_chat_and_exits_130() -> None:
    process = _start_verbose_demo_chat()
    assert process.stdout is not None
    process.stdout.read(1)  # the reply has started streaming
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    text = err.decode()
    assert process.returncode == 130, text
    assert "DELETE /api/chat -> 200" in text
    assert text.rstrip().endswith("oa-chat: interrupted")


def test_record_then_replay_without_the_network(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cassette = tmp_path / "chats" / "hello.yaml"
    assert main(["--record", str(cassette), "hello there"]) == 0
    recorded = capsys.readouterr()
    assert f"recorded the conversation to {cassette}" in recorded.err
    text = cassette.read_text(encoding="utf-8")
    assert "oa-chat-demo" not in text  # the session cookie was redacted at record time
    assert 'next-auth.session-token="REDACTED"' in text

    # Replay: a port where nothing listens, and vcrpy answers from the cassette.
    monkeypatch.setenv("OA_COOKIES", "next-auth.session-token=someone-else")
    code = main(
        ["--record", str(cassette), "--record-mode", "none",
         "--base-url", "http://127.0.0.1:9", "hello there"]
    )  # fmt: skip
    replayed = capsys.readouterr()
    assert code == 0, replayed.err
    assert replayed.out == recorded.out
    assert f"replayed the conversation from {cassette}" in replayed.err
    assert "recorded" not in replayed.err


def test_a_missing_cassette_is_named_missing_with_its_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code = main(["--record", "never-recorded.yaml", "--record-mode", "none", "hi"])
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" not in err
    assert "the cassette never-recorded.yaml does not exist" in err
    assert str(tmp_path / "never-recorded.yaml") in err
    assert "no recorded request matching" not in err
    assert err.strip().splitlines()[-1].startswith("oa-chat: RecordingError: the cassette")
    assert not (tmp_path / "never-recorded.yaml").exists()


def test_a_replay_that_cannot_match_is_one_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cassette = tmp_path / "hello.yaml"
    assert main(["--record", str(cassette), "hello there"]) == 0
    capsys.readouterr()
    code = main(["--record", str(cassette), "--record-mode", "none", "another prompt"])
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" not in err
    assert f"the cassette {cassette} has no recorded request matching this chat" in err
    assert err.strip().splitlines()[-1].startswith("oa-chat: RecordingError: the cassette")


@pytest.mark.asyncio
async def test_ctrl_c_lands_while_tokens_flow_flat_out() -> None:
    # On Python 3.10 and 3.11 a Ctrl-C used to be swallowed while tokens arrived back to back:
    # the reply ran on to its end. The bound tells "landed" from "ran to the end" (~30 s).
    huge = 3_000_000
    config = ServerConfig(token_interval=0.0, first_token_delay=0.0, reply_tokens=huge)
    async with MockServer(config) as server:
        env = {**_demo_env(), "OA_COOKIES": "next-auth.session-token=ctrl-c"}
        process = await asyncio.create_subprocess_exec(
            *[sys.executable, "-m", "oa_provider", "hi", "--base-url", server.url],
            *["--max-new-tokens", str(huge)],
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert process.stdout is not None
        received = 0
        while received < 200_000:  # the reply streams flat out
            chunk = await process.stdout.read(65536)
            assert chunk, "the reply ended before the interrupt"
            received += len(chunk)
        process.send_signal(signal.SIGINT)
        ending = asyncio.ensure_future(process.communicate())
        done, _ = await asyncio.wait({ending}, timeout=15)
        if not done:
            process.kill()
            await ending
            pytest.fail("Ctrl-C did not land: the reply ran on")
        _, err = ending.result()
        text = err.decode()
        assert process.returncode == 130, text
        assert text.rstrip().endswith("oa-chat: interrupted")
        assert "Traceback" not in text
        assert server.chats() == [], "the chat is deleted before exiting"


def test_a_reader_that_stops_early_ends_it_quietly() -> None:
    # oa-chat "..." | head -c 20
    process = _start_verbose_demo_chat()
    with process:
        assert process.stdout is not None
        assert process.stderr is not None
        assert len(process.stdout.read(20)) == 20
        process.stdout.close()
        err = process.stderr.read().decode()
        process.wait(timeout=30)
    assert "Traceback" not in err
    assert "Exception ignored" not in err
    assert "could not delete chat" not in err
    assert "DELETE /api/chat -> 200" in err, "deleted while the embedded server still ran"
    assert process.returncode == 141


def test_ctrl_c_while_python_is_still_importing_prints_no_traceback(tmp_path: Path) -> None:
    # Run the console script's own code (as pip generates it) with an import that stalls, and
    # interrupt it there: the package is still importing.
    (entry,) = entry_points(group="console_scripts", name="oa-chat")
    module, _, function = entry.value.partition(":")
    script = (
        "import sys, time\n"
        "class Stall:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'aiohttp':\n"
        "            sys.meta_path.remove(self)\n"
        "            sys.stderr.write('importing\\n'); sys.stderr.flush()\n"
        "            time.sleep(60)\n"
        "        return None\n"
        "sys.meta_path.insert(0, Stall())\n"
        f"from {module} import {function}\n"
        f"sys.exit({function}())\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script, "hi"],
        cwd=tmp_path,
        env=_demo_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stderr is not None
    assert process.stderr.readline() == b"importing\n"
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    text = err.decode()
    assert "Traceback" not in text
    assert text.strip() == "oa-chat: interrupted"
    assert process.returncode == 130
