"""Request bodies checked the way FastAPI 0.88 + pydantic v1 check them on the real server.

Order and wording follow the reference: a body that is not JSON gives one ``value_error.jsondecode``
item; any other failure to decode (bytes that are not UTF-8, an integer past Python's 4,300-digit
limit, nesting deeper than the decoder goes) gives FastAPI's 400 ``There was an error parsing the
body``, as FastAPI 0.88's ``get_request_handler`` answers every exception of its body parsing but
``JSONDecodeError`` (so a RecursionError while decoding is that 400, not a plain 500); a JSON
value that is not an object gives ``type_error.dict``; fields are then checked in declaration
order and every failure is listed. pydantic v1 coerces where it can (``"1.5"`` is a valid float,
``3`` a valid string), so this does too. One limit is the mock's own: plugin data (kept as sent,
rendered again in answers and events) nested deeper than :data:`MAX_PLUGIN_DEPTH` is a 422
``value_error.too_deep`` (the reference's plugin models drop unknown keys, so a 422 there too).
Nothing here does I/O.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

import msgspec

from .._exceptions import MockServerError
from .wire import error_item, jsondecode_error

__all__ = [
    "MAX_PLUGIN_DEPTH",
    "AssistantRequest",
    "ChatUpdate",
    "InvalidBody",
    "PrompterRequest",
    "decode_json_body",
    "validate_assistant",
    "validate_chat_update",
    "validate_object",
    "validate_prompter",
    "validate_vote",
]

_PARSE_FAILED = "There was an error parsing the body"
_MISSING = object()
#: Why msgspec first: every message body is decoded, and it is several times faster than json.
#: Where it accepts a document it gives what ``json.loads`` gives (a property test holds it).
_decode = msgspec.json.Decoder().decode


class InvalidBody(MockServerError):
    """The request body failed decoding or validation: answer ``status`` with ``detail``."""

    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(f"invalid request body ({status})")
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class PrompterRequest:
    """A valid ``prompter_message`` body."""

    parent_id: str | None
    content: str
    chat_id: str | None = None


@dataclass(frozen=True)
class AssistantRequest:
    """A valid ``assistant_message`` body (sampling parameters with all six keys)."""

    parent_id: str
    model_config_name: str
    sampling_parameters: dict[str, Any]
    system_prompt: str | None
    user_profile: str | None
    user_response_instructions: str | None
    plugins: list[Any]
    used_plugin: Any
    chat_id: str | None = None


#: The assistant request's optional text fields (a string or null each), as the full check
#: takes them (the fast path names them one by one: it runs on every request).
_OPTIONAL_TEXTS = ("system_prompt", "user_profile", "user_response_instructions")


@dataclass(frozen=True)
class ChatUpdate:
    """A valid chat update (``PUT``): only the fields that were given and not null."""

    fields: dict[str, Any]
    chat_id: str | None = None


def decode_json_body(raw: bytes, content_type: str | None) -> Any:
    """Decode a body as FastAPI does before validation.

    Returns ``_MISSING``-free Python data: ``None`` for an empty body, the raw ``bytes`` when the
    content type is not JSON (validation then rejects it), else the decoded JSON.

    Raises:
        InvalidBody: 422 for malformed JSON; 400 ``There was an error parsing the body`` for
            bytes that are not UTF-8 (or escape a lone surrogate), an integer of more digits
            than Python converts (``sys.get_int_max_str_digits()``, 4,300 by default), or JSON
            nested deeper than the decoder goes (about 1,000 levels), as FastAPI 0.88 answers.
    """
    if not raw:
        return None
    if content_type:
        main = content_type.split(";", 1)[0].strip().lower()
        if not (
            main == "application/json"
            or (main.startswith("application/") and main.endswith("+json"))
        ):
            return raw
    try:
        return _decode(raw)
    except (msgspec.DecodeError, ValueError):
        # msgspec refuses some documents Python's json accepts (NaN, 1e400, a UTF-8 BOM, an
        # integer past 64 bits) and words its errors its own way: the reference's json decides,
        # and words them
        pass
    except RecursionError:
        # nested deeper than a decoder can go (about 1,000 levels): json.loads would fail the
        # same way, and FastAPI 0.88 turns any such failure of its body parsing into this 400
        raise InvalidBody(400, _PARSE_FAILED) from None
    try:
        value = json.loads(raw)
        # A "\ud800" escape decodes to a lone surrogate, which no UTF-8 answer or store can
        # hold (the reference fails later, with a 500): refuse it as bytes that are not UTF-8.
        # (msgspec refuses such documents, so only this path can see one.)
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except json.JSONDecodeError as error:
        if not _utf8(error.doc):
            # json decodes bytes with "surrogatepass": UTF-8 bytes of a lone surrogate reach the
            # item's "doc", which no UTF-8 answer can hold (the reference's 422 handler fails
            # with a plain 500): refuse them as bytes that are not UTF-8, as above
            raise InvalidBody(400, _PARSE_FAILED) from None
        raise InvalidBody(422, [jsondecode_error(error)]) from None
    except (ValueError, RecursionError):
        # Bytes that are not UTF-8 (UnicodeDecodeError is a ValueError), an integer of more
        # digits than Python converts (4,300 by default), nesting too deep: FastAPI 0.88 catches
        # every exception of its body parsing but JSONDecodeError as this one 400.
        raise InvalidBody(400, _PARSE_FAILED) from None
    return value


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# -- pydantic v1 field validators: return the coerced value or an error item ------------------

_Request = TypeVar("_Request", "PrompterRequest", "AssistantRequest")
_Check = Callable[[Any, list[str | int]], tuple[Any, dict[str, Any] | None]]


def _str(value: Any, loc: list[str | int]) -> tuple[Any, dict[str, Any] | None]:
    if isinstance(value, str):
        return value, None
    if isinstance(value, (int, float, Decimal)):  # pydantic v1 turns numbers into strings
        return str(value), None
    return None, error_item(loc, "str type expected", "type_error.str")


def _float(value: Any, loc: list[str | int]) -> tuple[Any, dict[str, Any] | None]:
    if isinstance(value, float):
        return value, None
    try:
        return float(value), None
    except (TypeError, ValueError, OverflowError):
        return None, error_item(loc, "value is not a valid float", "type_error.float")


def _int(value: Any, loc: list[str | int]) -> tuple[Any, dict[str, Any] | None]:
    if isinstance(value, int) and not isinstance(value, bool):
        return value, None
    try:
        return int(value), None
    except (TypeError, ValueError, OverflowError):
        return None, error_item(loc, "value is not a valid integer", "type_error.integer")


_TRUE = {"1", "on", "t", "true", "y", "yes"}
_FALSE = {"0", "off", "f", "false", "n", "no"}


def _bool(value: Any, loc: list[str | int]) -> tuple[Any, dict[str, Any] | None]:
    if value is True or value is False:
        return value, None
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value), None
    if isinstance(value, str):
        lowered = value.lower()
        if lowered in _TRUE:
            return True, None
        if lowered in _FALSE:
            return False, None
    return None, error_item(loc, "value could not be parsed to a boolean", "type_error.bool")


def _list(value: Any, loc: list[str | int]) -> tuple[Any, dict[str, Any] | None]:
    if isinstance(value, (list, tuple)):
        return list(value), None
    return None, error_item(loc, "value is not a valid list", "type_error.list")


def _dict_error(loc: list[str | int]) -> dict[str, Any]:
    return error_item(loc, "value is not a valid dict", "type_error.dict")


class _Fields:
    """Collects coerced fields and errors of one object, in declaration order."""

    def __init__(self, data: dict[str, Any], loc: list[str | int]) -> None:
        self.data = data
        self.loc = loc
        self.errors: list[dict[str, Any]] = []

    def take(
        self, name: str, check: _Check, *, required: bool, optional: bool, default: Any = None
    ) -> Any:
        loc = [*self.loc, name]
        value = self.data.get(name, _MISSING)
        if value is _MISSING:
            if required:
                self.errors.append(error_item(loc, "field required", "value_error.missing"))
            return default
        if value is None:
            if optional:
                return None
            self.errors.append(
                error_item(loc, "none is not an allowed value", "type_error.none.not_allowed")
            )
            return default
        coerced, error = check(value, loc)
        if error is not None:
            self.errors.append(error)
            return default
        return coerced

    def raise_errors(self) -> None:
        """Raise the errors collected so far, all in one 422, if there are any."""
        if self.errors:
            raise InvalidBody(422, self.errors)


def validate_object(body: Any) -> dict[str, Any]:
    """The body must be a JSON object (pydantic model): return it or raise 422."""
    if body is None:
        raise InvalidBody(422, [error_item(["body"], "field required", "value_error.missing")])
    if not isinstance(body, dict):
        raise InvalidBody(422, [_dict_error(["body"])])
    return body


def _sampling(value: Any, loc: list[str | int]) -> tuple[Any, list[dict[str, Any]]]:
    if value is _MISSING or value is None:
        if value is None:  # a non-optional model field given as null
            return None, [
                error_item(loc, "none is not an allowed value", "type_error.none.not_allowed")
            ]
        value = {}
    if not isinstance(value, dict):
        return None, [_dict_error(loc)]
    fields = _Fields(value, loc)
    result = {
        "top_k": fields.take("top_k", _int, required=False, optional=True),
        "top_p": fields.take("top_p", _float, required=False, optional=True),
        "typical_p": fields.take("typical_p", _float, required=False, optional=True),
        "temperature": fields.take("temperature", _float, required=False, optional=True),
        "repetition_penalty": fields.take(
            "repetition_penalty", _float, required=False, optional=True
        ),
        "max_new_tokens": fields.take(
            "max_new_tokens", _int, required=False, optional=False, default=1024
        ),
    }
    return result, fields.errors


def _chat_id(fields: _Fields, with_chat_id: bool) -> str | None:
    if not with_chat_id:
        return None
    value: str | None = fields.take("chat_id", _str, required=True, optional=False)
    return value


#: How deep the mock keeps a plugin's JSON (it keeps what the client sent and renders it again in
#: answers and events, where Python's json would recurse as deep). The reference validates plugins
#: as pydantic models that drop unknown keys, so it never holds deep data: 422 either way.
MAX_PLUGIN_DEPTH = 100


def _nested_within(value: Any, limit: int) -> bool:
    """Whether ``value`` holds no list or dict more than ``limit`` levels down (no recursion)."""
    level: list[Any] = [value]
    for _ in range(limit + 1):
        deeper: list[Any] = []
        for item in level:
            if type(item) is dict:
                deeper.extend(item.values())
            elif type(item) is list:
                deeper.extend(item)
        if not deeper:
            return True
        level = deeper
    return False


def _too_deep(loc: list[str | int]) -> dict[str, Any]:
    return error_item(
        loc,
        f"nested more than {MAX_PLUGIN_DEPTH} levels deep; the mock keeps plugin data up to that",
        "value_error.too_deep",
        {"limit_value": MAX_PLUGIN_DEPTH},
    )


def _optional_str(data: dict[str, Any], name: str) -> bool:
    value = data.get(name)
    return value is None or type(value) is str


def _fast_prompter(body: Any, with_chat_id: bool) -> PrompterRequest | None:
    """The common case, a body that needs no coercion and has no error; None: check it fully."""
    if type(body) is not dict:
        return None
    content, parent_id = body.get("content"), body.get("parent_id")
    chat_id = body.get("chat_id") if with_chat_id else None
    if (
        type(content) is not str
        or not (parent_id is None or type(parent_id) is str)
        or (with_chat_id and type(chat_id) is not str)
    ):
        return None
    return PrompterRequest(parent_id=parent_id, content=content, chat_id=chat_id)


def _fast_assistant(body: Any, with_chat_id: bool) -> AssistantRequest | None:
    """The common case, a body that needs no coercion and has no error; None: check it fully.

    Why: validation ran for every message, and the full pydantic-shaped walk was a visible
    share of a request's cost. A property test holds this equal to the full check.
    """
    if type(body) is not dict:
        return None
    get = body.get
    parent_id, model, chat_id = get("parent_id"), get("model_config_name"), get("chat_id")
    if (
        type(parent_id) is not str
        or type(model) is not str
        or (with_chat_id and type(chat_id) is not str)
        or not _optional_str(body, "system_prompt")
        or not _optional_str(body, "user_profile")
        or not _optional_str(body, "user_response_instructions")
    ):
        return None
    raw = get("sampling_parameters", _MISSING)
    if raw is _MISSING:
        raw = {}
    if type(raw) is not dict:
        return None
    sampling: dict[str, Any] = {}
    for name in ("top_k", "top_p", "typical_p", "temperature", "repetition_penalty"):
        value = raw.get(name)
        if value is not None and type(value) is not (int if name == "top_k" else float):
            return None
        sampling[name] = value
    tokens = raw.get("max_new_tokens", 1024)
    if type(tokens) is not int:
        return None
    sampling["max_new_tokens"] = tokens
    plugins = get("plugins", [])
    used_plugin = get("used_plugin")
    if (
        type(plugins) is not list
        or not all(type(plugin) is dict for plugin in plugins)
        or not (used_plugin is None or type(used_plugin) is dict)
        or (plugins and not _nested_within(plugins, MAX_PLUGIN_DEPTH + 1))
        or (used_plugin and not _nested_within(used_plugin, MAX_PLUGIN_DEPTH))
    ):
        return None
    return AssistantRequest(
        parent_id=parent_id,
        model_config_name=model,
        sampling_parameters=sampling,
        system_prompt=get("system_prompt"),
        user_profile=get("user_profile"),
        user_response_instructions=get("user_response_instructions"),
        plugins=list(plugins),
        used_plugin=used_plugin,
        chat_id=chat_id if with_chat_id else None,
    )


def _fast_or_full(
    fast: Callable[[Any, bool], _Request | None],
    full: Callable[[Any, bool], _Request],
    body: Any,
    with_chat_id: bool,
) -> _Request:
    """``fast``'s request, else ``full``'s. Why: the fast check accepts only the common,
    error-free body with no coercion; the full one answers everything else as pydantic does."""
    request = fast(body, with_chat_id)
    return request if request is not None else full(body, with_chat_id)


def validate_prompter(body: Any, *, with_chat_id: bool = False) -> PrompterRequest:
    """Validate a ``prompter_message`` body (web bodies also carry ``chat_id``).

    Raises:
        InvalidBody: 422 with pydantic v1 error items.
    """
    return _fast_or_full(_fast_prompter, _full_prompter, body, with_chat_id)


def _full_prompter(body: Any, with_chat_id: bool) -> PrompterRequest:
    fields = _Fields(validate_object(body), ["body"])
    chat_id = _chat_id(fields, with_chat_id)
    parent_id = fields.take("parent_id", _str, required=False, optional=True)
    content = fields.take("content", _str, required=True, optional=False)
    fields.raise_errors()
    return PrompterRequest(parent_id=parent_id, content=content, chat_id=chat_id)


def validate_assistant(body: Any, *, with_chat_id: bool = False) -> AssistantRequest:
    """Validate an ``assistant_message`` body; missing sampling parameters become defaults.

    Raises:
        InvalidBody: 422 with pydantic v1 error items.
    """
    return _fast_or_full(_fast_assistant, _full_assistant, body, with_chat_id)


def _full_assistant(body: Any, with_chat_id: bool) -> AssistantRequest:
    data = validate_object(body)
    fields = _Fields(data, ["body"])
    chat_id = _chat_id(fields, with_chat_id)
    parent_id = fields.take("parent_id", _str, required=True, optional=False)
    model = fields.take("model_config_name", _str, required=True, optional=False)
    sampling, sampling_errors = _sampling(
        data.get("sampling_parameters", _MISSING), ["body", "sampling_parameters"]
    )
    fields.errors.extend(sampling_errors)
    texts = {
        name: fields.take(name, _str, required=False, optional=True) for name in _OPTIONAL_TEXTS
    }
    plugins = fields.take("plugins", _list, required=False, optional=False, default=[])
    for index, plugin in enumerate(plugins or []):
        if not isinstance(plugin, dict):
            fields.errors.append(_dict_error(["body", "plugins", index]))
        elif not _nested_within(plugin, MAX_PLUGIN_DEPTH):
            fields.errors.append(_too_deep(["body", "plugins", index]))
    used_plugin = data.get("used_plugin")
    if used_plugin is not None and not isinstance(used_plugin, dict):
        fields.errors.append(_dict_error(["body", "used_plugin"]))
    elif used_plugin is not None and not _nested_within(used_plugin, MAX_PLUGIN_DEPTH):
        fields.errors.append(_too_deep(["body", "used_plugin"]))
    fields.raise_errors()
    return AssistantRequest(
        parent_id=parent_id,
        model_config_name=model,
        sampling_parameters=sampling,
        **texts,
        plugins=list(plugins or []),
        used_plugin=used_plugin,
        chat_id=chat_id,
    )


def validate_chat_update(body: Any, *, with_chat_id: bool = False) -> ChatUpdate:
    """Validate a chat update (``title`` at most 100 characters, booleans, tail message id).

    Raises:
        InvalidBody: 422 with pydantic v1 error items.
    """
    fields = _Fields(validate_object(body), ["body"])
    chat_id = _chat_id(fields, with_chat_id)
    given: dict[str, Any] = {}
    title = fields.take("title", _str, required=False, optional=True)
    if isinstance(title, str) and len(title) > 100:
        fields.errors.append(
            error_item(
                ["body", "title"],
                "ensure this value has at most 100 characters",
                "value_error.any_str.max_length",
                {"limit_value": 100},
            )
        )
    given["title"] = title
    given["hidden"] = fields.take("hidden", _bool, required=False, optional=True)
    given["allow_data_use"] = fields.take("allow_data_use", _bool, required=False, optional=True)
    given["active_thread_tail_message_id"] = fields.take(
        "active_thread_tail_message_id", _str, required=False, optional=True
    )
    fields.raise_errors()
    return ChatUpdate(
        fields={name: value for name, value in given.items() if value is not None}, chat_id=chat_id
    )


def validate_vote(body: Any) -> int:
    """Validate a vote body ``{"score": int}``; the score must be -1, 0 or 1.

    Raises:
        InvalidBody: 422 for a missing or non-integer score, 400 for one out of range.
    """
    fields = _Fields(validate_object(body), ["body"])
    score = fields.take("score", _int, required=True, optional=False)
    fields.raise_errors()
    if score not in (-1, 0, 1):
        raise InvalidBody(400, "Invalid score")
    result: int = score
    return result
