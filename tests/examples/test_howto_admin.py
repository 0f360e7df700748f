"""How to: drive a server from outside Python (another process, a shell) with the admin API.

``oa-mockserver serve`` prints its URL; the same routes serve every fixture's server too:
``GET /__admin/health``, ``GET|DELETE /__admin/requests``, ``GET /__admin/chats``,
``POST /__admin/reset``, ``GET|POST|DELETE /__admin/faults``. Admin requests are neither
journaled nor faulted.
"""

from __future__ import annotations

import aiohttp
import pytest
from _howto import ask

from oa_mockserver import ThreadedMockServer
from oa_provider import GenerationError


@pytest.mark.asyncio
async def test_admin_api(oa_mockserver: ThreadedMockServer) -> None:
    admin = f"{oa_mockserver.url}/__admin"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{admin}/health") as response:
            assert (await response.json())["status"] == "ok"

        # curl -X POST $URL/__admin/faults -d '{"faults": [{"kind": "error-after", ...}]}'
        fault = {"kind": "error-after", "after": 1, "step": "events", "times": 1}
        async with http.post(f"{admin}/faults", json={"faults": [fault]}) as response:
            [active] = (await response.json())["faults"]  # the rules now active
        assert active["kind"] == "error-after"
        assert active["times"] == 1
        with pytest.raises(GenerationError):
            await ask(oa_mockserver.url, keep_chat=True)

        async with http.get(f"{admin}/requests") as response:
            calls = (await response.json())["requests"]
        assert [(c["method"], c["path"], c["faults"]) for c in calls][3] == (
            "GET",
            "/api/chat/events",
            ["error-after"],
        )
        async with http.get(f"{admin}/chats") as response:
            assert len((await response.json())["chats"]) == 1

        async with http.post(f"{admin}/faults", json={"header": "status:503"}) as response:
            assert response.status == 200
        async with http.delete(f"{admin}/faults") as response:
            assert (await response.json())["cleared"] == 1
        async with http.post(f"{admin}/faults", json={"kind": "nope"}) as response:
            assert response.status == 400
            assert "unknown fault 'nope'" in (await response.json())["detail"]

        async with http.delete(f"{admin}/requests") as response:
            assert (await response.json())["cleared"] == 4  # kept the chat: no DELETE
        async with http.post(f"{admin}/reset") as response:
            assert response.status == 200
        async with http.get(f"{admin}/chats") as response:
            assert (await response.json())["chats"] == []

    assert oa_mockserver.journal.calls == []  # the admin requests were not journaled
