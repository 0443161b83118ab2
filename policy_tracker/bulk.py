"""Long change sets over many records (an import): prepared without the lock in bounded batches, committed under it.

An import of 100,000 rows touches thousands of records. Holding the workspace lock while each one is read, planned
and written would make every other writer wait minutes, and holding every new text in memory would not scale.
So the rows are grouped by record first (no record is read for that), then the records are taken a batch of
`BATCH` at a time, in file order: the index gives each one's parsed copy (one query per batch), each record's
rows are checked against it, and its new text is staged to disk (`journal.Staging`). The lock is taken only at
the end: the records another writer changed meanwhile are planned again on what they hold now, and the whole
change set is committed and installed through the journal, wholly or not at all (see `journal`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from policy_tracker import index, journal, store
from policy_tracker.changes import RecordChange, Stamp
from policy_tracker.errors import Interrupted, PtrackError
from policy_tracker.exchange import RecordImport, Row, plan_import
from policy_tracker.models import HistoryEntry, RegionRecord, Task, Workspace

BATCH = 200  # records planned per index query: what is held in memory at once besides the rows
Key = tuple[str, str]  # (task, region)
EditPlan = Callable[[Task | RegionRecord, RecordImport], RecordChange]


@dataclass
class Outcome:
    """What an import did (or would do): the records written, every problem found, the rows that changed nothing."""

    written: list[store.Written] = field(default_factory=list)
    added: list[int] = field(default_factory=list)  # the observations each written record gained
    problems: list[str] = field(default_factory=list)
    unchanged: int = 0
    stamp: Stamp | None = None  # the change set's id and time, when they were set anew at the commit


def _row_number(problem: str) -> int:
    found = re.match(r"row (\d+)", problem)
    return int(found[1]) if found else 0


def import_groups(
    ws: Workspace,
    groups: dict[Key | None, list[Row]],
    edit_plan: EditPlan,
    stamp: Stamp,
    *,
    dry_run: bool = False,
    keep_text: bool = False,
    keep_entries: bool = True,
    progress: Callable[[int, str], Callable[[int], None]] | None = None,
) -> Outcome:
    """Check every row group (`exchange.group_rows`) against its record and write the changes as one change set.

    Nothing is written when a problem is found (they are all returned, in row order) or on a dry run.
    `keep_text`: keep each record's text before and after (for a dry run's diff); otherwise only the history
    entries are kept, and without `keep_entries` only what the summary counts of them.
    `progress(total, description)` starts a progress bar and returns its `advance(n)` (`render.progress_phases`):
    one over the rows as they are checked and staged, then, under the lock, one over the files as they are
    installed.
    Raises PtrackError (nothing written), or Interrupted saying which state a signal left.
    """
    root = ws.root
    out = Outcome()
    phase = progress or _no_progress
    rows_done = phase(sum(len(g) for g in groups.values()), "Checking rows" if dry_run else "Preparing rows")
    if None in groups:  # rows naming no known task or region: reported, never planned
        _, found = plan_import(groups[None], ws, _never)
        out.problems += found
    keys = sorted((k for k in groups if k is not None), key=lambda k: (k[1] == "CN", k[1], k[0]))  # folder by folder
    staging: journal.Staging | None = None
    planned: list[Key] = []  # the record of each staged file
    try:
        with journal.signals_held() as received:
            if not dry_run and not out.problems:
                staging = journal.Staging(root, stamp.change)
            for batch in _batches(keys):
                copies = _indexed(root, [k for k in batch if k[1] != "CN"])
                for key in batch:
                    if received:
                        raise Interrupted(received[0], "Interrupted: nothing was written")
                    rows = groups[key]
                    path = store.record_path(root, *key)
                    old_identity = journal.identity(path)
                    raw = _read(path) if old_identity is not None else None
                    copy = copies.get(key)
                    # the index's copy is what the file holds when their hashes agree; else the file is read itself
                    indexed = copy[0] if copy is not None and raw is not None and index.content_hash(raw) == copy[1] else None
                    current = _current(ws, key, indexed, raw=None if indexed is not None else raw, root=root)
                    imports, found = plan_import(rows, ws, current)
                    rows_done(len(rows))
                    out.problems += found
                    if out.problems:
                        if staging is not None:  # checking only, from now on: nothing will be written
                            staging.discard()
                            staging = None
                        continue
                    item = imports[0]
                    out.unchanged += item.unchanged
                    plan = functools.partial(_plan_with, edit_plan, item)
                    w = store.prepare_change(root, *key, raw, indexed, plan, stamp)
                    if w is None:
                        continue
                    if staging is not None:
                        staging.add(w.path, raw, old_identity, w.new)
                        planned.append(key)
                        journal.checkpoint(f"prepare:{len(planned)}")
                    out.written.append(w if keep_text else _light(w, keep_entries))
                    out.added.append(_added(w))
            if out.problems:
                out.problems.sort(key=_row_number)
                return out
            if staging is None or not staging.files:  # a dry run, or nothing to change
                return out
            staging.sync()
        with store.locked(root):
            recovered = journal.recover(root)
            if recovered:
                import logging

                logging.getLogger(__name__).warning(recovered)
            dropped = set()
            changed = staging.changed()  # written by another writer while this import was prepared: planned again
            if changed:
                # after the other writer's entries in those records, in time as in place: the whole import is
                # stamped anew, now (its staged texts are changed to the new id and time)
                stamp = _restamp(staging, stamp, skip=set(changed))
                out.stamp = stamp
            for k in changed:
                key = planned[k]
                path = store.record_path(root, *key)
                raw = _read(path)
                imports, found = plan_import(groups[key], ws, _current(ws, key, None, raw=raw, root=root))
                if found:
                    raise PtrackError(
                        f"{store.display_path(path)} was changed by another writer during the import; now {found[0]}",
                        fix="Nothing was written; check the record and run the import again",
                    )
                w = store.prepare_change(root, *key, raw, None, functools.partial(_plan_with, edit_plan, imports[0]), stamp)
                if w is None and raw is None:  # pragma: no cover - a new record always changes something
                    raise PtrackError(f"{store.display_path(path)} was deleted during the import", fix="Run it again")
                staging.replace(k, raw, w.new if w is not None else raw or b"")
                if w is None:  # the other writer made this very change: the file is left as it is
                    dropped.add(k)
                else:
                    out.written[k] = w if keep_text else _light(w, keep_entries)
                    out.added[k] = _added(w)
            if changed:
                staging.sync()
            out.written = [w for k, w in enumerate(out.written) if k not in dropped]
            out.added = [n for k, n in enumerate(out.added) if k not in dropped]
            files_done = phase(len(staging.files), "Writing records")
            files = staging.files
            finished = journal.commit_staged(root, staging, change=stamp.change, progress=files_done)
            staging = None  # it is the journal now, and complete
        if finished is not None:  # the replaced files are freed (about 1 ms each) after the lock is released
            journal.delete_finished(finished, phase(sum(f.old_sha256 is not None for f in files), "Cleaning up"))
        return out
    finally:
        if staging is not None:
            staging.discard()


def _restamp(staging: journal.Staging, stamp: Stamp, skip: set[int]) -> Stamp:
    """A new id and time for the change set, written into every staged file but those in `skip` (planned again)."""
    from policy_tracker.changes import new_change_id
    from policy_tracker.clock import now

    moment = now()
    new = Stamp(change=new_change_id(moment), at=moment.isoformat(timespec="milliseconds"), by=stamp.by, undoes=stamp.undoes)
    swaps = [(f"change: {stamp.change}".encode(), f"change: {new.change}".encode()), (stamp.at.encode(), new.at.encode())]
    for k in range(len(staging.files)):
        if k not in skip:
            staging.rewrite(k, swaps)
    return new


def _batches(keys: Sequence[Key]) -> Iterator[Sequence[Key]]:
    for at in range(0, len(keys), BATCH):
        yield keys[at : at + BATCH]


def _indexed(root: Path, keys: Sequence[Key]) -> dict[Key, tuple[RegionRecord, bytes]]:
    """The index's copy of these region records, brought up to date (their folders), with the hash of the file each
    copy was read from."""
    if not keys:
        return {}
    folders = {region for _, region in keys}

    def work(ix: index.Index) -> dict[Key, tuple[RegionRecord, bytes]]:
        store.refresh_index(ix, folders)
        wanted = {f"{region}/{task}.yaml" for task, region in keys}
        return {(r.task, r.region): (r, h) for r, h in ix.records_with_hash(wanted)}

    return index.run(root, work)


def _current(
    ws: Workspace, key: Key, indexed: RegionRecord | None, *, raw: bytes | None, root: Path
) -> Callable[[str, str], Task | RegionRecord]:
    """`current(task, region)` for plan_import: the record of `key`, its index's copy if given, else read from `raw`
    (the file's bytes; None: no file yet)."""
    task, region = key
    if indexed is not None:
        record: Task | RegionRecord = indexed
    elif raw is not None:
        record = store.record_from_bytes(store.record_path(root, task, region), raw, task, region)
    else:
        record = store.empty_record(task, region)

    def current(t: str, r: str) -> Task | RegionRecord:
        return record

    return current


def _plan_with(edit_plan: EditPlan, item: RecordImport, record: Task | RegionRecord) -> RecordChange:
    return edit_plan(record, item)


def _no_progress(total: int, description: str) -> Callable[[int], None]:
    return lambda n: None


def _never(task: str, region: str) -> Task | RegionRecord:  # pragma: no cover - rows without a record ask nothing
    raise AssertionError((task, region))


def _read(path: Path) -> bytes | None:
    return store.record_bytes(path) if path.exists() else None


def _light(w: store.Written, keep_entry: bool) -> store.Written:
    """A written record without its texts, for thousands of records: its history entry (for `--verbose`), or only
    who made it (the summary's count of observations is kept in `Outcome.added`)."""
    entry = w.entry
    if not keep_entry:
        entry = HistoryEntry.model_construct(change=entry.change, at=entry.at, by=entry.by, changes=[])
    return store.Written(w.path, entry, None, "")


def _added(w: store.Written) -> int:
    return sum(1 for c in w.entry.changes if c.field.startswith("observation:") and c.old is None)
