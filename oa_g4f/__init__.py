"""oa_g4f: oa-toolkit's OpenAssistant provider as a first-class gpt4free provider.

Install it with the extra: ``pip install 'oa-toolkit[g4f]'`` (gpt4free 8.8.x). Then pass
:class:`OpenAssistant` wherever gpt4free takes a provider::

    import g4f
    from oa_g4f import OpenAssistant

    print(g4f.ChatCompletion.create(
        model="", messages=[{"role": "user", "content": "hello"}], provider=OpenAssistant,
        base_url="http://127.0.0.1:8080", cookies={"next-auth.session-token": "me"},
    ))

It works through ``g4f.ChatCompletion.create`` / ``create_async`` and ``g4f.client.Client`` /
``AsyncClient``, streaming or not. Errors are gpt4free's (:data:`ERROR_MAP`), raised ``from``
the ``oa_provider`` error they stand for; the chat is deleted in every case.

The core packages (``oa_provider``, ``oa_mockserver``) never import gpt4free: only this one does.
"""

from __future__ import annotations

try:
    import g4f.errors as _g4f_errors  # noqa: F401 - the check that gpt4free is installed
except ImportError as _missing:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        f"oa_g4f needs gpt4free (the 'g4f' package), which cannot be imported ({_missing}); "
        "install it with the extra: pip install 'oa-toolkit[g4f]'",
        name=__name__,
    ) from _missing

from ._errors import ERROR_MAP, to_g4f_error
from ._models import MODELS
from ._provider import OpenAssistant

__all__ = ["ERROR_MAP", "MODELS", "OpenAssistant", "to_g4f_error"]
