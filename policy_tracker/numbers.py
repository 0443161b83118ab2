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


COMPUTED_DECIMALS = 2  # projections and rates are estimates: two decimals, never float noise


def format_computed(value: float) -> str:
    """A computed figure (a projection, a rate per year, a year reached) as text: rounded to two decimals,
    trailing zeros dropped, thousands separated: 71.0793698630137 -> "71.08", -1830.4 -> "-1,830.4", 0.5 -> "0.5".

    Stored (published) figures go through `format_number` instead, which keeps every digit. A non-zero value that
    two decimals would show as 0 keeps two significant digits (0.0042 -> "0.0042"), so a small change never reads
    as no change.
    """
    if not math.isfinite(value):
        return repr(value)
    rounded = round(value, COMPUTED_DECIMALS)
    if rounded == 0 and value != 0:
        return f"{value:.2g}"
    text = f"{rounded:,.{COMPUTED_DECIMALS}f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def round_computed(value: float | None) -> float | None:
    """A computed figure for JSON: rounded as `format_computed` shows it (a share as a fraction: 0.3 is 30 %)."""
    if value is None or not math.isfinite(value):
        return value
    rounded = round(value, COMPUTED_DECIMALS)
    return float(f"{value:.2g}") if rounded == 0 and value != 0 else rounded + 0.0


def format_share(value: float) -> str:
    """A computed share (progress, time elapsed, coverage) as a whole percent: 0.2398 -> "24%"."""
    return f"{round(value * 100)}%"
