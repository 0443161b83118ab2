"""What the assessment and the report print for the bundled data: no "None", computed figures rounded one way
everywhere while stored figures keep every digit, and annual rates per year of the data."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from policy_tracker.assessment import target_when, years_between
from policy_tracker.cli import app
from policy_tracker.figures import plan_text
from policy_tracker.linebreak import NO_LINE_END, NO_LINE_START, cell_len, wrap
from policy_tracker.models import Target
from policy_tracker.numbers import format_computed, format_share, round_computed

LANGS = ("zh", "en", "both")
MISSING = re.compile(r"\b(None|nan|NaN|inf)\b")
LONG_DECIMAL = re.compile(r"(?<![\w.])-?\d[\d,]*\.\d{3,}(?![\d])")


def _run(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.stderr
    return result.stdout


def _outputs(runner: CliRunner, tmp_path: Path, lang: str) -> dict[str, str]:
    out = {
        "progress": _run(runner, "progress", "--goal", "2030", "--lang", lang, "--format", "table"),
        "progress-all": _run(runner, "progress", "--lang", lang, "--format", "table"),
        "report.md": _run(runner, "report", "--lang", lang),
    }
    page = tmp_path / f"report-{lang}.html"
    _run(runner, "report", "--lang", lang, "--format", "html", "-o", str(page))
    out["report.html"] = page.read_text(encoding="utf-8")
    for task in ("T01", "T14", "T16"):  # targets for a period (经过5年的努力, 每年) and for a year
        out[f"show {task}"] = _run(runner, "show", task, "--lang", lang, "--format", "table")
    return out


def _stored_numbers(ws: Path) -> set[str]:
    """Every number as written in the workspace's files: those are printed with every digit."""
    found: set[str] = set()
    for path in ws.rglob("*.yaml"):
        found.update(re.findall(r"\d+\.\d+", path.read_text(encoding="utf-8")))
    return found


@pytest.mark.parametrize("lang", LANGS)
def test_no_output_prints_none_or_nan(runner: CliRunner, ws_dir: Path, tmp_path: Path, lang: str) -> None:
    for name, text in _outputs(runner, tmp_path, lang).items():
        assert not MISSING.findall(text), (name, [text[max(0, m.start() - 80) : m.end() + 20] for m in MISSING.finditer(text)])
    assert "经过5年的努力" in _run(runner, "progress", "--goal", "2030", "--lang", lang, "--format", "table")


@pytest.mark.parametrize("lang", ("zh", "en"))
def test_computed_figures_have_at_most_two_decimals(runner: CliRunner, ws_dir: Path, tmp_path: Path, lang: str) -> None:
    stored = _stored_numbers(ws_dir)
    for name, text in _outputs(runner, tmp_path, lang).items():
        long = [n.replace(",", "").lstrip("-") for n in LONG_DECIMAL.findall(text)]
        assert [n for n in long if n not in stored] == [], name  # only a stored figure keeps more digits
    report = _run(runner, "report", "--lang", lang)
    assert "71.08 (" in report and "0.59" in report and "71.079" not in report
    table = _run(runner, "progress", "--goal", "2030", "--lang", lang, "--format", "table")
    assert "71.08" in table and "0.11/" in table and "0.1101" not in table  # a change of 0.11 in one year of data


def test_progress_json_rounds_computed_figures(runner: CliRunner, ws_dir: Path) -> None:
    data = json.loads(_run(runner, "progress", "--format", "json"))
    computed = ("progress", "progress_raw", "expected", "annual_rate", "required_rate", "projected", "reached_year",
                "cagr_ratio", "coverage", "time_elapsed", "share_of_year", "completion")  # fmt: skip
    seen: list[float] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in computed and isinstance(value, float):
                    seen.append(value)
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(data)
    assert len(seen) > 20
    assert [v for v in seen if abs(v) >= 0.01 and round(v, 2) != v] == []


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (71.0793698630137, "71.08"),
        (0.589202981651376, "0.59"),
        (80.50068493150685, "80.5"),
        (-1830.2, "-1,830.2"),
        (0.0, "0"),
        (-0.001, "-0.001"),  # a small change never reads as no change
        (0.0042, "0.0042"),
        (-0.0001, "-0.0001"),
        (2.0, "2"),
    ],
)
def test_format_computed(value: float, text: str) -> None:
    assert format_computed(value) == text
    rounded = round_computed(value)
    assert rounded is not None and float(text.replace(",", "")) == rounded


