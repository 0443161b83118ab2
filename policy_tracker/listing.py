"""A listing of records as CSV, for programs: what `list` writes when piped. Light (no Rich): `render` re-exports it."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from policy_tracker.csvfile import csv_text
from policy_tracker.query import RecordRow

if TYPE_CHECKING:
    from policy_tracker.models import Task

ROW_CSV_HEADER = ("id", "region", "label", "chapter", "title_zh", "title_en", "status", "owner", "serves", "indicators")


def rows_csv(rows: Sequence[RecordRow]) -> str:
    out = [row_cells(r.task, r.region, r.status, r.owner) for r in rows]
    if any(r.origin for r in rows):  # a roll-up: which workspace each record came from
        return csv_text((*ROW_CSV_HEADER, "origin"), [(*o, r.origin or "") for o, r in zip(out, rows, strict=True)])
    return csv_text(ROW_CSV_HEADER, out)


def rows_csv_chunks(rows: Iterable[Sequence[object]], size: int = 1000) -> Iterator[str]:
    """`rows_csv` of rows already made cells (`row_cells`), in pieces as they stream in: the same text."""
    head = csv_text(ROW_CSV_HEADER, [])
    yield head
    it = iter(rows)
    while chunk := list(itertools.islice(it, size)):
        yield csv_text(ROW_CSV_HEADER, chunk)[len(head) :]


def row_cells(task: Task, region: str, status: str, owner: str) -> tuple[object, ...]:
    """One listing row's CSV cells (`ROW_CSV_HEADER`)."""
    return (task.id, region, task.label, task.chapter, task.title_zh, task.title_en, status, owner, " ".join(task.serves),
            len(task.indicators))  # fmt: skip
