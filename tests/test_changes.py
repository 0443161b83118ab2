"""Planning change sets: what an edit changes, what it refuses, and how an undo inverts it."""

from __future__ import annotations

import math

import pytest

from policy_tracker import store
from policy_tracker.changes import (
    Edit,
    NewObservation,
    Stamp,
    history_entry,
    new_change_id,
    plan_edit,
    plan_undo,
)
from policy_tracker.errors import PtrackError
from policy_tracker.models import RegionRecord, Task

STAMP = Stamp(change="20261128T120000-abcdef", at="2026-11-28T12:00:00+08:00", by="王芳")
T08_INDICATORS = {
    "old_compound_renovation_starts": "城镇老旧小区新开工改造数量",
    "existing_residential_elevator_retrofits": "加装电梯",
}


@pytest.fixture(scope="module")
def t08() -> Task:
    return next(t for t in store.load_workspace(store.bundled_dataset()).tasks if t.id == "T08")


def _plan(record: Task | RegionRecord, edit: Edit) -> list[tuple[str, object, object]]:
    plan = plan_edit(record, edit, indicators=T08_INDICATORS, require_evidence=["completed"], stamp=STAMP)
    return [(c.field, c.old, c.new) for c in plan.changes]


def test_a_status_change_records_old_and_new(t08: Task) -> None:
    assert _plan(t08, Edit(status="in_progress")) == [("status", "not_started", "in_progress")]


def test_the_same_status_is_no_change(t08: Task) -> None:
    assert _plan(t08, Edit(status="not_started")) == []


@pytest.mark.parametrize(("note", "source"), [(None, None), ("", "")])
def test_completed_needs_evidence(t08: Task, note: str | None, source: str | None) -> None:
    with pytest.raises(PtrackError, match="needs evidence"):
        _plan(t08, Edit(status="completed", note=note, source=source))


@pytest.mark.parametrize("evidence", [{"note": "all 2000-era compounds done"}, {"source": "建办城〔2026〕1号"}])
def test_completed_with_evidence(t08: Task, evidence: dict[str, str]) -> None:
    assert _plan(t08, Edit(status="completed", **evidence)) == [("status", "not_started", "completed")]


def test_owner_of_a_region_record_defaults_to_its_region() -> None:
    record = RegionRecord(schema_version=1, task="T08", region="31")
    assert _plan(record, Edit(owner="31")) == []
    assert _plan(record, Edit(owner="YRD")) == [("owner", "31", "YRD")]


def test_a_new_observation(t08: Task) -> None:
    obs = NewObservation("old_compound_renovation_starts", 2.9, "2026", source="https://example.org/a")
    ((field, old, new),) = _plan(t08, Edit(observations=[obs]))
    assert field == "observation:old_compound_renovation_starts:2026"
    assert old is None
    assert new == {"date": "2026", "value": 2.9, "source": "https://example.org/a"}


def test_an_observation_already_recorded_is_no_change(t08: Task) -> None:
    obs = NewObservation("old_compound_renovation_starts", 2.71, "2025", source="other")
    assert _plan(t08, Edit(observations=[obs])) == []


def test_a_different_value_for_a_recorded_date_is_never_silently_overwritten(t08: Task) -> None:
    obs = NewObservation("old_compound_renovation_starts", 3.0, "2025", source="https://example.org/b")
    with pytest.raises(PtrackError, match=r"already has old_compound_renovation_starts = 2\.71 for 2025.*--correct"):
        _plan(t08, Edit(observations=[obs]))
    corrected = NewObservation("old_compound_renovation_starts", 3.0, "2025", source="https://example.org/b", correct=True)
    ((_, old, new),) = _plan(t08, Edit(observations=[corrected]))
    assert isinstance(old, dict) and old["value"] == 2.71
    assert isinstance(new, dict) and new["value"] == 3.0


