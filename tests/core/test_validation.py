"""core/validation.py: the values every entry point refuses, each naming its field."""

from __future__ import annotations

import math
from typing import Any

import pytest

from memory_system.core.validation import (
    INT64_MAX,
    MAX_JSON_DEPTH,
    InvalidValue,
    check_agent_id,
    check_finite,
    check_int64,
    check_json_value,
    check_text,
    check_timestamp,
)


def _nest(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"k": value}
    return value


def test_text_utf8_cannot_hold_is_refused_at_its_position() -> None:
    assert check_text("héllo 😀", "content") == "héllo 😀"
    with pytest.raises(InvalidValue, match=r"content: has a lone surrogate \(U\+D800\) at character 2"):
        check_text("ab\ud800", "content")


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, True, 1.0, "1"])
def test_integers_outside_64_bits_or_not_integers_are_refused(value: object) -> None:
    with pytest.raises(InvalidValue) as caught:
        check_int64(value, "version")  # type: ignore[arg-type]
    assert caught.value.field == "version"


def test_int64_bounds_and_a_minimum() -> None:
    assert check_int64(INT64_MAX, "id") == INT64_MAX
    with pytest.raises(InvalidValue, match="from 1 to"):
        check_int64(0, "id", minimum=1)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, True, "0.5"])
def test_non_finite_or_non_numbers_are_refused(value: object) -> None:
    with pytest.raises(InvalidValue, match="finite number"):
        check_finite(value, "drainTimeoutS")  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["a\n", "bob\nmallory", "", " a", "-a", "a" * 129, 7, "a b"])
def test_agent_ids_are_what_tokens_issue(value: object) -> None:
    with pytest.raises(InvalidValue):
        check_agent_id(value, "to_agent_id")


def test_a_good_agent_id_passes() -> None:
    assert check_agent_id("planner.v2@team/x:1-a_b", "to_agent_id") == "planner.v2@team/x:1-a_b"


@pytest.mark.parametrize(
    "value, message",
    [
        ("0001-01-01T00:00:00+05:00", "outside the years 1 to 9999"),
        ("9999-12-31T23:59:59-05:00", "outside the years 1 to 9999"),
        ("", "must be an ISO 8601 time string"),
        ("   ", "must be an ISO 8601 time string"),
        ("yesterday", "is not an ISO 8601 time"),
        (5, "must be an ISO 8601 time string"),
    ],
)
def test_times_that_cannot_be_stored_in_utc_are_refused(value: object, message: str) -> None:
    with pytest.raises(InvalidValue, match=message):
        check_timestamp(value, "occurred_at")


def test_times_are_stored_in_utc_with_milliseconds() -> None:
    assert check_timestamp("2024-05-01T14:00:00+02:00", "t") == "2024-05-01T12:00:00.000Z"
    assert check_timestamp("2024-05-01", "t") == "2024-05-01T00:00:00.000Z"


@pytest.mark.parametrize(
    "value, field",
    [
        ({"a": [1, "\udc00"]}, "metadata.a[1]"),
        ({"\ud800": 1}, "metadata (a key)"),
        ({"n": 2**63}, "metadata.n"),
        ({"f": math.nan}, "metadata.f"),
        ({"s": {1, 2}}, "metadata.s"),
        ({1: "x"}, "metadata"),
    ],
)
def test_json_values_name_the_place_that_is_wrong(value: Any, field: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        check_json_value(value, "metadata")
    assert caught.value.field == field


def test_nesting_is_limited_without_recursing() -> None:
    assert check_json_value(_nest(MAX_JSON_DEPTH), "metadata")
    with pytest.raises(InvalidValue, match=f"nested more than {MAX_JSON_DEPTH} levels"):
        check_json_value(_nest(MAX_JSON_DEPTH + 1), "metadata")
    with pytest.raises(InvalidValue, match="nested more than"):
        check_json_value(_nest(100_000), "metadata")  # far past Python's recursion limit


def test_a_year_before_1000_is_written_with_four_digits_and_sorts_as_text() -> None:
    early = check_timestamp("0446-06-28T00:00:00.575+01:01", "expires_at")
    assert early == "0446-06-27T22:59:00.575Z"  # ISO 8601 (and the OpenAPI date-time format)
    assert early < check_timestamp("2024-05-01T12:00:00Z", "expires_at")
