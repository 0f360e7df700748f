"""The real server's model configs (``GET /configs/model_configs``) and each model's limits.

``data/model_configs.json`` is the body of reference exchange 5, byte for byte (25 models, each
with the same 8 sampling presets); ``data/model_specs.json`` holds each model's ``model_config``
as it appears in ``work_parameters`` (model id, input/total length, quantisation).
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

__all__ = ["DEFAULT_MODEL", "model_configs_body", "model_spec"]

#: The seed's default model config name.
DEFAULT_MODEL = "OA_SFT_Llama_30B_6"


def _read(name: str) -> bytes:
    return resources.files("oa_mockserver").joinpath("data").joinpath(name).read_bytes()


@lru_cache(maxsize=1)
def model_configs_body() -> bytes:
    """The compact JSON body of ``/configs/model_configs``, as recorded."""
    return _read("model_configs.json")


@lru_cache(maxsize=1)
def _specs() -> dict[str, dict[str, Any]]:
    data: dict[str, dict[str, Any]] = json.loads(_read("model_specs.json"))
    return data


def model_spec(name: str) -> dict[str, Any] | None:
    """The ``model_config`` of ``work_parameters`` for a model name, or None if unknown."""
    spec = _specs().get(name)
    return dict(spec) if spec is not None else None
