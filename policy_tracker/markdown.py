"""Markdown that user text cannot break: escaped table cells and tables (pure text, shared by render and report)."""

from __future__ import annotations

from collections.abc import Sequence

from policy_tracker.visible import visible


def md_cell(text: str) -> str:
    """User text made safe for one markdown table cell: no pipe, newline or HTML can break out of it."""
    escaped = visible(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")
    return "<br>".join(part.strip() for part in escaped.splitlines()) if "\n" in escaped else escaped


def md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def bar(share: float | None, width: int = 10) -> str:
    """A text progress bar that renders anywhere: ███████░░░ 70%."""
    if share is None:
        return "—"
    filled = round(max(0.0, min(1.0, share)) * width)
    return "█" * filled + "░" * (width - filled) + f" {share * 100:.0f}%"
