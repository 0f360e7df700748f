"""gpt4free stays out of the core: importing every module of oa_provider and oa_mockserver
loads no g4f module; oa_g4f without gpt4free fails with an ImportError naming the extra.
Each check runs in a fresh interpreter (this one has g4f loaded already)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.g4f


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, timeout=120, check=False,
    )


def test_the_core_packages_never_import_g4f() -> None:
    result = _python(
        """
        import importlib, pkgutil, sys
        import g4f  # installed here: prove it is importable, then forget it
        for name in [m for m in sys.modules if m == "g4f" or m.startswith("g4f.")]:
            del sys.modules[name]
        imported = []
        for package in ("oa_provider", "oa_mockserver"):
            module = importlib.import_module(package)
            for info in pkgutil.walk_packages(module.__path__, package + "."):
                importlib.import_module(info.name)
                imported.append(info.name)
        import _oa_chat_entry
        leaked = sorted(m for m in sys.modules if m == "g4f" or m.startswith("g4f."))
        print(len(imported), leaked)
        assert not leaked, leaked
        """
    )
    assert result.returncode == 0, result.stderr
    count, leaked = result.stdout.split(" ", 1)
    assert int(count) > 40
    assert leaked.strip() == "[]"


def test_oa_g4f_without_g4f_names_the_extra() -> None:
    result = _python(
        """
        import importlib.abc, sys

        class NoG4f(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name == "g4f" or name.startswith("g4f."):
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)
                return None

        sys.meta_path.insert(0, NoG4f())
        try:
            import oa_g4f
        except ImportError as error:
            print(type(error).__name__, "|", error, "|", type(error.__cause__).__name__)
        else:
            raise SystemExit("oa_g4f imported without g4f")
        import oa_provider, oa_mockserver  # the core still imports
        """
    )
    assert result.returncode == 0, result.stderr
    kind, message, cause = (part.strip() for part in result.stdout.split("|"))
    assert kind == "ImportError"
    assert "pip install 'oa-toolkit[g4f]'" in message
    assert "No module named 'g4f" in message
    assert cause == "ModuleNotFoundError"
