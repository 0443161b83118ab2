"""Stored numbers as text: the one way every output (CSV, JSON, markdown, terminal, report) writes a value."""

from __future__ import annotations

import math
from decimal import Decimal

# Outside this range a positional number is a wall of zeros; no published statistic lives there.
_POSITIONAL = range(-12, 21)


def format_number(value: float) -> str:
    """The shortest decimal text that reads back (`float(text)`) as exactly `value`, without an exponent.

    12345678.0 -> "12345678", 0.1 -> "0.1", -0.5 -> "-0.5", 1e16 -> "10000000000000000". Python's `repr`
    gives the shortest round-trip digits (David Gay's algorithm); only their notation is changed here, never
    a digit. `%g` and friends round to 6 significant digits: 12345678 -> 1.23457e+07. Not-finite values,
    which no record holds, are written as Python writes them ("nan", "inf").
    """
    if not math.isfinite(value):
        return repr(value)
    digits = Decimal(repr(float(value)))
    if digits.adjusted() not in _POSITIONAL:
        return repr(float(value))
    text = format(digits, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text
