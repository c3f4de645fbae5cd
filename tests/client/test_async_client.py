"""``AsyncMemoryClient`` answers as ``MemoryClient`` does, against the same live service."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from memory_system.client import AsyncMemoryClient, MemoryServiceError, RetryPolicy, models
from tests.client.conftest import Service


def test_async_parity_over_every_group(service: Service) -> None:
    async def run() -> None:
        async with (
            AsyncMemoryClient(service.url, token=service.planner, timeout_s=30) as planner,
            AsyncMemoryClient(service.url, token=service.coder, timeout_s=30) as coder,
        ):
            session = await planner.start_session()
            created = await planner.remember("tests run on two cores", session_id=session.session_id)
            assert isinstance(created, models.MemoryWrite) and not created.reinforced
            assert (await planner.remember("tests run on two cores")).reinforced
            assert (await planner.search("two cores")).hits[0].memory.id == created.id
            assert (
                "two cores" in (await planner.inject("how many cores?", session_id=session.session_id)).block
            )
            state = await planner.put_state(session.session_id, {"step": 1}, version=0)
            assert state.version == 1
            other = await planner.remember("shared with coder")
            assert [g.agent_id for g in (await planner.share(other.id, ["coder"])).shares] == ["coder"]
            assert (await coder.get_memory(other.id)).content == "shared with coder"
            handed = await planner.handoff(session.session_id, "coder")
            assert (await coder.get_state(handed.new_session_id)).state == {"step": 1}
            assert (await planner.set_preference("ana", "tone", "terse")).value == "terse"
            assert (await planner.put_code_pattern("go", "errgroup")).language == "go"
            await planner.create_entities([{"name": "ana", "entityType": "person", "observations": []}])
            assert (await planner.get_entity("ana")).entity.name == "ana"
            with pytest.raises(MemoryServiceError) as bad:
                await planner.remember("x", kind="")
            assert bad.value.status == 422 and bad.value.field == "kind" and bad.value.request_id
            assert await planner.delete_memory(other.id) == other.id

    asyncio.run(run())


def test_async_retries_a_busy_503_and_not_a_404() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path.endswith("/missing"):
            return httpx.Response(
                404, json={"error": "not_found", "message": "no", "request_id": "r", "detail": ""}
            )
        if len(seen) < 3:
            return httpx.Response(503, json={"error": "unavailable", "message": "busy", "request_id": "r",
                                             "detail": {}}, headers={"Retry-After": "1"})  # fmt: skip
        return httpx.Response(200, json={"deleted": 7})

    async def run() -> None:
        policy = RetryPolicy(attempts=4, initial_s=0.01, max_wait_s=0.05)
        transport = httpx.MockTransport(answer)
        async with AsyncMemoryClient("http://memory", transport=transport, retry=policy) as memory:
            assert await memory.delete_memory(7) == 7
            with pytest.raises(MemoryServiceError):
                await memory.get_session("missing")

    asyncio.run(run())
    assert seen == ["/v1/memories/7"] * 3 + ["/v1/sessions/missing"]
