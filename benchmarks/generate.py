"""Write a synthetic ptrack workspace of N tasks x M regions, deterministic for a seed.

    python benchmarks/generate.py OUT [--tasks 23] [--regions 435] [--seed 1]
    python benchmarks/generate.py OUT --regions 0      # the national workspace: every region of the registry x 23 tasks
    python benchmarks/generate.py OUT --import-rows 100000   # only OUT-import-100000.csv, for the workspace OUT

Each (task, region) record gets a status, a rating now and then, observations of up to three of the task's
indicators over five years, and the history entries that recorded them: the size a workspace reaches after a
few years of use. Also writes OUT-import.csv, an update for 1,000 records, for the import benchmark.

`--import-rows N` writes OUT-import-N.csv for a workspace already generated in OUT (nothing else is written): a
quarterly report as offices send it, the four quarters of 2026 of each of the first three indicators of existing
records, record after record in file order (then the quarters of 2025, in a second pass), until there are N rows.
`--csv PATH` writes it elsewhere (the generated workspaces may be read-only).
"""

from __future__ import annotations

import argparse
import csv
import random
import shutil
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from policy_tracker import store  # noqa: E402
from policy_tracker.models import STATUSES, RegionEntry  # noqa: E402
from policy_tracker.regions import Registry  # noqa: E402

YEARS = ("2021", "2022", "2023", "2024", "2025")
PEOPLE = ("张三", "李四", "王芳", "赵敏", "Li Lei")


