"""Reads of every record stream from the index's rows: progress, report and matrix assess region records one at a
time with only the history entries the as-of date needs, and a listing by task writes rows as they come. The same
answers as whole records, never every record held."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from policy_tracker import clock, index, progress, query, store
from policy_tracker.cli import app

from conftest import generated


@pytest.fixture
def big(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A generated workspace: 5 tasks × 8 regions with observations, ratings, notes and years of history."""
    root = tmp_path / "big"
    generated(root, 5, 8, 3)
    monkeypatch.setenv("PTRACK_DATA", str(root))
    return root


def _moments(records: list[Any]) -> list[dt.datetime]:
    """Before every change, exactly at some changes (an entry at the moment counts as known), between, after all."""
    times = sorted({query.instant(h.at) for r in records for h in r.history})
    picked = [times[0] - dt.timedelta(days=1), *times[:: max(1, len(times) // 6)], times[-1] + dt.timedelta(days=1)]
    return [*picked, picked[2] + dt.timedelta(hours=12), dt.datetime.combine(dt.date(2024, 6, 30), dt.time.max, clock.CHINA)]


def test_records_streamed_from_the_rows_are_as_of_the_date_exactly_as_whole_records_are(big: Path) -> None:
    whole = store.load_region_records(big)
    tasks = {t.id: t for t in store.load_workspace(big).tasks}
    seen = {"none": 0, "replayed": 0, "noted": 0}
    for moment in _moments(whole):
        day = moment.astimezone(clock.CHINA).date()
        parts = list(store.region_records_as_of(big, None, moment))
        assert [(p.record.task, p.record.region) for p in parts] == [(r.task, r.region) for r in whole]
        for record, part in zip(whole, parts, strict=True):
            assert part.record.history == []  # the history stays in the index
            old = progress.as_of_record(record, moment)
            new = progress.as_of_parts(part.record, part.later, part.earlier)
            if old is None:
                assert new is None
                seen["none"] += 1
                continue
            assert new is not None
            assert new.model_dump(exclude={"history"}) == old.model_dump(exclude={"history"})
            notes = [h.note for h in old.history if h.note]
            assert part.note == (notes[-1] if notes else None)
            row = query.RecordRow(tasks[record.task], record.region, old)
            assert progress.task_progress(query.RecordRow(row.task, row.region, new), day, latest_note=part.note) == (
                progress.task_progress(row, day)
            )
            seen["replayed"] += bool(part.later)
            seen["noted"] += part.note is not None
    assert all(seen.values()), seen  # each case was met


def test_an_assessment_after_every_change_reads_no_history_entry(big: Path) -> None:
    after = dt.datetime(2100, 1, 1, tzinfo=clock.CHINA)
    parts = list(store.region_records_as_of(big, {"11", "12"}, after))
    assert len(parts) == 10
    assert all(p.later == () and p.record.history == [] and p.earlier > 0 for p in parts)


def test_the_changes_in_a_period_come_from_the_rows_in_the_order_of_whole_records(big: Path) -> None:
    whole = store.load_region_records(big)
    rows = query.region_rows(store.load_workspace(big).tasks, whole)
    moments = _moments(whole)
    for since, until in zip(moments, moments[3:], strict=False):
        old = [(r.task.id, r.region, h) for r, h in progress.history_between(rows, since, until)]
        assert store.region_changes(big, None, since, until) == old


SCOPED = [
    ("progress", "--region", "CN", "-f", "json"),
    ("progress", "--region", "CN", "--as-of", "2024-06-30", "-f", "json"),
    ("progress", "--region", "11", "--goal", "2030", "--as-of", "2021-01-01", "-f", "json"),
    ("report", "--region", "CN", "--as-of", "2024-06-30", "--since", "2022-01-01"),
    ("report", "--region", "12", "--since", "2021-01-01", "--lang", "zh"),
    ("matrix", "--region", "CN", "-f", "csv", "--as-of", "2023-12-31"),
    ("matrix", "--region", "CN", "-f", "json"),
]


@pytest.mark.parametrize("args", SCOPED, ids=[" ".join(a) for a in SCOPED])
def test_scoped_assessments_never_load_whole_records_and_agree_fresh_and_warm(
    big: Path, args: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_: Any) -> Any:
        raise AssertionError("a whole record was loaded")

    monkeypatch.setattr(index.Index, "records", refuse)
    runner, outputs = CliRunner(), []
    for state in ("fresh", "warm"):
        if state == "fresh":
            index.discard(index.index_path(big))
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, result.stderr
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1]
    assert outputs[0].strip()


LISTINGS = [
    ("--region", "CN"),
    ("--region", "CN", "--status", "blocked", "--status", "completed"),
    ("--region", "11", "--goal", "2030"),
    ("--region", "CN", "--chapter", "二", "--search", "城市"),
    ("--region", "12", "--component", "2"),
    ("--region", "13", "--status", "deferred", "--sort", "id"),
]


@pytest.mark.parametrize("args", LISTINGS, ids=[" ".join(a) for a in LISTINGS])
def test_a_listing_by_task_streams_the_rows_a_listing_of_whole_summaries_gives(
    big: Path, tmp_path: Path, args: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty"
    store.init_workspace(empty)
    # a roll-up with an empty workspace still lists summary objects sorted in Python; it adds an origin column
    rolled = CliRunner().invoke(app, ["list", *args, "-f", "csv", "--with", str(empty)])
    assert rolled.exit_code == 0, rolled.stderr
    lines = rolled.stdout.splitlines()
    expected = "".join((line.rsplit(",", 1)[0] if lines[0].endswith(",origin") else line) + "\n" for line in lines)

    def refuse(*_: Any) -> Any:
        raise AssertionError("a summary object was made per record")

    monkeypatch.setattr(index.Index, "summaries", refuse)
    monkeypatch.setattr(index.Index, "records", refuse)
    result = CliRunner().invoke(app, ["list", *args, "-f", "csv"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == expected
    assert len(lines) > 1


EXPORTS = [("csv", ()), ("json", ("--region", "11")), ("observations", ()), ("csv", ("--region", "12"))]


@pytest.mark.parametrize(("kind", "args"), EXPORTS, ids=[f"{k} {' '.join(a)}" for k, a in EXPORTS])
def test_an_export_streams_the_bytes_whole_records_give(big: Path, kind: str, args: tuple[str, ...]) -> None:
    from policy_tracker import analysis, exchange, render

    ws = store.load_workspace(big)
    members = query.region_members(ws.regions, args[1]) if args else None
    pairs: list[Any] = [("CN", t) for t in ws.tasks] if members is None or "CN" in members else []
    pairs += [(r.region, r) for r in store.load_region_records(big, members)]
    expected = {
        "csv": lambda: exchange.export_csv(exchange.export_rows(pairs)),
        "json": lambda: render.records_json(pairs).encode("utf-8"),
        "observations": lambda: analysis.observations_csv(pairs).encode("utf-8"),
    }[kind]()
    result = CliRunner().invoke(app, ["export", "-f", kind, *args])
    assert result.exit_code == 0, result.stderr
    assert result.stdout_bytes == expected
    assert len(expected) > 1000


@pytest.mark.parametrize("args", [("export", "-f", "csv"), ("export", "-f", "json"), ("list", "--region", "CN", "-f", "csv")])
def test_a_broken_record_stops_a_streamed_output_before_it_writes_anything(
    big: Path, args: tuple[str, ...], tmp_path: Path
) -> None:
    CliRunner().invoke(app, list(args))  # a warm index: the broken file is found when the stream is brought up to date
    (big / "records" / "12" / "T03.yaml").write_text("task: [unclosed\n", encoding="utf-8")
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 1
    assert result.stdout_bytes == b""
    assert "T03.yaml" in result.stderr
    out = tmp_path / "out.csv"
    out.write_text("before", encoding="utf-8")
    assert CliRunner().invoke(app, [*args, "-o", str(out)]).exit_code == (1 if args[0] == "export" else 2)
    assert out.read_text(encoding="utf-8") == "before"


@pytest.mark.parametrize("as_of", [None, "2023-06-30"])
def test_a_matrix_assesses_only_its_columns_and_counts_the_regions_inside_them_as_a_whole_assessment_does(
    big: Path, as_of: str | None
) -> None:
    from policy_tracker import cli, render
    from policy_tracker.matrix import build_matrix

    runner = CliRunner()
    for county, task in (("110101", "T02"), ("110102", "T02"), ("110101", "T04")):  # two districts of Beijing report
        result = runner.invoke(app, ["update", task, "--region", county, "--status", "blocked", "--by", "测试"])
        assert result.exit_code == 0, result.stderr
    (big / "records" / "11" / "T02.yaml").unlink()  # Beijing itself has not: 未报送 · 下辖2个已报送
    dated = ["--as-of", as_of] if as_of else []
    ws = store.load_workspace(big)
    for scope in ("CN", "11"):
        _, assessed, region, _ = cli._assess(ws, None, scope, as_of, "linear", None)  # every record, as before
        whole = build_matrix(ws.tasks, ws.regions, region, assessed, max_columns=None)
        for fmt, rendered in (("csv", render.matrix_csv), ("json", render.matrix_json)):
            result = runner.invoke(app, ["matrix", "--region", scope, "-f", fmt, *dated])
            assert result.exit_code == 0, result.stderr
            assert result.stdout == rendered(whole, "both")
    table = runner.invoke(app, ["matrix", "--region", "CN", "-f", "table", "--lang", "zh", *dated], terminal_width=250)
    assert table.exit_code == 0, table.stderr
    assert ("下辖" in table.stdout) is (as_of is None)  # the districts reported after 2023


@pytest.mark.parametrize(("scope", "as_of", "goal"), [("CN", None, None), ("CN", "2023-06-30", "2030"), ("11", None, None)])
def test_progress_json_is_written_task_by_task_as_the_whole_assessment_writes_it(
    big: Path, scope: str, as_of: str | None, goal: str | None
) -> None:
    from policy_tracker import cli, render

    runner = CliRunner()
    result = runner.invoke(app, ["update", "T02", "--region", "110101", "--status", "blocked", "--by", "测试"])
    assert result.exit_code == 0, result.stderr
    for own in (big / "records" / "11").iterdir():  # Beijing has no record of its own: reported through a district
        own.unlink()
    ws = store.load_workspace(big)
    day, assessed, region, _ = cli._assess(ws, goal, scope, as_of, "linear", None)  # every record held, as before
    expected = render.progress_json(cli._overview(ws, goal, day, assessed, region, "linear", None))
    options = [*(["--as-of", as_of] if as_of else []), *(["--goal", goal] if goal else [])]
    result = runner.invoke(app, ["progress", "--region", scope, "-f", "json", *options])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == expected
    if scope == "CN" and as_of is None:
        assert "北京市" in json.loads(result.stdout)["region"]["headline_zh"].split("已报送")[-1]  # counted through 110101
