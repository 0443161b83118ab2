"""The one CSV writer: every CSV ptrack writes (export, list, log, regions) goes through it (pure text)."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable, Iterator, Sequence

from policy_tracker.numbers import format_number

# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _quoted_formula(cell: str) -> bool:
    return cell.startswith("'") and cell.lstrip("'").startswith(FORMULA_START)


def neutralise(cell: str) -> str:
    """A cell a spreadsheet will show as text, never run as a formula (a plain number, -3.5, is left alone)."""
    if _quoted_formula(cell):
        return "'" + cell  # so that reading it back strips only the quote added here
    if not cell.startswith(FORMULA_START):
        return cell
    try:
        float(cell)
    except ValueError:
        return "'" + cell
    return cell


def unneutralise(cell: str) -> str:
    """The text `neutralise` was given: the quote it added is taken off again (what `import` reads)."""
    return cell[1:] if _quoted_formula(cell) else cell


_NEUTRALISED = frozenset(FORMULA_START) | {"'"}  # the first characters `neutralise` acts on


def cell_text(value: object) -> str:
    """A value as a CSV cell: numbers with all their digits, None empty, text that cannot run as a formula."""
    if type(value) is str and value[:1] not in _NEUTRALISED:  # most cells: nothing to neutralise (a listing's 100,000)
        return value
    if value is None:
        return ""
    if isinstance(value, float):
        return format_number(value)
    return neutralise(str(value))


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]], *, line_end: str = "\n") -> str:
    """A CSV document: the header, then one line per row, every cell through `cell_text`."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator=line_end)
    writer.writerow(header)
    writer.writerows([cell_text(c) for c in row] for row in rows)
    return buf.getvalue()


def csv_chunks(
    header: Sequence[str], rows: Iterable[Sequence[object]], *, line_end: str = "\n", size: int = 1000
) -> Iterator[str]:
    """`csv_text` in pieces as the rows come, `size` rows at a time: the same text, never all of it held at once."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator=line_end)
    writer.writerow(header)
    it = iter(rows)
    while True:
        writer.writerows([cell_text(c) for c in row] for row in itertools.islice(it, size))
        text = buf.getvalue()
        if not text:
            return
        yield text
        buf.seek(0)
        buf.truncate()
