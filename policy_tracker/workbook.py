"""Excel workbooks in and out (openpyxl): the export offices open, and the import of the sheet they send back.

openpyxl is imported inside the functions, so only `export --format xlsx` and an .xlsx import pay for it. Every
cell ptrack writes is typed on purpose: numbers as numbers, codes and dates as text, and user text always as a
string, never a formula (a note "=HYPERLINK(...)" stays those characters).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from policy_tracker.csvfile import neutralise
from policy_tracker.errors import PtrackError
from policy_tracker.exchange import COLUMNS, Row, export_rows, read_rows
from policy_tracker.matrix import Matrix, cell_lines, region_name
from policy_tracker.models import STATUS_LABELS, STATUSES, Region, RegionRecord, Task
from policy_tracker.numbers import format_number
from policy_tracker.progress import ASSESSMENT_LABELS, TASK_LABELS, TaskProgress

MAX_XLSX_BYTES = 50 * 1024 * 1024

# The import's columns as the records sheet heads them; an .xlsx import maps these back (both languages).
RECORD_HEADERS_ZH = {
    "task": "任务",
    "region": "地区",
    "status": "状态",
    "indicator": "指标",
    "value": "数值",
    "date": "日期",
    "source": "来源",
    "note": "说明",
    "by": "填报人",
}
SHEETS = {  # key: (zh, en); the records sheet is the one `import` reads
    "tasks": ("任务", "tasks"),
    "records": ("地区记录", "records"),
    "observations": ("观测值", "observations"),
    "assessments": ("评估", "assessments"),
    "matrix": ("任务×地区", "matrix"),
}


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[0] if lang == "zh" else pair[1] if lang == "en" else f"{pair[0]} {pair[1]}"


def _sheet_name(key: str, lang: str) -> str:
    return SHEETS[key][0] if lang == "zh" else SHEETS[key][1]


@dataclass(frozen=True)
class Code:
    """Text that looks like a number but is an identifier (region code 010100, a year 2024): stored as text."""

    text: str


def display_width(text: str) -> int:
    """Columns a text takes in a spreadsheet: CJK and full-width characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


@dataclass(frozen=True)
class Percent:
    """A share (0.42) stored as the number, shown as 42 %."""

    value: float | None


WIDTH_SAMPLE = 2000  # rows looked at to size a column: enough for its typical width, cheap on a large export


def _shown(value: object) -> str:
    if isinstance(value, Code):
        return value.text
    if isinstance(value, Percent):
        return "100%"
    if isinstance(value, str):
        return max(value.split("\n"), key=display_width) if value else ""
    return "" if value is None else str(value)


def _write(sheet: Any, header: Sequence[str], rows: Iterable[Sequence[object]], freeze: str = "A2") -> None:
    """Header, rows, frozen header row, and widths that fit CJK text; user text is forced to a string.

    The sheet is write-only (streamed): openpyxl's ordinary cells take half a minute for a 2,000-record export.
    """
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    # control characters cannot be stored in a workbook: shown as U+FFFD rather than failing the whole export
    rows = [[ILLEGAL_CHARACTERS_RE.sub("\ufffd", v) if isinstance(v, str) else v for v in values] for values in rows]
    widths = [display_width(h) for h in header]
    for values in rows[:WIDTH_SAMPLE]:
        for c, value in enumerate(values):
            widths[c] = max(widths[c], display_width(_shown(value)))
    for c, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(c)].width = min(60, max(6, width + 2))
    sheet.freeze_panes = freeze
    bold, fill, wrap = Font(bold=True), PatternFill("solid", fgColor="EEF1F5"), Alignment(wrap_text=True, vertical="top")

    def text_cell(text: str) -> Any:
        cell = WriteOnlyCell(sheet, value=text)
        cell.data_type = "s"  # never a formula, whatever the text starts with
        return cell

    head = []
    for name in header:
        cell = text_cell(name)
        cell.font, cell.fill = bold, fill
        head.append(cell)
    sheet.append(head)
    for values in rows:
        out: list[object] = []
        for value in values:
            if isinstance(value, Code):
                out.append(value.text)  # a string cell: Excel shows 010100 as text, never as the number 10100
            elif isinstance(value, Percent):
                cell = WriteOnlyCell(sheet, value=value.value)
                cell.number_format = "0%"
                out.append(cell)
            elif isinstance(value, str) and (value.startswith("=") or "\n" in value):
                cell = text_cell(value)
                if "\n" in value:
                    cell.alignment = wrap
                out.append(cell)
            else:
                out.append(value)  # a number, None, or text openpyxl stores as text anyway
        sheet.append(out)


