"""Artifact tools: list, inspect, import and export MIDI, piano roll, render to audio."""

import base64
import io
import re
from pathlib import Path
from typing import Annotated, Literal

import anyio
from mcp.server.mcpserver import Context
from mcp.types import AudioContent, CallToolResult, ImageContent, TextContent
from pydantic import BaseModel, Field

from liveloom.engines import pianoroll
from liveloom.engines.mastering import master
from liveloom.engines.render import find_renderer, render_midi, wav_info
from liveloom.music.errors import LiveloomError
from liveloom.music.limits import LIMITS
from liveloom.music.midi_io import midi_to_song, song_to_midi
from liveloom.music.types import Clip, Note, PlacedClip, Song
from liveloom.store.files import write_file_atomically
from liveloom.store.workspace import Provenance
from liveloom.tools.base import provenance, services, tool
from liveloom.tools.schemas import ArtifactSummary, NoteColumns, artifact_summary, store_clip, store_song

ArtifactId = Annotated[str, Field(min_length=1, max_length=64, description="An artifact id, e.g. 'clip_3f9a2b1c0d'.",
                                  examples=["clip_3f9a2b1c0d"])]


class ArtifactBrief(BaseModel):
    id: str
    kind: str
    name: str
    created: str
    tool: str = Field(description="The tool that made it.")
    uri: str
    description: str = Field(description="One line: bars, notes, tracks, duration ...")


class ArtifactList(BaseModel):
    total: int = Field(description="How many artifacts match, in all.")
    items: list[ArtifactBrief]
    next_offset: int | None = Field(description="Pass as offset for the next page; null at the end.")
    damaged: list[str] = Field(default_factory=list, description="Ids on this page whose index entries could not "
                               "be read (skipped; their payloads are kept).")
    notice: str | None = Field(default=None, description="What was repaired when the workspace was opened.")


class ClipDetail(BaseModel):
    artifact: ArtifactSummary
    provenance: Provenance
    notes_total: int
    notes: NoteColumns | None = Field(default=None, description="Present when notes=true: one page of notes, as "
                                      "columns (note i is pitch[i], start[i], …).")
    next_offset: int | None = None


class ImportResult(ArtifactSummary):
    clock: str | None = Field(default=None, description="Set when the file recorded no tempo or meter: what was "
                              "found in the notes and applied.")


class ExportResult(BaseModel):
    id: str = Field(description="The exported MIDI file, stored as an artifact too.")
    kind: str = "midi"
    path: str
    tracks: int
    bytes: int
    dropped: list[str] = Field(description="What MIDI cannot carry and was left out (e.g. note probabilities).")


class PianoRollResult(BaseModel):
    id: str = Field(description="The PNG, stored as an image artifact.")
    kind: str = "image"
    path: str
    source: str
    tracks: int
    bars: float


class AudioResult(BaseModel):
    id: str = Field(description="The WAV, stored as an audio artifact.")
    kind: str = "audio"
    path: str = Field(description="Where the WAV file is.")
    seconds: float
    sample_rate: int
    channels: int
    peak_dbfs: float
    lufs: float | None = Field(description="Integrated loudness (ITU-R BS.1770) of the WAV; null when shorter than "
                                           "0.4 s or silent.")
    gain_db: float = Field(description="The mastering gain applied to FluidSynth's output.")
    level_set_by: str = Field(description="What set that gain: the loudness target, the peak ceiling, or neither "
                                          "('as rendered').")
    soundfont: str


async def load_midi_file(files, path: str, name: str | None = None) -> tuple[Path, Song]:
    """A checked MIDI file in an allowed folder, parsed off the event loop."""
    real = files.readable(path, max_bytes=LIMITS.max_midi_file_bytes, suffixes=(".mid", ".midi", ".smf"))
    data = real.read_bytes()
    return real, await anyio.to_thread.run_sync(lambda: midi_to_song(data, name=name or real.stem))


def _describe(record) -> str:
    s = record.summary
    if record.kind in ("clip", "song"):
        tracks = f", {len(s.get('tracks', []))} tracks" if record.kind == "song" else ""
        return f"{s.get('bars', 0):g} bars, {s.get('notes', 0)} notes{tracks}, key {s.get('key') or '?'}"
    if record.kind == "audio":
        return f"{s.get('seconds', 0):.1f} s WAV"
    if record.kind == "image":
        return "PNG piano roll"
    if record.kind == "midi":
        return f"MIDI file, {s.get('tracks', 0)} tracks"
    return record.kind


