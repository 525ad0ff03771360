"""Sample library family: index a producer's folders of loops, one-shots and MIDI files, then find what fits."""

from __future__ import annotations

import ipaddress
import re
import time
from pathlib import Path
from typing import Annotated, Literal

import anyio
from mcp.server.mcpserver import Context
from pydantic import BaseModel, Field

from liveloom.engines import library_index, sample_analysis, sample_search
from liveloom.music.errors import LiveloomError, NotFoundError
from liveloom.music.limits import LIMITS
from liveloom.music.types import PlacedClip, Song, Track
from liveloom.store.catalogue import Catalogue
from liveloom.tools.base import run_job, services, tool

Kind = Literal["drum_loop", "one_shot", "melodic", "bass", "chords", "full_mix"]
MAX_FAILURES_SHOWN = 10


def catalogue_of(ctx: Context) -> Catalogue:
    return Catalogue(services(ctx).workspace.home / "library.sqlite")


def checked_cluster(address: str, allowed: tuple[str, ...]) -> str:
    """A Dask scheduler address the server may send work to (and take pickled results from): on this machine, or
    one the user listed in LIVELOOM_CLUSTERS. An agent's text never opens a connection anywhere else."""
    m = re.fullmatch(r"(tcp|tls)://(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.\-]+):(\d{1,5})", address.strip())
    if not m or not 0 < int(m.group(3)) < 65536:
        raise LiveloomError(f"cluster {address!r} is not a Dask scheduler address like tcp://127.0.0.1:8786")
    host = m.group(2).strip("[]")
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback and address.strip() not in allowed:
        raise LiveloomError(f"cluster {address!r} is not on this machine; a user allows other schedulers by listing "
                            "them in LIVELOOM_CLUSTERS (comma-separated) before starting liveloom")
    return address.strip()


class IndexResult(BaseModel):
    folder: str
    engine: str
    found: int = Field(description="Audio and MIDI files in the folder.")
    analysed: int
    reused: int = Field(description="Moved, renamed or touched files whose content was already analysed.")
    unchanged: int
    removed: int = Field(description="Catalogue rows of files no longer there.")
    failed: int
    failures: list[str] = Field(description=f"The first {MAX_FAILURES_SHOWN}: 'file: why'. Fix or remove them; "
                                            "they are tried again when they change.")
    kinds: dict[str, int] = Field(description="Files of each kind in this folder now.")
    seconds: float
    files_per_second: float | None
    resumed: bool = Field(description="An earlier run of this folder was interrupted; its work was kept.")
    catalogue_files: int


@tool(title="Index a sample library", read_only=False, idempotent=True)
async def index_library(
    ctx: Context,
    folder: Annotated[str, Field(min_length=1, max_length=4096, description="A folder inside an allowed one; "
                                 "every wav, aiff, flac, mp3, ogg and MIDI file under it.",
                                 examples=["Samples/Loops"])],
    workers: Annotated[int | None, Field(ge=1, le=64, description="Local worker processes (default: all cores "
                                         "but one, at most 8).")] = None,
    cluster: Annotated[str | None, Field(max_length=300, description="A Dask scheduler (tcp://host:port) to run "
                                         "the analysis on instead: on this machine, or listed in LIVELOOM_CLUSTERS. "
                                         "Its workers must see the folder at the same path.")] = None,
    force: Annotated[bool, Field(description="Analyse every file again, changed or not.")] = False,
) -> IndexResult:
    """Analyse a folder of samples into the workspace's catalogue: kind (drum_loop, one_shot, melodic, bass, chords,
    full_mix), length, tempo and bars, key and mode, a one-shot's root note, chords (MIDI), loudness (LUFS), onset
    density and sound. Incremental: only new or changed files are analysed; unreadable files are listed and
    skipped. In parallel; progress; cancellable (finished files are kept, a new run resumes). Then find_samples.

    Example: {"folder": "Samples/Loops"}."""
    svc = services(ctx)
    root = svc.files.folder(folder)
    engine = library_index.engine_for(workers or library_index.default_workers(),
                                      checked_cluster(cluster, svc.clusters) if cluster else None)
    cat = catalogue_of(ctx)
    options = {"max_seconds": LIMITS.max_audio_seconds, "max_midi_bytes": LIMITS.max_midi_file_bytes}
    started = time.perf_counter()
    counts = await run_job(ctx, lambda job: library_index.run_index(root, cat, engine, options=options,
                                                                    force=force, job=job))
    seconds = time.perf_counter() - started
    here = await anyio.to_thread.run_sync(lambda: cat.rows(root=str(root)))
    kinds: dict[str, int] = {}
    for r in here:
        kinds[r.get("kind") or "silent"] = kinds.get(r.get("kind") or "silent", 0) + 1
    failures = [f"{_relative(p, root)}: {why}" for p, why in counts["failures"][:MAX_FAILURES_SHOWN]]
    work = counts["analysed"] + counts["failed"]
    return IndexResult(
        folder=str(root), engine=engine.name, seconds=round(seconds, 2), kinds=kinds, failures=failures,
        files_per_second=round(work / seconds, 2) if work else None,
        catalogue_files=(await anyio.to_thread.run_sync(cat.counts))["files"],
        **{k: counts[k] for k in ("found", "analysed", "reused", "unchanged", "removed", "failed", "resumed")})


