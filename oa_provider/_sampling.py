"""Sampling parameters: the original provider's defaults, the server's eight presets, validation.

Everything here is pure. Validation runs before the client sends anything, so a typo such as
``temprature=0.5`` fails at once with the list of allowed keys instead of turning into a 422
from the server after a chat was already created.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = [
    "DEFAULT_SAMPLING_PARAMETERS",
    "SAMPLING_KEYS",
    "SAMPLING_PRESETS",
    "SamplingValue",
    "build_sampling_parameters",
]

#: A sampling parameter's value: a number, or None for "the model's default".
SamplingValue = int | float | None

#: The keys of the server's ``SamplingParameters`` schema, in its order.
SAMPLING_KEYS: tuple[str, ...] = (
    "top_k",
    "top_p",
    "typical_p",
    "temperature",
    "repetition_penalty",
    "max_new_tokens",
)


def _preset(
    top_k: int | None, top_p: float | None, typical_p: float | None, temperature: float, rp: float
) -> Mapping[str, SamplingValue]:
    """A read-only set of the six parameters; every config the client knows sends 1024 tokens."""
    return MappingProxyType(
        {
            "top_k": top_k,
            "top_p": top_p,
            "typical_p": typical_p,
            "temperature": temperature,
            "repetition_penalty": rp,
            "max_new_tokens": 1024,
        }
    )


#: The defaults of the original provider (gpt4free's OpenAssistant).
DEFAULT_SAMPLING_PARAMETERS: Mapping[str, SamplingValue] = _preset(50, None, None, 0.35, 1 / 0.9)


#: The eight parameter configs the inference server offers for every model
#: (``GET /configs/model_configs``; values copied from the reference recordings).
SAMPLING_PRESETS: Mapping[str, Mapping[str, SamplingValue]] = MappingProxyType(
    {
        "k50": _preset(50, 0.95, None, 0.75, 1.2),
        "k50-Creative": _preset(50, 0.95, None, 0.85, 1.2),
        "k50-Precise": _preset(50, 0.95, None, 0.1, 1.2),
        "k50-Original": _preset(50, 0.95, None, 0.9, 1.2),
        "k50-Plugins": _preset(50, None, None, 0.35, 1 / 0.9),
        "nucleus9": _preset(None, 0.9, None, 0.8, 1.2),
        "typical2": _preset(None, None, 0.2, 0.8, 1.2),
        "typical3": _preset(None, None, 0.3, 0.8, 1.2),
    }
)

_INTEGER_KEYS = frozenset({"top_k", "max_new_tokens"})
# (low, high, low_inclusive): the ranges the models accept; None means unbounded above.
_RANGES: Mapping[str, tuple[float, float | None, bool]] = {
    "top_k": (0, None, False),
    "top_p": (0.0, 1.0, False),
    "typical_p": (0.0, 1.0, False),
    "temperature": (0.0, None, True),
    "repetition_penalty": (0.0, None, False),
    "max_new_tokens": (0, None, False),
}


def _check_value(key: str, value: object) -> SamplingValue:
    if value is None:
        if key == "max_new_tokens":
            raise TypeError("sampling parameter max_new_tokens must be a positive int, not None")
        return None
    # bool is an int subclass; True as a temperature is always a mistake.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        wanted = "an int" if key in _INTEGER_KEYS else "a number"
        raise TypeError(
            f"sampling parameter {key} must be {wanted} or None, not {type(value).__name__}"
        )
    if key in _INTEGER_KEYS and not isinstance(value, int):
        raise TypeError(f"sampling parameter {key} must be an int, not {value!r}")
    low, high, low_inclusive = _RANGES[key]
    too_low = value < low if low_inclusive else value <= low
    if too_low or (high is not None and value > high) or value != value:  # NaN check
        bound = f"{'>=' if low_inclusive else '>'} {low}" + (
            f" and <= {high}" if high is not None else ""
        )
        raise ValueError(f"sampling parameter {key} must be {bound}, got {value!r}")
    return value


def build_sampling_parameters(
    overrides: Mapping[str, object] | None = None, *, preset: str | None = None
) -> dict[str, SamplingValue]:
    """Return the ``sampling_parameters`` object to send, validated.

    Args:
        overrides: values that replace the base set's (keys from :data:`SAMPLING_KEYS`).
        preset: the name of one of :data:`SAMPLING_PRESETS` to start from instead of
            :data:`DEFAULT_SAMPLING_PARAMETERS`.

    Returns:
        A new dict with all six keys.

    Raises:
        TypeError: an unknown key (the message lists the allowed keys), or a value of the
            wrong type.
        ValueError: an unknown preset name, or a value out of range.
    """
    if preset is None:
        base = DEFAULT_SAMPLING_PARAMETERS
    else:
        try:
            base = SAMPLING_PRESETS[preset]
        except KeyError:
            raise ValueError(
                f"unknown sampling preset {preset!r}; choose one of: {', '.join(SAMPLING_PRESETS)}"
            ) from None
    result: dict[str, SamplingValue] = dict(base)
    for key, value in (overrides or {}).items():
        if key not in result:
            raise TypeError(
                f"unknown sampling parameter {key!r}; allowed: {', '.join(SAMPLING_KEYS)}"
            )
        result[key] = _check_value(key, value)
    return result
