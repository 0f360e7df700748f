"""The OpenAssistant provider: the only module of :mod:`oa_provider` that performs HTTP.

Theory of operation. One call is one conversation of five requests against the web site's API
(protocol.md section 2), on one ``aiohttp.ClientSession`` so the connection is reused:

1. ``POST /api/chat`` creates a chat;
2. ``POST /api/chat/prompter_message`` posts the (flattened) user prompt;
3. ``POST /api/chat/assistant_message`` asks for the reply;
4. ``GET /api/chat/events`` streams it (Server-Sent Events, decoded by :class:`ChatEventDecoder`);
5. ``DELETE /api/chat`` deletes the chat, in a ``finally``: after success, after any error, when
   the caller stops early (``aclose()``) and on cancellation (shielded, retried with backoff on
   5xx, 429 and connection errors within a 5 s budget, never hiding the original error).

What the server sends is bounded by :class:`Limits` (event size, REST answer size, tokens beyond
``max_new_tokens``, ``pending`` events), and no deadline here is built on ``asyncio.wait_for``:
a cancel lands on every Python (see :mod:`_reading`).

Everything that can be checked without the network (messages, sampling parameters, options,
credentials) is checked when the generator is created, so mistakes fail before any request.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from types import MethodType
from typing import Any, ClassVar, Concatenate, Generic, ParamSpec, TypeVar, cast
from urllib.parse import urlsplit

import aiohttp
import msgspec

from ._cookies import CookieInput, Credentials, find_credentials
from ._events import ChatEvent, ChatEventDecoder, ErrorEvent, Message, MessageEvent, PendingEvent
from ._events import TokenEvent as _TokenEvent
from ._exceptions import (
    GenerationError,
    IncompleteStreamError,
    LimitExceededError,
    OAError,
    ProtocolError,
    ResponseError,
    StreamTimeoutError,
    TransportError,
)
from ._http import BODY_EXCERPT_CHARS, error_for_status, map_exceptions
from ._limits import DEFAULT_LIMITS, Limits
from ._options import (
    DEFAULT_STREAM_IDLE_TIMEOUT,
    DEFAULT_TIMEOUT,
    OPTION_DEFAULTS,
    ChatOptions,
    Unpack,
    check_option_names,
    with_option_signature,
)
from ._prompt import Prompt, build_prompt
from ._reading import IdleExpired, read_body, read_idle, within
from ._sampling import SamplingValue, build_sampling_parameters

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MODEL",
    "DEFAULT_STREAM_IDLE_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "DELETE_TIMEOUT",
    "OpenAssistant",
]

logger = logging.getLogger("oa_provider")

#: The web site the original provider talked to (used when neither ``base_url`` nor
#: ``OA_BASE_URL`` is set).
DEFAULT_BASE_URL = "https://open-assistant.io"
#: The model config the original provider asked for.
DEFAULT_MODEL = "OA_SFT_Llama_30B_6"
#: Seconds the final ``DELETE`` may take, retries included, before we give up on it (with a
#: warning).
DELETE_TIMEOUT = 5.0
#: Seconds before the first retry of a failed ``DELETE``; doubled for each next one.
DELETE_RETRY_DELAY = 0.1

# The retries' pause, looked up at call time (tests take the pauses without waiting).
_sleep = asyncio.sleep
_USER_AGENT = "oa-toolkit/0.1 (oa_provider; +https://github.com/LAION-AI/Open-Assistant)"
# States of MessageRead in which the reply will never be completed.
_FAILED_STATES = frozenset({"aborted_by_worker", "cancelled", "timeout"})


@dataclass(frozen=True, repr=False)
class _Plan:
    """Everything one conversation needs, validated. Its repr is the default object repr:
    the credentials inside must never be printed."""

    base_url: str
    model: str
    prompt: Prompt
    sampling: dict[str, SamplingValue]
    plugins: list[Any]
    credentials: Credentials
    proxy: str | None
    timeout: float
    stream_idle_timeout: float | None
    keep_chat: bool
    session: aiohttp.ClientSession | None
    limits: Limits


def _resolve_base_url(base_url: str | None) -> str:
    url = base_url or os.environ.get("OA_BASE_URL") or DEFAULT_BASE_URL
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"base_url must be an http(s) URL such as {DEFAULT_BASE_URL!r}, got {url!r}"
        )
    return url.rstrip("/")


def _positive(name: str, value: object, *, optional: bool = False) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        allowed = "a positive number of seconds" + (" or None" if optional else "")
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return float(value)


class _Conversation:
    """One run of the five steps on one session; keeps the ids and the timings."""

    def __init__(self, plan: _Plan, session: aiohttp.ClientSession) -> None:
        self.plan = plan
        self.session = session
        self.headers = {
            "Cookie": plan.credentials.header(),
            "User-Agent": _USER_AGENT,
            "Accept": "application/json",
        }
        self.call_timeout = aiohttp.ClientTimeout(total=plan.timeout)

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> bytes:
        """Make one JSON request; return the body of a 2xx answer, raise ours for the rest."""
        step = f"{method} {path}"
        headers = self.headers
        data = None
        if body is not None:
            headers = {**headers, "Content-Type": "application/json"}
            data = msgspec.json.encode(body)
        started = time.perf_counter()
        with map_exceptions(step, timeout=self.plan.timeout):
            async with self.session.request(
                method,
                self.plan.base_url + path,
                params=params,
                data=data,
                headers=headers,
                proxy=self.plan.proxy,
                timeout=self.call_timeout,
            ) as response:
                raw = await read_body(response, self.plan.limits.max_response_size, step)
                status = response.status
                retry_after = response.headers.get("Retry-After")
        logger.debug("%s -> %d in %.1f ms", step, status, (time.perf_counter() - started) * 1000)
        if not 200 <= status < 300:
            raise error_for_status(
                status, raw.decode("utf-8", "replace"), step=step, retry_after=retry_after
            )
        return raw

    async def call_for_id(self, path: str, body: Mapping[str, Any] | None) -> str:
        """POST and return the ``id`` of the object the server answered."""
        step = f"POST {path}"
        answer = _json_object(await self.call("POST", path, body=body), step)
        ident = answer.get("id")
        if isinstance(ident, str) and ident:
            return ident
        message = answer.get("message")
        if isinstance(message, str):
            # The seed's step 9: the web site reports some failures as 200 {"message": ...}.
            raise ResponseError(
                f"{step} failed: {message}",
                status=200,
                body=repr(answer)[:BODY_EXCERPT_CHARS],
            )
        raise ProtocolError(
            f"{step} answered an object without a string 'id' (keys: {sorted(answer)}); "
            "check that the base URL is an OpenAssistant web site"
        )

    async def fetch_message(self, chat_id: str, message_id: str) -> Message:
        """GET the assistant message (used when the event stream is empty or answers 204)."""
        path = "/api/chat/message"
        raw = await self.call("GET", path, params={"chat_id": chat_id, "message_id": message_id})
        return Message.from_dict(_json_object(raw, f"GET {path}"))

    async def events(
        self, chat_id: str, message_id: str, partial: list[str]
    ) -> AsyncGenerator[ChatEvent, None]:
        """Stream the reply's events, appending token texts to ``partial``.

        Ends after the final ``message`` event; raises at an ``error`` event (after yielding
        it), at a stall, and at a stream that ends without the final event.
        """
        plan = self.plan
        path = "/api/chat/events"
        step = f"GET {path}"
        # GET, not the original provider's POST: the real web site's handler ignores the
        # method, but GET is what its own page and the inference server's route use, and a
        # GET carries no body a proxy could want to buffer.
        params = {"chat_id": chat_id, "message_id": message_id}
        headers = {**self.headers, "Accept": "text/event-stream"}
        started = time.perf_counter()
        with map_exceptions(step, timeout=plan.timeout):
            response = await within(
                self._open(path, params, headers), plan.timeout, discard=_close_response
            )
        try:
            logger.debug(
                "%s -> %d in %.1f ms (headers)",
                step,
                response.status,
                (time.perf_counter() - started) * 1000,
            )
            if response.status == 204:
                yield await self._finished(chat_id, message_id)
                return
            if not 200 <= response.status < 300:
                with map_exceptions(step, timeout=plan.timeout):
                    raw = await within(
                        read_body(response, plan.limits.max_response_size, step), plan.timeout
                    )
                raise error_for_status(
                    response.status,
                    raw.decode("utf-8", "replace"),
                    step=step,
                    retry_after=response.headers.get("Retry-After"),
                )
            streamed = False
            async for event in self._read(response, step, partial):
                if isinstance(event, _TokenEvent):
                    streamed = True
                elif isinstance(event, PendingEvent):
                    logger.debug(
                        "queued: position %d of %d", event.queue_position, event.queue_size
                    )
                yield event
                if isinstance(event, MessageEvent):
                    return
                if isinstance(event, ErrorEvent):
                    raise GenerationError(
                        f"the server reported a generation error: {event.error}",
                        partial_text="".join(partial),
                    )
            if not streamed:
                # The web site pipes the inference server's 204 for a finished message as an
                # empty 200 (protocol.md section 2): ask for the message itself.
                yield await self._finished(chat_id, message_id)
                return
            raise IncompleteStreamError(
                f"the event stream ended after {len(partial)} tokens without its final "
                "'message' event; the reply is incomplete (see partial_text); retry the request",
                partial_text="".join(partial),
            )
        finally:
            response.release()

    async def _open(
        self, path: str, params: Mapping[str, str], headers: Mapping[str, str]
    ) -> aiohttp.ClientResponse:
        # No total timeout: the stream lasts as long as the reply; stalls are ours to detect.
        return await self.session.get(
            self.plan.base_url + path,
            params=params,
            headers=headers,
            proxy=self.plan.proxy,
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=self.plan.timeout),
        )

    async def _read(
        self, response: aiohttp.ClientResponse, step: str, partial: list[str]
    ) -> AsyncGenerator[ChatEvent, None]:
        plan = self.plan
        limits = plan.limits
        idle = plan.stream_idle_timeout
        decoder = ChatEventDecoder(max_event_size=limits.max_event_size)
        # Limits as numbers (sys.maxsize: none), so the per-event checks are plain compares.
        max_text = _or_unlimited(limits.max_event_size)
        max_pending = _or_unlimited(limits.max_pending_events)
        asked = cast(int, plan.sampling["max_new_tokens"])
        max_tokens = sys.maxsize if limits.extra_tokens is None else asked + limits.extra_tokens
        tokens = pendings = text_size = 0
        reader = response.content
        loop = asyncio.get_running_loop()
        deadline = None if idle is None else loop.time() + idle
        while True:
            try:
                with map_exceptions(step, timeout=plan.timeout):
                    try:
                        chunk = await read_idle(reader, deadline)
                    except IdleExpired:
                        raise StreamTimeoutError(
                            f"no event for {idle:g} s on {step} (after {len(partial)} tokens); "
                            "the server stalled: retry later or raise stream_idle_timeout",
                            partial_text="".join(partial),
                        ) from None
                    except aiohttp.ClientPayloadError as exc:
                        raise IncompleteStreamError(
                            f"the connection broke during {step} after {len(partial)} tokens "
                            f"({type(exc).__name__}); the reply is incomplete (see partial_text)",
                            partial_text="".join(partial),
                        ) from exc
                events = decoder.feed(chunk) if chunk else decoder.close()
            except ProtocolError as error:
                error.partial_text = "".join(partial)
                raise
            for event in events:
                if isinstance(event, _TokenEvent):
                    tokens += 1
                    text_size += len(event.text)
                    if tokens > max_tokens or text_size > max_text:
                        raise _too_many_tokens(tokens, text_size, asked, limits, partial)
                    partial.append(event.text)
                elif isinstance(event, PendingEvent):
                    pendings += 1
                    if pendings > max_pending:
                        raise LimitExceededError(
                            f"{step} sent {pendings} 'pending' events: the request waited in "
                            f"the queue past Limits.max_pending_events={max_pending}; retry "
                            "later, or raise the limit (None waits forever)",
                            limit="max_pending_events",
                            maximum=max_pending,
                            partial_text="".join(partial),
                        )
                yield event
            if not chunk:
                return
            if events and idle is not None:
                # The consumer's time between events does not count as the server's silence.
                deadline = loop.time() + idle

    async def _finished(self, chat_id: str, message_id: str) -> MessageEvent:
        message = await self.fetch_message(chat_id, message_id)
        if message.state == "complete" and message.content is not None:
            return MessageEvent(message=message)
        if message.state in _FAILED_STATES:
            raise GenerationError(
                f"the reply ended in state {message.state!r} without content; retry the request"
            )
        raise IncompleteStreamError(
            f"the event stream ended while the reply was still {message.state!r}; "
            "retry the request later"
        )

    async def delete_chat(self, chat_id: str) -> None:
        """DELETE the chat, retrying a 5xx, a 429 or a connection error, all within
        :data:`DELETE_TIMEOUT`.

        Retries wait :data:`DELETE_RETRY_DELAY`, doubled each time, or the server's
        ``Retry-After`` when it gives one. A failure that outlasts the budget is logged at
        WARNING and swallowed, so it never hides the original error. Callers run this inside
        :func:`_cleanup`, which shields it from cancellation.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DELETE_TIMEOUT
        delay = DELETE_RETRY_DELAY
        while True:
            try:
                await within(
                    self.call("DELETE", "/api/chat", params={"chat_id": chat_id}),
                    deadline - loop.time(),
                )
                return
            except asyncio.TimeoutError:
                logger.warning(
                    "could not delete chat %s: DELETE /api/chat took longer than %g s",
                    chat_id,
                    DELETE_TIMEOUT,
                )
                return
            except (TransportError, ResponseError) as exc:
                if not _worth_retrying(exc):
                    logger.warning("could not delete chat %s: %s", chat_id, exc)
                    return
                wait = delay
                if isinstance(exc, ResponseError) and exc.retry_after is not None:
                    wait = exc.retry_after
                if loop.time() + wait >= deadline:
                    logger.warning(
                        "could not delete chat %s within %g s: %s", chat_id, DELETE_TIMEOUT, exc
                    )
                    return
                logger.debug("DELETE /api/chat failed (%s); retrying in %.2f s", exc, wait)
                await _sleep(wait)
                delay *= 2
            except OAError as exc:
                logger.warning("could not delete chat %s: %s", chat_id, exc)
                return


