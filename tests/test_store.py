"""The workspace on disk: safe YAML, every problem with its line, finding the workspace, creating one."""

from __future__ import annotations

from pathlib import Path

import pytest

from policy_tracker import store
from policy_tracker.errors import PtrackError, WorkspaceInvalid

from conftest import snapshot


def _problems(root: Path) -> list[str]:
    with pytest.raises(WorkspaceInvalid) as info:
        store.load_workspace(root)
    return [str(p) for p in info.value.problems]


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line)


# ---------------------------------------------------------------------------------------------- YAML


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: NO", {"a": "NO"}),  # YAML 1.1 would make this False (Norway's code)
        ("a: yes", {"a": "yes"}),
        ("a: on", {"a": "on"}),
        ("a: true", {"a": True}),
        ("a: 011", {"a": 11}),  # decimal, not octal
        ("a: '11'", {"a": "11"}),
        ("a: 2025-08-15", {"a": "2025-08-15"}),  # dates stay as written
        ("a: 1.5", {"a": 1.5}),
        ("a: ~", {"a": None}),
        ("a: 0x1F", {"a": 31}),
    ],
)
def test_yaml_scalars_follow_yaml_1_2(text: str, expected: object) -> None:
    assert store.parse_yaml(text, "f.yaml") == expected


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("a: 1\nb: 2\na: 3\n", 3, "duplicate key 'a' (first at line 1)"),
        ("a: &x [1, 2]\nb: *x\n", 1, "anchors and aliases"),
        ("base: {a: 1}\nother:\n  !!merge <<: {b: 2}\n", 3, "merge keys"),
        ("a: !!python/object:os.system ls\n", 1, "could not determine a constructor"),
        ("a: [1, 2\n", 2, "not valid YAML"),
        ("a: 1\n---\nb: 2\n", 2, "single document"),
        ("? [a, b]\n: 1\n", 1, "a key must be a plain value"),
    ],
)
def test_hostile_or_broken_yaml_is_refused_with_its_line(text: str, line: int, message: str) -> None:
    with pytest.raises(store._FileProblem) as info:
        store.parse_yaml(text, "f.yaml")
    assert info.value.problem.line == line
    assert message in info.value.problem.message


def test_billion_laughs_is_refused_before_it_expands() -> None:
    text = 'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: [*b,*b,*b,*b,*b,*b,*b,*b]\n'
    with pytest.raises(store._FileProblem, match="aliases"):
        store.parse_yaml(text, "f.yaml")


@pytest.mark.parametrize("text", ["", "   \n", "# only a comment\n"])
def test_an_empty_file_is_a_problem(text: str) -> None:
    with pytest.raises(store._FileProblem, match="empty"):
        store.parse_yaml(text, "f.yaml")


def test_deep_nesting_is_refused_not_crashed() -> None:
    with pytest.raises(store._FileProblem, match="YAML"):
        store.parse_yaml("a: " + "[" * 100_000 + "]" * 100_000, "f.yaml")


def test_oversize_and_non_utf8_files_are_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a: " + b"x" * (store.MAX_FILE_BYTES + 1))
    with pytest.raises(store._FileProblem, match="over the"):
        store.read_text(big)
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("a: 1\nb: 城市\n".encode("gb18030"))
    with pytest.raises(store._FileProblem) as info:
        store.read_text(latin)
    assert info.value.problem.line == 2
    assert "UTF-8" in info.value.problem.message


def test_a_utf8_bom_is_accepted(tmp_path: Path) -> None:
    f = tmp_path / "bom.yaml"
    f.write_bytes("\ufeffa: 城市\n".encode())
    assert store.parse_yaml(store.read_text(f), "bom.yaml") == {"a": "城市"}


# ---------------------------------------------------------------------------------------------- loading


def test_the_bundled_dataset_loads_clean() -> None:
    ws = store.load_workspace(store.bundled_dataset())
    assert [t.id for t in ws.tasks] == [f"T{n:02d}" for n in range(1, 24)]
    assert [g.id for g in ws.goals] == ["2030", "2035"]
    assert len(ws.goals[0].components) == 7
    assert [c.label for c in ws.chapters] == list("二三四五六七八九")
    kinds = [r.kind for r in ws.regions]
    assert (kinds.count("country"), kinds.count("province"), kinds.count("cluster"), kinds.count("city")) == (1, 31, 19, 333)
    assert kinds.count("county") == 2975  # 东莞, 中山 and 儋州 have no county-level divisions
    assert sum(1 for r in ws.regions if r.size_class) == 22  # the super-large and mega cities of the 7th census
    assert sum(len(t.indicators) for t in ws.tasks) == 60


