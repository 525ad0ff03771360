"""Analyze family: a musician's reading of a clip, song or MIDI file — key, chords, rhythm, structure."""

from typing import Annotated, Literal

import anyio
from mcp.server.mcpserver import MCPServer
from pydantic import BaseModel, Field

from liveloom.server.toolkit import Services, register_tool
from liveloom.server.workspace import Provenance
from liveloom.tools.core import analysis
from liveloom.tools.core.errors import LiveloomError
from liveloom.tools.core.limits import LIMITS
from liveloom.tools.core.midi_io import midi_to_song
from liveloom.tools.core.model import Song, TimeSignature
from liveloom.tools.core.theory import parse_key


class ChordAt(BaseModel):
    bar: int
    beat: float = Field(description="Beat within the bar, from 1.")
    chord: str
    roman: str
    fit: float = Field(description="How much of the sounding music the chord explains (1 = all).")


class KeyReading(BaseModel):
    key: str = Field(description='e.g. "D minor"')
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
    tempo_source: str = Field(description="clip, file, or default (no tempo was recorded: see tempo_estimate)")
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
    structure: dict
    descriptors: dict


def register(server: MCPServer, services: Services) -> None:
    ws, files = services.workspace, services.files

    @register_tool(server, title="Analyze a clip", read_only=False, idempotent=False)
    async def analyze_clip(
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
        """Key (with confidence and runners-up, and windows for modulations), chords with roman numerals, tempo
        and meter, density, range, polyphony, syncopation, swing and microtiming, repetition and sections, and
        MusPy-style descriptors. Drum tracks count for rhythm only.

        Example: {"id": "clip_3f9a2b1c0d"} or {"path": "song.mid", "chords_per": "beat"}."""
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
            real = files.readable(path, max_bytes=LIMITS.max_midi_file_bytes, suffixes=(".mid", ".midi", ".smf"))
            data = real.read_bytes()
            song = await anyio.to_thread.run_sync(lambda: midi_to_song(data, name=real.stem))
            source, tempo_source = str(real), "file" if song.tempo_known else "default"
        try:
            given_key = parse_key(key) if key else None
        except ValueError as exc:
            raise LiveloomError(str(exc)) from None
        detail = await anyio.to_thread.run_sync(
            lambda: _analyze(song, chords_per, key_profile, cadence, given_key))
        rec = ws.put("analysis", f"analysis of {song.name}", __import__("json").dumps(detail).encode(),
                     Provenance(tool="analyze_clip", model=f"key profiles ({key_profile}) + chord templates",
                                params={"id": id, "path": path, "chords_per": chords_per, "key_profile": key_profile,
                                        "cadence": cadence, "key": key}, parents=[id] if id else []),
                     {"key": detail["key"]["key"], "source": source})
        return ClipAnalysis(id=rec.id, source=source, tempo_source=tempo_source,
                            tempo_estimate=detail.get("tempo_estimate"), **{
            k: detail[k] for k in ("key", "modulations", "chords", "tempo", "time_signature", "meter_source", "bars",
                                   "notes",
                                   "notes_per_bar", "range", "polyphony", "syncopation", "swing_ratio", "structure",
                                   "descriptors")})


def _analyze(song: Song, chords_per: str, profile: str, cadence: bool, given_key) -> dict:
    timelines = [(t.is_drum, [n for n in t.notes_on_timeline() if not n.mute]) for t in song.tracks]
    pitched = [n for is_drum, notes in timelines if not is_drum for n in notes]
    everything = [n for _, notes in timelines for n in notes]
    if not everything:
        raise LiveloomError("there are no sounding notes to analyze")
    ts = song.time_signature
    bar = ts.beats_per_bar
    length = max(song.length, max(n.end for n in everything))
    out: dict = {"tempo": song.tempo, "time_signature": str(ts), "bars": round(length / bar, 3),
                 "meter_source": "file" if song.meter_known else "default"}
    if not song.tempo_known:  # the file's clock is MIDI's default 120 BPM: find the music's own pulse
        try:
            onset_s = sorted({song.beats_to_seconds(n.start) for n in everything})
            bpm, strength = analysis.estimate_tempo(onset_s)
            out["tempo_estimate"] = {"bpm": bpm, "strength": round(strength, 3)}
        except ValueError:
            pass
    if not song.meter_known:
        try:
            if "tempo_estimate" in out:  # measure positions in the pulse just found
                pulse = 60.0 / out["tempo_estimate"]["bpm"]
                positions = [song.beats_to_seconds(n.start) / pulse for n in everything]
            else:
                positions = [n.start / (4.0 / ts.denominator) for n in everything]
            beats_per_bar, strength = analysis.estimate_meter(positions, [analysis.accent_weight(n) for n in everything])
            out["time_signature"] = f"{beats_per_bar}/4"
            out["meter_source"] = "estimated"
            out["meter_strength"] = strength
            ts = TimeSignature(numerator=beats_per_bar, denominator=4)
            bar = ts.beats_per_bar
            out["bars"] = round(length / bar, 3)
        except ValueError:
            pass
    if pitched:
        est = analysis.estimate_key(pitched, profile=profile, cadence=cadence)
        k = given_key or parse_key(est.key)
        out["key"] = {"key": str(k) if given_key else est.key, "confidence": 1.0 if given_key else est.confidence,
                      "runners_up": [] if given_key else [name for name, _ in est.runners_up],
                      "method": "given" if given_key else est.method}
        windows = analysis.windowed_keys(pitched, bar, profile=profile)
        out["key_windows"] = windows
        out["modulations"] = [f"bars {w['start_bar']}-{w['end_bar']}: {w['key']}" for w in windows
                              if w["key"] != out["key"]["key"] and w["score"] > 0.75]
        span = {"bar": bar, "half_bar": bar / 2, "beat": 4.0 / ts.denominator}[chords_per]
        chords = analysis.chords_by_span(pitched, span, length)
        out["chords"] = [{"bar": int(c["start"] // bar) + 1, "beat": round(c["start"] % bar / (4.0 / ts.denominator) + 1, 3),
                          "chord": c["chord"], "roman": analysis.roman_numeral(c["spec"], k), "fit": c["fit"]}
                         for c in chords]
        stats = analysis.note_stats(pitched, length, bar)
    else:
        out.update({"key": {"key": "none (drums only)", "confidence": 0.0, "runners_up": [], "method": "-"},
                    "modulations": [], "chords": [], "key_windows": []})
        stats = analysis.note_stats(everything, length, bar)
    groove = analysis.rhythm_and_groove(everything, ts, song.tempo)
    desc = analysis.descriptors(everything, ts, length)
    out.update({"notes": len(everything), "notes_per_bar": round(len(everything) / max(1e-9, length / bar), 2),
                "range": stats.get("range", []), "pitch_class_histogram": stats.get("pitch_class_histogram", {}),
                "polyphony": desc.get("polyphony"), "syncopation": groove.get("syncopation"),
                "swing_ratio": groove.get("swing_ratio"), "microtiming_ms": groove.get("microtiming_ms", {}),
                "structure": analysis.structure(pitched or everything, bar, length),
                "descriptors": {k: v for k, v in desc.items() if k != "polyphony"}})
    return out