def _status_dropdown(sheet: Any, column: int, lang: str) -> None:
    """A drop-down of the statuses import accepts, on every row below the header."""
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    values = [STATUS_LABELS[s][0] for s in STATUSES] if lang == "zh" else list(STATUSES)
    rule = DataValidation(type="list", formula1='"' + ",".join(values) + '"', allow_blank=True)
    rule.error = "不是有效状态 / not a valid status: " + ", ".join(values)
    rule.errorTitle = "状态 status"
    letter = get_column_letter(column)
    rule.add(f"{letter}2:{letter}1048576")
    sheet.data_validations.append(rule)


def _number_or_text(text: str) -> object:
    """A plain number as a number (so Excel sums it); anything else (>5, a word, empty) as it is."""
    if not text or text[0] in "<>~":
        return text
    try:
        return float(text) if any(ch in text for ch in ".eE") else int(text)
    except ValueError:
        return text


def export_workbook(
    records: Sequence[tuple[str, Task | RegionRecord]],
    tasks: Sequence[Task],
    regions: Sequence[Region],
    assessed: Sequence[TaskProgress],
    matrix: Matrix | None,
    lang: str,
) -> bytes:
    """The workbook: tasks, region records (what import reads back as no change), observations, assessments, matrix."""
    from openpyxl import Workbook

    names = {r.code: r for r in regions}
    zh = lang == "zh"

    def region_text(code: str) -> str:
        found = names.get(code)
        return region_name(found, lang) if found else code

    book = Workbook(write_only=True)
    sheet = book.create_sheet(_sheet_name("tasks", lang))
    header = (
        ["编号", "序号", "标签", "标题", "英文标题", "章", "服务目标", "状态", "牵头地区", "牵头单位"]
        if zh
        else ["id", "number", "label", "title_zh", "title_en", "chapter", "serves", "status", "owner", "lead_units"]
    )
    _write(
        sheet,
        header,
        (
            [
                Code(t.id),
                t.number,
                t.label,
                t.title_zh,
                t.title_en,
                t.chapter,
                ", ".join(t.serves),
                STATUS_LABELS[t.status][0] if zh else t.status,
                Code(t.owner),
                "、".join(t.lead_units),
            ]
            for t in tasks
        ),
    )
    _status_dropdown(sheet, 8, lang)

    sheet = book.create_sheet(_sheet_name("records", lang))
    rows = export_rows(records)
    if zh:
        for row in rows:
            if row[2]:
                row[2] = STATUS_LABELS[row[2]][0]
    _write(
        sheet,
        [RECORD_HEADERS_ZH[c] for c in COLUMNS] if zh else list(COLUMNS),
        ([Code(r[0]), Code(r[1]), r[2], r[3], _number_or_text(r[4]), Code(r[5]), *r[6:]] for r in rows),
    )
    _status_dropdown(sheet, 3, lang)

    sheet = book.create_sheet(_sheet_name("observations", lang))
    header = (
        ["任务", "地区", "地区名称", "指标", "指标名称", "单位", "日期", "数值", "限定", "文字值", "发布单位", "来源", "说明"]
        if zh
        else ["task", "region", "region_name", "indicator", "indicator_name", "unit", "date", "value", "qualifier",
              "value_text", "publisher", "source", "note"]
    )  # fmt: skip
    definitions = {t.id: {i.id: i for i in t.indicators} for t in tasks}
    observation_rows = []
    for region, record in records:
        task = record.id if isinstance(record, Task) else record.task
        for ind in record.indicators:
            known = definitions.get(task, {}).get(ind.id)
            for o in ind.observations:
                observation_rows.append(
                    [
                        Code(task),
                        Code(region),
                        region_text(region),
                        ind.id,
                        (known.name_zh if zh else known.name_en) if known else "",
                        o.unit or (known.unit if known else ""),
                        Code(o.date),
                        o.value,
                        o.qualifier or "",
                        o.value_text or "",
                        o.publisher or "",
                        o.source,
                        o.note or "",
                    ]
                )
    _write(sheet, header, observation_rows)

    sheet = book.create_sheet(_sheet_name("assessments", lang))
    header = (
        ["任务", "地区", "地区名称", "状态", "评估", "进展", "评级", "最新说明", "指标", "指标名称", "指标评估"]
        if zh
        else ["task", "region", "region_name", "status", "assessment", "progress", "rating", "latest_note", "indicator",
              "indicator_name", "indicator_assessment"]
    )  # fmt: skip
    assessment_rows: list[list[object]] = []
    for t in assessed:
        base: list[object] = [
            Code(t.task.id),
            Code(t.region),
            region_text(t.region),
            _pick(STATUS_LABELS[t.status], lang),
            _pick(TASK_LABELS[t.assessment], lang),
            None,  # progress is an indicator's share of the way at its data date, never a record average (issue 10)
            t.rating or "",
            t.latest_note or "",
        ]
        if not t.indicators:
            assessment_rows.append([*base, "", "", ""])
        indicator_names = {i.id: _pick((i.name_zh, i.name_en), lang) for i in t.task.indicators}
        for p in t.indicators:
            shown: list[object] = [
                *base,
                p.indicator,
                indicator_names.get(p.indicator, ""),
                _pick(ASSESSMENT_LABELS[p.assessment], lang),
            ]
            shown[5] = Percent(p.progress)
            assessment_rows.append(shown)
    _write(sheet, header, assessment_rows)

    if matrix is not None:
        sheet = book.create_sheet(_sheet_name("matrix", lang))
        header = ["任务" if zh else "task", "标题" if zh else "title", *(region_name(c, lang) for c in matrix.columns)]
        matrix_rows = [
            [Code(task.id), task.title_zh if lang != "en" else task.title_en, *("\n".join(cell_lines(c, lang)) for c in cells)]
            for task, cells in zip(matrix.tasks, matrix.rows, strict=True)
        ]
        _write(sheet, header, matrix_rows, freeze="C2")
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------- reading


