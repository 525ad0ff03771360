"""Transcribe family: audio -> an editable clip, with basic-pitch's network running in PyTorch."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import anyio
from mcp.server.mcpserver import Context
from pydantic import Field

from liveloom.engines import audio_analysis as aa
from liveloom.engines import transcription as tr
from liveloom.engines.render import find_renderer, render_midi, wav_info
from liveloom.music.errors import Cancelled, LiveloomError
from liveloom.music.limits import LIMITS
from liveloom.music.midi_io import song_to_midi
from liveloom.music.theory import parse_pitch
from liveloom.music.transform import quantize as quantize_notes
from liveloom.music.types import Clip, Note, PlacedClip, Song, TimeSignature, Track
from liveloom.store.files import write_file_atomically
from liveloom.tools.base import provenance, run_job, services, tool
from liveloom.tools.schemas import GRIDS, ArtifactSummary, artifact_summary, store_clip, store_song

REGISTERS = (("low", 0, 47), ("mid", 48, 71), ("high", 72, 127))
# ensemble -> (instrument, GM program) for the low, mid and high registers
ENSEMBLES: dict[str, tuple[tuple[str, int], ...]] = {
    "strings": (("cello", 42), ("viola", 41), ("violin", 40)),
    "brass": (("tuba", 58), ("french horn", 60), ("trumpet", 56)),
    "woodwinds": (("bassoon", 70), ("clarinet", 71), ("flute", 73)),
    "piano": (("piano left hand", 0), ("piano", 0), ("piano right hand", 0)),
    "choir": (("choir bass", 52), ("choir", 52), ("choir soprano", 52)),
    "synth": (("synth bass", 38), ("saw pad", 90), ("saw lead", 81)),
    "guitar_band": (("bass guitar", 33), ("nylon guitar", 24), ("steel guitar", 25)),
}


class TranscribeResult(ArtifactSummary):
    source: str
    duration_seconds: float
    engine: str = Field(description="What transcribed it, and on which device.")
    tempo_used: float = Field(description="BPM that seconds were turned into beats with.")
    tempo_source: Literal["given", "detected", "default"]
    notes_with_pitch_bend: int
    silent: bool = Field(description="True when the audio held no sound above -80 dBFS (the clip is empty).")
    seconds_taken: float
    clips: list[str] = Field(description="With split_by_register: the register of each track (low, mid, high).")
    sustain_pedal_presses: int | None = Field(default=None, description="Piano model: how often the sustain "
                                              "pedal went down (see hold_with_pedal); None for the general model.")
    drum_hits: dict[str, int] | None = Field(default=None, description="drums=true: hits per class (kick, snare, "
                                             "closed_hat, open_hat, tom, crash, ride).")
    heard_as: str | None = Field(default=None, description="drums=true: what kind of audio it sounded like "
                                 "(full_mix is split into drums and pitched parts).")


class ReorchestrateResult(ArtifactSummary):
    source: str
    ensemble: str
    instruments: list[str] = Field(description="The tracks made, low to high.")
    wav: str = Field(description="The rendered WAV's path.")
    wav_seconds: float
    original_seconds: float
    tempo_used: float
    what_this_is: str


@dataclass
class _Heard:
    notes: list[Note]
    bpm: float
    tempo_source: str
    info: dict
    silent: bool
    engine: str
    path: Path
    pedal_presses: int | None
    meter: TimeSignature | None = None  # found in the notes of a line without bass; else 4/4


async def _transcribe_file(ctx: Context, path: str, *, piano: bool = False, onset_threshold: float = 0.5,
                           frame_threshold: float = 0.3, min_note_ms: float | None = None, lowest: str | None = None,
                           highest: str | None = None, melody: bool = False, pitch_bends: bool = True,
                           tempo: float | None = None, quantize: str | None = None, quantize_strength: float = 1.0,
                           hold_with_pedal: bool = False, reattacks: str = "merge") -> _Heard:
    """Check the arguments and the file, decode it, transcribe it in a worker thread with progress (cancelled
    within a window or segment), and turn the events into notes in beats."""
    if quantize is not None and quantize not in GRIDS:
        raise LiveloomError(f"unknown grid {quantize!r}; use one of: {', '.join(GRIDS)}")
    lo = parse_pitch(lowest) if lowest else None
    hi = parse_pitch(highest) if highest else None
    if lo is not None and hi is not None and lo > hi:
        raise LiveloomError(f"lowest ({lowest}) is above highest ({highest})")
    svc = services(ctx)
    real = svc.files.readable(path, max_bytes=LIMITS.max_audio_bytes, suffixes=aa.SUPPORTED)
    await ctx.report_progress(0, 100, "decoding")
    rate = tr.sample_rate(piano)
    y, info = await anyio.to_thread.run_sync(lambda: aa.load(real, LIMITS.max_audio_seconds, rate),
                                            abandon_on_cancel=True)
    try:
        heard = await run_job(ctx, lambda job: tr.transcribe_audio(
            svc.models, y, rate, piano=piano, onset_threshold=onset_threshold, frame_threshold=frame_threshold,
            min_note_ms=min_note_ms, lowest=lo, highest=hi, melody=melody, pitch_bends=pitch_bends,
            hold_with_pedal=hold_with_pedal, detect_tempo=tempo is None, reattacks=reattacks, job=job))
    except Cancelled:
        raise Cancelled("transcription was cancelled") from None
    bpm = tempo or heard.detected_bpm or 120.0
    source = "given" if tempo else ("detected" if heard.detected_bpm else "default")
    notes = tr.events_to_notes(heard.events, bpm)
    if quantize is not None and notes:
        notes = quantize_notes(notes, GRIDS[quantize], quantize_strength)
    return _Heard(notes, bpm, source, info, heard.silent, heard.engine, real, heard.pedal_presses, heard.meter)


@tool(title="Transcribe audio", read_only=False, idempotent=False, family="transcribe", ui=True)
async def transcribe(
    ctx: Context,
    path: Annotated[str, Field(min_length=1, max_length=4096, description="wav, flac, mp3, ogg or aiff in an "
                               "allowed folder; any sample rate, mono or stereo.", examples=["riff.wav"])],
    piano: Annotated[bool, Field(description="Solo piano: use the piano model (Transkun 2.0), far more "
                                 "accurate on piano (onset F1 0.99 vs 0.77 in our benchmark) but slower (0.6x "
                                 "real time on 2 CPU cores; a GPU or more cores make it fast). Velocities "
                                 "from the model; no pitch bends.")] = False,
    hold_with_pedal: Annotated[bool, Field(description="Piano only: a key released while the sustain pedal is "
                                           "down sounds on until the pedal comes up (clips carry no pedal), "
                                           "so the clip plays back as it sounded.")] = False,
    onset_threshold: Annotated[float, Field(ge=0.05, le=0.95, description="How sure an onset must be; higher "
                                            "gives fewer notes. General model only.")] = 0.5,
    frame_threshold: Annotated[float, Field(ge=0.05, le=0.95, description="How strong a note must stay to "
                                            "go on sounding. General model only.")] = 0.3,
    min_note_ms: Annotated[float | None, Field(ge=10, le=2000, description="Drop notes shorter than this "
                                               "(default: 127.7 ms for the general model, basic-pitch's "
                                               "11 frames, but a bass's notes at or under B2 from 58 ms; "
                                               "none for piano).")] = None,
    lowest: Annotated[str | None, Field(max_length=8, description="Lowest pitch kept (note name or MIDI "
                                        "number), e.g. E1 for a bass.")] = None,
    highest: Annotated[str | None, Field(max_length=8, description="Highest pitch kept.")] = None,
    melody: Annotated[bool, Field(description="One note at a time (a voice, a lead line).")] = False,
    pitch_bends: Annotated[bool, Field(description="Keep pitch bends where the pitch moves.")] = True,
    reattacks: Annotated[Literal["merge", "keep"] | None, Field(description="merge (the general model's default): a "
                         "held note the model split (vibrato, a bow change) becomes one note again; keep: soft "
                         "repeated notes stay apart (a legato line that repeats notes).")] = None,
    tempo: Annotated[float | None, Field(ge=30, le=300, description="BPM of the recording (default: "
                                         "detected).")] = None,
    quantize: Annotated[str | None, Field(max_length=8, description="Pull onsets to this grid of the tempo: "
                                          + ", ".join(GRIDS))] = None,
    quantize_strength: Annotated[float, Field(ge=0, le=1)] = 1.0,
    split_by_register: Annotated[bool, Field(description="A song with low (< C3), mid and high (>= C5) "
                                             "tracks instead of one clip.")] = False,
    drums: Annotated[bool, Field(description="Drums: kick, snare, hi-hats, toms, crash, ride with velocities "
                                 "(liveloom's drum model) as a GM drum clip.")] = False,
    split: Annotated[Literal["auto", "always", "never"], Field(description="drums=true on a full mix: drums "
                     "from the percussive part and a pitched track from the rest (auto: when it sounds like a "
                     "full mix).")] = "auto",
    name: Annotated[str | None, Field(max_length=200)] = None,
) -> TranscribeResult:
    """Audio to an editable clip: notes, velocities and pitch bends by basic-pitch (any instrument; a partial
    heard as a note an octave or a twelfth from another is dropped by a trained classifier), piano=true
    for solo piano (Transkun), or drums=true for drums (a GM drum clip; a full mix also gets its pitched part), in
    beats at the detected or given tempo. Progress; cancellable; silence gives an empty clip.

    Example: {"path": "riff.wav", "melody": true, "quantize": "1/16", "quantize_strength": 0.6};
    {"path": "etude.flac", "piano": true, "hold_with_pedal": true}; {"path": "break.wav", "drums": true};
    {"path": "synth_line.wav", "reattacks": "keep"}."""
    if hold_with_pedal and not piano:
        raise LiveloomError("hold_with_pedal needs piano=true: only the piano model hears the sustain pedal")
    if reattacks is not None and (piano or drums):
        raise LiveloomError(f"reattacks={reattacks} is for the general model: the piano and drum models find their "
                            "own re-strikes")
    reattacks = reattacks or "merge"
    if drums:
        if piano or melody or split_by_register:
            raise LiveloomError("drums=true is its own transcription: leave out piano, melody and split_by_register")
        return await _transcribe_drums(ctx, path, split=split, tempo=tempo, quantize=quantize,
                                       quantize_strength=quantize_strength, name=name)
    t0 = time.perf_counter()
    heard = await _transcribe_file(
        ctx, path, piano=piano, onset_threshold=onset_threshold, frame_threshold=frame_threshold,
        min_note_ms=min_note_ms, lowest=lowest, highest=highest, melody=melody, pitch_bends=pitch_bends, tempo=tempo,
        quantize=quantize, quantize_strength=quantize_strength, hold_with_pedal=hold_with_pedal, reattacks=reattacks)
    params = {"path": str(heard.path), "onset_threshold": onset_threshold, "frame_threshold": frame_threshold,
              "min_note_ms": min_note_ms, "lowest": lowest, "highest": highest, "melody": melody,
              "pitch_bends": pitch_bends, "tempo": heard.bpm, "quantize": quantize,
              "quantize_strength": quantize_strength, "split_by_register": split_by_register, "piano": piano,
              "hold_with_pedal": hold_with_pedal, "reattacks": reattacks}
    record, registers = _store_heard(services(ctx).workspace, heard, name or heard.path.stem, split_by_register,
                                     provenance(engine=heard.engine, params=params))
    await ctx.report_progress(100, 100, "done")
    return TranscribeResult(**artifact_summary(record).model_dump(), source=str(heard.path),
                            duration_seconds=heard.info["seconds"], engine=heard.engine,
                            tempo_used=round(heard.bpm, 2), tempo_source=heard.tempo_source,
                            notes_with_pitch_bend=sum(1 for n in heard.notes if n.pitch_bend), silent=heard.silent,
                            seconds_taken=round(time.perf_counter() - t0, 3), clips=registers,
                            sustain_pedal_presses=heard.pedal_presses)


async def _transcribe_drums(ctx: Context, path: str, *, split: str, tempo: float | None, quantize: str | None,
                            quantize_strength: float, name: str | None) -> TranscribeResult:
    """drums=true: the drum model (and basic-pitch on a full mix's harmonic part) -> a drum clip or a song."""
    from liveloom.engines import drum_transcription as dtr

    if quantize is not None and quantize not in GRIDS:
        raise LiveloomError(f"unknown grid {quantize!r}; use one of: {', '.join(GRIDS)}")
    t0 = time.perf_counter()
    svc = services(ctx)
    real = svc.files.readable(path, max_bytes=LIMITS.max_audio_bytes, suffixes=aa.SUPPORTED)
    await ctx.report_progress(0, 100, "decoding")
    y, info = await anyio.to_thread.run_sync(lambda: aa.load(real, LIMITS.max_audio_seconds, tr.SR),
                                            abandon_on_cancel=True)
    try:
        heard = await run_job(ctx, lambda job: dtr.transcribe_drums(svc.models, y, split=split,
                                                                     detect_tempo=tempo is None, job=job))
    except Cancelled:
        raise Cancelled("transcription was cancelled") from None
    bpm = tempo or heard.detected_bpm or 120.0
    notes = dtr.hits_to_notes(heard.hits, bpm)
    if quantize is not None and notes:
        notes = quantize_notes(notes, GRIDS[quantize], quantize_strength)
    title = name or real.stem
    pitched = tr.events_to_notes(heard.pitched, bpm) if heard.pitched is not None else []
    length = _length_beats(notes + pitched, info["seconds"], bpm)
    notes, pitched = _ending_by(notes, length), _ending_by(pitched, length)
    drum_clip = Clip(name=f"{title} drums" if heard.pitched is not None else title, notes=notes, length=length,
                     tempo=bpm, time_signature=TimeSignature(), role="drums", is_drum=True)
    prov = provenance(engine=heard.engine, params={"path": str(real), "drums": True, "split": split, "tempo": bpm,
                                                   "quantize": quantize, "quantize_strength": quantize_strength})
    if heard.pitched is not None:
        song = Song(name=title, tempo=bpm, tracks=[
            Track(name=drum_clip.name, role="drums", is_drum=True, clips=[PlacedClip(clip=drum_clip)]),
            Track(name=f"{title} pitched", role="pitched", instrument=0, clips=[PlacedClip(clip=Clip(
                name=f"{title} pitched", notes=pitched, length=length, tempo=bpm, instrument=0))])])
        record, clips = store_song(svc.workspace, song, prov), ["drums", "pitched"]
    else:
        record, clips = store_clip(svc.workspace, drum_clip, prov), []
    await ctx.report_progress(100, 100, "done")
    return TranscribeResult(**artifact_summary(record).model_dump(), source=str(real),
                            duration_seconds=info["seconds"], engine=heard.engine, tempo_used=round(bpm, 2),
                            tempo_source="given" if tempo else ("detected" if heard.detected_bpm else "default"),
                            notes_with_pitch_bend=0, silent=heard.silent,
                            seconds_taken=round(time.perf_counter() - t0, 3), clips=clips,
                            drum_hits=dtr.class_counts(heard.hits), heard_as=heard.kind)


def _length_beats(notes: list[Note], seconds: float, bpm: float, bar: float = 4.0) -> float:
    """A transcription's clip length: whole bars (`bar` beats) covering the notes and the recording, at least one;
    a release (a quarter beat) or a recording's tail (a beat) past a bar line does not start another bar."""
    covered = max([max(n.start + 1e-3, n.end - 0.25) for n in notes] + [seconds * bpm / 60 - 1.0])
    return max(bar, math.ceil(covered / bar - 1e-9) * bar)


def _ending_by(notes: list[Note], length: float) -> list[Note]:
    """Releases that run past the clip's last bar line end on it."""
    return [n if n.end <= length else n.model_copy(update={"duration": length - n.start}) for n in notes]


def _store_heard(ws, heard: _Heard, title: str, split_by_register: bool, prov) -> tuple:
    """Store a transcription as one clip, or as a song of low/mid/high tracks: (record, registers made)."""
    notes, bpm = heard.notes, heard.bpm
    ts = heard.meter or TimeSignature()
    length = _length_beats(notes, heard.info["seconds"], bpm, ts.beats_per_bar)
    notes = _ending_by(notes, length)
    if not split_by_register:
        return store_clip(ws, Clip(name=title, notes=notes, length=length, tempo=bpm,
                                   time_signature=ts, instrument=0), prov), []
    tracks, registers = [], []
    for label, a, b in REGISTERS:
        part = [n for n in notes if a <= n.pitch <= b]
        if part:
            registers.append(label)
            tracks.append(Track(name=f"{title} {label}", role=label, instrument=0, clips=[PlacedClip(
                clip=Clip(name=f"{title} {label}", notes=part, length=length, tempo=bpm,
                          time_signature=ts))]))
    if not tracks:
        tracks = [Track(name=title, clips=[PlacedClip(clip=Clip(name=title, notes=[], length=length, tempo=bpm,
                                                                time_signature=ts))])]
    return store_song(ws, Song(name=title, tempo=bpm, time_signature=ts, tracks=tracks), prov), registers


@tool(title="Re-orchestrate a recording (transcribe + re-render)", read_only=False, destructive=True,
      idempotent=False, family="transcribe")
async def reorchestrate_audio(
    ctx: Context,
    path: Annotated[str, Field(min_length=1, max_length=4096, description="The recording (wav, flac, mp3, ogg, "
                               "aiff) in an allowed folder.", examples=["piano_sketch.wav"])],
    ensemble: Annotated[Literal[tuple(ENSEMBLES)], Field(  # type: ignore[valid-type]
        description="Who plays it: each register (low < C3, mid, high >= C5) goes to one instrument.")] = "strings",
    out_path: Annotated[str | None, Field(max_length=4096, description="Write the WAV here (a .wav in an "
                                          "allowed folder; default: the workspace).")] = None,
    tempo: Annotated[float | None, Field(ge=30, le=300)] = None,
    melody: Annotated[bool, Field(description="Transcribe one note at a time first.")] = False,
    overwrite: bool = False,
) -> ReorchestrateResult:
    """A recording played by another ensemble: transcribed, split by register to its instruments and rendered with
    FluidSynth. Only the notes carry over, not timbre or mix. Returns the song and the WAV.

    Example: {"path": "piano_sketch.wav", "ensemble": "brass", "out_path": "sketch_brass.wav"}."""
    ws = services(ctx).workspace
    files = services(ctx).files
    renderer = find_renderer(services(ctx).render)  # says what to install before any work is done
    out = files.writable(out_path, suffixes=(".wav",), overwrite=overwrite) if out_path else None
    heard = await _transcribe_file(ctx, path, melody=melody, pitch_bends=False, tempo=tempo)
    notes, bpm, info, real = heard.notes, heard.bpm, heard.info, heard.path
    if heard.silent or not notes:
        raise LiveloomError(f"{real.name} holds no notes to re-orchestrate (silent, or nothing pitched found)")
    ts = heard.meter or TimeSignature()
    length = _length_beats(notes, 0.0, bpm, ts.beats_per_bar)
    notes = _ending_by(notes, length)
    tracks = []
    for (label, a, b), (inst, program) in zip(REGISTERS, ENSEMBLES[ensemble]):
        part = [n for n in notes if a <= n.pitch <= b]
        if part:
            tracks.append(Track(name=inst, role=label, instrument=program, clips=[PlacedClip(
                clip=Clip(name=inst, notes=part, length=length, tempo=bpm, time_signature=ts, instrument=program))]))
    song = Song(name=f"{real.stem} for {ensemble}", tempo=bpm, time_signature=ts, tracks=tracks)
    engine = f"{heard.engine}, then FluidSynth"
    await ctx.report_progress(90, 100, "rendering")
    midi = (await anyio.to_thread.run_sync(song_to_midi, song)).data
    wav = await render_midi(midi, renderer)
    winfo = wav_info(wav)
    if out is not None:
        write_file_atomically(out, wav, overwrite=overwrite)
    # stored only once everything has worked: a failed call stores nothing
    record = store_song(ws, song, provenance(engine=engine, params={
        "path": str(real), "ensemble": ensemble, "tempo": bpm, "melody": melody}))
    audio = ws.put("audio", song.name, wav, provenance(engine="FluidSynth",
                                                       params={"ensemble": ensemble}, parents=[record.id]),
                   {"seconds": winfo.seconds, "sample_rate": winfo.sample_rate, "source": record.id})
    await ctx.report_progress(100, 100, "done")
    return ReorchestrateResult(**artifact_summary(record).model_dump(), source=str(real), ensemble=ensemble,
                               instruments=[t.name for t in tracks], wav=str(out or ws.path_of(audio)),
                               wav_seconds=round(winfo.seconds, 3), original_seconds=info["seconds"],
                               tempo_used=round(bpm, 2), what_this_is="transcription + re-rendering with General "
                               "MIDI instruments; the original's timbre and mix are not kept")
