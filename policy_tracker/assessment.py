"""One indicator against one horizon (2030, 2035): milestones, the horizon target, progress at the data date,
anticipated progress, trend and year-to-date figures (pure functions, no I/O).

The rules and their sources (NDRC mid-term evaluations, UN ESCAP's SDG progress assessment, Open SDG /
Statistics Canada) are in docs/methodology.md, each with a worked example on the bundled figures.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from policy_tracker.errors import PtrackError
from policy_tracker.models import Baseline, Indicator, IndicatorData, Observation, Target, comparable
from policy_tracker.numbers import format_number

Label = Literal["achieved_early", "ahead", "in_line", "lagging", "improving", "no_change", "deteriorating", "insufficient_data"]
# 时间过半、任务过半: the labels of the NDRC's mid-term evaluations, then the trend labels, then 数据不足.
LABELS: dict[str, tuple[str, str]] = {
    "achieved_early": ("提前完成", "achieved early"),
    "ahead": ("快于预期", "ahead"),
    "in_line": ("基本符合预期", "in line"),
    "lagging": ("相对滞后", "lagging"),
    "improving": ("趋势向好", "improving"),
    "no_change": ("基本无变化", "no change"),
    "deteriorating": ("趋势变差", "deteriorating"),
    "insufficient_data": ("数据不足", "insufficient data"),
}
# One meaning per colour everywhere (terminal, markdown, charts): lagging red, in line amber, ahead green, no data grey.
Colour = Literal["green", "amber", "red", "grey"]
LABEL_COLOUR: dict[str, Colour] = {
    "achieved_early": "green",
    "ahead": "green",
    "in_line": "amber",
    "lagging": "red",
    "improving": "green",
    "no_change": "amber",
    "deteriorating": "red",
    "insufficient_data": "grey",
}
Outcome = Literal["met", "missed", "undetermined", "awaiting_data", "upcoming", "not_comparable", "not_quantified"]
OUTCOME_LABELS: dict[str, tuple[str, str]] = {
    "met": ("已达成", "met"),
    "missed": ("未达成", "missed"),
    "undetermined": ("无法判断", "cannot tell (a bound)"),
    "awaiting_data": ("待数据", "awaiting data"),
    "upcoming": ("未到期", "not yet due"),
    "not_comparable": ("不可比", "not comparable"),
    "not_quantified": ("未量化", "not quantified"),
}
OUTCOME_COLOUR: dict[str, Colour] = {
    "met": "green",
    "missed": "red",
    "undetermined": "grey",
    "awaiting_data": "grey",
    "upcoming": "grey",
    "not_comparable": "grey",
    "not_quantified": "grey",
}
CagrClass = Literal["on_track", "acceleration_needed", "limited_progress", "deterioration", "insufficient_data"]
CAGR_LABEL: dict[str, Label] = {
    "on_track": "in_line",
    "acceleration_needed": "lagging",
    "limited_progress": "lagging",
    "deterioration": "lagging",
    "insufficient_data": "insufficient_data",
}
FREQUENCY_DAYS = {"annual": 365, "quarterly": 92, "monthly": 31}
NO_CHANGE_RATE = 0.005  # |relative change| below 0.5 % a year is "no change"
DAYS_PER_YEAR = 365.25
MAX_TOLERANCE = 0.25


@dataclass(frozen=True)
class Settings:
    """How to classify: `tolerance` is a share (0.05 = ± 5 percentage points), 0 to 0.25."""

    tolerance: float = 0.05
    method: Literal["linear", "cagr"] = "linear"

    def __post_init__(self) -> None:
        if not 0 <= self.tolerance <= MAX_TOLERANCE or math.isnan(self.tolerance):
            raise PtrackError(
                f"tolerance {self.tolerance:g} is out of range",
                fix=f"Give a share between 0 and {MAX_TOLERANCE:g} (0.05 means ± 5 percentage points)",
            )
        if self.method not in ("linear", "cagr"):
            raise PtrackError(f"unknown method '{self.method}'", fix="Use linear or cagr")


# ---------------------------------------------------------------------------------------------- dates


def period_end(date: str) -> dt.date:
    """The last day a reference date covers: 2024 -> 2024-12-31, 2024-06 -> 2024-06-30, 2024-06-15 -> itself."""
    parts = [int(p) for p in date.split("-")]
    if len(parts) == 3:
        return dt.date(parts[0], parts[1], parts[2])
    if len(parts) == 2:
        month_after = dt.date(parts[0] + parts[1] // 12, parts[1] % 12 + 1, 1)
        return month_after - dt.timedelta(days=1)
    return dt.date(parts[0], 12, 31)


def _start(date: str) -> dt.date:
    parts = [int(p) for p in date.split("-")] + [1, 1]
    return dt.date(parts[0], parts[1], parts[2])


def years_between(start: dt.date, end: dt.date) -> float:
    """Years from `start` to `end`: whole calendar years between the same day of the year (2024-12-31 to 2025-12-31
    is 1, so a change of 0.11 in a year reads 0.11/yr, not 0.1101), else days / 365.25."""
    if (start.month, start.day) == (end.month, end.day):
        return float(end.year - start.year)
    return (end - start).days / DAYS_PER_YEAR


_MULTI_YEAR = re.compile(r"^\s*(\d{4})\s*[-–—~至到]\s*(\d{4})\s*$")
# "经过5年的努力 (from 2024-07)": a level to reach within a span of years counted from a stated start
_SPAN = re.compile(r"(\d+)\s*年.*?from\s+(\d{4})(?:-(\d{2}))?")
_YEAR_TO_DATE = re.compile(r"^(\d{4})-(\d{2})/(\d{4})-(\d{2})$")


def year_to_date_months(o: Observation) -> tuple[int, int, int] | None:
    """(year, first month, last month) of a figure covering part of one year (`period: 2026-01/2026-09`)."""
    m = _YEAR_TO_DATE.match(o.period or "")
    if not m or m[1] != m[3] or not 1 <= int(m[2]) <= int(m[4]) <= 12:
        return None
    return int(m[1]), int(m[2]), int(m[4])


def due_date(t: Target) -> dt.date | None:
    """When a target falls due: the end of its year; of the last year of its period (2021-2025); of the span a
    plan gives in years from a start (经过5年的努力 from 2024-07 → 2029-07-31); None for a standing target
    (每年 …), which applies every year."""
    if t.year is not None:
        return dt.date(t.year, 12, 31)
    m = _MULTI_YEAR.match(t.period or "")
    if m:
        return dt.date(int(m[2]), 12, 31)
    span = _SPAN.search(t.period or "")
    if span:
        year, month = int(span[2]) + int(span[1]), int(span[3] or 12)
        return period_end(f"{year}-{month:02d}")
    return None


def is_span(t: Target) -> bool:
    """A level to reach within a span of years from a start (no calendar year given)."""
    return t.year is None and bool(_SPAN.search(t.period or ""))


def target_when(t: Target) -> str:
    """When a target is due, as text: its year, else the period its plan names (每年, 2021-2025, 经过5年的努力 …).

    The one way every output writes it, so a target without a year never prints "None"."""
    return str(t.year) if t.year is not None else t.period or ""


# ---------------------------------------------------------------------------------------------- comparators


def _good(direction: str) -> str:
    return "<=" if direction == "lower_is_better" else ">="


def meets(value: float, qualifier: str | None, target: Target, direction: str) -> bool | None:
    """Whether a figure meets a target. `<` and `>` are strict; `~`, `=` or no comparator mean "reach it" in
    the indicator's good direction. A figure known only as a bound (`qualifier` < or >) meets the target when
    every value it allows does, misses it when none does, and is None (cannot tell) otherwise."""
    assert target.value is not None
    op = target.comparator if target.comparator in ("<", ">", "<=", ">=") else _good(direction)
    goal = target.value
    if qualifier not in ("<", ">"):
        return {"<": value < goal, ">": value > goal, "<=": value <= goal, ">=": value >= goal}[op]
    # the figure is an open interval: (value, +inf) for ">", (-inf, value) for "<"
    if qualifier == ">":
        if op in (">", ">="):
            return True if value >= goal else None
        return False if value >= goal else None  # "<" or "<=": all of (value, inf) is above the goal
    if op in ("<", "<="):
        return True if value <= goal else None
    return False if value <= goal else None


def is_floor(target: Target, baseline: Baseline | None, direction: str, levels: Sequence[Observation] = ()) -> bool:
    """An annual floor: a target at or below the value known when it was set (above it for a lower-is-better
    series). The value known when set is the latest level before the plan's issue date, else the baseline.
    Reaching a floor is a milestone, not progress toward a later goal."""
    if target.value is None:
        return False
    known: Baseline | Observation | None = baseline
    if target.issued:
        before = [o for o in levels if period_end(o.date) <= _start(target.issued)]
        known = before[-1] if before else baseline
    if known is None or known.value is None or comparable(known, target) is not None:
        return False
    return target.value >= known.value if direction == "lower_is_better" else target.value <= known.value


# ---------------------------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class Milestone:
    """A target that is not the horizon's goal: past at the data date, an annual floor, standing, cumulative or
    in words. `outcome` says whether the observation for its period met it."""

    target: Target
    due: dt.date | None
    outcome: Outcome
    observation: Observation | None = None
    floor: bool = False
    reason: str = ""


@dataclass(frozen=True, slots=True)
class YearToDate:
    """时序进度: a figure covering part of a year, against that year's annual target at the time share it covers."""

    observation: Observation
    target: Target | None
    share_of_year: float  # months covered ÷ 12
    completion: float | None  # value ÷ annual target
    label: Label
    reason: str = ""


