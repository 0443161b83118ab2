"""Spreadsheets in and out: the CSV that region offices send and receive (pure: bytes in, rows out)."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from policy_tracker.changes import Edit, NewObservation
from policy_tracker.errors import PtrackError
from policy_tracker.models import Observation, RegionRecord, Task, Workspace
from policy_tracker.numbers import format_number
from policy_tracker.query import find_region, parse_status, parse_task_id

COLUMNS = ("task", "region", "status", "indicator", "value", "date", "source", "note", "by")
REQUIRED = ("task",)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MAX_CSV_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class Row:
    """One data row of an import, as text, with its row number in the file (the header is row 1)."""

    number: int
    cells: dict[str, str]

    def get(self, column: str) -> str:
        return self.cells.get(column, "").strip()


def decode(data: bytes, name: str) -> str:
    """UTF-8 (with or without BOM) or GB18030, which Excel writes in a Chinese locale."""
    if len(data) > MAX_CSV_BYTES:
        raise PtrackError(f"{name} is {len(data):,} bytes, over the {MAX_CSV_BYTES:,} limit", fix="Split it into smaller files")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise PtrackError(f"{name} is UTF-16 text", fix="In Excel, save as 'CSV UTF-8 (comma delimited)'")
    if b"\x00" in data:
        raise PtrackError(f"{name} is not a text file", fix="Give a CSV file")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise PtrackError(f"{name} is neither UTF-8 nor GB18030 text", fix="In Excel, save as 'CSV UTF-8 (comma delimited)'")


def read_rows(text: str, name: str) -> list[Row]:
    """The rows of an import file; its header must name known columns, `task` among them."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise PtrackError(f"{name} is empty", fix=f"The first row names the columns: {', '.join(COLUMNS)}") from None
    except csv.Error as e:
        raise PtrackError(f"{name} is not valid CSV: {e}") from None
    columns = [h.strip().lower() for h in header]
    unknown = [h for h in columns if h and h not in COLUMNS]
    if unknown:
        raise PtrackError(f"{name}: unknown column {', '.join(unknown)}", fix=f"Columns are: {', '.join(COLUMNS)}")
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise PtrackError(f"{name}: no '{missing[0]}' column", fix=f"Columns are: {', '.join(COLUMNS)}")
    if len(set(columns)) != len(columns):
        raise PtrackError(f"{name}: a column appears twice in the header")
    rows = []
    try:
        for cells in reader:
            number = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(cells) > len(columns):
                rows.append(Row(number, {"_extra": "x"}))
                continue
            rows.append(Row(number, {col: _unneutralise(cell) for col, cell in zip(columns, cells, strict=False)}))
    except csv.Error as e:
        raise PtrackError(f"{name}: line {reader.line_num} is not valid CSV: {e}") from None
    return rows


def _quoted_formula(cell: str) -> bool:
    return cell.startswith("'") and cell.lstrip("'").startswith(_FORMULA_START)


def _unneutralise(cell: str) -> str:
    # export wrote '=... so that Excel would not run it; the text itself is what comes back
    return cell[1:] if _quoted_formula(cell) else cell


def neutralise(cell: str) -> str:
    """A cell a spreadsheet will show as text, never run as a formula (a plain number, -3.5, is left alone)."""
    if _quoted_formula(cell):
        return "'" + cell  # so that reading it back strips only the quote added here
    if not cell.startswith(_FORMULA_START):
        return cell
    try:
        float(cell)
    except ValueError:
        return "'" + cell
    return cell


def format_value(o: Observation) -> str:
    if o.value is None:
        return o.value_text or ""
    return f"{o.qualifier or ''}{format_number(o.value)}"


def export_rows(records: Iterable[tuple[str, Task | RegionRecord]]) -> list[list[str]]:
    """One row per record (its status) and one per observation: what `import` reads back as no change."""
    rows: list[list[str]] = []
    for region, record in records:
        task = record.id if isinstance(record, Task) else record.task
        rows.append([task, region, record.status, "", "", "", "", "", ""])
        for ind in record.indicators:
            for o in ind.observations:
                rows.append([task, region, "", ind.id, format_value(o), o.date, o.source, o.note or "", ""])
    return rows


