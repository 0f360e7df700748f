"""The keyword options of one chat call, declared once for both generators.

:class:`ChatOptions` is the ``TypedDict`` that ``OpenAssistant.create_async_generator`` and
``create_event_stream`` take as ``**options: Unpack[ChatOptions]``: a type checker and an IDE
check and complete every key. At run time ``**options`` would accept anything, so
:func:`check_option_names` refuses an unknown key (a typo such as ``temprature``) before any
request, and :func:`with_option_signature` gives the generators the expanded signature that
``help()`` and ``inspect.signature`` showed when the keywords were spelled out.

Everything here is pure.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, TypedDict, TypeVar

import aiohttp

from ._limits import Limits
from ._sampling import SAMPLING_KEYS

if sys.version_info >= (3, 11):
    from typing import Unpack
else:  # typing gained Unpack (PEP 646, and PEP 692 for **kwargs) in 3.11
    from typing_extensions import Unpack

__all__ = [
    "OPTION_DEFAULTS",
    "ChatOptions",
    "Unpack",
    "check_option_names",
    "with_option_signature",
]

#: Seconds one HTTP call (connect + answer) may take.
DEFAULT_TIMEOUT = 30.0
#: Seconds the event stream may stay without a chat event. The real server sends a
#: ``pending`` event every second while queued and a token every fraction of a second.
DEFAULT_STREAM_IDLE_TIMEOUT = 120.0


class ChatOptions(TypedDict, total=False):
    """The keyword-only options of ``create_async_generator`` and ``create_event_stream``.

    Every key is optional; the defaults are in :data:`OPTION_DEFAULTS`, and a sampling key
    left out takes the preset's (or the original provider's) value.
    """

    base_url: str | None
    preset: str | None
    prompt_template: str | None
    plugins: Sequence[Mapping[str, Any]] | None
    keep_chat: bool
    timeout: float
    stream_idle_timeout: float | None
    session: aiohttp.ClientSession | None
    limits: Limits | None
    # The sampling parameters (SAMPLING_KEYS; a test keeps both lists equal).
    top_k: int | None
    top_p: float | None
    typical_p: float | None
    temperature: float | None
    repetition_penalty: float | None
    max_new_tokens: int


#: The value of each non-sampling option a call leaves out.
OPTION_DEFAULTS: Final[Mapping[str, object]] = {
    "base_url": None,
    "preset": None,
    "prompt_template": None,
    "plugins": None,
    "keep_chat": False,
    "timeout": DEFAULT_TIMEOUT,
    "stream_idle_timeout": DEFAULT_STREAM_IDLE_TIMEOUT,
    "session": None,
    "limits": None,
}


class _FromPreset:
    """The shown default of a sampling option: the preset's value (or the original's)."""

    def __repr__(self) -> str:
        return "<preset's>"


_FROM_PRESET = _FromPreset()


def check_option_names(options: Mapping[str, object]) -> None:
    """Refuse a key that is not one of :class:`ChatOptions`.

    Raises:
        TypeError: an unknown key; the message lists the allowed options and sampling
            parameters.
    """
    for key in options:
        if key not in ChatOptions.__annotations__:
            raise TypeError(
                f"unknown option or sampling parameter {key!r}; options: "
                f"{', '.join(OPTION_DEFAULTS)}; sampling parameters: {', '.join(SAMPLING_KEYS)}"
            )


_F = TypeVar("_F", bound=Callable[..., Any])


def with_option_signature(func: _F) -> _F:
    """Replace ``func``'s ``**options: Unpack[ChatOptions]`` by one keyword-only parameter per
    option, with its default, in the signature ``help()`` and ``inspect.signature`` show."""
    signature = inspect.signature(func)
    params = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
    for name, annotation in ChatOptions.__annotations__.items():
        params.append(
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                default=OPTION_DEFAULTS.get(name, _FROM_PRESET),
                # A string, as `from __future__ import annotations` leaves the other ones.
                annotation=getattr(annotation, "__forward_arg__", annotation),
            )
        )
    func.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    return func
