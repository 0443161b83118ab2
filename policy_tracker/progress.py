"""Are we on track? Progress of indicators, tasks, goals and regions, as of any date (pure functions, no I/O).

Every formula is in docs/methodology.md with its source and worked examples.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from policy_tracker.changes import parse_observation_field
from policy_tracker.models import (
    Baseline,
    Chapter,
    Goal,
    HistoryEntry,
    Indicator,
    IndicatorData,
    Observation,
    Region,
    RegionRecord,
    Target,
    Task,
    comparable,
)
from policy_tracker.query import RecordRow, instant, serves_goal

# 时间过半、任务过半: the labels of five-year-plan mid-term evaluations.
Assessment = Literal["achieved_early", "ahead", "in_line", "lagging", "improving", "stable", "deteriorating", "insufficient_data"]
ASSESSMENT_LABELS: dict[str, tuple[str, str]] = {
    "achieved_early": ("提前完成", "achieved early"),
    "ahead": ("快于预期", "ahead"),
    "in_line": ("基本符合预期", "in line"),
    "lagging": ("相对滞后", "lagging"),
    "improving": ("向好", "improving"),
    "stable": ("平稳", "stable"),
    "deteriorating": ("变差", "deteriorating"),
    "insufficient_data": ("数据不足", "insufficient data"),
}
CagrClass = Literal["on_track", "acceleration_needed", "limited_progress", "deterioration", "insufficient_data"]
TaskAssessment = Literal["done", "on_track", "lagging", "blocked", "deferred", "not_started", "no_data"]
TASK_LABELS: dict[str, tuple[str, str]] = {
    "done": ("已完成", "done"),
    "on_track": ("按计划推进", "on track"),
    "lagging": ("相对滞后", "lagging"),
    "blocked": ("受阻", "blocked"),
    "deferred": ("暂缓", "deferred"),
    "not_started": ("未开始", "not started"),
    "no_data": ("数据不足", "no data to judge"),
}
CAGR_ASSESSMENT: dict[str, Assessment] = {
    "on_track": "in_line",
    "acceleration_needed": "lagging",
    "limited_progress": "lagging",
    "deterioration": "lagging",
    "insufficient_data": "insufficient_data",
}
ISSUED = dt.date(2025, 8, 15)  # the Opinions were issued: the clock of both goals starts here
FREQUENCY_DAYS = {"annual": 365, "quarterly": 92, "monthly": 31}
STABLE_RATE = 0.005  # |relative annual change| below 0.5 % a year counts as stable
DAYS_PER_YEAR = 365.25


@dataclass(frozen=True)
class Settings:
    tolerance: float = 0.05  # ± 5 percentage points of the expected share still count as in line
    method: Literal["linear", "cagr"] = "linear"


def period_end(date: str) -> dt.date:
    """The last day a reference date covers: 2024 -> 2024-12-31, 2024-06 -> 2024-06-30."""
    parts = [int(p) for p in date.split("-")]
    if len(parts) == 3:
        return dt.date(parts[0], parts[1], parts[2])
    if len(parts) == 2:
        month_after = dt.date(parts[0] + parts[1] // 12, parts[1] % 12 + 1, 1)
        return month_after - dt.timedelta(days=1)
    return dt.date(parts[0], 12, 31)


def _years(start: dt.date, end: dt.date) -> float:
    return (end - start).days / DAYS_PER_YEAR


@dataclass(frozen=True)
class IndicatorProgress:
    indicator: str
    direction: str
    baseline: Baseline | None
    latest: Observation | None
    target: Target | None
    assessment: Assessment
    progress_raw: float | None = None  # share of the way from baseline to target, unclipped
    expected: float | None = None  # share of the time from baseline to target elapsed at the as-of date
    annual_rate: float | None = None  # observed change per year (units of the indicator)
    required_rate: float | None = None  # change per year still needed to reach the target on time
    reached_year: float | None = None  # when the target is reached at the observed pace
    cagr_ratio: float | None = None
    cagr_class: CagrClass | None = None
    stale: bool = False
    reason: str = ""

    @property
    def progress(self) -> float | None:
        """Progress clipped to 0–100 %, as shown."""
        return None if self.progress_raw is None else min(1.0, max(0.0, self.progress_raw))


def _usable(observations: Iterable[Observation], as_of: dt.date) -> list[Observation]:
    """Plain numbers known by the as-of date; a cumulative (period) figure is another series."""
    return sorted(
        (o for o in observations if o.value is not None and o.period is None and period_end(o.date) <= as_of),
        key=lambda o: o.date,
    )


def _comparable_target(targets: Iterable[Target], as_of: dt.date) -> Target | None:
    """The nearest target still ahead at the as-of date, else the last one; cumulative targets do not compare."""
    # issue 9 (data): a period-only target (standing or multi-year, no year) is skipped until assess handles it.
    dated = [(t.year, t) for t in targets if t.value is not None and t.period is None and t.year is not None]
    usable = [t for _, t in sorted(dated, key=lambda x: x[0])]
    ahead = [t for year, t in sorted(dated, key=lambda x: x[0]) if dt.date(year, 12, 31) >= as_of]
    return ahead[0] if ahead else (usable[-1] if usable else None)


def indicator_progress(
    ind: Indicator | IndicatorData,
    as_of: dt.date,
    *,
    direction: str,
    settings: Settings = Settings(),
    frequency: str | None = None,
) -> IndicatorProgress:
    observations = _usable(ind.observations, as_of)
    base = ind.baseline
    target = _comparable_target(ind.targets, as_of)
    # issue 9 (data): one series only (one unit, one basis): the baseline's when it is measured against a
    # target, else the latest figure's (a trend reads the most recent series).
    anchor = base if target is not None and base is not None else (observations[-1] if observations else None)
    if anchor is not None:
        observations = [o for o in observations if comparable(o, anchor) is None] or observations
    latest = observations[-1] if observations else None
    stale = bool(
        latest and frequency in FREQUENCY_DAYS and (as_of - period_end(latest.date)).days > 2 * FREQUENCY_DAYS[frequency]
    )
    unknown = IndicatorProgress(ind.id, direction, base, latest, target, "insufficient_data", stale=stale)

    if target is None or direction == "context":
        return _trend(observations, unknown)
    if base is None:
        return replace(unknown, reason="no baseline")
    base_end = period_end(base.date)
    if as_of <= base_end:
        return replace(unknown, reason="the as-of date is not after the baseline")
    if latest is None or latest.value is None or period_end(latest.date) <= base_end:
        return replace(unknown, reason="no observation after the baseline")
    mismatch = comparable(base, latest) or comparable(latest, target)  # issue 9 (data): never mix units or bases
    if mismatch:
        return replace(unknown, reason=f"not comparable: {mismatch}")

    assert target.value is not None and target.year is not None  # _comparable_target keeps numeric dated targets
    goal, start, now = target.value, base.value, latest.value
    lower = direction == "lower_is_better"
    gap = goal - start
    if gap == 0 or (gap > 0) == lower:  # already at or past the target when it was set
        raw = 1.0 if (now <= goal if lower else now >= goal) else 0.0
    else:
        raw = (now - start) / gap
    target_end = dt.date(target.year, 12, 31)
    span = (target_end - base_end).days
    expected = min(1.0, max(0.0, (as_of - base_end).days / span)) if span > 0 else 1.0
    observed_years = _years(base_end, period_end(latest.date))
    annual = (now - start) / observed_years if observed_years > 0 else None
    remaining_years = _years(period_end(latest.date), target_end)
    required = (goal - now) / remaining_years if remaining_years > 0 else None
    reached = None
    if raw < 1.0 and annual and (goal - now) / annual >= 0:  # not reached yet, and moving toward it
        reached = period_end(latest.date).year + (goal - now) / annual

    if raw >= 1.0:
        assessment: Assessment = "achieved_early" if as_of <= target_end else "in_line"
    elif raw >= expected + settings.tolerance:
        assessment = "ahead"
    elif raw > expected - settings.tolerance:
        assessment = "in_line"
    else:
        assessment = "lagging"
    ratio, cagr = cagr_check(start, now, goal, observed_years, _years(base_end, target_end))
    if settings.method == "cagr" and raw < 1.0:
        assessment = CAGR_ASSESSMENT[cagr]
    return replace(
        unknown,
        assessment=assessment,
        progress_raw=raw,
        expected=expected,
        annual_rate=annual,
        required_rate=required,
        reached_year=reached,
        cagr_ratio=ratio,
        cagr_class=cagr,
    )


def cagr_check(
    base: float, latest: float, target: float, years_observed: float, years_total: float
) -> tuple[float | None, CagrClass]:
    """Open SDG / Statistics Canada: observed ÷ required compound annual growth.

    ≥ 0.95 on track, 0.6–0.95 acceleration needed, 0–0.6 limited progress, < 0 deterioration. Growth rates
    need positive values; anything else is insufficient data, never a guess.
    """
    if min(base, latest, target) <= 0 or years_observed <= 0 or years_total <= 0 or target == base:
        return None, "insufficient_data"
    observed = (latest / base) ** (1 / years_observed) - 1
    required = (target / base) ** (1 / years_total) - 1
    ratio = observed / required
    if ratio >= 0.95:
        return ratio, "on_track"
    if ratio >= 0.6:
        return ratio, "acceleration_needed"
    if ratio >= 0:
        return ratio, "limited_progress"
    return ratio, "deterioration"


def _trend(observations: Sequence[Observation], unknown: IndicatorProgress) -> IndicatorProgress:
    """Without a target: the direction of travel from the first to the latest observation.

    A context series (population) has no good direction: its rate is given, never a judgement.
    """
    if unknown.direction == "context":
        unknown = replace(unknown, reason="context series: no good direction")
    if len(observations) < 2:
        return replace(unknown, reason="fewer than two observations")
    first, last = observations[0], observations[-1]
    mismatch = comparable(first, last)  # issue 9 (data): never mix units or bases
    if mismatch:
        return replace(unknown, reason=f"not comparable: {mismatch}")
    years = _years(period_end(first.date), period_end(last.date))
    assert first.value is not None and last.value is not None  # _usable keeps numbers only
    if years <= 0:
        return replace(unknown, reason="observations share one date")
    annual = (last.value - first.value) / years
    if unknown.direction == "context":
        return replace(unknown, annual_rate=annual)
    relative = annual / abs(first.value) if first.value else math.inf
    if abs(relative) < STABLE_RATE:
        assessment: Assessment = "stable"
    else:
        good = annual < 0 if unknown.direction == "lower_is_better" else annual > 0
        assessment = "improving" if good else "deteriorating"
    return replace(unknown, assessment=assessment, annual_rate=annual, reason="no numeric target: trend only")


# ---------------------------------------------------------------------------------------------- tasks


@dataclass(frozen=True)
class TaskProgress:
    task: Task
    region: str
    owner: str
    status: str
    assessment: TaskAssessment
    indicators: list[IndicatorProgress]
    rating: str | None
    disagreement: str | None
    latest_note: str | None

    @property
    def progress(self) -> float | None:
        """The task's place between baseline and target: done = 100 %, else the mean of its indicators'."""
        if self.assessment == "done":
            return 1.0
        shares = [p.progress for p in self.indicators if p.progress is not None]
        return sum(shares) / len(shares) if shares else None

    @property
    def stale(self) -> bool:
        return any(p.stale for p in self.indicators)


def task_assessment(status: str, indicators: Sequence[IndicatorProgress]) -> TaskAssessment:
    """Status first (done, blocked, deferred are facts); then the numbers: any lagging indicator makes the
    task lagging, any indicator on course makes it on track; a task with nothing to judge says so."""
    if status == "completed":
        return "done"
    if status in ("blocked", "deferred"):
        return status  # type: ignore[return-value]
    judged = [p.assessment for p in indicators if p.assessment not in ("insufficient_data", "stable")]
    if any(a in ("lagging", "deteriorating") for a in judged):
        return "lagging"
    if judged:
        return "on_track"
    return "not_started" if status == "not_started" else "no_data"


def disagreement(rating: str | None, assessment: TaskAssessment) -> str | None:
    """A reviewer's rating that the numbers contradict."""
    if rating == "green" and assessment in ("lagging", "blocked"):
        return f"rated green, but {TASK_LABELS[assessment][1]}"
    if rating == "red" and assessment in ("on_track", "done"):
        return f"rated red, but {TASK_LABELS[assessment][1]}"
    return None


