"""The region records' listing rows, from the index brought up to date first, without loading `store`.

A listing of the whole country reads only each record's task, region, status and owner, which the index holds
as columns. Bringing the index up to date stats every record file; only a file whose identity changed is read,
and only then is `store` (YAML, pydantic, the models) loaded to validate it. A warm listing loads neither.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from policy_tracker.errors import Problem, WorkspaceInvalid
from policy_tracker.locate import _TASK_LIKE_RE

if TYPE_CHECKING:  # store imports this module: what loads nothing of the index (update) stays so
    from policy_tracker import index
    from policy_tracker.models import RegionRecord

TMP_RE = re.compile(r"^\..+\.tmp$")  # a writer's temporary file (`.<name>.tmp`): never a record


def region_listing(root: Path, regions: Iterable[str] | None) -> Iterator[tuple[str, str, str, str | None]]:
    """(task, region, status, owner) of the region records of these regions (all when None), ordered by task, then
    region, streamed from the index (`index.Index.listing`); raise WorkspaceInvalid listing every problem (before
    the first row is taken)."""
    from policy_tracker import index

    folders = None if regions is None else set(regions)
    rows = index.stream(root, lambda ix: refresh_index(ix, folders), lambda ix: ix.listing(folders))
    first = list(itertools.islice(rows, 1))  # what the stream checks (the files), it has checked before any output
    return itertools.chain(first, rows)


def refresh_index(ix: index.Index, folders: set[str] | None) -> None:
    """Bring the index up to date for these record folders (all: None); raise WorkspaceInvalid if a file is broken."""
    problems: list[Problem] = []
    refresh(ix, folders, problems)
    if problems:
        raise WorkspaceInvalid(problems)


def refresh(ix: index.Index, folders: set[str] | None, problems: list[Problem]) -> list[Path]:
    """Bring the index up to date, noting every problem found; returns the left-over temporary files of the folders."""
    return ix.refresh(None if folders is None else sorted(folders), _TASK_LIKE_RE, _load_record, _odd_file, problems, TMP_RE)


def _load_record(path: Path, raw: bytes) -> tuple[RegionRecord | None, list[Problem]]:
    from policy_tracker import store  # a file changed: now it is read and validated (module-level: worker processes)

    return store._load_record(path, raw)


def _odd_file(path: Path, mode: int) -> Problem:
    from policy_tracker import store

    return store._odd_file(path, mode)
