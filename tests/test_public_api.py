"""The public surface: each package's ``__all__`` sorted, complete and importable (as httpx guards
its own), the exact names of ``oa_mockserver`` and ``oa_mockserver.recording`` (so a change to the
surface is a deliberate change of this file), one exception root, each name re-homed to the
package it is imported from, and the deprecated paths of the previous release.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import pickle
import pydoc
import traceback
import warnings
from typing import Any

import pytest

import oa_mockserver
import oa_provider
from oa_mockserver import recording

PACKAGES = ["oa_provider", "oa_mockserver", "oa_mockserver.recording"]

#: The server façade (was 67 names, of every kind, before the recording subpackage).
SERVER = {
    # the server
    "MockServer",
    "ThreadedMockServer",
    "ServerConfig",
    "create_app",
    "library_path",
    # faults
    "FAULT_HEADER",
    "Fault",
    "FaultRule",
    "FaultSet",
    "parse_fault_header",
    "DeleteFails",
    "DropAfter",
    "ErrorAfter",
    "Latency",
    "MalformedAfter",
    "PluginStep",
    "SafePrompt",
    "Stall",
    "Status",
    "TruncateAfter",
    # the journal
    "Call",
    "Journal",
    "JournalPage",
    "RequestMatcher",
    "StreamLog",
    "TRUNCATED_MARKER",
    # the one exception tree (the cassettes' part of it below, re-exported by recording)
    "MockServerError",
    "ConfigError",
    "FaultSpecError",
    "JournalPageError",
}

#: The errors drawn in oa_mockserver's tree that recording re-exports (their home: oa_mockserver).
RECORDING_ERRORS = {
    "CassetteError",
    "CassetteMismatchError",
    "CassetteNotFoundError",
    "HarError",
    "HarEntryError",
    "RedactionRuleError",
}
SERVER |= RECORDING_ERRORS

RECORDING = RECORDING_ERRORS | {
    # the cassette format
    "Cassette",
    "Episode",
    "Interaction",
    "RecordedRequest",
    "RecordedResponse",
    "Chunk",
    "load_cassette",
    "save_cassette",
    "parse_cassette",
    "dump_cassette",
    # record and replay in-process (vcrpy), pacing and re-cutting
    "oa_vcr",
    "use_cassette",
    "Timing",
    "rechunk",
    # record through a proxy
    "RecordingProxy",
    # redaction and lint
    "Redactor",
    "REDACTED",
    "run_lint",
    "Finding",
    # a browser's HAR file as a cassette
    "import_har",
    "har_to_cassette",
    "HarImport",
}

#: Deprecated in this release: importable from oa_mockserver with a DeprecationWarning.
MOVED_TO_RECORDING = RECORDING - RECORDING_ERRORS
DROPPED = {
    "ChunkedReplayStream": "oa_mockserver.recording._vcr",
    "ChunkRecord": "oa_mockserver._control.journal",
    "create_proxy_app": "oa_mockserver.recording._proxy",
    "diff_fields": "oa_mockserver.recording._match",
    "FieldDiff": "oa_mockserver.recording._match",
    "find_match": "oa_mockserver.recording._match",
    "lint_main": "oa_mockserver.recording._lint",
    "MatchResult": "oa_mockserver.recording._match",
    "MatchRules": "oa_mockserver.recording._match",
    "parse_timing": "oa_mockserver.recording._timing",
    "ReplayLibrary": "oa_mockserver.recording._replay",
    "ReplaySettings": "oa_mockserver.recording._timing",
    "request_fields": "oa_mockserver.recording._match",
    "SecretSpan": "oa_mockserver.recording._redact",
}


def _exported(package: str) -> list[tuple[str, Any]]:
    module = importlib.import_module(package)
    return [(name, getattr(module, name)) for name in module.__all__]


@pytest.mark.parametrize("package", PACKAGES)
def test_all_is_sorted_and_complete(package: str) -> None:
    module = importlib.import_module(package)
    exported = list(module.__all__)
    assert exported == sorted(exported, key=str.casefold), "keep __all__ sorted"
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, type(importlib))
        and name != "annotations"  # from __future__
    }
    assert public == set(exported), f"public names missing from __all__: {public ^ set(exported)}"
    for name in exported:
        assert getattr(module, name) is not None


@pytest.mark.parametrize("package", PACKAGES)
def test_star_import(package: str) -> None:
    namespace: dict[str, object] = {}
    exec(f"from {package} import *", namespace)
    assert set(importlib.import_module(package).__all__) <= set(namespace)


def test_the_exact_surface() -> None:
    assert set(oa_mockserver.__all__) == SERVER
    assert set(recording.__all__) == RECORDING
    assert len(oa_mockserver.__all__) == 36
    assert len(recording.__all__) == 28
    # The two packages share only the errors, and they are the same objects.
    assert set(oa_mockserver.__all__) & set(recording.__all__) == RECORDING_ERRORS
    for name in RECORDING_ERRORS:
        assert getattr(recording, name) is getattr(oa_mockserver, name)


def test_one_exception_root_per_package() -> None:
    for name in oa_provider.__all__:
        value = getattr(oa_provider, name)
        if isinstance(value, type) and issubclass(value, BaseException):
            assert issubclass(value, oa_provider.OAError), name
    assert issubclass(oa_provider.OAError, RuntimeError)
    errors = set()
    for package in ("oa_mockserver", "oa_mockserver.recording"):
        for name, value in _exported(package):
            if isinstance(value, type) and issubclass(value, BaseException):
                assert issubclass(value, oa_mockserver.MockServerError), name
                errors.add(value)
    assert oa_mockserver.MockServerError.__bases__ == (Exception,)
    # Every subclass a user can meet is exported (the tree is drawn in oa_mockserver's docstring);
    # the server's own ones become HTTP answers inside it and never reach a user.
    subclasses = set(oa_mockserver.MockServerError.__subclasses__())
    internal = {error.__name__ for error in subclasses - errors}
    assert internal == {"AuthError", "InvalidBody", "StateError"}
    private = {e for e in subclasses if e.__module__.startswith("oa_mockserver._")}
    assert subclasses - errors == private
    for error in errors:
        assert error.__name__ in (oa_mockserver.__doc__ or ""), error


# --- the public home of each name (httpx's __module__) ----------------------------------------


def _homed(package: str) -> list[tuple[str, Any]]:
    return [(n, v) for n, v in _exported(package) if isinstance(v, type) or callable(v)]


@pytest.mark.parametrize("package", ["oa_mockserver", "oa_mockserver.recording"])
def test_each_class_and_function_reports_its_public_home(package: str) -> None:
    homed = _homed(package)
    assert homed
    for name, value in homed:
        home = "oa_mockserver" if name in RECORDING_ERRORS else package
        assert value.__module__ == home, name
        assert getattr(importlib.import_module(value.__module__), value.__qualname__) is value


@pytest.mark.parametrize("package", ["oa_mockserver", "oa_mockserver.recording"])
def test_classes_and_functions_pickle_by_reference_to_the_same_object(package: str) -> None:
    for name, value in _homed(package):
        assert pickle.loads(pickle.dumps(value)) is value, name


def test_repr_help_and_traceback_show_the_public_home() -> None:
    assert repr(oa_mockserver.MockServer) == "<class 'oa_mockserver.MockServer'>"
    assert repr(recording.Cassette) == "<class 'oa_mockserver.recording.Cassette'>"
    assert "in module oa_mockserver\n" in pydoc.render_doc(oa_mockserver.ThreadedMockServer)
    assert "in module oa_mockserver.recording" in pydoc.render_doc(recording.Redactor)
    error = oa_mockserver.ConfigError("bad option")
    assert traceback.format_exception_only(error) == ["oa_mockserver.ConfigError: bad option\n"]
    with pytest.raises(oa_mockserver.FaultSpecError) as caught:
        oa_mockserver.parse_fault_header("no-such-fault")
    assert caught.exconly().startswith("oa_mockserver.FaultSpecError: ")


def test_instances_still_pickle_copy_and_repr() -> None:
    values: list[Any] = [
        oa_mockserver.ServerConfig(reply_tokens=3),
        oa_mockserver.RequestMatcher("POST", "/api/chat", status=200),
        oa_mockserver.ErrorAfter(after=2, error="worker died"),
        oa_mockserver.FaultRule(oa_mockserver.Status(status=503), step="events", times=1),
        recording.Timing(2.0),
        recording.Chunk(0.5, b"data: {}\n\n"),
        recording.RecordedRequest(method="GET", uri="/api/chat", headers=(("X-A", "1"),)),
        recording.Finding("a.yaml", 3, "schema", "broken"),
    ]
    for value in values:
        assert pickle.loads(pickle.dumps(value)) == value, value
        assert copy.deepcopy(value) == value
        assert copy.copy(value) == value
        if dataclasses.is_dataclass(value):
            assert repr(value).startswith(f"{type(value).__qualname__}("), repr(value)
    for error in (
        oa_mockserver.ConfigError("bad option"),
        oa_mockserver.CassetteNotFoundError("missing.yaml"),
        oa_mockserver.CassetteMismatchError("no match", nearest=2),
    ):
        again = pickle.loads(pickle.dumps(error))
        assert type(again) is type(error)
        assert str(again) == str(error)


# --- the deprecated paths (one release) --------------------------------------------------------


@pytest.mark.parametrize("name", sorted(MOVED_TO_RECORDING))
def test_a_moved_name_warns_and_is_the_same_object(name: str) -> None:
    with pytest.warns(DeprecationWarning, match=f"from oa_mockserver.recording import {name}`"):
        value = getattr(oa_mockserver, name)
    assert value is getattr(recording, name)
    assert name not in oa_mockserver.__all__
    assert name not in dir(oa_mockserver)


@pytest.mark.parametrize("name", sorted(DROPPED))
def test_a_dropped_name_warns_and_is_the_same_object(name: str) -> None:
    with pytest.warns(DeprecationWarning, match=f"`oa_mockserver.{name}` is deprecated.*internal"):
        value = getattr(oa_mockserver, name)
    assert value is getattr(importlib.import_module(DROPPED[name]), name)
    assert name not in oa_mockserver.__all__
    assert name not in dir(oa_mockserver)
    assert name not in recording.__all__


def test_the_old_readme_import_still_works_with_a_warning() -> None:
    namespace: dict[str, Any] = {}
    with pytest.warns(DeprecationWarning, match="oa_mockserver.recording") as caught:
        exec(
            "from oa_mockserver import MockServer, ServerConfig, Timing, load_cassette, oa_vcr,"
            " use_cassette",
            namespace,
        )
    messages = {str(w.message) for w in caught}
    for name in ("Timing", "load_cassette", "oa_vcr", "use_cassette"):
        assert namespace[name] is getattr(recording, name)
        assert any(f"from oa_mockserver.recording import {name}`" in m for m in messages), name
    assert not any("MockServer" in m or "ServerConfig" in m for m in messages)
    assert caught[0].filename == "<string>"  # the warning points at the importing line


def test_the_new_paths_do_not_warn_and_unknown_names_still_fail() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        exec("from oa_mockserver import *; from oa_mockserver.recording import *", {})
    with pytest.raises(AttributeError, match="no attribute 'NoSuchName'"):
        _ = oa_mockserver.NoSuchName
    with pytest.raises(ImportError):
        exec("from oa_mockserver import NoSuchName", {})
    with pytest.raises(AttributeError):
        _ = recording.MatchRules  # dropped names have no public home
