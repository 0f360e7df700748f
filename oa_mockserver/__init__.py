"""oa_mockserver: a faithful, stateful OpenAssistant mock server on aiohttp."""

from __future__ import annotations

from ._exceptions import ConfigError, MockServerError

__all__ = ["ConfigError", "MockServerError"]