def task_progress(row: RecordRow, as_of: dt.date, settings: Settings = Settings()) -> TaskProgress:
    """How one record stands at the as-of date (the record must already be as it was then: see `as_of_record`)."""
    record = row.record
    definitions = {i.id: i for i in row.task.indicators}
    indicators = []
    for data in record.indicators:
        definition = definitions.get(data.id)
        if definition is None:
            continue
        indicators.append(
            indicator_progress(data, as_of, direction=definition.direction, settings=settings, frequency=definition.frequency)
        )
    assessment = task_assessment(record.status, indicators)
    rating = record.rating.level if record.rating else None
    notes = [h.note for h in record.history if h.note]
    return TaskProgress(
        task=row.task,
        region=row.region,
        owner=row.owner,
        status=record.status,
        assessment=assessment,
        indicators=indicators,
        rating=rating,
        disagreement=disagreement(rating, assessment),
        latest_note=notes[-1] if notes else None,
    )


# ---------------------------------------------------------------------------------------------- as of a date


def as_of_record(record: Task | RegionRecord, moment: dt.datetime) -> Task | RegionRecord | None:
    """The record as it was at `moment`: every change recorded after it is taken back, newest first.

    None for a region record that did not exist yet (its first change came later).
    """
    later = [h for h in record.history if instant(h.at) > moment]
    if not later:
        return record
    if isinstance(record, RegionRecord) and len(later) == len(record.history):
        return None
    data = record.model_dump(mode="json", by_alias=True)
    for entry in reversed(later):
        for change in reversed(entry.changes):
            _put(data, change.field, change.old)
    data["history"] = [h.model_dump(mode="json") for h in record.history if instant(h.at) <= moment]
    data["revision"] = record.revision - len(later)
    return type(record).model_validate(data, strict=False)


