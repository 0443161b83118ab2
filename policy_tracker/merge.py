"""Three-way merge of one record (git's merge driver): histories united, concurrent changes combined (pure)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from policy_tracker.changes import observation_field
from policy_tracker.query import instant

_MISSING: Any = object()

# Lists whose items are records with an identity: merged item by item, not as one value.
_KEYED = {"indicators": "id", "observations": "date", "conflicts": "field"}


@dataclass
class Merged:
    """The merged record (plain YAML data) and the fields both sides changed differently."""

    data: dict[str, Any]
    conflicts: list[dict[str, Any]] = field(default_factory=list)


def default_record(task: str, region: str) -> dict[str, Any]:
    """What a region record was before its first change (git gives an empty ancestor for a file both sides added)."""
    return {"schema_version": 1, "task": task, "region": region, "revision": 0, "status": "not_started", "history": []}


def merge_records(base: dict[str, Any], ours: dict[str, Any], theirs: dict[str, Any]) -> Merged:
    """Merge two versions of one record that grew from `base`.

    - history: the union of both sides' entries (by change set), in time order;
    - a field only one side changed takes that side's value; both sides changing it alike is no conflict;
    - observations merge one (indicator, date) at a time, lists of text (notes, sources) item by item;
    - a field both sides changed differently keeps its value from `base` and is listed in `conflicts` with both
      choices and the change sets that made them, for a person to choose (`validate` reports it);
    - revision = base revision + the number of entries each side added.
    """
    history, added = _merge_history(base.get("history") or [], ours.get("history") or [], theirs.get("history") or [])
    whose = _who_changed(history, added)
    merged = Merged({})
    rest = {k: v for k, v in base.items() if k not in ("history", "revision")}
    data = _merge_value(
        rest,
        {k: v for k, v in ours.items() if k not in ("history", "revision")},
        {k: v for k, v in theirs.items() if k not in ("history", "revision")},
        (),
        lambda path, a, b: merged.conflicts.append(_conflict(path, a, b, whose)),
    )
    if merged.conflicts:
        known = [c for c in data.get("conflicts") or [] if c.get("field") not in {n["field"] for n in merged.conflicts}]
        data["conflicts"] = known + merged.conflicts
    data["revision"] = int(base.get("revision") or 0) + added[0] + added[1]
    data["history"] = history
    merged.data = _ordered(data, ours)
    return merged


def _ordered(data: dict[str, Any], like: dict[str, Any]) -> dict[str, Any]:
    """Keys in `like`'s order (the file people know), new ones before the history, the history last."""
    keys = [k for k in like if k in data and k != "history"] + [k for k in data if k not in like and k != "history"]
    return {k: data[k] for k in [*keys, "history"]}


def _merge_history(base: list[Any], ours: list[Any], theirs: list[Any]) -> tuple[list[Any], tuple[int, int]]:
    seen = {_entry_key(e) for e in base}
    united = list(base)
    counts = []
    for side in (ours, theirs):
        n = 0
        for entry in side:
            if _entry_key(entry) not in seen:
                seen.add(_entry_key(entry))
                united.append(entry)
                n += 1
        counts.append(n)
    united.sort(key=_entry_time)
    return united, (counts[0], counts[1])


def _entry_key(entry: Any) -> Any:
    return entry.get("change") if isinstance(entry, dict) and entry.get("change") else repr(entry)


def _entry_time(entry: Any) -> tuple[Any, str]:
    try:
        return (instant(str(entry.get("at"))).timestamp(), str(entry.get("change")))
    except (AttributeError, TypeError, ValueError):
        return (float("inf"), repr(entry))  # validate reports a bad time; keep the entry, last


