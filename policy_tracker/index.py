"""The index of region records: a SQLite database beside the workspace, never the source of truth.

The YAML files are what people edit, review and merge; the index holds what ptrack read from them, as rows
(records, indicators, observations, targets, history entries), with each file's identity (size, modification
and change times, inode, and a content hash for a file changed close to the moment it was indexed). Every
command brings it up to date first, reading and validating only the files whose identity changed, so a
command costs what it reads, not what the workspace holds.

It lives in the per-user cache folder (platformdirs' `user_cache_dir("ptrack")`), one database per workspace,
named by a hash of the workspace's resolved path: nothing of it is inside the workspace or in git. A missing,
foreign, outdated or damaged database is rebuilt, never trusted.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import hashlib
import heapq
import json
import marshal
import os
import re
import sqlite3
import stat
import time
from collections.abc import Callable, Collection, Generator, Iterable, Iterator
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from policy_tracker import __version__
from policy_tracker.errors import Problem
from policy_tracker.terms import SCHEMA_VERSION

if TYPE_CHECKING:  # imported where used: a listing answered from the index builds no pydantic models
    from policy_tracker.models import HistoryEntry, RegionRecord

FORMAT = 4  # PRAGMA user_version: the layout of the tables below
RACY_NS = 2_000_000_000  # a file changed this close to its indexing may change again unseen by its times (as git)
BATCH = 500  # files per transaction while indexing: bounded memory, and readers see progress
PARALLEL_MIN = 256  # stale files from which they are read in worker processes (one per core, see `_prepared`)
MAX_WORKERS = 4
CHUNK = 32  # files a worker reads per task
_T = TypeVar("_T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files(
    path TEXT PRIMARY KEY, folder TEXT NOT NULL, name TEXT NOT NULL,
    size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL, ino INTEGER NOT NULL,
    hash BLOB NOT NULL, indexed_ns INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS files_folder ON files(folder, name);
CREATE TABLE IF NOT EXISTS records(
    path TEXT PRIMARY KEY, folder TEXT NOT NULL, name TEXT NOT NULL,
    task TEXT NOT NULL, region TEXT NOT NULL, status TEXT NOT NULL, owner TEXT, revision INTEGER NOT NULL,
    schema_version INTEGER NOT NULL, rating TEXT, indicator_ids TEXT NOT NULL, body TEXT NOT NULL,
    conflicted INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS records_folder ON records(folder, name);
CREATE INDEX IF NOT EXISTS records_checked ON records(region, task, owner, indicator_ids, folder, name);
CREATE INDEX IF NOT EXISTS records_conflicted ON records(folder, name) WHERE conflicted;
CREATE TABLE IF NOT EXISTS folders(
    folder TEXT PRIMARY KEY, mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL, ino INTEGER NOT NULL,
    listing TEXT NOT NULL, digest BLOB, indexed_ns INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS observations(
    path TEXT NOT NULL, indicator TEXT NOT NULL, seq INTEGER NOT NULL, date TEXT NOT NULL, value REAL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS observations_path ON observations(path);
CREATE TABLE IF NOT EXISTS targets(
    path TEXT NOT NULL, indicator TEXT NOT NULL, seq INTEGER NOT NULL, year INTEGER, period TEXT, value REAL,
    body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS targets_path ON targets(path);
CREATE TABLE IF NOT EXISTS history(
    path TEXT NOT NULL, folder TEXT NOT NULL, name TEXT NOT NULL, seq INTEGER NOT NULL,
    task TEXT NOT NULL, region TEXT NOT NULL, utc TEXT NOT NULL, day TEXT NOT NULL, change TEXT NOT NULL,
    by_key TEXT NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS history_path ON history(path);
CREATE INDEX IF NOT EXISTS history_time ON history(utc DESC, change DESC, task DESC, region DESC, folder, name, seq);
CREATE INDEX IF NOT EXISTS history_change ON history(change);
CREATE TABLE IF NOT EXISTS dataset(
    name TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL, ino INTEGER NOT NULL,
    hash BLOB NOT NULL, indexed_ns INTEGER NOT NULL, body TEXT NOT NULL);
"""
_TABLES = ("meta", "files", "records", "observations", "targets", "history", "folders", "dataset")
_INDEXES = [statement.strip() for statement in _SCHEMA.split(";") if statement.strip().startswith("CREATE INDEX")]
_INDEX_NAMES = [statement.split()[5] for statement in _INDEXES]  # CREATE INDEX IF NOT EXISTS <name> ON ...
BULK_MIN = 2000  # stale files from which the indexes are dropped while they are written, then made again at once


def _version_tag() -> str:
    # a new ptrack may validate differently: its index starts afresh
    return f"{FORMAT}/{SCHEMA_VERSION}/{__version__}"