def test_a_wrong_field_is_reported_with_file_line_and_field(ws_dir: Path) -> None:
    t08 = ws_dir / "T08.yaml"
    _replace(t08, "status: not_started", "status: done")
    (problem,) = _problems(ws_dir)
    assert problem.startswith(f"ws/T08.yaml:{_line_of(t08, 'status: done')}: status: ")
    assert "'in_progress'" in problem


def test_every_problem_in_every_file_is_reported(ws_dir: Path) -> None:
    _replace(ws_dir / "T01.yaml", "status: not_started", "status: maybe")
    _replace(ws_dir / "T02.yaml", "owner: CN", "owner: CN\ncolour: red")
    _replace(ws_dir / "T03.yaml", "number: 3", "number: '3'")
    (ws_dir / "T04.yaml").write_text("a: [\n", encoding="utf-8")
    (ws_dir / "T05.yaml").write_text("", encoding="utf-8")
    problems = _problems(ws_dir)
    assert len(problems) == 5
    joined = "\n".join(problems)
    assert f"T01.yaml:{_line_of(ws_dir / 'T01.yaml', 'maybe')}: status:" in joined
    assert f"T02.yaml:{_line_of(ws_dir / 'T02.yaml', 'colour')}: colour: unknown field" in joined
    assert f"T03.yaml:{_line_of(ws_dir / 'T03.yaml', 'number:')}: number:" in joined
    assert "T04.yaml:2: not valid YAML" in joined
    assert "T05.yaml: file is empty" in joined


def test_a_nested_error_points_at_its_own_line(ws_dir: Path) -> None:
    t13 = ws_dir / "T13.yaml"
    _replace(t13, "    value: 89.3", "    value: eighty-nine")
    (problem,) = _problems(ws_dir)
    assert problem.startswith(f"ws/T13.yaml:{_line_of(t13, 'eighty-nine')}: indicators[1].observations[2].value: ")


def test_an_unquoted_number_where_text_belongs_says_to_quote_it(ws_dir: Path) -> None:
    _replace(ws_dir / "T08.yaml", "owner: CN", "owner: 31")
    (problem,) = _problems(ws_dir)
    assert 'owner: must be text, got 31: put it in quotes ("31")' in problem


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        ("T08.yaml", "chapter: 四", "chapter: 十", "unknown chapter 十"),
        ("T08.yaml", "- 2030.living", "- 2030.housing", "unknown goal or component 2030.housing"),
        ("T08.yaml", "owner: CN", "owner: XX", "unknown region XX"),
        ("T08.yaml", "- id: existing_residential_elevator_retrofits", "- id: old_compound_renovation_starts", "also defined in"),
        ("T01.yaml", "  - T03", "  - T30", "unknown task T30"),
        ("regions.yaml", "{code: YRD,", "{code: BTH,", "region code BTH appears twice"),
        ("regions.yaml", "provinces: ['11', '12', '13']", "provinces: ['11', '12', '99']", "99 is not a province"),
        ("regions.yaml", "kind: country}", "kind: country, parent: '99'}", "unknown region 99"),
    ],
)
def test_cross_file_problems_are_caught(ws_dir: Path, file: str, old: str, new: str, message: str) -> None:
    _replace(ws_dir / file, old, new)
    problems = _problems(ws_dir)
    assert any(message in p for p in problems), problems
    assert all(p.startswith(f"ws/{file}:") for p in problems)


def test_a_missing_task_file_and_a_misnamed_one_are_reported(ws_dir: Path) -> None:
    (ws_dir / "T05.yaml").rename(ws_dir / "T5.yaml")
    problems = "\n".join(_problems(ws_dir))
    assert "T5.yaml: not a task file name" in problems
    assert "missing task files: T05.yaml" in problems


def test_a_task_file_whose_id_differs_from_its_name(ws_dir: Path) -> None:
    (ws_dir / "T05.yaml").rename(ws_dir / "T24.yaml")
    problems = "\n".join(_problems(ws_dir))
    assert "the file is T24.yaml but the id is T05" in problems


