"""git's merge driver: concurrent histories united, non-overlapping changes combined, true conflicts kept for a person."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from policy_tracker.cli import app
from policy_tracker.merge import default_record, merge_records

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def entry(change: str, at: str, by: str, field: str, old: Any, new: Any) -> dict[str, Any]:
    return {"change": change, "at": at, "by": by, "changes": [{"field": field, "old": old, "new": new}]}


RATING = {"level": "amber", "rationale": "starts lag", "by": "李四", "at": "2026-11-28T11:00:00+08:00"}
A = entry("20261128T100000-aaaaaa", "2026-11-28T10:00:00+08:00", "张三", "status", "not_started", "in_progress")
B = entry("20261128T110000-bbbbbb", "2026-11-28T11:00:00+08:00", "李四", "rating", None, RATING)
B_STATUS = entry("20261128T090000-cccccc", "2026-11-28T09:00:00+08:00", "李四", "status", "not_started", "blocked")


def record(**fields: Any) -> dict[str, Any]:
    return {**default_record("T08", "31"), **fields}


def test_a_status_and_a_rating_made_concurrently_both_apply() -> None:
    base = record()
    ours = record(revision=1, status="in_progress", history=[A])
    theirs = record(revision=1, rating=RATING, history=[B])
    merged = merge_records(base, ours, theirs)
    assert merged.conflicts == []
    assert merged.data["status"] == "in_progress"
    assert merged.data["rating"] == RATING
    assert merged.data["history"] == [A, B]
    assert merged.data["revision"] == 2
    assert list(merged.data)[-1] == "history"


def test_histories_are_united_in_time_order_whichever_side_is_ours() -> None:
    base = record()
    ours = record(revision=1, rating=RATING, history=[B])
    theirs = record(revision=1, status="in_progress", history=[A])
    assert merge_records(base, ours, theirs).data["history"] == [A, B]


def test_the_same_change_on_both_sides_counts_once() -> None:
    side = record(revision=1, status="in_progress", history=[A])
    merged = merge_records(record(), side, dict(side))
    assert merged.data["history"] == [A] and merged.data["revision"] == 1 and not merged.conflicts


def test_two_different_statuses_keep_both_entries_and_ask_a_person() -> None:
    ours = record(revision=1, status="in_progress", history=[A])
    theirs = record(revision=1, status="blocked", history=[B_STATUS])
    merged = merge_records(record(), ours, theirs)
    assert merged.data["status"] == "not_started"  # neither side wins until someone chooses
    assert merged.data["history"] == [B_STATUS, A]
    assert merged.data["revision"] == 2
    (conflict,) = merged.conflicts
    assert conflict["field"] == "status"
    assert [c["value"] for c in conflict["choices"]] == ["in_progress", "blocked"]
    assert [c["by"] for c in conflict["choices"]] == ["张三", "李四"]


def observation(date: str, value: float) -> dict[str, Any]:
    return {"date": date, "value": value, "source": f"doc {date}"}


def test_observations_merge_one_date_at_a_time_and_notes_item_by_item() -> None:
    base = record(indicators=[{"id": "x", "observations": [observation("2025", 1.0)]}], notes=["a"])
    ours = record(
        indicators=[{"id": "x", "observations": [observation("2025", 1.0), observation("2026-03", 2.0)]}], notes=["a", "b"]
    )
    theirs = record(
        indicators=[{"id": "x", "observations": [observation("2025", 1.0), observation("2026-01", 3.0)]}], notes=["c"]
    )
    merged = merge_records(base, ours, theirs)
    assert not merged.conflicts
    assert [o["date"] for o in merged.data["indicators"][0]["observations"]] == ["2025", "2026-01", "2026-03"]
    assert merged.data["notes"] == ["b", "c"]  # theirs removed "a", ours added "b", theirs added "c"


def test_two_values_for_one_date_are_a_conflict_named_as_history_names_it() -> None:
    base = record(indicators=[{"id": "x", "observations": []}])
    ours = record(indicators=[{"id": "x", "observations": [observation("2026", 2.0)]}])
    theirs = record(indicators=[{"id": "x", "observations": [observation("2026", 3.0)]}])
    merged = merge_records(base, ours, theirs)
    assert [c["field"] for c in merged.conflicts] == ["observation:x:2026"]
    assert merged.data["indicators"][0]["observations"] == []


# ---------------------------------------------------------------------------------------------- with git


def git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)


def ok(cwd: Path, *args: str) -> str:
    run = git(cwd, *args)
    assert run.returncode == 0, f"git {' '.join(args)}: {run.stdout}{run.stderr}"
    return run.stdout


DRIVER = f"{sys.executable} -m policy_tracker merge-driver %O %A %B %P"


@pytest.fixture
def team(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A workspace made with `ptrack init` inside a git repository, pushed to a bare server, cloned twice."""
    for var, value in [("GIT_AUTHOR_NAME", "t"), ("GIT_AUTHOR_EMAIL", "t@example.org")]:
        monkeypatch.setenv(var, value)
        monkeypatch.setenv(var.replace("AUTHOR", "COMMITTER"), value)
    server, seed = tmp_path / "server.git", tmp_path / "seed"
    ok(tmp_path, "init", "-q", "--bare", "-b", "main", str(server))
    ok(tmp_path, "init", "-q", "-b", "main", str(seed))
    result = CliRunner().invoke(app, ["init", str(seed)])
    assert result.exit_code == 0, result.output
    assert "merge=ptrack" in (seed / ".gitattributes").read_text(encoding="utf-8")
    assert ok(seed, "config", "merge.ptrack.driver").strip() == "ptrack merge-driver %O %A %B"  # init set it
    ok(seed, "add", ".")
    ok(seed, "commit", "-q", "-m", "Start tracking")
    ok(seed, "push", "-q", str(server), "main")
    clones = tmp_path / "city", tmp_path / "province"
    for clone in clones:
        ok(tmp_path, "clone", "-q", str(server), str(clone))
        ok(clone, "config", "merge.ptrack.driver", DRIVER)  # the documented line, with this test's interpreter
        ok(clone, "config", "pull.rebase", "false")
    return clones


