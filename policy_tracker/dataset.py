"""The workspace's dataset files (ptrack.yaml, goals, chapters, regions, T01–T23) for the read path, from the index.

`load_workspace` in `store` parses and validates the 27 files into pydantic models: the YAML parse, the
validation and the import of the models cost more than the rest of a listing. Once they have validated, the
index keeps their data as JSON beside each file's identity (size, times, inode, content hash), and `load`
answers from it while no file changed: plain objects with the models' attributes (`task.title_zh`,
`goal.components[0].key`), no YAML, no pydantic. A changed, added or removed file is loaded and validated
again by `store` (the same errors as ever), and its data replaces what the index held. Fresh or warm, the
objects are made the same way from the same JSON, so every output is the same.

What a listing does not read is left out: a task's history and conflicts (`store` reads those with a record).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

from policy_tracker import index
from policy_tracker.locate import _TASK_LIKE_RE, CHAPTERS, DATASET_FILES, GOALS, MARKER, REGIONS
from policy_tracker.regions import Region, Registry

if TYPE_CHECKING:
    from policy_tracker.models import Chapter, Goal, Task, Workspace, WorkspaceConfig

_LEFT_OUT = {"history", "conflicts"}  # a task's fields a listing never reads


class Dataset:
    """A workspace read from the index: `models.Workspace`'s attributes, holding plain objects instead of models."""

    def __init__(self, root: Path, bodies: Mapping[str, str]) -> None:
        def plain(name: str) -> Any:
            return json.loads(bodies[name], object_hook=lambda d: SimpleNamespace(**d))

        self.root = root
        self.config: WorkspaceConfig = plain(MARKER)
        self.config.owners = vars(self.config.owners)  # the one mapping in the files: region code -> owners
        self.goals: list[Goal] = plain(GOALS)
        self.chapters: list[Chapter] = plain(CHAPTERS)
        self._own_regions = [Region(**fields) for fields in json.loads(bodies[REGIONS])]  # the registry's own type
        self.tasks: list[Task] = [plain(name) for name in sorted(bodies) if name not in DATASET_FILES]

    @functools.cached_property
    def regions(self) -> Registry:
        return Registry(self._own_regions)

    @property
    def regions_by_code(self) -> Mapping[str, Region]:
        return self.regions.by_code


def load(root: Path) -> Workspace:
    """The dataset of the workspace at `root`: from the index when no file changed, else validated by `store`.

    Raises what `store.load_workspace` raises (WorkspaceInvalid listing every problem, PtrackError).
    """
    paths = {p.name: p for p in root.iterdir() if p.name in DATASET_FILES or _TASK_LIKE_RE.match(p.name)}
    try:
        stats = {name: path.stat() for name, path in paths.items()}
    except OSError:
        stats = None  # one went while looking: store says what is missing
    bodies = index.run(root, lambda ix: ix.dataset(stats)) if stats is not None else None
    if bodies is None:
        bodies = _validate(root, paths)
    return cast("Workspace", Dataset(root, bodies))


def _validate(root: Path, paths: dict[str, Path]) -> dict[str, str]:
    from policy_tracker import store

    start = time.time_ns()
    try:
        before = {name: path.stat() for name, path in paths.items()}
    except OSError:
        before = {}
    ws = store.load_workspace(root)  # refuses what is not a regular file before anything here reads it
    bodies = {
        MARKER: _dumps(ws.config.model_dump(mode="json")),
        GOALS: _dumps([g.model_dump(mode="json") for g in ws.goals]),
        CHAPTERS: _dumps([c.model_dump(mode="json") for c in ws.chapters]),
        REGIONS: _dumps([dataclasses.asdict(r) for r in cast("Registry", ws.regions).own]),
        **{f"{t.id}.yaml": _dumps(t.model_dump(mode="json", exclude=_LEFT_OUT)) for t in ws.tasks},
    }
    try:
        read = {name: (path.stat(), path.read_bytes()) for name, path in paths.items()}
    except OSError:
        return bodies
    # the files validated are the files whose identities are kept: one changed meanwhile is validated again next time
    if before.keys() == read.keys() == bodies.keys() and all(_same(before[name], read[name][0]) for name in read):
        index.run(root, lambda ix: ix.save_dataset(read, bodies, start))
    return bodies


def _same(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_size, a.st_mtime_ns, a.st_ctime_ns, a.st_ino) == (b.st_size, b.st_mtime_ns, b.st_ctime_ns, b.st_ino)


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
