"""Run a Markdown page's code blocks as pasted, in order (the docs convention of the preamble).

- ```` ```python ````: its own process (this venv's Python), cwd a temp dir the page's blocks share.
- ```` ```sh ````: ``bash -e`` in the same cwd, this venv's ``bin`` first on ``PATH``.
- ```` ```sh background ````: started in its own process group and left running (a server); every
  background block of the page is stopped when the page ends.
- ```` ```python fragment ```` / ```` ```sh fragment ````: only ``compile()`` / ``bash -n``.
- ``file=NAME`` (this runner's one addition to the convention): the block is a file the reader
  saves as NAME (a test module, a conftest.py); it is written to the page's directory, not run,
  and a later block runs it (``python -m pytest NAME``).
- ``needs=GROUP`` in the info string: the block belongs to that group's run only.
- Other languages (``text``, ``json``, ``yaml``, ``toml``...) are data and are not run; a fence
  without a language is refused (say ``text`` for an output listing).

The parsing and the running are plain functions so that the tests of this runner can feed it a
broken page of their own.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from ast import PyCF_ALLOW_TOP_LEVEL_AWAIT
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Block", "BlockFailed", "parse_blocks", "run_blocks", "select_blocks"]

RUNNABLE = ("python", "sh")
#: Seconds one block may take before it counts as hung.
BLOCK_TIMEOUT = 120.0
_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
#: Environment a fresh user has: none of the toolkit's variables, no config of their own.
_CLEARED = ("OA_BASE_URL", "OA_COOKIES", "OA_COOKIE_FILE", "OA_HAR_FILE", "OA_MOCK_ADMIN_TOKEN")


@dataclass(frozen=True)
class Block:
    """One fenced block: where it starts, its language and words, and its text."""

    path: str
    line: int  # of the opening fence, 1-based
    lang: str
    words: tuple[str, ...]
    code: str
    section: str  # the nearest heading above it

    @property
    def fragment(self) -> bool:
        return "fragment" in self.words

    @property
    def background(self) -> bool:
        return "background" in self.words

    @property
    def group(self) -> str | None:
        """The ``needs=GROUP`` of the block, or None."""
        return self._option("needs")

    @property
    def file(self) -> str | None:
        """The ``file=NAME`` of the block, or None."""
        return self._option("file")

    def _option(self, name: str) -> str | None:
        """The value of the first ``NAME=VALUE`` word of the info string, or None."""
        for word in self.words:
            if word.startswith(f"{name}="):
                return word.partition("=")[2]
        return None

    @property
    def runnable(self) -> bool:
        return self.lang in RUNNABLE

    def where(self) -> str:
        info = " ".join((self.lang, *self.words))
        return f"{self.path}:{self.line} ({self.section!r}, ```{info})"


class BlockFailed(AssertionError):
    """A block did not run as pasted: names the page and line, with the block's output."""


def parse_blocks(text: str, path: str = "<page>") -> list[Block]:
    """Every fenced block of a Markdown ``text``, in order.

    Raises:
        ValueError: a fence without a language, or a block left open at the end of the page.
    """
    blocks: list[Block] = []
    section = ""
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("#") and not line.startswith("#!"):
            section = line.lstrip("#").strip()
        match = _FENCE.match(line)
        if match is None:
            index += 1
            continue
        fence, indent = match.group("fence"), len(match.group("indent"))
        info = match.group("info").strip().split()
        if not info:
            raise ValueError(
                f"{path}:{index + 1}: a code block without a language: say ```text for output, "
                "```python or ```sh for what runs"
            )
        body: list[str] = []
        start = index
        index += 1
        while index < len(lines) and not (
            lines[index].strip().startswith(fence[0] * len(fence))
            and not lines[index].strip().strip(fence[0])
        ):
            body.append(lines[index][indent:] if lines[index][:indent].isspace() else lines[index])
            index += 1
        if index == len(lines):
            raise ValueError(f"{path}:{start + 1}: the code block is never closed")
        index += 1
        blocks.append(
            Block(path, start + 1, info[0], tuple(info[1:]), "\n".join(body) + "\n", section)
        )
    return blocks


def select_blocks(blocks: Sequence[Block], group: str | None) -> list[Block]:
    """The blocks of one run: without a group, those that need none; with one, the page's own
    blocks and that group's, in page order (a group's block may build on the blocks before it).
    """
    return [b for b in blocks if b.group is None or (group is not None and b.group == group)]


def _environment(bin_dir: Path, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _CLEARED}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["XDG_CONFIG_HOME"] = str(home / ".config")  # no cookies.txt of the machine's user
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("PYTEST_XDIST_WORKER", None)
    return env


def _check_fragment(block: Block) -> None:
    if block.lang == "python":
        try:
            # a fragment may be a piece of a coroutine: top-level await and async with compile
            compile(block.code, block.where(), "exec", flags=PyCF_ALLOW_TOP_LEVEL_AWAIT)
        except SyntaxError as exc:
            raise BlockFailed(f"{block.where()}: the fragment does not compile: {exc}") from None
        return
    checked = subprocess.run(
        ["bash", "-n"], input=block.code, capture_output=True, text=True, check=False
    )
    if checked.returncode:
        raise BlockFailed(f"{block.where()}: bash -n refuses the fragment:\n{checked.stderr}")


