"""A Python client of the memory-system HTTP API: ``MemoryClient`` and ``AsyncMemoryClient``.

It imports httpx, tenacity and pydantic, and nothing of the service (an import-linter contract
and ``tests/client/test_light.py`` hold it to that), so ``pip install memory-system`` without
the ``server`` extra is enough to talk to a running service::

    from memory_system.client import MemoryClient

    with MemoryClient("http://127.0.0.1:8080", token="mst_...") as memory:
        memory.remember("deploys freeze on Fridays")
        print(memory.inject("when can I deploy?").block)
"""

from memory_system.client import models
from memory_system.client._async_client import AsyncMemoryClient
from memory_system.client._client import MemoryClient
from memory_system.client._errors import (
    MemoryClientError,
    MemoryConnectionError,
    MemoryServiceError,
    MemoryTimeout,
)
from memory_system.client._retry import RetryPolicy

__all__ = [
    "AsyncMemoryClient",
    "MemoryClient",
    "MemoryClientError",
    "MemoryConnectionError",
    "MemoryServiceError",
    "MemoryTimeout",
    "RetryPolicy",
    "models",
]
