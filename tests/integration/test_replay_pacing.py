"""A paced replay (``--timing exact``) is scheduled from the edge of the wheel's bucket it begins
in, so replays begun in one bucket share every tick (one timer for all of them, not two)."""

from __future__ import annotations

from typing import Any

import pytest
from _helpers.conversation import ALICE

from oa_mockserver import MockServer, ServerConfig, library_path
from oa_mockserver._server.wheel import Wheel
from oa_mockserver.recording._replay import ReplayLibrary
from oa_provider import OpenAssistant

CASSETTE = library_path() / "web" / "seed_example.yaml"


@pytest.mark.asyncio
async def test_a_paced_replay_runs_its_recorded_offsets_from_a_bucket_edge(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scheduled: list[tuple[float, float]] = []  # (when, the wheel's resolution) of each piece
    call_at = Wheel.call_at

    def recording(self: Wheel, when: float, callback: Any, arg: Any) -> None:
        if getattr(callback, "__name__", "") == "_piece_due":
            scheduled.append((when, self.resolution))
        call_at(self, when, callback, arg)

    monkeypatch.setattr(Wheel, "call_at", recording)
    config = ServerConfig(cassettes=str(CASSETTE), replay_timing="exact")
    async with MockServer(config) as server:
        provider = OpenAssistant(base_url=server.url, cookies=ALICE)
        messages = [{"role": "user", "content": "Привет, как дела?"}]
        text = "".join([t async for t in provider.create_async_generator(messages=messages)])
        assert text
        assert server.problems() == []
    (reply,) = ReplayLibrary.load(CASSETTE).replies
    assert reply.stream is not None
    delays = config.replay_settings.timing.delays([c.offset_s for c in reply.stream.chunks])
    due = [sum(delays[: i + 1]) for i in range(len(delays))]
    resolution = scheduled[0][1]
    origin = scheduled[0][0] - due[0]
    assert origin / resolution == pytest.approx(round(origin / resolution), abs=1e-6)
    # every piece on its recorded offset from there; the last two (the last token and the final
    # event, 19 us apart) fall in one bucket and go out from one entry, in one write
    assert due[-1] - due[-2] < resolution
    assert [when - origin for when, _ in scheduled] == pytest.approx(due[:-1], abs=1e-9)
