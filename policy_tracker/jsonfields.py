"""`--json FIELDS`: JSON output with only the fields asked for, as GitHub's `gh` does (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from policy_tracker.errors import PtrackError

LIST_ALL = "?"  # what a bare `--json` becomes (launch.py): list the fields

RECORD_FIELDS = (
    "id", "region", "label", "chapter", "title_zh", "title_en", "serves", "status", "owner", "revision", "rating",
    "lead_units", "co_units", "indicators", "notes", "conflicts", "history",
)  # fmt: skip
HISTORY_FIELDS = ("task", "region", "change", "at", "by", "changes", "note", "source", "undoes")
PROGRESS_FIELDS = (
    "task", "region", "status", "data", "assessment", "contradiction", "rating", "disagreement", "stale", "horizon",
    "indicators",
)  # fmt: skip


def chosen(spec: str, available: Sequence[str]) -> list[str] | None:
    """The fields `spec` ("id,status") names, in its order; None when it asks for the list (a bare --json)."""
    if spec.strip() in ("", LIST_ALL):
        return None
    fields = [f.strip() for f in spec.split(",") if f.strip()]
    unknown = [f for f in fields if f not in available]
    if unknown:
        raise PtrackError(
            f"unknown JSON field{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}",
            fix=f"Available fields: {', '.join(available)}",
        )
    return list(dict.fromkeys(fields))


def listing(available: Sequence[str]) -> str:
    return "Specify one or more comma-separated fields for --json:\n" + "".join(f"  {f}\n" for f in available)


def project(items: Sequence[Mapping[str, Any]], fields: Sequence[str]) -> list[dict[str, Any]]:
    return [{f: item.get(f) for f in fields} for item in items]


def record_item(task: Any, region: str, record: Any, owner: str, origin: str | None = None) -> dict[str, Any]:
    """One record (a task's national record or a region's) with its task's titles, as `--json` shows it."""
    item: dict[str, Any] = record.model_dump(mode="json", by_alias=True)
    item.update(
        id=task.id, region=region, label=task.label, chapter=task.chapter, title_zh=task.title_zh,
        title_en=task.title_en, serves=task.serves, owner=owner,
    )  # fmt: skip
    if origin is not None:
        item["origin"] = origin
    return item
