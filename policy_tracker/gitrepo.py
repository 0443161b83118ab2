"""What git says about a workspace: the files a merge request changed and who committed them."""

from __future__ import annotations

import subprocess
from pathlib import Path

from policy_tracker.errors import PtrackError


def _git(root: Path, *args: str) -> str:
    try:
        run = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.SubprocessError) as e:
        raise PtrackError(f"cannot run git: {e}", fix="Install git, or validate the whole workspace without --changed") from None
    if run.returncode != 0:
        message = (run.stderr.strip().splitlines() or ["git failed"])[-1]
        raise PtrackError(f"git {args[0]} failed in {root}: {message}", fix=_fix(message))
    return run.stdout


def _fix(message: str) -> str:
    if "not a git repository" in message:
        return "--changed needs the workspace inside a git clone"
    return "Give a commit or branch git knows (in CI fetch it first: git fetch origin main, then --changed origin/main)"


def changed_files(root: Path, base: str) -> list[str]:
    """Paths (relative to the workspace root, with /) changed between the merge base of `base` and HEAD."""
    if base.startswith("-"):
        raise PtrackError(f"'{base}' is not a commit", fix="Give a branch or commit, e.g. --changed origin/main")
    out = _git(root, "diff", "--name-only", "--no-renames", "--relative", f"{base}...HEAD", "--")
    return [line for line in out.splitlines() if line]


def authors(root: Path, base: str, path: str) -> list[tuple[str, str]]:
    """(name, e-mail) of everyone who committed a change to `path` since the merge base with `base` (merges aside)."""
    out = _git(root, "log", "--no-merges", "--format=%an%x1f%ae", f"{base}..HEAD", "--", path)
    found: list[tuple[str, str]] = []
    for line in out.splitlines():
        name, _, email = line.partition("\x1f")
        if (name, email) not in found:
            found.append((name, email))
    return found


def prefix(root: Path) -> str:
    """Where the workspace lies inside its git repository ('' at the top, or when not in a repository)."""
    try:
        return _git(root, "rev-parse", "--show-prefix").strip()
    except PtrackError:
        return ""
