"""Analysts' formats: a SQLite database that answers SQL, and a long observations CSV that pandas types right."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from policy_tracker import store
from policy_tracker.analysis import OBSERVATION_COLUMNS, period_bounds
from policy_tracker.cli import app


@pytest.mark.parametrize(
    ("date", "bounds"),
    [
        ("2024", ("2024-01-01", "2024-12-31")),
        ("2024-02", ("2024-02-01", "2024-02-29")),
        ("2023-06-30", ("2023-06-30", "2023-06-30")),
    ],
)
def test_a_date_covers_its_period(date: str, bounds: tuple[str, str]) -> None:
    assert period_bounds(date) == bounds


def update(runner: CliRunner, *args: str) -> None:
    result = runner.invoke(app, ["update", *args, "--by", "张三"])
    assert result.exit_code == 0, result.output


def test_the_sqlite_export_answers_sql(ws_dir: Path, runner: CliRunner, tmp_path: Path) -> None:
    update(runner, "T08", "--region", "31", "--status", "in_progress", "--note", "批复")
    update(
        runner,
        "T08",
        "--region",
        "31",
        "-i",
        "old_compound_renovation_starts=12345678.5",
        "--date",
        "2026-03",
        "--source",
        "沪3号",
    )
    db_path = tmp_path / "tracker.db"
    result = runner.invoke(app, ["export", "-o", str(db_path)])
    assert result.exit_code == 0, result.output
    db = sqlite3.connect(db_path)
    try:
        assert db.execute("SELECT count(*) FROM tasks").fetchone() == (23,)
        assert db.execute("SELECT status, revision FROM records WHERE task = 'T08' AND region = '31'").fetchone() == (
            "in_progress",
            2,
        )
        row = db.execute(
            """SELECT o.value, o.period_end, i.unit FROM observations o
               JOIN indicators i ON i.task = o.task AND i.id = o.indicator
               WHERE o.region = '31' AND o.indicator = 'old_compound_renovation_starts'"""
        ).fetchone()
        assert row[0] == 12345678.5 and row[1] == "2026-03-31" and row[2]
        national = db.execute("SELECT count(*) FROM observations WHERE region = 'CN' AND value IS NOT NULL").fetchone()[0]
        assert national > 20  # the bundled figures, numbers as numbers
        assert db.execute("SELECT count(*) FROM targets WHERE region = 'CN'").fetchone()[0] > 0
        fields = db.execute("SELECT field, new FROM history WHERE task = 'T08' AND region = '31' ORDER BY at").fetchall()
        assert fields[0] == ("status", '"in_progress"')
        assert db.execute("SELECT typeof(value) FROM observations WHERE value IS NOT NULL LIMIT 1").fetchone() == ("real",)
    finally:
        db.close()


def test_the_observations_csv_reads_into_pandas_with_numeric_values_and_dates(ws_dir: Path, runner: CliRunner) -> None:
    pd = pytest.importorskip("pandas")
    update(runner, "T08", "--region", "31", "-i", "old_compound_renovation_starts=-0.5", "--date", "2026", "--source", "=1+1")
    result = runner.invoke(app, ["export", "--format", "observations"])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(io.StringIO(result.stdout), parse_dates=["date", "period_start"], dtype={"region": str})
    assert list(frame.columns) == list(OBSERVATION_COLUMNS)
    assert pd.api.types.is_float_dtype(frame["value"])
    assert pd.api.types.is_datetime64_any_dtype(frame["date"]) and pd.api.types.is_datetime64_any_dtype(frame["period_start"])
    mine = frame[(frame.region == "31") & (frame.indicator == "old_compound_renovation_starts")].iloc[0]
    assert mine.value == -0.5 and mine.date == pd.Timestamp("2026-12-31") and mine.source == "'=1+1"
    # every stored figure comes back as exactly the same float
    ws = store.load_workspace(ws_dir)
    stored: dict[tuple[str, str, str], list[float | None]] = {}
    for t in ws.tasks:
        for i in t.indicators:
            for o in i.observations:
                stored.setdefault((t.id, i.id, o.date), []).append(o.value)
    national = frame[frame.region == "CN"]
    assert len(national) == sum(len(v) for v in stored.values())
    for row in national.itertuples():
        values = stored[(row.task, row.indicator, str(row.date_as_published))]
        assert (pd.isna(row.value) and None in values) or row.value in values


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15))
def test_any_number_survives_the_long_csv(value: float) -> None:
    pd = pytest.importorskip("pandas")
    from policy_tracker.analysis import observations_csv
    from policy_tracker.models import IndicatorData, Observation, RegionRecord

    obs = Observation(date="2025", value=value, source="s")
    record = RegionRecord(schema_version=1, task="T08", region="31", indicators=[IndicatorData(id="x", observations=[obs])])
    frame = pd.read_csv(io.StringIO(observations_csv([("31", record)])))
    assert frame["value"].iloc[0] == value
