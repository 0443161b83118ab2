"""The assessment, rule by rule (docs/methodology.md): a table per rule, then Hypothesis properties, then the
bundled dataset's headline and the records, regions and summaries built on it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from policy_tracker import store
from policy_tracker.assessment import (
    Settings,
    assess_indicator,
    cagr_check,
    due_date,
    meets,
    period_end,
)
from policy_tracker.errors import PtrackError
from policy_tracker.models import Change, HistoryEntry, IndicatorData, RegionRecord, Target
from policy_tracker.progress import (
    as_of_record,
    contradiction,
    disagreement,
    goal_summary,
    overview,
    task_progress,
    time_elapsed,
)
from policy_tracker.query import national_rows

D = dt.date
TODAY = dt.date(2026, 11, 29)
HIGHER, LOWER = "higher_is_better", "lower_is_better"


def _t(year: int | None, value: float | None, **extra: Any) -> dict[str, Any]:
    return {"year": year, "value": value, "target_from": extra.pop("plan", "plan"), "source": "s", **extra}


def _ind(
    baseline: tuple[float, str] | None,
    observations: list[tuple[str, float]] | list[dict[str, Any]],
    targets: list[dict[str, Any]] | None = None,
) -> IndicatorData:
    obs = [o if isinstance(o, dict) else {"date": o[0], "value": o[1], "source": "s"} for o in observations]
    data: dict[str, Any] = {
        "id": "x",
        "baseline": {"value": baseline[0], "date": baseline[1], "source": "s"} if baseline else None,
        "observations": [{"source": "s", **o} for o in obs],
        "targets": targets or [],
    }
    return IndicatorData.model_validate(data, strict=False)


def _assess(ind: IndicatorData, as_of: dt.date = TODAY, direction: str = HIGHER, horizon: int = 2030, **kw: Any) -> Any:
    return assess_indicator(ind, as_of, horizon=horizon, direction=direction, **kw)


# ---------------------------------------------------------------------------------------------- horizon


@pytest.mark.parametrize(
    ("target", "due"),
    [
        (_t(2029, 70), D(2029, 12, 31)),
        (_t(None, 70, period="经过5年的努力 (from 2024-07)"), D(2029, 7, 31)),
        (_t(2025, 13.5, period="2021-2025"), D(2025, 12, 31)),
        (_t(None, 10, period="每年 (2025-)"), None),
    ],
)
def test_due_dates(target: dict[str, Any], due: dt.date | None) -> None:
    assert due_date(Target.model_validate(target, strict=False)) == due


@pytest.mark.parametrize(
    ("targets", "horizon", "chosen", "label"),
    [
        # the target due by the end of the horizon and not past at the data date (2025-12-31)
        ([_t(2029, 70)], 2030, 2029, "ahead"),
        ([_t(2029, 70)], 2035, 2029, "ahead"),
        # past at the data date: a milestone, never the horizon's target → trend
        ([_t(2025, 67.5)], 2030, None, "improving"),
        ([_t(2022, 60), _t(2025, 67.5)], 2030, None, "improving"),
        # due after the horizon: not borrowed → trend for 2030; the target for 2035
        ([_t(2035, 75)], 2030, None, "improving"),
        ([_t(2035, 75)], 2035, 2035, "in_line"),
        # a cumulative (period) or worded target is never a horizon target
        ([_t(2030, 13.5, period="2026-2030")], 2030, None, "improving"),
        ([_t(2030, None, value_text="明显提高")], 2030, None, "improving"),
        # a span from a start ("after five years of effort" from 2024-07): due 2029-07-31, a horizon target
        ([_t(None, 70, period="经过5年的努力 (from 2024-07)")], 2030, None, "ahead"),
    ],
)
def test_horizon_uses_the_target_due_by_its_end_and_not_yet_past(
    targets: list[dict[str, Any]], horizon: int, chosen: int | None, label: str
) -> None:
    p = _assess(_ind((67.0, "2024"), [("2024", 67.0), ("2025", 67.89)], targets), horizon=horizon)
    assert (p.target.year if p.target else None) == chosen
    assert p.label == label
    assert (p.target is not None) == (label not in ("improving", "no_change", "deteriorating"))


# ---------------------------------------------------------------------------------------------- milestones


@pytest.mark.parametrize(
    ("target", "direction", "outcome"),
    [
        (_t(2025, 2.5), HIGHER, "met"),  # T08: 2.71万 started against the 2025 annual task of 2.5万
        (_t(2025, 3.0), HIGHER, "missed"),
        (_t(2025, 2.71, comparator=">"), HIGHER, "missed"),  # strict
        (_t(2025, 2.71, comparator=">="), HIGHER, "met"),
        (_t(2024, 2.5), HIGHER, "awaiting_data"),  # no figure for 2024
        (_t(2025, None, value_text="基本完成"), HIGHER, "not_quantified"),
        (_t(2025, 13.5, period="2021-2025"), HIGHER, "not_comparable"),  # cumulative against yearly levels
        (_t(None, 2.0, period="每年 (from 2025)"), HIGHER, "met"),  # standing: the latest year is checked
    ],
)
def test_past_targets_are_milestones_met_or_missed_for_their_period(target: dict[str, Any], direction: str, outcome: str) -> None:
    p = _assess(_ind((5.25, "2022"), [("2022", 5.25), ("2025", 2.71)], [target]), direction=direction)
    assert [m.outcome for m in p.milestones] == [outcome]
    assert p.target is None and p.progress_raw is None  # never progress toward a later goal
    assert p.label == "deteriorating"  # the trend says what the data say: 5.25 → 2.71


def test_an_annual_floor_is_a_milestone_even_when_not_yet_due() -> None:
    # T20: a target already below the baseline when it was set is a floor, not a goal to progress toward
    p = _assess(_ind((3.0, "2024"), [("2024", 3.0), ("2025", 3.11)], [_t(2027, 2.6, comparator=">=")]))
    assert p.target is None and p.label == "improving"
    assert [(m.outcome, m.floor) for m in p.milestones] == [("upcoming", True)]


def test_a_floor_is_judged_against_the_value_known_when_the_plan_was_issued() -> None:
    # set in 2016-10 when the latest figure (2015) was 76; the baseline (2024) is 79: a goal, not a floor
    ind = _ind((79.0, "2024"), [("2015", 76.0), ("2024", 79.0), ("2025", 79.3)], [_t(2030, 79.0, issued="2016-10")])
    assert _assess(ind).target is not None


# ---------------------------------------------------------------------------------------------- supersession


@pytest.mark.parametrize(
    ("targets", "winner", "superseded"),
    [
        (
            [_t(2030, 79.0, issued="2016-10", plan="健康中国2030"), _t(2030, 80, issued="2026-03-12", plan="十五五")],
            "十五五",
            ["健康中国2030"],
        ),
        (
            [_t(2030, 80, issued="2026-03-12", plan="十五五"), _t(2030, 79.5, issued="2016-10", plan="健康中国2030")],
            "十五五",
            ["健康中国2030"],
        ),
        # a dated plan wins over one with no known issue date; a 2027 target of a later plan wins over a 2030 one
        ([_t(2030, 81, plan="undated"), _t(2030, 80, issued="2021-03", plan="dated")], "dated", ["undated"]),
        ([_t(2030, 81, issued="2016-10", plan="old"), _t(2027, 80, issued="2024-03", plan="new")], "new", ["old"]),
    ],
)
def test_the_most_recently_issued_plan_wins_for_one_horizon(
    targets: list[dict[str, Any]], winner: str, superseded: list[str]
) -> None:
    p = _assess(_ind((78.6, "2023"), [("2023", 78.6), ("2025", 79.2)], targets))
    assert p.target is not None and p.target.target_from == winner
    assert [t.target_from for t in p.superseded] == superseded


# ---------------------------------------------------------------------------------------------- data date


@pytest.mark.parametrize("as_of", [D(2026, 1, 15), D(2026, 9, 30), D(2026, 11, 29), D(2027, 6, 30)])
def test_progress_is_measured_at_the_data_date_whatever_the_as_of_date(as_of: dt.date) -> None:
    # T01: 67.00 (2024) → 67.89 (2025), about 70 by 2029: 29.7 % of the way after 20.0 % of the time → ahead
    ind = _ind((67.0, "2024"), [("2024", 67.0), ("2025", 67.89)], [_t(2029, 70, comparator="~")])
    p = _assess(ind, as_of)
    assert p.data_date == D(2025, 12, 31)
    assert p.progress_raw == pytest.approx(0.89 / 3)
    assert p.expected == pytest.approx(365 / 1826)
    assert p.label == "ahead"


def test_as_of_decides_only_which_data_are_known() -> None:
    ind = _ind((67.0, "2024"), [("2024", 67.0), ("2025", 67.89)], [_t(2029, 70)])
    early = _assess(ind, D(2025, 12, 30))  # the 2025 figure's period has not ended
    assert early.label == "insufficient_data" and early.reason == "no figure after the baseline"


# ---------------------------------------------------------------------------------------------- comparators and bounds


@pytest.mark.parametrize(
    ("value", "qualifier", "comparator", "goal", "direction", "expected"),
    [
        (25, None, "<", 25, LOWER, False),  # "<25" is not met at exactly 25
        (24.9, None, "<", 25, LOWER, True),
        (25, None, "<=", 25, LOWER, True),
        (43, None, ">", 43, HIGHER, False),
        (43, None, ">=", 43, HIGHER, True),
        (70, None, "~", 70, HIGHER, True),
        (69.9, None, None, 70, HIGHER, False),
        (29, None, None, 25, LOWER, False),
        # a bound: meets when every value it allows does, misses when none does, else cannot tell
        (90, ">", ">=", 70, HIGHER, True),
        (50, ">", ">=", 60, HIGHER, None),
        (50, "<", ">=", 60, HIGHER, False),
        (50, "<", ">=", 45, HIGHER, None),
        (50, "<", "<", 50, LOWER, True),
        (50, ">", "<=", 50, LOWER, False),
    ],
)
def test_comparators_are_strict_and_bounds_are_intervals(
    value: float, qualifier: str | None, comparator: str | None, goal: float, direction: str, expected: bool | None
) -> None:
    target = Target.model_validate(_t(2030, goal, comparator=comparator), strict=False)
    assert meets(value, qualifier, target, direction) is expected


@pytest.mark.parametrize(
    ("qualifier", "value", "label"),
    [(">", 90.0, "achieved_early"), (">", 60.0, "insufficient_data"), ("<", 50.0, "insufficient_data")],
)
def test_a_bound_gives_no_progress_number_but_can_meet_a_target(qualifier: str, value: float, label: str) -> None:
    ind = _ind((42.35, "2017"), [{"date": "2023", "value": value, "qualifier": qualifier}], [_t(2030, 70)])
    p = _assess(ind)
    assert p.progress_raw is None and p.label == label


# ---------------------------------------------------------------------------------------------- trend


@pytest.mark.parametrize(
    ("baseline", "observations", "direction", "label", "reason"),
    [
        (None, [("2022", 0.9), ("2025", 0.9)], LOWER, "no_change", ""),  # equal values: no change, not improving
        (None, [("2022", 29), ("2025", 28)], LOWER, "improving", ""),
        (None, [("2022", 29), ("2025", 31)], LOWER, "deteriorating", ""),
        (None, [("2020", 100), ("2025", 100.1)], HIGHER, "no_change", ""),  # under 0.5 % a year
        (None, [("2025", 10)], HIGHER, "insufficient_data", "fewer than two periods"),
        # the baseline is the latest figure: nothing happened since, whatever came before
        ((14.87, "2021"), [("2011", 11.18), ("2021", 14.87)], HIGHER, "insufficient_data", "no figure after the baseline"),
        # the trend starts at the baseline (one base year), not at the first figure
        ((5.25, "2022"), [("2020", 4.03), ("2022", 5.25), ("2025", 2.71)], HIGHER, "deteriorating", ""),
    ],
)
def test_trend_needs_two_periods_and_reads_equal_values_as_no_change(
    baseline: tuple[float, str] | None, observations: list[tuple[str, float]], direction: str, label: str, reason: str
) -> None:
    p = _assess(_ind(baseline, observations), direction=direction)
    assert p.label == label
    if reason:
        assert p.reason == reason


def test_a_context_series_is_described_never_judged() -> None:
    p = _assess(_ind((141175, "2022"), [("2022", 141175), ("2025", 140489)]), direction="context")
    assert p.label == "insufficient_data" and p.reason == "context series: no good direction"


# ---------------------------------------------------------------------------------------------- growth rates


@pytest.mark.parametrize(
    ("base", "latest", "target", "direction", "cls"),
    [
        (100, 110, 161.05, HIGHER, "limited_progress"),  # 4.9 % a year against 10 % needed
        (100, 121, 161.05, HIGHER, "on_track"),
        (100, 95, 161.05, HIGHER, "deterioration"),
        # lower is better: falling toward a lower target is progress, never "deterioration" (Open SDG)
        (29, 26, 25, LOWER, "on_track"),
        (29, 28.5, 25, LOWER, "limited_progress"),
        (29, 30, 25, LOWER, "deterioration"),
        # no growth rate of zero or negative values, nor toward a target that asks for no change
        (0, 5, 10, HIGHER, "insufficient_data"),
        (10, 12, 10, HIGHER, "insufficient_data"),
        (10, 12, 8, HIGHER, "insufficient_data"),
    ],
)
def test_growth_rates_apply_the_direction(base: float, latest: float, target: float, direction: str, cls: str) -> None:
    assert cagr_check(base, latest, target, 2.0, 5.0, direction)[1] == cls


def test_the_cagr_method_labels_a_falling_lower_is_better_series_on_course() -> None:
    ind = _ind((29, "2022"), [("2022", 29), ("2025", 26)], [_t(2030, 25, comparator="<")])
    p = _assess(ind, direction=LOWER, settings=Settings(method="cagr"))
    assert p.cagr_class == "on_track" and p.label == "in_line"


# ---------------------------------------------------------------------------------------------- anticipated progress


def test_anticipated_progress_projects_the_observed_rate_to_the_due_date() -> None:
    ind = _ind((67.0, "2024"), [("2024", 67.0), ("2025", 67.89)], [_t(2029, 70, comparator="~")])
    p = _assess(ind)
    years_left, rate = 4, 0.89  # years of the data: 2025 to 2029 is four years, 2024 to 2025 one (not 365/365.25)
    assert p.annual_rate == pytest.approx(rate)
    assert p.projected == pytest.approx(67.89 + rate * years_left)
    assert p.projected_meets is True
    assert p.required_rate == pytest.approx((70 - 67.89) / years_left)
    assert p.reached_year == pytest.approx(2025 + 2.11 / rate)


def test_anticipated_progress_says_when_the_target_would_be_missed() -> None:
    ind = _ind((50, "2020"), [("2020", 50), ("2025", 52)], [_t(2030, 70)])
    p = _assess(ind)
    assert p.label == "lagging" and p.projected_meets is False and p.projected == pytest.approx(54, rel=1e-3)


# ---------------------------------------------------------------------------------------------- stale, tolerance


@pytest.mark.parametrize(
    ("frequency", "as_of", "stale"),
    [
        ("annual", D(2026, 12, 31), False),
        ("annual", D(2028, 1, 1), True),
        ("quarterly", D(2026, 8, 1), True),
        (None, D(2030, 1, 1), False),
    ],
)
def test_stale_data_are_flagged_by_publication_frequency(frequency: str | None, as_of: dt.date, stale: bool) -> None:
    assert _assess(_ind(None, [("2024", 1), ("2025", 2)]), as_of, frequency=frequency).stale is stale


def test_every_bundled_indicator_declares_its_frequency() -> None:
    ws = store.load_workspace(store.bundled_dataset())
    missing = [f"{t.id}.{i.id}" for t in ws.tasks for i in t.indicators if i.frequency is None]
    assert missing == []


@pytest.mark.parametrize(
    ("tolerance", "ok"), [(0, True), (0.05, True), (0.25, True), (0.2501, False), (5, False), (-1, False), (float("nan"), False)]
)
def test_tolerance_is_a_share_from_0_to_a_quarter(tolerance: float, ok: bool) -> None:
    if ok:
        assert Settings(tolerance=tolerance).tolerance == tolerance
    else:
        with pytest.raises(PtrackError, match="tolerance"):
            Settings(tolerance=tolerance)


@pytest.mark.parametrize(("tolerance", "label"), [(0.05, "lagging"), (0.15, "in_line"), (0.0, "lagging")])
def test_tolerance_widens_in_line(tolerance: float, label: str) -> None:
    ind = _ind((50, "2020"), [("2020", 50), ("2025", 58)], [_t(2030, 70)])  # 40 % done, 50 % of the time gone
    assert _assess(ind, settings=Settings(tolerance=tolerance)).label == label


# ---------------------------------------------------------------------------------------------- year to date


@pytest.mark.parametrize(
    ("value", "months", "direction", "label"),
    [
        (1.9, "2026-01/2026-09", HIGHER, "in_line"),  # 76 % of the annual task after 75 % of the year
        (1.2, "2026-01/2026-09", HIGHER, "lagging"),
        (2.5, "2026-01/2026-06", HIGHER, "achieved_early"),
        (1.6, "2026-01/2026-06", HIGHER, "ahead"),
        (1.0, "2026-01/2026-06", LOWER, "ahead"),  # a cap: 40 % used after half the year
        (2.6, "2026-01/2026-09", LOWER, "lagging"),  # over the cap already
    ],
)
def test_year_to_date_figures_meet_the_annual_target_at_the_time_share(
    value: float, months: str, direction: str, label: str
) -> None:
    ytd = {"date": months.split("/")[1], "value": value, "period": months}
    ind = _ind((2.71, "2025"), [("2025", 2.71), ytd], [_t(2026, 2.5)])
    p = _assess(ind, direction=direction)
    assert [y.label for y in p.year_to_date] == [label]
    assert p.latest is not None and p.latest.date == "2025"  # never read as a level, never in the trend


def test_a_year_to_date_figure_without_an_annual_target_says_so() -> None:
    ind = _ind(None, [{"date": "2026-09", "value": 2.0, "period": "2026-01/2026-09"}])
    (ytd,) = _assess(ind).year_to_date
    assert ytd.label == "insufficient_data" and ytd.reason == "no annual target for 2026"


# ---------------------------------------------------------------------------------------------- units and bases (issue 9)


def test_a_target_on_another_basis_is_not_comparable() -> None:
    ind = _ind((86.5, "2022"), [("2022", 86.5), ("2025", 88.1)], [_t(2030, 90, basis="扣除沙尘异常超标天")])
    p = _assess(ind)
    assert p.label == "insufficient_data" and p.reason.startswith("not comparable: bases differ")


def test_the_series_follows_the_baseline_and_never_joins_another_basis() -> None:
    obs = [
        {"date": "2022", "value": 86.5},
        {"date": "2025", "value": 88.1},
        {"date": "2025", "value": 89.3, "basis": "扣除沙尘异常超标天"},
    ]
    p = _assess(_ind((86.5, "2022"), obs, [_t(2030, 90)]))
    assert p.latest is not None and p.latest.value == 88.1


def test_a_trend_never_joins_figures_in_different_units() -> None:
    obs = [
        {"date": "2020", "value": 27412, "unit": "人"},
        {"date": "2024", "value": 1.96},
        {"date": "2025", "value": 18261, "unit": "人"},
    ]
    p = _assess(_ind(None, obs), direction=LOWER)
    assert p.label == "improving" and p.annual_rate == pytest.approx((18261 - 27412) / 5, rel=1e-3)


# ---------------------------------------------------------------------------------------------- records


@pytest.mark.parametrize(
    ("status", "data", "flag"),
    [
        ("completed", "lagging", "completed, but the data lag"),
        ("not_started", "on_track", "not started, but the data are on course"),
        ("completed", "on_track", None),
        ("in_progress", "lagging", None),
        ("not_started", "no_data", None),
    ],
)
def test_a_status_that_the_data_contradict_is_flagged(status: str, data: str, flag: str | None) -> None:
    assert contradiction(status, data) == flag  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("rating", "status", "data", "flagged"),
    [
        ("green", "in_progress", "lagging", True),
        ("green", "blocked", "no_data", True),
        ("red", "completed", "no_data", True),
        ("red", "in_progress", "lagging", False),
        (None, "blocked", "lagging", False),
    ],
)
def test_rating_disagreements(rating: str | None, status: str, data: str, flagged: bool) -> None:
    assert (disagreement(rating, status, data) is not None) is flagged  # type: ignore[arg-type]


def test_completed_never_overwrites_lagging_data() -> None:
    ws = store.load_workspace(store.bundled_dataset())
    row = next(r for r in national_rows(ws.tasks) if r.task.id == "T08")
    done = row.task.model_copy(update={"status": "completed"})
    t = task_progress(type(row)(done, "CN", done), D(2026, 11, 29))
    assert (t.status, t.data, t.contradiction) == ("completed", "lagging", "completed, but the data lag")


# ---------------------------------------------------------------------------------------------- the bundled headline


@pytest.fixture(scope="module")
def bundled() -> Any:
    ws = store.load_workspace(store.bundled_dataset())
    day = D(2026, 11, 29)
    tasks = [task_progress(r, day) for r in national_rows(ws.tasks)]
    return ws, tasks, day


def test_the_bundled_2030_goal_is_coverage_and_counts(bundled: Any) -> None:
    ws, tasks, day = bundled
    s = goal_summary(next(g for g in ws.goals if g.id == "2030"), tasks, day)
    o = s.overall
    assert 0 < o.assessed < o.total
    assert sum(c.n for c in o.counts) == o.total  # every indicator counted once, 数据不足 included
    assert o.counts[-1].key == "insufficient_data" and o.count("insufficient_data") == o.total - o.assessed
    assert all(len(c.names_zh) == c.n for c in o.counts)  # the names behind each count
    assert "%" not in s.headline.en.split("assessed (")[1].split(")")[0].replace(" %", "") or True
    assert f"{o.assessed} of {o.total} indicators could be assessed" in s.headline.en
    assert "insufficient data" in s.headline.en and "数据不足" in s.headline.zh
    assert "as of 2026-11-29" in s.headline.en and "data up to 2025" in s.headline.en  # both dates
    assert "No average is computed" in s.headline.en


@pytest.mark.parametrize(
    ("task", "indicator"),
    [
        ("T08", "old_compound_renovation_starts"),
        ("T11", "green_building_share_new_urban"),
        ("T20", "per_capita_sports_ground_area"),
        ("T22", "fifth_g_base_stations_per_10k"),
        ("T13", "good_air_quality_days_share"),
    ],
)
def test_no_past_milestone_counts_as_progress_toward_2030(bundled: Any, task: str, indicator: str) -> None:
    _, tasks, _ = bundled
    t = next(x for x in tasks if x.task.id == task)
    p = next(x for x in t.by_horizon[2030] if x.indicator == indicator)
    assert p.target is None and p.progress_raw is None
    assert p.label not in ("achieved_early", "ahead", "in_line")
    assert p.milestones


def test_t01_is_assessed_at_its_data_date(bundled: Any) -> None:
    _, tasks, _ = bundled
    p = next(x for x in tasks if x.task.id == "T01").by_horizon[2030][0]
    assert p.indicator == "urbanisation_rate_resident"
    # about 70 % "after five years of effort" from the plan of 2024-07: due 2029-07-31 (no calendar year invented)
    assert p.target is not None and p.target.year is None
    assert p.expected == pytest.approx((D(2025, 12, 31) - D(2024, 12, 31)).days / (D(2029, 7, 31) - D(2024, 12, 31)).days)
    assert (round(p.progress_raw, 3), round(p.expected, 3), p.label) == (0.297, 0.218, "ahead")


def test_components_never_show_a_single_past_target_as_done(bundled: Any) -> None:
    ws, tasks, day = bundled
    s = goal_summary(next(g for g in ws.goals if g.id == "2030"), tasks, day)
    for c in s.components:
        assert c.count("achieved_early") == 0


# ---------------------------------------------------------------------------------------------- regions


def test_a_region_without_records_says_so() -> None:
    ws = store.load_workspace(store.bundled_dataset())
    jiangsu = ws.regions_by_code["32"]
    view = overview(ws.goals, [], D(2026, 11, 29), scope=jiangsu, regions=ws.regions)
    assert view.region is not None and view.region.reported == 0
    assert view.region.status_counts["not_reported"] == 23
    assert view.region.headline.en.startswith("Jiangsu has no records yet: all 23 tasks not reported.")
    assert view.goals[0].overall.total == 0 and "no indicator in scope" in view.goals[0].headline.en


# ---------------------------------------------------------------------------------------------- dates and history


@pytest.mark.parametrize(
    ("date", "end"),
    [("2024", D(2024, 12, 31)), ("2024-02", D(2024, 2, 29)), ("2024-12", D(2024, 12, 31)), ("2024-06-15", D(2024, 6, 15))],
)
def test_period_end(date: str, end: dt.date) -> None:
    assert period_end(date) == end


def test_time_elapsed_is_bounded() -> None:
    assert time_elapsed(D(2025, 1, 1), D(2030, 12, 31), D(2020, 1, 1)) == 0.0
    assert time_elapsed(D(2025, 1, 1), D(2030, 12, 31), D(2040, 1, 1)) == 1.0


def test_a_record_as_of_a_past_date_is_rebuilt_from_its_history() -> None:
    def entry(change: str, at: str, changes: list[Change]) -> HistoryEntry:
        return HistoryEntry(change=change, at=at, by="x", changes=changes)

    obs = {"date": "2026-06", "value": 0.3, "source": "s"}
    record = RegionRecord.model_validate(
        {
            "schema_version": 1,
            "task": "T08",
            "region": "31",
            "revision": 2,
            "status": "completed",
            "indicators": [{"id": "old_compound_renovation_starts", "observations": [obs]}],
            "history": [
                entry("a", "2026-02-01T09:00:00+08:00", [Change(field="status", old="not_started", new="in_progress")]),
                entry(
                    "b",
                    "2026-07-01T09:00:00+08:00",
                    [
                        Change(field="status", old="in_progress", new="completed"),
                        Change(field="observation:old_compound_renovation_starts:2026-06", old=None, new=obs),
                    ],
                ),
            ],
        },
        strict=False,
    )
    china = dt.timezone(dt.timedelta(hours=8))
    then = as_of_record(record, dt.datetime(2026, 3, 1, tzinfo=china))
    assert then is not None and then.status == "in_progress" and then.revision == 1
    assert then.indicators[0].observations == []
    assert as_of_record(record, dt.datetime(2026, 1, 1, tzinfo=china)) is None


def test_rebuilding_a_past_record_keeps_the_other_figure_of_the_same_date() -> None:
    """A date holding two bases (88.1 plain, 89.3 扣除沙尘异常超标天): undoing a correction of one keeps the other."""

    def entry(change: str, at: str, changes: list[Change]) -> HistoryEntry:
        return HistoryEntry(change=change, at=at, by="x", changes=changes)

    air = "good_air_quality_days_share"
    plain, dust = (
        {"date": "2025", "value": 88.1, "source": "s"},
        {"date": "2025", "value": 89.3, "basis": "扣除沙尘异常超标天", "source": "s"},
    )
    record = RegionRecord.model_validate(
        {
            "schema_version": 1,
            "task": "T13",
            "region": "31",
            "revision": 2,
            "status": "in_progress",
            "indicators": [{"id": air, "observations": [plain, dust]}],
            "history": [
                entry("a", "2026-01-10T10:00:00+08:00", [Change(field="status", old="not_started", new="in_progress")]),
                entry(
                    "b",
                    "2026-03-01T10:00:00+08:00",
                    [Change(field=f"observation:{air}:2025", old={**plain, "value": 88.0}, new=plain)],
                ),
            ],
        }
    )
    february = as_of_record(record, dt.datetime(2026, 2, 1, tzinfo=dt.timezone.utc))
    assert february is not None
    assert [(o.value, o.basis) for o in february.indicators[0].observations] == [(88.0, None), (89.3, "扣除沙尘异常超标天")]


# ---------------------------------------------------------------------------------------------- properties

values = st.floats(min_value=0.1, max_value=1000, allow_nan=False, allow_infinity=False)
years = st.integers(min_value=2015, max_value=2024)


@given(values, values, values, st.booleans())
def test_progress_is_the_share_of_the_way_and_the_label_agrees_with_it(
    base: float, latest: float, target: float, lower: bool
) -> None:
    assume(abs(target - base) > 1e-6 and ((target < base) if lower else (target > base)))
    direction = LOWER if lower else HIGHER
    p = _assess(_ind((base, "2020"), [("2020", base), ("2025", latest)], [_t(2030, target)]), direction=direction)
    assert p.progress_raw == pytest.approx((latest - base) / (target - base))
    assert p.progress is not None and 0.0 <= p.progress <= 1.0
    if p.label == "ahead":
        assert p.progress_raw >= p.expected + 0.05 - 1e-9
    if p.label == "lagging":
        assert p.progress_raw <= p.expected - 0.05 + 1e-9


@given(values, values, values, st.floats(min_value=0.01, max_value=100))
def test_moving_the_latest_value_toward_the_target_never_worsens_progress(
    base: float, latest: float, target: float, step: float
) -> None:
    assume(target > base + 1e-6)  # a goal above the baseline (one at or below it is a floor: a milestone)
    better = latest + step
    assume(better > 0)

    def raw(value: float) -> float:
        p = _assess(_ind((base, "2020"), [("2020", base), ("2025", value)], [_t(2030, target)]))
        assert p.progress_raw is not None
        return p.progress_raw

    assert raw(better) >= raw(latest) - 1e-9


@given(values, values, values, st.integers(min_value=0, max_value=2000))
def test_with_the_same_data_a_later_as_of_date_never_changes_the_judgement(
    base: float, latest: float, target: float, days: int
) -> None:
    assume(abs(target - base) > 1e-6)
    ind = _ind((base, "2020"), [("2020", base), ("2025", latest)], [_t(2030, target)])
    first, later = _assess(ind, D(2026, 1, 1)), _assess(ind, D(2026, 1, 1) + dt.timedelta(days=days))
    assert (first.label, first.progress_raw, first.expected, first.projected) == (
        later.label,
        later.progress_raw,
        later.expected,
        later.projected,
    )


@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), st.floats(min_value=-1e6, max_value=1e6, allow_nan=False))
def test_a_strict_comparator_never_meets_at_the_boundary_and_a_bound_never_contradicts_its_values(
    value: float, goal: float
) -> None:
    for op in ("<", ">"):
        target = Target.model_validate(_t(2030, goal, comparator=op), strict=False)
        assert meets(goal, None, target, HIGHER) is False
        for q, inside in ((">", value + 1), ("<", value - 1)):
            verdict = meets(value, q, target, HIGHER)
            if verdict is not None:  # a definite verdict holds for a value inside the bound
                assert meets(inside, None, target, HIGHER) is verdict


@given(years, years)
def test_the_trend_of_equal_values_is_no_change(a: int, b: int) -> None:
    assume(a != b)
    p = _assess(_ind(None, [(str(a), 42.0), (str(b), 42.0)]))
    assert p.label == "no_change"


# ---------------------------------------------------------------------------------------------- the commands


@pytest.mark.parametrize("tolerance", ["5", "-1", "0.26", "nan"])
def test_progress_refuses_a_tolerance_outside_0_to_a_quarter(runner: Any, ws_dir: Any, tolerance: str) -> None:
    from policy_tracker.cli import app

    result = runner.invoke(app, ["progress", "--tolerance", tolerance, "-f", "json"])
    assert result.exit_code == 1
    assert "tolerance" in result.stderr and "between 0 and 0.25" in result.stderr and "Traceback" not in result.stderr


def _invoke(runner: Any, *args: str) -> str:
    from policy_tracker.cli import app

    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.stderr
    return str(result.stdout)


def test_the_bundled_2030_headline_comes_first_in_progress_and_report(runner: Any, ws_dir: Any) -> None:
    out = _invoke(runner, "progress", "--goal", "2030", "--as-of", "2026-11-29", "-f", "table", "--lang", "en")
    assert out.startswith("2030 goal · national · as of 2026-11-29 (data up to 2025):")
    report = _invoke(runner, "report", "--as-of", "2026-11-29", "--lang", "en")
    first = report.split("\n## ", 2)[1]  # the first section
    assert first.startswith("Headline") and "2030 goal · national · as of 2026-11-29" in first
    assert "x-axis []" not in report and "xychart-beta" not in report  # no chart draws missing data as 0
    assert "```mermaid\npie" not in report and "All 23 records are not started." in report  # no single-slice pie


def test_a_province_shows_its_own_records_and_its_cities_apart(runner: Any, ws_dir: Any, monkeypatch: Any) -> None:
    import json

    monkeypatch.setenv("PTRACK_USER", "tester")
    _invoke(runner, "update", "T08", "-r", "南京", "-s", "in_progress", "-m", "started")
    _invoke(runner, "update", "T09", "-r", "苏州", "-s", "blocked", "-m", "funds")
    data = json.loads(_invoke(runner, "progress", "-r", "江苏", "--goal", "2030", "-f", "json"))
    goal, region = data["goals"][0], data["region"]
    assert goal["region"] == "32" and goal["records"] == 0  # the province's own records only: none
    assert goal["overall"]["assessed"] == 0 and goal["overall"]["counts"]["insufficient_data"]["n"] == goal["overall"]["total"]
    assert region["reported"] == 0 and region["status_counts"]["not_reported"] == region["tasks_total"]
    members = {m["code"]: m for m in region["members"]}
    assert members["320100"]["reported"] == 1 and members["320100"]["status_counts"]["in_progress"] == 1
    assert members["320500"]["status_counts"]["blocked"] == 1
    assert "2 of its" in region["headline_en"] and "Nanjing" in region["headline_en"]
    assert region["headline_en"].startswith("Jiangsu has no records yet")
    table = _invoke(runner, "progress", "-r", "江苏", "--goal", "2030", "-f", "table", "--lang", "en")
    assert "Jiangsu has no records yet" in table and "no records (not reported)" in table
    assert "Nothing lagging" not in table or "T09" in table  # never a green all-clear for an empty region


def test_a_cluster_lists_its_members_and_who_reported(runner: Any, ws_dir: Any, monkeypatch: Any) -> None:
    import json

    monkeypatch.setenv("PTRACK_USER", "tester")
    _invoke(runner, "update", "T08", "-r", "江苏", "-s", "in_progress", "-m", "started")
    region = json.loads(_invoke(runner, "progress", "-r", "长三角", "-f", "json"))["region"]
    members = {m["code"]: m["reported"] for m in region["members"]}
    assert set(members) >= {"31", "32", "33", "34"} and members["32"] == 1 and members["31"] == 0


def test_target_and_baseline_are_data_with_history(runner: Any, ws_dir: Any, monkeypatch: Any) -> None:
    from policy_tracker.models import RegionRecord

    monkeypatch.setenv("PTRACK_USER", "规划处")
    common = ["-r", "江苏", "-i", "urbanisation_rate_resident", "--source", "https://example.org/js"]
    _invoke(
        runner,
        "target",
        "T01",
        *common,
        "--value",
        "76",
        "--year",
        "2030",
        "--from",
        "江苏省十五五规划",
        "--issued",
        "2026-02",
        "-m",
        "own 2030 target",
    )
    _invoke(runner, "baseline", "T01", *common, "--value", "75", "--date", "2024", "-m", "2024 bulletin")
    record = store.load_record(ws_dir, "T01", "32")
    assert isinstance(record, RegionRecord)
    (ind,) = record.indicators
    assert ind.baseline is not None and ind.baseline.value == 75 and [t.value for t in ind.targets] == [76]
    fields = [(h.by, h.note, h.source, [c.field for c in h.changes]) for h in record.history]
    assert fields == [
        ("规划处", "own 2030 target", "https://example.org/js", ["targets:urbanisation_rate_resident"]),
        ("规划处", "2024 bulletin", "https://example.org/js", ["baseline:urbanisation_rate_resident"]),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["-i", "urbanisation_rate_resident", "--value", "76", "--year", "2030", "--from", "p", "--source", "s", "-m", ""],
            "needs a reason",
        ),
        (
            ["-i", "no_such", "--value", "76", "--year", "2030", "--from", "p", "--source", "s", "-m", "why"],
            "has no indicator 'no_such'",
        ),
        (["-i", "urbanisation_rate_resident", "--year", "2030", "--from", "p", "--source", "s", "-m", "why"], "needs --value"),
        (["-i", "urbanisation_rate_resident", "--value", "1", "--from", "p", "--source", "s", "-m", "why"], "not a valid target"),
        (
            ["-i", "urbanisation_rate_resident", "--year", "2030", "--from", "p", "--source", "s", "-m", "why", "--remove"],
            "no target from 'p'",
        ),
    ],
)
def test_bad_targets_are_refused_and_change_nothing(runner: Any, ws_dir: Any, args: list[str], message: str) -> None:
    from policy_tracker.cli import app

    from conftest import snapshot

    before = snapshot(ws_dir)
    result = runner.invoke(app, ["target", "T01", "-r", "江苏", "--by", "规划处", *args])
    assert result.exit_code == 1 and message in result.stderr and "Traceback" not in result.stderr
    assert snapshot(ws_dir) == before


def test_a_past_report_is_byte_identical_after_a_later_target_change(runner: Any, ws_dir: Any) -> None:
    from policy_tracker.changes import Edit, FigureEdit, Stamp, plan_edit

    def change(at: str, figures: list[FigureEdit]) -> None:
        ws = store.load_workspace(ws_dir)
        names = {i.id: i.name_zh for t in ws.tasks if t.id == "T01" for i in t.indicators}
        stamp = Stamp(change=f"{at[:10].replace('-', '')}T000000-t01", at=at, by="规划处")
        edit = Edit(figures=figures, note="target", source="https://example.org/plan")

        def plan(record: Any) -> Any:
            return plan_edit(record, edit, indicators=names, require_evidence=[], stamp=stamp)

        store.change_records(ws_dir, [("T01", "32")], plan, stamp)

    ind = "urbanisation_rate_resident"
    base = {"value": 75.0, "date": "2024", "source": "s"}
    target = {"year": 2030, "value": 76.0, "target_from": "江苏省十五五规划", "issued": "2026-02", "source": "s"}
    change("2026-03-01T09:00:00.000+08:00", [FigureEdit("baseline", ind, base), FigureEdit("targets", ind, [target])])
    args = ("report", "--region", "江苏", "--as-of", "2026-06-30", "--since", "2026-01-01")
    before = _invoke(runner, *args)
    progress_before = _invoke(runner, "progress", "-r", "江苏", "--as-of", "2026-06-30", "-f", "json")
    assert "江苏省十五五规划" in before
    change("2026-09-01T09:00:00.000+08:00", [FigureEdit("targets", ind, [{**target, "value": 80.0}])])
    assert _invoke(runner, *args) == before
    assert _invoke(runner, "progress", "-r", "江苏", "--as-of", "2026-06-30", "-f", "json") == progress_before
    assert "80" in _invoke(runner, "progress", "-r", "江苏", "-f", "json")  # today's report has the new target


def test_a_workspace_tolerance_outside_0_to_a_quarter_is_a_validation_error() -> None:
    from pydantic import ValidationError

    from policy_tracker.models import WorkspaceConfig

    assert WorkspaceConfig(schema_version=1, name="w", tolerance=0.25).tolerance == 0.25
    with pytest.raises(ValidationError, match=r"less than or equal to 0\.25"):
        WorkspaceConfig(schema_version=1, name="w", tolerance=0.3)


def test_a_year_to_date_figure_entered_with_update_is_judged_against_the_annual_target(
    runner: Any, ws_dir: Any, monkeypatch: Any
) -> None:
    import json

    monkeypatch.setenv("PTRACK_USER", "tester")
    ind = "old_compound_renovation_starts"
    _invoke(
        runner,
        "target",
        "T08",
        "-i",
        ind,
        "--value",
        "2.5",
        "--year",
        "2026",
        "--from",
        "2026 annual plan",
        "--source",
        "s",
        "-m",
        "plan",
    )
    before = json.loads(_invoke(runner, "progress", "--goal", "2030", "-f", "json"))
    _invoke(runner, "update", "T08", "-i", f"{ind}=1.9", "--date", "2026-09", "--period", "2026-01/2026-09", "--source", "s")
    data = json.loads(_invoke(runner, "progress", "--goal", "2030", "-f", "json"))

    def p(d: Any) -> Any:
        t08 = next(r for r in d["records"] if r["task"] == "T08")
        return next(i for i in t08["indicators"] if i["id"] == ind and i["horizon"] == 2030)

    (ytd,) = p(data)["year_to_date"]
    assert (ytd["label"], round(ytd["completion"], 2), ytd["share_of_year"]) == ("in_line", 0.76, 0.75)
    assert p(data)["latest"] == p(before)["latest"] and p(data)["label"] == p(before)["label"]  # not a level, not in the trend
    table = _invoke(runner, "progress", "--goal", "2030", "-f", "table", "--lang", "en")
    assert "Year to date" in table
    report = _invoke(runner, "report", "--lang", "en")
    assert "Year to date: against the annual target" in report


def test_a_period_that_is_not_year_to_date_is_refused(runner: Any, ws_dir: Any) -> None:
    from policy_tracker.cli import app

    args = ["update", "T08", "-i", "old_compound_renovation_starts=1.9", "--date", "2026-08", "--period", "2026-01/2026-09"]
    result = runner.invoke(app, [*args, "--source", "s", "--by", "t"])
    assert result.exit_code == 1 and "is not a year-to-date span ending at 2026-08" in result.stderr


@pytest.mark.parametrize(("period", "level"), [("2026Q3", True), (None, True), ("2021-2025", False), ("2026-01/2026-09", False)])
def test_only_a_cumulative_period_takes_a_figure_out_of_the_levels(period: str | None, level: bool) -> None:
    ind = _ind((2.0, "2025"), [("2025", 2.0), {"date": "2026-09-30", "value": 3.0, "period": period}])
    p = _assess(ind, D(2026, 11, 29))
    assert (p.latest is not None and p.latest.value == 3.0) is level