def _worth_retrying(error: TransportError | ResponseError) -> bool:
    """A connection error, 429 or 5xx may pass; any other answer will be the same next time."""
    if isinstance(error, TransportError):
        return True
    return error.status == 429 or error.status >= 500


def _or_unlimited(limit: int | None) -> int:
    return sys.maxsize if limit is None else limit


def _too_many_tokens(
    tokens: int, text_size: int, asked: int, limits: Limits, partial: list[str]
) -> LimitExceededError:
    if limits.extra_tokens is not None and tokens > asked + limits.extra_tokens:
        return LimitExceededError(
            f"the server sent more than {asked + limits.extra_tokens} token events for "
            f"max_new_tokens={asked} (Limits.extra_tokens={limits.extra_tokens}): it is "
            "broken or hostile; the reply so far is in partial_text",
            limit="extra_tokens",
            maximum=limits.extra_tokens,
            partial_text="".join(partial),
        )
    assert limits.max_event_size is not None  # the other limit that brings us here
    return LimitExceededError(
        f"the reply's text passed {limits.max_event_size} characters, more than its final "
        "message event may carry (Limits.max_event_size); if the server is trusted, raise it",
        limit="max_event_size",
        maximum=limits.max_event_size,
        partial_text="".join(partial),
    )


def _close_response(response: aiohttp.ClientResponse) -> None:
    response.close()


