"""How well parts fit and how a line is built, as numbers: the listening panel's measures (bench/musicality.py)
and the properties the tests hold the composers to.

Each function takes plain notes (and a bar length in beats) and returns a share in 0..1 or a plain number; an
empty input gives `nan` rather than a flattering 1.0, so a part that says nothing is never counted as fitting.
"""

from __future__ import annotations

import math
import statistics

from .analysis import label_chord
from .types import Note

EPS = 1e-6


def _sounding(notes: list[Note], t: float) -> list[Note]:
    return [n for n in notes if n.start - EPS <= t < n.end - EPS and not n.mute]


def _comp_root(comp: list[Note], t: float, span: float) -> int | None:
    """The root of the chord the comping plays in [t, t + span) (duration-weighted template match)."""
    weights = [0.0] * 12
    for n in comp:
        if n.mute:
            continue
        a, b = max(n.start, t), min(n.end, t + span)
        if b > a + EPS:
            weights[n.pitch % 12] += b - a
    labelled = label_chord(weights, None) if any(weights) else None
    return labelled[0].root if labelled else None


def bass_root_agreement(bass: list[Note], comp: list[Note], bar: float, planned=None) -> float:
    """The share of the bass's notes on each bar's downbeat (and at each change of the comping's chord within
    the bar, on a beat) that play the root of the chord the comping sounds there — or, where the piece has a
    written plan (`planned(t)` -> the planned chord's root and slash bass, as pitch classes), one of those (a
    sus2 or add9 voicing can read as another root from its notes alone)."""
    hits = total = 0
    onsets = sorted({round(n.start, 6) for n in bass if not n.mute})
    prev_root = None
    for t in onsets:
        downbeat = abs(t / bar - round(t / bar)) < EPS
        on_beat = abs(t - round(t)) < EPS
        if not on_beat:
            continue
        root = _comp_root(comp, t, 1.0)
        if root is None:
            continue
        if not downbeat and root == prev_root:
            continue
        prev_root = root
        b = min(n.pitch for n in bass if abs(n.start - t) < EPS and not n.mute) % 12
        total += 1
        want = {root} | (set(planned(t)) if planned is not None else set())
        hits += b in want
    return hits / total if total else math.nan


def strong_beat_clash(line: list[Note], comp: list[Note], bar: float) -> float:
    """The share of the line's notes on strong beats (the bar's first beat and its middle, in 4/4) whose pitch
    class the comping does not sound at that moment."""
    hits = total = 0
    for n in line:
        pos = n.start % bar
        if not (pos < EPS or abs(pos - bar / 2) < EPS and round(bar) % 2 == 0):
            continue
        pcs = {m.pitch % 12 for m in _sounding(comp, n.start)}
        if not pcs:
            continue
        total += 1
        hits += n.pitch % 12 not in pcs
    return hits / total if total else math.nan


def lead_above(lead: list[Note], comp: list[Note]) -> tuple[float, float]:
    """(share of the lead's notes strictly above every comping note sounding at their onset, share that double
    a comping note in unison). Lead notes with nothing under them count as above."""
    above = unison = 0
    sounding = [n for n in lead if not n.mute]
    for n in sounding:
        under = [m.pitch for m in _sounding(comp, n.start)]
        above += not under or n.pitch > max(under)
        unison += n.pitch in under
    k = len(sounding)
    return (above / k, unison / k) if k else (math.nan, math.nan)


def _bar_cells(notes: list[Note], bar: float, bars: int, span: int) -> list[tuple[tuple, tuple]]:
    """Per window of `span` bars: (onset positions, pitches relative to the window's first note)."""
    out = []
    for w in range(bars // span):
        t0, t1 = w * span * bar, (w + 1) * span * bar
        inside = sorted((n for n in notes if t0 - EPS <= n.start < t1 - EPS and not n.mute),
                        key=lambda n: (n.start, -n.pitch))
        onsets = tuple(round(n.start - t0, 3) for n in inside)
        first = inside[0].pitch if inside else 0
        out.append((onsets, tuple(n.pitch - first for n in inside)))
    return out


def idea_repeat_rate(melody: list[Note], bar: float, bars: int, span: int = 2) -> float:
    """The share of `span`-bar windows (after the first) that restate an earlier window's idea: the same
    rhythm and at least three quarters of the same melodic shape (pitches relative to the first note, so a
    sequence — the idea moved to another step — counts, as a listener hears it)."""
    cells = _bar_cells(melody, bar, bars, span)
    if len(cells) < 2:
        return math.nan
    hits = 0
    for i in range(1, len(cells)):
        rhythm, shape = cells[i]
        if not rhythm:
            continue
        for r2, s2 in cells[:i]:
            if r2 == rhythm and sum(a == b for a, b in zip(shape, s2)) >= 0.75 * len(shape):
                hits += 1
                break
    return hits / (len(cells) - 1)


def rhythm_repeat_rate(melody: list[Note], bar: float, bars: int) -> float:
    """The share of bars (after the first) whose onsets are exactly those of an earlier bar (a rhythm the
    listener has heard before)."""
    cells = _bar_cells(melody, bar, bars, 1)
    if len(cells) < 2:
        return math.nan
    return sum(any(cells[i][0] == c[0] for c in cells[:i]) for i in range(1, len(cells))) / (len(cells) - 1)


def pitch_range(melody: list[Note]) -> float:
    pitches = [n.pitch for n in melody if not n.mute]
    return max(pitches) - min(pitches) if pitches else math.nan


def velocity_sd(notes: list[Note]) -> float:
    v = [n.velocity for n in notes if not n.mute]
    return statistics.pstdev(v) if len(v) > 1 else math.nan


def distinct_bars(notes: list[Note], bar: float, bars: int) -> int:
    """How many different bar patterns (drum pitch and onset sets, on a 1/24-beat grid so that micro-timing
    does not make copies look different) the part plays."""
    seen = set()
    for b in range(bars):
        seen.add(tuple(sorted({(n.pitch, round((n.start - b * bar) * 24)) for n in notes
                               if b * bar - 0.02 <= n.start < (b + 1) * bar - 0.02})))
    return len(seen)


def rolls(notes: list[Note], pitches: set[int], finer_than: float = 0.25) -> int:
    """Strokes on `pitches` that follow the previous one on those pitches sooner than `finer_than` beats
    (32nd notes, sixteenth triplets: hi-hat rolls)."""
    t = sorted({round(n.start, 6) for n in notes if n.pitch in pitches and not n.mute})
    return sum(1 for a, b in zip(t, t[1:]) if b - a < finer_than - EPS)


def off_grid_share(notes: list[Note], grid: float = 0.25, tolerance: float = 0.01) -> float:
    """The share of onsets further than `tolerance` beats (5 ms at 120 BPM) from the `grid` (micro-timing,
    swing)."""
    t = [n.start for n in notes if not n.mute]
    if not t:
        return math.nan
    return sum(abs(x / grid - round(x / grid)) * grid > tolerance for x in t) / len(t)


def density(notes: list[Note], length: float, bar: float) -> float:
    """Onsets per bar."""
    onsets = {round(n.start, 4) for n in notes if not n.mute}
    return len(onsets) / max(EPS, length / bar)
