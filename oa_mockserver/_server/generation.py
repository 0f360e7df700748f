"""Simulated inference workers and the reply generator.

Theory of operation. Posting an assistant message hands it to the :class:`Engine`, as the real
server hands it to its work queue. With a free worker the message starts at once (``pending`` ->
``in_progress``), otherwise it queues, and a message for a model in ``unserved_models`` waits
forever, like the reference's ``distilgpt2`` message that no worker served. A running message
produces its tokens into its :class:`Generation`, a per-message buffer of pre-encoded SSE events,
so every stream that opens before the end replays them from the first (the real server's Redis
queue keeps undelivered tokens the same way) and many streams share the same bytes.

Pacing costs nothing when it is off: with ``token_interval`` and ``first_token_delay`` both 0 the
whole reply is produced synchronously, with no task and no timer. Otherwise each running message
is a schedule on the engine's :class:`~.wheel.Wheel` (one timer per time bucket for all of them,
no task per message): its next token (or recorded piece) is pushed when due, and the push writes
it at once to every stream attached to the generation (:attr:`Generation.sinks`, see
:mod:`.stream`). Streams that are not attached (the fault path) park on one shared future per
generation that is resolved whenever something changes.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import re
from collections import deque
from collections.abc import Sequence
from itertools import accumulate
from typing import Any, Protocol

import msgspec

from ..recording._replay import RecordedReply, ReplayLibrary, ReplayPlan
from .config import ServerConfig
from .state import ChatStore, Message, transition
from .wheel import Wheel, resolution_for
from .wire import token_event

__all__ = [
    "LOREM_WORDS",
    "TOKEN_EVENTS",
    "Engine",
    "Generation",
    "Sink",
    "lorem_tokens",
    "reply_tokens",
]

#: The word list of the ``lorem`` package the reference worker draws from.
LOREM_WORDS = (
    "adipisci", "aliquam", "amet", "consectetur", "dolor", "dolore", "dolorem", "eius", "est",
    "etincidunt", "ipsum", "labore", "magnam", "modi", "neque", "non", "numquam", "porro",
    "quaerat", "quiquia", "quisquam", "sed", "sit", "tempora", "ut", "velit", "voluptatem",
)  # fmt: skip


_SHAKE = hashlib.shake_128()  # copied per reply: no lookup of the algorithm each time
_KEY = msgspec.json.Encoder(order="sorted").encode


def _stream_of(parts: Sequence[Any], size: int) -> bytes:
    """``size`` pseudo-random bytes determined by ``parts`` (an extendable-output hash).

    Why not ``random.Random`` or ``repr``: seeding one per reply, or the repr of the sampling
    floats, cost more than the reply itself. The key is canonical JSON (sorted keys).
    """
    try:
        key = _KEY(parts)
    except (UnicodeEncodeError, msgspec.EncodeError, OverflowError, TypeError):
        # a lone surrogate in a prompt, say: JSON cannot carry it, repr can
        key = repr(parts).encode("utf-8", "surrogatepass")
    digest = _SHAKE.copy()
    digest.update(key)
    return digest.digest(size)


# 256 is not a multiple of the 27 words: the first 13 come up 10 times in 256, the others 9.
# Near-uniform is enough for filler text, and bytes are what one C call draws cheaply.
_WORD_OF = bytes(b % len(LOREM_WORDS) for b in range(256))  # a ``bytes.translate`` table
_LENGTH_OF = bytes(4 + b % 6 for b in range(256))  # sentences of 4 to 9 words
# Lists, not tuples: a list's __getitem__ is called directly by map(), a tuple's through a
# wrapper that packs each argument into a new tuple.
_PLAIN = [word + " " for word in LOREM_WORDS]
_FIRST = [word.capitalize() + " " for word in LOREM_WORDS]
_LAST = [word + ". " for word in LOREM_WORDS]
_ONLY = [word.capitalize() + ". " for word in LOREM_WORDS]
#: The token event of every token :func:`_lorem` makes (the very last has no trailing space).
TOKEN_EVENTS = _EVENTS = {
    token: token_event(token)
    for table in (_PLAIN, _FIRST, _LAST, _ONLY)
    for word in table
    for token in (word, word.rstrip(" "))
}


def lorem_tokens(rng: random.Random, count: int) -> list[str]:
    """``count`` lorem-ipsum tokens: sentences of 4 to 9 words, each word with one trailing space.

    As in the reference worker, a sentence's first word is capitalised, its last ends with ``.``,
    and the very last token has no trailing space (the last sentence is cut short to fit).
    """
    if count <= 0:
        return []
    return _lorem(rng.randbytes(count), rng.randbytes(count // 4 + 1))


def _lorem(picks: bytes, lengths: bytes) -> list[str]:
    """Lorem tokens from random bytes: one per word, and one per sentence (enough for all)."""
    # Why bytes and small tables: this runs for every reply, and per-word ``rng.choice`` calls
    # and string building were most of an unpaced reply's cost.
    words = picks.translate(_WORD_OF)
    count = len(words)
    tokens = list(map(_PLAIN.__getitem__, words))
    start = 0
    last = count - 1
    for length in lengths.translate(_LENGTH_OF):
        end = start + length - 1
        if end > last:
            end = last
        if end == start:
            tokens[start] = _ONLY[words[start]]
        else:
            tokens[start] = _FIRST[words[start]]
            tokens[end] = _LAST[words[end]]
        start = end + 1
        if start >= count:
            break
    tokens[-1] = tokens[-1].rstrip(" ")
    return tokens


_ECHO_PIECES = re.compile(r"\s*\S+\s*|\s+")


def reply_tokens(
    *,
    model: str,
    thread: Sequence[str | None],
    sampling: dict[str, Any],
    system_prompt: str | None,
    count: int,
    mode: str,
) -> list[str]:
    """The deterministic reply to a prompt thread: same inputs, same tokens, byte for byte.

    Args:
        model: the model config name.
        thread: the contents of the messages before the reply, root first.
        sampling: the sampling parameters (all six keys).
        system_prompt: the request's system prompt, if any.
        count: tokens of a ``lorem`` reply (capped by ``max_new_tokens``).
        mode: ``"lorem"`` or ``"echo"`` (the last message's text, split after whitespace).
    """
    limit = max(1, min(count, int(sampling.get("max_new_tokens") or count)))
    if mode == "echo":
        prompt = thread[-1] if thread and thread[-1] else ""
        pieces = _ECHO_PIECES.findall(prompt) or [""]
        return (
            pieces if len(pieces) <= limit else [*pieces[: limit - 1], "".join(pieces[limit - 1 :])]
        )
    data = _stream_of([model, thread, sampling, system_prompt], limit + limit // 4 + 1)
    return _lorem(data[:limit], data[limit:])


class Sink(Protocol):
    """A stream attached to a generation: told of every change as it happens."""

    def on_change(self) -> None:
        """A chunk was added, or the final event, or the generation ended."""


class Generation:
    """The reply of one assistant message: its token events so far and, at the end, the final event.

    Streams read :attr:`chunks` from their own index; either they attach to :attr:`sinks` and are
    called at every change, or they park on :meth:`wait` when they have seen everything.
    """

    __slots__ = (
        "_waiter", "chunks", "delivered", "due", "ended", "final", "generated", "message",
        "plan", "sinks", "step", "texts",
    )  # fmt: skip

    def __init__(self, message: Message) -> None:
        self.message = message
        self.texts: list[str] = []
        self.chunks: list[bytes] = []
        self.final: bytes | None = None
        self.ended = False  # cancelled or server closing: streams end without a final event
        self.delivered = False  # a stream has sent the final event: later streams get 204
        #: True for a generated reply: token events, then the ``message`` event (not a replay).
        self.generated = True
        self._waiter: asyncio.Future[None] | None = None
        #: Streams written to from the pacing clock, in the order they attached.
        self.sinks: list[Sink] = []
        # the engine's paced schedule: what comes next (tokens or recorded pieces), and when
        self.plan: Sequence[Any] = ()
        self.step = 0
        self.due = 0.0

    def wait(self) -> asyncio.Future[None]:
        """A future resolved at the next change (token, end, cancellation)."""
        if self._waiter is None or self._waiter.done():
            self._waiter = asyncio.get_running_loop().create_future()
        return self._waiter

    def wake(self) -> None:
        """Resolve the current waiter, if any, and tell every attached stream."""
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)
        for sink in self.sinks:
            sink.on_change()

    def push(self, text: str) -> None:
        """Append one token."""
        self.texts.append(text)
        event = _EVENTS.get(text)
        self.chunks.append(event if event is not None else token_event(text))
        self.wake()

    def push_last(self, text: str) -> None:
        """Append the last token and complete the message: one change, so that an attached
        stream writes both in one go."""
        self.texts.append(text)
        event = _EVENTS.get(text)
        self.chunks.append(event if event is not None else token_event(text))
        self.finish()

    def extend(self, texts: Sequence[str]) -> None:
        """Append tokens that are all ready at once (an unpaced reply): one wake-up for all."""
        self.texts.extend(texts)
        chunks = self.chunks
        before = len(chunks)
        try:
            # a generated reply's tokens all have their event made already
            chunks.extend(map(_EVENTS.__getitem__, texts))
        except KeyError:  # echoed or recorded tokens
            del chunks[before:]
            chunks.extend(map(token_event, texts))
        self.wake()

    def finish(self) -> None:
        """Complete the message with the joined tokens and build the final ``message`` event."""
        transition(self.message, "finish", content="".join(self.texts))
        self.final = self.message.event()
        self.wake()

    def end(self) -> None:
        """Stop without a final event (the chat was deleted or the server is closing)."""
        self.ended = True
        self.wake()

    def push_raw(self, pieces: Sequence[bytes], *, wake: bool = True) -> None:
        """Append recorded pieces of a replayed stream, each written as one HTTP chunk; pieces
        pushed together go out in one write (``wake=False``: the caller wakes, finishing next)."""
        self.chunks.extend(pieces)
        if wake:
            self.wake()

    def finish_recorded(self, final: bytes, content: str) -> None:
        """Complete a replayed message: ``final`` is the last recorded piece, as recorded."""
        transition(self.message, "finish", content=content)
        self.final = final
        self.wake()


class Engine:
    """A pool of simulated workers that turn assistant messages into token streams."""

    def __init__(self, config: ServerConfig, store: ChatStore) -> None:
        self.config = config
        self.store = store
        #: The recorded replies of ``config.cassettes`` (None: every reply is generated).
        self.replay: ReplayLibrary | None = (
            ReplayLibrary.load(config.cassettes, config.replay_settings)
            if config.cassettes is not None
            else None
        )
        self.closing = False
        self._generations: dict[str, Generation] = {}
        self._queue: deque[Generation] = deque()
        self._unserved: dict[str, list[Generation]] = {}
        self._busy = 0
        # paced messages on the wheel, by id (cancel and close count and stop them)
        self._paced: dict[str, Generation] = {}
        self._wheel_: Wheel | None = None
        self._resolution = resolution_for(config.token_interval, config.first_token_delay)
        # bound once: a bound method made per scheduled token would cost an object each time
        self._on_token = self._token_due
        self._on_piece = self._piece_due

    # -- queries -----------------------------------------------------------------------------

    def generation(self, message_id: str) -> Generation | None:
        """The generation of an assistant message, or None if it has none (any more)."""
        return self._generations.get(message_id)

    def queue_position(self, generation: Generation) -> tuple[int, int]:
        """``(position, size)`` of a waiting message (1-based); ``(0, 0)`` once it runs."""
        model = self._model(generation.message)
        waiting = self._unserved.get(model)
        if waiting is not None and generation in waiting:
            return waiting.index(generation) + 1, len(waiting)
        if generation in self._queue:
            return self._queue.index(generation) + 1, len(self._queue)
        return 0, 0

    @property
    def busy(self) -> int:
        """Workers running a message now."""
        return self._busy

    def wheel(self) -> Wheel:
        """The pacing clock of the running loop (one per engine and loop; streams share it)."""
        wheel = self._wheel_
        loop = asyncio.get_running_loop()
        if wheel is None or wheel.loop is not loop:
            wheel = self._wheel_ = Wheel(loop, self._resolution)
        return wheel

    # -- lifecycle of messages ---------------------------------------------------------------

    def submit(self, message: Message, recorded: RecordedReply | None = None) -> Generation:
        """Hand a new ``pending`` assistant message to the workers.

        With ``recorded`` (a matched cassette reply) no worker runs: the recorded stream is
        replayed into the message's generation with the server's replay timing.
        """
        generation = Generation(message)
        self._generations[message.id] = generation
        if recorded is not None and self.replay is not None:
            generation.generated = False
            self._replay(generation, recorded, self.replay)
            return generation
        model = self._model(message)
        if model in self.config.unserved_models:
            self._unserved.setdefault(model, []).append(generation)
        else:
            self._queue.append(generation)
            self._pump()
        return generation

    def cancel(self, message_ids: Sequence[str]) -> None:
        """Stop the messages of a deleted chat; their open streams end."""
        for message_id in message_ids:
            generation = self._generations.pop(message_id, None)
            if generation is None:
                continue
            if generation in self._queue:
                self._queue.remove(generation)
            for waiting in self._unserved.values():
                if generation in waiting:
                    waiting.remove(generation)
            if self._paced.pop(message_id, None) is not None:
                self._busy -= 1  # its next entry on the wheel finds it ended and does nothing
            if not generation.message.finished:
                transition(generation.message, "cancel")
            generation.end()
        self._pump()

    def close(self) -> None:
        """Server shutdown: stop every worker and end every open stream."""
        self.closing = True
        self._paced.clear()
        for generation in self._generations.values():
            generation.end()

    def reset(self) -> None:
        """Forget every generation (the store is being emptied)."""
        self.cancel(list(self._generations))
        self._queue.clear()
        self._unserved.clear()

    # -- workers -----------------------------------------------------------------------------

    def _model(self, message: Message) -> str:
        if message.model is not None:
            return message.model
        params = message.work_parameters or {}
        name: str = params.get("model_config", {}).get("model_id", "")
        return name

    def _pump(self) -> None:
        limit = self.config.workers
        while self._queue and (limit is None or self._busy < limit) and not self.closing:
            self._start(self._queue.popleft())

    def _start(self, generation: Generation) -> None:
        """A worker takes ``generation``: all of it at once when unpaced, else on the wheel."""
        self._busy += 1
        transition(generation.message, "start")
        tokens = self._tokens(generation.message)
        if self.config.token_interval == 0 and self.config.first_token_delay == 0:
            generation.extend(tokens)
            generation.finish()
            self._busy -= 1
        else:
            wheel = self.wheel()
            generation.plan = tokens
            generation.due = wheel.loop.time() + self.config.first_token_delay
            self._paced[generation.message.id] = generation
            wheel.call_at(generation.due, self._on_token, generation)

    def _token_due(self, generation: Generation) -> None:
        """The wheel's call for a paced generation's next token (and the final event after it)."""
        if generation.ended or self.closing:
            return  # cancelled: the entry was stale
        plan, step = generation.plan, generation.step
        step += 1
        if step < len(plan):
            generation.push(plan[step - 1])
            generation.step = step
            wheel = self._wheel_
            assert wheel is not None
            # due from the schedule, not from now: a late tick does not push every later token
            # back; but never in the past, so a stalled loop does not make a burst
            generation.due = max(generation.due + self.config.token_interval, wheel.loop.time())
            wheel.call_at(generation.due, self._on_token, generation)
            return
        generation.plan = ()
        generation.push_last(plan[step - 1])
        self._release(generation)

    def _release(self, generation: Generation) -> None:
        if self._paced.pop(generation.message.id, None) is not None:
            self._busy -= 1
            self._pump()

    def _replay(
        self, generation: Generation, recorded: RecordedReply, library: ReplayLibrary
    ) -> None:
        message = generation.message
        live_ids = [m.id for m in self.store.thread(message)]
        plan = library.plan(recorded, message.chat_id, live_ids)
        transition(message, "start")
        if not any(plan.delays):
            _feed_plan(generation, plan)
            return
        wheel = self.wheel()
        # the recorded offsets, from the edge of this bucket (at most one bucket from now):
        # piece i is due at start + offsets[i], and replays begun in one bucket share every tick
        # (accumulate: the running sum in C, the same additions in the same order)
        start = wheel.edge(wheel.loop.time())
        offsets = [start + total for total in accumulate(plan.delays)]
        # with the counts _piece_due needs at every piece (the final piece: _finish_recorded's)
        generation.plan = (plan, offsets, len(offsets), len(plan.pieces) - 1)
        self._paced[message.id] = generation
        self._busy += 1  # cancel() and close() count replays like worker messages
        wheel.call_at(offsets[0], self._on_piece, generation)

    def _piece_due(self, generation: Generation) -> None:
        """The wheel's call for a paced replay's next recorded piece (the last one: its end)."""
        if generation.ended or self.closing:
            return
        plan, offsets, count, last = generation.plan
        step = generation.step
        wheel = self._wheel_
        assert wheel is not None
        # the later pieces due in this piece's bucket (they would run in this tick anyway: a
        # last token and the final event, recorded as one write) go out with it, in one write
        end = step + 1
        if end < count:
            edge = wheel.edge(offsets[step])
            while end < count and offsets[end] <= edge:
                end += 1
        if end < count:
            generation.push_raw(plan.pieces[step : end if end < last else last])
            generation.step = end
            wheel.call_at(offsets[end], self._on_piece, generation)
            return
        generation.push_raw(plan.pieces[step:last], wake=False)
        generation.plan = ()
        _finish_recorded(generation, plan)
        self._release(generation)

    def _tokens(self, message: Message) -> list[str]:
        params = message.work_parameters or {}
        thread = [m.content for m in self.store.thread(message)[:-1]]
        return reply_tokens(
            model=self._model(message),
            thread=thread,
            sampling=params.get("sampling_parameters") or {},
            system_prompt=params.get("system_prompt"),
            count=self.config.reply_tokens,
            mode=self.config.reply_mode,
        )


def _feed_plan(generation: Generation, plan: ReplayPlan) -> None:
    generation.push_raw(plan.pieces[:-1], wake=False)
    _finish_recorded(generation, plan)


def _finish_recorded(generation: Generation, plan: ReplayPlan) -> None:
    """The last recorded piece goes out as the generation's final chunk.

    Why also for a recording without its final ``message`` event (an ``error`` event, a
    disconnect): the stream must still deliver every recorded byte and then close, as it did;
    the message is left aborted, as the worker left it.
    """
    if not plan.pieces:
        transition(generation.message, "abort")
        generation.end()
        return
    if plan.complete:
        generation.finish_recorded(plan.pieces[-1], plan.content or "")
    else:
        transition(generation.message, "abort")
        generation.final = plan.pieces[-1]
        generation.wake()