@dataclass(frozen=True, slots=True)
class IndicatorProgress:
    """One indicator of one record, judged for one horizon (the goal year: 2030 or 2035).

    Shares are fractions (0.297 = 29.7 %); rates are in the indicator's unit per year; dates are the ends of
    the reference periods. `data_date` is where progress is measured (the end of the latest observation's
    period), not the as-of date.
    """

    indicator: str
    direction: str
    horizon: int
    label: Label
    baseline: Baseline | None = None
    latest: Observation | None = None
    target: Target | None = None  # the horizon's target, None when judged by trend
    data_date: dt.date | None = None
    progress_raw: float | None = None  # share of the way from baseline to target, unclipped
    expected: float | None = None  # share of the time from baseline to the target's due date gone at the data date
    annual_rate: float | None = None  # observed change per year, baseline (or first figure) to latest
    required_rate: float | None = None  # change per year still needed, latest to due date
    projected: float | None = None  # value at the due date at the observed rate (ESCAP anticipated progress)
    projected_meets: bool | None = None
    reached_year: float | None = None  # when the target is reached at the observed rate
    cagr_ratio: float | None = None
    cagr_class: CagrClass | None = None
    milestones: tuple[Milestone, ...] = ()
    superseded: tuple[Target, ...] = ()  # targets for the same horizon from plans issued earlier
    beyond: tuple[Target, ...] = ()  # targets due after the horizon
    year_to_date: tuple[YearToDate, ...] = ()
    stale: bool = False
    reason: str = ""

    @property
    def assessment(self) -> Label:
        """The label (kept under its earlier name for the report)."""
        return self.label

    @property
    def progress(self) -> float | None:
        """Progress clipped to 0–100 %, as shown."""
        return None if self.progress_raw is None else min(1.0, max(0.0, self.progress_raw))

    @property
    def assessed(self) -> bool:
        return self.label != "insufficient_data"


