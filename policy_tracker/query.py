"""Resolving what the user typed (task, status, region, goal, chapter) and filtering tasks: pure functions."""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from policy_tracker.errors import PtrackError
from policy_tracker.models import (
    STATUS_LABELS,
    STATUSES,
    TASK_COUNT,
    Chapter,
    Component,
    Goal,
    Region,
    Task,
    Workspace,
    chinese_numeral,
    task_id,
)

_TASK_REF_RE = re.compile(r"^[Tt]?(\d{1,2})$")
SORT_KEYS = ("id", "chapter", "status", "owner", "title")


def _suggest(text: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(text, list(choices), n=3, cutoff=0.5)
    return f" (did you mean {' or '.join(close)}?)" if close else ""


def parse_task_id(text: str) -> str:
    """`T08`, `t8`, `8` and `08` all name task T08."""
    m = _TASK_REF_RE.match(text.strip())
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
    wanted = text.strip().lower().replace("-", "_").replace(" ", "_")
    for key, (zh, _en) in STATUS_LABELS.items():
        if wanted == key or text.strip() == zh:
            return key
    raise PtrackError(f"unknown status '{text}'{_suggest(wanted, STATUSES)}", fix=f"Use one of: {', '.join(STATUSES)}")


def _region_names(r: Region) -> list[str]:
    return [r.code, r.zh, r.en, *r.aliases]


def find_region(regions: Sequence[Region], text: str) -> Region:
    """A region by code, Chinese or English name or alias; then by a unique name prefix (长三角, Yangtze)."""
    wanted = text.strip().casefold()
    exact = [r for r in regions if wanted in (n.casefold() for n in _region_names(r))]
    if len(exact) == 1:
        return exact[0]
    if not exact and wanted:
        exact = [r for r in regions if any(n.casefold().startswith(wanted) for n in _region_names(r)[1:])]
        if len(exact) == 1:
            return exact[0]
    if exact:
        several = ", ".join(f"{r.code} {r.zh}" for r in exact[:6])
        raise PtrackError(f"'{text}' matches several regions: {several}", fix="Give the region's code")
    by_name = {n: r for r in regions for n in _region_names(r)}
    close = difflib.get_close_matches(text.strip(), list(by_name), n=6, cutoff=0.5)
    unique = list(dict.fromkeys(f"{by_name[n].code} {by_name[n].zh} ({by_name[n].en})" for n in close))[:3]
    hint = f" (did you mean {' or '.join(unique)}?)" if unique else ""
    raise PtrackError(f"unknown region '{text}'{hint}", fix="`ptrack regions` lists them all")


def region_members(regions: Sequence[Region], code: str) -> set[str]:
    """The region and everything inside it: a cluster's provinces, a province's cities, and so on down."""
    children: dict[str, list[str]] = {}
    for r in regions:
        if r.parent is not None:
            children.setdefault(r.parent, []).append(r.code)
    by_code = {r.code: r for r in regions}
    members: set[str] = set()
    todo = [code]
    while todo:
        current = todo.pop()
        if current in members:
            continue
        members.add(current)
        todo.extend(children.get(current, []))
        region = by_code.get(current)
        if region is not None:
            todo.extend(region.provinces)
    return members


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
class TaskFilter:
    goal: str | None = None
    component: str | None = None
    chapter: str | None = None
    statuses: frozenset[str] = frozenset()
    regions: frozenset[str] | None = None  # owner region codes, already expanded down the hierarchy
    search: str | None = None


def filter_tasks(tasks: Iterable[Task], f: TaskFilter) -> list[Task]:
    needle = f.search.casefold() if f.search else None
    out = []
    for t in tasks:
        if f.goal is not None and not serves_goal(t, f.goal, f.component):
            continue
        if f.chapter is not None and t.chapter != f.chapter:
            continue
        if f.statuses and t.status not in f.statuses:
            continue
        if f.regions is not None and t.owner not in f.regions:
            continue
        if needle is not None and needle not in task_text(t):
            continue
        out.append(t)
    return out


def sort_tasks(tasks: Iterable[Task], key: str, chapters: Sequence[Chapter]) -> list[Task]:
    if key not in SORT_KEYS:
        raise PtrackError(f"cannot sort by '{key}'{_suggest(key, SORT_KEYS)}", fix=f"Sort by one of: {', '.join(SORT_KEYS)}")
    chapter_order = {c.label: c.number for c in chapters}
    keys = {
        "id": lambda t: t.number,
        "chapter": lambda t: (chapter_order.get(t.chapter, 99), t.number),
        "status": lambda t: (STATUSES.index(t.status), t.number),
        "owner": lambda t: (t.owner, t.number),
        "title": lambda t: (t.title_en.casefold(), t.number),
    }
    return sorted(tasks, key=keys[key])


def status_counts(tasks: Iterable[Task]) -> dict[str, int]:
    """Counts for every status, in workflow order, zeros included."""
    counts: Counter[str] = Counter(t.status for t in tasks)
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