def index_folder() -> Path:
    from platformdirs import user_cache_dir  # only when an index is opened: start-up does not pay for it

    return Path(user_cache_dir("ptrack", appauthor=False)) / "index"


def index_path(root: Path) -> Path:
    """The database of the workspace at `root`: named by a hash of its resolved path, so each workspace has its own."""
    digest = hashlib.sha256(str(root.resolve()).encode("utf-8")).hexdigest()[:24]
    return index_folder() / f"{digest}.sqlite3"


def discard(path: Path) -> None:
    """Delete a database and its write-ahead log: a damaged index is rebuilt, never repaired."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{path}{suffix}").unlink()


def _dumps(data: Any) -> str:
    """Compact JSON, as json.dumps(ensure_ascii=False, separators=(",", ":")) writes it (NaN included), 3× faster."""
    from pydantic_core import to_json  # here, for the rows written: opening and querying use json (no pydantic)

    return to_json(data, inf_nan_mode="constants").decode("utf-8")


_ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{3}|\.\d{6})?[+-]\d\d:\d\d\Z")


def _utc(at: str) -> tuple[str, str]:
    """A history time as a sortable UTC text (microseconds, fixed width) and the day it fell on in China."""
    from policy_tracker.clock import china_day
    from policy_tracker.query import instant

    # the form ptrack writes, which every Python's fromisoformat reads as `instant` does, in a tenth of the time
    moment = dt.datetime.fromisoformat(at) if _ISO_TIME.match(at) else instant(at)
    utc = moment.astimezone(dt.timezone.utc)
    text = utc.replace(tzinfo=None).isoformat(timespec="microseconds") if utc.year >= 1000 else f"{utc:%Y-%m-%dT%H:%M:%S.%f}"
    return text, china_day(moment).isoformat()


def _utc_text(moment: dt.datetime) -> str:
    """An aware moment as the history rows' `utc` column writes it, so that the text compares as the time does."""
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")


@dataclass(frozen=True)
class AsOfRow:
    """One region record as an assessment at a moment needs it (see `Index.as_of`).

    `record` has no history; `later` holds the entries recorded after the moment, oldest first; `earlier` counts
    those recorded up to it; `note` is the latest of their notes (None: none).
    """

    record: RegionRecord
    later: tuple[HistoryEntry, ...]
    earlier: int
    note: str | None


@dataclass(frozen=True)
class Checked:
    """What validate's cross-checks need of one indexed region record."""

    path: Path
    task: str
    region: str
    owner: str | None
    indicator_ids: tuple[str, ...]


