"""Reply generation and the simulated worker pool."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oa_mockserver import ServerConfig
from oa_mockserver._server.generation import (
    _EVENTS,
    LOREM_WORDS,
    Engine,
    Generation,
    _lorem,
    lorem_tokens,
    reply_tokens,
)
from oa_mockserver._server.state import ChatStore, Message
from oa_mockserver._server.wire import message_event, token_event


@given(st.integers(1, 300), st.integers(0, 2**32))
def test_lorem_tokens_shape(count: int, seed: int) -> None:
    tokens = lorem_tokens(random.Random(seed), count)
    assert len(tokens) == count
    assert all(t.endswith(" ") for t in tokens[:-1])
    assert not tokens[-1].endswith(" ")
    assert tokens[-1].endswith(".")
    assert all(t.strip().rstrip(".").lower() in LOREM_WORDS for t in tokens)


def _lorem_by_loop(picks: bytes, lengths: bytes) -> list[str]:
    """The generator's rules written as a plain loop over the sentences (the reference)."""
    words = [LOREM_WORDS[b % len(LOREM_WORDS)] for b in picks]
    tokens = [word + " " for word in words]
    start = 0
    for byte in lengths:
        end = min(start + 4 + byte % 6, len(words)) - 1
        if end == start:
            tokens[start] = words[start].capitalize() + ". "
        else:
            tokens[start] = words[start].capitalize() + " "
            tokens[end] = words[end] + ". "
        start = end + 1
        if start >= len(words):
            break
    tokens[-1] = tokens[-1].rstrip(" ")
    return tokens


@given(st.binary(min_size=1, max_size=300), st.integers(0, 2**32))
def test_lorem_is_the_plain_loop(picks: bytes, seed: int) -> None:
    lengths = random.Random(seed).randbytes(len(picks) // 4 + 1)
    assert _lorem(picks, lengths) == _lorem_by_loop(picks, lengths)


@given(
    st.lists(st.integers(1, 40), min_size=1, max_size=3),
    st.integers(0, 2**32),
    st.lists(st.text(max_size=5), max_size=4),
)
def test_extend_gives_each_token_its_event(counts: list[int], seed: int, other: list[str]) -> None:
    """Generated tokens take the table of made events, any other text the encoder: same bytes."""
    message = Message("m", "p", "c", "assistant", "in_progress", "2026-01-01T00:00:00")
    generation = Generation(message)
    texts: list[str] = []
    for count in counts:
        batch = lorem_tokens(random.Random(seed), count)
        generation.extend(batch)
        generation.extend(other)
        texts += [*batch, *other]
    assert generation.texts == texts
    assert generation.chunks == [token_event(text) for text in texts]


def test_reply_is_deterministic_and_capped() -> None:
    args: dict[str, Any] = {
        "model": "m",
        "thread": ["hi"],
        "sampling": {"max_new_tokens": 5},
        "system_prompt": None,
        "count": 64,
        "mode": "lorem",
    }
    assert reply_tokens(**args) == reply_tokens(**args)
    assert len(reply_tokens(**args)) == 5
    assert reply_tokens(**args) != reply_tokens(**{**args, "thread": ["ho"]})


@given(st.text(max_size=40))
def test_echo_joins_back_to_the_prompt(prompt: str) -> None:
    tokens = reply_tokens(
        model="m", thread=[prompt], sampling={}, system_prompt=None, count=8, mode="echo"
    )
    assert "".join(tokens) == prompt


def _engine(**options: Any) -> tuple[Engine, ChatStore, list[Message]]:
    store = ChatStore()
    engine = Engine(
        ServerConfig(token_interval=0.0, first_token_delay=0.0, reply_tokens=4, **options), store
    )
    messages = []
    for _ in range(3):
        chat = store.create_chat("u")
        prompter = store.add_prompter_message("u", chat.id, None, "x")
        messages.append(
            store.add_assistant_message(
                "u", chat.id, prompter.id, work_parameters={}, model="_lorem"
            )
        )
    return engine, store, messages


@pytest.mark.asyncio
async def test_unpaced_generation_completes_synchronously() -> None:
    engine, _, messages = _engine()
    generation = engine.submit(messages[0])
    assert messages[0].state == "complete"
    assert messages[0].content == "".join(generation.texts)
    assert len(generation.chunks) == 4
    assert generation.final is not None
    assert engine.busy == 0


@pytest.mark.asyncio
async def test_unserved_models_wait_with_true_positions() -> None:
    engine, _, messages = _engine(unserved_models=frozenset({"_lorem"}))
    generations = [engine.submit(m) for m in messages]
    assert [engine.queue_position(g) for g in generations] == [(1, 3), (2, 3), (3, 3)]
    engine.cancel([messages[0].id])
    assert messages[0].state == "cancelled"
    assert generations[0].ended
    assert engine.queue_position(generations[2]) == (2, 2)


@given(st.integers(1, 300), st.integers(0, 2**32))
def test_lorem_sentences_have_four_to_nine_words(count: int, seed: int) -> None:
    tokens = lorem_tokens(random.Random(seed), count)
    lengths, current = [], 0
    for token in tokens:
        current += 1
        if token.rstrip().endswith("."):
            lengths.append(current)
            current = 0
    assert current == 0  # the reply ends a sentence
    assert all(4 <= n <= 9 for n in lengths[:-1])
    assert 1 <= lengths[-1] <= 9  # the last one is cut to fit
    starts = [0] + [i + 1 for i, t in enumerate(tokens[:-1]) if t.rstrip().endswith(".")]
    assert all(tokens[i][0].isupper() for i in starts)
    assert not any(t[0].isupper() for i, t in enumerate(tokens) if i not in starts)


def test_every_lorem_token_is_plain_json_text() -> None:
    """What lets a lorem reply's content skip the escape check in its final event."""
    for token in _EVENTS:
        assert token.isascii()
        assert token.isprintable()
        assert '"' not in token
        assert "\\" not in token


@pytest.mark.parametrize("paced", [False, True])
@pytest.mark.parametrize(
    "texts", [["Ipsum ", "dolor."], ['Say "hi" ', "\\n\u00e9\U0001f600"], ["Ipsum ", "\t"]]
)
def test_the_final_event_is_the_encoded_message_for_any_tokens(
    paced: bool, texts: list[str]
) -> None:
    message = Message("m", "p", "c", "assistant", "in_progress", "2026-01-01T00:00:00")
    generation = Generation(message)
    if paced:
        for text in texts:
            generation.push(text)
    else:
        generation.extend(texts)
    generation.finish()
    assert generation.final == message_event(message.read())