def test_a_newer_format_is_refused_with_the_way_out(ws_dir: Path) -> None:
    _replace(ws_dir / "ptrack.yaml", "schema_version: 1", "schema_version: 9")
    with pytest.raises(PtrackError, match="format version 9"):
        store.load_workspace(ws_dir)


# ---------------------------------------------------------------------------------------------- finding it


def test_data_flag_wins_over_environment_and_enclosing(ws_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "other"
    store.init_workspace(other)
    monkeypatch.chdir(ws_dir)
    assert store.find_workspace(other).root == other.resolve()
    assert store.find_workspace().root == ws_dir.resolve()  # $PTRACK_DATA from the fixture
    assert "PTRACK_DATA" in store.find_workspace().reason


def test_the_nearest_enclosing_workspace_is_found_like_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = store.init_workspace(tmp_path / "team")
    deep = root / "reports" / "2026"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    found = store.find_workspace()
    assert found.root == root
    assert "nearest" in found.reason


def test_the_per_user_workspace_is_created_once(tmp_path: Path) -> None:
    first = store.find_workspace()
    assert first.created
    assert first.root == tmp_path / "home" / ".local" / "share" / "ptrack" / "workspace"
    assert (first.root / "T23.yaml").is_file()
    second = store.find_workspace()
    assert not second.created
    assert second.root == first.root
    assert not [p for p in first.root.parent.iterdir() if p.name.startswith(".ptrack-init")]


def test_where_does_not_create_the_per_user_workspace() -> None:
    location = store.find_workspace(create=False)
    assert not location.root.exists()
    assert "not created yet" in location.reason


@pytest.mark.parametrize("kind", ["missing", "not-a-workspace", "file"])
def test_a_bad_data_folder_is_explained(tmp_path: Path, kind: str) -> None:
    target = tmp_path / kind
    if kind == "not-a-workspace":
        target.mkdir()
    if kind == "file":
        target.write_text("x", encoding="utf-8")
    with pytest.raises(PtrackError) as info:
        store.find_workspace(target)
    assert "ptrack init" in str(info.value) or "folder" in str(info.value)


# ---------------------------------------------------------------------------------------------- init


def test_init_copies_the_bundled_dataset(tmp_path: Path) -> None:
    root = store.init_workspace(tmp_path / "new")
    copied = snapshot(root)
    assert copied.pop(".gitignore")
    assert copied.pop(".gitattributes")  # routes records to the merge driver (tests/test_merge.py)
    assert copied == {k: v for k, v in snapshot(store.bundled_dataset()).items() if "/" not in k}
    assert ".ptrack.lock" in (root / ".gitignore").read_text(encoding="utf-8").splitlines()
    store.load_workspace(root)


def test_init_into_a_repository_keeps_its_gitignore(tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / ".gitignore").write_text("*.pdf", encoding="utf-8")
    root = store.init_workspace(tmp_path / "repo")
    assert (root / "ptrack.yaml").is_file()
    assert (root / ".gitignore").read_text(encoding="utf-8").splitlines() == [
        "*.pdf",
        "# ptrack: local files",
        ".ptrack.lock",
        ".ptrack-journal/",
        ".*.tmp",
    ]


def test_init_refuses_to_overwrite_and_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "busy"
    target.mkdir()
    (target / "T08.yaml").write_text("mine\n", encoding="utf-8")
    before = snapshot(target)
    with pytest.raises(PtrackError, match=r"already holds T08\.yaml"):
        store.init_workspace(target)
    assert snapshot(target) == before
    root = store.init_workspace(tmp_path / "ok")
    with pytest.raises(PtrackError, match="already a ptrack workspace"):
        store.init_workspace(root)


def test_init_that_fails_midway_leaves_no_half_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_copy = store.shutil.copyfile
    calls = []

    def copy_then_fill_the_disk(src: Path, dst: Path) -> object:
        calls.append(src)
        if len(calls) == 5:
            raise OSError(28, "No space left on device")
        return real_copy(src, dst)

    monkeypatch.setattr(store.shutil, "copyfile", copy_then_fill_the_disk)
    with pytest.raises(PtrackError, match="No space left on device"):
        store.init_workspace(tmp_path / "new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]