class Index:
    """An open index of one workspace. Use `run`, which rebuilds a damaged database and tries again."""

    def __init__(self, root: Path, path: Path | None) -> None:
        self.root = root
        self.path = path
        self.keep_open = False  # `stream`: rows still to flow after `run` returns
        try:
            if path is None:
                raise sqlite3.OperationalError("no index folder")
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.OperationalError):
            # no writable cache folder: an index in memory, rebuilt by every command, still gives the same answers
            self.path = None
            self.db = sqlite3.connect(":memory:", isolation_level=None)
        self._prepare()

    def _prepare(self) -> None:
        db = self.db
        db.execute("PRAGMA busy_timeout = 60000")
        if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal" and self.path is not None:
            db.execute("PRAGMA journal_mode = WAL")  # readers never wait for the writer that brings it up to date
        db.execute("PRAGMA synchronous = NORMAL")  # a lost index is rebuilt: no fsync per transaction
        if self._current() and self._complete():
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            if self._current():  # a bulk load was interrupted before it made the indexes again (see `refresh`)
                for statement in _INDEXES:
                    db.execute(statement)
            else:  # another process may have built it while this one waited
                for table in _TABLES:
                    db.execute(f"DROP TABLE IF EXISTS {table}")
                for statement in _SCHEMA.split(";"):  # not executescript: it would commit the open transaction
                    if statement.strip():
                        db.execute(statement)
                db.execute("INSERT INTO meta VALUES ('version', ?), ('root', ?)", (_version_tag(), str(self.root)))
                db.execute(f"PRAGMA user_version = {FORMAT}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _current(self) -> bool:
        if self.db.execute("PRAGMA user_version").fetchone()[0] != FORMAT:
            return False
        meta = dict(self.db.execute("SELECT key, value FROM meta").fetchall())
        return meta.get("version") == _version_tag() and meta.get("root") == str(self.root)

    def _complete(self) -> bool:
        sql = "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN (SELECT value FROM json_each(?))"
        return bool(self.db.execute(sql, (json.dumps(_INDEX_NAMES),)).fetchone()[0] == len(_INDEX_NAMES))

    def close(self) -> None:
        self.db.close()

    # ------------------------------------------------------------------------------------------ bringing it up to date

    def refresh(
        self,
        folders: list[str] | None,
        names: re.Pattern[str],
        load: Load,
        odd: Callable[[Path, int], Problem],
        problems: list[Problem],
        temporary: re.Pattern[str] | None = None,
    ) -> list[Path]:
        """Index the record files of these folders of records/ (all: None) whose identity changed; forget those gone.

        A record file is an entry whose name matches `names`; one that is not a regular file is never read, and
        `odd(path, mode)` says why in `problems`. `load(path, raw)` validates one file's bytes into a record (None if
        it cannot) and its problems, which go to `problems` in file order; it must be a module-level function, as
        it may run in worker processes. A file with problems is not indexed, so it is read again until it is
        fixed. Returns the entries matching `temporary` (left-over temporary files) of the folders, in order.

        What is looked at, as git's index and its untracked cache do:
        - a folder is listed again only when its own identity (modification and change times, inode) differs
          from its last listing: adding, removing or renaming an entry changes them; editing a file does not;
        - so every record file is stat'ed, every time, and a folder's file identities are compared at once with
          the index's, through a digest of them (names, sizes, times, inodes);
        - only a folder whose digest differs has its files compared one by one, and only changed files are read.
        Times within RACY_NS of the indexing are not trusted, for a folder's listing as for a file (see `RACY_NS`).
        """
        start = time.time_ns()
        base = self.root / "records"
        scope = None if folders is None else set(folders)
        stored = {
            row[0]: row[1:]
            for row in self._rows(
                "SELECT folder, mtime_ns, ctime_ns, ino, listing, digest, indexed_ns FROM folders WHERE {folders}", scope
            )
        }
        temp: list[Path] = []
        listed: set[str] = set()
        slow: dict[str, tuple[list[tuple[str, int, int, int, int]], bool]] = {}  # folder: (file identities, all regular)
        rows: dict[str, tuple[Any, ...]] = {}  # the folder rows to write: (identity, listing, digest or None)
        for folder in _folders(base) if scope is None else sorted(scope):
            where = f"{base}{os.sep}{folder}"
            try:
                dst = os.stat(where)
            except OSError:
                continue
            if not stat.S_ISDIR(dst.st_mode):
                continue
            listed.add(folder)
            identity = (dst.st_mtime_ns, dst.st_ctime_ns, dst.st_ino)
            row = stored.get(folder)
            fresh = row is None or row[:3] != identity or max(identity[0], identity[1]) >= row[5] - RACY_NS
            if fresh:
                try:
                    with os.scandir(where) as entries:
                        listing = sorted(
                            e.name for e in entries if names.match(e.name) or (temporary and temporary.match(e.name))
                        )
                except OSError:
                    continue
            else:
                listing = json.loads(row[3])  # type: ignore[index]
            ids: list[tuple[str, int, int, int, int]] = []
            regular = True
            for name in listing:
                if not names.match(name):
                    temp.append(base / folder / name)
                    continue
                try:
                    st = os.lstat(f"{where}{os.sep}{name}")
                except OSError:
                    regular = False  # removed meanwhile: the folder is compared file by file
                    continue
                if not stat.S_ISREG(st.st_mode):
                    problems.append(odd(base / folder / name, st.st_mode))
                    regular = False
                    continue
                ids.append((name, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino))
            digest = hashlib.blake2b(marshal.dumps(ids), digest_size=16).digest()
            newest = max(max(map(itemgetter(2), ids), default=0), max(map(itemgetter(3), ids), default=0))
            if row is not None and regular and row[4] == digest and newest < row[5] - RACY_NS:
                if fresh:  # the listing changed (a temporary file came or went), not the records
                    rows[folder] = (*identity, json.dumps(listing), digest)
                continue
            slow[folder] = (ids, regular)
            rows[folder] = (*identity, json.dumps(listing), digest if regular else None)  # json: no pydantic to list
        indexed = {f for (f,) in self._rows("SELECT DISTINCT folder FROM files WHERE {folders}", scope)}
        gone = sorted((indexed | stored.keys()) - listed)
        known = self._known(sorted(slow)) if slow else {}
        stale: list[_Stale] = []  # compact: a cold national index has 77,234 of them
        confirmed: list[tuple[int, str]] = []
        had: list[str] = []  # stale files with rows in the index
        for folder, (ids, _) in slow.items():
            for file_id in ids:
                name, size, mtime_ns, ctime_ns, ino = file_id
                rel = f"{folder}/{name}"
                old = known.pop(rel, None)
                if old is not None and old[:4] == (size, mtime_ns, ctime_ns, ino):
                    if max(mtime_ns, ctime_ns) < old[5] - RACY_NS:
                        continue
                    raw = _read(base / folder / name)  # too close to its indexing to trust the times: the content
                    if raw is not None and content_hash(raw) == old[4]:
                        confirmed.append((start, rel))
                        continue
                    stale.append((folder, file_id, raw))
                    had.append(rel)
                    continue
                if old is not None:
                    had.append(rel)
                stale.append((folder, file_id, None))
        del slow
        if not stale and not known and not confirmed and not gone and not rows:
            return temp
        failed: set[str] = set()
        db = self.db
        # writing most of the index: its b-trees are made once at the end, sorted, instead of row by row
        bulk = len(stale) >= BULK_MIN and len(stale) > db.execute("SELECT count(*) FROM files").fetchone()[0]
        gc_was_enabled = gc.isenabled()
        gc.disable()  # many small objects, none cyclic: the collector would walk them again and again for nothing
        prepared = _prepared(base, stale, start, load)
        try:
            for at in range(0, max(len(stale), 1), BATCH):
                db.execute("BEGIN IMMEDIATE")
                try:
                    if at == 0:
                        for rel in known:  # indexed, no longer on disk
                            self._forget(rel, with_file=True)
                        for folder in gone:  # a folder removed whole
                            for table in ("records", "observations", "targets", "history"):
                                sql = f"DELETE FROM {table} WHERE path IN (SELECT path FROM files WHERE folder = ?)"  # noqa: S608
                                db.execute(sql, (folder,))
                            db.execute("DELETE FROM files WHERE folder = ?", (folder,))
                            db.execute("DELETE FROM folders WHERE folder = ?", (folder,))
                        db.executemany("UPDATE files SET indexed_ns = ? WHERE path = ?", confirmed)
                        if bulk:  # forgotten while the indexes find their rows, then the indexes go
                            for rel in had:
                                self._forget(rel, with_file=True)
                            for name in _INDEX_NAMES:
                                db.execute(f"DROP INDEX IF EXISTS {name}")
                    for (folder, file_id, _), (made, found) in zip(stale[at : at + BATCH], prepared, strict=False):
                        problems.extend(found)
                        rel = f"{folder}/{file_id[0]}"
                        if db.execute("DELETE FROM files WHERE path = ?", (rel,)).rowcount:  # its rows go with it
                            self._forget(rel, with_file=False)
                        if made is None:
                            failed.add(folder)
                        else:
                            self._insert(made)
                    if at + BATCH >= len(stale):  # the last batch: the folders, once their files are indexed
                        for statement in _INDEXES if bulk else ():
                            db.execute(statement)
                        db.executemany(
                            "INSERT OR REPLACE INTO folders VALUES (?, ?, ?, ?, ?, ?, ?)",
                            [(f, *r[:4], None if f in failed else r[4], start) for f, r in rows.items()],
                        )
                    db.execute("COMMIT")
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
        finally:
            prepared.close()  # the workers stop if indexing failed
            if gc_was_enabled:
                gc.enable()
        return temp

    def _known(self, folders: list[str] | None) -> dict[str, tuple[int, int, int, int, bytes, int]]:
        sql = "SELECT path, size, mtime_ns, ctime_ns, ino, hash, indexed_ns FROM files WHERE {folders}"
        return {row[0]: row[1:] for row in self._rows(sql, None if folders is None else set(folders))}

    def _forget(self, rel: str, *, with_file: bool) -> None:
        for table in ("records", "observations", "targets", "history", *(("files",) if with_file else ())):
            self.db.execute(f"DELETE FROM {table} WHERE path = ?", (rel,))  # noqa: S608 - table names are ours

    def _insert(self, rows: _Rows) -> None:
        """Write one file's rows (see `_prepare`)."""
        file_row, record_row, observations, targets, history = rows
        self.db.execute("INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", file_row)
        self.db.execute("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", record_row)
        self.db.executemany("INSERT INTO observations VALUES (?, ?, ?, ?, ?, ?)", observations)
        self.db.executemany("INSERT INTO targets VALUES (?, ?, ?, ?, ?, ?, ?)", targets)
        self.db.executemany("INSERT INTO history VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", history)

    # ------------------------------------------------------------------------------------------ the dataset files

    def dataset(self, files: dict[str, os.stat_result]) -> dict[str, str] | None:
        """The validated data (JSON) of the workspace's dataset files (ptrack.yaml, goals, chapters, regions, task
        files: name -> stat) when every one is the file indexed, with no file added or removed; else None."""
        rows = self.db.execute("SELECT name, size, mtime_ns, ctime_ns, ino, hash, indexed_ns, body FROM dataset").fetchall()
        if {row[0] for row in rows} != files.keys():
            return None
        bodies = {}
        for name, size, mtime_ns, ctime_ns, ino, digest, indexed_ns, body in rows:
            st = files[name]
            if (size, mtime_ns, ctime_ns, ino) != (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino):
                return None
            if max(st.st_mtime_ns, st.st_ctime_ns) >= indexed_ns - RACY_NS:  # too close to its indexing: the content
                raw = _read(self.root / name)
                if raw is None or hashlib.blake2b(raw, digest_size=16).digest() != digest:
                    return None
            bodies[name] = body
        return bodies

    def save_dataset(self, files: dict[str, tuple[os.stat_result, bytes]], bodies: dict[str, str], start: int) -> None:
        """Keep the dataset files' validated data (name -> JSON) with each file's identity (stat, bytes read)."""
        rows = [
            (name, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, hashlib.blake2b(raw, digest_size=16).digest(),
             start, bodies[name])
            for name, (st, raw) in files.items()
        ]  # fmt: skip
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.execute("DELETE FROM dataset")
            self.db.executemany("INSERT INTO dataset VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    # ------------------------------------------------------------------------------------------ reading it

    def _rows(self, sql: str, folders: set[str] | None, params: tuple[Any, ...] = ()) -> Iterator[Any]:
        """Rows of `sql` (which says `{folders}` where a condition on the records' folder goes) in these folders (all: None)."""
        if folders is None:
            return self.db.execute(sql.replace("{folders}", "1"), params)
        condition = "folder IN (SELECT value FROM json_each(?))"  # any number of folders, through the folder index
        return self.db.execute(sql.replace("{folders}", condition), (json.dumps(sorted(folders)), *params))

    def records(self, folders: set[str] | None) -> Iterator[RegionRecord]:
        """Whole records, in file order (folder, then file name)."""
        from policy_tracker.models import RegionRecord

        for (body,) in self._rows("SELECT body FROM records WHERE {folders} ORDER BY folder, name", folders):
            yield RegionRecord.model_validate_json(body, strict=False)  # validated when it was indexed

    def records_with_hash(self, paths: set[str]) -> Iterator[tuple[RegionRecord, bytes]]:
        """Whole records of these files (`<folder>/<name>`), each with the `content_hash` of the file it was read from."""
        from policy_tracker.models import RegionRecord

        folders = {p.partition("/")[0] for p in paths}
        sql = "SELECT r.path, r.body, f.hash FROM records r JOIN files f ON f.path = r.path WHERE r.{folders}"
        for path, body, digest in self._rows(sql, folders):
            if path in paths:
                yield RegionRecord.model_validate_json(body, strict=False), digest

    def summaries(self, folders: set[str] | None) -> Iterator[RegionRecord]:
        """Records with their top-level fields only (no indicators, notes or history), for listings."""
        from policy_tracker.models import RegionRecord

        sql = (
            "SELECT schema_version, task, region, revision, status, owner, rating FROM records WHERE {folders} "
            "ORDER BY folder, name"
        )
        for sv, task, region, revision, status, owner, rating in self._rows(sql, folders):
            fields: dict[str, Any] = {"schema_version": sv, "task": task, "region": region}
            fields.update(revision=revision, status=status)
            if owner is not None:
                fields["owner"] = owner
            if rating is not None:
                fields["rating"] = json.loads(rating)
            yield RegionRecord.model_construct(**fields)

    def listing(self, folders: set[str] | None) -> Iterator[tuple[str, str, str, str | None]]:
        """(task, region, status, owner) of each record of these folders (all: None), ordered by task, then region
        (as Python orders text): a listing by task streams them as they come."""
        sql = "SELECT task, region, status, owner FROM records WHERE {folders} ORDER BY task, region, folder, name"
        return self._rows(sql, folders)

    def count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM records").fetchone()[0])

    def checked(self, regions: Collection[str], good: Collection[str], indicators: dict[str, set[str]]) -> Iterator[Checked]:
        """The records that validate's cross-file checks could fault, in file order; every other record passes them.

        That is, a record whose region is not in `good` (the registry's codes less the retired ones and CN) or is
        another's but for case, whose owner is not in `regions`, whose task is not in `indicators` (task: its
        indicator ids) or that has an indicator its task does not define. A record filed under another task or
        region is never indexed (its file is refused when read), so none is here. Found from the distinct
        regions, owners and tasks' indicator lists (three scans of the records_checked index), so a workspace of
        valid records costs no Python object per record.
        """
        present = [region for (region,) in self.db.execute("SELECT DISTINCT region FROM records")]
        folded: dict[str, int] = {}
        for region in present:
            folded[region.casefold()] = folded.get(region.casefold(), 0) + 1
        suspect = [region for region in present if region not in good or folded[region.casefold()] > 1]
        sql = "SELECT DISTINCT owner FROM records WHERE owner IS NOT NULL"
        owners = [owner for (owner,) in self.db.execute(sql) if owner not in regions]
        combos = self.db.execute("SELECT DISTINCT task, indicator_ids FROM records").fetchall()
        unknown = [
            [task, ids] for task, ids in combos if task not in indicators or any(i not in indicators[task] for i in ids.split())
        ]
        if not suspect and not owners and not unknown:
            return
        sql = """SELECT folder, name, task, region, owner, indicator_ids FROM records
            WHERE region IN (SELECT value FROM json_each(?1)) OR owner IN (SELECT value FROM json_each(?2))
            OR (task, indicator_ids) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?3))"""
        records = self.root / "records"
        found = self.db.execute(sql, (_dumps(suspect), _dumps(owners), _dumps(unknown))).fetchall()
        for folder, name, task, region, owner, ids in sorted(found, key=lambda row: (row[0], row[1])):
            yield Checked(records / folder / name, task, region, owner, tuple(ids.split()))

    def conflicted(self) -> Iterator[tuple[Path, RegionRecord]]:
        """Records a git merge left with fields to choose (`conflicts:`, see policy_tracker.merge), in file order."""
        from policy_tracker.models import RegionRecord

        sql = "SELECT folder, name, body FROM records WHERE conflicted ORDER BY folder, name"  # the partial index
        for folder, name, body in self.db.execute(sql):
            yield self.root / "records" / folder / name, RegionRecord.model_validate_json(body, strict=False)

    def history(
        self, *, task: str | None = None, folders: set[str] | None = None, since: dt.date | None = None, by: str | None = None
    ) -> Iterator[tuple[str, str, HistoryEntry]]:
        """(task, region, entry) of the region records' history, newest first, streamed in SQL order.

        The order is `query.history_rows`'s: the entry's time (UTC), then change set, task and region, newest first.
        """
        where, params = ["{folders}"], []
        if task is not None:
            where.append("task = ?")
            params.append(task)
        if since is not None:
            where.append("day >= ?")
            params.append(since.isoformat())
        if by is not None:
            where.append("by_key = ?")
            params.append(by.strip().casefold())
        sql = (
            f"SELECT task, region, body FROM history WHERE {' AND '.join(where)} "  # noqa: S608 - fixed clauses
            "ORDER BY utc DESC, change DESC, task DESC, region DESC, folder, name, seq"
        )
        from policy_tracker.models import HistoryEntry

        for row_task, region, body in self._rows(sql, folders, tuple(params)):
            yield row_task, region, HistoryEntry.model_validate_json(body)

    def as_of(self, folders: set[str] | None, moment: dt.datetime, task: str | None = None) -> Iterator[AsOfRow]:
        """Each record of these folders (all: None) in file order, with only what an assessment at `moment` needs
        of its history: the entries recorded after it (to be taken back), how many came before, and the latest
        note among those. The rest of the history stays in the database, so memory does not grow with it.
        With `task`, only that task's records, by region (a listing by task, one task at a time).
        """
        from policy_tracker.models import HistoryEntry, RegionRecord

        at = _utc_text(moment)
        noted = "json_extract(h.body, '$.note')"
        where, params = "1", [at, at, at]
        if folders is not None:
            where = "r.folder IN (SELECT value FROM json_each(?))"
            params.append(json.dumps(sorted(folders)))
        order = "r.folder, r.name"
        if task is not None:
            where += " AND r.task = ?"
            params.append(task)
            order = "r.region, r.folder, r.name"
        sql = (
            "SELECT r.path, json_remove(r.body, '$.history'), "  # noqa: S608 - fixed clauses
            "(SELECT count(*) FROM history h WHERE h.path = r.path AND h.utc <= ?), "
            "(SELECT count(*) FROM history h WHERE h.path = r.path AND h.utc > ?), "
            f"(SELECT {noted} FROM history h WHERE h.path = r.path AND h.utc <= ? AND {noted} IS NOT NULL "
            f"AND {noted} != '' ORDER BY h.seq DESC LIMIT 1) "
            f"FROM records r WHERE {where} ORDER BY {order}"
        )
        later_sql = "SELECT body FROM history WHERE path = ? AND utc > ? ORDER BY seq"
        for path, body, earlier, later, note in self.db.execute(sql, params):
            entries = (
                tuple(HistoryEntry.model_validate_json(b) for (b,) in self.db.execute(later_sql, (path, at))) if later else ()
            )
            yield AsOfRow(RegionRecord.model_validate_json(body, strict=False), entries, earlier, note)

    def existing(self, folders: set[str] | None, moment: dt.datetime) -> Iterator[tuple[str, str]]:
        """(task, region) of the records of these folders (all: None) that existed at `moment`: with no history
        entry after it, or with one at or before it (as `progress.as_of_record`), counted in SQL, nothing parsed."""
        at = _utc_text(moment)
        where, params = "1", [at, at]
        if folders is not None:
            where = "r.folder IN (SELECT value FROM json_each(?))"
            params.insert(0, json.dumps(sorted(folders)))
        sql = (
            f"SELECT r.task, r.region FROM records r WHERE {where} AND ("  # noqa: S608 - fixed clauses
            "NOT EXISTS (SELECT 1 FROM history h WHERE h.path = r.path AND h.utc > ?) "
            "OR EXISTS (SELECT 1 FROM history h WHERE h.path = r.path AND h.utc <= ?)) ORDER BY r.folder, r.name"
        )
        return self.db.execute(sql, params)

    def changes_between(
        self, folders: set[str] | None, since: dt.datetime, until: dt.datetime
    ) -> Iterator[tuple[str, str, HistoryEntry]]:
        """(task, region, entry) of the history entries recorded in (since, until], newest first; entries of the same
        time and change set in file order, each record's in the order recorded (as `progress.history_between`)."""
        from policy_tracker.models import HistoryEntry

        where, params = "utc > ? AND utc <= ?", [_utc_text(since), _utc_text(until)]
        if folders is not None:
            where += " AND folder IN (SELECT value FROM json_each(?))"
            params.append(json.dumps(sorted(folders)))
        sql = (
            f"SELECT task, region, body FROM history WHERE {where} "  # noqa: S608 - fixed clauses
            "ORDER BY utc DESC, change DESC, folder, name, seq"
        )
        for task, region, body in self.db.execute(sql, params):
            yield task, region, HistoryEntry.model_validate_json(body)

    def change_entries(self, change: str) -> Iterator[tuple[str, str, HistoryEntry]]:
        """(task, region, entry) of one change set in the region records."""
        from policy_tracker.models import HistoryEntry

        sql = "SELECT task, region, body FROM history WHERE change = ? ORDER BY folder, name, seq"
        for task, region, body in self.db.execute(sql, (change,)):
            yield task, region, HistoryEntry.model_validate_json(body)

    def newest_change(self) -> tuple[str, str] | None:
        """(UTC time, change set) of the newest history entry of the region records."""
        row = self.db.execute("SELECT utc, change FROM history ORDER BY utc DESC, change DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row else None


def content_hash(raw: bytes) -> bytes:
    """The hash the index keeps of a file's bytes: a file with this hash holds what the index holds of it."""
    return hashlib.blake2b(raw, digest_size=16).digest()


_Rows = tuple[tuple[Any, ...], tuple[Any, ...], list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]
Load: TypeAlias = "Callable[[Path, bytes], tuple[RegionRecord | None, list[Problem]]]"  # the models: imported where used
_Stale = tuple[str, tuple[str, int, int, int, int], bytes | None]  # folder, (name, size, mtime_ns, ctime_ns, ino), content


def _prepare(base: Path, stale: _Stale, start: int, load: Load) -> tuple[_Rows | None, list[Problem]]:
    """Read and validate one file of `base` (records/), listed with (name, size, mtime_ns, ctime_ns, inode), into its
    index rows (files, records, observations, targets, history), with its problems; no rows if it cannot be indexed
    now. Touches no database: it runs in a worker process when many files are read (see `_prepared`)."""
    folder, (name, size, mtime_ns, ctime_ns, ino), raw = stale
    path, rel = base / folder / name, f"{folder}/{name}"
    if raw is None:
        raw = _read(path)
        if raw is None:
            return None, []  # removed or unreadable since it was listed: looked at again next time
    record, problems = load(path, raw)
    if record is None:
        return None, problems
    try:
        after = path.stat()
    except OSError:
        return None, problems
    if (after.st_size, after.st_mtime_ns, after.st_ino) != (size, mtime_ns, ino):
        return None, problems  # written again while being read: not indexed now, read again next time
    data = record.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    file_row = (rel, folder, name, size, mtime_ns, ctime_ns, ino, content_hash(raw), start)
    record_row = (rel, folder, name, record.task, record.region, record.status, record.owner, record.revision,
                  record.schema_version, _dumps(data["rating"]) if "rating" in data else None,
                  " ".join(i.id for i in record.indicators), _dumps(data), 1 if record.conflicts else 0)  # fmt: skip
    observations, targets = [], []
    for item in data.get("indicators", []):
        ind = item["id"]
        for k, o in enumerate(item.get("observations", [])):
            observations.append((rel, ind, k, o["date"], o.get("value"), _dumps(o)))
        for k, t in enumerate(item.get("targets", [])):
            targets.append((rel, ind, k, t.get("year"), t.get("period"), t.get("value"), _dumps(t)))
    history = []
    for seq, entry in enumerate(data.get("history", [])):
        utc, day = _utc(entry["at"])
        history.append((rel, folder, name, seq, record.task, record.region, utc, day, entry["change"],
                        entry["by"].casefold(), _dumps(entry)))  # fmt: skip
    return (file_row, record_row, observations, targets, history), problems


def _prepare_all(base: Path, items: list[_Stale], start: int, load: Load) -> list[tuple[_Rows | None, list[Problem]]]:
    gc.disable()  # a worker: nothing it makes is cyclic
    return [_prepare(base, item, start, load) for item in items]


def _workers(files: int) -> int:
    """How many processes read `files` files: one per core the process may use, when there are enough files."""
    if files < PARALLEL_MIN or os.environ.get("PTRACK_NO_INDEX") is not None:
        return 0
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return min(cores, MAX_WORKERS) if cores > 1 else 0


def _prepared(
    base: Path, stale: list[_Stale], start: int, load: Load
) -> Generator[tuple[_Rows | None, list[Problem]], None, None]:
    """`_prepare` of each stale file, in order: in worker processes when there are many (libyaml and pydantic are
    single-threaded, and reading a workspace cold is mostly parsing), else here. At most a few chunks of rows are
    in flight at once, so memory stays bounded however many files there are; only this process writes the index."""
    workers = _workers(len(stale))
    if not workers:
        for item in stale:
            yield _prepare(base, item, start, load)
        return
    import multiprocessing
    from concurrent.futures import Future, ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)  # fork: no second start-up
    chunks = [stale[at : at + CHUNK] for at in range(0, len(stale), CHUNK)]
    done = 0  # chunks whose rows were given
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_worker_signals) as pool:
            pending: list[Future[list[tuple[_Rows | None, list[Problem]]]]] = []
            for chunk in chunks:
                pending.append(pool.submit(_prepare_all, base, chunk, start, load))
                while len(pending) > 2 * workers or (pending and chunk is chunks[-1]):
                    rows = pending.pop(0).result()
                    done += 1
                    yield from rows
    except BrokenProcessPool:  # a worker was killed (out of memory, a signal): the rest is read here, more slowly
        for chunk in chunks[done:]:
            for item in chunk:
                yield _prepare(base, item, start, load)


def _worker_signals() -> None:
    """A worker ends when it is told to (a fork inherits ptrack's handlers, which hold SIGTERM while writing) and
    leaves Ctrl-C to the command, which ends the workers."""
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _folders(base: Path) -> list[str]:
    """The names of the folders in `base` (records/), sorted; none when it is missing."""
    try:
        with os.scandir(base) as entries:
            return sorted(e.name for e in entries if e.is_dir())
    except OSError:
        return []


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def run(root: Path, work: Callable[[Index], _T]) -> _T:
    """Open the workspace's index and do `work` with it; a damaged database is deleted, rebuilt and `work` done again.

    `work` must not have effects outside the index before it returns (it may be run twice).
    """
    path = index_path(root) if os.environ.get("PTRACK_NO_INDEX") is None else None
    for attempt in (1, 2):
        index = None
        try:
            index = Index(root, path)
            return work(index)
        except sqlite3.DatabaseError as e:
            if attempt == 2 or path is None:
                raise
            if index is not None:
                index.close()
                index = None
            if isinstance(e, sqlite3.OperationalError):
                # locked past the timeout, read-only, disk full: the database may be sound and in use by another
                # ptrack, so it is kept, and this command builds its answer in memory instead
                path = None
                continue
            discard(path)  # not a database, truncated, malformed: it only ever held what the files say
        finally:
            if index is not None and not index.keep_open:
                index.close()
    raise AssertionError("unreachable")  # pragma: no cover


def stream(root: Path, prepare: Callable[[Index], None], rows: Callable[[Index], Iterable[_T]]) -> Iterator[_T]:
    """`rows(index)`, streamed, after `prepare(index)` (bringing it up to date); the index stays open while they flow.

    A damaged database found while preparing is rebuilt, as in `run`. Once rows have flowed they cannot be taken
    back: damage found then is one clear error, and the database is deleted so that the next command rebuilds it.
    """
    from policy_tracker.errors import PtrackError

    def ready(ix: Index) -> Index:
        prepare(ix)
        ix.keep_open = True
        return ix

    index = run(root, ready)
    try:
        yield from rows(index)
    except sqlite3.DatabaseError:
        if index.path is not None:
            discard(index.path)
        raise PtrackError(
            "ptrack's index of this workspace was damaged while being read",
            where=str(index.path),
            fix="It has been deleted; run the command again (the files themselves are untouched)",
        ) from None
    finally:
        index.close()


def merge_history(*streams: Iterable[Any]) -> Iterator[Any]:
    """Merge streams of query.HistoryRow each newest first into one, newest first (earlier streams first on ties)."""
    return heapq.merge(*streams, key=lambda r: (r.when, r.entry.change, r.task, r.region), reverse=True)


__all__ = ["AsOfRow", "Checked", "Index", "Problem", "discard", "index_path", "merge_history", "run", "stream"]
