"""What the tests of both decoders (SSEDecoder, ChatEventDecoder) share: a stream fed in chunks."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, TypeVar

Event = TypeVar("Event")


class Decoder(Protocol[Event]):
    def feed(self, data: bytes, /) -> list[Event]: ...

    def close(self) -> list[Event]: ...


def feed_all(decoder: Decoder[Event], chunks: Iterable[bytes]) -> list[Event]:
    """The events of ``chunks`` fed one at a time, then those the end of the stream completes."""
    events: list[Event] = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    return events + decoder.close()