def ptrack(ws: Path, *args: str, by: str = "张三") -> Any:
    result = CliRunner().invoke(app, [*args, "--data", str(ws)], env={"PTRACK_USER": by})
    return result


def commit_and_push(clone: Path, message: str) -> None:
    ok(clone, "add", "-A")
    ok(clone, "commit", "-q", "-m", message)
    ok(clone, "push", "-q", "origin", "main")


@needs_git
def test_two_clones_update_one_record_and_git_merges_it_with_the_driver(team: tuple[Path, Path]) -> None:
    city, province = team
    assert ptrack(city, "update", "T08", "--region", "31", "--status", "in_progress", "--note", "批复").exit_code == 0
    commit_and_push(city, "status")
    r = ptrack(province, "update", "T08", "--region", "31", "--rating", "amber", "--rationale", "lags", by="李四")
    assert r.exit_code == 0, r.output
    ok(province, "add", "-A")
    ok(province, "commit", "-q", "-m", "rating")
    pull = git(province, "pull", "-q", "--no-edit", "origin", "main")
    assert pull.returncode == 0, pull.stdout + pull.stderr  # no conflict
    assert "<<<<<<<" not in (province / "records" / "31" / "T08.yaml").read_text(encoding="utf-8")

    shown = ptrack(province, "show", "T08", "--region", "31", "--format", "json")
    data = json.loads(shown.stdout)
    assert data["status"] == "in_progress" and data["rating"]["level"] == "amber"
    assert [h["by"] for h in data["history"]] == ["张三", "李四"] and data["revision"] == 2
    assert ptrack(province, "validate").exit_code == 0
    before = ptrack(province, "progress", "--region", "31", "--as-of", "2020-01-01", "--format", "json")
    assert before.exit_code == 0, before.output


@needs_git
def test_a_true_conflict_keeps_both_entries_and_validate_says_choose(team: tuple[Path, Path]) -> None:
    city, province = team
    assert ptrack(city, "update", "T08", "--region", "31", "--status", "in_progress").exit_code == 0
    commit_and_push(city, "in progress")
    assert ptrack(province, "update", "T08", "--region", "31", "--status", "blocked", by="李四").exit_code == 0
    ok(province, "add", "-A")
    ok(province, "commit", "-q", "-m", "blocked")
    pull = git(province, "pull", "-q", "--no-edit", "origin", "main")
    assert pull.returncode != 0 and "T08.yaml" in pull.stdout + pull.stderr  # git reports the conflict
    text = (province / "records" / "31" / "T08.yaml").read_text(encoding="utf-8")
    assert "<<<<<<<" not in text and "conflicts:" in text

    for command in (["list", "--region", "31"], ["show", "T08", "--region", "31"], ["log"], ["progress", "--region", "31"]):
        result = ptrack(province, *command)
        assert result.exit_code == 0, f"{command}: {result.output}"
    check = ptrack(province, "validate")
    assert check.exit_code == 1
    assert "status: conflict: choose blocked (李四" in check.stdout and "or in_progress (张三" in check.stdout
    assert "ptrack update T08 --region 31 --status" in check.stdout

    chosen = ptrack(province, "update", "T08", "--region", "31", "--status", "blocked", "--note", "agreed", by="王五")
    assert chosen.exit_code == 0, chosen.output
    assert ptrack(province, "validate").exit_code == 0
    data = json.loads(ptrack(province, "show", "T08", "--region", "31", "--format", "json").stdout)
    assert data["status"] == "blocked" and data["conflicts"] == [] and len(data["history"]) == 3
    ok(province, "add", "-A")
    ok(province, "commit", "-q", "-m", "Merge: blocked, as agreed")


def test_a_file_that_is_not_a_record_is_merged_line_by_line(tmp_path: Path) -> None:
    base, ours, theirs = (tmp_path / n for n in ("o", "a", "b"))
    base.write_text("x\n", encoding="utf-8")
    ours.write_text("<<<<<<< broken\n", encoding="utf-8")
    theirs.write_text("y\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["merge-driver", str(base), str(ours), str(theirs)])
    assert result.exit_code == 1
    assert "line by line" in result.output


def test_a_national_task_file_merges_field_by_field(ws_dir: Path) -> None:
    import copy

    from policy_tracker import store

    side = store.read_merge_side(ws_dir / "T08.yaml")
    assert side is not None
    text, base = side
    ours, theirs = copy.deepcopy(base), copy.deepcopy(base)
    ours.update(status="in_progress", revision=1, history=[A])
    theirs.update(rating=RATING, revision=1, history=[B])
    theirs["indicators"][0]["observations"].append(observation("2026-09", 1.5))
    merged = merge_records(base, ours, theirs)
    assert not merged.conflicts
    assert merged.data["status"] == "in_progress" and merged.data["rating"] == RATING
    assert merged.data["indicators"][0]["observations"][-1] == observation("2026-09", 1.5)
    written = store.merged_record_text(text, merged.data)
    assert not store.check_record_text(ws_dir / "T08.yaml", written)
    assert written.splitlines()[:3] == text.splitlines()[:3]  # the lines no one changed stay as they were
