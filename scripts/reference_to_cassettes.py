"""Convert the genuine server's recordings (tests/reference/) into cassettes: cassettes/reference/.

The 61 exchanges of ``tests/reference/oa-inference-server-recordings.jsonl`` came off the real
Open-Assistant inference server (see tests/reference/README.md). This script turns them into our
vcrpy cassettes, one per conversation, so that both replay engines (vcrpy in-process, the mock
server over HTTP) can play what the real server sent:

* ``reference/two_turns``: exchanges 1-47, a debug login, the model configs, one chat with two
  turns (two real event streams of 32 and 47 tokens), then every error case the recording asked
  the server for (422s, 400s, 404s, 500s, 403s, 401s, a second user) and the delete;
* ``reference/queued``: 48-56, two users' chats; the first user's message keeps the only worker
  busy, so the second one's stream starts with ``pending`` events (a ``: ping`` falls between
  tokens);
* ``reference/pending_no_worker``: 57-61, a message for ``distilgpt2``, which no worker served:
  33 s of ``pending`` events and pings, then the client gave up (the stream has no final event;
  ``metadata.disconnected`` names it, as the recording proxy does for a broken stream).

Requests and responses are kept as recorded (method, target, header order and case, bodies byte
for byte) except what the recording proxy drops too (hop-by-hop headers, ``Host`` and
``Content-Length``), and secrets are redacted with the recorder's rules (:class:`Redactor`: the
``Authorization`` tokens, the ``Refresh`` header, the tokens of the login answer). A streamed
answer keeps every HTTP chunk (the terminating zero-length chunk aside) with its time after the
response headers. Episodes are numbered by chat: an interaction belongs to the chat its path
names (or, for a chat creation, the chat it created), else to the chat before it, so the two
users' interleaved chats of the queued demo stay two conversations.

Re-running the script gives the committed files byte for byte (a test checks it):

    .venv/bin/python scripts/reference_to_cassettes.py [--out cassettes] [--check]
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from oa_mockserver.recording import (
    Cassette,
    Chunk,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    Redactor,
    dump_cassette,
)
from oa_mockserver.recording._cassette import UNRECORDED_HEADERS, write_text_atomically
from oa_mockserver.recording._redact import redact_request, redact_response

ROOT = Path(__file__).resolve().parents[1]
RECORDINGS = ROOT / "tests" / "reference" / "oa-inference-server-recordings.jsonl"
#: The recordings' API root (tests/reference/README.md, "Settings").
BASE_URL = "http://127.0.0.1:8000"
SOURCE = "LAION-AI/Open-Assistant f1e6ed9526f5817531f3ab85441a40b3671ddccb, inference server"

#: cassette name (under the output directory, without .yaml) -> the exchanges (seq) it holds.
CONVERSATIONS: dict[str, range] = {
    "reference/two_turns": range(1, 48),
    "reference/queued": range(48, 57),
    "reference/pending_no_worker": range(57, 62),
}



def load_exchanges(path: Path = RECORDINGS) -> list[dict[str, Any]]:
    """The recorded exchanges, in order."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _headers(pairs: Iterable[Sequence[str]]) -> tuple[tuple[str, str], ...]:
    return tuple((name, value) for name, value in pairs if name.lower() not in UNRECORDED_HEADERS)


def _body(raw: str | None, encoding: str | None) -> bytes | None:
    if raw is None:
        return None
    if encoding == "base64":
        return base64.b64decode(raw, validate=True)
    return raw.encode("utf-8")


def _chunks(exchange: dict[str, Any]) -> tuple[Chunk, ...]:
    stream = exchange.get("stream")
    if not stream:
        return ()
    headers_at = float(exchange["timing"]["headers_received_s"])
    return tuple(
        Chunk(max(0.0, float(c["t_s"]) - headers_at), c["data"].encode("utf-8"))
        for c in stream["http_chunks"]
        if not c.get("terminating_chunk")
    )


