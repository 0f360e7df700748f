"""The cassette format: a typed model over vcrpy's YAML format (version 1), plus atomic persistence.

Why vcrpy's format: a plain ``vcr.use_cassette(path)`` must be able to replay our files in-process.
vcrpy reads only ``version``, ``interactions[].request``, ``interactions[].response.{status,headers,
body}`` and ``metadata``; it ignores any other key. We use exactly that tolerance for two extras:

* ``response.chunks``: for streamed responses, every raw chunk in order, each ``{t, data}`` (``t``
  seconds after the response headers arrived, ``data`` the chunk as text) or ``{t, base64}`` when
  the chunk is not valid UTF-8 on its own (a chunk boundary can cut a character). The chunks
  joined are exactly ``body.string``: vcrpy replays the body, we replay the chunks.
* ``interaction.episode``: the number of the conversation (create → messages → events → delete)
  the interaction belongs to. Missing numbers are inferred (a chat creation starts an episode).

Parsing is pure (``parse_cassette``/``dump_cassette``); the only file I/O is ``load_cassette`` and
``save_cassette`` (temporary file + ``os.replace``, so an interrupted save leaves no half file).
A broken file raises :class:`CassetteError` naming the file and the line, never an empty cassette.
"""

from __future__ import annotations

import base64
import binascii
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from .._exceptions import CassetteError, CassetteNotFoundError, ConfigError

__all__ = [
    "CASSETTE_VERSION",
    "RECORD_MODES",
    "UNRECORDED_HEADERS",
    "library_path",
    "Cassette",
    "Chunk",
    "Episode",
    "Interaction",
    "RecordedRequest",
    "RecordedResponse",
    "assign_episodes",
    "cassette_file",
    "deserialize_request",
    "deserialize_response",
    "dump_cassette",
    "interaction_to_dict",
    "is_streamed",
    "load_cassette",
    "parse_cassette",
    "recorded_cassette",
    "recording_base",
    "save_cassette",
    "serialize_request",
    "serialize_response",
    "write_text_atomically",
]

CASSETTE_VERSION = 1

#: Headers no cassette keeps (lower case): hop-by-hop ones (RFC 9110 section 7.6.1), which
#: belong to one connection, and the framing the replaying transport sets again.
UNRECORDED_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)

Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Chunk:
    """One raw piece of a streamed body, ``offset_s`` seconds after the response headers."""

    offset_s: float
    data: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordedRequest:
    """A request as recorded: method, full URI, body (None when there was none), headers."""

    method: str
    uri: str
    body: bytes | None = None
    headers: Headers = ()

    @property
    def path(self) -> str:
        """The URI's path, without the query."""
        return urlsplit(self.uri).path

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        return _header(self.headers, name)


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordedResponse:
    """A response as recorded; ``chunks`` is empty for responses that were not streamed."""

    status: int
    reason: str = ""
    headers: Headers = ()
    body: bytes = b""
    chunks: tuple[Chunk, ...] = ()

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        return _header(self.headers, name)


