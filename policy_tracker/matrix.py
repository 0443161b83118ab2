"""The task × region matrix: the 23 tasks down, the regions in scope across, and who has not reported (pure).

The cells hold the assessed records as the assessment made them; this module only arranges them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from policy_tracker.models import STATUS_LABELS, Region, Task
from policy_tracker.progress import TASK_LABELS, TaskProgress, reported_below_pairs

NOT_REPORTED = ("未报送", "not reported")
MAX_COLUMNS = 12  # beyond this, children that reported nothing at all are named once instead of given a column


@dataclass(frozen=True)
class Matrix:
    """`rows[i][j]` is the record of `tasks[i]` in `columns[j]`, or None when that region has not reported it.

    `silent` are the regions in scope left out of the columns because they reported no task at all, nor any
    region inside them. `below[i][j]` counts the regions inside `columns[j]` (its counties...) holding a record
    of `tasks[i]`.
    """

    scope: Region
    columns: list[Region]
    tasks: list[Task]
    rows: list[list[TaskProgress | None]]
    silent: list[Region]
    below: list[list[int]] = field(default_factory=list)

    def below_count(self, i: int, j: int) -> int:
        return self.below[i][j] if self.below else 0

    @property
    def reported(self) -> dict[str, int]:
        """For each column's region code: how many of the tasks it, or a region inside it, has a record for."""
        return {
            r.code: sum(1 for i, row in enumerate(self.rows) if row[j] is not None or self.below_count(i, j))
            for j, r in enumerate(self.columns)
        }


def scope_regions(regions: Sequence[Region], scope: Region) -> list[Region]:
    """The scope and the regions one level inside it: a province and its cities, a cluster and its members."""
    inside = [r for r in regions if r.parent == scope.code or r.code in scope.provinces]
    inside = [r for r in inside if r.code != scope.code]
    return [scope, *sorted(inside, key=lambda r: (r.kind != "province", r.code))]


def build_matrix(
    tasks: Sequence[Task],
    regions: Sequence[Region],
    scope: Region,
    assessed: Sequence[TaskProgress],
    max_columns: int | None = MAX_COLUMNS,
    reported: Iterable[tuple[str, str]] | None = None,
) -> Matrix:
    """Arrange the assessed records of `scope` and the regions one level inside it, one row per task.

    `reported`: (task id, region code) of every record in scope at the date, when `assessed` holds only those of
    the matrix's columns (None: `assessed` holds them all)."""
    by_key = {(t.task.id, t.region): t for t in assessed}
    pairs = {(t.task.id, t.region) for t in assessed} | set(reported or ())
    inside = reported_below_pairs(regions, pairs)
    candidates = scope_regions(regions, scope)
    columns, silent = candidates, []
    if max_columns is not None and len(candidates) > max_columns:
        has_record = {region for _, region in pairs} | {code for code, _ in inside}
        columns = [r for i, r in enumerate(candidates) if i == 0 or r.code in has_record]
        silent = [r for r in candidates[1:] if r.code not in has_record]
    ordered = sorted(tasks, key=lambda t: t.number)
    rows = [[by_key.get((task.id, r.code)) for r in columns] for task in ordered]
    below = [[len(inside.get((r.code, task.id), ())) for r in columns] for task in ordered]
    return Matrix(scope=scope, columns=columns, tasks=ordered, rows=rows, silent=silent, below=below)


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[0] if lang == "zh" else pair[1] if lang == "en" else f"{pair[0]} {pair[1]}"


def cell_lines(cell: TaskProgress | None, lang: str, below: int = 0) -> list[str]:
    """What a cell says: the record's status, then what the numbers say; 未报送 when there is no record, with how
    many regions inside it (`below`: counties of a city...) reported: 未报送 · 下辖1个已报送."""
    if cell is None:
        if below:
            zh = f"{NOT_REPORTED[0]} · 下辖{below}个已报送"
            en = f"{NOT_REPORTED[1]} · {below} {'region' if below == 1 else 'regions'} inside reported"
            return [_pick((zh, en), lang)]
        return [_pick(NOT_REPORTED, lang)]
    status, judged = _pick(STATUS_LABELS[cell.status], lang), _pick(TASK_LABELS[cell.assessment], lang)
    return [status] if judged == status else [status, judged]  # blocked is both: say it once


def cell_tone(cell: TaskProgress | None) -> str:
    """good, ok, bad, info, muted or none: the colour a cell gets in every format (blocked and lagging are bad)."""
    if cell is None:
        return "muted"
    if cell.status == "blocked" or cell.assessment == "lagging":
        return "bad"
    if cell.status == "completed":
        return "good"
    return {"in_progress": "info", "deferred": "ok"}.get(cell.status, "none")


def region_name(region: Region, lang: str) -> str:
    return region.en if lang == "en" else region.zh
