"""Nothing is ever lost: concurrent writers, writers killed mid-write, and teams merging with git."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from policy_tracker import journal, store
from policy_tracker.changes import Edit, Stamp, plan_edit
from policy_tracker.cli import app

from conftest import REPO

WORKER = """
import sys
from pathlib import Path
from policy_tracker import journal, store
from policy_tracker.changes import Edit, NewObservation, Stamp, plan_edit

root, region, worker, n = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
names = {"old_compound_renovation_starts": "x"}
for i in range(n):
    stamp = Stamp(change=f"w{worker}-{i:03d}", at="2026-01-01T00:00:00.000+00:00", by=f"worker {worker}")
    obs = NewObservation("old_compound_renovation_starts", float(i), f"{1900 + i}-{worker + 1:02d}", source=f"w{worker}")
    edit = Edit(observations=[obs])
    plan = lambda record: plan_edit(record, edit, indicators=names, require_evidence=[], stamp=stamp)
    store.change_records(root, [("T08", region)], plan, stamp)
"""


def _run_workers(root: Path, regions: list[str], n: int) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen([sys.executable, "-c", WORKER, str(root), region, str(w), str(n)], env=env, stderr=subprocess.PIPE)
        for w, region in enumerate(regions)
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()


@pytest.mark.parametrize("same_record", [True, False], ids=["same record", "different records"])
def test_concurrent_writers_lose_nothing(ws_dir: Path, same_record: bool) -> None:
    workers, n = 4, 30
    regions = ["31"] * workers if same_record else ["31", "32", "33", "34"]
    _run_workers(ws_dir, regions, n)
    records = store.load_region_records(ws_dir)
    changes = sorted(e.change for r in records for e in r.history)
    assert changes == sorted(f"w{w}-{i:03d}" for w in range(workers) for i in range(n))
    for r in records:
        (data,) = r.indicators
        assert len(data.observations) == len(r.history) == r.revision
        assert {o.source for o in data.observations} == {h.changes[0].new["source"] for h in r.history}  # type: ignore[index]
    assert sum(len(r.history) for r in records) == workers * n
    store.validate_workspace(ws_dir)


@pytest.mark.skipif(not hasattr(os, "fork") or not hasattr(signal, "SIGSTOP"), reason="needs fork and POSIX signals")
def test_a_writer_killed_at_any_moment_leaves_the_old_or_the_new_file(ws_dir: Path) -> None:
    """The writer stops itself at a random step and a random point of the write (journal.checkpoint), reports
    it through a pipe, and is killed there: the test waits for that event, never for a time."""
    rng = random.Random(20261128)
    names: dict[str, str] = {}
    seen_revisions = set()
    points = ["journal", "commit", "replace:1", "done"]
    for trial in range(20):
        stop_step, stop_point = rng.randrange(8), rng.choice(points)
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the writer: alternate the status of two records until it stops itself
            try:
                os.close(read_end)
                os.dup2(write_end, 2)  # checkpoint() reports on stderr
                for i in range(10**6):
                    stamp = Stamp(change=f"t{trial}-{i}", at="2026-01-01T00:00:00.000+00:00", by="writer")
                    edit = Edit(status=("in_progress", "blocked")[i % 2], note=f"trial {trial} step {i}")
                    if i == stop_step:
                        os.environ[journal.ENV_PAUSE] = stop_point
                    store.change_records(
                        ws_dir,
                        [("T08", "31"), ("T08", "CN")],  # one change set over two files
                        lambda r: plan_edit(r, edit, indicators=names, require_evidence=[], stamp=stamp),  # noqa: B023
                        stamp,
                    )
            finally:
                os._exit(0)
        os.close(write_end)
        with os.fdopen(read_end, "rb") as reports:
            assert reports.readline().startswith(b"ptrack paused at")
            os.waitpid(pid, os.WUNTRACED)  # stopped
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        store.recover_interrupted(ws_dir)  # what the next command does first
        national, regional = store.load_record(ws_dir, "T08", "CN"), store.load_record(ws_dir, "T08", "31")
        if regional is None:  # killed before the first change set was written
            assert national is not None and national.revision == 0
            continue
        assert national is not None
        for record in (national, regional):
            assert record.revision == len(record.history)
            # a step that finds the status already set records its note alone (no change): read the last change
            assert record.status == next(h.changes[0].new for h in reversed(record.history) if h.changes)
        assert [h.change for h in regional.history] == [h.change for h in national.history]  # both or neither
        seen_revisions.add(regional.revision)
    assert len(seen_revisions) > 10  # the kills did land at many different moments
    assert not list(ws_dir.rglob(".*.tmp"))  # the journal leaves no temporary file behind
    store.validate_workspace(ws_dir)


def _git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
    }
    run = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_two_offices_updating_different_records_merge_without_conflict(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTRACK_USER", "office")
    origin = store.init_workspace(tmp_path / "origin")
    _git(origin, "init", "-q", "-b", "main")
    _git(origin, "add", ".")
    _git(origin, "commit", "-qm", "start")
    shanghai, jiangsu = tmp_path / "shanghai", tmp_path / "jiangsu"
    _git(tmp_path, "clone", "-q", str(origin), str(shanghai))
    _git(tmp_path, "clone", "-q", str(origin), str(jiangsu))

    def update(where: Path, *args: str) -> None:
        result = runner.invoke(app, ["update", *args, "--data", str(where)])
        assert result.exit_code == 0, result.stderr

    update(shanghai, "T08", "--region", "31", "--status", "in_progress", "--note", "沪")
    update(shanghai, "T13", "--status", "in_progress")
    _git(shanghai, "add", ".")
    _git(shanghai, "commit", "-qm", "Shanghai")
    update(jiangsu, "T08", "--region", "32", "--status", "blocked", "--note", "苏")
    update(jiangsu, "T09", "--status", "in_progress")
    _git(jiangsu, "add", ".")
    _git(jiangsu, "commit", "-qm", "Jiangsu")

    _git(shanghai, "pull", "-q", "--no-rebase", "--no-edit", str(jiangsu), "main")
    assert ".ptrack.lock" not in _git(shanghai, "ls-files")
    ws, n_records = store.validate_workspace(shanghai)
    assert n_records == 2
    assert {t.id: t.status for t in ws.tasks if t.status != "not_started"} == {"T09": "in_progress", "T13": "in_progress"}
    assert {(r.region, r.status) for r in store.load_region_records(shanghai)} == {("31", "in_progress"), ("32", "blocked")}
