"""The artifact workspace: every tool result, stored with an id and its provenance.

Layout under the home folder::

    index.sqlite            one row per artifact (id, kind, name, provenance, summary)
    artifacts/<id>.<ext>    the payload: JSON for clips, songs and analyses; .mid, .png, .wav files
    files/                  where relative paths given to tools resolve (exports, renders)

Writes are atomic and never overwrite: the payload is written to a temporary file, fsynced and
hard-linked to its final name (which fails if that name exists), then the index row is inserted
in a transaction. A reader never sees a row whose payload is missing. Each call opens its own
SQLite connection (WAL mode), so concurrent tool calls from worker threads are safe.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import secrets
import sqlite3
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from liveloom import __version__
from liveloom.music.errors import LiveloomError, NotFoundError
from liveloom.music.types import Clip, Song

from .files import write_atomically

log = logging.getLogger("liveloom")

ArtifactKind = Literal["clip", "song", "analysis", "audio", "image", "midi"]
_EXTENSIONS = {"clip": "json", "song": "json", "analysis": "json", "audio": "wav", "image": "png", "midi": "mid"}
_MIME = {"json": "application/json", "wav": "audio/wav", "png": "image/png", "mid": "audio/midi"}


class Provenance(BaseModel):
    """Where an artifact came from: enough to explain and to reproduce it."""

    model_config = ConfigDict(populate_by_name=True)

    tool: str
    engine: str | None = Field(default=None, alias="model",
                               description="What made it: the learned model (name, size, device) or the algorithm. "
                                           "Named 'model' in JSON (stored records, resources, results), as it always was.")
    model_version: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    seed: int | None = None
    parents: list[str] = Field(default_factory=list, description="Ids of the artifacts this one was made from.")
    time: str = Field(default_factory=lambda: _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    liveloom_version: str = __version__


class ArtifactRecord(BaseModel):
    id: str
    kind: ArtifactKind
    name: str
    created: str
    provenance: Provenance
    summary: dict[str, Any] = Field(default_factory=dict)
    file: str = Field(description="Payload file name inside the workspace's artifacts folder.")
    size: int = Field(description="Payload size in bytes.")

    @property
    def uri(self) -> str:
        return f"liveloom://artifact/{self.id}"

    @property
    def mime_type(self) -> str:
        return _MIME[self.file.rsplit(".", 1)[-1]]


RECORD_SUFFIX = ".record.json"


class Listing(tuple):
    """(records, total) as `list` returns them; `damaged`: ids of index rows that could not be read."""

    damaged: list[str]


def _row(record: ArtifactRecord) -> tuple:
    return (record.id, record.kind, record.name, record.created, record.provenance.tool,
            record.provenance.model_dump_json(by_alias=True), json.dumps(record.summary), record.file, record.size)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS artifacts (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    created TEXT NOT NULL,
    tool TEXT NOT NULL,
    provenance TEXT NOT NULL,
    summary TEXT NOT NULL,
    file TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS artifacts_created ON artifacts (created);
"""