def _put(data: dict[str, Any], name: str, value: object) -> None:
    if name in ("status", "owner", "rating"):
        if value is None:
            data.pop(name, None)  # an absent owner or rating
        else:
            data[name] = value
        return
    parsed = parse_observation_field(name)
    if parsed is None:
        return
    indicator, date = parsed
    indicators = data.setdefault("indicators", [])
    assert isinstance(indicators, list)
    entry = next((i for i in indicators if i["id"] == indicator), None)
    if entry is None:
        entry = {"id": indicator, "observations": []}
        indicators.append(entry)
    # issue 9 (data): one date may hold figures on two bases; the store changes the first of that date, so does this
    observations = entry.setdefault("observations", [])
    at = next((k for k, o in enumerate(observations) if o["date"] == date), None)
    if at is not None:
        del observations[at]
    if value is not None:
        observations.insert(len(observations) if at is None else at, value)


# ---------------------------------------------------------------------------------------------- roll-ups


@dataclass
class Rollup:
    """Tasks grouped under one heading (a chapter, a goal component, a goal, a region)."""

    key: str
    label_zh: str
    label_en: str
    tasks: list[TaskProgress] = field(default_factory=list)

    @property
    def progress(self) -> float | None:
        shares = [t.progress for t in self.tasks if t.progress is not None]
        return sum(shares) / len(shares) if shares else None

    @property
    def measured(self) -> int:
        return sum(1 for t in self.tasks if t.progress is not None)

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(TASK_LABELS, 0)
        for t in self.tasks:
            out[t.assessment] += 1
        return out


