"""The sample library's catalogue: one SQLite file in the workspace, a row per analysed file.

A row is keyed by the file's real path and remembers its size, modification time and content hash, so an index
run re-analyses only what changed; a file whose content is already known (moved, renamed, or only touched) takes
the stored analysis over without work. Rows are committed as results arrive (WAL journal), so a run that crashes
or is cancelled keeps what it finished, and the next run resumes from there. Files that could not be read are
kept with their reason in `failures` and tried again only when they change.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS samples(
  path TEXT PRIMARY KEY, root TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
  hash TEXT NOT NULL, version INTEGER NOT NULL, kind TEXT, key TEXT, tempo REAL, duration REAL, lufs REAL,
  record TEXT NOT NULL, indexed_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS samples_hash ON samples(hash);
CREATE INDEX IF NOT EXISTS samples_root ON samples(root);
CREATE TABLE IF NOT EXISTS failures(
  path TEXT PRIMARY KEY, root TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
  version INTEGER NOT NULL, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs(
  id INTEGER PRIMARY KEY AUTOINCREMENT, root TEXT NOT NULL, started REAL NOT NULL, finished REAL, counts TEXT);
"""


@dataclass(frozen=True)
class Stat:
    """What a directory walk knows of a file."""

    path: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Known:
    size: int
    mtime_ns: int
    hash: str
    version: int


def under(root: str) -> str:
    """A LIKE pattern for the paths inside a folder (the folder's own name excluded)."""
    prefix = root.rstrip(os.sep) + os.sep
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class Catalogue:
    """Cheap to construct; each method opens its own connection (the tools call it from worker threads)."""

    def __init__(self, path: Path):
        self.path = Path(path)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=30)
        try:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
            con.executescript(SCHEMA)
            yield con
            con.commit()
        finally:
            con.close()

    # -- what an index run needs ------------------------------------------------------------------------------
    def known(self, root: str) -> tuple[dict[str, Known], dict[str, Known]]:
        """The rows under `root`: (analysed, failed), each path -> what was known of the file."""
        like = under(root)
        with self._db() as con:
            ok = {p: Known(s, m, h, v) for p, s, m, h, v in con.execute(
                "SELECT path, size, mtime_ns, hash, version FROM samples WHERE path LIKE ? ESCAPE '\\'", (like,))}
            bad = {p: Known(s, m, "", v) for p, s, m, v in con.execute(
                "SELECT path, size, mtime_ns, version FROM failures WHERE path LIKE ? ESCAPE '\\'", (like,))}
        return ok, bad

    def by_hash(self, hashes: Iterable[str], version: int) -> dict[str, dict]:
        """Stored analyses of the given contents (any path), at the current analysis version."""
        wanted = list(set(hashes))
        out: dict[str, dict] = {}
        with self._db() as con:
            for i in range(0, len(wanted), 500):
                chunk = wanted[i:i + 500]
                marks = ",".join("?" * len(chunk))
                for h, rec in con.execute(f"SELECT hash, record FROM samples WHERE version = ? AND hash IN ({marks})",
                                          (version, *chunk)):
                    out.setdefault(h, json.loads(rec))
        return out

    def writer(self) -> CatalogueWriter:
        return CatalogueWriter(self)

    def forget(self, paths: Iterable[str]) -> int:
        """Remove rows of files that are gone. -> how many rows went."""
        gone = [(p,) for p in paths]
        with self._db() as con:
            before = con.total_changes
            con.executemany("DELETE FROM samples WHERE path = ?", gone)
            con.executemany("DELETE FROM failures WHERE path = ?", gone)
            return con.total_changes - before

    def start_run(self, root: str) -> tuple[int, dict | None]:
        """Record a run's start. -> (its id, the counts of an earlier run of this folder that never finished)."""
        with self._db() as con:
            row = con.execute("SELECT id, counts FROM runs WHERE root = ? ORDER BY id DESC LIMIT 1", (root,)).fetchone()
            cur = con.execute("INSERT INTO runs(root, started) VALUES (?, ?)", (root, time.time()))
            unfinished = None
            if row is not None:
                finished = con.execute("SELECT finished FROM runs WHERE id = ?", (row[0],)).fetchone()[0]
                if finished is None:
                    unfinished = json.loads(row[1]) if row[1] else {}
            return int(cur.lastrowid), unfinished

    def finish_run(self, run_id: int, counts: dict) -> None:
        with self._db() as con:
            con.execute("UPDATE runs SET finished = ?, counts = ? WHERE id = ?", (time.time(), json.dumps(counts),
                                                                                  run_id))

    # -- what a search needs ----------------------------------------------------------------------------------
    def rows(self, *, kinds: Iterable[str] = (), root: str | None = None) -> list[dict]:
        """Every analysed file (optionally of some kinds, under a folder) as its stored record plus its path."""
        sql, args = "SELECT path, record FROM samples", []
        where = []
        kinds = list(kinds)
        if kinds:
            where.append(f"kind IN ({','.join('?' * len(kinds))})")
            args += kinds
        if root:
            where.append("path LIKE ? ESCAPE '\\'")
            args.append(under(root))
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._db() as con:
            return [dict(json.loads(rec), path=p) for p, rec in con.execute(sql + " ORDER BY path", args)]

    def record(self, path: str) -> dict | None:
        with self._db() as con:
            row = con.execute("SELECT record FROM samples WHERE path = ?", (path,)).fetchone()
        return dict(json.loads(row[0]), path=path) if row else None

    def failures(self, root: str | None = None) -> list[tuple[str, str]]:
        with self._db() as con:
            if root:
                return list(con.execute("SELECT path, reason FROM failures WHERE path LIKE ? ESCAPE '\\' "
                                        "ORDER BY path", (under(root),)))
            return list(con.execute("SELECT path, reason FROM failures ORDER BY path"))

    def counts(self) -> dict:
        with self._db() as con:
            kinds = dict(con.execute("SELECT kind, COUNT(*) FROM samples GROUP BY kind"))
            failed = con.execute("SELECT COUNT(*) FROM failures").fetchone()[0]
            roots = [r for (r,) in con.execute("SELECT DISTINCT root FROM samples ORDER BY root")]
        return {"files": sum(kinds.values()), "kinds": kinds, "failed": failed, "folders": roots}


