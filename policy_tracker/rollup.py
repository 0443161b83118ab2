"""Roll-up: the region records of several workspaces (one per province or city) read as one national view."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from policy_tracker import store
from policy_tracker.errors import PtrackError
from policy_tracker.models import RegionRecord, Workspace
from policy_tracker.query import instant


@dataclass
class Rollup:
    """Region records from every workspace, one per (task, region), and where each came from."""

    records: list[RegionRecord]
    origin: dict[tuple[str, str], str] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)  # the workspaces read, primary first


def origin_name(ws: Workspace) -> str:
    """How a workspace is named beside its records: its folder's name."""
    return ws.root.name


def open_others(ws: Workspace, folders: Sequence[Path]) -> list[Workspace]:
    """The other workspaces, loaded and checked: each must track the same document as `ws`."""
    others: list[Workspace] = []
    names = {origin_name(ws)}
    for folder in folders:
        try:
            root = store.find_workspace(folder, create=False).root
        except PtrackError as e:
            raise PtrackError(e.what, where="from --with", fix=e.fix) from None
        other = store.load_workspace(root)
        mine, theirs = ws.config.document, other.config.document
        if mine is not None and theirs is not None and mine.title_zh != theirs.title_zh:
            raise PtrackError(
                f"{folder} tracks 《{theirs.title_zh}》, not 《{mine.title_zh}》",
                fix="Roll up only workspaces of the same document",
            )
        if other.root == ws.root or any(o.root == other.root for o in others):
            continue  # the same folder twice adds nothing
        if origin_name(other) in names:
            raise PtrackError(f"two workspaces are both named {origin_name(other)}", fix="Roll up folders with different names")
        names.add(origin_name(other))
        others.append(other)
    return others


def load(ws: Workspace, others: Sequence[Workspace], regions: Iterable[str] | None) -> Rollup:
    """The region records (of `regions`, or all) of `ws` and `others`.

    A record found in several workspaces (clones of one repository, or a city's record copied into its
    province's) is taken from the one whose last recorded change is the latest; on a tie, the first given.
    """
    wanted = None if regions is None else list(regions)
    chosen: dict[tuple[str, str], tuple[RegionRecord, str]] = {}
    sources = []
    for w in (ws, *others):
        name = origin_name(w)
        sources.append(name)
        for record in store.load_region_records(w.root, wanted):
            key = (record.task, record.region)
            if key not in chosen or _last_change(record) > _last_change(chosen[key][0]):
                chosen[key] = (record, name)
    ordered = sorted(chosen.items())
    return Rollup([r for _, (r, _) in ordered], {k: n for k, (_, n) in ordered}, sources)


def _last_change(record: RegionRecord) -> float:
    times = []
    for h in record.history:
        try:
            times.append(instant(h.at).timestamp())
        except ValueError:
            continue
    return max(times, default=float("-inf"))
