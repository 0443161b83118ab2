"""The write-ahead journal: a change set over many files is written wholly or not at all, even across a crash.

How a change set is written (`apply_change_set`, always under the workspace lock):

1. every file's new content goes into `.ptrack-journal/<k>.new`, fsynced, and every file is checked to
   still hold what the change was planned on;
2. `change.json` names each file with the SHA-256 of its old content (or null: the file did not exist) and of
   its new content; it is written to a temporary name, fsynced and renamed: from that moment the change set is
   *committed* (a change set of one file needs no manifest: renaming its file is the commit);
3. each `<k>.new` is renamed over its record, the folders are fsynced;
4. the journal is deleted, `change.json` last.

The next command that opens the workspace (`recover`, under the lock) finds a journal left by a crash:
without `change.json` nothing was touched yet and the journal is simply deleted (rolled back); with it, each
file that does not hold its new content yet and still holds its old content gets it (rolled forward). A file
that holds neither was changed by someone else since: recovery stops and says so, and keeps the journal.
When a file cannot be replaced while the command that committed runs (permissions, a disk error), the
command puts back the files already replaced from the old contents it holds, and says that nothing was written.

Ctrl-C and SIGTERM are held back while a change set is written: before the commit the journal is deleted and
the command ends with "Interrupted: nothing was written"; after it the files are all replaced first.

A long change set (an import of many records) is *staged* instead (`Staging`, `commit_staged`): its new
contents are prepared without the workspace lock, in bounded batches, into a folder of their own
(`.ptrack-staging-<change>.tmp/`, which no other command reads), with each file's SHA-256 and identity as it was
read. They are made durable with one filesystem sync (`syncfs`; a fsync per file costs ~6 ms on the reference
machine, a minute per 10,000 records). Only then is the lock taken: the files another writer changed meanwhile
are found (identity, then hash) and planned again by the caller, the staging folder is renamed into
`.ptrack-journal/` (step 1 above, uncommitted) and steps 2-4 follow as for any change set. Other writers wait
for the lock for the commit only, not for the preparation; a crash during the preparation leaves only the
staging folder, which the next import deletes.

For tests, `PTRACK_TEST_PAUSE=<point>` stops the writing process (SIGSTOP) at a named point, after writing
"ptrack paused at <point>" to stderr: `prepare:<k>` (k records of a staged change set prepared, no lock
held), `journal` (journal written, not committed), `commit` (committed, no file replaced), `replace:<k>` (k
files replaced), `done` (all replaced, journal not yet deleted). A test waits for that line, then kills or
signals the process: it waits for an event, never for time.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from policy_tracker.errors import Interrupted, PtrackError

JOURNAL_DIR = ".ptrack-journal"
STAGING_PREFIX = ".ptrack-staging-"  # + change id + ".tmp": ignored by git through the `.*.tmp` line of .gitignore
MANIFEST = "change.json"
_FORMAT = 1
ENV_PAUSE = "PTRACK_TEST_PAUSE"


@dataclass(frozen=True)
class FileChange:
    """One file of a change set: its path (inside the workspace), what it holds now (None: absent) and its new
    bytes (None: the change set deletes it, as a move of a record does)."""

    path: Path
    old: bytes | None
    new: bytes | None


def _digest(data: bytes | None) -> str | None:
    return hashlib.sha256(data).hexdigest() if data is not None else None


def checkpoint(point: str) -> None:
    """A named point of the write, where a test can stop this process (see the module docstring)."""
    if os.environ.get(ENV_PAUSE) == point and hasattr(signal, "SIGSTOP"):
        os.write(2, f"ptrack paused at {point}\n".encode())
        os.kill(os.getpid(), signal.SIGSTOP)


@contextmanager
def signals_held() -> Iterator[list[int]]:
    """Hold back SIGINT and SIGTERM: the signals received are listed instead of ending the process."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received  # only the main thread may set handlers; a library caller in a thread keeps the defaults
        return

    def hold(signum: int, _frame: Any) -> None:
        received.append(signum)

    wanted = [signal.SIGINT, signal.SIGTERM]
    previous = {s: signal.signal(s, hold) for s in wanted}
    try:
        yield received
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def fsync_dir(folder: Path) -> None:
    """Make a rename or a new file in `folder` durable (a no-op on Windows, which cannot open a folder)."""
    if sys.platform == "win32":  # pragma: no cover - Windows cannot open a directory
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_synced(path: Path, data: bytes, mode: int = 0o666) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _current(path: Path) -> bytes | None:
    """What a target holds now; a link or a special file is never read through."""
    try:
        if path.is_symlink() or (path.exists() and not path.is_file()):
            raise PtrackError(
                f"{path} is not a regular file (a link, a folder or a device)",
                fix="ptrack writes records only as plain files: replace it with the file itself",
            )
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _install(source: Path, target: Path) -> None:
    """Rename a journal file over its target, keeping the target's permissions."""
    try:
        mode = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    os.chmod(source, mode)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, target)


