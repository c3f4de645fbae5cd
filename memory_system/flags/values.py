"""What a flag value may be, wherever it comes from: ``true``, ``false`` or a fraction in [0, 1].

Every source (environment, config file, database, API, CLI) parses through ``parse_value``
so that a value means the same thing everywhere and a bad one is refused with the same
message: which flag, which source, and what to write instead.
"""

from __future__ import annotations

import math

from memory_system.core.config import ConfigError
from memory_system.core.errors import ServiceError
from memory_system.flags.names import FLAG_NAMES, FLAGS

__all__ = ["FlagError", "check_name", "describe", "parse_value", "percent"]


class FlagError(ServiceError, ConfigError):
    """An unknown flag name or a value that is not true/false/a fraction; the message names both."""

    def __init__(self, message: str, *, flag: str | None = None) -> None:
        super().__init__(message)
        self.flag = flag


_HINT = "use true, false, or a fraction in [0, 1] such as 0.01 for 1% of sessions"


def check_name(name: object, *, source: str) -> str:
    if not isinstance(name, str) or name not in FLAGS:
        raise FlagError(
            f"{source}: unknown feature flag {name!r}; known flags: {', '.join(FLAG_NAMES)}", flag=str(name)
        )
    return name


def parse_value(raw: object, *, flag: str, source: str) -> float:
    """The value as a float in [0, 1]: ``true`` is 1.0 (on for all), ``false`` is 0.0 (off)."""
    value: float
    if isinstance(raw, bool):
        return 1.0 if raw else 0.0
    if isinstance(raw, int | float):
        value = float(raw)
    elif isinstance(raw, str):
        text = raw.strip().lower()
        if text == "true":
            return 1.0
        if text == "false":
            return 0.0
        try:
            value = float(text)
        except ValueError:
            hint = " (write the fraction: 0.1 for 10%)" if text.endswith("%") else ""
            raise FlagError(
                f"{source}: {flag}={raw!r} is not a flag value{hint}; {_HINT}", flag=flag
            ) from None
    else:
        raise FlagError(f"{source}: {flag}={raw!r} is not a flag value; {_HINT}", flag=flag)
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        hint = f" (for {value:g}% write {value / 100:g})" if 1.0 < value <= 100.0 else ""
        raise FlagError(f"{source}: {flag}={raw!r} is outside [0, 1]{hint}; {_HINT}", flag=flag)
    return value


def percent(value: float) -> int:
    """Whole percent of sessions a fraction turns on (half rounds up: 0.015 -> 2)."""
    return math.floor(value * 100 + 0.5)


def describe(value: float) -> str:
    if value >= 1.0:
        return "on"
    if value <= 0.0:
        return "off"
    if percent(value) == 0:
        return "off (under 0.5% rounds to 0% of sessions)"
    return f"{percent(value)}% of sessions"
