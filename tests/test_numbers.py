"""Every stored number leaves ptrack with all its digits: one formatting function, tested as a round trip."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policy_tracker.numbers import format_number


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (12345678.0, "12345678"),
        (12345678.9, "12345678.9"),
        (0.1, "0.1"),
        (-0.5, "-0.5"),
        (68.2, "68.2"),
        (1e16, "10000000000000000"),
        (1.5e-7, "0.00000015"),
        (0.0, "0"),
        (-0.0, "0"),
        (123456789012345.67, "123456789012345.67"),
    ],
)
def test_numbers_are_written_in_full(value: float, text: str) -> None:
    assert format_number(value) == text


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_a_formatted_number_reads_back_as_the_same_number(value: float) -> None:
    assert float(format_number(value)) == value


@given(st.floats(min_value=-1e20, max_value=1e20, allow_nan=False))
def test_ordinary_magnitudes_never_use_scientific_notation(value: float) -> None:
    assert "e" not in format_number(value).lower() or abs(value) < 1e-12
