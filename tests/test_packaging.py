"""A non-editable install carries the bundled dataset and works from any directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import REPO


def test_wheel_install_runs_from_another_directory(tmp_path: Path) -> None:
    dist, site, elsewhere = tmp_path / "dist", tmp_path / "site", tmp_path / "elsewhere"
    elsewhere.mkdir()
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(dist), str(REPO)], check=True, capture_output=True)
    (wheel,) = dist.glob("ptrack-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True, capture_output=True)
    assert (site / "policy_tracker" / "_bundled" / "T08.yaml").is_file()

    env = {**os.environ, "PYTHONPATH": str(site), "XDG_DATA_HOME": str(tmp_path / "data")}
    env.pop("PTRACK_DATA", None)
    run = subprocess.run(
        [sys.executable, "-m", "policy_tracker", "list", "--goal", "2030", "--format", "json"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert len(json.loads(run.stdout)) == 23
    assert "Created your workspace" in run.stderr
    where = subprocess.run(
        [sys.executable, "-c", "import policy_tracker.store as s; print(s.bundled_dataset())"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.strip().startswith(str(site))