async def _cleanup(conversation: _Conversation, chat_id: str | None, owned: bool) -> None:
    """Step 12 and the session's end, as one unit: closing an owned session while the DELETE
    is in flight would abort the DELETE, so the close always waits for it."""
    try:
        if chat_id is not None and not conversation.plan.keep_chat:
            await conversation.delete_chat(chat_id)
    finally:
        if owned:
            await conversation.session.close()


async def _shielded_cleanup(conversation: _Conversation, chat_id: str | None, owned: bool) -> None:
    task = asyncio.ensure_future(_cleanup(conversation, chat_id, owned))
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        # Cancelled again while cleaning up: let the cleanup finish on its own, report it.
        # The event loop keeps only weak references to tasks: hold this one until it ends.
        _DETACHED_CLEANUPS.add(task)
        task.add_done_callback(_log_cleanup_outcome)
        raise


_DETACHED_CLEANUPS: set[asyncio.Future[None]] = set()


def _log_cleanup_outcome(task: asyncio.Future[None]) -> None:
    _DETACHED_CLEANUPS.discard(task)
    if task.cancelled():
        logger.warning("could not delete chat: the DELETE was cancelled")
    elif task.exception() is not None:
        logger.warning("could not delete chat: %s", task.exception())


def _json_object(raw: bytes, step: str) -> dict[str, Any]:
    try:
        data = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        excerpt = raw[:120].decode("utf-8", "replace")
        raise ProtocolError(
            f"{step} answered a body that is not JSON ({excerpt!r}); check that the base URL "
            "is an OpenAssistant web site and that the session cookie is valid"
        ) from None
    if not isinstance(data, dict):
        raise ProtocolError(f"{step} answered JSON {type(data).__name__}, expected an object")
    return data


