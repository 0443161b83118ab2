"""The bundled dataset says what its sources say: no invented number, measure, target or department.

Checked against the policy reference (../shared/policy) when it lies beside the repository, as it does in
development and CI; the structural checks need nothing but the dataset.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from policy_tracker import store
from policy_tracker.models import Workspace

from conftest import REPO

SHARED = REPO.parent / "shared" / "policy"
needs_reference = pytest.mark.skipif(not SHARED.is_dir(), reason="policy reference ../shared/policy not beside the repo")


def _num(value: float | None) -> str:
    return "none" if value is None else repr(float(value))


@pytest.fixture(scope="module")
def ws() -> Workspace:
    return store.load_workspace(store.bundled_dataset())


@pytest.fixture(scope="module")
def digest() -> dict[str, Any]:
    return dict(yaml.safe_load((SHARED / "opinions-2025.yaml").read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def reference_indicators() -> dict[str, dict[str, Any]]:
    data = yaml.safe_load((SHARED / "indicators.yaml").read_text(encoding="utf-8"))
    return {i["id"]: i for i in data["indicators"]}


def test_no_department_is_named_and_nothing_is_tracked_yet(ws: Workspace) -> None:
    for t in ws.tasks:
        assert t.lead_units == [] and t.co_units == [], t.id
        assert t.history == [] and t.status == "not_started" and t.owner == "CN"


def test_title_only_tasks_have_no_measures_and_say_so(ws: Workspace) -> None:
    title_only = [t for t in ws.tasks if t.text_recovered == "title_only"]
    assert [t.id for t in title_only] == ["T10", "T13", "T15", "T16"]
    for t in title_only:
        assert t.measures == []
        assert any("not yet encoded" in n for n in t.notes)


def test_every_figure_has_a_source_and_a_date(ws: Workspace) -> None:
    for t in ws.tasks:
        for i in t.indicators:
            assert all(o.source and o.date for o in i.observations), i.id
            assert all(x.source and x.target_from for x in i.targets), i.id
            assert i.baseline is None or (i.baseline.source and i.baseline.date), i.id


def test_the_baseline_is_one_of_the_observations(ws: Workspace) -> None:
    for t in ws.tasks:
        for i in t.indicators:
            if i.baseline is not None:
                assert any(
                    (o.value, o.date, o.source) == (i.baseline.value, i.baseline.date, i.baseline.source) for o in i.observations
                ), i.id
                assert int(i.baseline.date[:4]) <= 2024, i.id  # before the Opinions (2025-08-15)


@needs_reference
def test_tasks_match_the_digest(ws: Workspace, digest: dict[str, Any]) -> None:
    for t, ref in zip(ws.tasks, digest["tasks"], strict=True):
        assert (t.number, t.label, t.title_zh, t.title_en, t.chapter) == (
            ref["number"],
            ref["label"],
            ref["title_zh"],
            ref["title_en"],
            ref["chapter"],
        )
        assert t.text_recovered == ref["text_status"]
        ref_measures = [(m["zh"], m["en"], m["basis"]) for m in ref["measures"] if m["zh"] != "其余措施未能检得"]
        assert [(m.zh, m.en, m.basis) for m in t.measures] == ref_measures, t.id
        assert t.sources == list(ref.get("sources") or []), t.id
        for m in t.measures:
            assert m.source is None or m.source in t.sources


@needs_reference
def test_goals_and_chapters_match_the_digest(ws: Workspace, digest: dict[str, Any]) -> None:
    g2030 = digest["goals"]["2030"]
    assert ws.goals[0].headline_zh == g2030["headline_zh"]
    assert [c.zh for c in ws.goals[0].components] == [c["zh"] for c in g2030["components"]]
    assert ws.goals[1].headline_zh == digest["goals"]["2035"]["headline_zh"]
    chapters = [(c["label"], c["title_zh"]) for c in digest["chapters"] if c["label"] != "一"]
    assert [(c.label, c.title_zh) for c in ws.chapters] == chapters


@needs_reference
def test_every_reference_indicator_is_encoded_once_under_its_task(ws: Workspace, reference_indicators: dict[str, Any]) -> None:
    placed = {i.id: t.number for t in ws.tasks for i in t.indicators}
    assert placed == {k: v["task"] for k, v in reference_indicators.items()}


@needs_reference
def test_every_number_comes_from_the_reference(ws: Workspace, reference_indicators: dict[str, Any]) -> None:
    for t in ws.tasks:
        for i in t.indicators:
            ref = reference_indicators[i.id]
            assert (i.name_zh, i.name_en, i.unit, i.direction) == (ref["name_zh"], ref["name_en"], ref["unit"], ref["direction"])
            ref_obs = sorted((str(o["year"]), o["source"], _num(o["value"])) for o in ref["observations"])
            assert sorted((o.date, o.source, _num(o.value)) for o in i.observations) == ref_obs, i.id
            ref_targets = sorted((x["year"], x["source"], x["target_from"], _num(x["value"])) for x in ref["targets"])
            assert sorted((x.year, x.source, x.target_from, _num(x.value)) for x in i.targets) == ref_targets, i.id


@needs_reference
def test_regions_match_the_reference(ws: Workspace) -> None:
    ref = yaml.safe_load((SHARED / "regions.yaml").read_text(encoding="utf-8"))
    ours = {r.code: r for r in ws.regions}
    for kind in ("provinces", "megacities"):
        for r in ref[kind]:
            assert (ours[r["code"]].zh, ours[r["code"]].en) == (r["zh"], r["en"])
    clusters = [r for r in ws.regions if r.kind == "cluster"]
    assert [(c.zh, c.provinces) for c in clusters] == [(r["zh"], r["provinces"]) for r in ref["city_clusters"]]
    assert {r.parent for r in ws.regions if r.kind == "city"} <= {r["code"] for r in ref["provinces"]}


def test_the_seed_document_is_kept() -> None:
    assert any(Path(REPO / "seeds").glob("*.txt"))