def _cell_text(value: object) -> str:
    """A cell as the text a CSV would hold: numbers without a trailing .0, dates as YYYY-MM-DD."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_number(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def read_workbook_rows(data: bytes, name: str) -> list[Row]:
    """The import rows of a workbook's records sheet: the same rows the CSV reader yields for the same table.

    The sheet is the one named records / 地区记录 (what `export --format xlsx` writes), else the only or the active
    one. Row numbers are the sheet's. Header names and dates then go through the CSV reader's own rules.
    """
    from openpyxl import load_workbook

    if len(data) > MAX_XLSX_BYTES:
        raise PtrackError(f"{name} is {len(data):,} bytes, over the {MAX_XLSX_BYTES:,} limit", fix="Split it into smaller files")
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError) as e:
        raise PtrackError(f"{name} is not an Excel workbook (.xlsx): {e}", fix="Save it from Excel or WPS as .xlsx") from None
    wanted = {v for pair in (SHEETS["records"],) for v in pair}
    sheet = next((book[s] for s in book.sheetnames if s in wanted), None) or book.active
    if sheet is None:
        raise PtrackError(f"{name} has no sheet to read", fix="Put the records on the first sheet")
    headers = {v: k for k, v in RECORD_HEADERS_ZH.items()}
    buf = io.StringIO()
    # \r\n ends a row, so that a \r or \n inside a cell is quoted (a bare \r would otherwise end the row)
    writer = csv.writer(buf, lineterminator="\r\n")
    parts: list[str] = []
    sheet_rows: dict[int, int] = {}  # the CSV line a row starts on -> its row in the sheet
    line, width = 1, 0
    for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
        cells = [_cell_text(v) for v in values]
        while cells and not cells[-1].strip():
            cells.pop()  # trailing empty cells: Excel's used range is often wider than the table
        if number == 1:
            cells = [headers.get(c.strip(), c) for c in cells]
            width = len(cells)
        elif not cells:
            continue
        else:
            cells = [neutralise(c) for c in cells] + [""] * (width - len(cells))  # a row may end where its cells do
        sheet_rows[line] = number
        buf.seek(0)
        buf.truncate()
        writer.writerow(cells)
        parts.append(buf.getvalue())
        line += len(io.StringIO(parts[-1], newline="").readlines())  # lines as the CSV reader counts them
    book.close()
    return [replace(r, number=sheet_rows.get(r.number, r.number)) for r in read_rows("".join(parts), name)]
