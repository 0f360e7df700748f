"""Each package's ``__all__`` is sorted, complete and importable (as httpx guards its own)."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize("package", ["oa_provider", "oa_mockserver"])
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


@pytest.mark.parametrize("package", ["oa_provider", "oa_mockserver"])
def test_star_import(package: str) -> None:
    namespace: dict[str, object] = {}
    exec(f"from {package} import *", namespace)
    assert set(importlib.import_module(package).__all__) <= set(namespace)


def test_one_exception_root_per_package() -> None:
    import oa_mockserver
    import oa_provider

    for name in oa_provider.__all__:
        value = getattr(oa_provider, name)
        if isinstance(value, type) and issubclass(value, BaseException):
            assert issubclass(value, oa_provider.OAError), name
    assert issubclass(oa_provider.OAError, RuntimeError)
    for name in oa_mockserver.__all__:
        value = getattr(oa_mockserver, name)
        if isinstance(value, type) and issubclass(value, BaseException):
            assert issubclass(value, oa_mockserver.MockServerError), name