def export_csv(rows: Sequence[Sequence[str]]) -> bytes:
    """UTF-8 with a byte-order mark, so Excel opens the Chinese text intact; no cell can run as a formula."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([neutralise(c) for c in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


@dataclass
class RecordImport:
    """What the rows for one (task, region) record ask for."""

    task: str
    region: str
    rows: list[int]
    edit: Edit
    by: str | None


def plan_import(
    rows: Sequence[Row], ws: Workspace, current: Callable[[str, str], Task | RegionRecord]
) -> tuple[list[RecordImport], list[str]]:
    """Check every row against the workspace and the records as they are; group them by record.

    Returns the imports and every problem found, as `row N, column C: problem`. All or nothing: the
    caller writes nothing unless the problem list is empty.
    """
    problems: list[str] = []
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    definitions = {t.id: t for t in ws.tasks}

    for row in rows:

        def bad(column: str, message: str, row: Row = row) -> None:
            problems.append(f"row {row.number}, column {column}: {message}")

        if "_extra" in row.cells:
            problems.append(f"row {row.number}: more cells than the header has columns")
            continue
        try:
            task = parse_task_id(row.get("task"))
        except PtrackError as e:
            bad("task", str(e))
            continue
        region = "CN"
        if row.get("region"):
            try:
                region = find_region(ws.regions, row.get("region")).code
            except PtrackError as e:
                bad("region", str(e))
                continue
        group = groups.setdefault((task, region), {"rows": [], "status": None, "obs": [], "notes": [], "sources": [], "by": None})
        group["rows"].append(row.number)
        if row.get("status"):
            try:
                status = parse_status(row.get("status"))
            except PtrackError as e:
                bad("status", str(e))
            else:
                if group["status"] not in (None, status):
                    bad("status", f"{task} {region} is given two statuses ({group['status']} and {status})")
                group["status"] = status
        if row.get("by"):
            if group["by"] not in (None, row.get("by")):
                bad("by", f"{task} {region} is given by two people ({group['by']} and {row.get('by')})")
            group["by"] = row.get("by")
        if row.get("indicator"):
            obs = _row_observation(row, definitions[task], region, current, bad)
            if obs is not None:
                if any(o.indicator == obs.indicator and o.date == obs.date for o in group["obs"]):
                    bad("date", f"a second value for {obs.indicator} on {obs.date} for {task} {region}")
                group["obs"].append(obs)
        elif row.get("value") or row.get("date"):
            bad("indicator", "a value or date needs the indicator it belongs to")
        elif row.get("note"):
            group["notes"].append(row.get("note"))
        if row.get("source") and not row.get("indicator"):
            group["sources"].append(row.get("source"))

    imports = []
    for (task, region), g in groups.items():
        edit = Edit(
            status=g["status"],
            observations=tuple(g["obs"]),
            note="; ".join(dict.fromkeys(g["notes"])) or None,
            source="; ".join(dict.fromkeys(g["sources"])) or None,
        )
        imports.append(RecordImport(task, region, g["rows"], edit, g["by"]))
    return imports, problems


def _row_observation(
    row: Row, task: Task, region: str, current: Callable[[str, str], Task | RegionRecord], bad: Callable[[str, str], None]
) -> NewObservation | None:
    indicator = row.get("indicator")
    if indicator not in {i.id for i in task.indicators}:
        known = ", ".join(i.id for i in task.indicators) or "none"
        bad("indicator", f"task {task.id} has no indicator '{indicator}' (its indicators: {known})")
        return None
    date_text = row.get("date")
    if not date_text:
        bad("date", "a value needs the date it refers to (YYYY, YYYY-MM or YYYY-MM-DD)")
        return None
    try:
        date = Observation(date=date_text, value=None, source="-").date
    except ValidationError:
        bad("date", f"'{date_text}' is not a date: write YYYY, YYYY-MM or YYYY-MM-DD")
        return None
    text = row.get("value")
    same_date = _observations_on(current(task.id, region), indicator, date)
    if any(format_value(o) == text for o in same_date):
        return None  # exactly what the record already holds (a re-imported export)
    existing = next((o for o in same_date if o.value is not None), None)
    try:
        value = float(text)
    except ValueError:
        bad("value", f"'{text}' is not a number" if text else "the value is empty")
        return None
    if not math.isfinite(value):
        bad("value", f"'{text}' is not a usable number")
        return None
    if not row.get("source"):
        bad("source", f"the value of {indicator} needs its source (a URL or document number)")
        return None
    if existing is not None and existing.value != value:
        bad(
            "value",
            f"{task.id} {region} already has {indicator} = {format_value(existing)} for {date};"
            " correct it with ptrack update --correct",
        )
        return None
    return NewObservation(indicator, value, date, source=row.get("source"), note=row.get("note") or None)


def _observations_on(record: Task | RegionRecord, indicator: str, date: str) -> list[Observation]:
    for ind in record.indicators:
        if ind.id == indicator:
            return [o for o in ind.observations if o.date == date]
    return []
