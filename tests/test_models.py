"""The records: strict types, reference dates, task numbering."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from policy_tracker.models import Observation, RegionEntry, Target, Task, chinese_numeral, comparable, task_id


def _task(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "schema_version": 1,
        "id": "T08",
        "number": 8,
        "label": "（八）",
        "title_zh": "系统推进“好房子”和完整社区建设",
        "title_en": "Good homes",
        "chapter": "四",
        "serves": ["2030.living", "2035"],
        "text_recovered": "secondary_only",
        "status": "not_started",
    }
    record.update(changes)
    return record


@pytest.mark.parametrize(("n", "expected"), [(1, "一"), (9, "九"), (10, "十"), (11, "十一"), (20, "二十"), (23, "二十三")])
def test_chinese_numeral(n: int, expected: str) -> None:
    assert chinese_numeral(n) == expected


def test_task_id_is_zero_padded() -> None:
    assert task_id(3) == "T03"
    assert task_id(23) == "T23"


@pytest.mark.parametrize(("written", "kept"), [(2024, "2024"), ("2024-06", "2024-06"), ("2024-06-30", "2024-06-30")])
def test_reference_dates_keep_their_precision(written: object, kept: str) -> None:
    assert Observation(date=written, value=1.0, source="s").date == kept  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["2024-13", "2024-02-30", "24", "June 2024", "2024/06/30", True, 3.5])
def test_reference_dates_reject_what_is_not_a_date(bad: object) -> None:
    with pytest.raises(ValidationError):
        Observation(date=bad, value=1.0, source="s")  # type: ignore[arg-type]


def test_an_observation_needs_a_source() -> None:
    with pytest.raises(ValidationError, match="source"):
        Observation(date="2024", value=1.0, source="")


def test_a_valid_task_loads() -> None:
    task = Task.model_validate(_task())
    assert task.owner == "CN"
    assert task.history == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"id": "T09"}, "does not match number"),
        ({"label": "（九）"}, "does not match number"),
        ({"number": 24, "id": "T24"}, "less than or equal to 23"),
        ({"status": "done"}, "not_started"),
        ({"owner": 11}, "valid string"),
        ({"colour": "red"}, "Extra inputs"),
        ({"serves": []}, "at least 1"),
        ({"number": "8"}, "valid integer"),
    ],
)
def test_a_wrong_task_is_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Task.model_validate(_task(**changes))


def test_region_class_is_read_from_its_yaml_name() -> None:
    data = {"code": "310000", "zh": "上海", "en": "Shanghai", "kind": "city", "class": "super_large"}
    region = RegionEntry.model_validate(data)
    assert region.size_class == "super_large"
    assert region.model_dump(by_alias=True)["class"] == "super_large"


def _target(**changes: Any) -> dict[str, Any]:
    return {"value": 10, "target_from": "plan", "source": "s", **changes}


@pytest.mark.parametrize(
    "changes",
    [
        {"year": 2025},
        {"period": "每年 (from 2025)"},
        {"year": 2025, "period": "2021-2025"},
        {"period": "2021-2025", "issued": "2021-03"},
    ],
)
def test_a_target_has_a_year_or_a_period(changes: dict[str, Any]) -> None:
    assert Target.model_validate(_target(**changes)).value == 10


def test_a_target_without_year_or_period_is_refused() -> None:
    with pytest.raises(ValidationError, match="a year or a period"):
        Target.model_validate(_target())


def test_a_target_issue_date_is_a_date() -> None:
    with pytest.raises(ValidationError, match="not a date"):
        Target.model_validate(_target(year=2025, issued="March 2021"))


def _obs(**changes: Any) -> Observation:
    return Observation.model_validate({"date": "2025", "value": 1.0, "source": "s", **changes})


@pytest.mark.parametrize(
    ("a", "b", "reason"),
    [
        ({}, {}, None),
        ({"unit": "人"}, {"unit": "人"}, None),
        ({"basis": "扣除沙尘异常超标天"}, {"basis": "扣除沙尘异常超标天"}, None),
        ({"unit": "人"}, {}, "units differ (人 vs the indicator unit)"),
        ({}, {"unit": "万部"}, "units differ (the indicator unit vs 万部)"),
        ({"basis": "扣除沙尘异常超标天"}, {}, "bases differ (扣除沙尘异常超标天 vs no stated basis)"),
        ({"unit": "人", "basis": "b"}, {"unit": "万人", "basis": "b"}, "units differ (人 vs 万人)"),
    ],
)
def test_figures_in_another_unit_or_basis_are_not_comparable(a: dict[str, Any], b: dict[str, Any], reason: str | None) -> None:
    assert comparable(_obs(**a), _obs(**b)) == reason
    assert (comparable(_obs(**b), _obs(**a)) is None) == (reason is None)  # symmetric in whether they compare
