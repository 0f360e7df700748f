"""The chat options, declared once: names, the unknown-key check and the shown signature."""

from __future__ import annotations

import inspect

import pytest

from oa_provider import ChatOptions, OpenAssistant
from oa_provider._options import OPTION_DEFAULTS, check_option_names, with_option_signature
from oa_provider._sampling import SAMPLING_KEYS


def test_options_are_the_defaulted_ones_then_the_sampling_keys() -> None:
    assert list(ChatOptions.__annotations__) == [*OPTION_DEFAULTS, *SAMPLING_KEYS]


def test_known_names_pass() -> None:
    check_option_names({"base_url": None, "keep_chat": True, "temperature": 0.5})


def test_an_unknown_name_is_refused_with_every_allowed_one() -> None:
    with pytest.raises(TypeError, match="'temprature'") as info:
        check_option_names({"timeout": 1.0, "temprature": 0.5})
    for name in ChatOptions.__annotations__:
        assert name in str(info.value)


def test_signature_spells_out_every_option_keyword_only_with_its_default() -> None:
    def call(a: int, /, b: int = 0, **options: object) -> None:
        """Doc."""

    shown = inspect.signature(with_option_signature(call))
    params = shown.parameters
    assert list(params) == ["a", "b", *ChatOptions.__annotations__]
    for name, default in OPTION_DEFAULTS.items():
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY
        assert params[name].default == default
    for name in SAMPLING_KEYS:
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY
        assert repr(params[name].default) == "<preset's>"
    assert params["timeout"].annotation == "float"


@pytest.mark.parametrize("name", ["create_async_generator", "create_event_stream"])
def test_both_generators_show_the_same_options_on_class_and_instance(name: str) -> None:
    for owner in (OpenAssistant, OpenAssistant()):
        params = inspect.signature(getattr(owner, name)).parameters
        assert list(params) == [
            "model",
            "messages",
            "proxy",
            "cookies",
            *ChatOptions.__annotations__,
        ]
        assert params["timeout"].default == 30.0
        assert params["stream_idle_timeout"].default == 120.0


def test_the_docstring_names_every_option() -> None:
    doc = OpenAssistant.create_async_generator.__doc__ or ""
    for name in ChatOptions.__annotations__:
        assert name in doc, name
