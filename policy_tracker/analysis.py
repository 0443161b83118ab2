"""Records for analysts' tools: a SQLite database (Datasette, DuckDB, any SQL) and a long, typed observations CSV."""

from __future__ import annotations

import calendar
import json
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from policy_tracker.csvfile import csv_chunks
from policy_tracker.models import Indicator, IndicatorData, RegionRecord, Task

Pair = tuple[str, Task | RegionRecord]  # (region, record), as export reads them

_SCHEMA = """
CREATE TABLE tasks(
    id TEXT PRIMARY KEY, number INTEGER NOT NULL, label TEXT NOT NULL, chapter TEXT NOT NULL,
    title_zh TEXT NOT NULL, title_en TEXT NOT NULL, serves TEXT NOT NULL, text_recovered TEXT NOT NULL);
CREATE TABLE indicators(
    task TEXT NOT NULL REFERENCES tasks(id), id TEXT NOT NULL, name_zh TEXT NOT NULL, name_en TEXT NOT NULL,
    unit TEXT NOT NULL, direction TEXT NOT NULL, frequency TEXT, PRIMARY KEY (task, id));
CREATE TABLE records(
    task TEXT NOT NULL REFERENCES tasks(id), region TEXT NOT NULL, origin TEXT, status TEXT NOT NULL,
    owner TEXT NOT NULL, revision INTEGER NOT NULL, rating TEXT, rating_rationale TEXT, rating_by TEXT,
    rating_at TEXT, conflicts INTEGER NOT NULL, PRIMARY KEY (task, region));
CREATE TABLE observations(
    task TEXT NOT NULL, region TEXT NOT NULL, indicator TEXT NOT NULL,
    date TEXT NOT NULL, period_start TEXT NOT NULL, period_end TEXT NOT NULL, value REAL, qualifier TEXT,
    value_text TEXT, unit TEXT, basis TEXT, period TEXT, publisher TEXT, source TEXT NOT NULL, note TEXT,
    FOREIGN KEY (task, region) REFERENCES records(task, region));
CREATE TABLE targets(
    task TEXT NOT NULL, region TEXT NOT NULL, indicator TEXT NOT NULL, year INTEGER, period TEXT, value REAL,
    comparator TEXT, value_text TEXT, unit TEXT, basis TEXT, target_from TEXT NOT NULL, issued TEXT,
    source TEXT NOT NULL, note TEXT, FOREIGN KEY (task, region) REFERENCES records(task, region));
CREATE TABLE history(
    task TEXT NOT NULL, region TEXT NOT NULL, change TEXT NOT NULL, at TEXT NOT NULL, by TEXT NOT NULL,
    field TEXT NOT NULL, old TEXT, new TEXT, note TEXT, source TEXT, undoes TEXT,
    FOREIGN KEY (task, region) REFERENCES records(task, region));
CREATE INDEX observations_indicator ON observations(indicator, region, period_end);
CREATE INDEX history_at ON history(at);
"""


def period_bounds(date: str) -> tuple[str, str]:
    """The first and last day an observation's date covers: "2024" -> 2024-01-01..2024-12-31, "2024-06" -> the month."""
    parts = [int(p) for p in date.split("-")]
    year, month, day = [*parts, 0, 0][:3]
    if day:
        return date, date
    if month:
        return f"{year:04d}-{month:02d}-01", f"{year:04d}-{month:02d}-{calendar.monthrange(year, month)[1]:02d}"
    return f"{year:04d}-01-01", f"{year:04d}-12-31"


def _indicators(record: Task | RegionRecord) -> Sequence[Indicator | IndicatorData]:
    return record.indicators


def _task_id(record: Task | RegionRecord) -> str:
    return record.id if isinstance(record, Task) else record.task


