"""The ``oa_cassette`` marker and fixture: vcrpy record/replay of a test's HTTP, our cassettes.

    @pytest.mark.oa_cassette("cassettes/web/seed_example.yaml", record_mode="none")
    async def test_chat(oa_cassette): ...

The path is relative to the test file's directory (absolute paths work too). ``record_mode`` is
``once`` (default: record when the file is missing, else replay), ``new_episodes``, ``all`` or
``none``; other keyword arguments go to :func:`oa_vcr` (``timing``, ``rechunk_seed``,
``redactor``...). The fixture yields vcrpy's cassette object. Wire it into a plugin with
``pytest_configure`` (registers the marker) and the ``oa_cassette`` fixture.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ._vcr import oa_vcr

__all__ = ["MARKER", "MARKER_HELP", "activate", "cassette_path", "oa_cassette", "pytest_configure"]

MARKER = "oa_cassette"
MARKER_HELP = (
    "oa_cassette(path, record_mode='once'|'new_episodes'|'all'|'none', **oa_vcr options): "
    "record or replay the test's HTTP traffic with an oa-toolkit cassette"
)


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``oa_cassette`` marker."""
    config.addinivalue_line("markers", f"{MARKER}: {MARKER_HELP}")


def cassette_path(node: pytest.Item, raw: str | Path) -> Path:
    """``raw`` resolved against the directory of the test's file."""
    path = Path(raw)
    return path if path.is_absolute() else Path(node.path).parent / path


@contextlib.contextmanager
def activate(request: pytest.FixtureRequest) -> Iterator[Any]:
    """Run the test inside the cassette of its ``oa_cassette`` marker; yield None without one."""
    marker = request.node.get_closest_marker(MARKER)
    if marker is None:
        yield None
        return
    if not marker.args:
        raise pytest.UsageError(
            "@pytest.mark.oa_cassette needs the cassette's path: "
            "@pytest.mark.oa_cassette('cassettes/chat.yaml', record_mode='once')"
        )
    options = dict(marker.kwargs)
    record_mode = str(options.pop("record_mode", "once"))
    path = cassette_path(request.node, marker.args[0])
    with oa_vcr(record_mode=record_mode, **options).use_cassette(str(path)) as cassette:
        yield cassette


@pytest.fixture(autouse=True)
def _oa_cassette_marker(request: pytest.FixtureRequest) -> Iterator[Any]:
    # autouse: the marker alone records or replays, whether or not the test asks for the fixture
    with activate(request) as cassette:
        yield cassette


@pytest.fixture
def oa_cassette(_oa_cassette_marker: Any) -> Any:
    """The vcrpy cassette of the test's ``oa_cassette`` marker (active for the whole test).

    Raises:
        pytest.UsageError: the test has no ``oa_cassette`` marker.
    """
    if _oa_cassette_marker is None:
        raise pytest.UsageError(
            "the oa_cassette fixture needs @pytest.mark.oa_cassette('path.yaml', ...) on the test"
        )
    return _oa_cassette_marker
