"""Who may change what: the owners map of ptrack.yaml, CODEOWNERS, and the regions a change touches (pure)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from policy_tracker.models import Region

_RECORD_PATH = re.compile(r"^records/([^/]+)/(T\d{2})\.yaml$")
_TASK_PATH = re.compile(r"^(T\d{2})\.yaml$")


def _parents(regions: Sequence[Region]) -> Callable[[str], str | None]:
    """A fast `parent of code` for the registry (it knows its hierarchy) or for a plain list of regions."""
    parent_of: Callable[[str], str | None] | None = getattr(regions, "parent_of", None)
    if parent_of is not None:
        return parent_of
    by_code = {r.code: r.parent for r in regions}
    return by_code.get


def ancestry(regions: Sequence[Region], code: str, parent_of: Callable[[str], str | None] | None = None) -> list[str]:
    """The region, its parent, the parent's parent ... ending with CN (a cluster, having no parent, sits under CN)."""
    parent_of = parent_of or _parents(regions)
    chain: list[str] = []
    current: str | None = code
    while current is not None and current not in chain:
        chain.append(current)
        current = parent_of(current)
    if "CN" not in chain:
        chain.append("CN")
    return chain


def owners_of(regions: Sequence[Region], owners: Mapping[str, Sequence[str]], code: str) -> list[str]:
    """Who may change a region's records: its own owners and those of every region it lies in, nearest first."""
    out: list[str] = []
    for c in ancestry(regions, code):
        out += [o for o in owners.get(c, []) if o not in out]
    return out


def nearest_owners(
    regions: Sequence[Region],
    owners: Mapping[str, Sequence[str]],
    code: str,
    parent_of: Callable[[str], str | None] | None = None,
) -> list[str]:
    """The owners CODEOWNERS names for a region: those of the nearest region (itself, then up) that has any."""
    return next((list(owners[c]) for c in ancestry(regions, code, parent_of) if owners.get(c)), [])


def codeowners(regions: Sequence[Region], owners: Mapping[str, Sequence[str]], prefix: str = "") -> str:
    """A CODEOWNERS file (GitHub and GitLab syntax) for a workspace at `prefix` in its repository.

    The national records (the task files) and every region's folder by default belong to CN's owners; then
    records/<code>/ for each region whose nearest owners (itself or a region it lies in) are others. The last
    matching line wins in both engines, so the general lines come first.
    """
    base = "/" + prefix.strip("/") + "/" if prefix.strip("/") else "/"
    lines = [
        "# Written by `ptrack owners --codeowners` from the owners map in ptrack.yaml; edit that map, not this file.",
        "# GitHub and GitLab: the last matching pattern wins.",
    ]
    parent_of = _parents(regions)
    national = nearest_owners(regions, owners, "CN", parent_of)
    if national:
        handles = " ".join(_handle(o) for o in national)
        lines += [f"{base}T*.yaml {handles}", f"{base}records/ {handles}"]
    for region in regions:
        if region.code == "CN":
            continue
        who = nearest_owners(regions, owners, region.code, parent_of)
        if who and who != national:
            lines.append(f"{base}records/{region.code}/ {' '.join(_handle(o) for o in who)}")
    return "\n".join(lines) + "\n"


def _handle(owner: str) -> str:
    """`shanghai-office` -> `@shanghai-office`; e-mail addresses and `@group/team` stay as they are."""
    return owner if owner.startswith("@") or "@" in owner else f"@{owner}"


@dataclass(frozen=True)
class Touched:
    """A record file a change touched: its path (relative to the workspace), task and region."""

    path: str
    task: str
    region: str


def touched_records(paths: Iterable[str]) -> list[Touched]:
    """The records among changed paths (relative to the workspace root); other files are not records."""
    out = []
    for p in paths:
        m = _RECORD_PATH.match(p)
        if m:
            out.append(Touched(p, m[2], m[1]))
            continue
        m = _TASK_PATH.match(p)
        if m:
            out.append(Touched(p, m[1], "CN"))
    return out


def _same(a: str, b: str) -> bool:
    return a.strip().lstrip("@").casefold() == b.strip().lstrip("@").casefold()


def may_change(regions: Sequence[Region], owners: Mapping[str, Sequence[str]], author: Sequence[str], code: str) -> bool:
    """Whether an author (their names: login, name, e-mail) owns the region or a region it lies in.

    A region no one owns (no owner at or above it) is open to everyone.
    """
    allowed = owners_of(regions, owners, code)
    return not allowed or any(_same(a, o) for a in author for o in allowed)


def regions_of(regions: Sequence[Region], owners: Mapping[str, Sequence[str]], author: Sequence[str]) -> list[str]:
    """The regions whose owners name this author (for messages)."""
    return [c for c, who in owners.items() if any(_same(a, o) for a in author for o in who)]
