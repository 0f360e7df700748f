"""oa_provider: a streaming client of the OpenAssistant chat API, on a sans-IO SSE parser."""

from __future__ import annotations

from ._client import OpenAssistant
from ._cookies import Credentials, find_credentials
from ._events import (
    ChatEvent,
    ChatEventDecoder,
    ErrorEvent,
    Message,
    MessageEvent,
    PendingEvent,
    PluginIntermediateEvent,
    SafePromptEvent,
    TokenEvent,
    UnknownEvent,
    parse_event,
)
from ._exceptions import (
    AuthenticationError,
    ChatNotFoundError,
    GenerationError,
    IncompleteStreamError,
    InvalidRequestError,
    LimitExceededError,
    MessageTooLongError,
    MissingCredentialsError,
    OAError,
    ProtocolError,
    RateLimitError,
    RequestTimeoutError,
    ResponseError,
    ServerBusyError,
    StreamTimeoutError,
    TransportError,
)
from ._limits import Limits
from ._options import ChatOptions
from ._prompt import LLAMA2_TEMPLATE, Prompt, build_prompt
from ._sampling import DEFAULT_SAMPLING_PARAMETERS, SAMPLING_PRESETS, build_sampling_parameters
from ._sse import ServerSentEvent, SSEDecoder

__all__ = [
    "AuthenticationError",
    "build_prompt",
    "build_sampling_parameters",
    "ChatEvent",
    "ChatEventDecoder",
    "ChatNotFoundError",
    "ChatOptions",
    "Credentials",
    "DEFAULT_SAMPLING_PARAMETERS",
    "ErrorEvent",
    "find_credentials",
    "GenerationError",
    "IncompleteStreamError",
    "InvalidRequestError",
    "LimitExceededError",
    "Limits",
    "LLAMA2_TEMPLATE",
    "Message",
    "MessageEvent",
    "MessageTooLongError",
    "MissingCredentialsError",
    "OAError",
    "OpenAssistant",
    "parse_event",
    "PendingEvent",
    "PluginIntermediateEvent",
    "Prompt",
    "ProtocolError",
    "RateLimitError",
    "RequestTimeoutError",
    "ResponseError",
    "SafePromptEvent",
    "SAMPLING_PRESETS",
    "ServerBusyError",
    "ServerSentEvent",
    "SSEDecoder",
    "StreamTimeoutError",
    "TokenEvent",
    "TransportError",
    "UnknownEvent",
]
