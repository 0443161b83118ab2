"""Build policy_tracker/divisions.csv, the national region registry, from the NBS 2023 division codes.

A development tool, run once by hand when the registry's edition changes (pypinyin is needed here only, never
at run time):

    pip install pypinyin && python tools/make_regions.py ../shared/policy/divisions

Reads provinces.csv, cities.csv and areas.csv (see that folder's README: 国家统计局《2023年统计用区划代码和
城乡划分代码》, as of 2023-06-30) and writes one row per provincial, prefecture-level and county-level division:
code, parent, kind, Chinese name, English name, size class, aliases. The English names are the project's own:
Hanyu Pinyin of the specific name (one word, apostrophe before a, o, e, as in Xi'an) and an English generic
term (District, County, Banner ...); provinces keep their usual English names. `--check` prints the readings
of every polyphonic character for review.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from pypinyin import lazy_pinyin, pinyin

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from policy_tracker.regions import short_name  # noqa: E402  # the same rule as ptrack's own regions

OUT = ROOT / "policy_tracker" / "divisions.csv"
EDITION = "NBS 2023 statistical division codes (国家统计局《2023年统计用区划代码和城乡划分代码》), as of 2023-06-30"

PROVINCES_EN = {
    "11": "Beijing", "12": "Tianjin", "13": "Hebei", "14": "Shanxi", "15": "Inner Mongolia", "21": "Liaoning",
    "22": "Jilin", "23": "Heilongjiang", "31": "Shanghai", "32": "Jiangsu", "33": "Zhejiang", "34": "Anhui",
    "35": "Fujian", "36": "Jiangxi", "37": "Shandong", "41": "Henan", "42": "Hubei", "43": "Hunan", "44": "Guangdong",
    "45": "Guangxi", "46": "Hainan", "50": "Chongqing", "51": "Sichuan", "52": "Guizhou", "53": "Yunnan",
    "54": "Tibet", "61": "Shaanxi", "62": "Gansu", "63": "Qinghai", "64": "Ningxia", "65": "Xinjiang",
}  # fmt: skip
# 简称, the one-character names used on licence plates and in headlines
ABBREVIATIONS = {
    "11": "京", "12": "津", "13": "冀", "14": "晋", "15": "蒙", "21": "辽", "22": "吉", "23": "黑", "31": "沪",
    "32": "苏", "33": "浙", "34": "皖", "35": "闽", "36": "赣", "37": "鲁", "41": "豫", "42": "鄂", "43": "湘",
    "44": "粤", "45": "桂", "46": "琼", "50": "渝", "51": "川;蜀", "52": "贵;黔", "53": "云;滇", "54": "藏",
    "61": "陕;秦", "62": "甘;陇", "63": "青", "64": "宁", "65": "新",
}  # fmt: skip
# The 22 super-large and mega cities of the 7th census (People's Daily, 2024-07-31), as in the former registry.
SIZE_CLASS = {
    "31": "super_large", "11": "super_large", "440300": "super_large", "50": "super_large", "440100": "super_large",
    "510100": "super_large", "12": "super_large", "420100": "mega", "441900": "mega", "610100": "mega",
    "330100": "mega", "440600": "mega", "320100": "mega", "210100": "mega", "370200": "mega", "370100": "mega",
    "430100": "mega", "230100": "mega", "410100": "mega", "530100": "mega", "210200": "mega", "320500": "mega",
}  # fmt: skip

ETHNIC_EN = {
    "蒙古": "Mongol", "回": "Hui", "藏": "Tibetan", "维吾尔": "Uygur", "苗": "Miao", "彝": "Yi", "壮": "Zhuang",
    "布依": "Bouyei", "朝鲜": "Korean", "满": "Manchu", "侗": "Dong", "瑶": "Yao", "白": "Bai", "土家": "Tujia",
    "哈尼": "Hani", "哈萨克": "Kazak", "傣": "Dai", "黎": "Li", "傈僳": "Lisu", "佤": "Va", "畲": "She",
    "拉祜": "Lahu", "水": "Shui", "东乡": "Dongxiang", "纳西": "Naxi", "景颇": "Jingpo", "柯尔克孜": "Kirgiz",
    "土": "Tu", "达斡尔": "Daur", "仫佬": "Mulao", "羌": "Qiang", "布朗": "Blang", "撒拉": "Salar", "毛南": "Maonan",
    "仡佬": "Gelao", "锡伯": "Xibe", "普米": "Pumi", "塔吉克": "Tajik", "怒": "Nu", "鄂温克": "Ewenki",
    "保安": "Bonan", "裕固": "Yugur", "独龙": "Derung", "鄂伦春": "Oroqen", "各": "Multi-Ethnic",
}  # fmt: skip
NO_ZU = ("蒙古", "哈萨克", "柯尔克孜", "塔吉克", "锡伯", "鄂伦春")  # written without 族 in some names

# Generic terms, longest first: (suffix, English, kind of division it may end)
GENERICS = [
    ("高新技术产业开发区", "High-tech Industrial Development Zone"), ("高新技术开发区", "High-tech Development Zone"),
    ("高新技术产业园区", "High-tech Industrial Park"), ("经济技术开发区", "Economic and Technological Development Zone"),
    ("经济开发区", "Economic Development Zone"), ("工业园区", "Industrial Park"), ("产业园区", "Industrial Park"),
    ("开发区", "Development Zone"), ("示范区", "Demonstration Zone"), ("管理区", "Administrative Area"),
    ("园区", "Park"), ("新区", "New Area"), ("矿区", "Mining District"), ("风景名胜区", "Scenic Area"),
    ("自治州", "Autonomous Prefecture"), ("自治县", "Autonomous County"), ("自治旗", "Autonomous Banner"),
    ("地区", "Prefecture"), ("群岛", "Islands"),
    ("区", "District"), ("县", "County"), ("旗", "Banner"), ("盟", "League"), ("市", "City"),
]  # fmt: skip
NAME_EN = {  # divisions whose names are not a specific name plus a generic term
    "429021": "Shennongjia Forestry District",
    "520203": "Liuzhi Special District",
    "130672": "Baigou New Town",
    "152571": "Wulagai Administrative Area",
    "460323": "Islands and Waters of the Zhongsha Islands",
    "632857": "Dachaidan Administrative Committee",
}
# Readings pypinyin gets wrong in place names (checked with --check against the usual romanisation).
READINGS = {
    "朝阳": "chao yang", "长治": "chang zhi", "长葛": "chang ge", "长岛": "chang dao", "长丰": "chang feng",
    "长子": "zhang zi", "漯河": "luo he", "六合": "lu he", "六安": "lu an", "洪洞": "hong tong", "单县": "shan",
    "涡阳": "guo yang", "什邡": "shi fang", "浚县": "xun", "乐陵": "lao ling", "乐亭": "lao ting", "乐清": "yue qing",
    "曾都": "zeng du", "阿勒泰": "a le tai", "蚌埠": "beng bu", "铅山": "yan shan", "番禺": "pan yu",
    "尉犁": "yu li", "蔚县": "yu", "莘县": "shen", "厦门": "xia men", "重庆": "chong qing", "长沙": "chang sha",
    "东阿": "dong e", "大冶": "da ye", "荥阳": "xing yang", "荥经": "ying jing", "百色": "bai se",
    "鄯善": "shan shan", "阆中": "lang zhong", "犍为": "qian wei", "筠连": "jun lian", "秭归": "zi gui",
    "枞阳": "zong yang", "盱眙": "xu yi", "歙县": "she", "黟县": "yi", "井陉": "jing xing", "藁城": "gao cheng",
    "蠡县": "li", "句容": "ju rong", "柞水": "zha shui", "牟平": "mu ping", "繁峙": "fan shi", "都昌": "du chang",
    "会昌": "hui chang", "会理": "hui li", "会东": "hui dong", "会同": "hui tong", "会泽": "hui ze", "会宁": "hui ning",
    "屯昌": "tun chang", "大足": "da zu", "长汀": "chang ting", "乐山": "le shan", "乐东": "le dong",
    "闵行": "min hang", "覃塘": "qin tang", "单": "shan", "浚": "xun", "蔚": "yu", "莘": "shen", "歙": "she",
    "黟": "yi", "蠡": "li",
}  # fmt: skip
CHAR_READINGS = {
    "都": "du", "长": "chang", "朝": "chao", "曾": "zeng", "解": "xie", "藏": "zang", "什": "shi", "勒": "le",
    "佛": "fo", "圩": "xu", "蚌": "beng",
}  # fmt: skip


def syllables(stem: str) -> list[str]:
    """The pinyin syllables of a specific name, with the corrections above."""
    if stem in READINGS:
        return READINGS[stem].split()
    for word, reading in READINGS.items():
        if len(word) > 1 and word in stem:
            i = stem.index(word)
            return syllables(stem[:i]) + reading.split() + syllables(stem[i + len(word) :]) if stem != word else reading.split()
    out = []
    for ch, syl in zip(stem, lazy_pinyin(stem, v_to_u=True), strict=True):
        out.append(CHAR_READINGS.get(ch, syl))
    return out


def romanise(stem: str) -> str:
    """One word, capitalised, with an apostrophe where a syllable starting a, o, e would be misread (Xi'an)."""
    if "市" in stem.strip("市"):  # a zone named after its city: 张家口市察北 -> Zhangjiakou Chabei
        return " ".join(romanise(part) for part in stem.split("市") if part)
    word = ""
    for i, s in enumerate(syllables(stem)):
        word += ("'" if i and s[0] in "aoe" else "") + s
    return word[:1].upper() + word[1:]


def split_ethnic(rest: str) -> tuple[str, list[str]]:
    """`延边朝鲜族` -> (`延边`, ['Korean']): the specific name and the peoples of an autonomous division."""
    peoples: list[str] = []
    while True:
        if rest.endswith("族"):
            body = rest[:-1]
            name = max((n for n in ETHNIC_EN if body.endswith(n)), key=len, default=None)
            if name is None:
                raise SystemExit(f"unknown people in {rest}")
            peoples.insert(0, ETHNIC_EN[name])
            rest = body[: -len(name)]
        elif rest.endswith(NO_ZU):
            name = next(n for n in NO_ZU if rest.endswith(n))
            peoples.insert(0, ETHNIC_EN[name])
            rest = rest[: -len(name)]
        else:
            return rest, peoples


def english(code: str, name: str, level: str) -> str:
    if code in NAME_EN:
        return NAME_EN[code]
    for suffix, generic in GENERICS:
        if name.endswith(suffix) and len(name) > len(suffix):
            stem = name[: -len(suffix)]
            peoples: list[str] = []
            if suffix.startswith("自治"):
                stem, peoples = split_ethnic(stem)
            if level == "city" and suffix == "市":
                return romanise(stem)  # a prefecture-level city is known by its name alone: Wuxi
            return " ".join([romanise(stem), *peoples, generic])
    return romanise(name)


# Cities whose English name is not their Hanyu Pinyin; the pinyin becomes an alias.
CONVENTIONAL_EN = {"230100": "Harbin", "150100": "Hohhot", "650100": "Urumqi", "540100": "Lhasa"}


def read(folder: Path, name: str) -> list[dict[str, str]]:
    with open(folder / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def build(folder: Path) -> list[list[str]]:
    provinces = read(folder, "provinces.csv")
    cities = read(folder, "cities.csv")
    areas = read(folder, "areas.csv")
    rows: list[list[str]] = []
    for p in provinces:
        code = p["code"]
        aliases = [*ABBREVIATIONS[code].split(";"), f"{code}0000"]
        rows.append([code, "CN", "province", p["name"], PROVINCES_EN[code], SIZE_CLASS.get(code, ""), ";".join(aliases)])
    real_cities = set()
    for c in cities:
        if c["name"] in ("市辖区", "县") or c["name"].endswith("直辖县级行政区划"):
            continue  # not a division: the counties of a municipality or directly under a province
        code = c["code"] + "00"
        real_cities.add(c["code"])
        en = english(code, c["name"], "city")
        alias = en if code in CONVENTIONAL_EN else ""
        rows.append([code, c["provinceCode"], "city", c["name"], CONVENTIONAL_EN.get(code, en), SIZE_CLASS.get(code, ""), alias])
    for a in areas:
        if a["code"] == a["cityCode"] + "00":
            continue  # a prefecture-level city without counties (东莞市) is listed again as its own county
        parent = a["cityCode"] + "00" if a["cityCode"] in real_cities else a["provinceCode"]
        rows.append([a["code"], parent, "county", a["name"], english(a["code"], a["name"], "county"), "", ""])
    return rows


def check(rows: list[list[str]]) -> None:
    """Print each polyphonic character's reading with the names it occurs in, for a person to review."""
    seen: dict[tuple[str, str], list[str]] = {}
    for row in rows:
        for ch, readings in zip(row[3], pinyin(row[3], heteronym=True, style=0), strict=False):
            if len(set(readings)) > 1:
                seen.setdefault((ch, "/".join(readings)), []).append(f"{row[3]} {row[4]}")
    for (ch, readings), names in sorted(seen.items()):
        print(ch, readings, "|", "; ".join(names[:8]), "..." if len(names) > 8 else "")


def main() -> None:
    folder = (
        Path(sys.argv[1]) if len(sys.argv) > 1 and not sys.argv[1].startswith("-") else ROOT.parent / "shared/policy/divisions"
    )
    rows = build(folder)
    if "--check" in sys.argv:
        check(rows)
        return
    with open(OUT, "w", encoding="utf-8", newline="") as f:
        f.write(f"# {EDITION}. Generated by tools/make_regions.py; English names are the project's own (Hanyu Pinyin).\n")
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["code", "parent", "kind", "zh", "en", "class", "aliases", "short"])
        writer.writerows([*row, short_name(row[3]) or ""] for row in rows)  # short names, so ptrack need not derive them
    print(f"wrote {len(rows)} divisions to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
