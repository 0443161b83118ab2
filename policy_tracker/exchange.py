"""Spreadsheets in and out: the CSV that region offices send and receive (pure: bytes in, rows out)."""

from __future__ import annotations

import codecs
import csv
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from policy_tracker.cells import DATE_FORMS, HEADERS, clean, column_key, fold, parse_date, parse_value
from policy_tracker.changes import Edit, NewObservation, Stamp
from policy_tracker.csvfile import csv_chunks, csv_text, unneutralise
from policy_tracker.errors import PtrackError
from policy_tracker.models import Observation, RegionRecord, Task, Workspace
from policy_tracker.numbers import format_number
from policy_tracker.query import find_region, parse_status, parse_task_id

if TYPE_CHECKING:
    from policy_tracker.store import Written

COLUMNS = ("task", "region", "status", "indicator", "value", "date", "source", "note", "by")
REQUIRED = ("task",)
IGNORED = ("origin",)  # written by a roll-up export (`export --with`): where a record came from
MAX_CSV_BYTES = 20 * 1024 * 1024
_COUNT = "\0cells"  # not a column name: marks a row with the wrong number of cells


@dataclass(frozen=True, slots=True)
class Row:
    """One data row of an import, as text, with its row number in the file (the header is row 1).

    Its cells are a tuple beside the file's one `columns` map (column -> position): an import of 100,000 rows
    holds them all, and a dict per row would take three times the memory.
    """

    number: int
    values: tuple[str, ...]
    columns: Mapping[str, int]

    @classmethod
    def of(cls, number: int, cells: Mapping[str, str]) -> Row:
        return cls(number, tuple(cells.values()), {column: k for k, column in enumerate(cells)})

    @property
    def cells(self) -> dict[str, str]:
        return {column: self.values[k] for column, k in self.columns.items()}

    def get(self, column: str) -> str:
        k = self.columns.get(column)
        return "" if k is None else self.values[k].strip()


def decode(data: bytes, name: str, encoding: str | None = None) -> str:
    """The text of an import file: UTF-8 (with or without BOM), or GB18030 (what Excel writes in a Chinese locale).

    Without `encoding`, GB18030 is taken only when the file is clearly GB18030: it is not mostly UTF-8, it
    decodes as GB18030 without error, and every character it then holds is Chinese text or punctuation. A
    mostly-UTF-8 file with a stray byte is refused with the byte's offset, never read as GB18030 mojibake.
    """
    if len(data) > MAX_CSV_BYTES:
        raise PtrackError(f"{name} is {len(data):,} bytes, over the {MAX_CSV_BYTES:,} limit", fix="Split it into smaller files")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise PtrackError(f"{name} is UTF-16 text", fix="In Excel, save as 'CSV UTF-8 (comma delimited)'")
    if b"\x00" in data:
        raise PtrackError(f"{name} is not a text file", fix="Give a CSV file")
    if encoding is not None:
        return _decode_as(data, name, encoding)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        if _clearly_gb18030(data):
            return data.decode("gb18030")
        raise _not_encoded(data, name, "UTF-8", e) from None


def _decode_as(data: bytes, name: str, encoding: str) -> str:
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        raise PtrackError(f"unknown encoding '{encoding}'", fix="Give --encoding utf-8 or --encoding gb18030") from None
    try:
        return data.decode("utf-8-sig" if codec == "utf-8" else codec)
    except UnicodeDecodeError as e:
        raise _not_encoded(data, name, "UTF-8" if codec == "utf-8" else encoding, e) from None


def _not_encoded(data: bytes, name: str, encoding: str, e: UnicodeDecodeError) -> PtrackError:
    line = data.count(b"\n", 0, e.start) + 1
    other = "--encoding gb18030" if encoding == "UTF-8" else "--encoding utf-8"  # the other one Excel writes
    return PtrackError(
        f"{name}: byte {e.start} (line {line}) is not {encoding} (0x{data[e.start]:02x})",
        fix=f"Save the file as UTF-8 (in Excel: 'CSV UTF-8 (comma delimited)'), or if it is another encoding pass {other}",
    )


