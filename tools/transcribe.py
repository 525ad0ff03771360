"""Transcribe family: audio -> an editable clip, with basic-pitch's network running in PyTorch."""

from __future__ import annotations

import math
import os
import threading
import time
from typing import Annotated, Literal

import anyio
from mcp.server.mcpserver import Context, MCPServer
from pydantic import Field

from liveloom.server.toolkit import Services, register_tool
from liveloom.server.workspace import Provenance
from liveloom.tools.core.errors import LiveloomError
from liveloom.tools.core.limits import LIMITS
from liveloom.tools.core.model import Clip, Note, PlacedClip, Song, TimeSignature, Track
from liveloom.tools.core.theory import parse_pitch
from liveloom.tools.schemas import ArtifactSummary, artifact_summary, store_clip, store_song

GRIDS = {"1/4": 1.0, "1/8": 0.5, "1/8T": 1 / 3, "1/16": 0.25, "1/16T": 1 / 6, "1/32": 0.125}
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


class ReorchestrateResult(ArtifactSummary):
    source: str
    ensemble: str
    instruments: list[str] = Field(description="The tracks made, low to high.")
    wav: str = Field(description="The rendered WAV's path.")
    wav_seconds: float
    original_seconds: float
    tempo_used: float
    what_this_is: str


class Transcriber:
    """The networks, each loaded once per server on first use: basic-pitch (any instrument) and Transkun
    (solo piano). LIVELOOM_TRANSCRIBE_PRECISION (fp32, the default; bf16; auto) applies to both;
    LIVELOOM_PIANO_CHECKPOINT serves a local Transkun checkpoint instead of the one in its wheel."""

    def __init__(self):
        self._lock = threading.Lock()
        self._model = None
        self._piano = None

    @staticmethod
    def precision() -> str:
        return os.environ.get("LIVELOOM_TRANSCRIBE_PRECISION", "fp32")

    def get(self):
        with self._lock:
            if self._model is None:
                from liveloom.models.basic_pitch_torch import WeightsError, load

                try:  # float32 (the reference's arithmetic and notes) unless bf16/auto is asked for
                    self._model = load(precision=self.precision())
                except WeightsError as exc:
                    raise LiveloomError(str(exc)) from None
            return self._model

    def piano(self):
        with self._lock:
            if self._piano is None:
                from liveloom.models.transkun_piano import PianoModelError, load

                try:
                    self._piano = load(os.environ.get("LIVELOOM_PIANO_CHECKPOINT") or None,
                                       precision=self.precision())
                except PianoModelError as exc:
                    raise LiveloomError(str(exc)) from None
            return self._piano


