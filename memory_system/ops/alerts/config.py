"""The ``alerts`` section of the config file: thresholds and windows of the runbook's matrix.

Defaults are the runbook's numbers. Tests shorten the windows so a rule fires in seconds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from memory_system.core.config import ConfigError
from memory_system.core.settings_loader import camel, read_config_file

CONFIG_KEY = "alerts"


@dataclass(frozen=True)
class AlertConfig:
    evaluate_every_seconds: float = 5.0
    # The runbook's "p95 > 500 ms over 5 min"; the 100 ms baseline is drawn, not alerted.
    latency_window_seconds: float = 300.0
    injection_p95_critical_ms: float = 500.0
    injection_p95_baseline_ms: float = 100.0
    # "per minute" rules count over this window.
    rate_window_seconds: float = 60.0
    injection_errors_critical_per_min: float = 5.0
    sharing_errors_critical_per_min: float = 10.0
    memory_critical_fraction: float = 0.90
    memory_warning_fraction: float = 0.75
    # "Heap stable": resident memory rising through every third of this window, by more than
    # the fraction, is growth that does not level off.
    memory_growth_window_seconds: float = 1800.0
    memory_growth_fraction: float = 0.10
    cache_hit_rate_warning: float = 0.50
    cache_window_seconds: float = 300.0
    # Under this many lookups in the window a hit rate means nothing (a cold start, a quiet hour).
    cache_min_lookups: int = 100
    # false: no evaluation at all (GET /admin/alerts says so); the guard needs it.
    enabled: bool = True
    # The automatic guard (ops/alerts/guard.py): CRITICAL alerts turn their tied flags off.
    guard: bool = True

    _FRACTIONS = ("memory_critical_fraction", "memory_warning_fraction", "cache_hit_rate_warning")

    @classmethod
    def from_mapping(cls, data: object) -> AlertConfig:
        """Strict: an unknown key or a value out of range is a ``ConfigError`` naming it."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"{CONFIG_KEY} must be a JSON object of thresholds and windows")
        by_key = {camel(f.name): f for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, raw in data.items():
            spec = by_key.get(key)
            if spec is None:
                raise ConfigError(
                    f"{CONFIG_KEY}.{key} is not an alert setting; known: {', '.join(sorted(by_key))}"
                )
            if spec.name in ("enabled", "guard"):
                if not isinstance(raw, bool):
                    raise ConfigError(f"{CONFIG_KEY}.{key} must be true or false, got {raw!r}")
                values[spec.name] = raw
                continue
            if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 < raw < math.inf:
                raise ConfigError(f"{CONFIG_KEY}.{key} must be a number > 0, got {raw!r}")
            if spec.name in cls._FRACTIONS and raw > 1:
                raise ConfigError(f"{CONFIG_KEY}.{key} must be a fraction in (0, 1], got {raw!r}")
            if spec.name == "cache_min_lookups":
                if int(raw) != raw:
                    raise ConfigError(f"{CONFIG_KEY}.{key} must be a whole number, got {raw!r}")
                raw = int(raw)
            values[spec.name] = float(raw) if spec.name != "cache_min_lookups" else raw
        config = cls(**values)
        if config.memory_warning_fraction >= config.memory_critical_fraction:
            raise ConfigError(
                f"{CONFIG_KEY}.memoryWarningFraction ({config.memory_warning_fraction}) must be below "
                f"memoryCriticalFraction ({config.memory_critical_fraction})"
            )
        return config

    @property
    def longest_window_seconds(self) -> float:
        return max(
            self.latency_window_seconds,
            self.rate_window_seconds,
            self.memory_growth_window_seconds,
            self.cache_window_seconds,
        )

    def to_config(self) -> dict[str, Any]:
        return {camel(k): v for k, v in asdict(self).items()}


def load_alert_config(config_path: Path | None) -> AlertConfig:
    """The ``alerts`` section of the JSON config file; defaults where the file or key is absent."""
    if config_path is None:
        return AlertConfig()
    return AlertConfig.from_mapping(read_config_file(Path(config_path)).get(CONFIG_KEY, {}))