def history_between(records: Iterable[RecordRow], since: dt.datetime, until: dt.datetime) -> list[tuple[RecordRow, HistoryEntry]]:
    """The changes recorded in (since, until], newest first."""
    out = [(r, h) for r in records for h in r.record.history if since < instant(h.at) <= until]
    return sorted(out, key=lambda x: (instant(x[1].at), x[1].change), reverse=True)


def by_chapter(tasks: Sequence[TaskProgress], chapters: Sequence[Chapter]) -> list[Rollup]:
    out = [Rollup(c.label, f"{c.label}、{c.title_zh}", c.title_en) for c in chapters]
    index = {r.key: r for r in out}
    for t in tasks:
        if t.task.chapter in index:
            index[t.task.chapter].tasks.append(t)
    return [r for r in out if r.tasks]


def by_component(tasks: Sequence[TaskProgress], goal: Goal) -> list[Rollup]:
    """One roll-up per component of the goal, and one for the tasks serving the goal as a whole."""
    out = [Rollup(f"{goal.id}.{c.key}", f"{c.number}. {c.zh}", c.en) for c in goal.components]
    out.append(Rollup(goal.id, "整体目标", "the goal as a whole"))
    for t in tasks:
        for r in out:
            if r.key in t.task.serves:
                r.tasks.append(t)
    return [r for r in out if r.tasks]


def by_goal(tasks: Sequence[TaskProgress], goal: Goal) -> Rollup:
    return Rollup(goal.id, goal.headline_zh, goal.headline_en, [t for t in tasks if serves_goal(t.task, goal.id)])


def by_region(tasks: Sequence[TaskProgress], regions: Sequence[Region]) -> list[Rollup]:
    names = {r.code: r for r in regions}
    out: dict[str, Rollup] = {}
    for t in tasks:
        region = names.get(t.region)
        key = t.region
        if key not in out:
            out[key] = Rollup(key, region.zh if region else key, region.en if region else key)
        out[key].tasks.append(t)
    return list(out.values())


def time_elapsed(start: dt.date, end: dt.date, as_of: dt.date) -> float:
    """The share of the time from `start` to `end` gone by at `as_of` (时间过半)."""
    return min(1.0, max(0.0, (as_of - start).days / (end - start).days))


REASON_LABELS: dict[str, tuple[str, str]] = {
    "blocked": TASK_LABELS["blocked"],
    "lagging": TASK_LABELS["lagging"],
    "stale": ("数据过期", "stale data"),
    "disagreement": ("评级与数据不一致", "rating disagrees with the numbers"),
}


def exceptions(tasks: Sequence[TaskProgress]) -> list[tuple[TaskProgress, list[str]]]:
    """The records a review meeting should look at first, with the keys of REASON_LABELS saying why."""
    out = []
    for t in tasks:
        reasons: list[str] = [t.assessment] if t.assessment in ("lagging", "blocked") else []
        if t.stale:
            reasons.append("stale")
        if t.disagreement:
            reasons.append("disagreement")
        if reasons:
            out.append((t, reasons))
    order = {"blocked": 0, "lagging": 1}
    return sorted(out, key=lambda x: (order.get(x[0].assessment, 2), x[0].task.number, x[0].region))
