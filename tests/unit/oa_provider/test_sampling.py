"""Sampling parameters: defaults, presets, overrides and validation before any request."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oa_provider._sampling import (
    DEFAULT_SAMPLING_PARAMETERS,
    SAMPLING_KEYS,
    SAMPLING_PRESETS,
    build_sampling_parameters,
)


def test_defaults_are_the_original_providers() -> None:
    assert build_sampling_parameters() == {
        "top_k": 50,
        "top_p": None,
        "typical_p": None,
        "temperature": 0.35,
        "repetition_penalty": 1 / 0.9,
        "max_new_tokens": 1024,
    }


def test_result_is_a_fresh_dict() -> None:
    params = build_sampling_parameters()
    params["top_k"] = 1
    assert DEFAULT_SAMPLING_PARAMETERS["top_k"] == 50


def test_the_servers_eight_presets() -> None:
    assert list(SAMPLING_PRESETS) == [
        "k50",
        "k50-Creative",
        "k50-Precise",
        "k50-Original",
        "k50-Plugins",
        "nucleus9",
        "typical2",
        "typical3",
    ]
    for preset in SAMPLING_PRESETS.values():
        assert tuple(preset) == SAMPLING_KEYS


def test_preset_selects_a_set_and_overrides_apply_on_top() -> None:
    params = build_sampling_parameters({"max_new_tokens": 64}, preset="k50-Precise")
    assert params == {
        "top_k": 50,
        "top_p": 0.95,
        "typical_p": None,
        "temperature": 0.1,
        "repetition_penalty": 1.2,
        "max_new_tokens": 64,
    }


def test_unknown_preset_lists_the_choices() -> None:
    with pytest.raises(ValueError, match="k50-Precise") as info:
        build_sampling_parameters(preset="k50-precise")
    assert "typical3" in str(info.value)


def test_unknown_key_lists_the_allowed_keys() -> None:
    with pytest.raises(TypeError, match="temprature") as info:
        build_sampling_parameters({"temprature": 0.5})
    for key in SAMPLING_KEYS:
        assert key in str(info.value)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("top_k", 1.5),
        ("top_k", "50"),
        ("temperature", "hot"),
        ("max_new_tokens", None),
        ("max_new_tokens", 10.0),
        ("top_p", True),
        ("repetition_penalty", [1.2]),
    ],
)
def test_wrong_type_is_a_type_error(key: str, value: object) -> None:
    with pytest.raises(TypeError, match=key):
        build_sampling_parameters({key: value})


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("top_p", 0.0),
        ("top_p", 1.5),
        ("typical_p", -0.1),
        ("temperature", -1.0),
        ("max_new_tokens", 0),
        ("top_k", -3),
        ("repetition_penalty", 0),
        ("temperature", math.nan),
    ],
)
def test_out_of_range_is_a_value_error(key: str, value: object) -> None:
    with pytest.raises(ValueError, match=key):
        build_sampling_parameters({key: value})


def test_none_resets_an_optional_parameter() -> None:
    assert build_sampling_parameters({"top_k": None})["top_k"] is None


@given(
    preset=st.sampled_from([None, *SAMPLING_PRESETS]),
    temperature=st.floats(min_value=0, max_value=5),
    top_k=st.integers(min_value=1, max_value=1000),
)
def test_valid_overrides_always_land_and_keep_all_keys(
    preset: str | None, temperature: float, top_k: int
) -> None:
    params = build_sampling_parameters({"temperature": temperature, "top_k": top_k}, preset=preset)
    assert tuple(params) == SAMPLING_KEYS
    assert params["temperature"] == temperature
    assert params["top_k"] == top_k