async def _run_events(plan: _Plan) -> AsyncGenerator[ChatEvent, None]:
    session = plan.session
    owned = session is None
    if session is None:
        # A jar that keeps nothing: we send the Cookie header ourselves (see _cookies.py).
        session = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
    conversation = _Conversation(plan, session)
    chat_id: str | None = None
    partial: list[str] = []
    try:
        chat_id = await conversation.call_for_id("/api/chat", None)
        prompter_id = await conversation.call_for_id(
            "/api/chat/prompter_message",
            {"chat_id": chat_id, "content": plan.prompt.content, "parent_id": None},
        )
        body: dict[str, Any] = {
            "chat_id": chat_id,
            "parent_id": prompter_id,
            "model_config_name": plan.model,
            "sampling_parameters": plan.sampling,
            "plugins": plan.plugins,
        }
        if plan.prompt.system_prompt is not None:
            body["system_prompt"] = plan.prompt.system_prompt
        assistant_id = await conversation.call_for_id("/api/chat/assistant_message", body)
        async with aclosing(conversation.events(chat_id, assistant_id, partial)) as events:
            async for event in events:
                yield event
    finally:
        await _shielded_cleanup(conversation, chat_id, owned)


async def _run_texts(plan: _Plan) -> AsyncGenerator[str, None]:
    streamed = False
    async with aclosing(_run_events(plan)) as events:
        async for event in events:
            if isinstance(event, _TokenEvent):
                streamed = True
                yield event.text
            elif isinstance(event, MessageEvent) and not streamed and event.message.content:
                # No tokens (a finished message fetched after an empty stream): the whole reply.
                yield event.message.content