@pytest.mark.parametrize(
    ("obs", "message"),
    [
        (NewObservation("pm25_prefecture_cities", 1.0, "2026", source="s"), "has no indicator 'pm25_prefecture_cities'"),
        (NewObservation("old_compound_renovation_starts", 1.0, "2026"), "needs its source"),
        (NewObservation("old_compound_renovation_starts", math.nan, "2026", source="s"), "not a usable number"),
        (NewObservation("old_compound_renovation_starts", math.inf, "2026", source="s"), "not a usable number"),
    ],
)
def test_bad_observations_are_refused(t08: Task, obs: NewObservation, message: str) -> None:
    with pytest.raises(PtrackError, match=message):
        _plan(t08, Edit(observations=[obs]))


def test_a_rating_carries_its_rationale_assessor_and_date(t08: Task) -> None:
    ((field, old, new),) = _plan(t08, Edit(rating="amber", rationale="starts lag the plan"))
    assert field == "rating" and old is None
    assert new == {"level": "amber", "rationale": "starts lag the plan", "by": "王芳", "at": "2026-11-28T12:00:00+08:00"}


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (Edit(rating="amber"), "needs its rationale"),
        (Edit(rating="purple", rationale="x"), "unknown rating 'purple'"),
        (Edit(rationale="x"), "--rationale goes with --rating"),
    ],
)
def test_bad_ratings_are_refused(t08: Task, edit: Edit, message: str) -> None:
    with pytest.raises(PtrackError, match=message):
        _plan(t08, edit)


def test_undo_inverts_every_change(t08: Task) -> None:
    obs = NewObservation("old_compound_renovation_starts", 2.9, "2026", source="s")
    plan = plan_edit(t08, Edit(status="blocked", observations=[obs]), indicators=T08_INDICATORS, require_evidence=[], stamp=STAMP)
    entry = history_entry(plan, STAMP)
    after = t08.model_copy(
        update={
            "status": "blocked",
            "indicators": [
                i.model_copy(update={"observations": [*i.observations, *([obs_model(obs)] if i.id == obs.indicator else [])]})
                for i in t08.indicators
            ],
        }
    )
    undo = plan_undo(after, entry)
    assert [(c.field, c.old, c.new) for c in undo.changes] == [
        ("observation:old_compound_renovation_starts:2026", {"date": "2026", "value": 2.9, "source": "s"}, None),
        ("status", "blocked", "not_started"),
    ]
    assert undo.note == f"undo of {STAMP.change}"


def test_undo_is_refused_when_the_record_moved_on(t08: Task) -> None:
    plan = plan_edit(t08, Edit(status="blocked"), indicators=T08_INDICATORS, require_evidence=[], stamp=STAMP)
    moved_on = t08.model_copy(update={"status": "in_progress"})
    with pytest.raises(PtrackError, match="has changed since"):
        plan_undo(moved_on, history_entry(plan, STAMP))


def test_change_ids_sort_by_time_and_do_not_collide() -> None:
    from datetime import datetime

    ids = {new_change_id(datetime(2026, 11, 28, 12, 0, 0)) for _ in range(200)}
    assert len(ids) == 200
    assert all(i.startswith("20261128T120000-") for i in ids)


def obs_model(obs: NewObservation) -> object:
    from policy_tracker.models import Observation

    return Observation(date=obs.date, value=obs.value, source=obs.source or "")


def test_change_lines_show_zero_values_and_rating_rationales() -> None:
    from policy_tracker.changes import change_lines
    from policy_tracker.models import Change, HistoryEntry

    entry = HistoryEntry(
        change="c",
        at="2026-01-01T00:00:00+08:00",
        by="x",
        changes=[
            Change(field="observation:pm25_prefecture_cities:2026", old={"date": "2026", "value": 0.0, "source": "s"}, new=None),
            Change(field="rating", old=None, new={"level": "red", "rationale": "冬季反弹"}),
        ],
    )
    assert change_lines(entry) == ["pm25_prefecture_cities 2026: 0 → —", "rating: — → red (冬季反弹)"]
