"""Analyze family: a musician's reading of a clip, song or MIDI file — key, chords, rhythm, structure."""

import base64
import json
from typing import Annotated, Literal

import anyio
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult, ImageContent, TextContent
from pydantic import BaseModel, Field

from liveloom.engines import audio_analysis as aa
from liveloom.engines import transcription as tr
from liveloom.music import analysis
from liveloom.music.errors import LiveloomError
from liveloom.music.limits import LIMITS
from liveloom.music.theory import parse_key
from liveloom.tools.artifacts import load_midi_file
from liveloom.tools.base import provenance, run_job, services, tool


class ChordAt(BaseModel):
    bar: int
    beat: float = Field(description="Beat within the bar, from 1.")
    chord: str
    roman: str
    fit: float = Field(description="How much of the sounding music the chord explains (1 = all).")


class KeyReading(BaseModel):
    key: str = Field(description='e.g. "D minor", or a church mode where the notes say so: "A dorian"')
    mode: str | None = Field(default=None, description="major, minor, dorian, mixolydian, phrygian or lydian")
    confidence: float = Field(description="0-1: the margin over the runner-up.")
    runners_up: list[str]
    method: str


class ClipAnalysis(BaseModel):
    id: str = Field(description="The full analysis, stored as an artifact (microtiming, histograms, windows).")
    kind: str = "analysis"
    source: str
    key: KeyReading
    modulations: list[str] = Field(description="Windows whose key differs from the main key.")
    chords: list[ChordAt]
    tempo: float
    tempo_source: str = Field(description="clip, file, or estimated (no tempo was recorded: the pulse found in the "
                                          "onsets is used for tempo, bars and chords; see tempo_estimate)")
    tempo_estimate: dict | None = Field(default=None, description="When no tempo was recorded: the pulse found "
                                        "in the onsets (bpm, strength).")
    time_signature: str
    meter_source: str = Field(description="file, default, or estimated")
    bars: float
    notes: int
    notes_per_bar: float
    range: list[str]
    polyphony: float | None
    syncopation: float | None
    swing_ratio: float | None = Field(description="Where off-beat eighths sit in the beat: 0.5 straight, 0.67 swung.")
    swing16_ratio: float | None = Field(default=None, description="Where off-beat sixteenths sit in their eighth: 0.5 "
                                                                  "straight, 0.6-0.67 swung 16ths.")
    structure: dict
    descriptors: dict


class AudioChord(BaseModel):
    time: float = Field(description="Seconds.")
    beat: int = Field(description="Beat index (from 0) in the detected beat grid.")
    chord: str = Field(description="Chord symbol, or N where no chord is clear.")


class AudioAnalysis(BaseModel):
    id: str = Field(description="The full analysis (every beat, loudness curve, MFCCs) as an artifact.")
    kind: str = "analysis"
    source: str
    duration: float = Field(description="Seconds.")
    sample_rate: int
    channels: int
    silent: bool
    peak_dbfs: float
    tempo: float | None = None
    tempo_source: str | None = Field(default=None, description="beats: the beat tracker; notes: a line without "
                                     "bass or kick, whose pulse and meter come from its transcribed notes.")
    meter: str | None = None
    beats: int = Field(default=0, description="How many beats were found (the times are in the artifact).")
    first_downbeat: float | None = None
    key: dict | None = None
    chords: list[AudioChord] = Field(default_factory=list, description="Chord changes (the first 48).")
    segments: list[dict] = Field(default_factory=list, description="Sections: start (s) and a label; equal labels "
                                 "sound alike.")
    onset_density_per_second: float | None = None
    loudness_dbfs: dict | None = Field(default=None, description="min, mean and max of the half-second loudness.")
    spectral: dict | None = Field(default=None, description="Centroid, rolloff, zero-crossing rate (mean, std).")
    plot: str | None = Field(default=None, description="Path of the PNG when plots=true.")