def _regions(ws: Path, wanted: int | None) -> list[str]:
    """The registry's regions below CN (provinces, clusters, cities, counties: 3,358), plus synthetic districts
    until there are `wanted` of them."""
    data = yaml.safe_load((ws / "regions.yaml").read_text(encoding="utf-8"))
    regions = data["regions"]
    # every division of China, then the clusters
    registry = Registry([RegionEntry.model_validate(r).to_region() for r in regions])
    order = ("province", "cluster", "city", "county")
    codes = [r.code for kind in order for r in registry if r.kind == kind]
    provinces = [r.code for r in registry if r.kind == "province"]
    n = 0
    while wanted is not None and len(codes) < wanted:
        n += 1
        code = f"D{n:04d}"
        regions.append(
            {"code": code, "zh": f"第{n}区", "en": f"District {n}", "kind": "other", "parent": provinces[n % len(provinces)]}
        )
        codes.append(code)
    (ws / "regions.yaml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return codes if wanted is None else codes[:wanted]


def _record(task: dict, region: str, rng: random.Random) -> dict:
    history = []
    indicators = []
    status = "not_started"
    for k, ind in enumerate(task["indicators"][:3]):
        observations = []
        value = rng.uniform(10, 100)
        for year in YEARS:
            value *= rng.uniform(0.97, 1.06)
            obs = {"date": year, "value": round(value, 2), "source": f"https://stats.example.org/{region}/{ind['id']}/{year}"}
            observations.append(obs)
            history.append(
                {
                    "change": f"{year}0301T09000{k}-{rng.randrange(16**6):06x}",
                    "at": f"{year}-03-01T09:00:0{k}.000+08:00",
                    "by": rng.choice(PEOPLE),
                    "changes": [{"field": f"observation:{ind['id']}:{year}", "old": None, "new": dict(obs)}],
                    "source": obs["source"],
                }
            )
        indicators.append({"id": ind["id"], "observations": observations})
    new_status = rng.choice(STATUSES)
    if new_status != status:
        history.append(
            {
                "change": f"20260115T100000-{rng.randrange(16**6):06x}",
                "at": "2026-01-15T10:00:00.000+08:00",
                "by": rng.choice(PEOPLE),
                "changes": [{"field": "status", "old": status, "new": new_status}],
                "note": "季度评估 quarterly review",
                "source": "内部通报 2026-01",
            }
        )
    record = {"schema_version": 1, "task": task["id"], "region": region, "revision": len(history), "status": new_status}
    if rng.random() < 0.2:
        record["rating"] = {"level": rng.choice(("green", "amber", "red")), "rationale": "评估意见", "by": "王芳",
                            "at": "2026-01-20T10:00:00+08:00"}  # fmt: skip
    record["indicators"] = indicators
    record["history"] = history
    return record


def generate(out: Path, tasks: int, regions: int | None, seed: int) -> int:
    rng = random.Random(seed)
    if out.exists():
        shutil.rmtree(out)
    store.init_workspace(out)
    codes = _regions(out, regions)
    definitions = [yaml.safe_load((out / f"T{n:02d}.yaml").read_text(encoding="utf-8")) for n in range(1, tasks + 1)]
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    count = 0
    for code in codes:
        folder = out / "records" / code
        folder.mkdir(parents=True)
        for task in definitions:
            text = yaml.dump(_record(task, code, rng), Dumper=dumper, allow_unicode=True, sort_keys=False)
            (folder / f"{task['id']}.yaml").write_text(text, encoding="utf-8")
            count += 1
    with (out.parent / f"{out.name}-import.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["task", "region", "status", "indicator", "value", "date", "source", "note", "by"])
        pairs = [(t, c) for c in codes for t in definitions][:1000]
        for task, code in pairs:
            if task["indicators"]:
                ind = task["indicators"][0]["id"]
                writer.writerow(
                    [
                        task["id"],
                        code,
                        "in_progress",
                        ind,
                        f"{rng.uniform(10, 100):.2f}",
                        "2026",
                        "https://stats.example.org/2026",
                        "",
                        "赵敏",
                    ]
                )
            else:
                writer.writerow([task["id"], code, "in_progress", "", "", "", "", "导入", "赵敏"])
    return count


PASSES = (("2026Q1", "2026Q2", "2026Q3", "2026Q4"), ("2025Q1", "2025Q2", "2025Q3", "2025Q4"))


def import_rows(ws: Path, rows: int, seed: int = 1, out: Path | None = None) -> Path:
    """Write `ws`-import-`rows`.csv: `rows` observations for indicators of the records already in `ws` (see above)."""
    rng = random.Random(seed)
    indicators = {}
    for n in range(1, 24):
        path = ws / f"T{n:02d}.yaml"
        if path.exists():
            task = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
            indicators[task["id"]] = [i["id"] for i in task.get("indicators") or []][:3]
    out = out or ws.parent / f"{ws.name}-import-{rows}.csv"
    written = 0
    records = [r for d in sorted(p for p in (ws / "records").iterdir() if p.is_dir()) for r in sorted(d.glob("T*.yaml"))]
    with out.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["task", "region", "status", "indicator", "value", "date", "source", "note", "by"])
        for quarters in PASSES:
            for k, record in enumerate(records):
                folder, by = record.parent, PEOPLE[k % len(PEOPLE)]  # one office reports a record
                for ind in indicators.get(record.stem, []):
                    for quarter in quarters:
                        if written == rows:
                            return out
                        value = f"{rng.uniform(10, 100):.2f}"
                        source = f"https://stats.example.org/{folder.name}/{ind}/{quarter}"
                        writer.writerow([record.stem, folder.name, "", ind, value, quarter, source, "", by])
                        written += 1
    if written < rows:
        raise SystemExit(f"{ws} has records for only {written} rows")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--tasks", type=int, default=23)
    parser.add_argument("--regions", type=int, default=435, help="how many regions; 0: the whole registry")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--import-rows", type=int, metavar="N", help="only write OUT-import-N.csv for the workspace OUT")
    parser.add_argument("--csv", type=Path, help="with --import-rows: write the CSV here")
    args = parser.parse_args()
    if args.import_rows:
        print(f"{args.import_rows} rows in {import_rows(args.out, args.import_rows, args.seed, args.csv)}")
        return
    n = generate(args.out, args.tasks, args.regions or None, args.seed)
    print(f"{n} records in {args.out}")


if __name__ == "__main__":
    main()
