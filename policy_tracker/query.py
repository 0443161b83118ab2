"""Resolving what the user typed (task, status, region, goal, chapter) and filtering tasks: pure functions."""

from __future__ import annotations

import datetime as dt
import difflib
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from policy_tracker.cells import CellDate, parse_date
from policy_tracker.clock import china_day
from policy_tracker.errors import PtrackError
from policy_tracker.terms import STATUS_LABELS, STATUSES, TASK_COUNT, chinese_numeral, parse_instant, task_id

if TYPE_CHECKING:  # not at run time: a listing answered from the index builds no pydantic models
    from policy_tracker.models import Chapter, Component, Goal, HistoryEntry, Region, RegionRecord, Task, Workspace

_TASK_REF_RE = re.compile(r"^[Tt]?(\d{1,2})$")
SORT_KEYS = ("id", "chapter", "status", "owner", "title")


def _suggest(text: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(text, list(choices), n=3, cutoff=0.5)
    return f" (did you mean {' or '.join(close)}?)" if close else ""


def parse_task_id(text: str) -> str:
    """`T08`, `t8`, `8`, `08` and full-width `Ｔ０８` all name task T08."""
    m = _TASK_REF_RE.match(unicodedata.normalize("NFKC", text).strip())
    if not m:
        raise PtrackError(f"'{text}' is not a task ID", fix=f"Write T01 ... T{TASK_COUNT} (or 1 ... {TASK_COUNT})")
    n = int(m[1])
    if not 1 <= n <= TASK_COUNT:
        raise PtrackError(f"there is no task {task_id(n)}", fix=f"Tasks run from T01 to T{TASK_COUNT}")
    return task_id(n)


def find_task(ws: Workspace, text: str) -> Task:
    tid = parse_task_id(text)
    for t in ws.tasks:
        if t.id == tid:
            return t
    raise PtrackError(f"task {tid} is not in this workspace", where=str(ws.root), fix="Run `ptrack validate`")


def parse_status(text: str) -> str:
    """A status key from its key, its English label (any case, spaces or dashes) or its Chinese label."""
    typed = unicodedata.normalize("NFKC", text).strip()
    wanted = typed.lower().replace("-", "_").replace(" ", "_")
    for key, (zh, _en) in STATUS_LABELS.items():
        if wanted == key or typed == zh:
            return key
    raise PtrackError(f"unknown status '{text}'{_suggest(wanted, STATUSES)}", fix=f"Use one of: {', '.join(STATUSES)}")


def find_region(regions: Sequence[Region], text: str) -> Region:
    """A region by code, Chinese or English name (with or without its suffix: 南京 = 南京市) or alias; then
    by a unique name prefix (长三角, Yangtze). A name several regions share lists them with their parents."""
    from policy_tracker.regions import registry

    return registry(regions).resolve(text)


def region_members(regions: Sequence[Region], code: str) -> set[str]:
    """The region and everything inside it: a cluster's provinces, a province's cities, and so on down."""
    from policy_tracker.regions import registry

    return registry(regions).members(code)


def find_goal(goals: Sequence[Goal], text: str) -> Goal:
    for g in goals:
        if g.id == text.strip():
            return g
    raise PtrackError(f"unknown goal '{text}'", fix=f"Goals are {', '.join(g.id for g in goals)}")


def find_component(goal: Goal, text: str) -> Component:
    """A component of a goal by key (green), number (4) or part of its wording (绿色, Green)."""
    wanted = text.strip().casefold()
    for c in goal.components:
        if wanted in (c.key, str(c.number)):
            return c
    found = [c for c in goal.components if wanted and (wanted in c.zh.casefold() or wanted in c.en.casefold())]
    if len(found) == 1:
        return found[0]
    keys = ", ".join(f"{c.number} {c.key}" for c in goal.components) or "none"
    raise PtrackError(f"unknown component '{text}' of goal {goal.id}", fix=f"Components: {keys}")


def find_chapter(chapters: Sequence[Chapter], text: str) -> Chapter:
    """A chapter by its label (三), its number (3) or its Chinese numeral with the 、 (三、)."""
    wanted = text.strip().rstrip("、")
    for c in chapters:
        if wanted in (c.label, str(c.number), chinese_numeral(c.number)):
            return c
    labels = ", ".join(f"{c.number} {c.label}" for c in chapters)
    raise PtrackError(f"unknown chapter '{text}'", fix=f"Chapters: {labels}")


def serves_goal(task: Task, goal_id: str, component: str | None = None) -> bool:
    if component is not None:
        return f"{goal_id}.{component}" in task.serves
    return any(ref == goal_id or ref.startswith(goal_id + ".") for ref in task.serves)


def task_text(task: Task) -> str:
    """Everything --search looks in: titles, measures, notes, places, indicator names."""
    parts = [task.title_zh, task.title_en, *task.notes, *task.places]
    for m in task.measures:
        parts += [m.zh, m.en, m.note or ""]
    for i in task.indicators:
        parts += [i.name_zh, i.name_en]
    return "\n".join(parts).casefold()


@dataclass(frozen=True)
class RecordRow:
    """One record in a listing: the task it tracks, the region it is for, and the record itself."""

    task: Task
    region: str
    record: Task | RegionRecord
    origin: str | None = None  # in a roll-up of several workspaces, the one the record came from

    @property
    def status(self) -> str:
        return self.record.status

    @property
    def owner(self) -> str:
        return self.record.owner or self.region


def national_rows(tasks: Iterable[Task]) -> list[RecordRow]:
    return [RecordRow(t, "CN", t) for t in tasks]


def region_rows(tasks: Iterable[Task], records: Iterable[RegionRecord]) -> list[RecordRow]:
    by_id = {t.id: t for t in tasks}
    return [RecordRow(by_id[r.task], r.region, r) for r in records if r.task in by_id]


@dataclass(frozen=True)
class TaskFilter:
    goal: str | None = None
    component: str | None = None
    chapter: str | None = None
    statuses: frozenset[str] = frozenset()
    regions: frozenset[str] | None = None  # region codes, already expanded down the hierarchy
    search: str | None = None


def filter_rows(rows: Iterable[RecordRow], f: TaskFilter) -> list[RecordRow]:
    """The rows that pass every filter; a row is in a region when it is that region's record or it owns it."""
    needle = f.search.casefold() if f.search else None
    out = []
    for row in rows:
        if f.goal is not None and not serves_goal(row.task, f.goal, f.component):
            continue
        if f.chapter is not None and row.task.chapter != f.chapter:
            continue
        if f.statuses and row.status not in f.statuses:
            continue
        if f.regions is not None and row.region not in f.regions and row.owner not in f.regions:
            continue
        if needle is not None and needle not in task_text(row.task):
            continue
        out.append(row)
    return out


def sort_rows(rows: Iterable[RecordRow], key: str, chapters: Sequence[Chapter]) -> list[RecordRow]:
    return sorted(rows, key=sort_keys(key, chapters))


def sort_keys(key: str, chapters: Sequence[Chapter]) -> Callable[[RecordRow], tuple[Any, ...]]:
    """The sort key of `sort_rows` by `key` (id, chapter, status, owner or title), for rows sorted elsewhere."""
    if key not in SORT_KEYS:
        raise PtrackError(f"cannot sort by '{key}'{_suggest(key, SORT_KEYS)}", fix=f"Sort by one of: {', '.join(SORT_KEYS)}")
    chapter_order = {c.label: c.number for c in chapters}
    keys: dict[str, Callable[[RecordRow], tuple[Any, ...]]] = {
        "id": lambda r: (r.task.number, r.region != "CN", r.region),
        "chapter": lambda r: (chapter_order.get(r.task.chapter, 99), r.task.number, r.region),
        "status": lambda r: (STATUSES.index(r.status), r.task.number, r.region),
        "owner": lambda r: (r.owner, r.task.number, r.region),
        "title": lambda r: (r.task.title_en.casefold(), r.task.number, r.region),
    }
    return keys[key]


class HasStatus(Protocol):
    @property
    def status(self) -> str: ...


def status_counts(records: Iterable[HasStatus]) -> dict[str, int]:
    """Counts for every status, in workflow order, zeros included."""
    counts: Counter[str] = Counter(r.status for r in records)
    return {s: counts.get(s, 0) for s in STATUSES}


def tasks_serving(tasks: Iterable[Task], goal: Goal) -> dict[str | None, list[Task]]:
    """For each component key (None: the goal as a whole, no component) the tasks that serve it."""
    out: dict[str | None, list[Task]] = {c.key: [] for c in goal.components}
    out[None] = []
    for t in tasks:
        if goal.id in t.serves:
            out[None].append(t)
        for c in goal.components:
            if f"{goal.id}.{c.key}" in t.serves:
                out[c.key].append(t)
    return out


def person_date(text: str, option: str = "--date") -> CellDate:
    """A date a person gives on the command line, in every form an import reads (`cells.parse_date`: 2026-09-30,
    2026/9/30, 2026年9月, 2026Q3, 2026年第三季度 ...), as precise as it was written. Raises PtrackError naming
    the option and the forms accepted."""
    try:
        return parse_date(text)
    except ValueError as e:
        raise PtrackError(f"{option}: {e}", fix="For example: 2026-09-30 or 2026年第三季度") from None  # e lists the forms


def parse_day(text: str, option: str = "--since", end: bool = False) -> dt.date:
    """The day a date a person gives (`person_date`) starts on, or with `end` the day it ends on: --since 2026年9月
    is 2026-09-01, --as-of 2026年9月 is 2026-09-30; a quarter is its first or last day, a year likewise."""
    given = person_date(text, option)
    if given.period is not None:  # a quarter, stored as its last day
        last = dt.date.fromisoformat(given.date)
        return last if end else dt.date(last.year, last.month - 2, 1)
    parts = [int(p) for p in given.date.split("-")]
    if len(parts) == 3:
        return dt.date(parts[0], parts[1], parts[2])
    month = parts[1] if len(parts) == 2 else (12 if end else 1)
    if not end:
        return dt.date(parts[0], month, 1)
    following = dt.date(parts[0] + month // 12, month % 12 + 1, 1)
    return following - dt.timedelta(days=1)


@dataclass(frozen=True)
class HistoryRow:
    task: str
    region: str
    entry: HistoryEntry

    @property
    def when(self) -> dt.datetime:
        return instant(self.entry.at)


def instant(at: str) -> dt.datetime:
    """A history time as an aware datetime (a time written without a zone counts as UTC)."""
    return parse_instant(at)


def history_rows(
    records: Iterable[tuple[str, Task | RegionRecord]],
    *,
    task: str | None = None,
    regions: Iterable[str] | None = None,
    since: dt.date | None = None,
    by: str | None = None,
) -> list[HistoryRow]:
    """Every history entry of these records that passes the filters, newest first."""
    from policy_tracker.models import RegionRecord

    wanted = set(regions) if regions is not None else None
    rows = []
    for region, record in records:
        record_task = record.task if isinstance(record, RegionRecord) else record.id
        if task is not None and record_task != task:
            continue
        if wanted is not None and region not in wanted:
            continue
        for entry in record.history:
            if by is not None and entry.by.casefold() != by.strip().casefold():
                continue
            row = HistoryRow(record_task, region, entry)
            if since is not None and china_day(row.when) < since:
                continue
            rows.append(row)
    return sorted(rows, key=lambda r: (r.when, r.entry.change, r.task, r.region), reverse=True)