# ---------------------------------------------------------------------------------------------- the rules


def is_cumulative(period: str | None) -> bool:
    """A figure summed over a span: several years (2021-2025) or part of a year (2026-01/2026-09). A period that
    only says what the date stands for (2026Q3, as an import records it) is not one."""
    return bool(period) and (bool(_MULTI_YEAR.match(period or "")) or "/" in (period or ""))


def _levels(observations: Iterable[Observation], as_of: dt.date) -> list[Observation]:
    """Annual (or point) levels known at the as-of date, oldest first. A cumulative (2021-2025) or year-to-date
    (2026-01/2026-09) figure is another series and never a level."""
    return sorted(
        (o for o in observations if o.value is not None and not is_cumulative(o.period) and period_end(o.date) <= as_of),
        key=lambda o: period_end(o.date),
    )


def _latest_series(known: Sequence[Observation], base: Baseline | None) -> list[Observation]:
    """The series of the most recent figure (the baseline's when several share the latest period)."""
    if not known:
        return []
    end = period_end(known[-1].date)
    last = [o for o in known if period_end(o.date) == end]
    anchor = next((o for o in last if base is not None and comparable(o, base) is None), last[-1])
    return [o for o in known if comparable(o, anchor) is None]


def _issued_key(t: Target) -> tuple[int, dt.date, int]:
    """Most recently issued plan first; a plan with no issue date ranks after every dated one."""
    return (1, _start(t.issued), t.year or 0) if t.issued else (0, dt.date.min, t.year or 0)


