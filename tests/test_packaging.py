"""A non-editable install carries the bundled dataset and works from any directory; the sdist holds what its tests need."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from conftest import REPO


def test_wheel_install_runs_from_another_directory(tmp_path: Path) -> None:
    dist, site, elsewhere = tmp_path / "dist", tmp_path / "site", tmp_path / "elsewhere"
    elsewhere.mkdir()
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(dist), str(REPO)], check=True, capture_output=True)
    (wheel,) = dist.glob("ptrack_urban-*.whl")
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


def _tracked(*folders: str) -> list[str]:
    out = subprocess.run(["git", "ls-files", "--", *folders], cwd=REPO, capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if line]


@pytest.mark.skipif(not (REPO / ".git").exists(), reason="needs the git checkout to know which files are tracked")
def test_sdist_holds_everything_the_tests_need(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hatchling.build import build_sdist

    monkeypatch.chdir(REPO)
    name = build_sdist(str(tmp_path))
    with tarfile.open(tmp_path / name) as sdist:
        top = name.removesuffix(".tar.gz")
        members = {m.name.removeprefix(top + "/") for m in sdist.getmembers()}
        info = sdist.extractfile(f"{top}/PKG-INFO").read().decode()  # type: ignore[union-attr]
    needed = _tracked("policy_tracker", "tasks", "tests", "benchmarks", "seeds", ".ci", "docs")
    assert any(n.startswith("tests/golden/") for n in needed)
    missing = sorted(set(needed) - members)
    assert not missing, f"the sdist lacks {missing}"
    assert {"LICENSE", "README.md", "pyproject.toml", ".pre-commit-hooks.yaml"} <= members
    assert "Name: ptrack-urban" in info
    assert "License-Expression: MIT" in info
    assert "Requires-Dist: typer<0.29,>=0.26" in info  # below 0.29: its per-option pydantic adapters (pyproject.toml)
    assert "Requires-Dist: pyyaml>=6.0.4" in info
    assert "Classifier: Programming Language :: Python :: 3" in info


def test_floors_pin_every_runtime_dependency() -> None:
    """.ci/floors installs exactly the floors declared in pyproject.toml (it is run by hand: docs/development.md)."""
    pins = subprocess.run(["bash", str(REPO / ".ci" / "floors"), "--pins"], capture_output=True, text=True, check=True).stdout
    pinned = dict(line.split("==") for line in pins.splitlines())
    assert pinned["typer"] == "0.26"  # 0.12.0-0.12.3 crash on every command; <0.26 and Click 8.2+ do not mix
    assert pinned["pyyaml"] == "6.0.4"  # earlier versions crash validate on deep nesting
    assert {"rich", "pydantic", "ruamel.yaml", "platformdirs"} <= set(pinned)
