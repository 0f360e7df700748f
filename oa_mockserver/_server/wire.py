"""Bytes on the wire, as the reference server writes them.

Two JSON dialects meet here. FastAPI answers REST calls with compact JSON that keeps UTF-8 as is
(``separators=(",", ":")``, ``ensure_ascii=False``), while sse-starlette frames events made by
pydantic v1's ``.json()``: Python's default separators (``", "``, ``": "``) and non-ASCII escaped
(``\\u00e9``). Each event is ``data: <json>\\r\\n\\r\\n``. Errors are FastAPI's ``{"detail": ...}``
(a string, or pydantic v1's list of ``{loc, msg, type[, ctx]}``); the web site wraps its errors as
``{"message": ...}``. Nothing here does I/O.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:  # state imports this module
    from .state import Message

__all__ = [
    "SERVER_SOFTWARE",
    "detail_body",
    "error_item",
    "event_bytes",
    "exact_fragment",
    "jsondecode_error",
    "message_event",
    "message_read_event",
    "pending_event",
    "ping_bytes",
    "float_free_json",
    "fastapi_json",
    "token_event",
    "web_error_body",
    "work_fragment",
]

#: The ``Server`` header of every answer: the reference's.
SERVER_SOFTWARE = "uvicorn"

_compact = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_pydantic_v1 = json.JSONEncoder().encode  # default spacing, ensure_ascii=True


def fastapi_json(value: Any) -> bytes:
    """A REST body: compact JSON in UTF-8, as FastAPI's ``JSONResponse`` renders it."""
    return _compact(value).encode("utf-8")


_plain = msgspec.json.Encoder().encode


def float_free_json(value: Any) -> bytes:
    """:func:`fastapi_json`'s bytes, rendered by msgspec (several times faster: every answer).

    msgspec writes strings, integers (to 64 bits), booleans and null exactly as Python's json does
    with these settings (a property test holds them equal), but formats some floats differently
    (``1e16`` for ``1e+16``). So ``value`` must have no float outside an :func:`exact_fragment`.
    """
    return _plain(value)


def exact_fragment(value: Any) -> msgspec.Raw:
    """``value`` rendered by :func:`fastapi_json`, spliced whole into :func:`float_free_json`."""
    return msgspec.Raw(fastapi_json(value))


def work_fragment(work: Mapping[str, Any]) -> msgspec.Raw:
    """A message's ``work_parameters`` as :func:`exact_fragment` renders it, mostly by msgspec.

    Its floats are the sampling parameters' (the model configs hold none): those are rendered
    as Python's json does (``float.__repr__``) and spliced in; anything else unusual (plugins,
    a float elsewhere, an infinity) goes to :func:`exact_fragment`. Why: this is in every
    assistant message's answer, and Python's json was a visible share of it.
    """
    sampling = work.get("sampling_parameters")
    model = work.get("model_config")
    if (
        work.get("plugins")
        or type(sampling) is not dict
        or type(model) is not dict
        or float in map(type, work.values())  # a C loop, not a generator
        or float in map(type, model.values())
    ):
        return exact_fragment(work)
    rendered: dict[str, Any] = {}
    for name, value in sampling.items():
        if type(value) is float:
            if not math.isfinite(value):
                return exact_fragment(work)
            value = msgspec.Raw(float.__repr__(value).encode("ascii"))
        elif type(value) not in _PLAIN_SCALARS:
            return exact_fragment(work)
        rendered[name] = value
    try:
        return msgspec.Raw(_plain({**work, "sampling_parameters": rendered}))
    except (msgspec.EncodeError, OverflowError, UnicodeEncodeError):
        return exact_fragment(work)  # an integer past 64 bits, a lone surrogate: as json does


_PLAIN_SCALARS = (int, bool, str, type(None))


def event_bytes(payload: Mapping[str, Any]) -> bytes:
    """One SSE event (``data: <json>\\r\\n\\r\\n``) with pydantic v1 ``.json()`` spacing."""
    return b"data: " + _pydantic_v1(payload).encode("ascii") + b"\r\n\r\n"