def _clearly_gb18030(data: bytes) -> bool:
    as_utf8 = data.decode("utf-8", errors="replace")
    valid = sum(1 for c in as_utf8 if ord(c) > 0x7F and c != "\ufffd")
    if valid >= as_utf8.count("\ufffd"):
        return False  # mostly UTF-8: the bad bytes are damage, not another encoding
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        return False
    wide = [c for c in text if ord(c) > 0x7F and c != "\ufeff"]
    return len(wide) >= 2 and all(_CHINESE.match(c) for c in wide)


# CJK ideographs, CJK and fullwidth punctuation, general punctuation (“”—…·), letterlike units (℃ ㎡)
_CHINESE = re.compile(r"[\u2000-\u206f\u2100-\u218f\u2460-\u24ff\u3000-\u303f\u3200-\u33ff\u3400-\u4dbf\u4e00-\u9fff"
                      r"\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\u00b7\u00d7\u00b0\u00b2\u00b3]")  # fmt: skip


def read_rows(text: str, name: str) -> list[Row]:
    """The rows of an import file; its header must name known columns, `task` among them.

    Strict: a quote that is never closed, text after a closing quote, or a row with more or fewer cells than
    the header is an error naming its line, never read as some other table.
    """
    reader = csv.reader(_lines(text), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise PtrackError(f"{name} is empty", fix=f"The first row names the columns: {', '.join(COLUMNS)}") from None
    except csv.Error:
        raise _broken(text, name, 1, []) from None
    columns = [column_key(h) or h.strip() for h in header]  # 任务 or Task or ＴＡＳＫ: the column `task`
    known = ", ".join(f"{c} ({HEADERS[c][0]})" for c in COLUMNS)
    unknown = [h for h in columns if h and h not in COLUMNS and h not in IGNORED]
    if unknown:
        raise PtrackError(f"{name}: unknown column {', '.join(unknown)}", fix=f"Columns are: {known}")
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise PtrackError(f"{name}: no '{missing[0]}' column", fix=f"Columns are: {known}")
    twice = next((c for c in columns if c and columns.count(c) > 1), None)
    if twice is not None:
        raise PtrackError(f"{name}: the column {twice} ({HEADERS[twice][0]}) appears twice in the header")
    rows = []
    positions = {column: k for k, column in enumerate(columns)}
    seen: dict[str, str] = {}  # one copy of each short text (tasks, regions, dates, names repeat on every row)
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error:
            raise _broken(text, name, start, columns) from None
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(columns):  # reported with the other problems by plan_import
            rows.append(Row.of(start, {_COUNT: f"{len(cells)} cells; the header has {len(columns)}"}))
            continue
        values = (unneutralise(cell) for cell in cells)
        rows.append(Row(start, tuple(seen.setdefault(v, v) if len(v) <= 32 else v for v in values), positions))
    return rows


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


def _lines(text: str) -> Iterator[str]:
    """The lines of `text` with their ends, split as `io.StringIO(text, newline="")` splits them, one at a time:
    StringIO would hold a copy of a 20 MB file at four bytes a character."""
    return (m[0] for m in _LINE.finditer(text))


def _broken(text: str, name: str, start: int, columns: list[str]) -> PtrackError:
    """Where the CSV row starting at line `start` breaks: a quote never closed, or text after a closing quote."""
    line, cell, opened, quoted, after = start, 0, (start, 0), False, False
    for number, physical in enumerate(text.splitlines(keepends=True)[start - 1 :], start):
        i = 0
        while i < len(physical):
            c = physical[i]
            if quoted:
                if c == '"' and physical[i + 1 : i + 2] == '"':
                    i += 1
                elif c == '"':
                    quoted, after = False, True
            elif c == '"' and not after:
                quoted, opened = True, (number, cell)
            elif c == ",":
                cell, after = cell + 1, False
            elif c in "\r\n":
                break
            elif after:
                line = number
                break
            i += 1
        else:
            continue
        if not quoted:
            break

    def where(n: int) -> str:
        return columns[n] if n < len(columns) else str(n + 1)

    if quoted:
        return PtrackError(
            f'{name}: line {opened[0]}, column {where(opened[1])}: a quote (") opens a cell that is never closed,'
            " so every later line would be read into it",
            fix='Close the cell with a second ", or write a quote inside a cell as ""',
        )
    return PtrackError(
        f"{name}: line {line}, column {where(cell)}: text after the closing quote of a cell",
        fix='Quote the whole cell and write a quote inside it as ""',
    )


def format_value(o: Observation) -> str:
    if o.value is None:
        return o.value_text or ""
    return f"{o.qualifier or ''}{format_number(o.value)}"


def export_rows(records: Iterable[tuple[str, Task | RegionRecord]]) -> list[list[str]]:
    """One row per record (its status) and one per observation: what `import` reads back as no change."""
    return list(iter_export_rows(records))


def iter_export_rows(records: Iterable[tuple[str, Task | RegionRecord]]) -> Iterator[list[str]]:
    """`export_rows` as the records come."""
    for region, record in records:
        task = record.id if isinstance(record, Task) else record.task
        yield [task, region, record.status, "", "", "", "", "", ""]
        for ind in record.indicators:
            for o in ind.observations:
                yield [task, region, "", ind.id, format_value(o), o.date, o.source, o.note or "", ""]


def export_csv(rows: Sequence[Sequence[str]], header: Sequence[str] = COLUMNS) -> bytes:
    """UTF-8 with a byte-order mark, so Excel opens the Chinese text intact; no cell can run as a formula."""
    return ("\ufeff" + csv_text(header, rows, line_end="\r\n")).encode("utf-8")


def export_csv_chunks(rows: Iterable[Sequence[str]], header: Sequence[str] = COLUMNS) -> Iterator[bytes]:
    """`export_csv` in pieces as the rows come: the same bytes."""
    yield "\ufeff".encode()
    for text in csv_chunks(header, rows, line_end="\r\n"):
        yield text.encode("utf-8")


@dataclass
class RecordImport:
    """What the rows for one (task, region) record ask for."""

    task: str
    region: str
    rows: list[int]
    edit: Edit
    by: str | None
    unchanged: int = 0  # rows that ask for nothing the record does not already hold


def plan_import(
    rows: Sequence[Row],
    ws: Workspace,
    current: Callable[[str, str], Task | RegionRecord],
    progress: Callable[[int], None] | None = None,
) -> tuple[list[RecordImport], list[str]]:
    """Check every row against the workspace and the records as they are; group them by record.

    Returns the imports and every problem found, as `row N, column C: problem`. All or nothing: the
    caller writes nothing unless the problem list is empty. `progress(1)` is called after each row.
    """
    problems: list[str] = []
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    definitions = {t.id: t for t in ws.tasks}
    region_codes: dict[str, str] = {}

    for row in rows:
        if progress is not None:
            progress(1)
        if _COUNT in row.columns:
            problems.append(f"row {row.number}: {row.get(_COUNT)} (give one cell per column; quote a cell holding a comma)")
            continue

        def bad(column: str, message: str, row: Row = row) -> None:
            problems.append(f"row {row.number}, column {column}: {message}")

        try:
            task = parse_task_id(row.get("task"))
        except PtrackError as e:
            bad("task", str(e))
            continue
        region = "CN"
        if row.get("region"):
            try:
                if row.get("region") not in region_codes:  # the registry is searched once per name, not once per row
                    region_codes[row.get("region")] = find_region(ws.regions, row.get("region")).code
                region = region_codes[row.get("region")]
            except PtrackError as e:
                bad("region", str(e))
                continue
        group = groups.setdefault(
            (task, region), {"rows": [], "status": None, "obs": [], "notes": [], "sources": [], "by": None, "unchanged": 0}
        )
        group["rows"].append(row.number)
        # Does this row ask for anything the record does not hold yet? (An indicator row's note is the value's.)
        noted = _noted(current(task, region), row.get("note"))  # the same file imported again
        asks = bool(row.get("note")) and not row.get("indicator") and not noted
        if row.get("status"):
            try:
                status = parse_status(row.get("status"))
            except PtrackError as e:
                bad("status", str(e))
            else:
                if group["status"] not in (None, status):
                    bad("status", f"{task} {region} is given two statuses ({group['status']} and {status})")
                group["status"] = status
                asks = asks or status != current(task, region).status
        if row.get("by"):
            if group["by"] not in (None, row.get("by")):
                bad("by", f"{task} {region} is given by two people ({group['by']} and {row.get('by')})")
            group["by"] = row.get("by")
        if row.get("indicator"):
            obs = _row_observation(row, definitions[task], region, current, bad)
            if obs is not None:
                asks = True
                if any(o.indicator == obs.indicator and o.date == obs.date for o in group["obs"]):
                    bad("date", f"a second value for {obs.indicator} on {obs.date} for {task} {region}")
                group["obs"].append(obs)
        elif row.get("value"):
            bad("indicator", "a value needs the indicator it belongs to")
        elif row.get("date"):  # offices date every row: a status row's date is checked, then not stored
            try:
                parse_date(row.get("date"))
            except ValueError as e:
                bad("date", str(e))
        elif row.get("note") and not noted:
            group["notes"].append(row.get("note"))
        if row.get("source") and not row.get("indicator"):
            group["sources"].append(row.get("source"))
        group["unchanged"] += not asks

    imports = []
    for (task, region), g in groups.items():
        edit = Edit(
            status=g["status"],
            observations=tuple(g["obs"]),
            note="; ".join(dict.fromkeys(g["notes"])) or None,
            source="; ".join(dict.fromkeys(g["sources"])) or None,
        )
        imports.append(RecordImport(task, region, g["rows"], edit, g["by"], g["unchanged"]))
    return imports, problems


def group_rows(rows: Sequence[Row], ws: Workspace) -> dict[tuple[str, str] | None, list[Row]]:
    """The rows of each (task, region) record, in file order, without reading any record; rows that name no
    known task or region, or have the wrong number of cells, are grouped under None (plan_import reports them).

    `plan_import` of each group gives what `plan_import` of all rows gives: every check it makes across rows
    (two statuses, two people, two values of one date) is within one record.
    """
    groups: dict[tuple[str, str] | None, list[Row]] = {}
    region_codes: dict[str, str] = {}
    for row in rows:
        key: tuple[str, str] | None = None
        if _COUNT not in row.columns:
            name = row.get("region")
            try:
                task = parse_task_id(row.get("task"))
                if name and name not in region_codes:
                    region_codes[name] = find_region(ws.regions, name).code
                key = (task, region_codes[name] if name else "CN")
            except PtrackError:
                key = None
        groups.setdefault(key, []).append(row)
    return groups


def _row_observation(
    row: Row, task: Task, region: str, current: Callable[[str, str], Task | RegionRecord], bad: Callable[[str, str], None]
) -> NewObservation | None:
    """The observation a row adds; None when the row is bad (reported through `bad`) or already recorded."""
    indicator = clean(row.get("indicator"))
    # an office may name the indicator by its id or by its Chinese or English name, compared as headers are
    definition = next((i for i in task.indicators if fold(indicator) in {fold(i.id), fold(i.name_zh), fold(i.name_en)}), None)
    if definition is None:
        known = ", ".join(i.id for i in task.indicators) or "none"
        bad("indicator", f"task {task.id} has no indicator '{indicator}' (its indicators: {known})")
        return None
    indicator = definition.id
    date_text = row.get("date")
    if not date_text:
        bad("date", f"a value needs the date it refers to ({DATE_FORMS})")
        return None
    try:
        given = parse_date(date_text)
    except ValueError as e:
        bad("date", str(e))
        return None
    date = given.date
    text = row.get("value")
    same_date = _observations_on(current(task.id, region), indicator, date)
    if any(format_value(o) == text for o in same_date):
        return None  # exactly what the record already holds (a re-imported export)
    existing = next((o for o in same_date if o.value is not None), None)
    try:
        value = parse_value(text, definition.unit)
    except ValueError as e:
        bad("value", str(e))
        return None
    if not math.isfinite(value):
        bad("value", f"'{text}' is not a usable number")
        return None
    if existing is not None and existing.value == value:
        return None  # the same number written another way (12,345 for 12345)
    if not row.get("source"):
        bad("source", f"the value of {indicator} needs its source (a URL or document number)")
        return None
    if existing is not None:
        bad(
            "value",
            f"{task.id} {region} already has {indicator} = {format_value(existing)} for {date};"
            " correct it with ptrack update --correct",
        )
        return None
    return NewObservation(indicator, value, date, source=row.get("source"), note=row.get("note") or None, period=given.period)


def _noted(record: Task | RegionRecord, note: str) -> bool:
    """Whether the record's latest history entry already says this note (a file imported twice)."""
    return bool(note) and bool(record.history) and (record.history[-1].note or "").endswith(note)


def _observations_on(record: Task | RegionRecord, indicator: str, date: str) -> list[Observation]:
    for ind in record.indicators:
        if ind.id == indicator:
            return [o for o in ind.observations if o.date == date]
    return []


def import_summary(
    written: Sequence[Written],
    regions: dict[Path, str],
    unchanged: int,
    ws: Workspace,
    stamp: Stamp,
    name: str,
    *,
    dry_run: bool = False,
    added: Sequence[int] | None = None,
) -> str:
    """What an import did, in a few lines: records changed, observations added, rows unchanged, per region.

    `regions` maps each record's path to its region code. `added`: the observations each record gained, when
    the history entries were not kept (a long import keeps only who made each one).
    """
    per_region: dict[str, list[int]] = {}
    for k, w in enumerate(written):
        if added is not None:
            gained = added[k]
        else:
            gained = sum(1 for c in w.entry.changes if c.field.startswith("observation:") and c.old is None)
        counts = per_region.setdefault(regions.get(w.path, "?"), [0, 0])
        counts[0] += 1
        counts[1] += gained
    records, observations = len(written), sum(c[1] for c in per_region.values())
    verb = "Would import" if dry_run else "Imported"
    reporters = sorted({w.entry.by for w in written} - set(stamp.by.split("、")))
    change = "" if not written else f" as change {stamp.change} by {stamp.by}"
    change += f" (rows reported by {'、'.join(reporters)})" if reporters else ""
    lines = [
        f"{verb} {name}{change}: {_count(records, 'record')} changed, {_count(observations, 'observation')} added,"
        f" {_count(unchanged, 'row')} unchanged."
    ]
    if per_region:
        labels = {code: f"{code} {r.zh}" if (r := ws.regions_by_code.get(code)) else code for code in per_region}
        width = max(_width(label) for label in labels.values()) + 2
        lines.append(f"  {'region':<{width}}{'records':>8}{'observations':>14}")
        for code in sorted(per_region):
            n_records, n_obs = per_region[code]
            pad = " " * (width - _width(labels[code]))
            lines.append(f"  {labels[code]}{pad}{n_records:>8}{n_obs:>14}")
    return "\n".join(lines) + "\n"


def _width(text: str) -> int:
    """Columns a text takes in a terminal: a Chinese character takes two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"
