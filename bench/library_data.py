"""A generated sample library with known answers: loops and one-shots rendered from liveloom's own parts through
General MIDI soundfonts, and MIDI files — each with its kind, key, tempo and bars written down.

Used to train and evaluate the sample-kind classifier (bench/sample_kind.py: train on some soundfonts, test on one
it never heard) and by bench/library.py and the tests (index a folder, then check what the catalogue says).

Rendering is batched: many items go into one MIDI file on a millisecond clock, each after a silent gap that ends
with "all sound off", FluidSynth renders it once, and the WAV is cut at the known times. (One FluidSynth start per
item would cost 0.1-4 s each, most of it loading the soundfont.)
"""

from __future__ import annotations

import io
import json
import random
import subprocess
import tempfile
import wave
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from liveloom.engines.generation import compose
from liveloom.engines.sample_analysis import NOTE_NAMES

SOUNDFONTS = {
    "fluidr3": "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "musescore": "/usr/share/sounds/sf3/MuseScore_General_Full.sf3",
    "timgm6mb": "/usr/share/sounds/sf2/TimGM6mb.sf2",
}
RATE = 44100
GAP_S = 3.0
KINDS = ("drum_loop", "one_shot", "melodic", "bass", "chords", "full_mix")
STYLES = ("pop", "house", "trap", "lofi", "funk", "rock", "jazz", "folk", "bossa", "ambient")
PROGRAMS = {
    "melody": (0, 4, 11, 13, 24, 25, 40, 46, 56, 65, 66, 71, 73, 80, 81, 82),
    "bass": (32, 33, 34, 35, 36, 37, 38, 39),
    "chords": (0, 1, 4, 5, 16, 18, 24, 25, 48, 49, 50, 61, 88, 89, 90, 91),
}
ONE_SHOT_DRUMS = (35, 36, 38, 40, 39, 42, 46, 49, 51, 41, 45, 56, 37)


@dataclass
class Item:
    name: str
    kind: str
    key: str | None
    tempo: float | None
    bars: int | None
    style: str | None
    seconds: float
    soundfont: str | None = None
    note: str | None = None  # a tonal one-shot's root


def available_soundfonts() -> dict[str, str]:
    return {k: v for k, v in SOUNDFONTS.items() if Path(v).is_file()}


def _events(rng: random.Random, kind: str, style: str, key: str, bpm: float, bars: int, seed: int):
    """-> (events [(seconds, duration_s, channel, pitch, velocity)], programs {channel: program}, seconds)."""
    spb = 60.0 / bpm
    length = bars * 4 * spb
    roles = {"drum_loop": ("drums",), "melodic": ("melody",), "bass": ("bass",), "chords": ("chords",),
             "full_mix": ("drums", "bass", "chords", "melody")}[kind]
    events, programs = [], {}
    for i, role in enumerate(roles):
        clip = compose(role, key=key, bars=bars, tempo=bpm, style=style, seed=seed, engine="theory").clip
        channel = 9 if clip.is_drum else i
        if not clip.is_drum:
            programs[channel] = rng.choice(PROGRAMS["melody" if role == "melody" else role])
        for n in clip.notes:
            if n.start < clip.length:
                events.append((n.start * spb, min(n.duration, clip.length - n.start) * spb, channel, n.pitch,
                               n.velocity))
    return events, programs, length


def _one_shot(rng: random.Random):
    if rng.random() < 0.5:
        pitch = rng.choice(ONE_SHOT_DRUMS)
        return [(0.0, 0.2, 9, pitch, rng.randint(80, 127))], {}, rng.uniform(0.4, 1.6), None
    program = rng.choice(PROGRAMS["melody"] + PROGRAMS["bass"] + PROGRAMS["chords"])
    root = rng.randint(36, 72)
    dur = rng.uniform(0.3, 2.0)
    chord = [root] if rng.random() < 0.6 else [root, root + rng.choice((3, 4)), root + 7]
    events = [(0.0, dur, 0, p, rng.randint(70, 120)) for p in chord]
    return events, {0: program}, dur + rng.uniform(0.2, 0.8), f"{NOTE_NAMES[root % 12]}{root // 12 - 1}"


def make_items(n_per_kind: int, seed: int, kinds=KINDS) -> list[tuple[Item, list, dict]]:
    rng = random.Random(seed)
    out = []
    for kind in kinds:
        for j in range(n_per_kind):
            style = rng.choice(STYLES)
            tonic = rng.randrange(12)
            mode = rng.choice(("major", "minor"))
            key = f"{NOTE_NAMES[tonic]} {mode}"
            bpm = float(rng.choice(range(70, 161, 2)))
            bars = rng.choice((1, 2, 4, 4, 8)) if kind != "full_mix" else rng.choice((2, 4, 8))
            s = rng.randrange(10_000)
            if kind == "one_shot":
                events, programs, seconds, note = _one_shot(rng)
                item = Item(f"{kind}_{seed}_{j}", kind, None, None, None, None, round(seconds, 4), note=note)
            else:
                events, programs, seconds = _events(rng, kind, style, key, bpm, bars, s)
                item = Item(f"{kind}_{seed}_{j}", kind, None if kind == "drum_loop" else key, bpm, bars, style,
                            round(seconds, 4))
            out.append((item, events, programs))
    return out


