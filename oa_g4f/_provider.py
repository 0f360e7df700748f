"""The gpt4free provider class: gpt4free's base classes outside, ``oa_provider`` inside.

gpt4free calls ``create_async_generator`` for every entry point: directly for the async ones,
through its ``to_sync_generator`` (a private event loop driven step by step) for the sync ones,
and joins the chunks itself when the caller did not ask for a stream. So one async generator
serves all four ways of calling, and the chat's deletion rides on ``oa_provider``'s own
``finally``: when gpt4free (or its caller) closes the stream early, ``aclose()`` reaches it.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from contextlib import aclosing
from typing import Any, ClassVar
from urllib.parse import urlsplit

import g4f.cookies
from g4f.providers.base_provider import AsyncGeneratorProvider, ProviderModelMixin

import oa_provider as oa
from oa_provider._client import _resolve_base_url

from ._errors import to_g4f_error
from ._kwargs import cookie_input, oa_messages, oa_options, session_cookie
from ._models import DEFAULT_MODEL, MODELS

__all__ = ["OpenAssistant"]


def _g4f_cookies(base_url: str) -> dict[str, str] | None:
    """The cookies gpt4free holds for the host (``g4f.cookies.set_cookies`` or its
    ``read_cookie_files``); only its in-memory store, never a browser."""
    host = (urlsplit(base_url).hostname or "").lower()
    for domain in (host, "." + host):
        found = g4f.cookies.CookiesConfig.cookies.get(domain)
        if found:
            return dict(found)
    return None


# gpt4free's base classes are untyped (no py.typed): mypy sees Any.
class OpenAssistant(AsyncGeneratorProvider, ProviderModelMixin):  # type: ignore[misc]
    """OpenAssistant's chat (the web site's API, cookie-authenticated) for gpt4free.

    Arguments beyond gpt4free's ``model`` and ``messages``, all optional:

    - ``base_url``: the server (else ``OA_BASE_URL``, else ``https://open-assistant.io``, whose
      public service is shut down: point it at your own server or ``oa_mockserver``);
    - ``cookies``: a dict, a ``Cookie`` header (``"name=value; ..."``) or a cookies.txt path;
      else ``api_key`` (the session token's value); else what gpt4free holds for the host
      (``g4f.cookies.set_cookies``); else ``oa_provider``'s search (``OA_COOKIES``,
      ``OA_COOKIE_FILE``, ``~/.config/oa-toolkit/cookies.txt``, the browser);
    - ``proxy``, ``timeout`` (seconds per HTTP call), ``stream_timeout`` (seconds without an
      event), ``max_tokens``, ``temperature``, ``top_p``, ``top_k``, and every option of
      ``oa_provider.OpenAssistant.create_async_generator`` (``preset``, ``keep_chat``...).

    The chat is deleted at the end, on error and when the stream is closed early.
    """

    label: ClassVar[str] = "OpenAssistant (oa-toolkit)"
    url: ClassVar[str] = "https://open-assistant.io/chat"
    #: True: the class works against any server speaking the API (tested against
    #: oa_mockserver on every entry point); only the public site at the default URL is gone.
    working: ClassVar[bool] = True
    #: The session cookie is required (MissingAuthError before any request without one).
    needs_auth: ClassVar[bool] = True
    supports_stream: ClassVar[bool] = True
    #: Earlier turns are sent, flattened into one prompt (``User: ...`` / ``Assistant: ...``).
    supports_message_history: ClassVar[bool] = True
    #: System messages go to the API's own ``system_prompt`` field.
    supports_system_message: ClassVar[bool] = True
    default_model: ClassVar[str] = DEFAULT_MODEL
    models: ClassVar[list[str]] = list(MODELS)

    @classmethod
    async def create_async_generator(
        cls,
        model: str,
        messages: Any,
        proxy: str | None = None,
        cookies: Any = None,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float | None = None,
        stream_timeout: float | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
        **kwargs: Any,
    ) -> AsyncGenerator[str, None]:
        """Chat once through ``oa_provider`` and yield the reply's token texts.

        Raises (while iterating): gpt4free's errors (see ``oa_g4f.ERROR_MAP``), each ``from``
        the ``oa_provider`` error; TypeError or ValueError for bad arguments, before any
        request.
        """
        options = oa_options(kwargs, max_tokens=max_tokens, stream_timeout=stream_timeout)
        for key, value in (
            ("timeout", timeout),
            ("temperature", temperature),
            ("top_p", top_p),
            ("top_k", top_k),
        ):
            if value is not None:
                options[key] = value
        url = _resolve_base_url(base_url)
        try:
            found: Mapping[str, str] | Any = cookie_input(cookies, url)
            if found is None and api_key:
                found = session_cookie(api_key, url)
            if found is None:
                found = _g4f_cookies(url)
            replies = oa.OpenAssistant.create_async_generator(
                # any name is the server's to judge; gpt4free's get_model would rewrite one by
                # suffix ("Llama_30B" -> "OA_SFT_Llama_30B")
                model=model if model and model != "auto" else cls.default_model,
                messages=oa_messages(messages),
                proxy=proxy,
                cookies=found,
                base_url=url,
                **options,
            )
            async with aclosing(replies):
                async for text in replies:
                    yield text
        except oa.OAError as error:
            raise to_g4f_error(error) from error