def test_format_share_is_a_whole_percent() -> None:
    assert [format_share(x) for x in (0.2398, 0.297, 1.0, 0.0)] == ["24%", "30%", "100%", "0%"]


@pytest.mark.parametrize(
    ("start", "end", "years"),
    [
        ("2024-12-31", "2025-12-31", 1.0),  # a year of annual data is one year, not 365/365.25
        ("2020-12-31", "2025-12-31", 5.0),
        ("2024-02-29", "2025-02-28", 365 / 365.25),
        ("2025-06-30", "2025-12-31", 184 / 365.25),
    ],
)
def test_years_between_data_periods(start: str, end: str, years: float) -> None:
    assert years_between(dt.date.fromisoformat(start), dt.date.fromisoformat(end)) == pytest.approx(years)


def test_a_target_without_a_year_shows_its_period() -> None:
    standing = Target(period="每年", value=5, target_from="《方案》", source="https://example.org/a")
    dated = Target(year=2030, value=80, target_from="《纲要》", source="https://example.org/b")
    assert (target_when(standing), target_when(dated)) == ("每年", "2030")


@pytest.mark.parametrize(
    ("stored", "lang", "shown"),
    [
        ("《纲要》(adopted 2026-03-12)", "zh", "《纲要》（2026-03-12）"),
        ("《纲要》(adopted 2026-03-12), as summarised by 健康报", "zh", "《纲要》（2026-03-12）"),
        ("《纲要》(adopted 2026-03-12)", "en", "《纲要》(adopted 2026-03-12)"),
        ("《规划》(国务院, 2024-07)", "zh", "《规划》(国务院, 2024-07)"),  # nothing to translate: as stored
        ("住房和城乡建设部 2023 work plan", "zh", "住房和城乡建设部 2023 work plan"),  # no plan name in 《》: as stored
    ],
)
def test_plan_text_in_chinese_leaves_out_english_notes(stored: str, lang: str, shown: str) -> None:
    assert plan_text(stored, "2026-03-12", lang) == shown


CJK_TEXT = st.text(alphabet="城市发展目标年项。，、；：）》（《 ab1", max_size=80)


@given(text=CJK_TEXT, width=st.integers(min_value=6, max_value=40))
def test_wrapped_chinese_lines_never_start_with_closing_punctuation(text: str, width: int) -> None:
    lines = wrap(text, width)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")  # nothing lost but the spaces at breaks
    assert not [line for line in lines[1:] if line and line[0] in NO_LINE_START]
    assert not [line for line in lines[:-1] if len(line.replace(" ", "")) > 1 and line[-1] in NO_LINE_END]
    longest_word = max((len(w) for w in re.findall(r"[ab1]+", text)), default=0)  # a wider word is left whole
    marks = max((len(m) for m in re.findall(r"[。，、；：）》（《]+", text)), default=0)  # a run of marks hangs or moves
    assert all(cell_len(line) <= max(width, longest_word) + 2 * marks + 4 for line in lines)


@pytest.mark.parametrize("columns", ["41", "58", "60", "73", "88", "100"])
def test_the_headline_wraps_by_the_chinese_rule(
    runner: CliRunner, ws_dir: Path, monkeypatch: pytest.MonkeyPatch, columns: str
) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    text = _run(runner, "progress", "--goal", "2030", "--lang", "zh", "--format", "table")
    headline = text.split("进展在各指标")[0].splitlines()
    assert len(headline) > 1 and not [line for line in headline if line[:1] in NO_LINE_START]