def _safe_stem(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.")[:60] or "liveloom"


@tool(title="List artifacts", read_only=True, idempotent=True)
async def list_artifacts(
    ctx: Context,
    kind: Annotated[Literal["clip", "song", "analysis", "audio", "image", "midi"] | None,
                    Field(description="Only this kind.")] = None,
    query: Annotated[str | None, Field(max_length=100, description="Match in name, tool or id.")] = None,
    limit: Annotated[int, Field(ge=1, le=200)] = 20,
    offset: Annotated[int, Field(ge=0, le=2**31)] = 0,
) -> ArtifactList:
    """List stored artifacts, newest first. Example: {"kind": "clip", "limit": 10}."""
    ws = services(ctx).workspace
    listing = ws.list(kind=kind, query=query, limit=limit, offset=offset)
    records, total = listing
    items = [ArtifactBrief(id=r.id, kind=r.kind, name=r.name, created=r.created, tool=r.provenance.tool,
                           uri=r.uri, description=_describe(r)) for r in records]
    nxt = offset + len(items) + len(listing.damaged)
    return ArtifactList(total=total, items=items, next_offset=nxt if nxt < total else None,
                        damaged=listing.damaged, notice=ws.notice)


@tool(title="Get a clip or song", read_only=True, idempotent=True, ui=True)
async def get_clip(
    ctx: Context,
    id: ArtifactId,
    notes: Annotated[bool, Field(description="Include a page of notes (else only the summary).")] = False,
    offset: Annotated[int, Field(ge=0, description="First note of the page.")] = 0,
    limit: Annotated[int, Field(ge=1, le=LIMITS.max_page_size, description="Notes per page.")] = 200,
    track: Annotated[int | None, Field(ge=0, description="For songs: only this track's notes.")] = None,
) -> ClipDetail:
    """A clip or song: a compact summary, and its notes (in beats) a page at a time when notes=true, as columns
    (field names once; next_offset for the next page).

    Example: {"id": "clip_3f9a2b1c0d", "notes": true, "limit": 100}."""
    ws = services(ctx).workspace
    record, song = await anyio.to_thread.run_sync(ws.load_song, id)
    if track is not None and track >= len(song.tracks):
        raise LiveloomError(f"{id} has {len(song.tracks)} tracks; track must be 0-{len(song.tracks) - 1}")
    every = [(n, ti) for ti, t in enumerate(song.tracks) if track is None or ti == track
             for n in t.notes_on_timeline()]
    every.sort(key=lambda x: (x[0].start, x[1], x[0].pitch))
    page = every[offset:offset + limit] if notes else None
    nxt = offset + limit if notes and offset + limit < len(every) else None
    columns = None
    if page is not None:
        columns = NoteColumns.of([n for n, _ in page], [ti for _, ti in page] if record.kind == "song" else None)
    return ClipDetail(artifact=artifact_summary(record), provenance=record.provenance,
                      notes_total=len(every), notes=columns, next_offset=nxt)


@tool(title="Import a MIDI file", read_only=False, idempotent=False, ui=True)
async def import_midi(
    ctx: Context,
    path: Annotated[str, Field(min_length=1, max_length=4096, examples=["groove.mid", "/Users/me/Music/idea.mid"],
                               description="A .mid file inside an allowed folder; relative paths are read "
                                           "from the workspace's files folder.")],
    name: Annotated[str | None, Field(max_length=200)] = None,
    infer_clock: Annotated[bool, Field(description="When the file records no tempo (its clock is then MIDI's "
                                       "default 120 BPM) or no meter, find them from the notes and re-time the "
                                       "notes so beats and bars fall where the music's do.")] = True,
) -> ImportResult:
    """Import a MIDI file: one track becomes a clip, several a song; tempo map, meter, key, programs and drums
    kept; a file without tempo or meter gets the ones its notes imply (the result says so).

    Example: {"path": "song.mid"}."""
    from liveloom.music.analysis import inferred_clock

    ws = services(ctx).workspace
    real, song = await load_midi_file(services(ctx).files, path, name)
    if name:
        song = song.model_copy(update={"name": name})
    if not song.tracks:
        raise LiveloomError(f"{real.name} has no notes; nothing to import")
    clock = None
    if infer_clock:
        song, found = await anyio.to_thread.run_sync(inferred_clock, song)
        said = ([f"tempo {song.tempo:g} BPM"] if found.get("tempo_applied") else []) + (
            [f"meter {song.time_signature}"] if found.get("meter_source") == "estimated" else [])
        if said:
            clock = " and ".join(said) + " found in the notes (the file recorded none); the notes are re-timed to it"
    prov = provenance(params={"path": str(real), "infer_clock": infer_clock})
    if len(song.tracks) == 1:
        clip = song.tracks[0].clips[0].clip.model_copy(update={"name": name or real.stem})
        record = store_clip(ws, clip, prov)
    else:
        record = store_song(ws, song, prov)
    return ImportResult(**artifact_summary(record).model_dump(), clock=clock)


@tool(title="Export MIDI", read_only=False, destructive=True, idempotent=False)
async def export_midi(
    ctx: Context,
    ids: Annotated[list[str], Field(min_length=1, max_length=LIMITS.max_tracks,
                                    description="Clips and songs; each clip becomes a track.",
                                    examples=[["clip_3f9a2b1c0d", "clip_77aa00bb11"]])],
    path: Annotated[str | None, Field(max_length=4096, description="Where to write the .mid; default: the "
                                      "workspace's files folder. Relative paths go there too.")] = None,
    overwrite: Annotated[bool, Field(description="Replace an existing file at path.")] = False,
    name: Annotated[str | None, Field(max_length=200)] = None,
) -> ExportResult:
    """Write clips and songs as one multi-track standard MIDI file (type 1; drums on channel 10).

    Example: {"ids": ["clip_3f9a2b1c0d", "clip_77aa00bb11"], "path": "sketch.mid"}."""
    ws = services(ctx).workspace
    files = services(ctx).files
    loaded = [ws.load_song(i) for i in ids]
    first = loaded[0][1]
    tracks = [t for _, s in loaded for t in s.tracks]
    if len(tracks) > LIMITS.max_tracks:
        raise LiveloomError(f"that makes {len(tracks)} tracks; the limit is {LIMITS.max_tracks}")
    song = Song(name=name or first.name, tempo=first.tempo, time_signature=first.time_signature, key=first.key,
                tempo_map=first.tempo_map, time_signature_map=first.time_signature_map, tracks=tracks)
    target = path or f"{_safe_stem(song.name)}-{loaded[0][0].id}.mid"
    out = files.writable(target, suffixes=(".mid", ".midi"), overwrite=overwrite)
    export = await anyio.to_thread.run_sync(song_to_midi, song)
    write_file_atomically(out, export.data, overwrite=overwrite)  # first: if it fails, nothing is stored
    record = ws.put("midi", song.name, export.data,
                    provenance(params={"ids": ids, "path": str(out)}, parents=list(ids)),
                    {"tracks": len(tracks), "path": str(out)})
    return ExportResult(id=record.id, path=str(out), tracks=len(tracks), bytes=len(export.data),
                        dropped=export.dropped)


@tool(title="Piano roll", read_only=True, idempotent=True)
async def piano_roll(
    ctx: Context,
    id: ArtifactId,
    title: Annotated[str | None, Field(max_length=200)] = None,
) -> Annotated[CallToolResult, PianoRollResult]:
    """Draw a clip or song as a piano-roll PNG (returned as an image, stored as an artifact): tracks in colours,
    drums by name.

    Example: {"id": "clip_3f9a2b1c0d"}."""
    ws = services(ctx).workspace
    record, song = ws.load_song(id)
    await ctx.report_progress(0, 2, "drawing")
    png = await anyio.to_thread.run_sync(lambda: pianoroll.render_piano_roll(song, title=title))
    image = ws.put("image", f"{song.name} piano roll", png,
                   provenance(params={"id": id, "title": title}, parents=[id]), {"source": id})
    await ctx.report_progress(2, 2, "done")
    result = PianoRollResult(id=image.id, path=str(ws.path_of(image)), source=id, tracks=len(song.tracks),
                             bars=round(song.length / song.time_signature.beats_per_bar, 3))
    return CallToolResult(
        content=[ImageContent(type="image", data=base64.b64encode(png).decode(), mime_type="image/png"),
                 TextContent(type="text", text=result.model_dump_json())],
        structured_content=result.model_dump(),
    )


@tool(title="Render to audio", read_only=False, destructive=True, idempotent=False)
async def render_audio(
    ctx: Context,
    id: ArtifactId,
    path: Annotated[str | None, Field(max_length=4096, description="Also write the WAV here (a .wav path in "
                                      "an allowed folder). The WAV is stored in the workspace either way.")] = None,
    sample_rate: Annotated[int, Field(ge=8000, le=96000)] = 44100,
    gain: Annotated[float, Field(gt=0, le=2.0, description="FluidSynth master gain.")] = 0.6,
    lufs: Annotated[float | None, Field(ge=-40, le=-5, description="Integrated loudness target in LUFS (streaming "
                                        "services play at about -14); null keeps FluidSynth's level.")] = -14.0,
    ceiling_dbfs: Annotated[float, Field(ge=-12, le=0, description="No sample peaks above this.")] = -1.0,
    overwrite: bool = False,
    preview: Annotated[bool, Field(description="Also return the first 30 s as audio in the result, for a "
                                   "host to play (Ogg Vorbis, mono, about 200 KB).")] = False,
) -> AudioResult:
    """Render a clip or song to a WAV (FluidSynth, General MIDI soundfont), mastered to the loudness target without
    peaks above the ceiling.

    Example: {"id": "song_3f9a2b1c0d", "path": "mix.wav"}. Says what to install if FluidSynth is missing."""
    ws = services(ctx).workspace
    files = services(ctx).files
    renderer = find_renderer(services(ctx).render)
    record, song = ws.load_song(id)
    seconds = song.beats_to_seconds(song.length)
    if seconds > LIMITS.max_render_seconds:
        raise LiveloomError(f"{id} lasts {seconds:.0f} s; render_audio renders at most "
                            f"{LIMITS.max_render_seconds:.0f} s")
    out = files.writable(path, suffixes=(".wav",), overwrite=overwrite) if path else None
    await ctx.report_progress(0, 3, "writing MIDI")
    midi = (await anyio.to_thread.run_sync(song_to_midi, song)).data
    await ctx.report_progress(1, 3, "rendering with FluidSynth")
    rendered = await render_midi(midi, renderer, sample_rate=sample_rate, gain=gain, sample_format="float")
    await ctx.report_progress(2, 3, "mastering")
    wav, level = await anyio.to_thread.run_sync(_mastered, rendered, lufs, ceiling_dbfs)
    info = wav_info(wav)
    if out is not None:
        write_file_atomically(out, wav, overwrite=overwrite)  # first: if it fails, nothing is stored
    audio = ws.put("audio", song.name, wav,
                   provenance(engine="FluidSynth",
                              params={"id": id, "sample_rate": sample_rate, "gain": gain, "lufs": lufs,
                                      "ceiling_dbfs": ceiling_dbfs, "soundfont": renderer.soundfont.name},
                              parents=[id]),
                   {"seconds": info.seconds, "sample_rate": info.sample_rate, "source": id})
    await ctx.report_progress(3, 3, "done")
    result = AudioResult(id=audio.id, path=str(out or ws.path_of(audio)), seconds=round(info.seconds, 3),
                         sample_rate=info.sample_rate, channels=info.channels,
                         peak_dbfs=round(info.peak_dbfs, 2) if info.peak_dbfs > -1e9 else -200.0,
                         lufs=level.lufs, gain_db=level.gain_db, level_set_by=level.limited_by,
                         soundfont=str(renderer.soundfont))
    if not preview:
        return result
    ogg = await anyio.to_thread.run_sync(_preview, wav)
    return CallToolResult(
        content=[AudioContent(type="audio", data=base64.b64encode(ogg).decode(), mime_type="audio/ogg"),
                 TextContent(type="text", text=result.model_dump_json())],
        structured_content=result.model_dump(),
    )


PREVIEW_SECONDS = 30.0
PREVIEW_RATE = 22050


def _preview(wav: bytes) -> bytes:
    """The first 30 s, mono at 22.05 kHz, as Ogg Vorbis: small enough to travel in a tool result."""
    import numpy as np
    import soundfile as sf
    from scipy.signal import resample_poly

    samples, rate = sf.read(io.BytesIO(wav), dtype="float32", always_2d=True)
    mono = samples[: int(PREVIEW_SECONDS * rate)].mean(axis=1)
    if rate != PREVIEW_RATE:
        g = np.gcd(int(rate), PREVIEW_RATE)
        mono = resample_poly(mono, PREVIEW_RATE // g, int(rate) // g).astype(np.float32)
    buf = io.BytesIO()
    sf.write(buf, mono, PREVIEW_RATE, format="OGG", subtype="VORBIS")
    return buf.getvalue()


def _mastered(rendered: bytes, lufs: float | None, ceiling_dbfs: float):
    import soundfile as sf

    samples, rate = sf.read(io.BytesIO(rendered), dtype="float32", always_2d=True)
    return master(samples, rate, lufs, ceiling_dbfs)


class EditedNotes(BaseModel):
    """Notes as get_clip gives them: columns, note i is pitch[i], start[i], duration[i], velocity[i] (beats);
    `track` for songs (the track index of each note)."""

    pitch: list[Annotated[int, Field(ge=0, le=127)]] = Field(max_length=LIMITS.max_notes_per_clip)
    start: list[Annotated[float, Field(ge=0, le=LIMITS.max_clip_beats)]] = Field(max_length=LIMITS.max_notes_per_clip)
    duration: list[Annotated[float, Field(gt=0, le=LIMITS.max_clip_beats)]] = Field(
        max_length=LIMITS.max_notes_per_clip)
    velocity: list[Annotated[int, Field(ge=1, le=127)]] = Field(max_length=LIMITS.max_notes_per_clip)
    track: list[Annotated[int, Field(ge=0)]] | None = Field(default=None, max_length=LIMITS.max_notes_per_clip)


@tool(title="Save edited notes", read_only=False, idempotent=False, ui=True)
async def edit_clip(
    ctx: Context,
    id: ArtifactId,
    notes: Annotated[EditedNotes, Field(description="The whole edited note list, as columns (as get_clip gives "
                                        "them); for a song, with track.")],
    name: Annotated[str | None, Field(max_length=200, description="Name of the new artifact (default: the "
                                      "source's, 'edited').")] = None,
) -> ArtifactSummary:
    """Save an edited note list as a new clip or song (the piano roll app's Save); the source is kept, tempo,
    meter, tracks and sections carried over.

    Example: {"id": "clip_3f9a2b1c0d", "notes": {"pitch": [60, 64], "start": [0, 1], "duration": [1, 1],
    "velocity": [90, 80]}}."""
    ws = services(ctx).workspace
    record, song = await anyio.to_thread.run_sync(ws.load_song, id)
    n = len(notes.pitch)
    if not len(notes.start) == len(notes.duration) == len(notes.velocity) == n or (
            notes.track is not None and len(notes.track) != n):
        raise LiveloomError("notes' columns must have one entry per note: pitch, start, duration, velocity (and "
                            f"track) have {len(notes.pitch)}, {len(notes.start)}, {len(notes.duration)}, "
                            f"{len(notes.velocity)}" + (f", {len(notes.track)}" if notes.track is not None else ""))
    tracks = notes.track or [0] * n
    if max(tracks, default=0) >= len(song.tracks):
        raise LiveloomError(f"{id} has {len(song.tracks)} tracks; a note names track {max(tracks)}")
    by_track: dict[int, list[Note]] = {}
    for p, st, du, ve, tr in zip(notes.pitch, notes.start, notes.duration, notes.velocity, tracks):
        by_track.setdefault(tr, []).append(Note(pitch=p, start=st, duration=du, velocity=ve))
    label = name or f"{record.name} (edited)"
    prov = provenance(params={"id": id, "notes": n}, parents=[id])
    if record.kind == "clip":
        clip = song.tracks[0].clips[0].clip
        end = max((x.end for x in by_track.get(0, [])), default=0.0)
        edited = clip.model_copy(update={"notes": sorted(by_track.get(0, []), key=lambda x: (x.start, x.pitch)),
                                         "name": label, "length": max(clip.length, end)})
        return artifact_summary(store_clip(ws, edited, prov))
    length = max([song.length] + [x.end for xs in by_track.values() for x in xs])
    new_tracks = []
    for t, track in enumerate(song.tracks):
        first = track.clips[0].clip if track.clips else Clip()
        clip = first.model_copy(update={"notes": sorted(by_track.get(t, []), key=lambda x: (x.start, x.pitch)),
                                        "length": length, "name": track.name, "loop": False})
        new_tracks.append(track.model_copy(update={"clips": [PlacedClip(start=0.0, clip=clip)]}))
    edited_song = song.model_copy(update={"tracks": new_tracks, "name": label})
    return artifact_summary(store_song(ws, Song.model_validate(edited_song.model_dump()), prov))
