"""Many offices, one national picture: two cities and their province, each with a clone of one git repository.

They update the same record concurrently and git merges it with ptrack's driver; a change outside an office's
regions is rejected by `validate --changed`; the three clones roll up into one report.
"""

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

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

OWNERS = "owners:\n  CN: [ndrc]\n  '44': [guangdong-drc]\n  '440300': [shenzhen-office]\n  '440100': [guangzhou-office]\n"
DRIVER = f"{sys.executable} -m policy_tracker merge-driver %O %A %B %P"


def git(cwd: Path, *args: str, who: str = "seed") -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(cwd), "GIT_AUTHOR_NAME": who, "GIT_AUTHOR_EMAIL": f"{who}@example.org"}
    env |= {"GIT_COMMITTER_NAME": who, "GIT_COMMITTER_EMAIL": f"{who}@example.org"}
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env, check=False)


def ok(cwd: Path, *args: str, who: str = "seed") -> str:
    run = git(cwd, *args, who=who)
    assert run.returncode == 0, f"git {' '.join(args)}: {run.stdout}{run.stderr}"
    return run.stdout


def ptrack(clone: Path, *args: str, by: str | None = None) -> Any:
    """Run ptrack on a clone; without `by`, $PTRACK_USER is unset (validate --changed then reads the commits)."""
    return CliRunner().invoke(app, [*args, "--data", str(clone)], env={"PTRACK_USER": by})


def commit(clone: Path, message: str, who: str) -> None:
    ok(clone, "add", "-A")
    ok(clone, "commit", "-q", "-m", message, who=who)


def test_two_cities_and_their_province_merge_check_and_roll_up(tmp_path: Path) -> None:
    server, seed = tmp_path / "server.git", tmp_path / "seed"
    ok(tmp_path, "init", "-q", "--bare", "-b", "main", str(server))
    ok(tmp_path, "init", "-q", "-b", "main", str(seed))
    assert CliRunner().invoke(app, ["init", str(seed)]).exit_code == 0
    (seed / "ptrack.yaml").write_text((seed / "ptrack.yaml").read_text(encoding="utf-8") + OWNERS, encoding="utf-8")
    commit(seed, "Start tracking", "seed")
    ok(seed, "push", "-q", str(server), "main")
    shenzhen, guangzhou, guangdong = (tmp_path / name for name in ("shenzhen", "guangzhou", "guangdong"))
    for clone in (shenzhen, guangzhou, guangdong):
        ok(tmp_path, "clone", "-q", str(server), str(clone))
        ok(clone, "config", "merge.ptrack.driver", DRIVER)

    # the same record, concurrently: Shenzhen its status, the province (which owns its cities) a rating
    r = ptrack(
        shenzhen, "update", "T08", "--region", "440300", "--status", "in_progress", "-m", "计划已批复", by="shenzhen-office"
    )
    assert r.exit_code == 0, r.output
    commit(shenzhen, "Shenzhen: T08 under way", "shenzhen-office")
    ok(shenzhen, "push", "-q", "origin", "main")
    r = ptrack(
        guangdong, "update", "T08", "--region", "440300", "--rating", "amber", "--rationale", "慢于计划", by="guangdong-drc"
    )
    assert r.exit_code == 0, r.output
    commit(guangdong, "Guangdong: rating for Shenzhen's T08", "guangdong-drc")
    pulled = git(guangdong, "pull", "-q", "--no-rebase", "--no-edit", "origin", "main", who="guangdong-drc")
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr  # merged by the driver: no conflict

    merged = json.loads(ptrack(guangdong, "show", "T08", "--region", "440300", "--format", "json").stdout)
    assert merged["status"] == "in_progress" and merged["rating"]["level"] == "amber"
    assert sorted(h["by"] for h in merged["history"]) == ["guangdong-drc", "shenzhen-office"]  # both entries
    assert merged["revision"] == 2
    assert ptrack(guangdong, "validate").exit_code == 0
    for day in ("2020-01-01", "2099-12-31"):
        r = ptrack(guangdong, "progress", "--region", "440300", "--as-of", day, "--format", "json")
        assert r.exit_code == 0, r.output
    ok(guangdong, "push", "-q", "origin", "main", who="guangdong-drc")

    # Guangzhou records its own figure, then changes Shenzhen's record: CI rejects the second commit
    r = ptrack(guangzhou, "update", "T08", "--region", "440100", "--status", "in_progress", by="guangzhou-office")
    assert r.exit_code == 0, r.output
    commit(guangzhou, "Guangzhou: T08 under way", "guangzhou-office")
    r = ptrack(guangzhou, "update", "T08", "--region", "440300", "--status", "blocked", by="guangzhou-office")
    assert r.exit_code == 0, r.output
    commit(guangzhou, "Guangzhou: Shenzhen's T08 blocked", "guangzhou-office")
    refused = ptrack(guangzhou, "validate", "--changed", "origin/main")
    assert refused.exit_code == 1
    assert "records/440300/T08.yaml: guangzhou-office changed a record of 深圳市 440300" in refused.stdout
    assert "records/440100" not in refused.stdout
    ok(guangzhou, "reset", "-q", "--hard", "HEAD~1")
    assert ptrack(guangzhou, "validate", "--changed", "origin/main").exit_code == 0

    # one national view of the three clones, each record with its origin
    listed = ptrack(guangdong, "list", "--with", str(shenzhen), "--with", str(guangzhou), "--format", "json")
    assert listed.exit_code == 0, listed.output
    origin = {(r.get("task") or r["id"], r.get("region", "CN")): r["origin"] for r in json.loads(listed.stdout)}
    assert origin[("T08", "440100")] == "guangzhou"  # only Guangzhou has it yet
    assert origin[("T08", "440300")] == "guangdong"  # the merged record: its last change is the latest
    assert origin[("T01", "CN")] == "guangdong"
    report = ptrack(guangdong, "report", "--with", str(shenzhen), "--with", str(guangzhou), "--format", "markdown")
    assert report.exit_code == 0, report.output
    assert "roll-up of guangdong, shenzhen, guangzhou" in report.stdout
    assert "广州" in report.stdout and "深圳" in report.stdout
    alone = ptrack(guangdong, "report", "--format", "markdown")
    assert "广州" not in alone.stdout  # Guangzhou's record reached the report only through the roll-up
    before = {p: p.read_bytes() for p in guangzhou.rglob("*.yaml")}
    ptrack(guangdong, "export", "--with", str(guangzhou), "--format", "json")
    assert before == {p: p.read_bytes() for p in guangzhou.rglob("*.yaml")}  # read-only
