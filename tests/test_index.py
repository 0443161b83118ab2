"""The index: outside the workspace, brought up to date with the files, rebuilt when damaged, same answers fresh or warm."""

from __future__ import annotations

import contextlib
import datetime as dt
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from policy_tracker import index, store
from policy_tracker.cli import app
from policy_tracker.errors import WorkspaceInvalid

from conftest import generated, snapshot


@pytest.fixture
def big(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A generated workspace: 5 tasks × 8 regions with observations, ratings and years of history."""
    root = tmp_path / "big"
    generated(root, 5, 8, 3)
    monkeypatch.setenv("PTRACK_DATA", str(root))
    return root


def _truth(root: Path, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The records as the files say, with no index file at all (an index in memory, built from scratch)."""
    with monkeypatch.context() as m:
        m.setenv("PTRACK_NO_INDEX", "1")
        return [r.model_dump() for r in store.load_region_records(root)]


def _loaded(root: Path) -> list[Any]:
    return [r.model_dump() for r in store.load_region_records(root)]


def test_the_index_lives_outside_the_workspace_and_is_reused(big: Path) -> None:
    before = snapshot(big)
    first = _loaded(big)
    assert index.index_path(big).is_file()
    assert index.index_path(big).is_relative_to(Path(os.environ["XDG_CACHE_HOME"]))
    assert snapshot(big) == before  # nothing written into the workspace
    assert _loaded(big) == first


def test_only_changed_files_are_read_again(big: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _loaded(big)
    path = big / "records" / "12" / "T03.yaml"
    old = path.stat().st_mtime - 3600
    for p in (big / "records").rglob("*.yaml"):
        os.utime(p, (old, old))  # long before the index was written: trusted by their times
    _loaded(big)
    read: list[Path] = []
    original = store._validate

    def spy(model: Any, data: Any, p: Path, lines: Any) -> Any:
        read.append(p)
        return original(model, data, p, lines)

    monkeypatch.setattr(store, "_validate", spy)
    path.write_text(path.read_text(encoding="utf-8").replace("revision:", "revision: ", 1), encoding="utf-8")
    _loaded(big)
    assert read == [path]


@pytest.mark.parametrize("age_s", [0, 3600], ids=["just written", "an hour old"])
def test_an_edit_behind_ptracks_back_with_the_same_size_and_times_is_seen(
    big: Path, monkeypatch: pytest.MonkeyPatch, age_s: int
) -> None:
    path = big / "records" / "11" / "T02.yaml"
    old = path.stat().st_mtime - age_s
    os.utime(path, (old, old))
    _loaded(big)
    text = path.read_text(encoding="utf-8")
    status = next(line for line in text.splitlines() if line.startswith("status: "))
    other = next(s for s in ("blocked", "deferred", "completed") if s not in status)
    edited = text.replace(status, f"status: {other}".ljust(len(status)), 1)
    was = status.removeprefix("status: ").strip()
    if "- field: status" in edited:  # and its history, which must end where the record is (issue 8)
        head, _, last = edited.rpartition("- field: status")
        edited = head + "- field: status" + last.replace(f"new: {was}", f"new: {other}".ljust(len(f"new: {was}")), 1)
    stat = path.stat()
    path.write_text(edited, encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # its size and modification time as before
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (stat.st_size, stat.st_mtime_ns)
    assert _loaded(big) == _truth(big, monkeypatch)
    assert any(r["status"] == other and r["region"] == "11" and r["task"] == "T02" for r in _loaded(big))


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "commit.gpgsign=false", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_a_git_checkout_that_swaps_many_files_is_seen(big: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _git(big, "init", "-q", "-b", "main")
    _git(big, "add", "-A")
    _git(big, "commit", "-q", "-m", "one")
    _git(big, "checkout", "-q", "-b", "other")
    records = sorted((big / "records").rglob("*.yaml"))
    for n, p in enumerate(records):
        text = p.read_text(encoding="utf-8")
        if n % 2:  # same size: only the content differs
            # another author of the same byte length (revision must count the history: issue 8)
            p.write_text(re.sub(r"by: (张三|李四|王芳|赵敏|Li Lei)", "by: 钱七", text, count=1), encoding="utf-8")
        else:
            p.write_text(text.replace("quarterly review", "quarterly check!"), encoding="utf-8")
    records[0].unlink()
    _git(big, "commit", "-q", "-a", "-m", "two")
    on_other = _loaded(big)
    assert on_other == _truth(big, monkeypatch)
    _git(big, "checkout", "-q", "main")
    on_main = _loaded(big)
    assert on_main == _truth(big, monkeypatch) and on_main != on_other
    _git(big, "checkout", "-q", "other")
    assert _loaded(big) == on_other


@pytest.mark.parametrize(
    "damage",
    ["delete", "truncate", "garbage", "zeros", "foreign version"],
)
def test_a_damaged_or_missing_index_is_rebuilt(big: Path, monkeypatch: pytest.MonkeyPatch, damage: str) -> None:
    expected = _loaded(big)
    db = index.index_path(big)
    if damage == "delete":
        index.discard(db)
    elif damage == "truncate":
        size = db.stat().st_size
        with db.open("r+b") as f:
            f.truncate(size // 3)
    elif damage == "garbage":
        db.write_bytes(b"this is not a database\n" * 500)
    elif damage == "zeros":
        with db.open("r+b") as f:
            f.seek(4096)
            f.write(b"\x00" * 40_000)
    else:
        import sqlite3

        with sqlite3.connect(db) as conn:
            conn.execute("UPDATE meta SET value = 'from another ptrack' WHERE key = 'version'")
            conn.execute("DELETE FROM records")  # a foreign index must not be trusted for anything
    assert _loaded(big) == expected == _truth(big, monkeypatch)
    assert _loaded(big) == expected


def test_a_broken_file_is_reported_every_time_and_then_fixed(big: Path) -> None:
    _loaded(big)
    path = big / "records" / "13" / "T01.yaml"
    good = path.read_text(encoding="utf-8")
    path.write_text(good.replace("status:", "status: [", 1), encoding="utf-8")
    for _ in range(2):
        with pytest.raises(WorkspaceInvalid) as e:
            store.load_region_records(big)
        assert "not valid YAML" in str(e.value.problems[0])
    path.write_text(good, encoding="utf-8")
    assert len(_loaded(big)) == 40


def test_a_removed_or_added_file_is_seen(big: Path) -> None:
    assert len(_loaded(big)) == 40
    shutil.rmtree(big / "records" / "14")
    assert len(_loaded(big)) == 35
    assert {r.region for r in store.load_region_records(big, {"15"})} == {"15"}


def _open_together(root: str, barrier: Any, results: Any) -> None:
    barrier.wait()  # both start building the same missing index at once
    results.put(len(store.load_region_records(Path(root))))


@pytest.mark.parametrize("workers", [0, 2], ids=["reading alone", "reading in worker processes"])
def test_two_processes_opening_a_missing_index_at_once(big: Path, monkeypatch: pytest.MonkeyPatch, workers: int) -> None:
    monkeypatch.setattr(index, "_workers", lambda files: workers)  # the forked processes inherit it
    monkeypatch.setattr(index, "CHUNK", 3)
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(2), context.Queue()
    both = [context.Process(target=_open_together, args=(str(big), barrier, results)) for _ in range(2)]
    for w in both:
        w.start()
    counts = [results.get(timeout=120) for _ in both]
    for w in both:
        w.join(timeout=120)
        assert w.exitcode == 0
    assert counts == [40, 40]
    assert len(_loaded(big)) == 40


READ_COMMANDS = [
    ("list", "--goal", "2030", "-f", "csv"),
    ("list", "--goal", "2030", "--component", "green", "--sort", "title", "-f", "table"),
    ("list", "--chapter", "3", "--status", "not_started", "-f", "markdown"),
    ("list", "--search", "城市更新", "-f", "json"),
    ("list", "--region", "CN", "-f", "csv"),
    ("list", "--region", "12", "-f", "json"),
    ("list", "--goal", "2030", "--region", "CN", "-f", "markdown"),
    ("show", "T02", "--region", "13", "-f", "json"),
    ("log", "-f", "csv"),
    ("log", "--region", "11", "--since", "2024-01-01", "-f", "json"),
    ("log", "T03", "--by", "王芳", "-f", "csv"),
    ("progress", "--region", "CN", "--as-of", "2026-06-30", "-f", "json"),
    ("report", "--region", "CN", "--as-of", "2026-06-30", "--since", "2025-01-01"),
    ("export", "-f", "csv"),
    ("export", "-f", "json", "--region", "21"),
    ("validate",),
]


@pytest.mark.parametrize("args", READ_COMMANDS, ids=[" ".join(a) for a in READ_COMMANDS])
def test_every_command_gives_the_same_output_with_a_fresh_and_a_warm_index(big: Path, args: tuple[str, ...]) -> None:
    runner = CliRunner()
    outputs = []
    for state in ("fresh", "warm", "partial"):
        if state == "fresh":
            index.discard(index.index_path(big))
        elif state == "partial":  # built by a narrower command, then one record changed behind its back
            index.discard(index.index_path(big))
            assert runner.invoke(app, ["list", "--region", "11", "-f", "csv"]).exit_code == 0
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, result.stderr
        outputs.append(result.stdout.replace(str(big), "WS"))
    assert outputs[0] == outputs[1] == outputs[2]
    assert outputs[0].strip()


def test_undo_finds_the_newest_change_through_the_index(big: Path, runner: CliRunner) -> None:
    result = runner.invoke(app, ["update", "T02", "--region", "13", "--status", "blocked", "--by", "测试"])
    assert result.exit_code == 0, result.stderr
    log = runner.invoke(app, ["log", "-f", "csv"]).stdout.splitlines()
    assert "测试" in log[1]
    change = log[1].split(",")[1]
    result = runner.invoke(app, ["undo", "--by", "测试", "--dry-run"])
    assert result.exit_code == 0, result.stderr
    assert change in result.stdout


@pytest.mark.parametrize("size", [1, 2, 1000])
def test_log_streams_the_same_text_as_it_would_print_at_once(big: Path, size: int) -> None:
    from policy_tracker import query, render

    ws = store.load_workspace(big)
    rows = list(store.history(ws))
    assert len(rows) > 100
    pairs = [("CN", t) for t in ws.tasks] + [(r.region, r) for r in store.load_region_records(big)]
    assert [(r.task, r.region, r.entry) for r in rows] == [(r.task, r.region, r.entry) for r in query.history_rows(pairs)]
    for few in (rows[:0], rows[:1], rows[:5], rows):
        assert "".join(render.history_json_chunks(few, size)) == render.dump_json(
            [{"task": r.task, "region": r.region, **r.entry.model_dump(mode="json")} for r in few]
        )
        csv_text = "".join(render.history_csv_chunks(few, ws, size))
        assert csv_text.count("\n") == len(few) + 1 + sum(r.entry.note.count("\n") if r.entry.note else 0 for r in few)
        assert csv_text == "".join(render.history_csv_chunks(few, ws, 10**6))


def test_a_listing_longer_than_the_screen_goes_to_the_pager_as_plain_rows(big: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import pydoc

    from rich.console import Console

    from policy_tracker import query, render

    ws = store.load_workspace(big)
    rows = query.region_rows(ws.tasks, store.load_region_records(big, shallow=True))
    paged: list[str] = []
    monkeypatch.setattr(pydoc, "pager", paged.append)
    screen = Console(file=io.StringIO(), force_terminal=True, width=100, height=10)
    render.print_rows(screen, ws, rows, "both", "title")
    assert screen.file.getvalue() == ""  # type: ignore[attr-defined]
    (text,) = paged
    lines = text.splitlines()
    assert lines[0] == "title" and len(lines) == len(rows) + 2
    assert "\x1b" not in text and lines[2].startswith("T01  11 北京市")
    render.print_rows(screen, ws, rows[:5], "both", "title")  # a screenful: the table as before
    assert len(paged) == 1 and "T01" in screen.file.getvalue()  # type: ignore[attr-defined]


def test_a_locked_or_unwritable_index_is_kept_and_the_answer_built_in_memory(big: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3

    expected = _loaded(big)
    db = index.index_path(big)
    before = db.read_bytes()
    original = index.Index.refresh
    calls: list[Path | None] = []

    def locked_once(self: index.Index, *args: Any) -> None:
        calls.append(self.path)
        if self.path is not None:
            raise sqlite3.OperationalError("database is locked")
        original(self, *args)

    monkeypatch.setattr(index.Index, "refresh", locked_once)
    assert _loaded(big) == expected
    assert calls == [db, None]  # the file first, then an index in memory
    assert db.read_bytes() == before  # not deleted, not rebuilt: another ptrack may be using it


def _settled(root: Path, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Index `root` so that the next command may trust every folder's listing and every file's times.

    Times within RACY_NS of the indexing are never trusted; a test cannot wait two seconds, so it trusts any
    time before the indexing instead (the racy case has its own tests above).
    """
    monkeypatch.setattr(index, "RACY_NS", 0)
    first = _loaded(root)
    assert _loaded(root) == first
    return first


class _Looked:
    """Which folders were listed and which files read and validated while it was installed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.listed: list[str] = []
        self.read: list[Path] = []
        scandir, validate = os.scandir, store._validate

        def listing(path: Any = ".") -> Any:
            self.listed.append(Path(path).name)
            return scandir(path)

        def reading(model: Any, data: Any, p: Path, lines: Any) -> Any:
            self.read.append(p)
            return validate(model, data, p, lines)

        monkeypatch.setattr(os, "scandir", listing)
        monkeypatch.setattr(store, "_validate", reading)


def test_nothing_changed_lists_no_folder_and_reads_no_file(big: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = _settled(big, monkeypatch)
    looked = _Looked(monkeypatch)
    assert _loaded(big) == first
    assert looked.listed == ["records"] and looked.read == []  # the folders' own times vouch for their listings


def test_a_file_edited_in_place_in_a_folder_whose_times_did_not_change_is_read_again(
    big: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _settled(big, monkeypatch)
    path = big / "records" / "12" / "T03.yaml"
    folder = path.parent.stat()
    path.write_text(path.read_text(encoding="utf-8").replace("revision:", "revision: ", 1), encoding="utf-8")
    os.utime(path, ns=(folder.st_atime_ns, folder.st_mtime_ns))  # even dated back to before the indexing
    assert (path.parent.stat().st_mtime_ns, path.parent.stat().st_ctime_ns) == (folder.st_mtime_ns, folder.st_ctime_ns)
    looked = _Looked(monkeypatch)
    assert _loaded(big) == _truth(big, monkeypatch)
    assert looked.read[:1] == [path] and "12" not in looked.listed[:2]  # its listing trusted, the file not


@pytest.mark.parametrize("change", ["added", "removed", "renamed"])
def test_a_file_added_removed_or_renamed_is_seen_even_with_its_folder_dated_back(
    big: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    _settled(big, monkeypatch)
    folder = big / "records" / "13"
    was = folder.stat()
    if change == "added":  # another region's record copied in, then made this region's
        text = (big / "records" / "14" / "T05.yaml").read_text(encoding="utf-8")
        (folder / "T05.yaml").unlink()
        (big / "records" / "13" / "T05.yaml").write_text(text.replace("region: '14'", "region: '13'"), encoding="utf-8")
    elif change == "removed":
        (folder / "T02.yaml").unlink()
    else:
        (folder / "T02.yaml").rename(folder / "T09.yaml")
    os.utime(folder, ns=(was.st_atime_ns, was.st_mtime_ns))  # the change time still moves: the listing is read again
    if change == "renamed":
        with pytest.raises(WorkspaceInvalid) as e:
            _loaded(big)
        assert "T09.yaml" in str(e.value.problems[0]) and "belongs at records/13/T02.yaml" in str(e.value.problems[0])
        return
    records = _loaded(big)
    assert records == _truth(big, monkeypatch)
    assert len(records) == (40 if change == "added" else 39)


def test_a_left_over_temporary_file_or_a_link_is_reported_every_time(big: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _settled(big, monkeypatch)
    leftover = big / "records" / "11" / ".T01.yaml.tmp"
    leftover.write_text("half", encoding="utf-8")
    (big / "records" / "15" / "T09.yaml").symlink_to(big / "records" / "15" / "T01.yaml")
    runner = CliRunner()
    outputs = [runner.invoke(app, ["validate"]) for _ in range(3)]
    for result in outputs:
        assert result.exit_code == 1
        assert "records/11/.T01.yaml.tmp: left over from an interrupted write" in result.stdout
        assert "records/15/T09.yaml: a symbolic link" in result.stdout
    assert outputs[0].stdout == outputs[1].stdout == outputs[2].stdout


def test_files_read_in_worker_processes_give_the_same_index_and_problems(big: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = big / "records" / "13" / "T01.yaml"
    broken.write_text(broken.read_text(encoding="utf-8").replace("status:", "status: [", 1), encoding="utf-8")
    misplaced = big / "records" / "22" / "T04.yaml"
    misplaced.write_text((big / "records" / "23" / "T04.yaml").read_text(encoding="utf-8"), encoding="utf-8")

    def index_with(workers: int) -> tuple[list[Any], str]:
        monkeypatch.setattr(index, "_workers", lambda files: workers)
        index.discard(index.index_path(big))
        result = CliRunner().invoke(app, ["validate"])
        assert result.exit_code == 1
        broken.write_text(broken.read_text(encoding="utf-8").replace("status: [", "status:", 1), encoding="utf-8")
        misplaced.unlink()
        records = _loaded(big)  # the two files are read again, here: the rest comes from the workers' rows
        assert records == _truth(big, monkeypatch) and len(records) == 39
        broken.write_text(broken.read_text(encoding="utf-8").replace("status:", "status: [", 1), encoding="utf-8")
        misplaced.write_text((big / "records" / "23" / "T04.yaml").read_text(encoding="utf-8"), encoding="utf-8")
        return records, result.stdout

    monkeypatch.setattr(index, "CHUNK", 3)  # many chunks, several in flight
    in_workers = index_with(2)
    assert in_workers == index_with(0)
    lines = in_workers[1].splitlines()
    assert "records/13/T01.yaml" in lines[0] and "not valid YAML" in lines[0]
    assert "records/22/T04.yaml" in lines[1] and "belongs at records/23/T04.yaml" in lines[1]


_PARENT = os.getpid()
_PREPARE_ALL = index._prepare_all


def _dies_in_a_worker(*args: Any) -> Any:
    """`_prepare_all`, except that a worker given province 13's files ends as the out-of-memory killer ends one."""
    if os.getpid() != _PARENT and args[1][0][0] == "13":
        os._exit(9)
    return _PREPARE_ALL(*args)


def test_a_worker_killed_while_reading_leaves_the_rest_to_the_command_itself(big: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index, "CHUNK", 3)
    monkeypatch.setattr(index, "_prepare_all", _dies_in_a_worker)
    monkeypatch.setattr(index, "_workers", lambda files: 2)
    index.discard(index.index_path(big))
    result = CliRunner().invoke(app, ["validate"])
    assert result.exit_code == 0, result.output
    assert _loaded(big) == _truth(big, monkeypatch)


def test_the_cross_checks_found_in_sql_are_those_of_every_record_checked_in_python(big: Path) -> None:
    from policy_tracker.index import Checked

    records = big / "records"
    path = records / "11" / "T02.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("trillion_gdp_cities", "no_such_indicator"), "utf-8")
    text = (records / "13" / "T01.yaml").read_text(encoding="utf-8")
    for code in ("110000", "Yrd", "YRD"):  # a retired code; two that differ only in case
        (records / code).mkdir()
        (records / code / "T01.yaml").write_text(text.replace("region: '13'", f"region: '{code}'"), encoding="utf-8")
    ws = store.load_workspace(big)
    every = [
        Checked(records / r.region / f"{r.task}.yaml", r.task, r.region, r.owner, tuple(i.id for i in r.indicators))
        for r in store.load_region_records(big)
    ]
    expected = [str(p) for p in store._check_records(ws, every, store._LineFinder())]
    assert len(expected) == 4  # the unknown indicator, the retired code, Yrd (YRD's twin but for case, and unknown)
    result = CliRunner().invoke(app, ["validate"])
    assert result.exit_code == 1
    shown = [line for line in result.stdout.splitlines() if line.strip()]
    assert [s.replace(str(big), "") for s in shown] == [e.replace(str(big), "") for e in expected]
    assert "records/Yrd/T01.yaml:3: region: duplicate record: " in result.stdout
    assert "records/11/T02.yaml:24: indicators[1].id: task T02 defines no indicator no_such_indicator" in result.stdout


def _index_names(root: Path) -> set[str]:
    import sqlite3

    with contextlib.closing(sqlite3.connect(index.index_path(root))) as db:
        return {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")}


def test_a_bulk_load_over_a_partial_index_gives_the_same_index(big: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index, "BULK_MIN", 1)  # indexes dropped while writing, made again at the end
    monkeypatch.setattr(index, "BATCH", 7)
    assert {r.region for r in store.load_region_records(big, {"11"})} == {"11"}  # a partial index first
    (big / "records" / "11" / "T01.yaml").write_text(
        (big / "records" / "11" / "T01.yaml").read_text(encoding="utf-8") + "\n", encoding="utf-8"
    )  # one of its files changed too
    assert _loaded(big) == _truth(big, monkeypatch)
    assert _index_names(big) >= set(index._INDEX_NAMES)
    runner = CliRunner()
    assert runner.invoke(app, ["validate"]).exit_code == 0


def test_a_bulk_load_interrupted_leaves_an_index_that_is_completed_next_time(big: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index, "BULK_MIN", 1)
    monkeypatch.setattr(index, "BATCH", 7)
    original = store._load_record
    seen: list[Path] = []

    def interrupted(path: Path, raw: bytes) -> Any:
        seen.append(path)
        if len(seen) == 20:
            raise KeyboardInterrupt
        return original(path, raw)

    monkeypatch.setattr(store, "_load_record", interrupted)
    with pytest.raises(KeyboardInterrupt):
        store.load_region_records(big)
    assert not _index_names(big) & set(index._INDEX_NAMES)  # dropped, and not made again yet
    monkeypatch.setattr(store, "_load_record", original)
    assert _loaded(big) == _truth(big, monkeypatch)
    assert _index_names(big) >= set(index._INDEX_NAMES)


@settings(max_examples=500, deadline=None)
@given(
    st.datetimes(min_value=dt.datetime(1000, 1, 2), max_value=dt.datetime(9999, 12, 30)),
    st.integers(-14 * 60, 14 * 60),
    st.sampled_from(["seconds", "milliseconds", "microseconds"]),
)
def test_a_history_time_is_indexed_as_the_slow_parse_gives_it(moment: dt.datetime, offset: int, spec: str) -> None:
    from policy_tracker import clock, query

    at = moment.replace(tzinfo=dt.timezone(dt.timedelta(minutes=offset))).isoformat(timespec=spec)
    reference = query.instant(at)
    utc = reference.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")
    assert index._utc(at) == (utc, clock.china_day(reference).isoformat())


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(_json)
def test_the_index_writes_json_that_reads_as_the_standard_library_writes_it(data: Any) -> None:
    import json

    ours, standard = json.loads(index._dumps(data)), json.loads(json.dumps(data, ensure_ascii=False, separators=(",", ":")))
    assert repr(ours) == repr(standard)  # repr: NaN is not equal to itself


# ---------------------------------------------------------------------------------------------- the dataset files


def _list(runner: CliRunner, *args: str) -> Any:
    return runner.invoke(app, ["list", "--goal", "2030", "-f", "csv", *args])


@pytest.mark.parametrize("age_s", [0, 3600], ids=["just written", "an hour old"])
def test_a_task_file_edited_behind_ptracks_back_with_the_same_size_and_time_is_seen(big: Path, age_s: int) -> None:
    runner = CliRunner()
    path = big / "T02.yaml"
    old = path.stat().st_mtime - age_s
    os.utime(path, (old, old))
    assert "not_started" in _list(runner).stdout.splitlines()[2]
    text = path.read_text(encoding="utf-8")
    stat = path.stat()
    path.write_text(text.replace("status: not_started", "status: deferred   ", 1), encoding="utf-8")  # same size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (stat.st_size, stat.st_mtime_ns)
    result = _list(runner)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[2].split(",")[:2] == ["T02", "CN"]
    assert ",deferred," in result.stdout.splitlines()[2]


def test_a_broken_task_file_gives_the_same_error_fresh_and_warm_and_then_is_fixed(big: Path) -> None:
    runner = CliRunner()
    good_output = _list(runner).stdout  # the index now holds the dataset
    path = big / "goals.yaml"
    good = path.read_text(encoding="utf-8")
    path.write_text(good.replace("goals:", "goals: [", 1), encoding="utf-8")
    errors = []
    for fresh in (True, False, False):
        if fresh:
            index.discard(index.index_path(big))
        result = _list(runner)
        assert result.exit_code == 1
        assert result.stdout == ""
        errors.append(result.stderr)
    assert errors[0] == errors[1] == errors[2]
    assert "goals.yaml" in errors[0] and "Traceback" not in errors[0]
    path.write_text(good, encoding="utf-8")
    assert _list(runner).stdout == good_output


def test_an_added_or_removed_task_file_is_seen(big: Path) -> None:
    runner = CliRunner()
    assert _list(runner).exit_code == 0
    (big / "T24.yaml").write_text((big / "T23.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    result = _list(runner)
    assert result.exit_code == 1 and "T24.yaml" in result.stderr
    (big / "T24.yaml").unlink()
    assert _list(runner).exit_code == 0
    (big / "T23.yaml").unlink()
    result = _list(runner)
    assert result.exit_code == 1 and "missing task files: T23.yaml" in result.stderr


# What a listing must not load once the index is warm: the models (pydantic), the YAML readers and writers, the
# assessment and its renderers, the workbook. A regression here costs every listing its start-up (issue 13).
_NOT_ON_THE_READ_PATH = (
    "pydantic", "pydantic_core", "policy_tracker.models", "policy_tracker.store", "yaml", "ruamel", "rich",
    "policy_tracker.render", "policy_tracker.progress", "policy_tracker.assessment", "policy_tracker.matrix", "openpyxl",
    "docx", "typer._adapters",
)  # fmt: skip


@pytest.mark.parametrize(
    "args",
    [("list", "--goal", "2030"), ("list", "--chapter", "3", "--sort", "status", "-q", "城市"), ("list", "--region", "CN")],
)
def test_a_warm_piped_listing_loads_no_models_yaml_or_rich(big: Path, tmp_path: Path, args: tuple[str, ...]) -> None:
    modules = tmp_path / "modules.txt"
    code = (
        "import sys\n"
        "from policy_tracker.launch import main\n"
        f"sys.argv = ['ptrack', *{list(args)!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"open({str(modules)!r}, 'w').write('\\n'.join(sorted(sys.modules)))\n"
    )
    outputs = []
    for _ in ("fresh", "warm"):
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ)
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1] and outputs[0].startswith("id,region,")
    loaded = modules.read_text(encoding="utf-8").split()
    assert "policy_tracker.dataset" in loaded  # it did answer from the index
    assert [m for m in loaded if m.split(".")[0] in _NOT_ON_THE_READ_PATH or m in _NOT_ON_THE_READ_PATH] == []
