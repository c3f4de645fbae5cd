"""The base of the errors a service raises when a caller asked for something it will not do.

Why a base: an interface answers these in one place each (HTTP: ``api/errors.REFUSALS``) and
must tell them from bugs, which stay a 500. With one base it can catch "the caller's fault"
without listing every service's classes, and a new service error is a refusal, not a crash,
as soon as it inherits from it.
"""

from __future__ import annotations

__all__ = ["ServiceError"]


class ServiceError(Exception):
    """A request a service refuses: bad input, a record the caller may not see, a conflict.

    The message says what was wrong and what to do; a ``field`` attribute, where a subclass
    has one, names the offending input::

        class GraphError(ServiceError, ValueError): ...
    """