class CatalogueWriter:
    """Results as they arrive, committed in small batches (every 0.5 s or 50 rows) and at `close`."""

    def __init__(self, cat: Catalogue):
        self.cat = cat
        self.pending: list[tuple[str, tuple]] = []
        self.last = time.monotonic()

    def analysed(self, stat: Stat, root: str, digest: str, version: int, record: dict) -> None:
        self.pending.append(("DELETE FROM failures WHERE path = ?", (stat.path,)))
        self.pending.append((
            "INSERT OR REPLACE INTO samples(path, root, size, mtime_ns, hash, version, kind, key, tempo, duration, "
            "lufs, record, indexed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (stat.path, root, stat.size, stat.mtime_ns, digest, version, record.get("kind"), record.get("key"),
             record.get("tempo"), record.get("duration"), record.get("lufs"), json.dumps(record), time.time())))
        self._maybe_flush()

    def failed(self, stat: Stat, root: str, version: int, reason: str) -> None:
        self.pending.append(("DELETE FROM samples WHERE path = ?", (stat.path,)))
        self.pending.append(("INSERT OR REPLACE INTO failures(path, root, size, mtime_ns, version, reason) "
                             "VALUES (?,?,?,?,?,?)", (stat.path, root, stat.size, stat.mtime_ns, version, reason)))
        self._maybe_flush()

    def _maybe_flush(self) -> None:
        if len(self.pending) >= 100 or time.monotonic() - self.last > 0.5:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            with self.cat._db() as con:
                for sql, args in self.pending:
                    con.execute(sql, args)
            self.pending.clear()
        self.last = time.monotonic()

    close = flush