@functools.lru_cache(maxsize=8192)
def token_event(text: str) -> bytes:
    """A token event; hot path of every stream (cached: replies reuse a small vocabulary)."""
    return (
        b'data: {"event_type": "token", "text": '
        + _pydantic_v1(text).encode("ascii")
        + b"}\r\n\r\n"
    )


def pending_event(position: int, size: int) -> bytes:
    """A ``pending`` event: the message waits for a worker."""
    return event_bytes({"event_type": "pending", "queue_position": position, "queue_size": size})


def message_event(message: Mapping[str, Any]) -> bytes:
    """The final ``message`` event carrying the complete MessageRead."""
    return event_bytes({"event_type": "message", "message": message})


def message_read_event(message: Message) -> bytes:
    """:func:`message_event` of ``message.read()``: its MessageRead, the fields it does not keep
    null or empty.

    The same bytes, from a template: only the values go through the JSON encoder. Why: this
    is the one event rendered anew for every reply.
    """
    score = message.score
    return b"".join(
        (
            b'data: {"event_type": "message", "message": {"id": ',
            _v1_text(message.id),
            b', "parent_id": ',
            _v1_text(message.parent_id),
            b', "content": ',
            _v1_text(message.content),
            b', "chat_id": ',
            _v1_text(message.chat_id),
            b', "created_at": ',
            _v1_text(message.created_at),
            b', "role": ',
            _v1_text(message.role),
            b', "state": ',
            _v1_text(message.state),
            b', "score": ',
            (str(score) if type(score) is int else _pydantic_v1(score)).encode("ascii"),
            b', "reports": [], "work_parameters": ',
            _pydantic_v1(message.work_parameters).encode("ascii"),
            b', "safe_content": null, "safety_level": null, "safety_label": null,'
            b' "safety_rots": null, "used_plugin": null}}\r\n\r\n',
        )
    )


_text_ascii = json.encoder.encode_basestring_ascii  # what json does with a str, ensure_ascii
#: The bytes json leaves alone (with ensure_ascii): " " to "~" but the quote and the backslash.
_UNESCAPED = bytes(c for c in range(0x20, 0x7F) if c not in b'"\\')


def _v1_text(text: str | None) -> bytes:
    if text is None:
        return b"null"
    if text.isascii():
        raw = text.encode("ascii")
        if not raw.translate(None, _UNESCAPED):
            # nothing to escape (a reply's text, an id): quoted as it is. Why: json's escaping
            # walks every character, and the reply's content is the longest text of the event.
            return b'"' + raw + b'"'
    return _text_ascii(text).encode("ascii")


def ping_bytes(stamp: str) -> bytes:
    """An SSE comment ``: ping - <timestamp>`` as sse-starlette sends it."""
    return b": ping - " + stamp.encode("ascii") + b"\r\n\r\n"


def detail_body(detail: Any) -> bytes:
    """FastAPI's error body ``{"detail": ...}``."""
    return fastapi_json({"detail": detail})


def web_error_body(detail: Any) -> bytes:
    """The web site's error body ``{"message": ...}``."""
    return fastapi_json({"message": detail})


def error_item(
    loc: Sequence[str | int], msg: str, type_: str, ctx: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """One pydantic v1 error (``{"loc", "msg", "type"[, "ctx"]}``)."""
    item: dict[str, Any] = {"loc": list(loc), "msg": msg, "type": type_}
    if ctx is not None:
        item["ctx"] = dict(ctx)
    return item


def jsondecode_error(error: json.JSONDecodeError) -> dict[str, Any]:
    """FastAPI's 422 item for a body that is not JSON (``value_error.jsondecode``)."""
    return error_item(
        ["body", error.pos],
        str(error),
        "value_error.jsondecode",
        {
            "msg": error.msg,
            "doc": error.doc,
            "pos": error.pos,
            "lineno": error.lineno,
            "colno": error.colno,
        },
    )
