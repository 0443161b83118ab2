"""Time ptrack as users run it (whole processes), beside its peers on the same generated data.

    python benchmarks/run.py              # the full run: 1,000 and 10,000 records, 5 runs each (about 20 min)
    python benchmarks/run.py --smoke      # a tiny run that only checks the benchmark still works (CI)
    python benchmarks/run.py --report     # only the meeting report in every format at 2,000 records
    python benchmarks/run.py --import-only [--national DIR]   # only the long import (100,000 rows)

Each case: one warm-up, then the median wall time of --runs runs and the peak memory (max RSS) of the
process. "cold" removes ptrack's cache before every run; "warm" runs with the cache the warm-up left.
Peers: the import floor of ptrack's own dependencies, Taskwarrior (Debian package `taskwarrior`) and Doorstop
(PyPI `doorstop`); a peer that is not installed is skipped with a line saying how to install it.
Timing is never a test: the figures go to docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from generate import generate, import_rows  # noqa: E402

from policy_tracker import __version__, store  # noqa: E402

FLOOR = [sys.executable, "-c", "import typer, rich.console, rich.table, pydantic, yaml"]


@dataclass
class Result:
    name: str
    median: float | None
    peak_mib: float | None
    note: str = ""


def _ptrack() -> list[str]:
    found = shutil.which("ptrack", path=str(Path(sys.executable).parent)) or shutil.which("ptrack")
    return [found] if found else [sys.executable, "-m", "policy_tracker"]


def _once(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and peak memory (MiB) of one run. The peak comes from GNU time when it is installed: a child
    forked from this process starts with this process's high-water mark in its own (Linux keeps it across exec),
    so this process's rusage of it is never below what the benchmark itself holds; GNU time is a fresh process."""
    gnu_time = Path("/usr/bin/time")
    out = cwd / ".peak-kib"
    launch = [str(gnu_time), "-f", "%M", "-o", str(out), *cmd] if gnu_time.exists() else cmd
    start = time.perf_counter()
    proc = subprocess.Popen(launch, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, err = proc.communicate()
    elapsed = time.perf_counter() - start
    # the child's own peak memory (ru_maxrss, KiB on Linux), through the rusage of that one process
    peak = float(out.read_text().split()[-1]) if gnu_time.exists() else _peak_kib(proc.pid)
    if proc.returncode not in (0,):
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {err.decode(errors='replace')[-500:]}")
    return elapsed, peak / 1024


_PEAKS: dict[int, float] = {}


def _peak_kib(pid: int) -> float:
    return _PEAKS.pop(pid, 0.0)


def _popen_wait_with_rusage() -> None:
    """Record each child's peak memory as it is reaped (subprocess reaps with waitpid, which drops rusage)."""
    original = subprocess.Popen._try_wait  # type: ignore[attr-defined]

    def _try_wait(self: subprocess.Popen[bytes], wait_flags: int) -> tuple[int, int]:
        try:
            pid, status, usage = os.wait4(self.pid, wait_flags)
        except ChildProcessError:
            return original(self, wait_flags)  # type: ignore[no-any-return]
        if pid:
            _PEAKS[pid] = float(usage.ru_maxrss)
        return pid, status

    subprocess.Popen._try_wait = _try_wait  # type: ignore[attr-defined,method-assign]


def measure(
    name: str,
    cmd: list[str] | Callable[[int], list[str]],
    env: dict[str, str],
    cwd: Path,
    runs: int,
    before: Callable[[], None] | None = None,
) -> Result:
    times, peaks = [], []
    for i in range(runs + 1):  # the first is the warm-up; runs=0: one run, no warm-up (a case that takes minutes)
        if before:
            before()
        elapsed, peak = _once(cmd(i) if callable(cmd) else cmd, env, cwd)
        if i or not runs:
            times.append(elapsed)
            peaks.append(peak)
    return Result(name, statistics.median(times), max(peaks))


def _taskwarrior(n: int, tmp: Path, env: dict[str, str], runs: int) -> list[Result]:
    if not shutil.which("task"):
        return [Result(f"Taskwarrior ({n} tasks)", None, None, "skipped: apt-get install taskwarrior")]
    data = tmp / f"tw{n}"
    data.mkdir()
    rc = tmp / f"tw{n}.rc"
    rc.write_text(f"data.location={data}\nconfirmation=off\nverbose=nothing\ngc=off\n", encoding="utf-8")
    tasks = [{"description": f"Task {i} 城市更新", "status": "pending", "project": f"T{i % 23 + 1:02d}",
              "tags": ["g2030"], "entry": "20260101T000000Z"} for i in range(n)]  # fmt: skip
    (tmp / f"tw{n}.json").write_text(json.dumps(tasks), encoding="utf-8")
    tw_env = {**env, "TASKRC": str(rc)}
    subprocess.run(["task", "import", str(tmp / f"tw{n}.json")], env=tw_env, check=True, capture_output=True)
    return [
        measure(f"task +TAG list, {n} tasks", ["task", "+g2030", "list"], tw_env, tmp, runs),
        measure(f"task ID modify, {n} tasks", lambda i: ["task", "5", "modify", f"priority:{'HML'[i % 3]}"], tw_env, tmp, runs),
    ]


def _doorstop(n: int, tmp: Path, env: dict[str, str], runs: int) -> list[Result]:
    exe = shutil.which("doorstop", path=str(Path(sys.executable).parent)) or shutil.which("doorstop")
    if not exe:
        return [Result(f"Doorstop ({n} items)", None, None, "skipped: pip install doorstop")]
    repo = tmp / f"doorstop{n}"
    (repo / "reqs").mkdir(parents=True)
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    (repo / "reqs" / ".doorstop.yml").write_text(
        "settings:\n  digits: 5\n  itemformat: yaml\n  prefix: REQ\n  sep: ''\n", encoding="utf-8"
    )
    for i in range(1, n + 1):
        (repo / "reqs" / f"REQ{i:05d}.yml").write_text(
            f"active: true\nderived: false\nheader: ''\nlevel: {i}\nlinks: []\nnormative: true\nref: ''\n"
            f"reviewed: null\ntext: |\n  Task {i} 城市更新 requirement\n",
            encoding="utf-8",
        )
    return [measure(f"doorstop (validate), {n} items", [exe], env, repo, runs)]


def _report_formats(ptrack: list[str], tmp: Path, env: dict[str, str], runs: int, smoke: bool) -> list[Result]:
    """The meeting report in every format, the matrix and the workbook, on about 2,000 records (warm index)."""
    ws = tmp / "w-report"
    n = generate(ws, 23, 2 if smoke else 87, seed=1)  # 87 regions x 23 tasks = 2,001 records
    out = tmp / "report-out"
    out.mkdir(exist_ok=True)
    d = ["-d", str(ws)]
    scope = ["--region", "CN", "--as-of", "2026-06-30", "--since", "2026-01-01"]
    cases = [
        ("report, markdown", [*ptrack, "report", *scope, "-o", str(out / "r.md"), *d]),
        ("report, web page", [*ptrack, "report", *scope, "-o", str(out / "r.html"), *d]),
        ("report, Word", [*ptrack, "report", *scope, "--format", "docx", "-o", str(out / "r.docx"), *d]),
        ("matrix --region CN, csv", [*ptrack, "matrix", "--region", "CN", "-f", "csv", *d]),
        ("export, workbook", [*ptrack, "export", "--format", "xlsx", "-o", str(out / "r.xlsx"), *d]),
    ]
    return [measure(f"{name}, {n} records, warm", cmd, env, tmp, runs) for name, cmd in cases]


def run(smoke: bool, runs: int, only_report: bool = False) -> list[Result]:
    _popen_wait_with_rusage()
    ptrack = _ptrack()
    tmp = Path(tempfile.mkdtemp(prefix="ptrack-bench-"))
    env = {**os.environ, "COLUMNS": "100", "PTRACK_USER": "bench", "HOME": str(tmp), "XDG_DATA_HOME": str(tmp / "xdg"),
           "XDG_CACHE_HOME": str(tmp / "cache")}  # fmt: skip
    env.pop("PTRACK_DATA", None)
    if only_report:
        results = [measure("import floor: typer, rich, pydantic, yaml", FLOOR, env, tmp, runs)]
        results += _report_formats(ptrack, tmp, env, runs, smoke)
        shutil.rmtree(tmp, ignore_errors=True)
        return results
    results = [measure("import floor: typer, rich, pydantic, yaml", FLOOR, env, tmp, runs)]
    results.append(measure("ptrack --version", [*ptrack, "--version"], env, tmp, runs))
    results.append(measure("ptrack --help", [*ptrack, "--help"], env, tmp, runs))
    bundled = store.init_workspace(tmp / "bundled")
    results.append(
        measure("list --goal 2030, bundled dataset", [*ptrack, "list", "--goal", "2030", "-d", str(bundled)], env, tmp, runs)
    )
    sizes = [(3, 4)] if smoke else [(23, 44), (23, 435)]  # smoke: one size is enough to show every case still runs
    for tasks, regions in sizes:
        ws = tmp / f"w{tasks * regions}"
        n = generate(ws, tasks, regions, seed=1)
        label = f"{n} records"
        d = ["-d", str(ws)]
        cache = tmp / "cache"  # ptrack's index of every workspace (platformdirs' user cache folder)

        def cold(cache: Path = cache) -> None:
            shutil.rmtree(cache, ignore_errors=True)

        region = "11"  # a province: in every generated workspace
        results.append(measure(f"libyaml floor: every record parsed once, {label}", libyaml_floor(ws), env, tmp, runs))
        cases: list[tuple[str, list[str] | Callable[[int], list[str]]]] = [
            ("list --goal 2030 --region CN, table", [*ptrack, "list", "--goal", "2030", "--region", "CN", "-f", "table", *d]),
            ("list --goal 2030 --region CN, piped", [*ptrack, "list", "--goal", "2030", "--region", "CN", *d]),
            ("show T08 --region", [*ptrack, "show", "T08", "--region", region, *d]),
            ("log", [*ptrack, "log", *d]),
            ("progress --region CN", [*ptrack, "progress", "--region", "CN", "-f", "json", *d]),
            ("report --region CN", [*ptrack, "report", "--region", "CN", *d]),
            ("validate", [*ptrack, "validate", *d]),
        ]
        for name, cmd in cases:
            results.append(measure(f"{name}, {label}, cold", cmd, env, tmp, runs, before=cold))
            results.append(measure(f"{name}, {label}, warm", cmd, env, tmp, runs))
        for name, cmd in scoped_cases(ptrack, ws):
            results.append(measure(f"{name}, {label}, warm", cmd, env, tmp, runs))

        def update(i: int, region: str = region, d: list[str] = d) -> list[str]:
            status = ("in_progress", "blocked", "deferred")[i % 3]  # a real change every run
            return [*ptrack, "update", "T08", "--region", region, "--status", status, *d]

        results.append(measure(f"update one record, {label}", update, env, tmp, runs))
        pristine = tmp / f"{ws.name}-pristine"
        shutil.copytree(ws, pristine)

        def restore(ws: Path = ws, pristine: Path = pristine) -> None:
            shutil.rmtree(ws)
            shutil.copytree(pristine, ws)

        csv_file = ws.parent / f"{ws.name}-import.csv"
        results.append(
            measure(f"import a 1,000-row CSV, {label}", [*ptrack, "import", str(csv_file), *d], env, tmp, runs, before=restore)
        )
        if regions == max(r for _, r in sizes):  # the long import, on the largest workspace: one run (a minute or more)
            results.append(long_import(ptrack, ws, restore, env, tmp, 100 if smoke else IMPORT_ROWS, label))
        results += _taskwarrior(n, tmp, env, runs)
        results += _doorstop(n, tmp, env, runs)
    results += _report_formats(ptrack, tmp, env, runs, smoke)
    shutil.rmtree(tmp, ignore_errors=True)
    return results


IMPORT_ROWS = 100_000


def long_import(
    ptrack: list[str], ws: Path, restore: Callable[[], None], env: dict[str, str], tmp: Path, rows: int, label: str
) -> Result:
    """An office's quarterly observations for the indicators of existing records (`generate.import_rows`), `rows`
    rows, into a fresh copy of `ws` with a warm index: measured once, after a warm-up on another copy."""
    csv_file = import_rows(ws, rows, out=tmp / f"{ws.name}-import-{rows}.csv")

    def fresh() -> None:
        restore()
        subprocess.run([*ptrack, "validate", "-d", str(ws)], env=env, cwd=tmp, check=True, capture_output=True)

    cmd = [*ptrack, "import", str(csv_file), "-d", str(ws)]
    return measure(f"import a {rows:,}-row CSV (observations), {label}", cmd, env, tmp, 1, before=fresh)


def libyaml_floor(ws: Path) -> list[str]:
    """The floor for reading a workspace: every region record parsed once by libyaml (yaml.CSafeLoader), nothing else."""
    script = (
        "import pathlib, sys, yaml\n"
        "for p in pathlib.Path(sys.argv[1]).glob('records/*/*.yaml'):\n"
        "    yaml.load(p.read_bytes(), Loader=yaml.CSafeLoader)"
    )
    return [sys.executable, "-c", script, str(ws)]


def scoped_cases(ptrack: list[str], ws: Path) -> list[tuple[str, list[str]]]:
    """Commands whose output does not grow with the workspace: the national tasks, or one province (Beijing)."""
    d = ["-d", str(ws)]
    return [
        ("list --goal 2030 (national records)", [*ptrack, "list", "--goal", "2030", *d]),
        ("list --goal 2030 --region 11, piped", [*ptrack, "list", "--goal", "2030", "--region", "11", *d]),
        ("matrix --region 11, csv", [*ptrack, "matrix", "--region", "11", "-f", "csv", *d]),
        ("log --region 11", [*ptrack, "log", "--region", "11", *d]),
        ("progress --region 11", [*ptrack, "progress", "--region", "11", "-f", "json", *d]),
        ("report --region 11", [*ptrack, "report", "--region", "11", *d]),
    ]


def national(ptrack: list[str], ws: Path, runs: int) -> list[Result]:
    """The national workspace (every region of the registry x 23 tasks), already generated in `ws`: fewer cases, as
    each cold read takes minutes. Run on a copy (the generated workspace is left as it is, and may be read-only),
    with the index in a fresh cache folder; the scoped cases also on the generator's 1,012 records in the same
    sitting, for the "at 71k ≤ 2 × at 1k" ratio."""
    tmp = Path(tempfile.mkdtemp(prefix="ptrack-bench-national-"))
    env = {**os.environ, "COLUMNS": "100", "PTRACK_USER": "bench", "HOME": str(tmp), "XDG_DATA_HOME": str(tmp / "xdg"),
           "XDG_CACHE_HOME": str(tmp / "cache")}  # fmt: skip
    env.pop("PTRACK_DATA", None)
    copy = _writable_copy(ws, tmp / "national")
    n = sum(1 for _ in copy.glob("records/*/*.yaml"))
    label, d = f"{n} records", ["-d", str(copy)]
    results = [measure("import floor: typer, rich, pydantic, yaml", FLOOR, env, tmp, runs)]
    results.append(measure(f"libyaml floor: every record parsed once, {label}", libyaml_floor(copy), env, tmp, 0))
    results.append(measure(f"validate, {label}, cold", [*ptrack, "validate", *d], env, tmp, 0))
    results.append(measure(f"validate, {label}, warm", [*ptrack, "validate", *d], env, tmp, runs))
    cases = [
        ("list --goal 2030 --region CN, piped", [*ptrack, "list", "--goal", "2030", "--region", "CN", *d]),
        ("show T08 --region 11", [*ptrack, "show", "T08", "--region", "11", *d]),
        *scoped_cases(ptrack, copy),
    ]
    results += [measure(f"{name}, {label}, warm", cmd, env, tmp, runs) for name, cmd in cases]
    whole = [  # the whole country: output grows with it; measured once each for time and peak memory
        ("matrix --region CN, csv", [*ptrack, "matrix", "--region", "CN", "-f", "csv", *d]),
        ("progress --region CN, json", [*ptrack, "progress", "--region", "CN", "-f", "json", *d]),
        ("report --region CN, markdown", [*ptrack, "report", "--region", "CN", *d]),
        ("export, csv", [*ptrack, "export", *d]),
        ("log", [*ptrack, "log", *d]),
    ]
    results += [measure(f"{name}, {label}, warm", cmd, env, tmp, 0) for name, cmd in whole]

    def update(i: int) -> list[str]:
        return [*ptrack, "update", "T08", "--region", "11", "--status", ("in_progress", "blocked", "deferred")[i % 3], *d]

    results.append(measure(f"update one record, {label}", update, env, tmp, runs))
    small = tmp / "w1012"
    m = generate(small, 23, 44, seed=1)
    subprocess.run([*ptrack, "validate", "-d", str(small)], env=env, cwd=tmp, check=True, capture_output=True)
    results += [measure(f"{name}, {m} records, warm", cmd, env, tmp, runs) for name, cmd in scoped_cases(ptrack, small)]
    results.append(national_import(ptrack, copy, env, tmp, label))
    shutil.rmtree(tmp, ignore_errors=True)
    return results


def _writable_copy(ws: Path, copy: Path) -> Path:
    shutil.copytree(ws, copy, symlinks=True)
    for folder in [copy, *copy.rglob("*")]:  # the generated workspace may be read-only
        if folder.is_dir():
            folder.chmod(0o755)
    return copy


def import_only(ptrack: list[str], national_ws: Path | None, smoke: bool) -> list[Result]:
    """The long import alone: on the generator's 10,005 records (or the national workspace), with the 1,000-row
    import beside it for scale."""
    tmp = Path(tempfile.mkdtemp(prefix="ptrack-bench-import-"))
    env = {**os.environ, "COLUMNS": "100", "PTRACK_USER": "bench", "HOME": str(tmp), "XDG_DATA_HOME": str(tmp / "xdg"),
           "XDG_CACHE_HOME": str(tmp / "cache")}  # fmt: skip
    env.pop("PTRACK_DATA", None)
    results = [measure("import floor: typer, rich, pydantic, yaml", FLOOR, env, tmp, 1)]
    if national_ws is not None:
        n = sum(1 for _ in national_ws.glob("records/*/*.yaml"))
        results.append(national_import(ptrack, national_ws, env, tmp, f"{n} records"))
    else:
        ws = tmp / "w"
        n = generate(ws, 3 if smoke else 23, 4 if smoke else 435, seed=1)
        pristine = tmp / "w-pristine"
        shutil.copytree(ws, pristine)

        def restore() -> None:
            shutil.rmtree(ws)
            shutil.copytree(pristine, ws)

        rows = 100 if smoke else IMPORT_ROWS
        small = [*ptrack, "import", str(tmp / "w-import.csv"), "-d", str(ws)]
        results.append(measure(f"import a 1,000-row CSV, {n} records", small, env, tmp, 1, before=restore))
        results.append(long_import(ptrack, ws, restore, env, tmp, rows, f"{n} records"))
    shutil.rmtree(tmp, ignore_errors=True)
    return results


def national_import(ptrack: list[str], ws: Path, env: dict[str, str], tmp: Path, label: str) -> Result:
    """The long import on a copy of the national workspace (the workspace itself is left as it is)."""
    copy = _writable_copy(ws, tmp / "national-copy")
    pristine = tmp / "national-pristine"
    shutil.copytree(copy, pristine, symlinks=True)

    def restore() -> None:
        shutil.rmtree(copy)
        shutil.copytree(pristine, copy, symlinks=True)

    return long_import(ptrack, copy, restore, env, tmp, IMPORT_ROWS, label)


def table(results: list[Result]) -> str:
    floor = results[0].median or 1.0
    lines = ["| case | median (s) | × import floor | peak memory (MiB) |", "|---|---:|---:|---:|"]
    for r in results:
        if r.median is None:
            lines.append(f"| {r.name} | {r.note} | | |")
        else:
            lines.append(f"| {r.name} | {r.median:.3f} | {r.median / floor:.2f} | {r.peak_mib:.0f} |")
    return "\n".join(lines)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        model = next(
            line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if "model name" in line
        )
        cpu = model
    except (OSError, StopIteration):
        pass
    versions = {name: _version(name) for name in ("typer", "rich", "pydantic", "pyyaml", "ruamel.yaml")}
    task = (
        subprocess.run(["task", "--version"], capture_output=True, text=True).stdout.strip()
        if shutil.which("task")
        else "not installed"
    )
    return (
        f"{platform.system()} {platform.release()}, {os.cpu_count()} cores, {cpu}; Python {platform.python_version()}; "
        f"ptrack {__version__}; " + ", ".join(f"{k} {v}" for k, v in versions.items()) + f"; Taskwarrior {task}; "
        f"Doorstop {_version('doorstop')}"
    )


def _version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one run: checks the benchmark works")
    parser.add_argument("--runs", type=int, default=None, help="measured runs per case (default 5; 1 with --smoke)")
    parser.add_argument("--report", action="store_true", help="only the report formats at 2,000 records (a few minutes)")
    parser.add_argument(
        "--national",
        type=Path,
        metavar="DIR",
        help="only the national workspace in DIR (made first with: python benchmarks/generate.py DIR --regions 0)",
    )
    parser.add_argument("--import-only", action="store_true", help="only the 100,000-row import (10,005 records, or --national)")
    args = parser.parse_args()
    runs = args.runs or (1 if args.smoke else 5)
    if args.import_only:
        _popen_wait_with_rusage()
        results = import_only(_ptrack(), args.national.resolve() if args.national else None, args.smoke)
    elif args.national:
        _popen_wait_with_rusage()
        results = national(_ptrack(), args.national.resolve(), runs)
    else:
        results = run(args.smoke, runs, only_report=args.report)
    print(f"Machine: {machine()}\nRuns: median of {runs} after one warm-up\n")
    print(table(results))


if __name__ == "__main__":
    main()