def _who_changed(history: list[Any], added: tuple[int, int]) -> dict[str, list[dict[str, Any]]]:
    """For each field, the entries that changed it (newest last)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for entry in history:
        for change in entry.get("changes") or [] if isinstance(entry, dict) else []:
            if isinstance(change, dict) and "field" in change:
                out.setdefault(str(change["field"]), []).append(entry)
    return out


def _field_name(path: tuple[Any, ...]) -> str:
    """The field as history names it: status, rating, observation:<indicator>:<date>; else a readable path."""
    if len(path) == 4 and path[0] == "indicators" and path[2] == "observations":
        return observation_field(str(path[1]), str(path[3]))
    return ".".join(str(p) for p in path)


def _conflict(path: tuple[Any, ...], ours: Any, theirs: Any, whose: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    name = _field_name(path)
    choices = []
    for value in (ours, theirs):
        choice: dict[str, Any] = {"value": None if value is _MISSING else value}
        entry = next(
            (
                e
                for e in reversed(whose.get(name, []))
                if any(c.get("field") == name and c.get("new") == choice["value"] for c in e["changes"])
            ),
            None,
        )
        if entry is not None:
            choice["change"] = entry.get("change")
            choice["by"] = entry.get("by")
        choices.append(choice)
    return {"field": name, "choices": choices}


Conflicted = Callable[[tuple[Any, ...], Any, Any], None]


def _merge_value(base: Any, ours: Any, theirs: Any, path: tuple[Any, ...], conflicted: Conflicted) -> Any:
    if ours == theirs:
        return ours
    if ours == base:
        return theirs
    if theirs == base:
        return ours
    whole = path == ("rating",) or (len(path) == 4 and path[2] == "observations")  # one judgement, one figure
    if not whole and all(isinstance(v, dict) or v is _MISSING for v in (base, ours, theirs)) and _MISSING not in (ours, theirs):
        return _merge_dicts({} if base is _MISSING else base, ours, theirs, path, conflicted)
    if all(isinstance(v, list) or v is _MISSING for v in (base, ours, theirs)) and _MISSING not in (ours, theirs):
        items = [*([] if base is _MISSING else base), *ours, *theirs]
        key = _KEYED.get(str(path[-1])) if path else None
        if key is not None and all(isinstance(i, dict) and key in i for i in items):
            return _merge_keyed([] if base is _MISSING else base, ours, theirs, key, path, conflicted)
        if not any(isinstance(i, dict | list) for i in items):
            return _merge_plain_list([] if base is _MISSING else base, ours, theirs)
    conflicted(path, ours, theirs)
    return base


def _merge_dicts(
    base: dict[str, Any], ours: dict[str, Any], theirs: dict[str, Any], path: tuple[Any, ...], conflicted: Conflicted
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in [*ours, *(k for k in theirs if k not in ours), *(k for k in base if k not in ours and k not in theirs)]:
        value = _merge_value(
            base.get(key, _MISSING), ours.get(key, _MISSING), theirs.get(key, _MISSING), (*path, key), conflicted
        )
        if value is not _MISSING:
            out[key] = value
    return out


def _merge_keyed(
    base: list[Any], ours: list[Any], theirs: list[Any], key: str, path: tuple[Any, ...], conflicted: Conflicted
) -> list[Any]:
    def by_key(items: list[Any]) -> dict[Any, Any]:
        return {str(i[key]): i for i in items}

    b, o, t = by_key(base), by_key(ours), by_key(theirs)
    out = []
    for k in [*o, *(k for k in t if k not in o), *(k for k in b if k not in o and k not in t)]:
        value = _merge_value(b.get(k, _MISSING), o.get(k, _MISSING), t.get(k, _MISSING), (*path, k), conflicted)
        if value is not _MISSING:
            out.append(value)
    if key == "date":
        out.sort(key=lambda i: str(i["date"]))  # observations stay in date order
    return out


def _merge_plain_list(base: list[Any], ours: list[Any], theirs: list[Any]) -> list[Any]:
    """Notes, sources, units: what either side added is kept, what either side removed is gone."""
    removed = [i for i in base if i not in ours or i not in theirs]
    out = [i for i in ours if i not in removed]
    out += [i for i in theirs if i not in out and i not in removed]
    return out


def conflict_messages(conflicts: list[Any], task: str, region: str) -> list[tuple[str, str]]:
    """(field, message) per unresolved conflict: what to choose between, and the command that records the choice."""
    out = []
    where = "" if region == "CN" else f" --region {region}"
    for c in conflicts:
        name, choices = c.field, c.choices
        shown = " or ".join(_choice_text(x.value, x.by, x.change) for x in choices)
        if name in ("status", "owner"):
            how = f"ptrack update {task}{where} --{name} <your choice>"
        elif name == "rating":
            how = f"ptrack update {task}{where} --rating LEVEL --rationale WHY"
        elif name.startswith("observation:"):
            _, indicator, date = name.split(":", 2)
            how = f"ptrack update {task}{where} -i {indicator}=VALUE --date {date} --source SOURCE --correct"
        else:
            how = "edit the file to the value you choose and delete this conflicts entry"
        out.append((name, f"conflict: choose {shown}; record the choice with `{how}`"))
    return out


def _choice_text(value: Any, by: str | None, change: str | None) -> str:
    if isinstance(value, dict):  # a rating shows its level, an observation its value
        value = next((value[k] for k in ("level", "value", "value_text") if k in value), value)
    who = ", ".join(x for x in (by, change) if x)
    return f"{value}" + (f" ({who})" if who else "")