class Workspace:
    """An embedded artifact store under `home`. Cheap to construct; holds no open handles."""

    def __init__(self, home: Path):
        self.home = Path(home).expanduser().resolve()
        self.artifacts_dir = self.home / "artifacts"
        self.files_dir = self.home / "files"
        self.scratch_dir = self.home / "tmp"  # work in progress (renders); never read back as an artifact
        try:
            self.artifacts_dir.mkdir(parents=True, exist_ok=True)
            self.files_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LiveloomError(
                f"cannot create the workspace at {self.home} ({exc.strerror}); set LIVELOOM_HOME to a writable folder"
            ) from None
        self.index_path = self.home / "index.sqlite"
        self.notice: str | None = None  # what was repaired when the workspace was opened, said once
        missing = not self.index_path.exists()
        try:
            self._open_index()
        except sqlite3.DatabaseError as exc:  # not a database, or a damaged one: keep it, start a new one
            aside = self._move_index_aside()
            self._open_index()
            self.notice = f"the workspace index was damaged ({exc}); it was moved aside to {aside.name}"
            missing = True
        if missing and any(self.artifacts_dir.glob("*_*.*")):
            found = self.rebuild_index()
            self.notice = (self.notice + "; " if self.notice else "the workspace index was empty; ") + \
                f"{found} artifacts were recovered from the payload files"
        if self.notice:
            log.warning("liveloom workspace %s: %s", self.home, self.notice)

    # -------------------------------------------------------------- plumbing

    def _open_index(self) -> None:
        with self._connect() as db:
            db.executescript(_SCHEMA)
            db.execute("SELECT COUNT(*) FROM artifacts").fetchone()  # a damaged file fails here at the latest

    def _move_index_aside(self) -> Path:
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        aside = self.index_path.with_name(f"index.corrupt-{stamp}-{secrets.token_hex(2)}.sqlite")
        self.index_path.replace(aside)
        for suffix in ("-wal", "-shm"):
            Path(f"{self.index_path}{suffix}").unlink(missing_ok=True)
        return aside

    def rebuild_index(self) -> int:
        """Put every artifact whose payload is in the artifacts folder back in the index, from the record stored
        beside it (<id>.record.json), or, for payloads written before records were, from the payload itself
        (kind, name, date; provenance 'recovered'). Rows already there are kept. Returns how many were added."""
        added = 0
        with self._connect() as db:
            for payload in sorted(self.artifacts_dir.glob("*_*.*")):
                if payload.name.startswith(".") or payload.name.endswith(RECORD_SUFFIX):
                    continue
                record = self._recovered_record(payload)
                if record is None:
                    continue
                cur = db.execute(
                    "INSERT OR IGNORE INTO artifacts (id, kind, name, created, tool, provenance, summary, file, size) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", _row(record))
                added += cur.rowcount
        return added

    def _recovered_record(self, payload: Path) -> ArtifactRecord | None:
        artifact_id, _, ext = payload.name.partition(".")
        kind = artifact_id.split("_", 1)[0]
        if kind not in _EXTENSIONS or _EXTENSIONS[kind] != ext:
            return None
        sidecar = self.artifacts_dir / f"{artifact_id}{RECORD_SUFFIX}"
        try:
            return ArtifactRecord.model_validate_json(sidecar.read_bytes())
        except (OSError, ValidationError):
            pass
        name = kind
        if ext == "json":
            try:
                name = str(json.loads(payload.read_bytes()).get("name") or kind)
            except (OSError, ValueError, AttributeError):
                return None  # a damaged payload is left where it is, not listed
        stat = payload.stat()
        created = _dt.datetime.fromtimestamp(stat.st_mtime, _dt.timezone.utc).isoformat(timespec="microseconds")
        return ArtifactRecord(id=artifact_id, kind=kind, name=name[:200], created=created,
                              provenance=Provenance(tool="recovered", engine="rebuilt from the payload file"),
                              file=payload.name, size=stat.st_size)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.index_path, timeout=30, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA busy_timeout=30000")
        return db

    def _write_payload(self, artifact_id: str, ext: str, data: bytes) -> str:
        name = f"{artifact_id}.{ext}"
        write_atomically(self.artifacts_dir / name, data)  # FileExistsError rather than replace anything
        return name

    # -------------------------------------------------------------- writing

    def put(
        self,
        kind: ArtifactKind,
        name: str,
        data: bytes,
        provenance: Provenance,
        summary: dict[str, Any] | None = None,
    ) -> ArtifactRecord:
        """Store a new artifact; returns its record. Never replaces an existing one."""
        ext = _EXTENSIONS[kind]
        created = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds")
        for _ in range(8):
            artifact_id = f"{kind}_{secrets.token_hex(5)}"
            try:
                file_name = self._write_payload(artifact_id, ext, data)
            except FileExistsError:
                continue  # an id collision (1 in 10^12): draw another
            record = ArtifactRecord(
                id=artifact_id, kind=kind, name=name[:200] or kind, created=created, provenance=provenance,
                summary=summary or {}, file=file_name, size=len(data),
            )
            sidecar = self.artifacts_dir / f"{artifact_id}{RECORD_SUFFIX}"
            try:  # the record beside its payload, so that a lost or damaged index can be rebuilt
                write_atomically(sidecar, record.model_dump_json(by_alias=True).encode(), overwrite=True)
                with self._connect() as db:
                    added = db.execute(
                        "INSERT OR IGNORE INTO artifacts (id, kind, name, created, tool, provenance, summary, file, "
                        "size) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", _row(record)).rowcount
                    if not added and db.execute("SELECT 1 FROM artifacts WHERE id = ? AND file = ?",
                                                (artifact_id, file_name)).fetchone() is None:
                        raise sqlite3.IntegrityError(artifact_id)  # the id is taken: draw another
                    # (a row of this very record is already there when a concurrent rebuild read its sidecar)
            except sqlite3.IntegrityError:
                (self.artifacts_dir / file_name).unlink(missing_ok=True)
                sidecar.unlink(missing_ok=True)
                continue
            except BaseException:
                (self.artifacts_dir / file_name).unlink(missing_ok=True)
                sidecar.unlink(missing_ok=True)
                raise
            return record
        raise LiveloomError("could not allocate a unique artifact id; the workspace index may be damaged")

    def put_clip(self, clip: Clip, provenance: Provenance, summary: dict[str, Any]) -> ArtifactRecord:
        return self.put("clip", clip.name, clip.model_dump_json().encode(), provenance, summary)

    def put_song(self, song: Song, provenance: Provenance, summary: dict[str, Any]) -> ArtifactRecord:
        return self.put("song", song.name, song.model_dump_json().encode(), provenance, summary)

    # -------------------------------------------------------------- reading

    def get(self, artifact_id: str) -> ArtifactRecord:
        with self._connect() as db:
            row = db.execute(
                "SELECT id, kind, name, created, provenance, summary, file, size FROM artifacts WHERE id = ?",
                (artifact_id,),
            ).fetchone()
        if row is None:
            raise NotFoundError(
                f"no artifact with id {artifact_id!r} in the workspace at {self.home}. "
                "Use list_artifacts to see the ids that exist."
            )
        record = self._record(row)
        if record is None:
            raise LiveloomError(f"the index entry of {artifact_id} is damaged and cannot be read; its payload is "
                                f"kept in {self.artifacts_dir}. Restarting the server rebuilds a damaged index.")
        return record

    @staticmethod
    def _record(row: tuple) -> ArtifactRecord | None:
        """A row as a record, or None when the row is damaged (bad JSON, a missing field)."""
        try:
            return ArtifactRecord(
                id=row[0], kind=row[1], name=row[2], created=row[3],
                provenance=Provenance.model_validate_json(row[4]), summary=json.loads(row[5]), file=row[6],
                size=row[7])
        except (ValueError, TypeError):  # ValidationError and JSONDecodeError are ValueErrors
            return None

    def path_of(self, record: ArtifactRecord) -> Path:
        return self.artifacts_dir / record.file

    def read_bytes(self, record: ArtifactRecord) -> bytes:
        try:
            return self.path_of(record).read_bytes()
        except FileNotFoundError:
            raise LiveloomError(
                f"the payload of {record.id} ({record.file}) is missing from {self.artifacts_dir}; "
                "it was deleted outside liveloom"
            ) from None
        except OSError as exc:  # a folder where the file should be, permissions
            raise LiveloomError(f"the payload of {record.id} cannot be read ({exc.strerror or exc}); "
                                f"check {self.path_of(record)}") from None

    def list(self, kind: str | None = None, query: str | None = None, limit: int = 50,
             offset: int = 0) -> Listing:
        """A page of records, newest first, and the total; rows that cannot be read are skipped and named in
        `.damaged` (their payloads stay where they are)."""
        where, args = [], []
        if kind:
            where.append("kind = ?")
            args.append(kind)
        if query:
            where.append("(name LIKE ? OR tool LIKE ? OR id LIKE ?)")
            args += [f"%{query}%"] * 3
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        with self._connect() as db:
            total = db.execute(f"SELECT COUNT(*) FROM artifacts {clause}", args).fetchone()[0]
            rows = db.execute(
                "SELECT id, kind, name, created, provenance, summary, file, size FROM artifacts "
                f"{clause} ORDER BY created DESC, id LIMIT ? OFFSET ?",
                [*args, limit, offset],
            ).fetchall()
        records = [(r[0], self._record(r)) for r in rows]
        listing = Listing(([rec for _, rec in records if rec is not None], total))
        listing.damaged = [rid for rid, rec in records if rec is None]
        return listing

    def load_clip(self, artifact_id: str) -> tuple[ArtifactRecord, Clip]:
        """A clip artifact, or the only track of a one-track song."""
        record = self.get(artifact_id)
        if record.kind == "clip":
            return record, self._validate(Clip, record)
        if record.kind == "song":
            song = self._validate(Song, record)
            clips = [pc for t in song.tracks for pc in t.clips]
            if len(clips) == 1:
                return record, clips[0].clip
            raise LiveloomError(
                f"{artifact_id} is a song with {len(clips)} clips; this tool needs one clip. "
                "Use get_clip with notes=false to see its tracks."
            )
        raise LiveloomError(f"{artifact_id} is a {record.kind} artifact, not a clip")

    def load_song(self, artifact_id: str) -> tuple[ArtifactRecord, Song]:
        """A song artifact, or a clip as a one-track song."""
        record = self.get(artifact_id)
        if record.kind == "song":
            return record, self._validate(Song, record)
        if record.kind == "clip":
            return record, Song.from_clip(self._validate(Clip, record))
        raise LiveloomError(f"{artifact_id} is a {record.kind} artifact, not a clip or song")

    def _validate(self, model: type[Clip] | type[Song], record: ArtifactRecord) -> Any:
        try:
            return model.model_validate_json(self.read_bytes(record))
        except ValidationError as exc:
            raise LiveloomError(f"the stored payload of {record.id} is damaged: {exc.errors()[0]['msg']}") from None