@tool(title="Analyze a clip", read_only=True, idempotent=True)
async def analyze_clip(
    ctx: Context,
    id: Annotated[str | None, Field(max_length=64, description="A clip or song artifact.")] = None,
    path: Annotated[str | None, Field(max_length=4096, description="Or a MIDI file in an allowed folder.")] = None,
    chords_per: Annotated[Literal["bar", "half_bar", "beat"], Field(description="Chord span.")] = "bar",
    key_profile: Annotated[Literal["aarden", "temperley", "krumhansl", "bellman"], Field(
        description="Key profile (aarden scores best on our chorale and folk-song benchmark).")] = "aarden",
    cadence: Annotated[bool, Field(description="Favour keys whose tonic is the final bass note; turn off for "
                                   "loops that do not end on their tonic.")] = True,
    key: Annotated[str | None, Field(max_length=40, description="Use this key for roman numerals instead of "
                                     "the estimate.")] = None,
) -> ClipAnalysis:
    """Key (with confidence and modulations), chords with roman numerals, tempo and meter, density, range,
    syncopation, swing, repetition and sections of a clip, song or MIDI file.

    Example: {"id": "clip_3f9a2b1c0d"} or {"path": "song.mid", "chords_per": "beat"}."""
    ws = services(ctx).workspace
    if (id is None) == (path is None):
        raise LiveloomError("give either id (a clip or song artifact) or path (a MIDI file)")
    if id is not None:
        record, song = ws.load_song(id)
        source, tempo_source = id, "clip" if record.kind == "clip" else "file"
        if record.kind == "clip" and song.tracks and song.tracks[0].clips[0].clip.tempo is None:
            tempo_source = "default"
        if not song.tempo_known:
            tempo_source = "default"
    else:
        real, song = await load_midi_file(services(ctx).files, path)
        source, tempo_source = str(real), "file" if song.tempo_known else "default"
    given_key = parse_key(key) if key else None
    from liveloom.models import mode_classifier  # numpy: imported when a clip is analyzed, not at start-up

    detail = await anyio.to_thread.run_sync(
        lambda: analysis.analyze_song(song, chords_per, key_profile, cadence, given_key,
                                      mode_of=mode_classifier.load().predict))
    rec = ws.put("analysis", f"analysis of {song.name}", json.dumps(detail).encode(),
                 provenance(engine=f"key profiles ({key_profile}) + chord templates",
                            params={"id": id, "path": path, "chords_per": chords_per, "key_profile": key_profile,
                                    "cadence": cadence, "key": key}, parents=[id] if id else []),
                 {"key": detail["key"]["key"], "source": source})
    if detail.get("tempo_applied"):
        tempo_source = "estimated"
    return ClipAnalysis(id=rec.id, source=source, tempo_source=tempo_source,
                        tempo_estimate=detail.get("tempo_estimate"), **{
        k: detail[k] for k in ("key", "modulations", "chords", "tempo", "time_signature", "meter_source", "bars",
                               "notes",
                               "notes_per_bar", "range", "polyphony", "syncopation", "swing_ratio", "swing16_ratio", "structure",
                               "descriptors")})


@tool(title="Analyze audio", read_only=True, idempotent=True)
async def analyze_audio(
    ctx: Context,
    path: Annotated[str, Field(min_length=1, max_length=4096, description="wav, flac, mp3, ogg or aiff in an "
                               "allowed folder; any sample rate, mono or stereo.", examples=["loop.wav"])],
    plots: Annotated[bool, Field(description="Also return a PNG: chromagram with chords, segments and the "
                                 "bar grid.")] = False,
) -> Annotated[CallToolResult, AudioAnalysis]:
    """Tempo, beats, meter, key, chords, loudness, onset density and sections of an audio file (times in seconds);
    the detail is stored as an analysis artifact. Progress; cancellable.

    Example: {"path": "bounce.wav", "plots": true}."""
    ws = services(ctx).workspace
    files = services(ctx).files
    real = files.readable(path, max_bytes=LIMITS.max_audio_bytes, suffixes=aa.SUPPORTED)
    await ctx.report_progress(0, aa.STAGES, "decoding")
    y, info = await anyio.to_thread.run_sync(lambda: aa.load(real, LIMITS.max_audio_seconds),
                                            abandon_on_cancel=True)
    hub = services(ctx).models

    def notes_of(samples, job):  # a line without bass: its pulse and meter from its notes (basic-pitch)
        return tr.transcribe_audio(hub, samples, aa.SR, detect_tempo=False, job=job).events

    detail = await run_job(ctx, lambda job: aa.analyze(y, job=job, notes_of=notes_of))  # stops at the next stage
    png = aa.plot(detail, real.name) if plots and not detail["silent"] else None
    detail.pop("_chroma", None)
    detail["file"] = info
    rec = ws.put("analysis", f"audio analysis of {real.name}", json.dumps(detail).encode(),
                 provenance(engine="librosa signal processing", params={
                     "path": str(real), "plots": plots}), {"source": str(real), "seconds": info["seconds"]})
    plot_path = None
    content = []
    if png is not None:
        image = ws.put("image", f"{real.name} analysis", png, provenance(params={
            "path": str(real)}, parents=[rec.id]), {"source": rec.id})
        plot_path = str(ws.path_of(image))
        content.append(ImageContent(type="image", data=base64.b64encode(png).decode(), mime_type="image/png"))
    result = _audio_result(rec.id, str(real), info, detail, plot_path)
    await ctx.report_progress(aa.STAGES, aa.STAGES, "done")
    content.insert(0, TextContent(type="text", text=result.model_dump_json()))
    return CallToolResult(content=content, structured_content=result.model_dump())


def _audio_result(record_id: str, source: str, info: dict, d: dict, plot_path: str | None) -> AudioAnalysis:
    base = {"id": record_id, "source": source, "duration": info["seconds"], "sample_rate": info["sample_rate"],
            "channels": info["channels"], "silent": d["silent"], "peak_dbfs": d["peak_dbfs"], "plot": plot_path}
    if d["silent"]:
        return AudioAnalysis(**base)
    loud = d["loudness_dbfs_per_half_second"]
    return AudioAnalysis(
        **base, tempo=d["tempo"], tempo_source=d.get("tempo_source"), meter=d["meter"], beats=len(d["beats"]),
        first_downbeat=d["downbeats"][0] if d["downbeats"] else None, key=d["key"],
        chords=[AudioChord(**c) for c in d["chords"][:48]], segments=d["segments"],
        onset_density_per_second=d["onset_density_per_second"],
        loudness_dbfs={"min": min(loud), "mean": round(sum(loud) / len(loud), 1), "max": max(loud)},
        spectral={k: v for k, v in d["spectral"].items() if not k.startswith("mfcc")})
