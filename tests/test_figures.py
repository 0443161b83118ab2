"""How a published figure and its source read: its own unit and basis, the publisher before the address."""

from __future__ import annotations

import pytest

from policy_tracker.figures import figure_text, source_text


@pytest.mark.parametrize(
    ("publisher", "document", "url", "text"),
    [
        ("应急管理部", None, "https://a", "应急管理部 — https://a"),
        ("国家统计局", "《2025年统计公报》", "https://a", "国家统计局 《2025年统计公报》 — https://a"),
        (None, "《公报》", "https://a", "《公报》 — https://a"),
        (None, None, "https://a", "https://a"),
    ],
)
def test_the_publisher_and_document_come_before_the_address(
    publisher: str | None, document: str | None, url: str, text: str
) -> None:
    assert source_text(publisher, document, url) == text


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"when": "2020", "unit": "人"}, "27412 人 (2020)"),
        ({"when": "2025", "basis": "扣除沙尘异常超标天"}, "27412 (2025; 扣除沙尘异常超标天)"),
        ({"when": None}, "27412"),
    ],
)
def test_a_figure_shows_its_own_unit_and_basis(kwargs: dict[str, str | None], text: str) -> None:
    assert figure_text("27412", **kwargs) == text  # type: ignore[arg-type]
