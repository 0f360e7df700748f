"""The docs runner itself, on pages of its own: it must fail on a broken block, keep the order
and the shared directory, check fragments, and stop background servers when a page ends."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from _blocks import BlockFailed, parse_blocks, run_blocks, select_blocks

FENCE = "```"


def page(*blocks: tuple[str, str]) -> str:
    parts = ["# A page\n"]
    for info, code in blocks:
        parts.append(f"Some words.\n\n{FENCE}{info}\n{code.rstrip()}\n{FENCE}\n")
    return "\n".join(parts)


def test_a_broken_python_block_fails_the_page_naming_its_line(tmp_path: Path) -> None:
    text = page(
        ("python", "print('fine')"),
        ("python", "import json\njson.loads('{broken')"),
        ("python", "open('never-reached', 'w').close()"),
    )
    with pytest.raises(BlockFailed) as failed:
        run_blocks(parse_blocks(text, "broken.md"), tmp_path)
    message = str(failed.value)
    fences = [n for n, line in enumerate(text.splitlines(), 1) if line == FENCE + "python"]
    assert f"broken.md:{fences[1]} " in message  # the second block's opening fence
    assert "JSONDecodeError" in message
    assert not (tmp_path / "page" / "never-reached").exists()  # it stops at the first failure


def test_a_broken_shell_block_fails_under_bash_e(tmp_path: Path) -> None:
    text = page(("sh", "false\necho not reached"))
    with pytest.raises(BlockFailed, match="exit 1"):
        run_blocks(parse_blocks(text, "sh.md"), tmp_path)


def test_blocks_run_in_order_in_one_directory_with_the_venv_first(tmp_path: Path) -> None:
    text = page(
        ("python", "open('note.txt', 'w').write('from python')"),
        ("sh", 'test "$(cat note.txt)" = "from python"\ncommand -v python > which.txt'),
        ("python", "assert open('which.txt').read().strip()"),
    )
    ran = run_blocks(parse_blocks(text, "order.md"), tmp_path)
    assert [b.lang for b in ran] == ["python", "sh", "python"]
    venv_bin = Path(sys.executable).parent
    assert (tmp_path / "page" / "which.txt").read_text().strip() == str(venv_bin / "python")


def test_fragments_are_compiled_not_run(tmp_path: Path) -> None:
    good = page(
        ("python fragment", "async with server: ...\nraise SystemExit(3)"),
        ("sh fragment", "exit 3"),
    )
    # `async with` at top level is allowed in a fragment: it is a partial snippet.
    assert len(run_blocks(parse_blocks(good, "f.md"), tmp_path)) == 2
    with pytest.raises(BlockFailed, match="does not compile"):
        run_blocks(parse_blocks(page(("python fragment", "def broken(:")), "f.md"), tmp_path)
    with pytest.raises(BlockFailed, match="bash -n"):
        run_blocks(parse_blocks(page(("sh fragment", "if then fi (")), "f.md"), tmp_path)


def test_background_blocks_are_stopped_when_the_page_ends(tmp_path: Path) -> None:
    text = page(
        ("sh background", "echo $$ > server.pid\nexec sleep 300"),
        ("sh", "for _ in $(seq 50); do test -s server.pid && exit 0; sleep 0.1; done; exit 1"),
    )
    run_blocks(parse_blocks(text, "bg.md"), tmp_path)
    pid = int((tmp_path / "page" / "server.pid").read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_background_block_that_failed_fails_the_page(tmp_path: Path) -> None:
    text = page(
        ("sh background", "echo cannot listen >&2\nexit 3"),
        ("sh", "sleep 0.5"),
    )
    with pytest.raises(BlockFailed, match="background block exited 3"):
        run_blocks(parse_blocks(text, "bgfail.md"), tmp_path)


@pytest.mark.parametrize("info", ["sh background", "sh"])
def test_what_a_block_leaves_running_is_stopped_with_it(tmp_path: Path, info: str) -> None:
    # a child of the block's shell, not the shell itself: it must end too
    text = page(
        (info, "sleep 300 &\necho $! > child.pid\nsleep 0.2"),
        ("sh", "for _ in $(seq 50); do test -s child.pid && exit 0; sleep 0.1; done; exit 1"),
    )
    run_blocks(parse_blocks(text, "child.md"), tmp_path)
    pid = int((tmp_path / "page" / "child.pid").read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_data_blocks_are_not_run_and_bare_fences_are_refused() -> None:
    blocks = parse_blocks(page(("text", "exit 1"), ("json", "{}"), ("python needs=g4f", "1")))
    assert [(b.runnable, b.group) for b in blocks] == [(False, None), (False, None), (True, "g4f")]
    with pytest.raises(ValueError, match="without a language"):
        parse_blocks(f"{FENCE}\nls\n{FENCE}\n", "bare.md")


def test_indented_blocks_in_lists_are_dedented(tmp_path: Path) -> None:
    text = f"- item:\n\n  {FENCE}python\n  if True:\n      print('ok')\n  {FENCE}\n"
    (block,) = parse_blocks(text)
    assert block.code == "if True:\n    print('ok')\n"
    run_blocks([block], tmp_path)


def test_a_file_block_is_saved_for_the_blocks_after_it(tmp_path: Path) -> None:
    text = page(
        ("python file=pkg/test_saved.py", "def test_one():\n    assert 1 + 1 == 3"),
        ("sh", "python -m pytest -q -p no:cacheprovider pkg/test_saved.py"),
    )
    with pytest.raises(BlockFailed, match=r"FAILED pkg/test_saved\.py::test_one"):  # it ran
        run_blocks(parse_blocks(text, "file.md"), tmp_path)
    assert (tmp_path / "page" / "pkg" / "test_saved.py").read_text().startswith("def test_one")


def test_a_group_s_blocks_run_only_in_that_group_s_run() -> None:
    blocks = parse_blocks(
        page(("python", "1"), ("python needs=g4f", "2"), ("sh needs=browser", "3"), ("sh", "4"))
    )
    assert [b.code.strip() for b in select_blocks(blocks, None)] == ["1", "4"]
    assert [b.code.strip() for b in select_blocks(blocks, "g4f")] == ["1", "2", "4"]
    assert [b.code.strip() for b in select_blocks(blocks, "browser")] == ["1", "3", "4"]
