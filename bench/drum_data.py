"""Drum grooves with known hits, rendered through General MIDI soundfonts and roughened the way recordings are —
the data the drum transcription model learns from and is measured on.

Grooves: liveloom's drum parts in every style of the library (random tempos 70-170, 2-4 bars), with what a
drummer adds that the parts rarely have: tom fills, crashes on the one, the ride instead of the hats, open hats.
Each is rendered through one soundfont (batched: bench/library_data.render_items), half of them under a bass and
chords part in the same soundfont, then augmented: gain, a tilt EQ, room reverb, soft-clip compression, noise, and
a speed change (pitch and tempo together; the labels follow).
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import library_data as data  # noqa: E402

from liveloom.engines.generation import compose  # noqa: E402
from liveloom.models import drum_transcriber as dt  # noqa: E402

STYLES = ("pop", "house", "trap", "lofi", "funk", "rock", "jazz", "folk", "bossa", "ambient", "chorale")
TOMS = (41, 43, 45, 47, 48, 50)


@dataclass
class Groove:
    item: data.Item
    events: list  # (seconds, duration, channel, pitch, velocity)
    backing: tuple[data.Item, list, dict] | None


def groove(rng: random.Random, name: str) -> Groove:
    style = rng.choice(STYLES)
    bpm = float(rng.randrange(70, 171))
    bars = rng.choice((2, 3, 4))
    spb = 60.0 / bpm
    clip = compose("drums", bars=bars, tempo=bpm, style=style, seed=rng.randrange(100_000), engine="theory",
                   energy=rng.uniform(0.3, 1.0), density=rng.uniform(0.3, 0.9)).clip
    hits = [(n.start, n.pitch, n.velocity) for n in clip.notes if n.start < clip.length]
    bar = 4.0
    if rng.random() < 0.4:  # the ride instead of the hats
        hits = [(t, 51 if p in (42, 44) else p, v) for t, p, v in hits]
    if rng.random() < 0.3:
        hits = [(t, 46 if p == 42 and rng.random() < 0.25 else p, v) for t, p, v in hits]
    if rng.random() < 0.6:  # a crash on the one of some bars
        for b in range(bars):
            if b == 0 or rng.random() < 0.3:
                hits.append((b * bar, rng.choice((49, 49, 57, 55, 52)), rng.randint(90, 127)))
    if rng.random() < 0.6:  # a tom fill in the last bar's second half
        start = (bars - 1) * bar + 2.0
        step = rng.choice((0.25, 0.5, 1 / 3))
        t = start
        toms = sorted(rng.sample(TOMS, 3), reverse=True)
        hits = [h for h in hits if h[0] < start or h[1] in (35, 36)]
        while t < bars * bar - 1e-6:
            hits.append((t, toms[min(2, int(3 * (t - start) / 2.0))], rng.randint(70, 120)))
            t += step
    if rng.random() < 0.25:  # a hand clap or side stick doubling the snare
        hits += [(t, rng.choice((39, 37)), v) for t, p, v in hits if p in (38, 40) and rng.random() < 0.7]
    events = [(t * spb, 0.1, 9, p, max(1, min(127, v + rng.randint(-10, 10)))) for t, p, v in sorted(set(hits))]
    seconds = bars * bar * spb + 1.0  # the last hits ring out
    item = data.Item(name, "drum_loop", None, bpm, bars, style, round(seconds, 4))
    backing = None
    if rng.random() < 0.5:
        key = f"{data.NOTE_NAMES[rng.randrange(12)]} {rng.choice(('major', 'minor'))}"
        b_events, programs, _ = data._events(rng, "full_mix", style, key, bpm, bars, rng.randrange(10_000))
        b_events = [e for e in b_events if e[2] != 9]
        backing = (data.Item(name + "_backing", "full_mix", key, bpm, bars, style, round(seconds, 4)), b_events,
                   {ch: p for ch, p in programs.items() if ch != 9})
    return Groove(item, events, backing)


def labels(events: list, scale: float = 1.0) -> list[tuple[float, int, int]]:
    """(seconds, class, velocity) of each hit the classes cover."""
    out = []
    for t, _, _, pitch, vel in events:
        c = dt.GM_TO_CLASS.get(pitch)
        if c is not None:
            out.append((t * scale, c, vel))
    return out


def augment(rng: random.Random, y: np.ndarray, rate: int) -> tuple[np.ndarray, float]:
    """-> (audio, time scale of the labels)."""
    import scipy.signal as ss

    scale = 1.0
    if rng.random() < 0.5:  # speed: pitch and tempo together
        f = rng.uniform(0.92, 1.08)
        n = int(round(len(y) / f))
        y = ss.resample(y, n).astype(np.float32)
        scale = 1.0 / f
    if rng.random() < 0.6:  # tilt EQ: a low or high shelf
        cutoff = rng.uniform(300, 4000)
        b, a = ss.butter(1, cutoff / (rate / 2), btype=rng.choice(("low", "high")))
        y = (y + rng.uniform(-0.6, 0.8) * ss.lfilter(b, a, y)).astype(np.float32)
    if rng.random() < 0.5:  # room reverb: exponentially decaying noise
        length = rng.uniform(0.2, 1.2)
        n = int(length * rate)
        ir = np.random.default_rng(rng.randrange(1 << 30)).standard_normal(n) * np.exp(-6.9 * np.arange(n) / n)
        wet = ss.fftconvolve(y, ir.astype(np.float32))[: len(y)]
        wet /= np.abs(wet).max() + 1e-9
        y = (y + rng.uniform(0.05, 0.35) * wet * np.abs(y).max()).astype(np.float32)
    if rng.random() < 0.4:  # compression: a soft clip driven
        drive = rng.uniform(1.5, 6.0)
        y = (np.tanh(drive * y / (np.abs(y).max() + 1e-9)) / np.tanh(drive)).astype(np.float32)
    if rng.random() < 0.5:
        y = y + (10 ** (rng.uniform(-55, -30) / 20) * np.random.default_rng(rng.randrange(1 << 30))
                 .standard_normal(len(y))).astype(np.float32)
    y = y / (np.abs(y).max() + 1e-9) * 10 ** (rng.uniform(-20, -1) / 20)
    return y.astype(np.float32), scale


def render(grooves: list[Groove], font: str, rate: int = dt.SR) -> list[np.ndarray]:
    """Mono audio at the model's rate, each groove with its backing mixed in at a random level."""
    rng = random.Random(len(grooves))
    kit_only = font.startswith("avl")  # the AVL acoustic kits: one preset (bank 0, program 0), no other sounds
    if kit_only:
        items = [(g.item, [(t, d, 0, 36 if p == 35 else p, v) for t, d, _, p, v in g.events], {0: 0})
                 for g in grooves]
    else:
        items = [(g.item, g.events, {}) for g in grooves]
    drums = data.render_items(items, data.SOUNDFONTS[font], rate=rate)
    with_backing = [g for g in grooves if g.backing and not kit_only]
    backs = data.render_items([g.backing for g in with_backing], data.SOUNDFONTS[font], rate=rate) \
        if with_backing else []
    back_of = {id(g): b for g, b in zip(with_backing, backs)}
    out = []
    for g, d in zip(grooves, drums):
        y = d.mean(axis=1)
        if id(g) in back_of:
            b = back_of[id(g)].mean(axis=1)
            n = min(len(y), len(b))
            level = 10 ** (rng.uniform(-12, 0) / 20) * (np.abs(y).max() + 1e-9) / (np.abs(b).max() + 1e-9)
            y = y[:n] + level * b[:n]
        out.append(y.astype(np.float32))
    return out
