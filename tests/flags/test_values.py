"""A flag value means the same from every source, and a bad one is refused naming flag and source."""

from __future__ import annotations

import math

import pytest

from memory_system.core.config import ConfigError
from memory_system.flags.values import FlagError, check_name, describe, parse_value, percent


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (True, 1.0),
        (False, 0.0),
        ("true", 1.0),
        ("false", 0.0),
        (" TRUE ", 1.0),
        ("False", 0.0),
        ("0.01", 0.01),
        ("0", 0.0),
        ("1", 1.0),
        ("0.5", 0.5),
        ("1e-2", 0.01),
        (0, 0.0),
        (1, 1.0),
        (0.25, 0.25),
    ],
)
def test_accepted_values(raw: object, expected: float) -> None:
    assert parse_value(raw, flag="USE_ENHANCED_INJECTION", source="test") == expected


@pytest.mark.parametrize(
    "raw",
    ["maybe", "", "yes", "on", "10%", "1.5", "-0.1", "nan", "inf", "2", 1.01, -1, math.nan, None, [1], {}],
)
def test_refused_values_name_flag_and_source(raw: object) -> None:
    with pytest.raises(FlagError) as info:
        parse_value(raw, flag="USE_HIERARCHICAL_TIERS", source="config file /x.json featureFlags")
    message = str(info.value)
    assert "USE_HIERARCHICAL_TIERS" in message
    assert "config file /x.json featureFlags" in message
    assert "true, false" in message  # says what to write instead
    assert info.value.flag == "USE_HIERARCHICAL_TIERS"
    assert isinstance(info.value, ConfigError)


def test_percent_written_as_a_whole_number_gets_a_hint() -> None:
    with pytest.raises(FlagError, match=r"for 10% write 0\.1"):
        parse_value("10", flag="USE_ENHANCED_INJECTION", source="env")


def test_unknown_flag_names_the_known_ones() -> None:
    with pytest.raises(FlagError) as info:
        check_name("USE_ENHANCED_INJECTON", source="api")
    assert "USE_ENHANCED_INJECTON" in str(info.value)
    assert "USE_ENHANCED_INJECTION" in str(info.value)
    assert check_name("USE_CROSS_AGENT_SHARING", source="api") == "USE_CROSS_AGENT_SHARING"


def test_percent_rounds_half_up_and_describe() -> None:
    assert [percent(v) for v in (0.0, 0.004, 0.005, 0.01, 0.015, 0.29, 0.5, 1.0)] == [
        0,
        0,
        1,
        1,
        2,
        29,
        50,
        100,
    ]
    assert (describe(1.0), describe(0.0), describe(0.1)) == ("on", "off", "10% of sessions")
    assert describe(0.004).startswith("off")
