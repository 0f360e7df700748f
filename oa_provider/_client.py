"""The OpenAssistant provider: the only module of :mod:`oa_provider` that performs HTTP.

Theory of operation. One call is one conversation of five requests against the web site's API
(protocol.md section 2), on one ``aiohttp.ClientSession`` so the connection is reused:

1. ``POST /api/chat`` creates a chat;
2. ``POST /api/chat/prompter_message`` posts the (flattened) user prompt;
3. ``POST /api/chat/assistant_message`` asks for the reply;
4. ``GET /api/chat/events`` streams it (Server-Sent Events, decoded by :class:`ChatEventDecoder`);
5. ``DELETE /api/chat`` deletes the chat, in a ``finally``: after success, after any error, when
   the caller stops early (``aclose()``) and on cancellation (shielded, bounded by a short
   timeout, never hiding the original error).

Everything that can be checked without the network (messages, sampling parameters, options,
credentials) is checked when the generator is created, so mistakes fail before any request.
"""

from __future__ import annotations

import asyncio
import logging
import os
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
    OAError,
    ProtocolError,
    ResponseError,
    StreamTimeoutError,
)
from ._http import BODY_EXCERPT_CHARS, error_for_status, map_exceptions
from ._prompt import Prompt, build_prompt
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
#: Seconds one HTTP call (connect + answer) may take.
DEFAULT_TIMEOUT = 30.0
#: Seconds the event stream may stay without a chat event. The real server sends a
#: ``pending`` event every second while queued and a token every fraction of a second.
DEFAULT_STREAM_IDLE_TIMEOUT = 120.0
#: Seconds the final ``DELETE`` may take before we give up on it (with a warning).
DELETE_TIMEOUT = 5.0

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
                raw = await response.read()
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
            response = await asyncio.wait_for(self._open(path, params, headers), plan.timeout)
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
                    raw = await asyncio.wait_for(response.read(), plan.timeout)
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
        idle = self.plan.stream_idle_timeout
        decoder = ChatEventDecoder()
        read = response.content.readany
        loop = asyncio.get_running_loop()
        deadline = None if idle is None else loop.time() + idle
        while True:
            with map_exceptions(step, timeout=self.plan.timeout):
                try:
                    if deadline is None:
                        chunk = await read()
                    else:
                        chunk = await asyncio.wait_for(read(), max(0.0, deadline - loop.time()))
                except asyncio.TimeoutError:
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
            for event in events:
                if isinstance(event, _TokenEvent):
                    partial.append(event.text)
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
        """DELETE the chat, bounded by :data:`DELETE_TIMEOUT`.

        A failure is logged at WARNING and swallowed, so it never hides the original error.
        Callers run this inside :func:`_cleanup`, which shields it from cancellation.
        """
        try:
            await asyncio.wait_for(
                self.call("DELETE", "/api/chat", params={"chat_id": chat_id}), DELETE_TIMEOUT
            )
        except asyncio.TimeoutError:
            logger.warning(
                "could not delete chat %s: DELETE /api/chat took longer than %g s",
                chat_id,
                DELETE_TIMEOUT,
            )
        except OAError as exc:
            logger.warning("could not delete chat %s: %s", chat_id, exc)


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
        *,
        base_url: str | None,
        preset: str | None,
        prompt_template: str | None,
        plugins: Sequence[Mapping[str, Any]] | None,
        keep_chat: bool,
        timeout: float,
        stream_idle_timeout: float | None,
        session: aiohttp.ClientSession | None,
        sampling: Mapping[str, object],
    ) -> _Plan:
        if isinstance(target, OpenAssistant):
            base_url = base_url or target.base_url
            cookies = cookies if cookies else target._cookies
            proxy = proxy or target.proxy
            session = session or target.session
        if messages is None:
            raise TypeError("messages is required: a list of {'role': ..., 'content': ...} dicts")
        if model is not None and not isinstance(model, str):
            raise TypeError(f"model must be a model config name (str), not {type(model).__name__}")
        prompt = build_prompt(messages, prompt_template=prompt_template)
        params = build_sampling_parameters(sampling, preset=preset)
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
        call_timeout = _positive("timeout", timeout)
        assert call_timeout is not None  # not optional
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
                "stream_idle_timeout", stream_idle_timeout, optional=True
            ),
            keep_chat=bool(keep_chat),
            session=session,
        )

    @_class_or_instance_method
    def create_async_generator(
        self_or_cls: type[OpenAssistant] | OpenAssistant,
        /,
        model: str | None = None,
        messages: Sequence[Mapping[str, str]] | None = None,
        proxy: str | None = None,
        cookies: CookieInput = None,
        *,
        base_url: str | None = None,
        preset: str | None = None,
        prompt_template: str | None = None,
        plugins: Sequence[Mapping[str, Any]] | None = None,
        keep_chat: bool = False,
        timeout: float = DEFAULT_TIMEOUT,
        stream_idle_timeout: float | None = DEFAULT_STREAM_IDLE_TIMEOUT,
        session: aiohttp.ClientSession | None = None,
        **sampling: SamplingValue,
    ) -> AsyncGenerator[str, None]:
        """Chat once and yield the reply's token texts as they arrive.

        Args:
            model: the model config name; None or "" means :attr:`model`.
            messages: ``[{"role": "system"|"user"|"assistant", "content": str}, ...]``.
            proxy: an HTTP proxy URL, passed to aiohttp.
            cookies: a dict or ``http.cookiejar.CookieJar``; when empty, read from
                ``OA_COOKIES``, the cookies.txt at ``OA_COOKIE_FILE`` or
                ``~/.config/oa-toolkit/cookies.txt``, or the browser (extra ``[browser]``).
            base_url: the site; else ``OA_BASE_URL``, else ``https://open-assistant.io``.
            preset: one of the server's eight sampling presets (e.g. ``"k50-Precise"``).
            prompt_template: a wrapper containing ``{prompt}`` (e.g. ``LLAMA2_TEMPLATE``).
            plugins: the ``plugins`` list to send (default ``[]``).
            keep_chat: do not delete the chat at the end.
            timeout: seconds each HTTP call may take.
            stream_idle_timeout: seconds the stream may go without an event (None: forever).
            session: an ``aiohttp.ClientSession`` to use (it is not closed).
            **sampling: sampling parameters overriding the defaults or the preset
                (``top_k``, ``top_p``, ``typical_p``, ``temperature``, ``repetition_penalty``,
                ``max_new_tokens``).

        Returns:
            An async generator of str. Stop early with ``await gen.aclose()``: the chat is
            deleted then too.

        Raises:
            TypeError, ValueError: bad messages, options or sampling parameters (at the call,
                before any request).
            MissingCredentialsError: no cookie found (at the call, before any request).
            OAError: any failure while chatting (see :mod:`oa_provider._exceptions`).
        """
        plan = OpenAssistant._plan(
            self_or_cls,
            model,
            messages,
            proxy,
            cookies,
            base_url=base_url,
            preset=preset,
            prompt_template=prompt_template,
            plugins=plugins,
            keep_chat=keep_chat,
            timeout=timeout,
            stream_idle_timeout=stream_idle_timeout,
            session=session,
            sampling=sampling,
        )
        return _run_texts(plan)

    @_class_or_instance_method
    def create_event_stream(
        self_or_cls: type[OpenAssistant] | OpenAssistant,
        /,
        model: str | None = None,
        messages: Sequence[Mapping[str, str]] | None = None,
        proxy: str | None = None,
        cookies: CookieInput = None,
        *,
        base_url: str | None = None,
        preset: str | None = None,
        prompt_template: str | None = None,
        plugins: Sequence[Mapping[str, Any]] | None = None,
        keep_chat: bool = False,
        timeout: float = DEFAULT_TIMEOUT,
        stream_idle_timeout: float | None = DEFAULT_STREAM_IDLE_TIMEOUT,
        session: aiohttp.ClientSession | None = None,
        **sampling: SamplingValue,
    ) -> AsyncGenerator[ChatEvent, None]:
        """Like :meth:`create_async_generator`, but yield the typed events.

        Yields ``PendingEvent`` (queue position), ``SafePromptEvent``,
        ``PluginIntermediateEvent``, ``TokenEvent`` and finally one ``MessageEvent`` (the
        finished message; also when the server had nothing left to stream). An
        ``ErrorEvent`` is yielded and then :class:`GenerationError` raised.
        """
        plan = OpenAssistant._plan(
            self_or_cls,
            model,
            messages,
            proxy,
            cookies,
            base_url=base_url,
            preset=preset,
            prompt_template=prompt_template,
            plugins=plugins,
            keep_chat=keep_chat,
            timeout=timeout,
            stream_idle_timeout=stream_idle_timeout,
            session=session,
            sampling=sampling,
        )
        return _run_events(plan)
