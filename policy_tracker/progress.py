"""Are we on track? Records, goals, components and regions as of a date: coverage and counts, never an average
(pure functions, no I/O).

One indicator is judged in `assessment.py`; this module gathers those judgements per record (a task in a
region), per goal and 2030 component, and per region, into plain data structures (`GoalSummary`,
`ComponentSummary`, `RegionSummary`, `Headline`) that the terminal view, the JSON output and every report
format present without computing anything. Methods and sources: docs/methodology.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from policy_tracker.assessment import (
    LABEL_COLOUR,
    LABELS,
    OUTCOME_LABELS,
    Colour,
    IndicatorProgress,
    Settings,
    assess_indicator,
    cagr_check,
    period_end,
    target_when,
)
from policy_tracker.changes import parse_figure_field, parse_observation_field
from policy_tracker.models import (
    STATUS_LABELS,
    TASK_COUNT,
    Chapter,
    Goal,
    HistoryEntry,
    Indicator,
    Region,
    RegionRecord,
    Task,
)
from policy_tracker.query import RecordRow, instant, serves_goal

__all__ = [
    "ASSESSMENT_LABELS",
    "IndicatorProgress",
    "Settings",
    "cagr_check",
    "period_end",
]

ASSESSMENT_LABELS = LABELS  # an indicator's label, by key
DataVerdict = Literal["on_track", "lagging", "no_data"]
# What a record's data say, beside (never instead of) its status.
TASK_LABELS: dict[str, tuple[str, str]] = {
    "on_track": ("数据向好", "data on course"),
    "lagging": ("数据滞后", "data lagging"),
    "no_data": ("数据不足", "insufficient data"),
}
TASK_COLOUR: dict[str, Colour] = {"on_track": "green", "lagging": "red", "no_data": "grey"}
ISSUED = dt.date(2025, 8, 15)  # the Opinions were issued: the clock of both goals starts here
NOT_REPORTED = ("未报送", "not reported")
POSITIVE = ("achieved_early", "ahead", "in_line", "improving")
NEGATIVE = ("lagging", "deteriorating")


def time_elapsed(start: dt.date, end: dt.date, as_of: dt.date) -> float:
    """The share of the time from `start` to `end` gone by at `as_of` (时间过半), within 0–1."""
    return min(1.0, max(0.0, (as_of - start).days / (end - start).days))


# ---------------------------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class TaskProgress:
    """One record (a task in a region): its status and what its data say, side by side.

    `by_horizon` holds each indicator's judgement per goal year; `horizon` is the record's first goal year
    (2030 for a task serving 2030), which `indicators` and `data` use.
    """

    task: Task
    region: str
    owner: str
    status: str
    horizon: int
    by_horizon: dict[int, list[IndicatorProgress]]
    rating: str | None
    latest_note: str | None

    @property
    def indicators(self) -> list[IndicatorProgress]:
        return self.by_horizon.get(self.horizon, [])

    def data_for(self, horizon: int) -> DataVerdict:
        """Any indicator lagging or deteriorating → lagging; else any on course → on track; else no data."""
        labels = [p.label for p in self.by_horizon.get(horizon, [])]
        if any(a in NEGATIVE for a in labels):
            return "lagging"
        if any(a in POSITIVE for a in labels):
            return "on_track"
        return "no_data"

    @property
    def data(self) -> DataVerdict:
        return self.data_for(self.horizon)

    @property
    def assessment(self) -> DataVerdict:
        """What the data say (the status is shown beside it, never instead)."""
        return self.data

    @property
    def contradiction(self) -> str | None:
        """A status that the data contradict: completed but lagging; not started but on course."""
        return contradiction(self.status, self.data)

    @property
    def disagreement(self) -> str | None:
        return disagreement(self.rating, self.status, self.data)

    @property
    def stale(self) -> bool:
        return any(p.stale for p in self.indicators)


def contradiction(status: str, data: DataVerdict) -> str | None:
    if status == "completed" and data == "lagging":
        return "completed, but the data lag"
    if status == "not_started" and data == "on_track":
        return "not started, but the data are on course"
    return None


CONTRADICTION_ZH = {
    "completed, but the data lag": "已完成，但数据滞后",
    "not started, but the data are on course": "未开始，但数据向好",
}


def disagreement(rating: str | None, status: str, data: DataVerdict) -> str | None:
    """A reviewer's rating that the status or the data contradict."""
    if rating == "green" and (data == "lagging" or status == "blocked"):
        return "rated green, but " + ("blocked" if status == "blocked" else "the data lag")
    if rating == "red" and (data == "on_track" or status == "completed"):
        return "rated red, but " + ("completed" if status == "completed" else "the data are on course")
    return None