def _command(block: Block, script: Path) -> list[str]:
    if block.lang == "python":
        return [sys.executable, str(script)]
    # -e, but not pipefail: a reader's shell has no pipefail, and the guide shows pipes whose
    # writer is stopped early on purpose (`oa-chat "hi" | head -c 20`: exit 141 upstream)
    return ["bash", "-e", str(script)]


def _stop(process: subprocess.Popen[bytes]) -> None:
    """End a block's whole process group (children it left behind too, even once the block's
    own shell has ended): SIGTERM, then SIGKILL after 5 s."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            process.poll()  # reap the leader: a zombie still counts as a member
            try:
                os.killpg(process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
    process.poll()


def _check_background(
    background: Sequence[tuple[Block, subprocess.Popen[bytes], Path]],
) -> None:
    """Fail when a background block has already ended with an error (a server that could not
    start): the blocks after it would test nothing."""
    for block, process, _ in background:
        if process.poll() not in (None, 0):
            raise BlockFailed(
                f"{block.where()}: the background block exited {process.returncode}"
                + _background_logs(background)
            )


@contextmanager
def _background() -> Iterator[list[tuple[Block, subprocess.Popen[bytes], Path]]]:
    started: list[tuple[Block, subprocess.Popen[bytes], Path]] = []
    try:
        yield started
    finally:
        for _, process, _ in reversed(started):
            _stop(process)


def run_blocks(
    blocks: Sequence[Block], workdir: Path, *, bin_dir: Path | None = None
) -> list[Block]:
    """Run ``blocks`` in order in ``workdir/page`` (scripts go to ``workdir/scripts``).

    Returns the blocks that ran (fragments checked included). Background blocks are stopped when
    this returns or raises.

    Raises:
        BlockFailed: the first block that failed, with its place and its output (and the output
            of the page's background blocks so far).
    """
    cwd, scripts = workdir / "page", workdir / "scripts"
    cwd.mkdir(parents=True, exist_ok=True)
    scripts.mkdir(parents=True, exist_ok=True)
    env = _environment(bin_dir or Path(sys.executable).parent, workdir)
    ran: list[Block] = []
    with _background() as background:
        for number, block in enumerate(blocks):
            if not block.runnable:
                continue
            if block.fragment:
                _check_fragment(block)
                ran.append(block)
                continue
            if block.file is not None:
                target = cwd / block.file
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(block.code, encoding="utf-8")
                ran.append(block)
                continue
            suffix = ".py" if block.lang == "python" else ".sh"
            script = scripts / f"block{number:03d}-line{block.line}{suffix}"
            script.write_text(block.code, encoding="utf-8")
            if block.background:
                log = scripts / f"{script.stem}.log"
                with log.open("wb") as sink:
                    process = subprocess.Popen(
                        _command(block, script), cwd=cwd, env=env, stdout=sink,
                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                        start_new_session=True,
                    )  # fmt: skip
                background.append((block, process, log))
                ran.append(block)
                continue
            started = time.monotonic()
            # Output to files, not pipes: a child the block left running would hold a pipe
            # open, and reading it to its end would wait for that child.
            out_path, err_path = scripts / f"{script.stem}.out", scripts / f"{script.stem}.err"
            with out_path.open("wb") as out, err_path.open("wb") as err:
                process = subprocess.Popen(
                    _command(block, script), cwd=cwd, env=env, stdout=out, stderr=err,
                    stdin=subprocess.DEVNULL, start_new_session=True,
                )  # fmt: skip
                try:
                    process.wait(timeout=BLOCK_TIMEOUT)
                except subprocess.TimeoutExpired:
                    timed_out = True
                else:
                    timed_out = False
                finally:
                    _stop(process)  # what the block left running ends with it
            stdout, stderr = out_path.read_bytes(), err_path.read_bytes()
            if timed_out:
                raise BlockFailed(
                    f"{block.where()}: still running after {BLOCK_TIMEOUT:g} s: a block must "
                    "end by itself (a server goes in ```sh background)\n"
                    + _output(stdout, stderr)
                    + _background_logs(background)
                )
            if process.returncode:
                raise BlockFailed(
                    f"{block.where()}: exit {process.returncode} after "
                    f"{time.monotonic() - started:.1f} s\n--- block ---\n{block.code}"
                    + _output(stdout, stderr)
                    + _background_logs(background)
                )
            _check_background(background)
            ran.append(block)
        _check_background(background)
    return ran


def _output(stdout: bytes | str | None, stderr: bytes | str | None) -> str:
    def text(data: bytes | str | None) -> str:
        if data is None:
            return ""
        return data.decode("utf-8", "replace") if isinstance(data, bytes) else data

    return f"--- stdout ---\n{text(stdout)[-4000:]}\n--- stderr ---\n{text(stderr)[-4000:]}"


def _background_logs(background: Sequence[tuple[Block, subprocess.Popen[bytes], Path]]) -> str:
    parts = []
    for block, process, log in background:
        state = "running" if process.poll() is None else f"exited {process.returncode}"
        tail = log.read_text(encoding="utf-8", errors="replace")[-2000:] if log.exists() else ""
        parts.append(f"\n--- background {block.where()} ({state}) ---\n{tail}")
    return "".join(parts)
