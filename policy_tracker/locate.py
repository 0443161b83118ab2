"""Where the workspace is, and its dataset files' names: --data, $PTRACK_DATA, the nearest folder holding
ptrack.yaml, else the per-user workspace (made from the bundled dataset on first use).

Light on purpose (no YAML, no pydantic): every command starts here, and a listing answered from the index
never needs more. `store` re-exports these names.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from policy_tracker.errors import PtrackError

MARKER = "ptrack.yaml"
GOALS, CHAPTERS, REGIONS = "goals.yaml", "chapters.yaml", "regions.yaml"
DATASET_FILES = (MARKER, GOALS, CHAPTERS, REGIONS)
TASK_FILE_RE = re.compile(r"^T\d{2}\.yaml$")
_TASK_LIKE_RE = re.compile(r"^[Tt]\d+\.ya?ml$")  # names someone meant as a task file
ENV_DATA = "PTRACK_DATA"


@dataclass(frozen=True)
class Location:
    root: Path
    reason: str
    created: bool = False


def bundled_dataset() -> Path:
    """The dataset shipped in the package (wheel) or, in a source checkout, the repository's tasks/."""
    here = Path(__file__).resolve().parent
    packaged = here / "_bundled"
    return packaged if (packaged / MARKER).is_file() else here.parent / "tasks"


def user_data_dir() -> Path:
    """The per-user workspace: $XDG_DATA_HOME/ptrack/workspace (~/.local/share) on Linux, ~/Library/Application
    Support/ptrack/workspace on macOS, %LOCALAPPDATA%\\ptrack\\workspace on Windows (platformdirs decides)."""
    import platformdirs

    return Path(platformdirs.user_data_dir("ptrack", appauthor=False)) / "workspace"


def _check_workspace_dir(path: Path, how: str) -> Path:
    if not path.exists():
        raise PtrackError(f"no such directory: {path}", where=how, fix=f"Create a workspace with `ptrack init {path}`")
    if not path.is_dir():
        raise PtrackError(f"not a directory: {path}", where=how, fix="Give the folder that holds ptrack.yaml")
    if not (path / MARKER).is_file():
        raise PtrackError(
            f"{path} is not a ptrack workspace (no {MARKER})",
            where=how,
            fix=f"Create one with `ptrack init {path}`, or point at the folder that holds {MARKER}",
        )
    return path.resolve()


def find_workspace(data: Path | None = None, *, create: bool = True) -> Location:
    """--data, else $PTRACK_DATA, else the nearest enclosing workspace, else the per-user one (made on first use)."""
    if data is not None:
        return Location(_check_workspace_dir(data, "from --data"), "given with --data")
    env = os.environ.get(ENV_DATA)
    if env:
        return Location(_check_workspace_dir(Path(env), f"from ${ENV_DATA}"), f"given by ${ENV_DATA}")
    cwd = Path.cwd()
    for folder in (cwd, *cwd.parents):
        if (folder / MARKER).is_file():
            return Location(folder, f"the nearest folder holding {MARKER}, from {cwd}")
    user = user_data_dir()
    if (user / MARKER).is_file():
        return Location(user, "your per-user workspace (no --data, no $PTRACK_DATA, no ptrack.yaml above here)")
    if not create:
        return Location(user, "your per-user workspace, not created yet")
    _copy_dataset_new(user)
    return Location(user, "your per-user workspace, just created from the bundled dataset", created=True)


def _dataset_files(source: Path) -> list[Path]:
    return sorted(p for p in source.iterdir() if p.name in DATASET_FILES or TASK_FILE_RE.match(p.name))


def _copy_dataset_new(target: Path) -> None:
    """Copy the bundled dataset to a folder that does not exist yet, all at once (rename of a full copy)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".ptrack-init-", dir=target.parent))
    try:
        staging.chmod(0o777 & ~_umask())  # mkdtemp makes it private (0700); a workspace is a normal folder
        for f in _dataset_files(bundled_dataset()):
            shutil.copyfile(f, staging / f.name)
        staging.rename(target)
    except OSError as e:
        shutil.rmtree(staging, ignore_errors=True)
        raise PtrackError(f"cannot create the workspace {target}: {e.strerror}", fix="Check the folder's permissions") from None


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