def first_horizon(task: Task, goals: Sequence[Goal]) -> int:
    years = [g.year for g in goals if serves_goal(task, g.id)]
    return min(years) if years else max((g.year for g in goals), default=2030)


def task_progress(
    row: RecordRow,
    as_of: dt.date,
    settings: Settings | None = None,
    horizons: Sequence[int] = (2030, 2035),
    horizon: int | None = None,
    latest_note: str | Literal[False] | None = False,
) -> TaskProgress:
    """How one record stands with the data known at the as-of date (the record must already be as it was
    then: see `as_of_record`), judged for each horizon.

    `latest_note`: the latest note in the record's history up to the as-of date, when the record was read
    without its history (`as_of_parts`); False: taken from `row.record.history`."""
    settings = settings or Settings()
    record = row.record
    definitions = {i.id: i for i in row.task.indicators}
    by_horizon: dict[int, list[IndicatorProgress]] = {h: [] for h in horizons}
    for data in record.indicators:
        definition = definitions.get(data.id)
        if definition is None:
            continue
        for h in horizons:
            by_horizon[h].append(
                assess_indicator(
                    data, as_of, horizon=h, direction=definition.direction, settings=settings, frequency=definition.frequency
                )
            )
    rating = record.rating.level if record.rating else None
    if latest_note is False:
        notes = [h.note for h in record.history if h.note]
        latest_note = notes[-1] if notes else None
    served = [h for h in horizons if serves_goal(row.task, str(h))]
    return TaskProgress(
        task=row.task,
        region=row.region,
        owner=row.owner,
        status=record.status,
        horizon=horizon if horizon is not None else min(served or horizons),
        by_horizon=by_horizon,
        rating=rating,
        latest_note=latest_note,
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
    data["revision"] = len(data["history"])  # what revision counts
    return type(record).model_validate(data, strict=False)


def as_of_parts(record: RegionRecord, later: Sequence[HistoryEntry], earlier: int) -> RegionRecord | None:
    """`as_of_record` for a record read without its history: `later` holds the entries recorded after the moment
    (oldest first), `earlier` counts those before it. The result has no history; its revision counts `earlier`.

    None for a record that did not exist yet (its first change came later).
    """
    if not later:
        return record
    if earlier == 0:
        return None
    data = record.model_dump(mode="json", by_alias=True)
    for entry in reversed(later):
        for change in reversed(entry.changes):
            _put(data, change.field, change.old)
    data["history"] = []
    data["revision"] = earlier
    return RegionRecord.model_validate(data, strict=False)


def _put(data: dict[str, Any], name: str, value: object) -> None:
    if name in ("status", "owner", "rating", "next_steps"):
        if value is None:
            data.pop(name, None)  # an absent owner or rating
        else:
            data[name] = value
        return
    figure = parse_figure_field(name)
    if figure is not None:  # a baseline or the targets as they were (issue 10: figures with history)
        kind, indicator = figure
        entries = data.setdefault("indicators", [])
        found = next((i for i in entries if i["id"] == indicator), None)
        if found is None:
            found = {"id": indicator}
            entries.append(found)
        if value is None:
            found.pop(kind, None)
        else:
            found[kind] = value
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


# ---------------------------------------------------------------------------------------------- coverage and counts


@dataclass(frozen=True, slots=True)
class Entry:
    """One indicator of one record in a summary: the task, the region, the indicator and its judgement."""

    task: Task
    region: str
    indicator: Indicator
    progress: IndicatorProgress

    def name(self, lang: str) -> str:
        """`T01 常住人口城镇化率` (zh) or `T01 urbanisation rate…` (en); a region's record adds its code."""
        text = f"{self.task.id} {self.indicator.name_en if lang == 'en' else self.indicator.name_zh}"
        return text if self.region == "CN" else f"{text} [{self.region}]"


@dataclass(frozen=True)
class LabelCount:
    """How many indicators (or milestones) carry one label, and which (names in zh and en)."""

    key: str
    zh: str
    en: str
    colour: Colour
    names_zh: tuple[str, ...] = ()
    names_en: tuple[str, ...] = ()

    @property
    def n(self) -> int:
        return len(self.names_zh)


@dataclass(frozen=True)
class ComponentSummary:
    """Coverage and counts under one heading (a 2030 component, or a goal as a whole), for one horizon.

    `total` counts the indicators with a good direction (context series are described, not judged);
    `assessed` those with a label other than 数据不足. `counts` has every label, 数据不足 included, in a
    fixed order; `milestones` counts the earlier milestones by outcome (never progress toward the goal).
    No average is computed.
    """

    key: str
    label_zh: str
    label_en: str
    horizon: int
    total: int
    assessed: int
    counts: tuple[LabelCount, ...]
    milestones: tuple[LabelCount, ...]
    records: int
    entries: tuple[Entry, ...] = ()

    @property
    def coverage(self) -> float | None:
        """Share of the indicators that could be assessed (ESCAP shows it beside every figure)."""
        return self.assessed / self.total if self.total else None

    def count(self, key: str) -> int:
        return next((c.n for c in self.counts if c.key == key), 0)


@dataclass(frozen=True)
class Headline:
    """What a journalist may quote, in words: coverage, counts and both dates (zh and en)."""

    zh: str
    en: str


@dataclass(frozen=True)
class GoalSummary:
    """One goal (2030 or 2035) for one region's own records: coverage and counts, per component.

    `data_from`/`data_to` span the data dates (ends of the latest observations' periods) of the assessed
    indicators; `as_of` only decided which data were known. `time_elapsed` is the share of the time from the
    Opinions' issue (2025-08-15) to the end of the goal year gone at the as-of date, for context only.
    """

    goal: Goal
    region: str
    as_of: dt.date
    data_from: dt.date | None
    data_to: dt.date | None
    time_elapsed: float
    overall: ComponentSummary
    components: tuple[ComponentSummary, ...]
    records: int
    status_counts: dict[str, int]
    data_counts: dict[str, int]
    contradictions: int
    headline: Headline


def _entries(tasks: Iterable[TaskProgress], horizon: int, missing: Sequence[Task] = (), region: str = "CN") -> list[Entry]:
    """Every indicator with a good direction of every task in scope: a record's figures, 数据不足 for an
    indicator the record holds no figures for, and for each task the region has not reported."""
    out = []
    for t in tasks:
        judged = {p.indicator: p for p in t.by_horizon.get(horizon, [])}
        for i in t.task.indicators:
            if i.direction == "context":
                continue
            p = judged.get(i.id) or IndicatorProgress(
                i.id, i.direction, horizon, "insufficient_data", reason="no figures in this record"
            )
            out.append(Entry(t.task, t.region, i, p))
    for task in missing:
        for i in task.indicators:
            if i.direction != "context":
                out.append(
                    Entry(
                        task, region, i, IndicatorProgress(i.id, i.direction, horizon, "insufficient_data", reason="not reported")
                    )
                )
    return out


EARLIER = ("met", "missed", "undetermined", "awaiting_data", "not_comparable", "not_quantified")


def component_summary(
    key: str,
    label_zh: str,
    label_en: str,
    tasks: Sequence[TaskProgress],
    horizon: int,
    missing: Sequence[Task] = (),
    region: str = "CN",
) -> ComponentSummary:
    """`tasks` are the records under the heading; `missing` the tasks under it that have no record (未报送)."""
    entries = _entries(tasks, horizon, missing, region)
    counts = tuple(
        LabelCount(
            k,
            zh,
            en,
            LABEL_COLOUR[k],
            tuple(e.name("zh") for e in entries if e.progress.label == k),
            tuple(e.name("en") for e in entries if e.progress.label == k),
        )
        for k, (zh, en) in LABELS.items()
    )
    milestones = tuple(
        LabelCount(
            k,
            zh,
            en,
            "green" if k == "met" else "red" if k == "missed" else "grey",
            tuple(f"{e.name('zh')} ({target_when(m.target)})" for e in entries for m in e.progress.milestones if m.outcome == k),
            tuple(f"{e.name('en')} ({target_when(m.target)})" for e in entries for m in e.progress.milestones if m.outcome == k),
        )
        for k, (zh, en) in OUTCOME_LABELS.items()
        if k in EARLIER
    )
    return ComponentSummary(
        key=key,
        label_zh=label_zh,
        label_en=label_en,
        horizon=horizon,
        total=len(entries),
        assessed=sum(1 for e in entries if e.progress.assessed),
        counts=counts,
        milestones=milestones,
        records=len(tasks),
        entries=tuple(entries),
    )


def goal_summary(
    goal: Goal, tasks: Sequence[TaskProgress], as_of: dt.date, region: Region | None = None, definitions: Sequence[Task] = ()
) -> GoalSummary:
    """The goal for the records of one region only (national when `region` is None): a region's cities
    are summarised separately (`region_summary`), never mixed in. `definitions` are the tasks in scope: the
    indicators of a task without a record count as 数据不足 (not reported), so coverage is over them all."""
    code = region.code if region else "CN"
    mine = [t for t in tasks if t.region == code and serves_goal(t.task, goal.id)]
    reported = {t.task.id for t in mine}
    missing = [d for d in definitions if serves_goal(d, goal.id) and d.id not in reported]
    overall = component_summary(goal.id, goal.headline_zh, goal.headline_en, mine, goal.year, missing, code)
    components = tuple(
        component_summary(
            f"{goal.id}.{c.key}",
            f"{c.number}. {c.zh}",
            c.en,
            [t for t in mine if f"{goal.id}.{c.key}" in t.task.serves],
            goal.year,
            [d for d in missing if f"{goal.id}.{c.key}" in d.serves],
            code,
        )
        for c in goal.components
    )
    dates = [e.progress.data_date for e in overall.entries if e.progress.assessed and e.progress.data_date]
    data_counts = dict.fromkeys(TASK_LABELS, 0)
    for t in mine:
        data_counts[t.data_for(goal.year)] += 1
    status_counts = {s: sum(1 for t in mine if t.status == s) for s in STATUS_LABELS}
    contradictions = sum(1 for t in mine if contradiction(t.status, t.data_for(goal.year)))
    elapsed = time_elapsed(ISSUED, dt.date(goal.year, 12, 31), as_of)
    summary = GoalSummary(
        goal=goal,
        region=code,
        as_of=as_of,
        data_from=min(dates) if dates else None,
        data_to=max(dates) if dates else None,
        time_elapsed=elapsed,
        overall=overall,
        components=components,
        records=len(mine),
        status_counts=status_counts,
        data_counts=data_counts,
        contradictions=contradictions,
        headline=Headline("", ""),
    )
    return _with_headline(summary, region)


def _when(d: dt.date) -> str:
    return str(d.year) if (d.month, d.day) == (12, 31) else d.isoformat()


def _span(a: dt.date | None, b: dt.date | None, lang: str) -> str:
    if a is None or b is None:
        return "无可用数据" if lang == "zh" else "no usable data"
    if _when(a) == _when(b):
        return f"数据截至{_when(b)}" if lang == "zh" else f"data up to {_when(b)}"
    return f"数据截至{_when(a)}至{_when(b)}" if lang == "zh" else f"data up to {_when(a)}–{_when(b)}"


def _with_headline(s: GoalSummary, region: Region | None) -> GoalSummary:
    o = s.overall
    where_zh = f"{region.zh}（本级记录）" if region else "全国"
    where_en = f"{region.en} (its own records)" if region else "national"
    if o.total == 0:
        zh = f"{s.goal.id}年目标 · {where_zh} · 截至{s.as_of.isoformat()}：范围内没有可评估的指标。"
        en = f"{s.goal.id} goal · {where_en} · as of {s.as_of.isoformat()}: no indicator in scope to assess."
        return replace(s, headline=Headline(zh, en))
    shown = [c for c in o.counts if c.n and c.key != "insufficient_data"]
    pct = round(100 * o.assessed / o.total)
    counts_zh = "、".join(f"{c.zh}{c.n}项" for c in shown) or "无"
    counts_en = ", ".join(f"{c.n} {c.en}" for c in shown) or "none"
    gap = o.count("insufficient_data")
    earlier = [m for m in o.milestones if m.n]
    m_total = sum(m.n for m in earlier)
    zh = (
        f"{s.goal.id}年目标 · {where_zh} · 截至{s.as_of.isoformat()}（{_span(s.data_from, s.data_to, 'zh')}）："
        f"{o.total}项指标中{o.assessed}项可评估（{pct}%）：{counts_zh}；数据不足{gap}项。"
    )
    en = (
        f"{s.goal.id} goal · {where_en} · as of {s.as_of.isoformat()} ({_span(s.data_from, s.data_to, 'en')}): "
        f"{o.assessed} of {o.total} indicators could be assessed ({pct} %): {counts_en}; {gap} with insufficient data."
    )
    if m_total:
        zh += f"另有{m_total}个早期节点目标（" + "、".join(f"{m.zh}{m.n}" for m in earlier) + f"），不计入{s.goal.id}年进展。"
        en += (
            f" {m_total} earlier milestones ("
            + ", ".join(f"{m.n} {m.en}" for m in earlier)
            + f") are not counted as progress toward {s.goal.id}."
        )
    zh += "不计算平均进展。"
    en += " No average is computed."
    return replace(s, headline=Headline(zh, en))


@dataclass(frozen=True)
class RegionSummary:
    """One region's own records counted over the tasks in scope (23 for the whole plan), with 未报送 (not
    reported) as a category; `members` are its cities (a province) or its provinces (a cluster), each
    counted on its own, never added to the region's counts."""

    code: str
    zh: str
    en: str
    kind: str
    tasks_total: int
    reported: int
    status_counts: dict[str, int]  # every status, then "not_reported"
    data_counts: dict[str, int]
    records: tuple[TaskProgress, ...]
    members: tuple[RegionSummary, ...]
    headline: Headline


def reported_below(regions: Sequence[Region], tasks: Iterable[TaskProgress]) -> dict[tuple[str, str], set[str]]:
    """For each (region code, task id): the regions strictly inside that region (its cities and their counties, by
    `parent`) holding a record of the task. A city whose county reported has been reported for."""
    return reported_below_pairs(regions, ((t.task.id, t.region) for t in tasks))


def reported_below_pairs(regions: Sequence[Region], records: Iterable[tuple[str, str]]) -> dict[tuple[str, str], set[str]]:
    """`reported_below` of the records given as (task id, region code)."""
    parent = {r.code: r.parent for r in regions}
    below: dict[tuple[str, str], set[str]] = {}
    for task, region in records:
        seen = {region}
        code = parent.get(region)
        while code and code not in seen:  # a parent cycle in a hand-edited registry stops here
            below.setdefault((code, task), set()).add(region)
            seen.add(code)
            code = parent.get(code)
    return below


def region_summary(
    scope: Region,
    tasks: Sequence[TaskProgress],
    regions: Sequence[Region],
    tasks_total: int = TASK_COUNT,
    depth: int = 1,
    deeper: Iterable[tuple[str, str]] = (),
) -> RegionSummary:
    """`deeper`: (task id, region code) of records in scope beyond `tasks` (when `tasks` holds only the scope's
    and its members' own records): they count for the members they are inside."""
    mine = tuple(t for t in tasks if t.region == scope.code)
    reported = len({t.task.id for t in mine})
    status_counts = {s: sum(1 for t in mine if t.status == s) for s in STATUS_LABELS}
    status_counts["not_reported"] = max(0, tasks_total - reported)
    data_counts = dict.fromkeys(TASK_LABELS, 0)
    for t in mine:
        data_counts[t.data] += 1
    member_codes = [r.code for r in regions if r.parent == scope.code] + list(scope.provinces)
    by_code = {r.code: r for r in regions}
    members = (
        tuple(region_summary(by_code[c], tasks, regions, tasks_total, depth - 1) for c in member_codes if c in by_code)
        if depth > 0
        else ()
    )
    if reported == 0:
        zh = f"{scope.zh}尚无记录：{tasks_total}项任务均未报送。"
        en = f"{scope.en} has no records yet: all {tasks_total} tasks not reported."
    else:
        parts_zh = "、".join(f"{STATUS_LABELS[s][0]}{n}" for s, n in status_counts.items() if n and s != "not_reported")
        parts_en = ", ".join(f"{n} {STATUS_LABELS[s][1]}" for s, n in status_counts.items() if n and s != "not_reported")
        data_zh = "、".join(f"{TASK_LABELS[k][0]}{n}" for k, n in data_counts.items() if n)
        data_en = ", ".join(f"{n} {TASK_LABELS[k][1]}" for k, n in data_counts.items() if n)
        missing = status_counts["not_reported"]
        zh = f"{scope.zh}：{tasks_total}项任务中已报送{reported}项（{parts_zh}；{data_zh}），未报送{missing}项。"
        en = (
            f"{scope.en}: {reported} of {tasks_total} tasks reported ({parts_en}; {data_en}), "
            f"{status_counts['not_reported']} not reported."
        )
    if members:
        below = {code for code, _ in reported_below_pairs(regions, {*((t.task.id, t.region) for t in tasks), *deeper})}
        who = [m for m in members if m.reported or m.code in below]  # a city counts when a county of it reported
        zh += f"下辖/成员{len(members)}个，已报送{len(who)}个" + (f"（{'、'.join(m.zh for m in who)}）" if who else "") + "。"
        en += f" {len(who)} of its {len(members)} members reported" + (f" ({', '.join(m.en for m in who)})" if who else "") + "."
    return RegionSummary(
        code=scope.code,
        zh=scope.zh,
        en=scope.en,
        kind=scope.kind,
        tasks_total=tasks_total,
        reported=reported,
        status_counts=status_counts,
        data_counts=data_counts,
        records=mine,
        members=members,
        headline=Headline(zh, en),
    )


# ---------------------------------------------------------------------------------------------- roll-ups


@dataclass
class Rollup:
    """Records grouped under one heading (a chapter, a goal component, a goal, a region)."""

    key: str
    label_zh: str
    label_en: str
    tasks: list[TaskProgress] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Records by what their data say, every verdict included."""
        out = dict.fromkeys(TASK_LABELS, 0)
        for t in self.tasks:
            out[t.data] += 1
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


REASON_LABELS: dict[str, tuple[str, str]] = {
    "blocked": STATUS_LABELS["blocked"],
    "lagging": TASK_LABELS["lagging"],
    "stale": ("数据过期", "stale data"),
    "disagreement": ("评级与数据不一致", "rating disagrees with the data"),
    "contradiction": ("状态与数据矛盾", "status contradicts the data"),
}


def exceptions(tasks: Sequence[TaskProgress]) -> list[tuple[TaskProgress, list[str]]]:
    """The records a review meeting should look at first, with the keys of REASON_LABELS saying why."""
    out = []
    for t in tasks:
        reasons: list[str] = []
        if t.status == "blocked":
            reasons.append("blocked")
        if t.data == "lagging":
            reasons.append("lagging")
        if t.stale:
            reasons.append("stale")
        if t.disagreement:
            reasons.append("disagreement")
        if t.contradiction:
            reasons.append("contradiction")
        if reasons:
            out.append((t, reasons))

    def order(x: tuple[TaskProgress, list[str]]) -> tuple[int, int, str]:
        rank = 0 if "blocked" in x[1] else 1 if "lagging" in x[1] else 2
        return rank, x[0].task.number, x[0].region

    return sorted(out, key=order)


@dataclass(frozen=True)
class Overview:
    """Everything `ptrack progress` and the report show, computed once: the goals' summaries for the scope
    region's own records (national when `scope` is None), the region with its members, and the records."""

    as_of: dt.date
    scope: Region | None
    goals: tuple[GoalSummary, ...]
    region: RegionSummary | None
    tasks: tuple[TaskProgress, ...]
    settings: Settings

    @property
    def headline(self) -> Headline:
        """The first lines to quote: the first goal's sentence, then the region's."""
        zh = [g.headline.zh for g in self.goals[:1]] + ([self.region.headline.zh] if self.region else [])
        en = [g.headline.en for g in self.goals[:1]] + ([self.region.headline.en] if self.region else [])
        return Headline("\n".join(zh), "\n".join(en))


def overview(
    goals: Sequence[Goal],
    tasks: Sequence[TaskProgress],
    as_of: dt.date,
    *,
    scope: Region | None = None,
    regions: Sequence[Region] = (),
    tasks_total: int = TASK_COUNT,
    settings: Settings | None = None,
    definitions: Sequence[Task] = (),
    deeper: Iterable[tuple[str, str]] = (),
) -> Overview:
    """The view of `tasks` at the date. The goals count the scope's own records, the region its own and its
    members' own records; `deeper` (see `region_summary`) gives the records further inside when `tasks` holds
    only those."""
    ordered = sorted(goals, key=lambda g: g.year)
    return Overview(
        as_of=as_of,
        scope=scope,
        goals=tuple(goal_summary(g, tasks, as_of, scope, definitions) for g in ordered),
        region=region_summary(scope, tasks, regions, tasks_total, deeper=deeper) if scope is not None else None,
        tasks=tuple(tasks),
        settings=settings or Settings(),
    )