def _for_period(levels: Sequence[Observation], due: dt.date) -> Observation | None:
    """The observation for a target's period: the latest level in the target's year."""
    found = [o for o in levels if period_end(o.date).year == due.year]
    return found[-1] if found else None


def _milestone(
    t: Target, levels: Sequence[Observation], data: Sequence[Observation], reference: dt.date, direction: str, floor: bool
) -> Milestone:
    due = due_date(t)
    if t.value is None:
        return Milestone(t, due, "not_quantified", floor=floor, reason="the plan states it in words")
    if t.period is not None and _MULTI_YEAR.match(t.period):  # cumulative: only a figure for the same period compares
        same = [o for o in data if o.period == t.period and o.value is not None]
        if same:
            return _judged(t, due, same[-1], direction, floor, f"cumulative over {t.period}")
        if due is not None and due > reference:
            return Milestone(t, due, "upcoming", floor=floor, reason=f"cumulative over {t.period}, not due")
        return Milestone(t, due, "not_comparable", floor=floor, reason=f"cumulative over {t.period}: no figure for that period")
    if t.period is not None and not is_span(t):  # standing (每年 …): checked on the latest level
        obs = levels[-1] if levels else None
        if obs is None:
            return Milestone(t, due, "awaiting_data", floor=floor, reason="standing target, no figure yet")
        return _judged(t, due, obs, direction, floor, f"standing target, checked for {obs.date}")
    if due is None or due > reference:
        return Milestone(t, due, "upcoming", floor=floor, reason="not due at the data date")
    obs = _for_period(levels, due)
    if obs is None:
        return Milestone(t, due, "awaiting_data", floor=floor, reason=f"no figure for {due.year}")
    return _judged(t, due, obs, direction, floor, "")


def _judged(t: Target, due: dt.date | None, obs: Observation, direction: str, floor: bool, reason: str) -> Milestone:
    mismatch = comparable(obs, t)
    if mismatch:
        return Milestone(t, due, "not_comparable", obs, floor, f"not comparable: {mismatch}")
    assert obs.value is not None
    met = meets(obs.value, obs.qualifier, t, direction)
    outcome: Outcome = "undetermined" if met is None else "met" if met else "missed"
    return Milestone(t, due, outcome, obs, floor, reason or ("a bound cannot tell" if met is None else ""))


def cagr_check(
    base: float, latest: float, target: float, years_observed: float, years_total: float, direction: str
) -> tuple[float | None, CagrClass]:
    """Open SDG / Statistics Canada: observed ÷ required compound annual growth, with the direction applied
    (both rates are multiplied by −1 for a lower-is-better series).

    ≥ 0.95 on track, 0.6–0.95 acceleration needed, 0–0.6 limited progress, < 0 deterioration. Growth rates
    need positive values and a target that asks for change; anything else is insufficient data.
    """
    if min(base, latest, target) <= 0 or years_observed <= 0 or years_total <= 0 or target == base:
        return None, "insufficient_data"
    sign = -1.0 if direction == "lower_is_better" else 1.0
    observed = sign * ((latest / base) ** (1 / years_observed) - 1)
    required = sign * ((target / base) ** (1 / years_total) - 1)
    if required <= 0:  # the target asks for no improvement (a floor): growth rates say nothing
        return None, "insufficient_data"
    ratio = observed / required
    if ratio >= 0.95:
        return ratio, "on_track"
    if ratio >= 0.6:
        return ratio, "acceleration_needed"
    if ratio >= 0:
        return ratio, "limited_progress"
    return ratio, "deterioration"