def sqlite_bytes(tasks: Sequence[Task], records: Iterable[Pair], origins: Sequence[str] | None = None) -> bytes:
    """The tasks and records as a SQLite database file: tasks, indicators, records, observations, targets, history.

    Dates stay as written (`date`) and as ISO days (`period_start`, `period_end`); values are REAL, exactly as
    stored; a history row is one field's change, `old` and `new` as JSON text.
    """
    with tempfile.TemporaryDirectory(prefix="ptrack-sqlite-") as folder:
        path = Path(folder) / "ptrack.db"
        db = sqlite3.connect(path)
        try:
            db.executescript(_SCHEMA)
            db.executemany(
                "INSERT INTO tasks VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (t.id, t.number, t.label, t.chapter, t.title_zh, t.title_en, " ".join(t.serves), t.text_recovered)
                    for t in tasks
                ],
            )
            db.executemany(
                "INSERT INTO indicators VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(t.id, i.id, i.name_zh, i.name_en, i.unit, i.direction, i.frequency) for t in tasks for i in t.indicators],
            )
            for n, (region, record) in enumerate(records):
                _insert_record(db, region, record, origins[n] if origins else None)
            db.commit()
        finally:
            db.close()
        return path.read_bytes()


def _insert_record(db: sqlite3.Connection, region: str, record: Task | RegionRecord, origin: str | None) -> None:
    task = _task_id(record)
    rating = record.rating
    db.execute(
        "INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (task, region, origin, record.status, record.owner or region, record.revision,
         rating.level if rating else None, rating.rationale if rating else None, rating.by if rating else None,
         rating.at if rating else None, len(record.conflicts)),
    )  # fmt: skip
    for ind in _indicators(record):
        for o in ind.observations:
            start, end = period_bounds(o.date)
            db.execute(
                "INSERT INTO observations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (task, region, ind.id, o.date, start, end, o.value, o.qualifier, o.value_text, o.unit, o.basis, o.period,
                 o.publisher, o.source, o.note),
            )  # fmt: skip
        for t in ind.targets:
            db.execute(
                "INSERT INTO targets VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (task, region, ind.id, t.year, t.period, t.value, t.comparator, t.value_text, t.unit, t.basis, t.target_from,
                 t.issued, t.source, t.note),
            )  # fmt: skip
    for h in record.history:
        for c in h.changes:
            db.execute(
                "INSERT INTO history VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (task, region, h.change, h.at, h.by, c.field, _json(c.old), _json(c.new), h.note, h.source, h.undoes),
            )


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


OBSERVATION_COLUMNS = (
    "task", "region", "indicator", "date", "period_start", "value", "qualifier", "unit", "basis", "date_as_published",
    "period", "value_text", "publisher", "source", "note",
)  # fmt: skip


def observations_csv(records: Iterable[Pair], origins: Sequence[str] | None = None) -> str:
    """Every observation as one row (long format), for pandas, R and other tools that type columns by themselves.

    `date` is the ISO day the figure's period ends (2024 -> 2024-12-31) and `period_start` the day it begins;
    `value` is a plain number (no qualifier: that has its own column), empty when the source gives words only;
    UTF-8 without a byte-order mark; text cells cannot run as formulas. With `origins`, an `origin` column.
    """
    return "".join(observations_csv_chunks(records, origins))


def observations_csv_chunks(records: Iterable[Pair], origins: Sequence[str] | None = None) -> Iterator[str]:
    """`observations_csv` in pieces as the records come: the same text."""

    def rows() -> Iterator[list[object]]:
        for n, (region, record) in enumerate(records):
            task = _task_id(record)
            for ind in _indicators(record):
                for o in ind.observations:
                    start, end = period_bounds(o.date)
                    row: list[object] = [task, region, ind.id, end, start, o.value, o.qualifier, o.unit, o.basis, o.date]
                    row += [o.period, o.value_text, o.publisher, o.source, o.note]  # exact numbers, no formulas
                    yield [*row, origins[n]] if origins else row

    return csv_chunks((*OBSERVATION_COLUMNS, "origin") if origins else OBSERVATION_COLUMNS, rows())
