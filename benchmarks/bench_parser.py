"""Bytes -> typed chat events: oa_provider's parser against the floor and other SSE decoders.

Run:  .venv/bin/python benchmarks/bench_parser.py [--quick]

The stream is shaped like the real inference server's: 200,000 token events
(``data: {json}\\r\\n\\r\\n``, realistic words including non-ASCII, JSON as Python's
``json.dumps`` writes it), a ``: ping - <timestamp>`` comment every 500 events, and a
final message event. Each contestant turns the bytes, fed in 64 KiB and in 1 KiB
chunks, into decoded events; events/s is the median of 5 runs. The floor is the
least work a correct-for-this-shape Python parser can do: split on CRLF with a
carried remainder and ``json.loads`` each ``data: `` line. Our decoders run with a
``max_event_size`` in force (its checks cost what they cost) that the final message
event, which carries the whole 1.3 MB reply, stays under.
"""

from __future__ import annotations

import argparse
import codecs
import json
import random
import sys
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import median_seconds, print_table

from oa_provider import ChatEventDecoder, MessageEvent, SSEDecoder, TokenEvent, parse_event

WORDS = (
    *[
        "Neque",
        "numquam",
        "amet",
        "dolorem",
        "ipsum",
        "magnam",
        "porro",
        "labore",
        "est",
        "ut",
        "velit",
    ],
    *[
        "Привет",
        "мир",
        "café",
        "naïve",
        "façade",
        "über",
        "straße",
        "日本語",
        "東京",
        "😀",
        "🚀",
        "—",
        "“quoted”",
    ],
    *[
        "the",
        "of",
        "and",
        "to",
        "in",
        "is",
        "that",
        "it",
        "for",
        "was",
        "on",
        "are",
        "as",
        "with",
        "his",
        "they",
    ],
)


def build_stream(n_tokens: int, seed: int = 7) -> tuple[bytes, int]:
    """The body and the number of events a parser must return (tokens + final message)."""
    rng = random.Random(seed)
    parts: list[bytes] = []
    texts: list[str] = []
    for i in range(n_tokens):
        if i and i % 500 == 0:
            parts.append(f": ping - 2026-11-23 19:40:{i % 60:02d}.367684\r\n\r\n".encode())
        text = rng.choice(WORDS) + " "
        texts.append(text)
        parts.append(f"data: {json.dumps({'event_type': 'token', 'text': text})}\r\n\r\n".encode())
    message = {
        "id": "06b04969-be7a-7d33-8000-ca879838c910",
        "parent_id": "06b04969-bdf7-71dc-8000-79fbcabbdf33",
        "content": "".join(texts),
        "chat_id": "06b04969-bd73-740d-8000-792f29c174a4",
        "created_at": "2026-11-23T19:40:11.840665",
        "role": "assistant",
        "state": "complete",
        "score": 0,
        "reports": [],
        "work_parameters": {"seed": 13440150611403279461, "plugins": [], "plugin_max_depth": 4},
        "safe_content": None,
        "safety_level": None,
        "safety_label": None,
        "safety_rots": None,
        "used_plugin": None,
    }
    final = json.dumps({"event_type": "message", "message": message})
    parts.append(f"data: {final}\r\n\r\n".encode())
    return b"".join(parts), n_tokens + 1


def chunked(body: bytes, size: int) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)]


# -- contestants: each takes the chunks and returns the decoded events ------------------


def floor(chunks: list[bytes]) -> list[object]:
    loads = json.loads
    out: list[object] = []
    append = out.append
    pending: list[bytes] = []  # the unfinished line's pieces: joined once per LF, not per chunk
    for chunk in chunks:
        pending.append(chunk)
        if b"\n" not in chunk:
            continue
        lines = b"".join(pending).split(b"\r\n")
        pending = [lines.pop()]
        for line in lines:
            if line[:6] == b"data: ":
                append(loads(line[6:]))
    return out


#: Above the final message event of a 200,000-token stream (the default, 1 MiB, is not).
MAX_EVENT_SIZE = 16 * 1024 * 1024


def ours(chunks: list[bytes]) -> list[object]:
    decoder = ChatEventDecoder(max_event_size=MAX_EVENT_SIZE)
    out: list[object] = []
    for chunk in chunks:
        out += decoder.feed(chunk)
    out += decoder.close()
    return out


def ours_general(chunks: list[bytes]) -> list[object]:
    decoder = SSEDecoder(max_event_size=MAX_EVENT_SIZE)
    out: list[object] = []
    for chunk in chunks:
        for sse in decoder.feed(chunk):
            event = parse_event(sse)
            if event is not None:
                out.append(event)
    return out


def httpx_sse(chunks: list[bytes]) -> list[object]:
    # What httpx-sse's EventSource does per chunk: iter_text -> SSELineDecoder -> SSEDecoder.
    from httpx_sse._decoders import SSEDecoder as HSSEDecoder
    from httpx_sse._decoders import SSELineDecoder

    text_decoder = codecs.getincrementaldecoder("utf-8")("replace")
    lines, sse_decoder = SSELineDecoder(), HSSEDecoder()
    out: list[object] = []
    for chunk in chunks:
        for line in lines.decode(text_decoder.decode(chunk)):
            sse = sse_decoder.decode(line)
            if sse is not None:
                out.append(sse.json())
    return out


def sseclient_py(chunks: list[bytes]) -> list[object]:
    import sseclient

    def source() -> Iterator[bytes]:
        yield from chunks

    loads = json.loads
    return [loads(event.data) for event in sseclient.SSEClient(source()).events()]


CONTESTANTS: list[tuple[str, Callable[[list[bytes]], list[object]]]] = [
    ("floor: split CRLF + json.loads", floor),
    ("oa_provider ChatEventDecoder", ours),
    ("oa_provider SSEDecoder + parse_event", ours_general),
    ("httpx-sse 0.4 decoders + .json()", httpx_sse),
    ("sseclient-py + json.loads", sseclient_py),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 5,000 tokens, 1 run")
    parser.add_argument("--tokens", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    n_tokens, repeat = (5_000, 1) if args.quick else (args.tokens, args.repeat)

    body, n_events = build_stream(n_tokens)
    reference = ours([body])
    assert len(reference) == n_events
    assert isinstance(reference[-1], MessageEvent)
    assert all(isinstance(e, TokenEvent) for e in reference[:-1])
    print(
        f"stream: {n_tokens:,} token events + 1 message, {len(body) / 1e6:.1f} MB, "
        f"median of {repeat} run(s)\n"
    )

    rows = []
    for size_name, size in (("64 KiB", 64 * 1024), ("1 KiB", 1024)):
        chunks = chunked(body, size)
        rates: dict[str, float] = {}
        for name, run in CONTESTANTS:
            events = run(chunks)
            if len(events) != n_events:
                raise SystemExit(f"{name} returned {len(events)} events, expected {n_events}")
            rates[name] = n_events / median_seconds(partial(run, chunks), repeat)
        base, httpx_rate = rates[CONTESTANTS[0][0]], rates[CONTESTANTS[3][0]]
        for name, _ in CONTESTANTS:
            rows.append(
                [
                    size_name,
                    name,
                    f"{rates[name]:,.0f}",
                    f"{rates[name] / base:.2f}x",
                    f"{rates[name] / httpx_rate:.2f}x",
                ]
            )
    print_table(["chunks", "parser", "events/s", "vs floor", "vs httpx-sse"], rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
