"""Errors carry the service's message, field and request id; retries happen only where the call
provably did not take effect (connection refused, a 503 with Retry-After), with backoff."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from memory_system.client import (
    MemoryClient,
    MemoryConnectionError,
    MemoryServiceError,
    MemoryTimeout,
    RetryPolicy,
)
from tests.client.conftest import Service
from tests.conftest import free_port

FAST = RetryPolicy(attempts=4, initial_s=0.01, max_wait_s=0.05)
SESSION = {"session_id": "s", "agent_id": "a", "namespace": "n", "created_at": "2026-12-02T00:00:00.000Z",
           "last_active_at": "2026-12-02T00:00:00.000Z", "ended_at": None, "flags": {}}  # fmt: skip


def test_a_422_and_a_404_carry_message_field_and_request_id(service: Service) -> None:
    with MemoryClient(service.url, token=service.planner, timeout_s=30) as memory:
        with pytest.raises(MemoryServiceError) as bad:
            memory.remember("x", importance="high")
        assert (bad.value.status, bad.value.error, bad.value.field) == (422, "validation_error", "importance")
        assert bad.value.message and bad.value.request_id and bad.value.request_id in str(bad.value)
        with pytest.raises(MemoryServiceError) as missing:
            memory.get_session("no-such-session")
        assert (missing.value.status, missing.value.error) == (404, "not_found")
        assert missing.value.request_id and "no-such-session" in missing.value.message


def _scripted(statuses: list[int], seen: list[float]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(time.monotonic())
        status = statuses[min(len(seen), len(statuses)) - 1]
        if status == 503:
            body = {"error": "unavailable", "message": "busy", "request_id": "r", "detail": {}}
            return httpx.Response(503, json=body, headers={"Retry-After": "1"})
        if status >= 400:
            return httpx.Response(
                status, json={"error": "x", "message": "no", "request_id": "r", "detail": ""}
            )
        return httpx.Response(status, json=SESSION)

    return httpx.MockTransport(answer)


def test_a_busy_503_is_retried_with_growing_waits_until_it_succeeds() -> None:
    seen: list[float] = []
    policy = RetryPolicy(attempts=4, initial_s=0.05, max_wait_s=1)
    with MemoryClient("http://memory", transport=_scripted([503, 503, 201], seen), retry=policy) as memory:
        assert memory.start_session().session_id == "s"  # even a create: a 503 applied nothing
    assert len(seen) == 3 and seen[1] - seen[0] >= 0.05 and seen[2] - seen[1] >= 0.1


def test_a_503_past_the_attempts_is_the_service_error() -> None:
    seen: list[float] = []
    with MemoryClient("http://memory", transport=_scripted([503], seen), retry=FAST) as memory:
        with pytest.raises(MemoryServiceError) as busy:
            memory.get_session("s")
    assert (busy.value.status, len(seen)) == (503, 4)


@pytest.mark.parametrize("status", [400, 404, 409, 422, 500])
def test_a_4xx_or_500_is_never_retried(status: int) -> None:
    seen: list[float] = []
    with MemoryClient("http://memory", transport=_scripted([status], seen), retry=FAST) as memory:
        with pytest.raises(MemoryServiceError):
            memory.get_session("s")
    assert len(seen) == 1


def test_a_read_failure_after_sending_is_not_retried_for_a_create() -> None:
    sent: list[str] = []

    def drop(request: httpx.Request) -> httpx.Response:
        sent.append(request.method + " " + request.url.path)
        raise httpx.ReadError("connection dropped", request=request)

    with MemoryClient("http://memory", transport=httpx.MockTransport(drop), retry=FAST) as memory:
        with pytest.raises(MemoryConnectionError):
            memory.remember("once")
        with pytest.raises(MemoryConnectionError):
            memory.get_memory(1)
    assert sent == ["POST /v1/memories", *["GET /v1/memories/1"] * 4]


def test_connection_refused_is_retried_until_the_service_comes_up(
    serve_process: Callable[..., Any], cli: Callable[..., Any], tmp_path: Any
) -> None:
    port = free_port()
    served: list[Any] = []
    url = f"http://127.0.0.1:{port}"

    def start_later() -> None:
        time.sleep(0.5)
        served.append(subprocess.Popen([sys.executable, "-m", "memory_system", "serve", "--dev", "--port",
                                        str(port), "--db", str(tmp_path / "late.db"), "--config",
                                        str(tmp_path / "none.json")], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL))  # fmt: skip

    (tmp_path / "none.json").write_text("{}")
    cli("db", "migrate", "--db", str(tmp_path / "late.db"), check=True)
    threading.Thread(target=start_later).start()
    try:
        patient = RetryPolicy(attempts=40, initial_s=0.1, max_wait_s=1)
        with MemoryClient(url, agent_id="late", namespace="p", retry=patient, timeout_s=30) as memory:
            assert memory.start_session().agent_id == "late"
    finally:
        for proc in served:
            proc.terminate()
            proc.wait(timeout=30)


def test_connection_refused_past_the_attempts_says_what_to_check() -> None:
    with MemoryClient(f"http://127.0.0.1:{free_port()}", retry=FAST) as memory:
        with pytest.raises(MemoryConnectionError, match="could not reach the service after 4 tries"):
            memory.ready()


def test_a_slow_answer_is_a_timeout_error_not_a_hang() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with MemoryClient("http://memory", transport=httpx.MockTransport(slow), timeout_s=0.5, retry=FAST) as m:
        with pytest.raises(MemoryTimeout, match=r"no answer within 0.5 s; it may have been applied"):
            m.remember("x")