@dataclass(frozen=True, slots=True, kw_only=True)
class Interaction:
    """One request and its response, in episode ``episode``; ``line`` is its line in the file."""

    request: RecordedRequest
    response: RecordedResponse
    episode: int = 0
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Episode:
    """One whole conversation: the interactions that share an episode number, in order."""

    number: int
    interactions: tuple[Interaction, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Cassette:
    """A whole cassette: interactions in recorded order, extra ``metadata`` kept as is."""

    interactions: tuple[Interaction, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    path: str | None = field(default=None, compare=False)

    @property
    def episodes(self) -> tuple[Episode, ...]:
        """The interactions grouped by episode number, in order of first appearance."""
        groups: dict[int, list[Interaction]] = {}
        for interaction in self.interactions:
            groups.setdefault(interaction.episode, []).append(interaction)
        return tuple(Episode(number=n, interactions=tuple(i)) for n, i in groups.items())


def is_streamed(headers: Mapping[str, str]) -> bool:
    """True for responses whose chunks are worth keeping: event streams and chunked bodies.

    ``headers`` is any case-insensitive mapping (aiohttp's, multidict's); both the in-process
    recorder and the recording proxy ask here, so neither needs the other (nor vcrpy).
    """
    content_type = str(headers.get("Content-Type", "")).lower()
    encoding = str(headers.get("Transfer-Encoding", "")).lower()
    return content_type.startswith("text/event-stream") or "chunked" in encoding


def _header(headers: Headers, name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers:
        if key.lower() == wanted:
            return value
    return None


# --- episodes --------------------------------------------------------------------------------

_CHAT_CREATE_PATHS = frozenset({"/api/chat", "/chats"})


def _starts_episode(request: RecordedRequest) -> bool:
    return request.method.upper() == "POST" and request.path.rstrip("/") in _CHAT_CREATE_PATHS


def recorded_cassette(interactions: Iterable[Interaction], metadata: Mapping[str, Any]) -> Cassette:
    """The cassette of ``interactions`` in recorded order, their episodes numbered
    (:func:`assign_episodes`): what every recorder writes (proxy, vcrpy hook, HAR import)."""
    return Cassette(interactions=assign_episodes(interactions), metadata=metadata)


def assign_episodes(interactions: Iterable[Interaction]) -> tuple[Interaction, ...]:
    """Number the episodes: each chat creation (``POST /api/chat`` or ``/chats``) starts a new one.

    Interactions before the first creation (a login, the model list) belong to episode 0.
    """
    result: list[Interaction] = []
    episode = 0
    seen_create = False
    for interaction in interactions:
        if _starts_episode(interaction.request):
            if seen_create:
                episode += 1
            seen_create = True
        result.append(
            Interaction(
                request=interaction.request,
                response=interaction.response,
                episode=episode,
                line=interaction.line,
            )
        )
    return tuple(result)


# --- YAML with line numbers ------------------------------------------------------------------

_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineDict(dict[Any, Any]):
    """A mapping that remembers the (1-based) line it started on, for error messages."""

    line: int = 0


class _LineLoader(_BaseLoader):  # type: ignore[misc]
    """A safe loader (python tags refused) whose mappings carry their line numbers."""


def _construct_line_map(loader: Any, node: yaml.MappingNode) -> _LineDict:
    data = _LineDict()
    data.line = node.start_mark.line + 1
    data.update(loader.construct_mapping(node, deep=True))
    return data


_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_line_map)


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """A safe dumper: block style, keys in insertion order."""


def _line_of(value: object, default: int | None) -> int | None:
    return value.line if isinstance(value, _LineDict) else default


# --- parsing (pure) --------------------------------------------------------------------------


class _Reader:
    """Turns the loaded YAML tree into the typed model, raising CassetteError with file:line."""

    def __init__(self, path: str | None) -> None:
        self.path = path

    def fail(self, message: str, line: int | None) -> CassetteError:
        return CassetteError(message, path=self.path, line=line)

    def mapping(self, value: object, what: str, line: int | None) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(f"{what} must be a mapping, not {type(value).__name__}", line)
        return value

    def text(self, value: object, what: str, line: int | None) -> str:
        if not isinstance(value, str):
            raise self.fail(f"{what} must be a string, not {type(value).__name__}", line)
        return value

    def body(self, value: object, what: str, line: int | None) -> bytes | None:
        if value is None:
            return None
        if isinstance(value, str):
            return value.encode("utf-8", "surrogateescape")
        if isinstance(value, bytes):
            return value
        raise self.fail(f"{what} must be a string (or !!binary), not {type(value).__name__}", line)

    def headers(self, value: object, what: str, line: int | None) -> Headers:
        if value is None:
            return ()
        pairs: list[tuple[str, str]] = []
        for name, values in self.mapping(value, what, line).items():
            items = values if isinstance(values, list) else [values]
            for item in items:
                if not isinstance(item, str | int | float):
                    raise self.fail(f"{what}: header {name!r} has a non-text value", line)
                pairs.append((str(name), str(item)))
        return tuple(pairs)

    def request(self, value: object, line: int | None) -> RecordedRequest:
        raw = self.mapping(value, "interaction.request", line)
        line = _line_of(raw, line)
        for key in ("method", "uri"):
            if key not in raw:
                raise self.fail(f"interaction.request has no {key!r}", line)
        return RecordedRequest(
            method=self.text(raw["method"], "request.method", line),
            uri=self.text(raw["uri"], "request.uri", line),
            body=self.body(raw.get("body"), "request.body", line),
            headers=self.headers(raw.get("headers"), "request.headers", line),
        )

    def response(self, value: object, line: int | None) -> RecordedResponse:
        raw = self.mapping(value, "interaction.response", line)
        line = _line_of(raw, line)
        status = self.mapping(raw.get("status"), "response.status", line)
        code = status.get("code")
        if not isinstance(code, int) or isinstance(code, bool) or not 100 <= code <= 599:
            raise self.fail(f"response.status.code must be an HTTP status, not {code!r}", line)
        message = status.get("message", "")
        body_map = self.mapping(raw.get("body", {}), "response.body", line)
        body = self.body(body_map.get("string"), "response.body.string", line) or b""
        chunks = self.chunks(raw.get("chunks"), line)
        if chunks and b"".join(c.data for c in chunks) != body:
            raise self.fail(
                "response.chunks joined differ from response.body.string; re-record the "
                "cassette (the two must hold the same bytes)",
                line,
            )
        return RecordedResponse(
            status=code,
            reason=self.text(message or "", "response.status.message", line),
            headers=self.headers(raw.get("headers"), "response.headers", line),
            body=body,
            chunks=chunks,
        )

    def chunks(self, value: object, line: int | None) -> tuple[Chunk, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self.fail("response.chunks must be a list of {t, data} mappings", line)
        result: list[Chunk] = []
        previous = 0.0
        for index, item in enumerate(value):
            raw = self.mapping(item, f"response.chunks[{index}]", line)
            here = _line_of(raw, line)
            offset = raw.get("t")
            if not isinstance(offset, int | float) or isinstance(offset, bool) or offset < 0:
                raise self.fail(f"chunk {index}: 't' must be a number of seconds >= 0", here)
            if offset < previous:
                raise self.fail(f"chunk {index}: 't' goes back ({offset} < {previous})", here)
            previous = float(offset)
            if "base64" in raw:
                try:
                    encoded = self.text(raw["base64"], "chunk base64", here)
                    data = base64.b64decode(encoded, validate=True)
                except binascii.Error as exc:
                    raise self.fail(f"chunk {index}: invalid base64 ({exc})", here) from None
            elif "data" in raw:
                data = self.body(raw["data"], f"chunk {index} data", here) or b""
            else:
                raise self.fail(f"chunk {index} has neither 'data' nor 'base64'", here)
            result.append(Chunk(float(offset), data))
        return tuple(result)

    def interaction(self, value: object, index: int, line: int | None) -> Interaction:
        raw = self.mapping(value, f"interactions[{index}]", line)
        line = _line_of(raw, line)
        for key in ("request", "response"):
            if key not in raw:
                raise self.fail(f"interactions[{index}] has no {key!r}", line)
        episode = raw.get("episode", -1)
        if not isinstance(episode, int) or isinstance(episode, bool):
            raise self.fail(f"interactions[{index}].episode must be an integer", line)
        return Interaction(
            request=self.request(raw["request"], line),
            response=self.response(raw["response"], line),
            episode=episode,
            line=line,
        )


def parse_cassette(text: str, path: str | None = None) -> Cassette:
    """Parse a cassette's YAML text.

    Raises:
        CassetteError: the text is not YAML, uses a python tag, has the wrong version or shape;
            the message names ``path`` and the line.
    """
    reader = _Reader(path)
    if not text.strip():
        raise reader.fail("the cassette file is empty; re-record it or delete it", 1)
    try:
        data = yaml.load(text, Loader=_LineLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or str(exc)
        raise reader.fail(f"not a valid YAML cassette: {problem}", line) from None
    except yaml.YAMLError as exc:
        raise reader.fail(f"not a valid YAML cassette: {exc}", None) from None
    top = reader.mapping(data, "the cassette", 1)
    version = top.get("version")
    if version != CASSETTE_VERSION:
        raise reader.fail(
            f"unsupported cassette version {version!r}: this toolkit reads version "
            f"{CASSETTE_VERSION} (vcrpy's format); re-record the cassette",
            _line_of(top, 1),
        )
    raw_interactions = top.get("interactions")
    if not isinstance(raw_interactions, list):
        raise reader.fail("'interactions' must be a list", _line_of(top, 1))
    interactions = [
        reader.interaction(item, index, _line_of(top, 1))
        for index, item in enumerate(raw_interactions)
    ]
    if any(i.episode < 0 for i in interactions):
        interactions = list(assign_episodes(interactions))
    metadata = top.get("metadata") or {}
    return Cassette(
        interactions=tuple(interactions),
        metadata=reader.mapping(metadata, "metadata", _line_of(top, 1)),
        path=path,
    )


def _text_or_bytes(data: bytes) -> str | bytes:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data  # yaml writes !!binary, which the safe loader reads back as bytes


def _headers_dict(headers: Headers) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for name, value in headers:
        result.setdefault(name, []).append(value)
    return result


def _chunk_dict(chunk: Chunk) -> dict[str, Any]:
    offset = round(chunk.offset_s, 6)
    try:
        return {"t": offset, "data": chunk.data.decode("utf-8")}
    except UnicodeDecodeError:
        return {"t": offset, "base64": base64.b64encode(chunk.data).decode("ascii")}


# --- vcrpy's dicts: the one serializer (as vcrpy's serialize.py) --------------------------------


def serialize_request(request: RecordedRequest) -> dict[str, Any]:
    """vcrpy's dict of a request (its ``Request._to_dict`` shape), body as bytes or None."""
    return {
        "method": request.method,
        "uri": request.uri,
        "body": request.body,
        "headers": _headers_dict(request.headers),
    }


def serialize_response(response: RecordedResponse) -> dict[str, Any]:
    """vcrpy's dict of a response, body as bytes, plus our ``chunks`` (``{t, data}``, bytes).

    This is the in-memory form vcrpy replays from; :func:`interaction_to_dict` turns it into the
    file's (text where the bytes are UTF-8, rounded offsets, base64 chunks).
    """
    raw: dict[str, Any] = {
        "status": {"code": response.status, "message": response.reason},
        "headers": _headers_dict(response.headers),
        "body": {"string": response.body},
    }
    if response.chunks:
        raw["chunks"] = [{"t": c.offset_s, "data": c.data} for c in response.chunks]
    return raw


def deserialize_request(raw: object, path: str | None = None) -> RecordedRequest:
    """The typed request of a vcrpy request dict (body bytes or text, headers str or lists).

    Raises:
        CassetteError: ``raw`` is not such a dict (``path`` named in the message).
    """
    return _Reader(path).request(raw, None)


def deserialize_response(raw: object, path: str | None = None) -> RecordedResponse:
    """The typed response of a vcrpy response dict, ``chunks`` included (joined equal to the body).

    Raises:
        CassetteError: ``raw`` is not such a dict (``path`` named in the message).
    """
    return _Reader(path).response(raw, None)


def interaction_to_dict(interaction: Interaction) -> dict[str, Any]:
    """The file's mapping of one interaction: vcrpy's dicts with text bodies, plus our keys."""
    request = serialize_request(interaction.request)
    if request["body"] is not None:
        request["body"] = _text_or_bytes(request["body"])
    response = serialize_response(interaction.response)
    response["body"] = {"string": _text_or_bytes(interaction.response.body)}
    if interaction.response.chunks:
        response["chunks"] = [_chunk_dict(c) for c in interaction.response.chunks]
    return {"episode": interaction.episode, "request": request, "response": response}


def dump_cassette(cassette: Cassette) -> str:
    """The YAML text of a cassette (block style, vcrpy version 1)."""
    data: dict[str, Any] = {
        "version": CASSETTE_VERSION,
        "interactions": [interaction_to_dict(i) for i in cassette.interactions],
    }
    if cassette.metadata:
        data["metadata"] = dict(cassette.metadata)
    return str(
        yaml.dump(
            data,
            Dumper=_Dumper,
            default_flow_style=False,
            sort_keys=False,
            allow_unicode=True,
            width=1000,
        )
    )


# --- files (the only I/O) --------------------------------------------------------------------


def load_cassette(path: str | os.PathLike[str]) -> Cassette:
    """Read and parse a cassette file.

    Raises:
        CassetteNotFoundError: the file does not exist.
        CassetteError: the file is unreadable, not UTF-8, empty or malformed (file and line named).
    """
    name = os.fspath(path)
    try:
        raw = Path(name).read_bytes()
    except FileNotFoundError:
        raise CassetteNotFoundError(name) from None
    except OSError as exc:
        raise CassetteError(f"cannot read the cassette ({exc.strerror})", path=name) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise CassetteError("the cassette is not valid UTF-8", path=name, line=line) from None
    return parse_cassette(text, name)


def save_cassette(path: str | os.PathLike[str], cassette: Cassette) -> None:
    """Write a cassette atomically: a temporary file in the same directory, then ``os.replace``.

    An interrupted save leaves the previous file (or none) in place, never half a file.
    """
    write_text_atomically(Path(os.fspath(path)), dump_cassette(cassette))


def write_text_atomically(target: Path, text: str) -> None:
    """Write ``text`` to ``target`` through a temporary sibling file and ``os.replace``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates 0600; a cassette is a shared fixture file, readable like any other
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        # Why BaseException: a KeyboardInterrupt mid-write must not leave the temp file behind.
        Path(tmp).unlink(missing_ok=True)
        raise


# --- where a recording goes, and what it starts from -------------------------------------------

#: vcrpy's record modes that make sense for a recording proxy (``none`` records nothing). What
#: each does with a cassette that already exists is :func:`recording_base`'s.
RECORD_MODES = ("once", "new_episodes", "all")


def cassette_file(directory: str | os.PathLike[str], name: str) -> Path:
    """``directory/name.yaml`` (``name`` kept as is when it ends in ``.yaml`` or ``.yml``).

    Raises:
        ConfigError: ``name`` is not a plain file name: empty, ``.`` or ``..``, holding a path
            separator (``/`` or ``\\``, on every system), a drive or a control character. Why:
            a name is not a path, and ``../../x`` wrote outside ``directory``.
    """
    suffixed = name.endswith((".yaml", ".yml"))
    stem = name.rsplit(".", 1)[0] if suffixed else name
    if (
        not stem.strip()
        or name in (".", "..")
        or "/" in name
        or "\\" in name
        or ":" in name  # a Windows drive (C:x) or stream (x:y)
        or any(ord(char) < 32 or ord(char) == 127 for char in name)
    ):
        raise ConfigError(
            f"the cassette name must be a plain file name such as 'session-1' (no '/' or '\\', "
            f"no ':', not '.' or '..', not empty); got {name!r}. To write elsewhere, choose "
            "another cassettes directory"
        )
    return Path(os.fspath(directory)) / (name if suffixed else name + ".yaml")


def recording_base(path: Path, record_mode: str) -> Cassette | None:
    """What a recording into ``path`` keeps of a cassette already there, by vcrpy's record mode.

    * ``once`` (vcrpy's default): record only into a cassette that does not exist yet; an
      existing one is never touched (vcrpy refuses new requests against it).
    * ``new_episodes``: keep the cassette's interactions and add the new ones after them.
    * ``all``: record anew; the old cassette is replaced at the first exchange recorded (until
      then it stays as it was).

    Returns the cassette to add to (``new_episodes`` and a file that exists), else None.

    Raises:
        ConfigError: ``record_mode`` is unknown, or ``once`` and the file exists.
        CassetteError: ``new_episodes`` and the file is not a readable cassette.
    """
    if record_mode not in RECORD_MODES:
        raise ConfigError(
            f"record mode must be one of {', '.join(RECORD_MODES)}, got {record_mode!r}"
        )
    if record_mode == "all" or not path.exists():
        return None
    if record_mode == "once":
        raise ConfigError(
            f"the cassette {path} already exists and record mode 'once' (the default, as "
            "vcrpy's) never records into an existing cassette; choose another name, add to it "
            "with record mode 'new_episodes' (--record-mode new_episodes), or record it anew "
            "with 'all'"
        )
    return load_cassette(path)


def library_path() -> Path:
    """The directory of the shipped cassette library (package data ``oa_mockserver.cassettes``).

    Pass it to ``ServerConfig(cassettes=...)`` or ``oa-mockserver serve --cassettes``.
    """
    return Path(str(resources.files("oa_mockserver.cassettes")))