def _relative(path: str, root: Path) -> str:
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return path


class SampleHit(BaseModel):
    path: str
    kind: str | None
    score: float = Field(description="0-1: how well it matches what was asked.")
    why: str
    key: str | None = None
    tempo: float | None = None
    bars: float | None = None
    seconds: float | None = None
    lufs: float | None = None
    note: str | None = Field(default=None, description="A tonal one-shot's root.")


class SampleSearch(BaseModel):
    matched: int
    hits: list[SampleHit]
    catalogue_files: int
    next_page: int | None = Field(default=None, description="Pass as page for more.")
    example: str | None = Field(default=None, description="What `like` was read as.")


@tool(title="Find samples", read_only=True, idempotent=True)
async def find_samples(
    ctx: Context,
    key: Annotated[str | None, Field(max_length=40, description='e.g. "F minor"; compatible keys (relative, a '
                                     'fifth away, parallel) rank after it.')] = None,
    compatible_keys: Annotated[bool, Field(description="False: the key itself only.")] = True,
    tempo: Annotated[float | None, Field(ge=20, le=999, description="BPM; half and double time match too.")] = None,
    tolerance_percent: Annotated[float, Field(ge=0, le=50, description="How far a tempo may be off.")] = 5.0,
    half_double: bool = True,
    kind: Annotated[list[Kind] | None, Field(max_length=6, description="Any of these kinds.")] = None,
    format: Annotated[Literal["audio", "midi"] | None, Field(description="Only audio or only MIDI files.")] = None,
    min_seconds: Annotated[float | None, Field(ge=0)] = None,
    max_seconds: Annotated[float | None, Field(ge=0)] = None,
    min_lufs: Annotated[float | None, Field(ge=-100, le=10)] = None,
    max_lufs: Annotated[float | None, Field(ge=-100, le=10)] = None,
    text: Annotated[str | None, Field(max_length=200, description="Words the file's path must contain.")] = None,
    like: Annotated[str | None, Field(max_length=4096, description="An example: a clip, song or audio artifact id, "
                                      "or a file path (e.g. an earlier hit). A clip or song also sets key and tempo "
                                      "when not given (what fits it).")] = None,
    folder: Annotated[str | None, Field(max_length=4096, description="Only files under this folder.")] = None,
    limit: Annotated[int, Field(ge=1, le=50)] = 10,
    page: Annotated[int, Field(ge=1)] = 1,
) -> SampleSearch:
    """Search the indexed sample library by key, tempo, kind, length, loudness, words in the path, or likeness to
    an example; best first, each with why it matched. Index folders first with index_library. A hit's path can go
    into Live with write_audio_clip.

    Example: {"key": "F minor", "tempo": 90, "kind": ["bass"]}."""
    svc = services(ctx)
    cat = catalogue_of(ctx)
    q = sample_search.Query(key=key, compatible_keys=compatible_keys, tempo=tempo, tolerance=tolerance_percent / 100,
                            half_double=half_double, kinds=tuple(kind or ()), formats=(format,) if format else (),
                            min_seconds=min_seconds, max_seconds=max_seconds, min_lufs=min_lufs, max_lufs=max_lufs,
                            text=text)
    described = None
    if like:
        example, described = await _example(ctx, like, cat)
        q.like = {k: example[k] for k in ("features", "symbolic") if example.get(k)}
        if not q.like:
            raise LiveloomError(f"{described} has nothing to compare by (silent, or no notes)")
        if "symbolic" in q.like and "features" not in q.like:
            q.key = q.key or example.get("key")
            q.tempo = q.tempo or example.get("tempo")
    root = str(svc.files.folder(folder)) if folder else None
    rows = await anyio.to_thread.run_sync(lambda: cat.rows(kinds=q.kinds, root=root))
    total = (await anyio.to_thread.run_sync(cat.counts))["files"]
    if not total:
        raise NotFoundError("the sample catalogue is empty; index a folder first with index_library")
    from liveloom.models import sample_kind

    hits = sample_search.search(rows, q, scale=None if not q.like else list(sample_kind.load().scale))
    if q.like and like:
        hits = [h for h in hits if h.row["path"] != example.get("path")]
    chosen = hits[(page - 1) * limit: page * limit]
    return SampleSearch(matched=len(hits), catalogue_files=total,
                        next_page=page + 1 if page * limit < len(hits) else None, example=described,
                        hits=[_hit(h) for h in chosen])


