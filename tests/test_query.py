"""Resolving what users type, and filtering: pure functions over the bundled dataset."""

from __future__ import annotations

import pytest

from policy_tracker import store
from policy_tracker.errors import PtrackError
from policy_tracker.models import RegionRecord, Workspace
from policy_tracker.query import (
    TaskFilter,
    filter_rows,
    find_chapter,
    find_component,
    find_region,
    national_rows,
    parse_status,
    parse_task_id,
    region_members,
    region_rows,
    sort_rows,
    status_counts,
    tasks_serving,
)


@pytest.fixture(scope="module")
def ws() -> Workspace:
    return store.load_workspace(store.bundled_dataset())


@pytest.mark.parametrize(
    ("text", "tid"), [("T08", "T08"), ("t8", "T08"), ("8", "T08"), ("08", "T08"), (" T23 ", "T23"), ("1", "T01")]
)
def test_task_ids_in_every_spelling(text: str, tid: str) -> None:
    assert parse_task_id(text) == tid


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("T24", "there is no task T24"),
        ("0", "there is no task T00"),
        ("../x", "not a task ID"),
        ("T8.yaml", "not a task ID"),
        ("", "not a task ID"),
    ],
)
def test_bad_task_ids_say_the_valid_range(text: str, message: str) -> None:
    with pytest.raises(PtrackError, match=message) as info:
        parse_task_id(text)
    assert "T01" in str(info.value)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("in_progress", "in_progress"),
        ("In Progress", "in_progress"),
        ("in-progress", "in_progress"),
        ("进行中", "in_progress"),
        ("已完成", "completed"),
    ],
)
def test_statuses_by_key_or_label(text: str, key: str) -> None:
    assert parse_status(text) == key


def test_an_unknown_status_suggests_and_lists() -> None:
    with pytest.raises(PtrackError) as info:
        parse_status("complete")
    assert "did you mean completed" in str(info.value)
    assert "not_started, in_progress, completed, blocked, deferred" in str(info.value)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("31", "31"),
        ("上海市", "31"),
        ("上海", "31"),
        ("shanghai", "31"),
        ("310000", "31"),
        ("南京", "320100"),
        ("3201", "320100"),
        ("朝阳区", None),
        ("YRD", "YRD"),
        ("长三角", "YRD"),
        ("粤港澳大湾区", "PRD"),
        ("Yangtze River Delta", "YRD"),
        ("内蒙古", "15"),
        ("cn", "CN"),
        ("全国", "CN"),
    ],
)
def test_regions_by_code_name_or_alias(ws: Workspace, text: str, code: str | None) -> None:
    if code is None:  # a district of Beijing and one of Changchun
        with pytest.raises(PtrackError, match="matches several regions"):
            find_region(ws.regions, text)
    else:
        assert find_region(ws.regions, text).code == code


def test_an_unknown_region_suggests_the_closest(ws: Workspace) -> None:
    with pytest.raises(PtrackError, match=r"did you mean .*Shanghai"):
        find_region(ws.regions, "Shangai")


def test_a_cluster_contains_its_provinces_and_their_cities(ws: Workspace) -> None:
    members = region_members(ws.regions, "YRD")
    assert {"YRD", "31", "32", "33", "34", "310112", "320100", "320500", "330100"} <= members
    assert "11" not in members
    assert "110105" not in members


def test_a_province_contains_its_cities_and_the_country_everything(ws: Workspace) -> None:
    assert {"44", "440100", "440300", "440600", "441900", "440106"} <= region_members(ws.regions, "44")
    assert not any(code.startswith("45") for code in region_members(ws.regions, "44"))
    assert region_members(ws.regions, "CN") >= {r.code for r in ws.regions if r.kind != "cluster"}


def _ids(rows: list) -> list[str]:
    return [r.task.id for r in rows]


