"""The region registry: every division of China, one code per place, names with or without their suffix."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from policy_tracker import index, store
from policy_tracker.cli import app
from policy_tracker.errors import PtrackError
from policy_tracker.models import Region, Workspace
from policy_tracker.query import find_region, region_members
from policy_tracker.regions import DIVISIONS_FILE, EDITION, RETIRED, Registry, _fold, _national_rows, normalise, short_name

from conftest import REPO

SHARED = REPO.parent / "shared" / "policy" / "divisions"


@pytest.fixture(scope="module")
def ws() -> Workspace:
    return store.load_workspace(store.bundled_dataset())


def _rows() -> list[dict[str, str]]:
    with open(DIVISIONS_FILE, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


def test_the_file_says_its_edition_and_every_parent_exists() -> None:
    assert DIVISIONS_FILE.read_text(encoding="utf-8").startswith(f"# {EDITION}")
    rows = _rows()
    codes = [r["code"] for r in rows]
    assert len(codes) == len(set(codes)) == 31 + 333 + 2975
    assert {r["parent"] for r in rows} <= {*codes, "CN"}
    assert all(r["en"].isascii() or "ü" in r["en"] for r in rows)


@pytest.mark.skipif(not SHARED.is_dir(), reason="needs ../shared/policy/divisions beside the repository")
def test_every_division_of_the_reference_is_in_the_registry() -> None:
    ours = {r["code"]: r for r in _rows()}
    for name, width in (("provinces.csv", 2), ("cities.csv", 4), ("areas.csv", 6)):
        with open(SHARED / name, encoding="utf-8", newline="") as f:
            for ref in csv.DictReader(f):
                if ref["name"] in ("市辖区", "县") or ref["name"].endswith("直辖县级行政区划"):
                    continue  # not divisions: the counties of a municipality, or directly under a province
                code = ref["code"] + "00" if width == 4 else ref["code"]
                if width == 6 and code == ref["cityCode"] + "00":
                    continue  # 东莞市 listed again as its own county
                assert ours[code]["zh"] == ref["name"], code


@pytest.mark.parametrize(
    ("zh", "en"),
    [
        ("重庆市", "Chongqing"),
        ("长沙市", "Changsha"),
        ("厦门市", "Xiamen"),
        ("六安市", "Lu'an"),
        ("西安市", "Xi'an"),
        ("蚌埠市", "Bengbu"),
        ("长治市", "Changzhi"),
        ("朝阳市", "Chaoyang"),
        ("漯河市", "Luohe"),
        ("无锡市", "Wuxi"),
        ("闵行区", "Minhang District"),
        ("六合区", "Luhe District"),
        ("单县", "Shan County"),
        ("乐清市", "Yueqing City"),
        ("洪洞县", "Hongtong County"),
        ("延边朝鲜族自治州", "Yanbian Korean Autonomous Prefecture"),
        ("神农架林区", "Shennongjia Forestry District"),
        ("内蒙古自治区", "Inner Mongolia"),
    ],
)
def test_english_names_read_the_polyphonic_characters_as_the_places_are_called(zh: str, en: str) -> None:
    assert en in {r["en"] for r in _rows() if r["zh"] == zh}


@pytest.mark.parametrize(
    ("code", "names"),
    [
        ("11", ["北京", "北京市", "Beijing", "beijing", "京", "110000", "11", "１１"]),
        ("12", ["天津", "天津市", "Tianjin", "津", "120000", "12"]),
        ("31", ["上海", "上海市", "Shanghai", "SHANGHAI", "沪", "310000", "31", " 上海市 "]),
        ("50", ["重庆", "重庆市", "Chongqing", "渝", "500000", "50"]),
    ],
)
def test_a_municipality_is_one_region_by_every_name(ws: Workspace, code: str, names: list[str]) -> None:
    for name in names:
        assert find_region(ws.regions, name).code == code, name
    assert ws.regions_by_code[code].size_class == "super_large"
    assert code == RETIRED[code + "0000"]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("南京", "320100"),
        ("南京市", "320100"),
        ("Nanjing", "320100"),
        ("3201", "320100"),
        ("新疆", "65"),
        ("新疆维吾尔自治区", "65"),
        ("广西", "45"),
        ("西藏", "54"),
        ("内蒙古", "15"),
        ("延边", "222400"),
        ("江宁区", "320115"),
        ("江宁", "320115"),
        ("320115", "320115"),
        ("Jiangning District", "320115"),
        ("宜兴市", "320282"),
        ("宜兴", "320282"),
        ("Xian", "610100"),
        ("长三角", "YRD"),
    ],
)
def test_names_resolve_with_or_without_their_suffix(ws: Workspace, text: str, code: str) -> None:
    assert find_region(ws.regions, text).code == code


def test_a_county_name_used_in_two_provinces_lists_the_candidates_with_their_parents(ws: Workspace) -> None:
    with pytest.raises(PtrackError) as info:
        find_region(ws.regions, "朝阳区")
    message = str(info.value)
    assert "110105 朝阳区 (北京市)" in message
    assert "220104 朝阳区 (长春市、吉林省)" in message
    assert "Give the region's code" in message


def test_a_code_whose_leading_zeros_were_dropped_is_restored_only_when_unambiguous() -> None:
    own = [
        Region(code="CN", zh="全国", en="China", kind="country"),
        Region(code="0101", zh="甲区", en="Jia", kind="other", parent="CN"),
        Region(code="0202", zh="乙区", en="Yi", kind="other", parent="CN"),
        Region(code="00202", zh="丙区", en="Bing", kind="other", parent="CN"),
    ]
    registry = Registry(own, national=False)
    assert registry.resolve("101").code == "0101"
    with pytest.raises(PtrackError, match="matches several regions"):
        registry.resolve("202")


def test_a_province_holds_its_cities_and_counties_and_a_municipality_its_districts(ws: Workspace) -> None:
    jiangsu = region_members(ws.regions, "32")
    assert {"32", "320100", "320115", "320200", "320282"} <= jiangsu
    assert len(jiangsu) >= 1 + 13 + 95  # NBS also codes development zones (苏州工业园区)
    assert "310112" in region_members(ws.regions, "31")


def test_the_workspace_adds_and_overrides_regions() -> None:
    own = [
        Region(code="CN", zh="全国", en="China", kind="country"),
        Region(code="320100-JB", zh="江北新区", en="Jiangbei New Area", kind="other", parent="320100"),
        Region(code="320200", zh="无锡市", en="Wuxi City", kind="city", parent="32"),
        Region(code="310000", zh="上海", en="Shanghai", kind="city", parent="31"),  # a retired code: ignored
    ]
    registry = Registry(own)
    assert registry.resolve("江北新区").parent == "320100"
    assert "320100-JB" in registry.members("32")
    assert registry.resolve("无锡").en == "Wuxi City"
    assert registry.resolve("上海").code == "31"


def test_short_names() -> None:
    assert short_name("南京市") == "南京"
    assert short_name("延边朝鲜族自治州") == "延边"
    assert short_name("内蒙古自治区") == "内蒙古"
    assert short_name("沛县") is None  # one character is not a name anyone types alone


def test_a_region_is_plain_data_and_reads_as_regions_yaml_names_it() -> None:
    from pydantic import BaseModel

    registry = Registry([])
    regions = list(registry)
    assert len(regions) == 31 + 333 + 2975
    assert not any(isinstance(r, BaseModel) for r in regions)
    shanghai = registry.get("31")
    assert shanghai is not None
    assert shanghai.as_json() == {
        "code": "31", "zh": "上海市", "en": "Shanghai", "kind": "province", "parent": "CN", "provinces": [],
        "aliases": ["沪", "310000"], "tier": None, "class": "super_large", "note": None,
    }  # fmt: skip


def _names(rows: list[dict[str, str]]) -> list[str]:
    """Names people type for a sample of the divisions: code, Chinese, English, short name, aliases, variants."""
    names = [
        "",
        " ",
        "Ｓｈａｎｇｈａｉ",
        "xian",
        "XI'AN",
        "110000",
        "310000",
        "3201",
        "101",
        "朝阳区",
        "朝阳",
        "长三角",
        "Yangtze",
    ]
    for r in rows[::37]:
        names += [r["code"], r["zh"], r["en"], r["en"].upper(), r["short"], *r["aliases"].split(";")]
    return [n for n in names if n is not None]


def test_the_file_is_in_the_normal_form_its_text_is_searched_in() -> None:
    for r in _rows():
        for name in (r["code"], r["zh"], r["en"], r["short"], *r["aliases"].split(";")):
            assert _fold(name) == normalise(name), name


def test_one_name_is_resolved_without_the_name_index_and_as_the_index_resolves_it(ws: Workspace) -> None:
    own = list(ws.regions.own)  # type: ignore[attr-defined]
    indexed = Registry(own)
    _ = indexed._index  # built: the path taken for prefixes, suggestions and completion
    for name in _names(_rows()):
        scanned = Registry(own)
        assert [r.code for r in scanned.candidates(name)] == [r.code for r in indexed.candidates(name)], name
    _national_rows.cache_clear()
    fresh = Registry(own)
    assert fresh.resolve("上海").code == "31"
    assert fresh.resolve("Nanjing").code == "320100"
    assert "_index" not in fresh.__dict__  # an exact or short name never builds it
    assert _national_rows.cache_info().currsize == 0  # nor all the rows
    other = Registry(own)
    assert other.get("320115") is not None and other.has("110105") and other.parent_of("320115") == "320100"
    assert not other.has("320100,32") and other.get("code") is None  # a row is found by its whole code only
    assert _national_rows.cache_info().currsize == 0


def test_a_command_asking_for_many_codes_has_the_rows_built_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from policy_tracker import regions

    searched: list[str] = []
    real = regions._find_row
    monkeypatch.setattr(regions, "_find_row", lambda code: searched.append(code) or real(code))
    _national_rows.cache_clear()
    registry = Registry([])
    codes = [r["code"] for r in _rows()]
    assert all(registry.has(c) for c in codes) and all(registry.get(c) is not None for c in codes[::10])
    assert len(searched) == regions._SEARCHES  # then every row, built once (validate asks for every record's region)


def test_a_command_resolving_many_names_has_the_name_index_built_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from policy_tracker import regions

    searched: list[str] = []
    real = regions._rows_holding
    monkeypatch.setattr(regions, "_rows_holding", lambda name: searched.append(name) or real(name))
    registry = Registry([])
    names = [r["zh"] for r in _rows() if r["zh"] not in ("朝阳区", "鼓楼区")][::20]  # an import naming many regions
    resolved = [registry.candidates(n) for n in names]
    assert all(found for found in resolved)
    assert len(searched) == regions._SEARCHES and "_index" in registry.__dict__


REGION_COMMANDS = [
    ("regions", "--region", "江苏", "-f", "csv"),
    ("regions", "--region", "Shanghai", "-f", "json"),
    ("list", "--region", "沪", "-f", "csv"),
    ("show", "T08", "--region", "上海市", "-f", "json"),
    ("matrix", "--region", "长三角", "-f", "csv"),
    ("log", "--region", "310000", "-f", "csv"),
]


@pytest.mark.parametrize("args", REGION_COMMANDS, ids=[" ".join(a) for a in REGION_COMMANDS])
def test_a_region_named_any_way_gives_the_same_output_with_a_fresh_and_a_warm_index(ws_dir: Path, args: tuple[str, ...]) -> None:
    runner = CliRunner()
    outputs = []
    for state in ("fresh", "warm"):
        if state == "fresh":
            index.discard(index.index_path(ws_dir))
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, result.stderr
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1]
    assert outputs[0].strip()