def to_interaction(exchange: dict[str, Any]) -> Interaction:
    """One recorded exchange as a cassette interaction (not yet redacted, episode 0)."""
    request, response = exchange["request"], exchange["response"]
    chunks = _chunks(exchange)
    body = _body(response["body"], response.get("body_encoding")) or b""
    if chunks and b"".join(c.data for c in chunks) != body:
        raise ValueError(f"exchange {exchange['seq']}: the chunks do not join to the body")
    return Interaction(
        request=RecordedRequest(
            method=request["method"],
            uri=BASE_URL + request["target"],
            body=_body(request["body"], request.get("body_encoding")),
            headers=_headers(request["headers"]),
        ),
        response=RecordedResponse(
            status=int(response["status"]),
            reason=response.get("reason") or "",
            headers=_headers(response["headers"]),
            body=body,
            chunks=chunks,
        ),
    )


def _chat_of(exchange: dict[str, Any]) -> str | None:
    """The chat an exchange belongs to: the one in its path, or the one its creation made."""
    parts = exchange["request"]["path"].strip("/").split("/")
    if len(parts) >= 2 and parts[0] == "chats":
        return str(parts[1])
    response = exchange["response"]
    if exchange["request"]["method"] == "POST" and parts == ["chats"] and response["status"] == 200:
        return str(json.loads(response["body"])["id"])
    return None


def episodes_by_chat(exchanges: Sequence[dict[str, Any]]) -> list[int]:
    """Each exchange's episode: the number of its chat (first seen first), else the last one's."""
    numbers: dict[str, int] = {}
    result: list[int] = []
    current = 0
    for exchange in exchanges:
        chat = _chat_of(exchange)
        if chat is not None and not chat.startswith("no-such-"):
            current = numbers.setdefault(chat, len(numbers))
        result.append(current)
    return result


def conversation(exchanges: Sequence[dict[str, Any]], redactor: Redactor) -> Cassette:
    """The redacted cassette of one conversation's exchanges."""
    interactions = []
    broken = []
    for index, (exchange, episode) in enumerate(
        zip(exchanges, episodes_by_chat(exchanges), strict=True)
    ):
        raw = to_interaction(exchange)
        interactions.append(
            Interaction(
                request=redact_request(redactor, raw.request),
                response=redact_response(redactor, raw.response),
                episode=episode,
            )
        )
        if exchange["connection"].get("closed_by_client_after_limit"):
            broken.append(str(index))
    seqs = [e["seq"] for e in exchanges]
    metadata: dict[str, Any] = {
        "recorded_with": f"the genuine server ({SOURCE}); scripts/reference_to_cassettes.py",
        "source": f"tests/reference/oa-inference-server-recordings.jsonl, seq {seqs[0]}-{seqs[-1]}",
    }
    if broken:
        metadata["disconnected"] = ",".join(broken)
    return Cassette(interactions=tuple(interactions), metadata=metadata)


def render(exchanges: Sequence[dict[str, Any]] | None = None) -> dict[str, str]:
    """``{relative file name: YAML text}`` of every reference cassette."""
    loaded = list(exchanges) if exchanges is not None else load_exchanges()
    by_seq = {e["seq"]: e for e in loaded}
    redactor = Redactor.default()
    return {
        f"{name}.yaml": dump_cassette(conversation([by_seq[s] for s in seqs], redactor))
        for name, seqs in CONVERSATIONS.items()
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Write the cassettes (or, with ``--check``, say which differ from the files)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", default=str(ROOT / "cassettes"), help="cassette directory")
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if a file would change"
    )
    args = parser.parse_args(argv)
    stale = []
    for name, text in render().items():
        target = Path(args.out) / name
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current == text:
            continue
        stale.append(str(target))
        if not args.check:
            write_text_atomically(target, text)
            print(f"wrote {target}")
    if args.check and stale:
        print("out of date (re-run scripts/reference_to_cassettes.py): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
