"""The benchmark keeps working: a tiny run of it (timing is never asserted; the figures live in docs/)."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO


def test_the_benchmark_runs_in_smoke_mode() -> None:
    command = [sys.executable, str(REPO / "benchmarks" / "run.py"), "--smoke"]
    run = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.startswith("Machine: ")
    rows = [line for line in run.stdout.splitlines() if line.startswith("| ")]
    assert rows[0] == "| case | median (s) | × import floor | peak memory (MiB) |"
    names = [row.split(" | ")[0].lstrip("| ") for row in rows[1:]]
    expected = [
        "import floor: typer, rich, pydantic, yaml",
        "ptrack --version",
        "list --goal 2030, bundled dataset",
        "update one record, 12 records",
        "import a 1,000-row CSV, 12 records",
        "validate, 12 records, warm",
        "report, Word, 46 records, warm",
        "export, workbook, 46 records, warm",
    ]
    assert set(expected) <= set(names)
    assert any(name.startswith(("task +TAG list", "Taskwarrior")) for name in names)  # measured, or skipped with a reason
    assert any(name.startswith(("doorstop", "Doorstop")) for name in names)