def _remove(journal: Path) -> None:
    """Delete a journal, its manifest last: a crash meanwhile leaves a committed journal that is already complete."""
    manifest = journal / MANIFEST
    for p in journal.iterdir():
        if p.name != MANIFEST:
            p.unlink()
    with suppress(FileNotFoundError):
        manifest.unlink()
    journal.rmdir()  # not synced: should it come back after a power cut, its files are all in place already


def _restore(files: Sequence[FileChange], journal: Path) -> None:
    """Put back the old content of every file that already holds its new content."""
    touched = set()
    for k, f in enumerate(files):
        if _current(f.path) != f.new:
            continue
        if f.old is None and f.new is None:  # pragma: no cover - nothing to delete is never planned
            continue
        if f.old is None:
            f.path.unlink()
        else:
            tmp = journal / f"{k}.restore"
            _write_synced(tmp, f.old)
            _install(tmp, f.path)
        touched.add(f.path.parent)
    for folder in touched:
        fsync_dir(folder)


def _relative(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def apply_change_set(root: Path, files: Sequence[FileChange], *, change: str) -> None:
    """Write `files` as one change set: all of them or none, across crashes and signals.

    Call it under the workspace lock, after `recover`. Raises PtrackError (nothing written) when a file is
    not what `old` says (changed by another program) or cannot be written, and Interrupted when SIGINT or
    SIGTERM arrived meanwhile, saying whether the change set was written wholly or not at all. A long import
    can call this once per batch: each batch is a change set of its own.
    """
    if not files:
        return
    journal = root / JOURNAL_DIR
    if journal.exists():  # pragma: no cover - callers recover first
        raise PtrackError(f"an interrupted change is pending in {journal}", fix="Run any ptrack command to finish it")
    entries: list[dict[str, Any]] = []
    made: list[Path] = []  # folders made for new records, removed again if nothing is written
    single = len(files) == 1 and files[0].new is not None  # one file: its rename is the commit, no manifest
    with signals_held() as received:
        try:
            journal.mkdir()
            for k, f in enumerate(files):
                if received:
                    break
                if f.new is not None:
                    _write_synced(journal / f"{k}.new", f.new)
                entries.append({"path": _relative(root, f.path), "old_sha256": _digest(f.old),
                                "new": f"{k}.new" if f.new is not None else None, "new_sha256": _digest(f.new)})  # fmt: skip
            for f in files:
                made.extend(_make_folders(f.path.parent))
                if not received and _current(f.path) != f.old:
                    raise PtrackError(
                        f"{f.path} was changed by another program while ptrack was writing",
                        fix="Nothing was written; check the file and run the command again",
                    )
            checkpoint("journal")
            if received:
                raise Interrupted(received[0], "Interrupted: nothing was written")
            if not single:
                _commit(root, journal, change, entries)
        except OSError as e:
            _discard(journal, made)
            raise PtrackError(
                f"cannot write the change: {e.strerror} ({e.filename or journal})",
                fix="Nothing was written; free some space or fix the permissions, then run the command again",
            ) from None
        except BaseException:
            _discard(journal, made)
            raise
        # Committed: from here on the change set is completed, by this process or by the next command.
        checkpoint("commit")
        try:
            _roll_forward(root, entries, journal)
        except OSError as e:
            _give_back(files, journal, f"cannot write {e.filename or 'a record'}: {e.strerror}")
        except _Conflict as c:
            _give_back(files, journal, f"{c.target} was changed by another program while ptrack was writing")
        _remove_quietly(journal)
        if received:
            n = len(files)
            raise Interrupted(
                received[0], f"Interrupted after the change was committed: all {n} record{'s' if n != 1 else ''} written"
            )


def _commit(root: Path, journal: Path, change: str, entries: list[dict[str, Any]]) -> None:
    """Write the manifest that commits a journal, durably: before it the change set rolls back, after it forward."""
    manifest = {"format": _FORMAT, "change": change, "files": entries}
    _write_synced(journal / f"{MANIFEST}.tmp", json.dumps(manifest, ensure_ascii=False).encode("utf-8"))
    os.replace(journal / f"{MANIFEST}.tmp", journal / MANIFEST)
    fsync_dir(journal)
    fsync_dir(root)


def _make_folders(folder: Path) -> list[Path]:
    """Make a folder and its missing parents; the ones made, deepest first."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for f in reversed(missing):
        f.mkdir()
        fsync_dir(f.parent)  # the new folder's entry: after a power cut the record is not left in a folder now gone
    return missing


def _discard(journal: Path, made: list[Path]) -> None:
    """Undo an uncommitted change set: its journal and the empty folders it made go."""
    shutil.rmtree(journal, ignore_errors=True)
    for folder in sorted(made, key=lambda f: len(f.parts), reverse=True):
        with suppress(OSError):
            folder.rmdir()


def _roll_forward(root: Path, entries: list[dict[str, Any]], journal: Path) -> None:
    folders = set()
    for k, e in enumerate(entries, 1):
        target = root / e["path"]
        now = _digest(_current(target))
        if now != e["new_sha256"]:
            if now != e["old_sha256"]:
                raise _Conflict(target)
            if e["new"] is None:
                target.unlink()  # a record moved elsewhere by the same change set
            else:
                _install(journal / e["new"], target)
        folders.add(target.parent)
        checkpoint(f"replace:{k}")
    for folder in folders:
        fsync_dir(folder)
    checkpoint("done")


class _Conflict(Exception):
    def __init__(self, target: Path) -> None:
        super().__init__(str(target))
        self.target = target


def _give_back(files: Sequence[FileChange], journal: Path, why: str) -> None:
    """A committed change set that cannot be completed is rolled back: every file as it was, or it says so."""
    try:
        _restore(files, journal)
        _remove(journal)
    except (OSError, PtrackError):
        raise PtrackError(
            f"{why}; the change is kept in {JOURNAL_DIR}",
            fix="Fix the cause (space, permissions) and run any ptrack command: it completes the change",
        ) from None
    raise PtrackError(why, fix="Nothing was written: every record is as it was") from None


def _remove_quietly(journal: Path) -> None:
    # All files hold their new content: a journal that cannot be removed now is removed by the next command.
    with suppress(OSError):
        _remove(journal)


def pending(root: Path) -> bool:
    """Whether a change set was interrupted in this workspace (one stat: cheap enough for every command)."""
    return (root / JOURNAL_DIR).exists()


def recover(root: Path) -> str | None:
    """Complete or roll back an interrupted change set; call under the workspace lock.

    Returns one line saying what was done (None when there was nothing to do). Raises PtrackError when a
    file of the change set was changed since by someone else; the journal is then kept for a person to decide.
    """
    journal = root / JOURNAL_DIR
    if not journal.exists():
        return None
    manifest = journal / MANIFEST
    try:
        if not manifest.exists():
            had_files = any(p.suffix in (".new", ".old") for p in journal.iterdir())
            shutil.rmtree(journal)
            if not had_files:
                return None
            return "Rolled back an interrupted change that had not been committed: no record was changed."
        data = json.loads(manifest.read_text(encoding="utf-8"))
        entries, change = data["files"], data["change"]
        for e in entries:
            if ".." in Path(e["path"]).parts or Path(e["path"]).is_absolute():
                raise PtrackError(f"{manifest} names a file outside the workspace: {e['path']}", fix="Delete the journal")
        try:
            _roll_forward(root, entries, journal)
        except _Conflict as c:
            raise PtrackError(
                f"cannot complete the interrupted change {change}: {_relative(root, c.target)} was changed since",
                where=str(journal),
                fix=f"Check that file; then delete {JOURNAL_DIR} (its *.new files hold the interrupted change)",
            ) from None
        except OSError as e:
            raise PtrackError(
                f"cannot complete the interrupted change {change}: {e.strerror} ({e.filename})",
                fix=f"Fix the cause (space, permissions) and run the command again: the change is kept in {JOURNAL_DIR}",
            ) from None
        _remove(journal)
    except OSError as e:
        raise PtrackError(
            f"cannot recover the interrupted change in {journal}: {e.strerror}",
            fix="Make the workspace writable and run the command again",
        ) from None
    except (ValueError, KeyError, TypeError):
        raise PtrackError(
            f"the journal of an interrupted change is damaged ({manifest})",
            fix=f"Check the records it names with `ptrack validate`, then delete {JOURNAL_DIR}",
        ) from None
    n = len(entries)
    return f"Completed an interrupted change {change}: it had been committed; all {n} record{'s' if n != 1 else ''} written."


# ---------------------------------------------------------------------------------------------- staged change sets


@dataclass
class Staged:
    """One file of a staged change set: its path, the SHA-256 and identity (size, mtime_ns, ctime_ns, inode) of
    what it held when it was planned on (None: absent), and the SHA-256 of its new content, staged as `<k>.new`."""

    path: Path
    old_sha256: str | None
    identity: tuple[int, int, int, int] | None
    new_sha256: str


def identity(path: Path) -> tuple[int, int, int, int] | None:
    """What changes whenever a file is written (its ctime cannot be set back by a program); None: no file."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


class Staging:
    """The new contents of a long change set, prepared without the workspace lock (see the module docstring).

    `add` writes one file's new content (not synced yet); `sync` makes them all durable at once; under the lock,
    `changed` lists the files someone else wrote since they were read, `replace` stages their content planned
    anew and `rewrite` stamps the others anew (then `sync` again), and `commit_staged` commits and installs
    them. `discard` (always safe) deletes what is left.
    """

    def __init__(self, root: Path, change: str) -> None:
        self.root = root
        self.folder = root / f"{STAGING_PREFIX}{change}.tmp"
        self.files: list[Staged] = []
        self._owner: Any = None
        clean_stale_staging(root)
        part = root / f"{STAGING_PREFIX}{change}.part.tmp"  # not yet locked by its owner: never taken for stale
        try:
            part.mkdir()
            self._owner = open(part / "owner", "a+b")  # noqa: SIM115 - held until the staging ends
            _try_flock(self._owner)  # a live import's staging is never taken for a stale one
            os.rename(part, self.folder)
        except OSError as e:
            self.discard()
            shutil.rmtree(part, ignore_errors=True)
            raise PtrackError(
                f"cannot write the change: {e.strerror} ({e.filename or self.folder})",
                fix="Nothing was written; make the workspace writable or free some space, then run the command again",
            ) from None

    def add(self, path: Path, old: bytes | None, old_identity: tuple[int, int, int, int] | None, new: bytes) -> int:
        """Stage `new` for `path`, planned on `old` (read after `old_identity` was taken); returns its number."""
        k = len(self.files)
        try:
            _write_unsynced(self.folder / f"{k}.new", new)
        except OSError as e:
            raise PtrackError(
                f"cannot write the change: {e.strerror} ({e.filename or self.folder})",
                fix="Nothing was written; free some space or fix the permissions, then run the command again",
            ) from None
        self.files.append(Staged(path, _digest(old), old_identity, hashlib.sha256(new).hexdigest()))
        return k

    def replace(self, k: int, old: bytes | None, new: bytes) -> None:
        """Stage `new` for file `k` instead, planned again on `old` (under the lock: its current content)."""
        (self.folder / f"{k}.new").unlink()
        _write_unsynced(self.folder / f"{k}.new", new)  # `sync` follows
        f = self.files[k]
        self.files[k] = Staged(f.path, _digest(old), identity(f.path), hashlib.sha256(new).hexdigest())

    def rewrite(self, k: int, swaps: Sequence[tuple[bytes, bytes]]) -> None:
        """Stage file `k`'s new content with each (old, new) bytes of `swaps` replaced (the change set stamped anew)."""
        path = self.folder / f"{k}.new"
        data = path.read_bytes()
        for old, new in swaps:
            data = data.replace(old, new)
        path.unlink()
        _write_unsynced(path, data)  # `sync` follows
        f = self.files[k]
        self.files[k] = Staged(f.path, f.old_sha256, f.identity, hashlib.sha256(data).hexdigest())

    def sync(self) -> None:
        """Make every staged file durable: one syncfs(2) of the workspace's filesystem where there is one."""
        if not _syncfs(self.folder):
            for k in range(len(self.files)):
                fd = os.open(self.folder / f"{k}.new", os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        fsync_dir(self.folder)

    def changed(self) -> list[int]:
        """The files that no longer hold what they were planned on (call under the lock): their identity changed
        and so did their content."""
        out = []
        for k, f in enumerate(self.files):
            if identity(f.path) == f.identity:
                continue
            if _digest(_current(f.path)) != f.old_sha256:
                out.append(k)
        return out

    def discard(self) -> None:
        if self._owner is not None:
            self._owner.close()
            self._owner = None
        shutil.rmtree(self.folder, ignore_errors=True)


def _write_unsynced(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _syncfs(folder: Path) -> bool:
    """syncfs(2) on the filesystem holding `folder` (Linux); False where there is none."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        call = libc.syncfs
    except (OSError, AttributeError):  # pragma: no cover - a C library without syncfs
        return False
    fd = os.open(folder, os.O_RDONLY)
    try:
        return bool(call(fd) == 0)
    finally:
        os.close(fd)


def _try_flock(handle: Any) -> bool:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: staging folders are never taken for stale
        return False
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def clean_stale_staging(root: Path) -> None:
    """Delete the staging folders of imports that ended without cleaning up (killed): nobody holds their owner lock."""
    for folder in root.glob(f"{STAGING_PREFIX}*.tmp"):
        if folder.name.endswith(".part.tmp"):
            continue  # being made (its owner locks it next)
        try:
            with open(folder / "owner", "a+b") as owner:
                if not _try_flock(owner):
                    continue  # a live import is preparing it
        except OSError:
            pass
        shutil.rmtree(folder, ignore_errors=True)


def commit_staged(root: Path, staging: Staging, *, change: str, progress: Any = None) -> Path | None:
    """Commit a staged change set and install its files (call under the lock, after `recover`, once the files
    `staging.changed()` lists were staged again). Wholly or not at all, as `apply_change_set`; `progress(1)` is
    called after each file is installed.

    Returns the finished journal, moved aside (None if it is gone already): the caller deletes it with
    `delete_finished` once the lock is released. Deleting it frees the replaced files (~1 ms each): other
    writers need not wait for that.
    """
    files = staging.files
    if not files:
        return None
    journal = root / JOURNAL_DIR
    if journal.exists():  # pragma: no cover - callers recover first
        raise PtrackError(f"an interrupted change is pending in {journal}", fix="Run any ptrack command to finish it")
    entries = [{"path": _relative(root, f.path), "old_sha256": f.old_sha256, "new": f"{k}.new", "new_sha256": f.new_sha256}
               for k, f in enumerate(files)]  # fmt: skip
    made: list[Path] = []
    with signals_held() as received:
        try:
            for f in files:
                made.extend(_make_folders(f.path.parent))
            os.rename(staging.folder, journal)
            staging._owner.close()  # the staging folder is the journal now: its owner lock ends here
            staging._owner = None
            checkpoint("journal")
            if received:
                raise Interrupted(received[0], "Interrupted: nothing was written")
            _commit(root, journal, change, entries)
        except OSError as e:
            _discard(journal, made)
            raise PtrackError(
                f"cannot write the change: {e.strerror} ({e.filename or journal})",
                fix="Nothing was written; free some space or fix the permissions, then run the command again",
            ) from None
        except BaseException:
            _discard(journal, made)
            raise
        checkpoint("commit")
        installed = 0
        try:
            folders = set()
            for k, f in enumerate(files, 1):
                if f.old_sha256 is not None:
                    os.link(f.path, journal / f"{k - 1}.old")  # the old content, kept to be put back if a file fails
                _install(journal / f"{k - 1}.new", f.path)
                installed = k
                folders.add(f.path.parent)
                if progress is not None:
                    progress(1)
                checkpoint(f"replace:{k}")
            for folder in folders:
                fsync_dir(folder)
            checkpoint("done")
        except OSError as e:
            _put_back(files[:installed], journal, f"cannot write {e.filename or 'a record'}: {e.strerror}")
        finished: Path | None = root / f"{STAGING_PREFIX}{change}.done.tmp"
        try:
            os.rename(journal, root / f"{STAGING_PREFIX}{change}.done.tmp")  # complete: deleted outside the lock
        except OSError:
            finished = None
            _remove_quietly(journal)
        if received:
            delete_finished(finished)
            n = len(files)
            raise Interrupted(
                received[0], f"Interrupted after the change was committed: all {n} record{'s' if n != 1 else ''} written"
            )
        return finished


def delete_finished(journal: Path | None, progress: Any = None) -> None:
    """Delete a finished journal that `commit_staged` moved aside (a crash meanwhile: the next command deletes it);
    `progress(1)` after each replaced file is freed."""
    if journal is None:
        return
    for path in journal.iterdir():
        with suppress(OSError):
            path.unlink()
        if progress is not None and path.suffix == ".old":
            progress(1)
    shutil.rmtree(journal, ignore_errors=True)


def _put_back(installed: Sequence[Staged], journal: Path, why: str) -> None:
    """A committed staged change set that cannot be completed is rolled back from the old files it kept."""
    try:
        folders = set()
        for k, f in enumerate(installed):
            if f.old_sha256 is None:
                f.path.unlink()
            else:
                os.replace(journal / f"{k}.old", f.path)
            folders.add(f.path.parent)
        for folder in folders:
            fsync_dir(folder)
        _remove(journal)
    except OSError:
        raise PtrackError(
            f"{why}; the change is kept in {JOURNAL_DIR}",
            fix="Fix the cause (space, permissions) and run any ptrack command: it completes the change",
        ) from None
    raise PtrackError(why, fix="Nothing was written: every record is as it was") from None