_P = ParamSpec("_P")
_R = TypeVar("_R")


class _class_or_instance_method(Generic[_P, _R]):
    """Like ``classmethod``, but bound to the instance when called on one, so an instance's
    connection defaults apply while ``OpenAssistant.create_async_generator(...)`` still works."""

    def __init__(self, func: Callable[Concatenate[Any, _P], _R]) -> None:
        self._func = func
        self.__doc__ = func.__doc__

    def __get__(self, obj: object, objtype: type | None = None) -> Callable[_P, _R]:
        # A bound method keeps the function's name and docstring (help() shows them).
        return cast(Callable[_P, _R], MethodType(self._func, objtype if obj is None else obj))


class OpenAssistant:
    """The OpenAssistant chat provider (the web site's API, cookie-authenticated).

    An instance may carry connection defaults (``base_url``, ``cookies``, ``proxy``,
    ``session``) that its calls use when they do not pass their own. Both generators work on
    the class and on an instance (the seed calls one on an instance)::

        async for text in OpenAssistant().create_async_generator(
            messages=[{"role": "user", "content": "Привет, как дела?"}],
            base_url="http://127.0.0.1:8080", cookies={"next-auth.session-token": "alice"},
        ):
            print(text, end="")
    """

    url: ClassVar[str] = "https://open-assistant.io/chat"
    needs_auth: ClassVar[bool] = True
    #: False as in the original: the public service is shut down; point ``base_url`` at a
    #: server of your own (or at :mod:`oa_mockserver`).
    working: ClassVar[bool] = False
    model: ClassVar[str] = DEFAULT_MODEL

    def __init__(
        self,
        *,
        base_url: str | None = None,
        cookies: CookieInput = None,
        proxy: str | None = None,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.base_url = base_url
        self.proxy = proxy
        self.session = session
        self._cookies = cookies

    def __repr__(self) -> str:
        # Never the cookies.
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    @staticmethod
    def _plan(
        target: type[OpenAssistant] | OpenAssistant,
        model: str | None,
        messages: Sequence[Mapping[str, str]] | None,
        proxy: str | None,
        cookies: CookieInput,
        options: ChatOptions,
    ) -> _Plan:
        check_option_names(options)
        base_url = options.get("base_url")
        session = options.get("session")
        limits = options.get("limits")
        plugins = options.get("plugins")
        # Checked above: every other key is a sampling parameter.
        sampling = {key: value for key, value in options.items() if key not in OPTION_DEFAULTS}
        if isinstance(target, OpenAssistant):
            base_url = base_url or target.base_url
            cookies = cookies if cookies else target._cookies
            proxy = proxy or target.proxy
            session = session or target.session
        if messages is None:
            raise TypeError("messages is required: a list of {'role': ..., 'content': ...} dicts")
        if model is not None and not isinstance(model, str):
            raise TypeError(f"model must be a model config name (str), not {type(model).__name__}")
        prompt = build_prompt(messages, prompt_template=options.get("prompt_template"))
        params = build_sampling_parameters(sampling, preset=options.get("preset"))
        if plugins is None:
            plugin_list: list[Any] = []
        elif isinstance(plugins, Sequence) and all(isinstance(p, Mapping) for p in plugins):
            plugin_list = [dict(p) for p in plugins]
        else:
            raise TypeError("plugins must be a list of plugin objects (dicts)")
        if session is not None and not isinstance(session, aiohttp.ClientSession):
            raise TypeError(
                f"session must be an aiohttp.ClientSession, not {type(session).__name__}"
            )
        call_timeout = _positive("timeout", options.get("timeout", DEFAULT_TIMEOUT))
        assert call_timeout is not None  # not optional
        if limits is not None and not isinstance(limits, Limits):
            raise TypeError(f"limits must be an oa_provider.Limits, not {type(limits).__name__}")
        url = _resolve_base_url(base_url)
        return _Plan(
            base_url=url,
            model=model or target.model,
            prompt=prompt,
            sampling=params,
            plugins=plugin_list,
            credentials=find_credentials(cookies, url),
            proxy=proxy,
            timeout=call_timeout,
            stream_idle_timeout=_positive(
                "stream_idle_timeout",
                options.get("stream_idle_timeout", DEFAULT_STREAM_IDLE_TIMEOUT),
                optional=True,
            ),
            keep_chat=bool(options.get("keep_chat", False)),
            session=session,
            limits=DEFAULT_LIMITS if limits is None else limits,
        )

    @_class_or_instance_method
    @with_option_signature
    def create_async_generator(
        self_or_cls: type[OpenAssistant] | OpenAssistant,
        /,
        model: str | None = None,
        messages: Sequence[Mapping[str, str]] | None = None,
        proxy: str | None = None,
        cookies: CookieInput = None,
        **options: Unpack[ChatOptions],
    ) -> AsyncGenerator[str, None]:
        """Chat once and yield the reply's token texts as they arrive.

        Args:
            model: the model config name; None or "" means :attr:`model`.
            messages: ``[{"role": "system"|"user"|"assistant", "content": str}, ...]``.
            proxy: an HTTP proxy URL, passed to aiohttp.
            cookies: a dict, an ``http.cookiejar.CookieJar`` or the path of a ``.har`` file;
                when empty, read from ``OA_COOKIES``, the HAR file at ``OA_HAR_FILE``, the
                cookies.txt at ``OA_COOKIE_FILE`` or ``~/.config/oa-toolkit/cookies.txt``, or
                the browser (extra ``[browser]``).
            base_url: the site; else ``OA_BASE_URL``, else ``https://open-assistant.io``.
            preset: one of the server's eight sampling presets (e.g. ``"k50-Precise"``).
            prompt_template: a wrapper containing ``{prompt}`` (e.g. ``LLAMA2_TEMPLATE``).
            plugins: the ``plugins`` list to send (default ``[]``).
            keep_chat: do not delete the chat at the end.
            timeout: seconds each HTTP call may take.
            stream_idle_timeout: seconds the stream may go without an event (None: forever).
            session: an ``aiohttp.ClientSession`` to use (it is not closed).
            limits: how much the server may send (:class:`Limits`; None: ``Limits()``, the
                safe defaults).
            top_k, top_p, typical_p, temperature, repetition_penalty, max_new_tokens:
                sampling parameters overriding the defaults or the preset.

        The keyword options are :class:`ChatOptions` (one ``TypedDict`` for both generators);
        an unknown one raises TypeError listing them all.

        Returns:
            An async generator of str. Stop early with ``await gen.aclose()``: the chat is
            deleted then too.

        Raises:
            TypeError, ValueError: bad messages, options or sampling parameters (at the call,
                before any request).
            MissingCredentialsError: no cookie found (at the call, before any request).
            OAError: any failure while chatting (see :mod:`oa_provider._exceptions`).
            LimitExceededError: the server sent more than ``limits`` allow (the chat is
                deleted; the reply so far is in ``partial_text``).
        """
        plan = OpenAssistant._plan(self_or_cls, model, messages, proxy, cookies, options)
        return _run_texts(plan)

    @_class_or_instance_method
    @with_option_signature
    def create_event_stream(
        self_or_cls: type[OpenAssistant] | OpenAssistant,
        /,
        model: str | None = None,
        messages: Sequence[Mapping[str, str]] | None = None,
        proxy: str | None = None,
        cookies: CookieInput = None,
        **options: Unpack[ChatOptions],
    ) -> AsyncGenerator[ChatEvent, None]:
        """Like :meth:`create_async_generator` (the same arguments and :class:`ChatOptions`),
        but yield the typed events.

        Yields ``PendingEvent`` (queue position), ``SafePromptEvent``,
        ``PluginIntermediateEvent``, ``TokenEvent`` and finally one ``MessageEvent`` (the
        finished message; also when the server had nothing left to stream). An
        ``ErrorEvent`` is yielded and then :class:`GenerationError` raised.
        """
        plan = OpenAssistant._plan(self_or_cls, model, messages, proxy, cookies, options)
        return _run_events(plan)
