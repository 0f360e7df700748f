"""Chat messages -> the one prompt the web site's ``prompter_message`` route takes.

The web site's API keeps its own thread, but the provider starts a fresh chat per call, so a
multi-turn conversation has to travel as one prompt. The flattening is the original provider's
(gpt4free ``format_prompt``): one message is sent as is; several become ``Role: content`` lines
ending with ``Assistant:``. A ``system`` message is not flattened: the API has a ``system_prompt``
field for it. The original's ``<s>[INST]\\n…\\n[/INST]`` wrapper is opt-in (:data:`LLAMA2_TEMPLATE`)
because the server already applies each model's own prompt format.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "LLAMA2_TEMPLATE",
    "PROMPT_PLACEHOLDER",
    "Prompt",
    "build_prompt",
    "message_mappings",
    "validate_messages",
]

#: The placeholder a ``prompt_template`` must contain.
PROMPT_PLACEHOLDER = "{prompt}"

#: The original provider's wrapper, for callers who want its exact prompt.
LLAMA2_TEMPLATE = "<s>[INST]\n{prompt}\n[/INST]"

_ROLES = ("system", "user", "assistant")


@dataclass(frozen=True)
class Prompt:
    """What the client sends: the prompter message's ``content`` and its ``system_prompt``."""

    content: str
    system_prompt: str | None = None


def message_mappings(messages: object) -> list[tuple[int, Mapping[str, Any]]]:
    """``messages`` as ``(index, message)`` pairs, each message checked to be a mapping.

    Raises:
        TypeError: ``messages`` is not a list/tuple.
        ValueError: a message is not a mapping (the message names its index).
    """
    if isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence):
        raise TypeError(
            "messages must be a list of {'role': ..., 'content': ...} dicts, "
            f"not {type(messages).__name__}"
        )
    checked: list[tuple[int, Mapping[str, Any]]] = []
    for index, message in enumerate(messages):
        if not isinstance(message, Mapping):
            raise ValueError(
                f"messages[{index}] must be a dict with 'role' and 'content', "
                f"not {type(message).__name__}"
            )
        checked.append((index, message))
    return checked


def validate_messages(messages: object) -> list[tuple[str, str]]:
    """Check a chat message list and return it as ``(role, content)`` pairs.

    Raises:
        TypeError: ``messages`` is not a list/tuple of mappings.
        ValueError: a message has a bad role, a non-string content, or extra keys (the
            message names its index); or there is no ``user`` message.
    """
    pairs: list[tuple[str, str]] = []
    for index, message in message_mappings(messages):
        role = message.get("role")
        if role not in _ROLES:
            raise ValueError(
                f"messages[{index}]['role'] must be one of {', '.join(_ROLES)}, got {role!r}"
            )
        content = message.get("content")
        if not isinstance(content, str):
            raise ValueError(
                f"messages[{index}]['content'] must be a str, got {type(content).__name__}"
            )
        extra = sorted(str(key) for key in message if key not in ("role", "content"))
        if extra:
            raise ValueError(
                f"messages[{index}] has unexpected keys {extra}; only 'role' and 'content' are sent"
            )
        pairs.append((str(role), content))
    if not any(role == "user" for role, _ in pairs):
        raise ValueError("messages must contain at least one message with role 'user'")
    return pairs


def build_prompt(messages: object, *, prompt_template: str | None = None) -> Prompt:
    """Validate ``messages`` and flatten them into the prompt to send.

    Args:
        messages: a list of ``{"role": "system"|"user"|"assistant", "content": str}``.
        prompt_template: an optional wrapper containing ``{prompt}`` (e.g. :data:`LLAMA2_TEMPLATE`).

    Returns:
        The prompter message's content and the joined ``system`` messages (or None).

    Raises:
        TypeError, ValueError: see :func:`validate_messages`; ValueError also for a
            template without ``{prompt}``.
    """
    pairs = validate_messages(messages)
    system = [content for role, content in pairs if role == "system"]
    turns = [(role, content) for role, content in pairs if role != "system"]
    if len(turns) == 1:
        content = turns[0][1]
    else:
        lines = [f"{role.capitalize()}: {text}" for role, text in turns]
        content = "\n".join([*lines, "Assistant:"])
    if prompt_template is not None:
        if PROMPT_PLACEHOLDER not in prompt_template:
            raise ValueError(
                f"prompt_template must contain {PROMPT_PLACEHOLDER!r}, e.g. {LLAMA2_TEMPLATE!r}"
            )
        # replace, not str.format: user text and templates may contain other braces.
        content = prompt_template.replace(PROMPT_PLACEHOLDER, content)
    return Prompt(content=content, system_prompt="\n\n".join(system) if system else None)
