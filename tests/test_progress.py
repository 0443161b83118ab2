"""Progress formulas: parametrised tables for every rule and edge case, and Hypothesis properties."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from policy_tracker.models import Change, HistoryEntry, IndicatorData, RegionRecord
from policy_tracker.progress import (
    IndicatorProgress,
    Settings,
    as_of_record,
    cagr_check,
    disagreement,
    indicator_progress,
    period_end,
    task_assessment,
    time_elapsed,
)

D = dt.date


def _ind(
    baseline: tuple[float, str] | None,
    observations: list[tuple[str, float]],
    targets: list[tuple[int, float]] | None = None,
    **extra_target: Any,
) -> IndicatorData:
    data: dict[str, Any] = {
        "id": "x",
        "baseline": {"value": baseline[0], "date": baseline[1], "source": "s"} if baseline else None,
        "observations": [{"date": d, "value": v, "source": "s"} for d, v in observations],
        "targets": [{"year": y, "value": v, "target_from": "plan", "source": "s", **extra_target} for y, v in targets or []],
    }
    return IndicatorData.model_validate(data, strict=False)


BASE_OBS = [("2020", 50.0)]


@pytest.mark.parametrize(
    ("direction", "base", "latest", "target", "as_of", "assessment", "raw"),
    [
        # the time-elapsed test: half the time gone (2020-12-31 .. 2030-12-31)
        ("higher_is_better", 50, 60, 70, D(2025, 12, 31), "in_line", 0.5),
        ("higher_is_better", 50, 65, 70, D(2025, 12, 31), "ahead", 0.75),
        ("higher_is_better", 50, 52, 70, D(2025, 12, 31), "lagging", 0.1),
        # lower is better
        ("lower_is_better", 40, 35, 30, D(2025, 12, 31), "in_line", 0.5),
        ("lower_is_better", 40, 45, 30, D(2025, 12, 31), "lagging", -0.5),
        # target already met before its date, and value beyond the target
        ("higher_is_better", 50, 72, 70, D(2025, 12, 31), "achieved_early", 1.1),
        ("lower_is_better", 40, 25, 30, D(2025, 12, 31), "achieved_early", 1.5),
        # baseline equal to the target: met or not
        ("higher_is_better", 70, 71, 70, D(2025, 12, 31), "achieved_early", 1.0),
        ("higher_is_better", 70, 69, 70, D(2025, 12, 31), "lagging", 0.0),
        # the target was already exceeded when it was set (an annual floor)
        ("higher_is_better", 5.25, 2.71, 2.5, D(2025, 12, 31), "achieved_early", 1.0),
        # after the target year: met is in line, not met is lagging
        ("higher_is_better", 50, 70, 70, D(2031, 6, 30), "in_line", 1.0),
        ("higher_is_better", 50, 69, 70, D(2031, 6, 30), "lagging", 0.95),
    ],
)
def test_the_time_elapsed_test(
    direction: str, base: float, latest: float, target: float, as_of: dt.date, assessment: str, raw: float
) -> None:
    p = indicator_progress(_ind((base, "2020"), [("2025", latest)], [(2030, target)]), as_of, direction=direction)
    assert p.assessment == assessment
    assert p.progress_raw == pytest.approx(raw)
    assert p.progress == pytest.approx(min(1.0, max(0.0, raw)))


@pytest.mark.parametrize(("tolerance", "assessment"), [(0.05, "lagging"), (0.15, "in_line")])
def test_tolerance(tolerance: float, assessment: str) -> None:
    ind = _ind((50, "2020"), [("2025", 58)], [(2030, 70)])  # 40 % done, 50 % of the time gone
    p = indicator_progress(ind, D(2025, 12, 31), direction="higher_is_better", settings=Settings(tolerance=tolerance))
    assert p.expected == pytest.approx(0.5, abs=0.001)
    assert p.assessment == assessment


def test_required_rate_and_year_reached_at_the_current_pace() -> None:
    p = indicator_progress(_ind((50, "2020"), [("2025", 55)], [(2030, 70)]), D(2026, 1, 1), direction="higher_is_better")
    assert p.annual_rate == pytest.approx(1.0, rel=1e-3)  # 5 points in 5 years
    assert p.required_rate == pytest.approx(3.0, rel=1e-3)  # 15 points in the 5 years left
    assert p.reached_year == pytest.approx(2040, rel=1e-3)


@pytest.mark.parametrize(
    ("baseline", "observations", "as_of", "reason"),
    [
        (None, [("2025", 60.0)], D(2026, 1, 1), "no baseline"),
        ((50, "2020"), [], D(2026, 1, 1), "no observation after the baseline"),
        ((50, "2020"), [("2020", 50.0)], D(2026, 1, 1), "no observation after the baseline"),
        ((50, "2020"), [("2025", 60.0)], D(2020, 6, 30), "the as-of date is not after the baseline"),
        ((50, "2020"), [("2027", 60.0)], D(2026, 1, 1), "no observation after the baseline"),  # not known yet
    ],
)
def test_insufficient_data_is_said_never_guessed(
    baseline: tuple[float, str] | None, observations: list[tuple[str, float]], as_of: dt.date, reason: str
) -> None:
    p = indicator_progress(_ind(baseline, observations, [(2030, 70)]), as_of, direction="higher_is_better")
    assert p.assessment == "insufficient_data"
    assert p.reason == reason
    assert p.progress is None


@pytest.mark.parametrize(
    ("direction", "observations", "assessment"),
    [
        ("higher_is_better", [("2020", 10.0), ("2024", 12.0)], "improving"),
        ("higher_is_better", [("2020", 10.0), ("2024", 8.0)], "deteriorating"),
        ("lower_is_better", [("2020", 10.0), ("2024", 8.0)], "improving"),
        ("lower_is_better", [("2020", 10.0), ("2024", 12.0)], "deteriorating"),
        ("higher_is_better", [("2020", 100.0), ("2024", 100.1)], "stable"),
        ("higher_is_better", [("2024", 10.0)], "insufficient_data"),  # one observation
        ("higher_is_better", [], "insufficient_data"),  # no observation
        ("context", [("2020", 10.0), ("2024", 12.0)], "insufficient_data"),  # no good direction: no judgement
    ],
)
def test_trend_when_there_is_no_target(direction: str, observations: list[tuple[str, float]], assessment: str) -> None:
    p = indicator_progress(_ind(None, observations), D(2026, 1, 1), direction=direction)
    assert p.assessment == assessment
    if len(observations) == 2:
        (_, v0), (_, v1) = observations
        assert p.annual_rate == pytest.approx((v1 - v0) / 4, rel=1e-3)


def test_the_nearest_target_ahead_is_used_and_cumulative_targets_are_not() -> None:
    ind = _ind((50, "2020"), [("2025", 60)], [(2025, 55), (2030, 70), (2035, 90)])
    assert indicator_progress(ind, D(2026, 1, 1), direction="higher_is_better").target.year == 2030  # type: ignore[union-attr]
    cumulative = _ind((50, "2020"), [("2020", 50), ("2025", 60)], [(2030, 17)], period="2026-2030")
    p = indicator_progress(cumulative, D(2026, 1, 1), direction="higher_is_better")
    assert p.target is None and p.reason == "no numeric target: trend only"


def test_stale_data_is_flagged_by_publication_frequency() -> None:
    ind = _ind((50, "2020"), [("2022", 55)], [(2030, 70)])
    assert indicator_progress(ind, D(2024, 6, 30), direction="higher_is_better", frequency="annual").stale is False
    assert indicator_progress(ind, D(2025, 6, 30), direction="higher_is_better", frequency="annual").stale is True
    assert indicator_progress(ind, D(2025, 6, 30), direction="higher_is_better").stale is False  # no frequency declared


@pytest.mark.parametrize(
    ("base", "latest", "target", "years_observed", "years_total", "expected"),
    [
        (100, 121, 161.051, 2, 5, "on_track"),  # 10 % a year observed and required
        (100, 115, 161.051, 2, 5, "acceleration_needed"),  # 7.2 % a year against 10 %: ratio 0.72
        (100, 110, 161.051, 2, 5, "limited_progress"),  # 4.9 % against 10 %: ratio 0.49
        (100, 95, 161.051, 2, 5, "deterioration"),
        (100, 75, 50, 2, 5, "on_track"),  # lower is better: both rates negative, -13.4 % against -12.9 %
        (100, 80, 50, 2, 5, "acceleration_needed"),  # -10.6 % against -12.9 %: ratio 0.82
        (0, 10, 20, 2, 5, "insufficient_data"),  # zero: no growth rate
        (-5, 10, 20, 2, 5, "insufficient_data"),  # negative value: no growth rate
        (100, 110, 100, 2, 5, "insufficient_data"),  # target equal to baseline: no required rate
    ],
)
def test_cagr_ratio_classes(
    base: float, latest: float, target: float, years_observed: float, years_total: float, expected: str
) -> None:
    ratio, cls = cagr_check(base, latest, target, years_observed, years_total)
    assert cls == expected
    assert (ratio is None) == (expected == "insufficient_data")


def test_cagr_method_classifies_with_the_ratio() -> None:
    ind = _ind((100, "2020"), [("2022", 110)], [(2025, 161.051)])
    linear = indicator_progress(ind, D(2022, 12, 31), direction="higher_is_better")
    cagr = indicator_progress(ind, D(2022, 12, 31), direction="higher_is_better", settings=Settings(method="cagr"))
    assert cagr.cagr_class == "limited_progress" and cagr.assessment == "lagging"
    assert linear.cagr_class == "limited_progress"  # computed either way, shown in JSON


@pytest.mark.parametrize(
    ("status", "assessments", "expected"),
    [
        ("completed", ["lagging"], "done"),
        ("blocked", ["ahead"], "blocked"),
        ("deferred", [], "deferred"),
        ("in_progress", ["in_line", "lagging"], "lagging"),
        ("in_progress", ["ahead", "improving"], "on_track"),
        ("in_progress", ["deteriorating"], "lagging"),
        ("in_progress", ["insufficient_data"], "no_data"),
        ("not_started", ["insufficient_data"], "not_started"),
        ("not_started", ["in_line"], "on_track"),
    ],
)
def test_task_assessment_rule(status: str, assessments: list[str], expected: str) -> None:
    indicators = [IndicatorProgress("x", "higher_is_better", None, None, None, a) for a in assessments]  # type: ignore[arg-type]
    assert task_assessment(status, indicators) == expected


@pytest.mark.parametrize(
    ("rating", "assessment", "flagged"),
    [("green", "lagging", True), ("green", "blocked", True), ("red", "on_track", True), ("red", "done", True),
     ("amber", "lagging", False), ("green", "on_track", False), (None, "lagging", False)],
)  # fmt: skip
def test_rating_disagreements(rating: str | None, assessment: str, flagged: bool) -> None:
    assert (disagreement(rating, assessment) is not None) == flagged  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("date", "end"),
    [("2024", D(2024, 12, 31)), ("2024-02", D(2024, 2, 29)), ("2024-12", D(2024, 12, 31)), ("2024-06-15", D(2024, 6, 15))],
)
def test_period_end(date: str, end: dt.date) -> None:
    assert period_end(date) == end


def test_time_elapsed_is_bounded() -> None:
    assert time_elapsed(D(2025, 8, 15), D(2030, 12, 31), D(2020, 1, 1)) == 0.0
    assert time_elapsed(D(2025, 8, 15), D(2030, 12, 31), D(2040, 1, 1)) == 1.0


def test_a_record_as_of_a_past_date_is_rebuilt_from_its_history() -> None:
    def entry(change: str, at: str, changes: list[Change]) -> HistoryEntry:
        return HistoryEntry(change=change, at=at, by="x", changes=changes)

    obs = {"date": "2026-03", "value": 0.12, "source": "s"}
    record = RegionRecord.model_validate(
        {
            "schema_version": 1,
            "task": "T08",
            "region": "31",
            "revision": 3,
            "status": "completed",
            "rating": {"level": "green", "rationale": "r", "by": "x", "at": "2026-09-01T00:00:00+08:00"},
            "indicators": [{"id": "old_compound_renovation_starts", "observations": [obs]}],
            "history": [
                entry("a", "2026-02-01T10:00:00+08:00", [Change(field="status", old="not_started", new="in_progress")]),
                entry(
                    "b",
                    "2026-05-01T10:00:00+08:00",
                    [Change(field="observation:old_compound_renovation_starts:2026-03", new=obs)],
                ),
                entry(
                    "c",
                    "2026-09-01T10:00:00+08:00",
                    [
                        Change(field="status", old="in_progress", new="completed"),
                        Change(
                            field="rating",
                            old=None,
                            new={"level": "green", "rationale": "r", "by": "x", "at": "2026-09-01T00:00:00+08:00"},
                        ),
                    ],
                ),
            ],
        }
    )
    cst = dt.timezone(dt.timedelta(hours=8))
    june = as_of_record(record, dt.datetime(2026, 6, 30, 23, 59, tzinfo=cst))
    assert june is not None and (june.status, june.rating, june.revision, len(june.history)) == ("in_progress", None, 2, 2)
    assert june.indicators[0].observations[0].value == 0.12
    march = as_of_record(record, dt.datetime(2026, 3, 31, 23, 59, tzinfo=cst))
    assert march is not None and march.status == "in_progress" and march.indicators[0].observations == []
    assert as_of_record(record, dt.datetime(2026, 1, 31, tzinfo=cst)) is None  # the region record did not exist yet
    assert as_of_record(record, dt.datetime(2027, 1, 1, tzinfo=cst)) is record


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


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@given(base=finite, latest=finite, target=finite, lower=st.booleans())
def test_progress_stays_within_bounds(base: float, latest: float, target: float, lower: bool) -> None:
    direction = "lower_is_better" if lower else "higher_is_better"
    p = indicator_progress(_ind((base, "2020"), [("2025", latest)], [(2030, target)]), D(2026, 1, 1), direction=direction)
    assert p.progress is not None and 0.0 <= p.progress <= 1.0
    assert p.assessment in ("achieved_early", "ahead", "in_line", "lagging")


@given(base=finite, latest=finite, target=finite, step=st.floats(min_value=0, max_value=1e5), lower=st.booleans())
def test_moving_the_latest_value_toward_the_target_never_lowers_progress(
    base: float, latest: float, target: float, step: float, lower: bool
) -> None:
    direction = "lower_is_better" if lower else "higher_is_better"
    assume(abs(target - base) > 1e-6)
    better = latest - step if lower else latest + step  # a move in the good direction

    def raw(value: float) -> float:
        p = indicator_progress(_ind((base, "2020"), [("2025", value)], [(2030, target)]), D(2026, 1, 1), direction=direction)
        assert p.progress_raw is not None
        return p.progress_raw

    assert raw(better) >= raw(latest) - 1e-9


def _raw(data: dict[str, Any]) -> IndicatorData:
    return IndicatorData.model_validate({"id": "x", **data}, strict=False)


def test_a_standing_target_without_a_year_is_left_to_the_trend() -> None:
    ind = _raw(
        {
            "baseline": {"value": 5, "date": "2020", "source": "s"},
            "observations": [{"date": "2020", "value": 5, "source": "s"}, {"date": "2025", "value": 15.6, "source": "s"}],
            "targets": [{"year": None, "period": "每年 (from 2025)", "value": 10, "target_from": "p", "source": "s"}],
        }
    )
    p = indicator_progress(ind, D(2026, 1, 1), direction="higher_is_better")
    assert p.target is None and p.assessment == "improving"


# The 2025 good-air-day share: 88.1 on all days, 89.3 after removing abnormal dust days (AUDIT A3).
AIR = [
    {"date": "2022", "value": 86.5, "source": "s"},
    {"date": "2025", "value": 88.1, "source": "s"},
    {"date": "2025", "value": 89.3, "basis": "扣除沙尘异常超标天", "source": "s"},
]


def test_progress_reads_the_baseline_series_and_never_a_figure_on_another_basis() -> None:
    ind = _raw(
        {
            "baseline": {"value": 86.5, "date": "2022", "source": "s"},
            "observations": AIR,
            "targets": [{"year": 2030, "value": 90, "target_from": "p", "source": "s"}],
        }
    )
    p = indicator_progress(ind, D(2026, 1, 1), direction="higher_is_better")
    assert p.latest is not None and p.latest.value == 88.1
    assert p.progress_raw == pytest.approx((88.1 - 86.5) / (90 - 86.5))


@pytest.mark.parametrize(
    ("baseline", "target", "reason"),
    [
        ({"basis": "扣除沙尘异常超标天"}, {}, "not comparable: bases differ (扣除沙尘异常超标天 vs no stated basis)"),
        ({}, {"basis": "扣除沙尘异常超标天"}, "not comparable: bases differ (no stated basis vs 扣除沙尘异常超标天)"),
        ({}, {"unit": "万人"}, "not comparable: units differ (the indicator unit vs 万人)"),
    ],
)
def test_a_target_or_baseline_on_another_basis_or_unit_is_not_comparable(
    baseline: dict[str, Any], target: dict[str, Any], reason: str
) -> None:
    observations = [{"date": "2022", "value": 86.5, "source": "s"}, {"date": "2025", "value": 88.1, "source": "s"}]
    ind = _raw(
        {
            "baseline": {"value": 86.5, "date": "2022", "source": "s", **baseline},
            "observations": observations,
            "targets": [{"year": 2030, "value": 90, "target_from": "p", "source": "s", **target}],
        }
    )
    p = indicator_progress(ind, D(2026, 1, 1), direction="higher_is_better")
    assert (p.assessment, p.reason, p.progress_raw) == ("insufficient_data", reason, None)


def test_a_trend_never_joins_figures_in_different_units() -> None:
    # work-safety deaths: 27412 人 (2020), 1.96 万人 (2024), 18261 人 (2025): the trend reads the 人 figures only
    ind = _raw(
        {
            "observations": [
                {"date": "2020", "value": 27412, "unit": "人", "source": "s"},
                {"date": "2024", "value": 1.96, "source": "s"},
                {"date": "2025", "value": 18261, "unit": "人", "source": "s"},
            ]
        }
    )
    p = indicator_progress(ind, D(2026, 1, 1), direction="lower_is_better")
    assert p.assessment == "improving"
    assert p.annual_rate == pytest.approx((18261 - 27412) / 5, rel=1e-3)