def assess_indicator(
    data: Indicator | IndicatorData,
    as_of: dt.date,
    *,
    horizon: int,
    direction: str,
    settings: Settings = Settings(),
    frequency: str | None = None,
) -> IndicatorProgress:
    """Judge one indicator for the goal due at the end of `horizon`, with the data known at `as_of`.

    Rules (docs/methodology.md): targets past at the data date, annual floors, standing, cumulative and
    worded targets are milestones; the horizon target is the numeric target due by the end of `horizon`, not
    past at the data date, from the most recently issued plan; none → trend. Progress and the expected share
    are measured at the data date.
    """
    base = data.baseline
    known = _levels(data.observations, as_of)
    # one series (one unit, one basis; issue 9): the baseline's against a target, the latest figure's for a trend
    levels = [o for o in known if comparable(o, base) is None] if base is not None else known
    trend_levels = _latest_series(known, base)
    if not levels:
        levels = trend_levels
    latest = levels[-1] if levels else None
    data_date = period_end(latest.date) if latest else None
    reference = data_date or as_of
    stale = bool(data_date and frequency in FREQUENCY_DAYS and (as_of - data_date).days > 2 * FREQUENCY_DAYS[frequency])

    horizon_end = dt.date(horizon, 12, 31)
    candidates: list[Target] = []  # numeric yearly targets due by the horizon, not past at the data date
    milestones: list[Milestone] = []
    beyond: list[Target] = []
    for t in data.targets:
        due = due_date(t)
        plain = t.value is not None and ((t.year is not None and t.period is None) or is_span(t))
        if plain and due is not None and due > reference:
            (candidates if due <= horizon_end else beyond).append(t)
        elif due is not None and due > horizon_end:
            beyond.append(t)
        else:
            floor = is_floor(t, base, direction, levels)
            milestones.append(_milestone(t, levels, data.observations, reference, direction, floor))
    candidates.sort(key=_issued_key, reverse=True)  # supersession: the most recently issued plan first
    goals = [t for t in candidates if not is_floor(t, base, direction, levels)]
    target = goals[0] if goals else None
    superseded = [t for t in candidates if target is not None and t is not target and _issued_key(t) <= _issued_key(target)]
    for t in candidates:  # a floor issued after the goal, or with no goal at all, is a milestone
        if t is not target and t not in superseded:
            milestones.append(_milestone(t, levels, data.observations, reference, direction, True))
    ytd = tuple(_year_to_date(data, as_of, direction, settings))

    result = IndicatorProgress(
        indicator=data.id,
        direction=direction,
        horizon=horizon,
        label="insufficient_data",
        baseline=base,
        latest=latest,
        target=target,
        data_date=data_date,
        milestones=tuple(milestones),
        superseded=tuple(superseded),
        beyond=tuple(beyond),
        year_to_date=ytd,
        stale=stale,
    )
    if direction == "context":
        return _with(result, target=None, reason="context series: no good direction")
    if target is None:
        return _trend(result, base, trend_levels, settings)
    return _against_target(result, target, base, latest, settings)


def _with(p: IndicatorProgress, **changes: object) -> IndicatorProgress:
    return replace(p, **changes)  # type: ignore[arg-type]


def _against_target(
    p: IndicatorProgress, target: Target, base: Baseline | None, latest: Observation | None, settings: Settings
) -> IndicatorProgress:
    assert target.value is not None
    if latest is None:
        return _with(p, reason="no figure yet")
    if base is None:
        return _with(p, reason="no baseline")
    mismatch = comparable(base, target) or comparable(latest, target)
    if mismatch:
        return _with(p, reason=f"not comparable: {mismatch}")
    due = due_date(target)
    assert due is not None  # a horizon target has a due date
    base_end, now_end = period_end(base.date), period_end(latest.date)
    if now_end <= base_end:
        return _with(p, reason="no figure after the baseline")
    assert latest.value is not None
    met = meets(latest.value, latest.qualifier, target, p.direction)
    if latest.qualifier in ("<", ">"):  # a bound: no progress number, but it may meet or miss the target
        if met:
            return _with(p, label="achieved_early", reason="the bound already meets the target")
        return _with(p, reason=f"known only as a bound ({latest.qualifier}{format_number(latest.value)})")
    goal, start, now = target.value, base.value, latest.value
    if (goal - start) * (-1 if p.direction == "lower_is_better" else 1) <= 0:  # no way to travel: met or not
        label: Label = "achieved_early" if met else "lagging"
        return _with(p, label=label, reason="the target is at or behind the baseline: met or not met, no share of the way")
    raw = (now - start) / (goal - start)
    expected = min(1.0, max(0.0, (now_end - base_end).days / (due - base_end).days))
    observed_years, remaining = years_between(base_end, now_end), years_between(now_end, due)
    annual = (now - start) / observed_years
    ratio, cagr = cagr_check(start, now, goal, observed_years, years_between(base_end, due), p.direction)
    if settings.method == "cagr" and start > 0 and now > 0:
        projected = now * (now / start) ** (remaining / observed_years)
    else:
        projected = now + annual * remaining
    reached = None
    if not met and annual != 0 and (goal - now) / annual > 0:  # moving toward the target
        reached = now_end.year + (goal - now) / annual
    if met:
        label = "achieved_early"
    elif settings.method == "cagr":
        label = CAGR_LABEL[cagr]
    elif raw >= expected + settings.tolerance:
        label = "ahead"
    elif raw > expected - settings.tolerance:
        label = "in_line"
    else:
        label = "lagging"
    return _with(
        p,
        label=label,
        progress_raw=raw,
        expected=expected,
        annual_rate=annual,
        required_rate=(goal - now) / remaining if remaining > 0 else None,
        projected=projected,
        projected_meets=meets(projected, None, target, p.direction),
        reached_year=reached,
        cagr_ratio=ratio,
        cagr_class=cagr,
        reason="" if label != "insufficient_data" else "values a growth rate cannot use",
    )


