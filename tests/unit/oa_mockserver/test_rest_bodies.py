"""REST bodies rendered by msgspec are byte for byte what Python's json (FastAPI's) renders.

Each fast path is held, by property, to the slower reference it replaces, and shown to be taken
for the bodies real clients send, so that a regression to the slow path cannot pass unnoticed.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from oa_mockserver._server import wire as _wire
from oa_mockserver._server.catalog import model_spec
from oa_mockserver._server.wire import exact_fragment, fastapi_json, float_free_json, work_fragment

# Float-free JSON: what float_free_json promises to render exactly as fastapi_json does.

_scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.text()
plain_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
json_values = st.recursive(
    _scalars | st.floats(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(plain_values)
def test_float_free_json_is_fastapi_json_for_float_free_values(value: Any) -> None:
    assert float_free_json(value) == fastapi_json(value)


_sampling_value = (
    st.none()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.booleans()
    | st.text(max_size=3)
)
_MODELS = ["OA_SFT_Llama_30B_6", "OA_SFT_Pythia_12Bq_4", "_lorem"]


@st.composite
def work_parameters(draw: st.DrawFn) -> dict[str, Any]:
    """Dicts shaped like a message's work_parameters, with every unusual value they may hold."""
    spec = model_spec(draw(st.sampled_from(_MODELS)))
    names = ["top_k", "top_p", "typical_p", "temperature", "repetition_penalty", "max_new_tokens"]
    return {
        "model_config": spec,
        "sampling_parameters": {name: draw(_sampling_value) for name in names},
        "do_sample": True,
        "seed": draw(st.integers(0, 2**64 - 1)),
        "system_prompt": draw(st.none() | st.text(max_size=8)),
        "user_profile": draw(st.none() | st.text(max_size=8)),
        "user_response_instructions": draw(st.none() | st.text(max_size=8)),
        "plugins": draw(st.lists(st.dictionaries(st.text(max_size=3), json_values), max_size=2)),
        "plugin_max_depth": 4,
    }


@given(work_parameters())
def test_work_fragment_is_the_exact_rendering(work: dict[str, Any]) -> None:
    assert bytes(work_fragment(work)) == bytes(exact_fragment(work))


def test_typical_work_parameters_skip_pythons_json(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(value: Any) -> msgspec.Raw:
        raise AssertionError("the exact (slow) rendering was used")

    monkeypatch.setattr(_wire, "exact_fragment", refuse)
    work: dict[str, Any] = {
        "model_config": model_spec("OA_SFT_Llama_30B_6"),
        "sampling_parameters": {
            "top_k": 50,
            "top_p": 0.95,
            "typical_p": None,
            "temperature": 1e-05,
            "repetition_penalty": 1.2,
            "max_new_tokens": 1024,
        },
        "do_sample": True,
        "seed": 2**64 - 1,
        "system_prompt": "Tu es un assistant. 😀",
        "user_profile": None,
        "user_response_instructions": None,
        "plugins": [],
        "plugin_max_depth": 4,
    }
    assert json.loads(bytes(work_fragment(work))) == work
    assert b'"temperature":1e-05' in bytes(work_fragment(work))  # Python's float text


# -- request bodies ------------------------------------------------------------------------