def _hit(h: sample_search.Hit) -> SampleHit:
    r = h.row
    return SampleHit(path=r["path"], kind=r.get("kind"), score=h.score, why="; ".join(h.why), key=r.get("key"),
                     tempo=r.get("tempo"), bars=r.get("bars"), seconds=r.get("duration"), lufs=r.get("lufs"),
                     note=r.get("note"))


async def _example(ctx: Context, like: str, cat: Catalogue) -> tuple[dict, str]:
    """What `like` names, as a catalogue-like record: an artifact (clip, song, audio) or a file."""
    svc = services(ctx)
    ws = svc.workspace
    try:
        record = ws.get(like)
    except (NotFoundError, LiveloomError):
        record = None
    if record is not None and record.kind in ("clip", "song"):
        if record.kind == "clip":
            _, clip = ws.load_clip(like)
            song = Song(name=clip.name, tempo=clip.tempo or 120.0, tempo_known=clip.tempo is not None,
                        time_signature=clip.time_signature, tracks=[Track(
                            name=clip.name, is_drum=clip.is_drum, instrument=clip.instrument,
                            clips=[PlacedClip(clip=clip)])])
        else:
            _, song = ws.load_song(like)
        rec = await anyio.to_thread.run_sync(lambda: sample_analysis.song_record(song))
        given = clip.key if record.kind == "clip" else song.key
        if given:  # the key it was made in, where it says: a bass line alone reads ambiguously
            rec["key"] = given
        return rec, f"{record.kind} {like} ({rec.get('key') or 'no key'}, {rec.get('tempo'):g} BPM)"
    if record is not None and record.kind == "audio":
        path = ws.path_of(record)
    elif record is not None:
        raise LiveloomError(f"{like} is a {record.kind} artifact; `like` takes a clip, song or audio artifact, or a "
                            "file path")
    else:
        path = svc.files.readable(like, max_bytes=LIMITS.max_audio_bytes, suffixes=sample_analysis.SUFFIXES)
    known = await anyio.to_thread.run_sync(lambda: cat.record(str(path)))
    if known is not None:
        return known, f"{_short(path)} from the catalogue"
    result = await anyio.to_thread.run_sync(lambda: sample_analysis.analyze_file(
        str(path), LIMITS.max_audio_seconds, LIMITS.max_midi_file_bytes), abandon_on_cancel=True)
    if not result.get("ok"):
        raise LiveloomError(f"{_short(path)}: {result.get('reason')}")
    return dict(result, path=str(path)), f"{_short(path)} (analysed now)"


def _short(path: Path | str) -> str:
    return Path(path).name