def _trend(p: IndicatorProgress, base: Baseline | None, levels: Sequence[Observation], settings: Settings) -> IndicatorProgress:
    """Without a horizon target: the direction of travel from the baseline (else the first figure) to the latest.

    Two different periods are needed; equal values are "no change", never "improving".
    """
    p = _with(p, reason="no target for this horizon: trend only")
    if not levels:
        return _with(p, reason="no figure yet")
    last = levels[-1]
    p = _with(p, latest=last, data_date=period_end(last.date))
    same = base is not None and comparable(base, last) is None
    first: Baseline | Observation = base if base is not None and same else levels[0]
    if period_end(last.date) <= period_end(first.date):
        return _with(p, reason="no figure after the baseline" if base else "fewer than two periods")
    if last.qualifier in ("<", ">") or getattr(first, "qualifier", None) in ("<", ">"):
        return _with(p, reason="known only as a bound")
    assert last.value is not None and first.value is not None
    years = years_between(period_end(first.date), period_end(last.date))
    annual = (last.value - first.value) / years
    relative = annual / abs(first.value) if first.value else (0.0 if annual == 0 else math.inf)
    label: Label
    if abs(relative) < NO_CHANGE_RATE:
        label = "no_change"
    else:
        good = annual < 0 if p.direction == "lower_is_better" else annual > 0
        label = "improving" if good else "deteriorating"
    return _with(p, label=label, annual_rate=annual)


def _year_to_date(data: Indicator | IndicatorData, as_of: dt.date, direction: str, settings: Settings) -> list[YearToDate]:
    out = []
    for o in data.observations:
        span = year_to_date_months(o)
        if span is None or o.value is None or period_end(o.date) > as_of:
            continue
        year, first, last = span
        share = (last - first + 1) / 12
        annual = [t for t in data.targets if t.year == year and t.period is None and t.value]
        target = max(annual, key=_issued_key) if annual else None
        if target is None:
            out.append(YearToDate(o, None, share, None, "insufficient_data", f"no annual target for {year}"))
            continue
        mismatch = comparable(o, target)
        if mismatch:
            out.append(YearToDate(o, target, share, None, "insufficient_data", f"not comparable: {mismatch}"))
            continue
        assert target.value is not None
        completion = o.value / target.value
        # a cap (lower is better) is on course while the share used stays at or below the time share
        lead = share - completion if direction == "lower_is_better" else completion - share
        label: Label
        if direction != "lower_is_better" and meets(o.value, o.qualifier, target, direction):
            label = "achieved_early"
        elif direction == "lower_is_better" and meets(o.value, o.qualifier, target, direction) is False:
            label = "lagging"
        elif lead >= settings.tolerance:
            label = "ahead"
        elif lead > -settings.tolerance:
            label = "in_line"
        else:
            label = "lagging"
        out.append(YearToDate(o, target, share, completion, label))
    return out
