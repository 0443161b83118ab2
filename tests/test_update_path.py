"""`update` (and `target`, `baseline`) read one task file, the registry entry and the one record, whatever the size
of the workspace."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from policy_tracker import index
from policy_tracker.cli import app

from conftest import snapshot

# What an update of a record in ptrack's own layout never needs: the terminal's tables, the round-trip writer, the
# index and the read commands' layers.
NOT_NEEDED = (
    "rich",
    "ruamel",
    "sqlite3",
    "policy_tracker.index",
    "policy_tracker.render",
    "policy_tracker.progress",
    "policy_tracker.assessment",
    "policy_tracker.report",
    "policy_tracker.exchange",
)


@pytest.fixture(autouse=True)
def user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTRACK_USER", "张三")


def _update_in_a_process(ws: Path, *args: str, command: str = "update") -> tuple[str, list[str]]:
    code = (
        "import sys\nfrom policy_tracker.launch import main\n"
        f"sys.argv = ['ptrack', {command!r}, *{list(args)!r}, '-d', {str(ws)!r}]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {NOT_NEEDED!r} or m in {NOT_NEEDED!r}))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, encoding="utf-8", check=False)
    assert run.returncode == 0, run.stderr
    *out, loaded = run.stdout.splitlines()
    return "\n".join(out), json.loads(loaded.replace("'", '"'))


@pytest.mark.parametrize(
    "args",
    [
        ("T08", "--region", "上海", "--status", "in_progress", "-m", "方案已批复"),
        ("T08", "--region", "310000", "--status", "blocked"),  # a retired code names the municipality
        ("T08", "--region", "320115", "-i", "old_compound_renovation_starts=12", "--date", "2026", "--source", "s"),
    ],
)
def test_update_loads_only_what_it_needs(ws_dir: Path, args: tuple[str, ...]) -> None:
    out, loaded = _update_in_a_process(ws_dir, *args)
    assert out.startswith("Recorded change")
    assert loaded == []


@pytest.mark.parametrize(
    ("command", "args"),
    [
        ("target", ("T08", "-r", "上海", "-i", "old_compound_renovation_starts", "--value", "30", "--year", "2030",
                    "--from", "上海市城市更新规划", "--source", "沪府发〔2026〕1号", "-m", "规划目标")),
        ("baseline", ("T08", "-r", "上海", "-i", "old_compound_renovation_starts", "--value", "12", "--date", "2024",
                      "--source", "统计公报", "-m", "基期")),
    ],
)  # fmt: skip
def test_target_and_baseline_load_only_what_they_need(ws_dir: Path, command: str, args: tuple[str, ...]) -> None:
    out, loaded = _update_in_a_process(ws_dir, *args, command=command)
    assert out.startswith("Recorded change")
    assert loaded == []


def test_a_record_with_comments_to_keep_takes_the_round_trip_writer_and_nothing_else(ws_dir: Path) -> None:
    assert (ws_dir / "T13.yaml").read_text(encoding="utf-8").startswith("# ")  # the national record: the task file
    out, loaded = _update_in_a_process(ws_dir, "T13", "--rating", "amber", "--rationale", "进度偏慢")
    assert out.startswith("Recorded change")
    assert {m.split(".")[0] for m in loaded} == {"ruamel"}


def test_update_reads_neither_the_other_tasks_nor_the_goals(ws_dir: Path, runner: CliRunner) -> None:
    (ws_dir / "T05.yaml").write_text("id: T05\ntitle_zh: [unclosed\n", encoding="utf-8")
    (ws_dir / "goals.yaml").write_text("schema_version: 1\ngoals: {}\n", encoding="utf-8")
    result = runner.invoke(app, ["update", "T08", "--region", "31", "--status", "in_progress"])
    assert result.exit_code == 0, result.stderr
    assert "records/31/T08.yaml" in result.stdout
    checked = runner.invoke(app, ["validate"])  # which still reports them
    assert checked.exit_code == 1
    assert "T05.yaml" in checked.stdout + checked.stderr and "goals.yaml" in checked.stdout + checked.stderr


@pytest.mark.parametrize(
    ("file", "text", "expected"),
    [
        ("T08.yaml", None, "task T08 is not in this workspace"),
        ("ptrack.yaml", "schema_version: 1\n", "ptrack.yaml"),
        ("regions.yaml", "schema_version: 1\nregions:\n- code: 31\n", "regions.yaml"),
    ],
)
def test_update_still_refuses_a_broken_file_it_reads(
    ws_dir: Path, runner: CliRunner, file: str, text: str | None, expected: str
) -> None:
    if text is None:
        (ws_dir / file).unlink()
    else:
        (ws_dir / file).write_text(text, encoding="utf-8")
    before = snapshot(ws_dir)
    result = runner.invoke(app, ["update", "T08", "--region", "31", "--status", "in_progress"])
    assert result.exit_code == 1
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(ws_dir) == before


def test_a_task_file_under_another_tasks_name_is_refused(ws_dir: Path, runner: CliRunner) -> None:
    (ws_dir / "T08.yaml").write_text((ws_dir / "T09.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    result = runner.invoke(app, ["update", "T08", "--region", "31", "--status", "in_progress"])
    assert result.exit_code == 1
    assert "the file is T08.yaml but the id is T09" in result.stderr


def test_an_update_is_the_same_and_is_seen_with_a_fresh_or_a_warm_index(ws_dir: Path, runner: CliRunner) -> None:
    show = ["show", "T08", "--region", "上海", "-f", "json"]
    shown = []
    for n, state in enumerate(("fresh", "warm")):
        if state == "fresh":
            index.discard(index.index_path(ws_dir))
        else:
            assert runner.invoke(app, show).exit_code == 0  # the index is built and up to date
        status = ("blocked", "deferred")[n]
        result = runner.invoke(app, ["update", "T08", "--region", "上海", "--status", status])
        assert result.exit_code == 0, result.stderr
        after = runner.invoke(app, show)
        assert after.exit_code == 0, after.stderr
        shown.append(json.loads(after.stdout))
    assert [s["status"] for s in shown] == ["blocked", "deferred"]


def test_a_record_in_ptracks_layout_is_parsed_once_before_and_once_after(
    ws_dir: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from policy_tracker import store

    assert runner.invoke(app, ["update", "T08", "--region", "31", "--status", "in_progress"]).exit_code == 0  # written
    parsed: list[str] = []
    real = store.parse_yaml

    def counted(text: str, shown: str) -> object:
        parsed.append(shown)
        return real(text, shown)

    monkeypatch.setattr(store, "parse_yaml", counted)
    result = runner.invoke(app, ["update", "T08", "--region", "31", "--status", "blocked", "-m", "资金未到位"])
    assert result.exit_code == 0, result.stderr
    expected = ["ptrack.yaml", "regions.yaml", "T08.yaml", *["records/31/T08.yaml"] * 2]  # no other file, no second head
    assert sorted(parsed) == sorted(f"ws/{name}" for name in expected)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="names the synced files through /proc")
def test_an_update_syncs_the_new_file_and_its_folder_once_each(
    ws_dir: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    synced: list[str] = []
    real = os.fsync

    def counted(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(os, "fsync", counted)
    assert not (ws_dir / "records" / "31").exists()
    result = runner.invoke(app, ["update", "T08", "--region", "上海", "--status", "blocked"])
    assert result.exit_code == 0, result.stderr
    # the new content before its rename (the commit); the new folders' entries (records/ in the workspace, the
    # region's in records/); the folder holding the rename
    assert len(synced) == 4
    assert synced[0].startswith(str(ws_dir / ".ptrack-journal"))
    assert synced[1:] == [str(ws_dir), str(ws_dir / "records"), str(ws_dir / "records" / "31")]
    synced.clear()
    result = runner.invoke(app, ["update", "T08", "--region", "上海", "--status", "in_progress"])
    assert result.exit_code == 0, result.stderr
    assert len(synced) == 2 and synced[1] == str(ws_dir / "records" / "31")  # the folder exists: nothing more