def test_goal_2030_and_its_components(ws: Workspace) -> None:
    all_2030 = filter_rows(national_rows(ws.tasks), TaskFilter(goal="2030"))
    assert len(all_2030) == 23
    green = filter_rows(national_rows(ws.tasks), TaskFilter(goal="2030", component="green"))
    assert _ids(green) == ["T11", "T12", "T13"]
    serving = tasks_serving(ws.tasks, ws.goals[0])
    assert [t.id for t in serving[None]] == ["T01", "T02", "T03"]
    assert [t.id for t in serving["institutions"]] == ["T04", "T05", "T06", "T07", "T21"]


@pytest.mark.parametrize(("text", "key"), [("green", "green"), ("4", "green"), ("绿色", "green"), ("Safety", "safety")])
def test_components_by_key_number_or_words(ws: Workspace, text: str, key: str) -> None:
    assert find_component(ws.goals[0], text).key == key


@pytest.mark.parametrize(("text", "label"), [("三", "三"), ("3", "三"), ("三、", "三"), ("9", "九")])
def test_chapters_by_label_or_number(ws: Workspace, text: str, label: str) -> None:
    assert find_chapter(ws.chapters, text).label == label


@pytest.mark.parametrize(
    ("needle", "expected"),
    [("好房子", {"T08"}), ("GOOD HOMES", {"T08"}), ("PM2.5", {"T13"}), ("枫桥", {"T23"}), ("no such words", set())],
)
def test_search_looks_in_titles_measures_and_indicators(ws: Workspace, needle: str, expected: set[str]) -> None:
    assert set(_ids(filter_rows(national_rows(ws.tasks), TaskFilter(search=needle)))) == expected


def test_filters_combine(ws: Workspace) -> None:
    tasks = [t.model_copy(update={"status": "in_progress"}) if t.number % 2 else t for t in ws.tasks]
    rows = national_rows(tasks)
    selected = filter_rows(rows, TaskFilter(chapter="六", statuses=frozenset({"in_progress"})))
    assert _ids(selected) == ["T15", "T17"]
    assert filter_rows(rows, TaskFilter(regions=frozenset({"31"}))) == []
    assert len(filter_rows(rows, TaskFilter(regions=frozenset({"CN"})))) == 23


def test_region_rows_are_found_through_the_hierarchy(ws: Workspace) -> None:
    records = [
        RegionRecord(schema_version=1, task="T08", region="31", status="in_progress"),
        RegionRecord(schema_version=1, task="T08", region="320500", status="completed"),
        RegionRecord(schema_version=1, task="T09", region="11"),
    ]
    rows = national_rows(ws.tasks) + region_rows(ws.tasks, records)
    yrd = frozenset(region_members(ws.regions, "YRD"))
    selected = filter_rows(rows, TaskFilter(regions=yrd))
    assert [(r.task.id, r.region, r.status) for r in selected] == [("T08", "31", "in_progress"), ("T08", "320500", "completed")]
    national_owned = [national_rows(ws.tasks)[12].task.model_copy(update={"owner": "33"})]
    assert _ids(filter_rows(national_rows(national_owned), TaskFilter(regions=yrd))) == ["T13"]


def test_sorting(ws: Workspace) -> None:
    tasks = [t.model_copy(update={"status": "blocked"}) if t.number == 20 else t for t in ws.tasks]
    rows = national_rows(tasks)
    assert sort_rows(rows, "status", ws.chapters)[-1].task.id == "T20"
    by_title = [r.task.title_en for r in sort_rows(rows, "title", ws.chapters)]
    assert by_title == sorted(by_title, key=str.casefold)
    with pytest.raises(PtrackError, match="cannot sort by 'colour'"):
        sort_rows(rows, "colour", ws.chapters)


def test_status_counts_include_zeros_in_workflow_order(ws: Workspace) -> None:
    assert status_counts(ws.tasks) == {"not_started": 23, "in_progress": 0, "completed": 0, "blocked": 0, "deferred": 0}
