"""SIGTERM to the real service under a write load: readiness fails first while requests are
still served (the shutdown delay, for load balancers to notice), then every request it
accepted completes, each one acknowledged is stored, and the process exits 0.

``tests/server/test_lifecycle.py`` drains a burst of session creations and
``tests/api/test_health.py`` sees readiness fail while draining; this test holds both to
one timeline, with memory writes (full-text index included) as the load."""

from __future__ import annotations

import signal
import threading
import time
from typing import Any

import httpx

from tests.faults._http import agent, events, query, wait_until

WRITERS = 6


def test_sigterm_under_load_fails_readiness_first_then_completes_every_accepted_request(
    serve_process: Any,
) -> None:
    served = serve_process(dev=True, env={"MEMORY_SYSTEM_SHUTDOWN_DELAY_S": "2"})
    lock = threading.Lock()
    acked: dict[int, str] = {}
    answers: list[tuple[float, int]] = []  # (when the request was sent, its status)
    readiness: list[tuple[float, int]] = []  # (when the probe answered, its status)
    done = threading.Event()

    def write(writer: int) -> None:
        with agent(served.url, timeout=30) as client:
            for n in range(100_000):
                content = f"load note {writer} {n}"
                sent = time.monotonic()
                try:
                    response = client.post("/v1/memories", json={"content": content})
                except httpx.TransportError:
                    return  # refused or closed before an answer: never accepted
                with lock:
                    answers.append((sent, response.status_code))
                    if response.status_code == 201:
                        acked[int(response.json()["id"])] = content

    def probe() -> None:
        with httpx.Client(timeout=30) as client:
            while not done.is_set():
                try:
                    status = client.get(served.url + "/health/ready").status_code
                except httpx.TransportError:
                    return
                readiness.append((time.monotonic(), status))
                time.sleep(0.02)

    threads = [threading.Thread(target=write, args=(w,), daemon=True) for w in range(WRITERS)]
    threads.append(threading.Thread(target=probe, daemon=True))
    for thread in threads:
        thread.start()
    wait_until(lambda: len(acked) >= 60, "the load to get going")
    served.send(signal.SIGTERM)
    assert served.wait(timeout=60) == 0
    done.set()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)

    assert answers and all(status == 201 for _, status in answers), sorted({s for _, s in answers})
    not_ready = [at for at, status in readiness if status == 503]
    assert not_ready, "readiness never failed before the listener closed"
    served_after = [sent for sent, _ in answers if sent > not_ready[0]]
    assert served_after, "no request was served once readiness had failed: it did not fail first"

    stored = dict(query(served.db, "SELECT id, content FROM memories"))
    lost = set(acked) - set(stored)
    assert not lost, f"{len(lost)} acknowledged writes lost"
    assert all(stored[i] == acked[i] for i in acked) and len(stored) == len(acked)
    names = [e["event"] for e in served.log_events()]
    assert names.index("shutdown_started") < names.index("service_stopped") == len(names) - 1
    assert not events(served, "unhandled_error")
