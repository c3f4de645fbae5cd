"""When a call is retried: only where it provably did not take effect, so a retry never
duplicates a write.

- The connection failed (refused, connect timeout, no pooled connection): nothing was sent.
- A 503 with ``Retry-After``: the store was busy past its timeout and the service says nothing
  was done (``api/errors.py``). A health probe's 503 carries no ``Retry-After`` and is an answer.
- Any other transport failure after the request was sent (the connection dropped, a read
  timeout) is retried only for a call that is idempotent by design (reads, PUTs, deletes, set
  operations on shares); a create is not retried then, since it may have been applied.

Never a 4xx: the request itself is wrong, and sending it again changes nothing.
"""

from __future__ import annotations

import httpx
import tenacity

__all__ = ["Busy", "RetryPolicy", "retrying", "should_retry"]

_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_SENT = (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)


class Busy(Exception):
    """A 503 with Retry-After, raised inside the retry loop only."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP 503 from {response.request.url}")
        self.response = response


class RetryPolicy:
    """``attempts`` tries in all, waiting exponential backoff with jitter between them."""

    def __init__(self, attempts: int = 4, initial_s: float = 0.2, max_wait_s: float = 5.0) -> None:
        if attempts < 1:
            raise ValueError(f"attempts must be at least 1, not {attempts}")
        self.attempts, self.initial_s, self.max_wait_s = attempts, initial_s, max_wait_s


def should_retry(error: BaseException, idempotent: bool) -> bool:
    if isinstance(error, (Busy, *_NOT_SENT)):
        return True
    return idempotent and isinstance(error, _SENT)


def _kwargs(policy: RetryPolicy, idempotent: bool) -> dict[str, object]:
    return {
        "stop": tenacity.stop_after_attempt(policy.attempts),
        "wait": tenacity.wait_exponential_jitter(initial=policy.initial_s, max=policy.max_wait_s),
        "retry": tenacity.retry_if_exception(lambda e: should_retry(e, idempotent)),
        "reraise": True,
    }


def retrying(policy: RetryPolicy, idempotent: bool) -> tenacity.Retrying:
    return tenacity.Retrying(**_kwargs(policy, idempotent))  # type: ignore[arg-type]


def async_retrying(policy: RetryPolicy, idempotent: bool) -> tenacity.AsyncRetrying:
    return tenacity.AsyncRetrying(**_kwargs(policy, idempotent))  # type: ignore[arg-type]