def register(server: MCPServer, services: Services) -> None:
    files, ws = services.files, services.workspace
    transcriber = Transcriber()

    async def run(ctx: Context, path: str, onset_threshold: float, frame_threshold: float, min_note_ms: float | None,
                  lowest: str | None, highest: str | None, melody: bool, pitch_bends: bool, tempo: float | None,
                  quantize: str | None, quantize_strength: float, piano: bool = False, hold_with_pedal: bool = False):
        """Transcribe a file: (notes in beats, tempo used, where it came from, file info, silent, engine, path,
        sustain-pedal presses or None)."""
        from liveloom.tools.core import audio_analysis as aa
        from liveloom.tools.core import transcription as tr
        from liveloom.tools.core.transform import quantize as quantize_notes

        if quantize is not None and quantize not in GRIDS:
            raise LiveloomError(f"unknown grid {quantize!r}; use one of: {', '.join(GRIDS)}")
        try:
            lo = parse_pitch(lowest) if lowest else None
            hi = parse_pitch(highest) if highest else None
        except ValueError as exc:
            raise LiveloomError(str(exc)) from None
        if lo is not None and hi is not None and lo > hi:
            raise LiveloomError(f"lowest ({lowest}) is above highest ({highest})")
        real = files.readable(path, max_bytes=LIMITS.max_audio_bytes, suffixes=aa.SUPPORTED)
        await ctx.report_progress(0, 100, "decoding")
        from liveloom.models import transkun_piano

        rate = transkun_piano.SAMPLE_RATE if piano else tr.SR
        y, info = await anyio.to_thread.run_sync(lambda: aa.load(real, LIMITS.max_audio_seconds, rate),
                                                abandon_on_cancel=True)
        silent = not tr.check_audio_not_silent(y)
        cancel = threading.Event()

        def report(done: int, total: int, unit: str = "window") -> None:
            anyio.from_thread.run(ctx.report_progress, 5 + 80 * done / total, 100, f"{unit} {done} of {total}")

        def general():
            model, device = transcriber.get()
            engine = (f"basic-pitch ICASSP 2022 network (weights from the basic-pitch 0.4.0 wheel) in PyTorch on "
                      f"{device}, {'bfloat16' if model.precision == 'bf16' else 'float32'} convolutions")
            if silent:
                return [], engine, None
            out = tr.infer(y, model, device, progress=report, cancel=cancel)
            frames = (tr.MIN_NOTE_FRAMES if min_note_ms is None
                      else max(1, int(round(min_note_ms / 1000 * tr.SR / tr.HOP))))
            return tr.decode(out, onset_threshold, frame_threshold, frames, lo, hi, pitch_bends=pitch_bends), \
                engine, None

        def solo_piano():
            model = transcriber.piano()
            engine = (f"Transkun 2.0 piano model ({model.parameters / 1e6:.1f} M parameters, from {model.source}) "
                      f"in PyTorch on {model.device}, {'bfloat16' if model.precision == 'bf16' else 'float32'}")
            if silent:
                return [], engine, 0
            raw = model.transcribe(y, progress=lambda d, t: report(d, t, "segment"), cancel=cancel)
            events, presses = tr.piano_notes(raw, (min_note_ms or 0.0) / 1000, lo, hi, hold_with_pedal)
            return events, engine, presses

        def work():
            events, engine, presses = solo_piano() if piano else general()
            if melody:
                events = tr.one_at_a_time(events)
            found = None
            if tempo is None and not silent and len(y) > rate * 3:
                import librosa
                import numpy as np

                bpm, _ = librosa.beat.beat_track(y=y, sr=rate, hop_length=512 * rate // tr.SR)
                found = float(np.atleast_1d(bpm)[0]) or None
            return events, engine, found, presses

        try:
            events, engine, detected, presses = await anyio.to_thread.run_sync(work, abandon_on_cancel=True)
        except (tr.Cancelled, transkun_piano.Cancelled):
            raise LiveloomError("transcription was cancelled") from None
        except BaseException:
            cancel.set()
            raise
        bpm = tempo or detected or 120.0
        source = "given" if tempo else ("detected" if detected else "default")
        beat = 60.0 / bpm
        notes = []
        for ev in events:
            start = ev.start / beat
            dur = max(1e-3, (ev.end - ev.start) / beat)
            bend = None
            if ev.bends and any(ev.bends):
                # one point per change, in beats after the note's start (contour frames are 256 samples apart)
                pts, last = [], None
                for i, b in enumerate(ev.bends):
                    if b != last:
                        pts.append((round(i * tr.HOP / tr.SR / beat, 4), round(b / 3.0, 3)))
                        last = b
                bend = pts[:4096]
            notes.append(Note(pitch=ev.pitch, start=round(max(0.0, start), 6), duration=round(dur, 6),
                              velocity=max(1, min(127, int(round(127 * ev.amplitude)))), pitch_bend=bend))
        if quantize is not None and notes:
            notes = quantize_notes(notes, GRIDS[quantize], quantize_strength)
        return notes, bpm, source, info, silent, engine, real, presses

    @register_tool(server, title="Transcribe audio", read_only=False, idempotent=True, family="transcribe")
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
                                                   "11 frames; none for piano).")] = None,
        lowest: Annotated[str | None, Field(max_length=8, description="Lowest pitch kept (note name or MIDI "
                                            "number), e.g. E1 for a bass.")] = None,
        highest: Annotated[str | None, Field(max_length=8, description="Highest pitch kept.")] = None,
        melody: Annotated[bool, Field(description="One note at a time (a voice, a lead line).")] = False,
        pitch_bends: Annotated[bool, Field(description="Keep pitch bends where the pitch moves.")] = True,
        tempo: Annotated[float | None, Field(ge=30, le=300, description="BPM of the recording (default: "
                                             "detected).")] = None,
        quantize: Annotated[str | None, Field(description="Pull onsets to this grid of the tempo: "
                                              + ", ".join(GRIDS))] = None,
        quantize_strength: Annotated[float, Field(ge=0, le=1)] = 1.0,
        split_by_register: Annotated[bool, Field(description="A song with low (< C3), mid and high (>= C5) "
                                                 "tracks instead of one clip.")] = False,
        name: Annotated[str | None, Field(max_length=200)] = None,
    ) -> TranscribeResult:
        """Audio to an editable clip: notes with onsets, lengths, velocities and pitch bends, from a polyphonic
        recording (Spotify's basic-pitch network, run here in PyTorch; any instrument, best on one or a few),
        or with piano=true from a solo piano recording (the Transkun piano model). Times are turned into beats
        at the detected (or given) tempo. Then write_clip puts it in Live, or render_audio lets you hear the
        round trip. Reports progress; can be cancelled. Silence gives an empty clip, not an error.

        Example: {"path": "riff.wav", "melody": true, "quantize": "1/16", "quantize_strength": 0.6};
        {"path": "etude.flac", "piano": true, "hold_with_pedal": true}."""
        if hold_with_pedal and not piano:
            raise LiveloomError("hold_with_pedal needs piano=true: only the piano model hears the sustain pedal")
        t0 = time.perf_counter()
        notes, bpm, source, info, silent, engine, real, presses = await run(
            ctx, path, onset_threshold, frame_threshold, min_note_ms, lowest, highest, melody, pitch_bends, tempo,
            quantize, quantize_strength, piano, hold_with_pedal)
        beat = 60.0 / bpm
        length = max(4.0, math.ceil(max([n.end for n in notes] + [info["seconds"] / beat]) / 4 - 1e-9) * 4)
        title = name or real.stem
        params = {"path": str(real), "onset_threshold": onset_threshold, "frame_threshold": frame_threshold,
                  "min_note_ms": min_note_ms, "lowest": lowest, "highest": highest, "melody": melody,
                  "pitch_bends": pitch_bends, "tempo": bpm, "quantize": quantize,
                  "quantize_strength": quantize_strength, "split_by_register": split_by_register, "piano": piano,
                  "hold_with_pedal": hold_with_pedal}
        prov = Provenance(tool="transcribe", model=engine, params=params)
        registers: list[str] = []
        if split_by_register:
            tracks = []
            for label, a, b in REGISTERS:
                part = [n for n in notes if a <= n.pitch <= b]
                if part:
                    registers.append(label)
                    tracks.append(Track(name=f"{title} {label}", role=label, instrument=0, clips=[PlacedClip(
                        clip=Clip(name=f"{title} {label}", notes=part, length=length, tempo=bpm,
                                  time_signature=TimeSignature()))]))
            if not tracks:
                tracks = [Track(name=title, clips=[PlacedClip(clip=Clip(name=title, notes=[], length=length,
                                                                         tempo=bpm))])]
            record = store_song(ws, Song(name=title, tempo=bpm, tracks=tracks), prov)
        else:
            record = store_clip(ws, Clip(name=title, notes=notes, length=length, tempo=bpm,
                                         time_signature=TimeSignature(), instrument=0), prov)
        await ctx.report_progress(100, 100, "done")
        return TranscribeResult(**artifact_summary(record).model_dump(), source=str(real),
                                duration_seconds=info["seconds"], engine=engine, tempo_used=round(bpm, 2),
                                tempo_source=source, notes_with_pitch_bend=sum(1 for n in notes if n.pitch_bend),
                                silent=silent, seconds_taken=round(time.perf_counter() - t0, 3), clips=registers,
                                sustain_pedal_presses=presses)

    @register_tool(server, title="Re-orchestrate a recording (transcribe + re-render)", read_only=False,
                   idempotent=True, family="transcribe")
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
        """Play a recording with other instruments: this is transcription to notes (as `transcribe`), the notes
        split by register and given to an ensemble's instruments, and a new rendering through FluidSynth and
        a General MIDI soundfont. It is not audio style transfer: timbre, mix and expression of the original are
        not kept, only its notes. Returns the song (editable, writable to Live) and the WAV.

        Example: {"path": "piano_sketch.wav", "ensemble": "brass", "out_path": "sketch_brass.wav"}."""
        from liveloom.tools.core.midi_io import song_to_midi
        from liveloom.tools.core.render import find_renderer, render_midi, wav_info
        from liveloom.server.files import write_file_atomically

        find_renderer()  # says what to install before any work is done
        out = files.writable(out_path, suffixes=(".wav",), overwrite=overwrite) if out_path else None
        notes, bpm, _, info, silent, engine, real, _ = await run(ctx, path, 0.5, 0.3, None, None, None, melody, False,
                                                                  tempo, None, 1.0)
        if silent or not notes:
            raise LiveloomError(f"{real.name} holds no notes to re-orchestrate (silent, or nothing pitched found)")
        length = max(4.0, math.ceil(max(n.end for n in notes) / 4 - 1e-9) * 4)
        tracks = []
        for (label, a, b), (inst, program) in zip(REGISTERS, ENSEMBLES[ensemble]):
            part = [n for n in notes if a <= n.pitch <= b]
            if part:
                tracks.append(Track(name=inst, role=label, instrument=program, clips=[PlacedClip(
                    clip=Clip(name=inst, notes=part, length=length, tempo=bpm, instrument=program))]))
        song = Song(name=f"{real.stem} for {ensemble}", tempo=bpm, tracks=tracks)
        engine = f"{engine}, then FluidSynth"
        record = store_song(ws, song, Provenance(tool="reorchestrate_audio", model=engine, params={
            "path": str(real), "ensemble": ensemble, "tempo": bpm, "melody": melody}))
        await ctx.report_progress(90, 100, "rendering")
        midi = (await anyio.to_thread.run_sync(song_to_midi, song)).data
        wav = await render_midi(midi)
        winfo = wav_info(wav)
        audio = ws.put("audio", song.name, wav, Provenance(tool="reorchestrate_audio", model="FluidSynth",
                                                           params={"ensemble": ensemble}, parents=[record.id]),
                       {"seconds": winfo.seconds, "sample_rate": winfo.sample_rate, "source": record.id})
        if out is not None:
            write_file_atomically(out, wav, overwrite=overwrite)
        await ctx.report_progress(100, 100, "done")
        return ReorchestrateResult(**artifact_summary(record).model_dump(), source=str(real), ensemble=ensemble,
                                   instruments=[t.name for t in tracks], wav=str(out or ws.path_of(audio)),
                                   wav_seconds=round(winfo.seconds, 3), original_seconds=info["seconds"],
                                   tempo_used=round(bpm, 2), what_this_is="transcription + re-rendering with General "
                                   "MIDI instruments; the original's timbre and mix are not kept")
