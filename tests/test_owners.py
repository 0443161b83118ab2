"""Who may change what: the owners map, CODEOWNERS, and `validate --changed` on a merge request's commits."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from policy_tracker import owners, store
from policy_tracker.cli import app
from policy_tracker.models import WorkspaceConfig

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
OWNERS = "owners:\n  '32': [zhang-san]\n  '320500': [suzhou-city, wang@example.org]\n  CN: ['@ndrc/planning']\n"


@pytest.fixture
def regions(ws_dir: Path) -> list:  # type: ignore[type-arg]
    return store.load_workspace(ws_dir).regions


def test_a_number_key_and_a_single_owner_are_read_as_a_code_and_a_list() -> None:
    config = WorkspaceConfig.model_validate({"schema_version": 1, "name": "x", "owners": {31: "zhang-san"}})
    assert config.owners == {"31": ["zhang-san"]}


@pytest.mark.parametrize(
    ("author", "code", "allowed"),
    [
        (["zhang-san"], "32", True),
        (["Zhang-San"], "320500", True),  # a province's owner owns its cities
        (["Zhang-San"], "320506", True),  # ... and their districts
        (["@zhang-san"], "31", False),
        (["suzhou-city"], "32", False),  # a city's owner does not own its province
        (["Wang", "wang@example.org"], "320500", True),  # matched by e-mail
        (["ndrc/planning"], "YRD", True),  # CN's owners own everything, clusters too
        (["anyone"], "CN", False),
    ],
)
def test_who_may_change_a_region(regions: list, author: list[str], code: str, allowed: bool) -> None:  # type: ignore[type-arg]
    mapping = {"32": ["zhang-san"], "320500": ["suzhou-city", "wang@example.org"], "CN": ["@ndrc/planning"]}
    assert owners.may_change(regions, mapping, author, code) is allowed


def test_a_region_no_one_owns_is_open(regions: list) -> None:  # type: ignore[type-arg]
    assert owners.may_change(regions, {"32": ["zhang-san"]}, ["anyone"], "31")


def test_codeowners_names_the_nearest_owners_general_lines_first(regions: list) -> None:  # type: ignore[type-arg]
    mapping = {"32": ["zhang-san"], "320500": ["suzhou-city", "wang@example.org"], "CN": ["@ndrc/planning"]}
    lines = owners.codeowners(regions, mapping, "tracker").splitlines()
    assert lines[2:4] == ["/tracker/T*.yaml @ndrc/planning", "/tracker/records/ @ndrc/planning"]
    assert "/tracker/records/32/ @zhang-san" in lines
    assert "/tracker/records/320100/ @zhang-san" in lines  # Nanjing: its province's office
    assert "/tracker/records/320500/ @suzhou-city wang@example.org" in lines
    assert "/tracker/records/320506/ @suzhou-city wang@example.org" in lines  # a district of Suzhou
    assert not any(line.startswith("/tracker/records/31/") for line in lines)  # Shanghai: the general line


def test_touched_records_are_told_from_other_files() -> None:
    touched = owners.touched_records(["records/31/T08.yaml", "T05.yaml", "README.md", "records/31/notes.txt"])
    assert [(t.task, t.region) for t in touched] == [("T08", "31"), ("T05", "CN")]


def test_owners_lists_the_map_and_writes_codeowners(ws_dir: Path, runner: CliRunner) -> None:
    (ws_dir / "ptrack.yaml").write_text((ws_dir / "ptrack.yaml").read_text(encoding="utf-8") + OWNERS, encoding="utf-8")
    shown = runner.invoke(app, ["owners"])
    assert shown.exit_code == 0, shown.output
    assert "32\t江苏省\tzhang-san, @ndrc/planning (inherited)" in shown.stdout
    written = runner.invoke(app, ["owners", "--codeowners"])
    assert written.exit_code == 0, written.output
    assert "/records/32/ @zhang-san" in (ws_dir / "CODEOWNERS").read_text(encoding="utf-8").splitlines()


def test_owners_without_a_map_says_how_to_add_one(ws_dir: Path, runner: CliRunner) -> None:
    result = runner.invoke(app, ["owners"])
    assert result.exit_code == 1
    assert "no owners map" in result.stderr and "owners:" in result.stderr


# ---------------------------------------------------------------------------------------------- with git


def git(cwd: Path, *args: str, author: str = "zhang-san") -> str:
    env = {"GIT_AUTHOR_NAME": author, "GIT_AUTHOR_EMAIL": f"{author}@example.org"}
    env |= {"GIT_COMMITTER_NAME": author, "GIT_COMMITTER_EMAIL": f"{author}@example.org", "PATH": "/usr/bin:/bin"}
    run = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env, check=False)
    assert run.returncode == 0, run.stderr
    return run.stdout


@pytest.fixture
def repo(tmp_path: Path, runner: CliRunner) -> Path:
    """A workspace in git with an owners map, on branch main, and a merge-request branch checked out."""
    root = tmp_path / "tracker"
    git(tmp_path, "init", "-q", "-b", "main", str(root))
    assert runner.invoke(app, ["init", str(root)]).exit_code == 0
    (root / "ptrack.yaml").write_text((root / "ptrack.yaml").read_text(encoding="utf-8") + OWNERS, encoding="utf-8")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "start")
    git(root, "checkout", "-q", "-b", "q3-updates")
    return root


def update(root: Path, runner: CliRunner, region: str, status: str, by: str) -> None:
    result = runner.invoke(app, ["update", "T08", "--region", region, "--status", status, "--data", str(root), "--by", by])
    assert result.exit_code == 0, result.output
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", f"{region} {status}", author=by)


@needs_git
def test_validate_changed_accepts_an_owner_and_rejects_a_change_outside_the_authors_regions(
    repo: Path, runner: CliRunner
) -> None:
    update(repo, runner, "32", "in_progress", by="zhang-san")
    update(repo, runner, "320500", "in_progress", by="suzhou-city")
    ok = runner.invoke(app, ["validate", "--changed", "main", "--data", str(repo)])
    assert ok.exit_code == 0, ok.output
    assert "2 changed records since main, valid, each by an owner of its region" in ok.stdout

    update(repo, runner, "31", "blocked", by="zhang-san")  # Shanghai is not zhang-san's
    refused = runner.invoke(app, ["validate", "--changed", "main", "--data", str(repo)])
    assert refused.exit_code == 1
    assert "records/31/T08.yaml: zhang-san changed a record of 上海市 31, whose owners are @ndrc/planning" in refused.stdout
    assert "zhang-san owns 32 in ptrack.yaml" in refused.stdout
    assert "outside the author's regions" in refused.stderr
    as_national = runner.invoke(app, ["validate", "--changed", "main", "--by", "ndrc/planning", "--data", str(repo)])
    assert as_national.exit_code == 0, as_national.output


@needs_git
def test_validate_changed_checks_only_the_changed_records(repo: Path, runner: CliRunner) -> None:
    broken = repo / "records" / "33" / "T01.yaml"  # already on main: not this merge request's problem
    broken.parent.mkdir(parents=True)
    broken.write_text("schema_version: 1\ntask: T01\nregion: '33'\nstatus: finished\n", encoding="utf-8")
    git(repo, "checkout", "-q", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "broken")
    git(repo, "checkout", "-q", "q3-updates")
    git(repo, "merge", "-q", "main")
    update(repo, runner, "32", "in_progress", by="zhang-san")
    assert runner.invoke(app, ["validate", "--data", str(repo)]).exit_code == 1
    result = runner.invoke(app, ["validate", "--changed", "main", "--data", str(repo)])
    assert result.exit_code == 0, result.output
    assert "1 changed record since main" in result.stdout


@needs_git
def test_validate_changed_with_an_unknown_base_says_how_to_fetch_it(repo: Path, runner: CliRunner) -> None:
    result = runner.invoke(app, ["validate", "--changed", "origin/nowhere", "--data", str(repo)])
    assert result.exit_code == 1
    assert "git fetch" in result.stderr
    assert "Traceback" not in result.output
