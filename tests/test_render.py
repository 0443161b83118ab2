"""Output helpers: markdown that user text cannot break, labels in each language."""

from __future__ import annotations

import re

import pytest

from policy_tracker import markdown, render, store
from policy_tracker.query import national_rows


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", "plain"),
        ("a | b", "a \\| b"),
        ("line one\nline two", "line one<br>line two"),
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("R&D", "R&amp;D"),
    ],
)
def test_md_cell_escapes_user_text(text: str, expected: str) -> None:
    assert markdown.md_cell(text) == expected


def test_markdown_table_keeps_its_shape_whatever_the_titles() -> None:
    ws = store.load_workspace(store.bundled_dataset())
    hostile = [t.model_copy(update={"title_zh": "a | b\nc <b>d</b>"}) for t in ws.tasks[:3]]
    lines = render.rows_markdown(ws, national_rows(hostile), "both").strip().splitlines()
    cells = {len(re.split(r"(?<!\\)\|", line)) for line in lines}
    assert len(lines) == 5
    assert len(cells) == 1
    assert "<b>" not in "".join(lines)


@pytest.mark.parametrize(("lang", "expected"), [("zh", "进行中"), ("en", "in progress"), ("both", "进行中 in progress")])
def test_status_labels_by_language(lang: render.Lang, expected: str) -> None:
    assert render.status_label("in_progress", lang, " ") == expected


def test_tasks_csv_round_trips_commas_and_quotes() -> None:
    import csv
    import io

    ws = store.load_workspace(store.bundled_dataset())
    task = ws.tasks[11].model_copy(update={"title_en": 'Green, "low-carbon" lives'})
    (row,) = list(csv.DictReader(io.StringIO(render.rows_csv(national_rows([task])))))
    assert row["title_en"] == 'Green, "low-carbon" lives'
