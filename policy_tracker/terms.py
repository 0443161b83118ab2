"""The plain terms of a workspace: format version, task numbers, statuses, times. No pydantic: the read path
(`list` answered from the index) uses them without building the models (`models` re-exports them)."""

from __future__ import annotations

import datetime as dt
import re

SCHEMA_VERSION = 1
TASK_COUNT = 23

STATUSES: tuple[str, ...] = ("not_started", "in_progress", "completed", "blocked", "deferred")

STATUS_LABELS: dict[str, tuple[str, str]] = {
    "not_started": ("未开始", "not started"),
    "in_progress": ("进行中", "in progress"),
    "completed": ("已完成", "completed"),
    "blocked": ("受阻", "blocked"),
    "deferred": ("暂缓", "deferred"),
}


_INSTANT_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?[ ]?(Z|z|[+-]\d{2}(?::?\d{2})?)?$"
)


def parse_instant(text: str) -> dt.datetime:
    """An ISO 8601 time, as an aware datetime: `2026-11-29T10:15:00.123+08:00`, `...Z`; a time without a zone is UTC.

    Parsed here rather than by `datetime.fromisoformat`, which on Python 3.10 refuses `Z` and fractions that are
    not 3 or 6 digits: a history that validates on one Python reads on every other. Raises ValueError.
    """
    m = _INSTANT_RE.match(text.strip())
    if m is None:
        raise ValueError(f"'{text}' is not a time: write ISO 8601 with the zone, e.g. 2026-11-29T10:15:00+08:00")
    zone = dt.timezone.utc
    if m[8] and m[8] not in "Zz":
        sign = -1 if m[8][0] == "-" else 1
        digits = m[8][1:].replace(":", "")
        zone = dt.timezone(sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0)))
    try:
        return dt.datetime(
            int(m[1]), int(m[2]), int(m[3]), int(m[4]), int(m[5]), int(m[6] or 0), int((m[7] or "").ljust(6, "0")[:6]), zone
        )
    except ValueError:
        raise ValueError(f"'{text}' is not a real time") from None


_ZH_DIGITS = "零一二三四五六七八九"


def chinese_numeral(n: int) -> str:
    """1 -> 一, 10 -> 十, 23 -> 二十三 (enough for task and chapter numbers)."""
    if n < 10:
        return _ZH_DIGITS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else _ZH_DIGITS[tens]) + "十" + (_ZH_DIGITS[ones] if ones else "")


def task_id(number: int) -> str:
    return f"T{number:02d}"