def loop_item(name: str, kind: str, key: str | None, bpm: float, bars: int, style: str, seed: int = 0,
              program: int | None = None) -> tuple[Item, list, dict]:
    """One loop of a kind, as make_items makes them, with everything chosen by the caller."""
    rng = random.Random(seed)
    events, programs, seconds = _events(rng, kind, style, key or "C major", bpm, bars, seed)
    if program is not None:
        programs = {ch: program for ch in programs}
    return Item(name, kind, key if kind != "drum_loop" else None, bpm, bars, style, round(seconds, 4)), events, programs


def render_items(items: list[tuple[Item, list, dict]], soundfont: str, rate: int = RATE) -> list[np.ndarray]:
    """Render every item in one FluidSynth run and cut each out: -> stereo float32 arrays, one per item."""
    import mido

    mid = mido.MidiFile(ticks_per_beat=1000)  # 60 BPM at 1000 ticks a beat: one tick is one millisecond
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=1_000_000, time=0))
    timeline: list[tuple[int, int, mido.Message]] = []
    starts, t0 = [], GAP_S
    for item, events, programs in items:
        starts.append(t0)
        base = int(round(t0 * 1000))
        for ch in range(16):
            timeline.append((base - 5, 0, mido.Message("control_change", channel=ch, control=121, value=0)))
        for ch, prog in programs.items():
            timeline.append((base - 4, 1, mido.Message("program_change", channel=ch, program=prog)))
        for start, dur, ch, pitch, vel in events:
            on = base + int(round(start * 1000))
            off = base + int(round((start + dur) * 1000))
            timeline.append((on, 3, mido.Message("note_on", channel=ch, note=pitch, velocity=vel)))
            timeline.append((max(on + 1, off), 2, mido.Message("note_off", channel=ch, note=pitch, velocity=0)))
        t0 += item.seconds + GAP_S
        end = int(round((t0 - 0.05) * 1000))
        for ch in range(16):
            timeline.append((end, 0, mido.Message("control_change", channel=ch, control=120, value=0)))
    timeline.sort(key=lambda e: (e[0], e[1]))
    now = 0
    for tick, _, msg in timeline:
        track.append(msg.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=1000))
    with tempfile.TemporaryDirectory() as tmp:
        mp, wp = Path(tmp) / "batch.mid", Path(tmp) / "batch.wav"
        mid.save(mp)
        subprocess.run(["fluidsynth", "-ni", "-q", "-g", "0.5", "-r", str(rate), "-O", "s16", "-T", "wav",
                        "-F", str(wp), soundfont, str(mp)], check=True, capture_output=True)
        with wave.open(str(wp)) as w:
            audio = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, w.getnchannels())
    audio = audio.astype(np.float32) / 32768.0
    out = []
    for (item, _, _), start in zip(items, starts):
        a, b = int(round(start * rate)), int(round((start + item.seconds) * rate))
        seg = audio[a:b].copy()
        fade = min(len(seg), int(0.005 * rate))
        if fade:
            seg[-fade:] *= np.linspace(1.0, 0.0, fade)[:, None]
        out.append(seg)
    return out


def wav_bytes(stereo: np.ndarray, rate: int = RATE) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(stereo.shape[1])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(stereo, -1, 1) * 32767).astype("<i2").tobytes())
    return buf.getvalue()


def midi_file(item: Item, events: list, programs: dict) -> bytes:
    """The item as a standard MIDI file at its own tempo (480 ticks a beat)."""
    import mido

    mid = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(item.tempo or 120.0), time=0))
    track.append(mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0))
    spb = 60.0 / (item.tempo or 120.0)
    timeline = [(0, 0, mido.Message("program_change", channel=ch, program=p)) for ch, p in programs.items()]
    for start, dur, ch, pitch, vel in events:
        on = int(round(start / spb * 480))
        off = max(on + 1, int(round((start + dur) / spb * 480)))
        timeline.append((on, 2, mido.Message("note_on", channel=ch, note=pitch, velocity=vel)))
        timeline.append((off, 1, mido.Message("note_off", channel=ch, note=pitch, velocity=0)))
    timeline.sort(key=lambda e: (e[0], e[1]))
    now = 0
    for tick, _, msg in timeline:
        track.append(msg.copy(time=tick - now))
        now = tick
    end = int(round(item.seconds / spb * 480))
    track.append(mido.MetaMessage("end_of_track", time=max(0, end - now)))
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()


def write_library(folder: Path, *, n_audio_per_kind: int, n_midi_per_kind: int, seed: int,
                  soundfonts: list[str] | None = None) -> list[dict]:
    """Write a library of numbered files (names say nothing: the analysis is what is measured) and truth.json
    beside it. -> the truth, one dict per file."""
    folder.mkdir(parents=True, exist_ok=True)
    fonts = soundfonts or list(available_soundfonts())
    truth = []
    audio = make_items(n_audio_per_kind, seed)
    per_font = [audio[i::len(fonts)] for i in range(len(fonts))]
    for font, items in zip(fonts, per_font):
        for (item, _, _), stereo in zip(items, render_items(items, SOUNDFONTS[font])):
            name = f"a{len(truth):04d}.wav"
            (folder / name).write_bytes(wav_bytes(stereo))
            truth.append(dict(asdict(item), file=name, soundfont=font, format="audio"))
    midi = make_items(n_midi_per_kind, seed + 1, kinds=("drum_loop", "melodic", "bass", "chords", "full_mix"))
    for item, events, programs in midi:
        name = f"m{len(truth):04d}.mid"
        (folder / name).write_bytes(midi_file(item, events, programs))
        truth.append(dict(asdict(item), file=name, format="midi"))
    (folder / "truth.json").write_text(json.dumps(truth, indent=1))
    return truth
