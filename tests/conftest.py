"""Every test runs against its own copy of the bundled dataset; none can touch a real workspace."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from policy_tracker import store

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))  # where the index of each workspace lives
    monkeypatch.delenv("PTRACK_NO_INDEX", raising=False)
    monkeypatch.delenv("PTRACK_DATA", raising=False)
    monkeypatch.delenv("PTRACK_LANG", raising=False)
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.chdir(tmp_path)
    yield


@pytest.fixture
def ws_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh workspace (copy of the bundled dataset), also set as $PTRACK_DATA."""
    target = tmp_path / "ws"
    shutil.copytree(store.bundled_dataset(), target)
    monkeypatch.setenv("PTRACK_DATA", str(target))
    return target


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def snapshot(folder: Path) -> dict[str, str]:
    """A digest of every file below a folder, to prove that a command changed nothing.

    The lock file is left out: it holds no data, and ptrack may create it on any run.
    """
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != store.LOCK_FILE
    }


def generated(root: Path, tasks: int, regions: int, seed: int) -> int:
    """Write the benchmark generator's workspace (benchmarks/generate.py) into `root`; the number of records."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_generate", REPO / "benchmarks" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return int(module.generate(root, tasks, regions, seed=seed))
