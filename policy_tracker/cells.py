"""Reading spreadsheet cells as offices write them: headers, dates, numbers with units (pure functions).

Everything is first folded with Unicode NFKC, so full-width digits, letters and signs (Ｔ０８, ６８．２％)
read as their ordinary forms.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

# The column names an import accepts: the English key first, then the Chinese headers offices use.
HEADERS: dict[str, tuple[str, ...]] = {
    "task": ("任务", "任务编号", "任务号"),
    "region": ("地区", "区域", "地方", "行政区划"),
    "status": ("状态", "进展状态", "进展"),
    "indicator": ("指标", "指标编号"),
    "value": ("数值", "值", "指标值"),
    "date": ("日期", "时间", "统计时间", "数据日期"),
    "source": ("来源", "数据来源", "依据"),
    "note": ("说明", "备注"),
    "by": ("填报人", "填表人"),
}


def fold(text: str) -> str:
    """NFKC-folded, case-folded, with every space removed: how headers and units are compared."""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


_HEADER_KEYS = {fold(name): key for key, names in HEADERS.items() for name in (key, *names)}


def column_key(header: str) -> str | None:
    """The column a header names (任务, Task, ＴＡＳＫ, ` 地 区 ` ...), or None when it names none."""
    return _HEADER_KEYS.get(fold(header.lstrip("\ufeff")))


def clean(text: str) -> str:
    """A cell as an identifier: NFKC-folded (Ｔ０８ -> T08) and stripped."""
    return unicodedata.normalize("NFKC", text).strip()


# ---------------------------------------------------------------------------------------------- dates

_QUARTER_END = {1: "03-31", 2: "06-30", 3: "09-30", 4: "12-31"}
_ZH_QUARTER = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}
_DAY = re.compile(
    r"^(\d{4})(?:[-/.](\d{1,2})[-/.](\d{1,2})|年(\d{1,2})月(\d{1,2})[日号]?)(?:T?0{1,2}:00(?::00)?)?$"
)  # Excel may add midnight
_MONTH = re.compile(r"^(\d{4})(?:[-/.](\d{1,2})|年(\d{1,2})月份?)$")
_YEAR = re.compile(r"^(\d{4})(?:年度?)?$")
_QUARTER = re.compile(r"^(\d{4})(?:[-/ ]?[Qq]([1-4])|年?第?([一二三四1-4])季度?)$")
DATE_FORMS = "2026-09-30, 2026/9/30, 2026.9.30, 2026年9月30日, 2026年9月, 2026年, 2026Q3 or 2026年第三季度"


@dataclass(frozen=True)
class CellDate:
    """A date as stored: `date` is YYYY, YYYY-MM or YYYY-MM-DD, as precise as what was written; a quarter is
    stored as its last day with `period` saying which quarter it was (2026Q3 -> date 2026-09-30, period 2026Q3)."""

    date: str
    period: str | None = None


def parse_date(text: str) -> CellDate:
    """The date a cell gives, keeping its precision. Raises ValueError with the forms accepted."""
    t = "".join(unicodedata.normalize("NFKC", text).split())
    if m := _DAY.match(t):
        year, month, day = int(m[1]), int(m[2] or m[4]), int(m[3] or m[5])
        try:
            return CellDate(dt.date(year, month, day).isoformat())
        except ValueError:
            raise ValueError(f"'{text}' is not a real date") from None
    if m := _MONTH.match(t):
        month = int(m[2] or m[3])
        if not 1 <= month <= 12:
            raise ValueError(f"'{text}' is not a real month")
        return CellDate(f"{m[1]}-{month:02d}")
    if m := _YEAR.match(t):
        return CellDate(m[1])
    if m := _QUARTER.match(t):
        quarter = int(m[2]) if m[2] else _ZH_QUARTER[m[3]]
        return CellDate(f"{m[1]}-{_QUARTER_END[quarter]}", period=f"{m[1]}Q{quarter}")
    raise ValueError(f"'{text}' is not a date: write {DATE_FORMS}")


# ---------------------------------------------------------------------------------------------- numbers

_NUMBER = re.compile(r"^([+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[+-]?\.\d+)(?:[eE]([+-]?\d+))?(.*)$")


def unit_names(unit: str) -> set[str]:
    """What a value's unit may be written as for an indicator in `unit`: the whole unit, its Chinese part and
    its English gloss (`万人 (10,000 persons)`), and `%` for a unit in percent (`% per year`)."""
    names = {fold(unit)}
    head, _, gloss = unit.partition(" (")
    names |= {fold(head), fold(gloss.rstrip(")"))} if gloss else {fold(head)}
    if unit.strip().startswith("%"):
        names.add("%")
    return {n for n in names if n}


def parse_value(text: str, unit: str) -> float:
    """A number as offices write it: full-width digits, thousands separators (12,345.6), and a unit or % that
    must be the indicator's. Raises ValueError saying what is wrong (a different unit names both)."""
    t = "".join(unicodedata.normalize("NFKC", text).split())
    if not t:
        raise ValueError("the value is empty")
    m = _NUMBER.match(t)
    if m is None:
        raise ValueError(f"'{text.strip()}' is not a number")
    number, exponent, written_unit = m[1].replace(",", ""), m[2], m[3]
    if written_unit[:1] in tuple(",.0123456789"):  # 1,23 or 1.2.3: not a number with a unit
        raise ValueError(f"'{text.strip()}' is not a number")
    if written_unit and fold(written_unit) not in unit_names(unit):
        raise ValueError(
            f"'{text.strip()}' is in {written_unit}, but the indicator is in {unit}: give the value in {unit.partition(' (')[0]}"
        )
    return float(number + (f"e{exponent}" if exponent else ""))
