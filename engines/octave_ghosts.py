"""Octave ghosts in a band's transcription, decided by ear: a note the network found an octave, a twelfth or two
octaves from another sounding note may be a real note (a doubled chord tone, an octave bass line) or only a
partial of its partner (an organ's 16-foot stop an octave under a chord, a bass's second harmonic above it).
A small trained classifier (models/octave_ghosts.py) hears each such note — how loud it is beside its partner,
whether they start and end together, the onset head at its start, and whether the spectrum has energy that the
partner's harmonics alone would not put there — and the ghosts are dropped.

On the transcription bench's band mixes (a soundfont the classifier never heard) see docs/benchmarks.md.
"""

from __future__ import annotations

import bisect
import functools
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from liveloom.engines.line_reattacks import N_FFT, Spectrum
from liveloom.engines.transcription import HOP, MIDI_OFFSET, SR, NoteEvent, ended_at, frames_to_time
from liveloom.music.errors import Cancelled

if TYPE_CHECKING:
    import numpy as np

    from liveloom.models.octave_ghosts import GhostModel

INTERVALS = (12, 19, 24)  # semitones: an octave, a twelfth, two octaves (the 2nd, 3rd and 4th harmonics)
RATIO = {12: 2, 19: 3, 24: 4}  # the upper note's frequency over the lower one's
START_SLACK_S = 0.05  # a partner starts at most this long after the note
HEAR_S = 0.25  # the spectrum is read over the note's first quarter second
LINE_S = 2.0  # a bass line's neighbours: notes starting this close


def near_starts(events: list[NoteEvent]) -> list[list[int]]:
    """Per note i: the notes (i included) that still sound when it starts and began before it or at most
    START_SLACK_S after — one sweep over the notes by start (a song's worth in milliseconds)."""
    order = sorted(range(len(events)), key=lambda i: events[i].start)
    out: list[list[int]] = [[] for _ in events]
    active: list[int] = []
    pos = 0
    for i in order:
        t = events[i].start
        while pos < len(order) and events[order[pos]].start <= t + START_SLACK_S:
            active.append(order[pos])
            pos += 1
        active = [j for j in active if events[j].end > t]
        out[i] = list(active)
    return out


def partners(events: list[NoteEvent], near: list[list[int]] | None = None) -> dict[int, int]:
    """Note index -> the index of its loudest partner: a note an octave, a twelfth or two octaves away that sounds
    when it starts (started before it, or at most START_SLACK_S after, and still sounding 30 ms in)."""
    near = near_starts(events) if near is None else near
    out: dict[int, int] = {}
    for i, ev in enumerate(events):
        found = [j for j in near[i] if j != i and abs(events[j].pitch - ev.pitch) in INTERVALS
                 and events[j].end >= ev.start + 0.03]
        if found:
            out[i] = max(found, key=lambda j: (events[j].amplitude, -j))
    return out


def harmonic_levels(mag, pitch: int, count: int = 8):
    """The level of a pitch's first `count` harmonics (each the strongest of its three nearest bins), averaged over
    the frames of `mag` — (count,)."""
    import numpy as np

    f0 = 440.0 * 2 ** ((pitch - 69) / 12)
    out = np.zeros(count, dtype=np.float64)
    for h in range(1, count + 1):
        b = int(round(f0 * h * N_FFT / SR))
        if b + 1 < mag.shape[0] and mag.shape[1]:
            out[h - 1] = float(mag[max(0, b - 1):b + 2].max(axis=0).mean())
    return out


def ghost_features(events: list[NoteEvent], i: int, j: int, heard_from: Callable[[int], np.ndarray], output: dict,
                   times, sounding: list[int], line: int, since: list[float]) -> np.ndarray:
    """The classifier's features (models.octave_ghosts.FEATURES) for note i beside its partner j;
    `heard_from(frame)`: the magnitude spectrum over HEAR_S from that STFT frame."""
    import numpy as np

    ev, other = events[i], events[j]
    interval = ev.pitch - other.pitch
    low, high = (other, ev) if interval > 0 else (ev, other)
    k = RATIO[abs(interval)]
    levels = harmonic_levels(heard_from(int(round(ev.start * SR / HOP)) + 1), low.pitch)
    shared = levels[k - 1::k].sum() + 1e-6  # where the upper note's harmonics fall
    own = levels.sum() - shared + 2e-6  # the lower note's other harmonics
    fundamental = levels[0] + 1e-6
    upper_f0 = levels[k - 1] + 1e-6
    frames = output["note"].shape[0]
    f = min(max(int(np.searchsorted(times, ev.start)), 4), frames - 5)
    g = min(max(int(np.searchsorted(times, min(ev.end, ev.start + HEAR_S))), f + 1), frames)

    def head(name: str, pitch: int, a: int, b: int, fn=np.mean) -> float:
        p = pitch - MIDI_OFFSET
        return float(fn(output[name][a:b, p])) if 0 <= p < output[name].shape[1] and b > a else 0.0

    level, level_partner = head("note", ev.pitch, f, g), head("note", other.pitch, f, g)
    gap = ev.start - other.start
    onehot = [float(interval == s * d) for d in (1, -1) for s in INTERVALS]
    return np.array([
        *onehot, (ev.pitch - 60) / 12, (other.pitch - 60) / 12,
        ev.amplitude, other.amplitude, np.log((ev.amplitude + 1e-3) / (other.amplitude + 1e-3)),
        np.log((level + 1e-3) / (level_partner + 1e-3)),
        max(-0.5, min(0.5, gap)), float(abs(gap) < 0.05), float(abs(ev.end - other.end) < 0.06),
        np.log(max(0.02, ev.end - ev.start)), np.log(max(0.02, other.end - other.start)),
        head("onset", ev.pitch, f - 3, f + 4, np.max), head("onset", other.pitch, f - 3, f + 4, np.max),
        np.log10(shared / own), np.log10(upper_f0 / fundamental), np.log1p(len(sounding)),
        np.log1p(sum(1 for q in sounding if q < ev.pitch)), float(other.pitch == min(sounding, default=other.pitch)),
        np.log1p(line), since[i], since[j],
    ], dtype=np.float64)


SINCE_CAP_S = 0.5  # since_same: no note of the pitch ended in the last half second
JOIN_GAP_S = 1.5 * HOP / SR  # a ghost starting this soon after its pitch's note ended is that note split: joined


def previous_of_pitch(events: list[NoteEvent]) -> list[int | None]:
    """Per note: the earlier note of its pitch that ends last (None when it is its pitch's first)."""
    out: list[int | None] = [None] * len(events)
    last: dict[int, int] = {}
    for i in sorted(range(len(events)), key=lambda k: (events[k].pitch, events[k].start)):
        ev = events[i]
        out[i] = last.get(ev.pitch)
        if out[i] is None or ev.end > events[out[i]].end:
            last[ev.pitch] = i
    return out


def since_same(events: list[NoteEvent], previous: list[int | None]) -> list[float]:
    """Per note: seconds since the previous note of its pitch ended (0 when it ends at or after this one's start,
    SINCE_CAP_S when none ended within that) — a note the network split at another note's attack (a held chord
    tone heard again at the bass's second harmonic) starts where its own first part ends."""
    return [SINCE_CAP_S if p is None else min(SINCE_CAP_S, max(0.0, ev.start - events[p].end))
            for ev, p in zip(events, previous)]


def sounding_at(events: list[NoteEvent], near: list[list[int]], i: int) -> list[int]:
    """The pitches of the notes sounding when note i starts (itself and those starting within 30 ms included)."""
    t = events[i].start
    return [events[j].pitch for j in near[i] if events[j].start <= t + 0.03]


def line_neighbours(events: list[NoteEvent], starts: list[float], order: list[int], lowest: list[bool],
                    i: int) -> int:
    """How many other notes within LINE_S of note i's start, within a fourth of its pitch, were the lowest sounding
    when they started: the rest of a bass line around a bass note. `order`: the notes by start, `starts` theirs."""
    ev = events[i]
    a, b = bisect.bisect_left(starts, ev.start - LINE_S), bisect.bisect_right(starts, ev.start + LINE_S)
    return sum(1 for k in order[a:b] if k != i and lowest[k] and abs(events[k].pitch - ev.pitch) <= 5)


def candidate_features(events: list[NoteEvent], output: dict, y, cancel: threading.Event | None = None):
    """(indices of notes with a partner, their feature rows) — ([], None) when none has one."""
    import numpy as np

    near = near_starts(events)
    pairs = partners(events, near)
    if not pairs:
        return [], None
    spectrum = Spectrum(y, cancel, flux=False)
    if cancel is not None and cancel.is_set():
        raise Cancelled()
    span = max(2, int(HEAR_S * SR / HOP))
    heard_from = functools.lru_cache(maxsize=256)(lambda a: spectrum.frames(a, a + span))  # a pair shares a start
    times = np.asarray(frames_to_time(output["note"].shape[0]))
    sounding = [sounding_at(events, near, i) for i in range(len(events))]
    lowest = [ev.pitch <= min(sounding[i]) for i, ev in enumerate(events)]
    order = sorted(range(len(events)), key=lambda i: events[i].start)
    starts = [events[i].start for i in order]
    since = since_same(events, previous_of_pitch(events))
    at = sorted(pairs)
    rows = []
    for n, i in enumerate(at):
        if cancel is not None and n % 64 == 0 and cancel.is_set():
            raise Cancelled()
        rows.append(ghost_features(events, i, pairs[i], heard_from, output, times, sounding[i],
                                   line_neighbours(events, starts, order, lowest, i), since))
    return at, np.stack(rows)


def drop_ghosts(events: list[NoteEvent], output: dict, y, model: GhostModel | None = None,
                cancel: threading.Event | None = None) -> list[NoteEvent]:
    """`events` without the notes the classifier hears as an octave ghost of a partner — a ghost that starts where
    a note of its pitch ends (JOIN_GAP_S) is that note split, and lengthens it instead; `y`: the audio they were
    transcribed from (mono, 22,050 Hz). Raises Cancelled soon after `cancel` is set."""
    from liveloom.models import octave_ghosts

    at, x = candidate_features(events, output, y, cancel)
    if not at:
        return events
    model = model or octave_ghosts.load()
    ghost = {i for i, p in zip(at, model.probabilities(x)) if p >= model.threshold}
    previous = previous_of_pitch(events)
    ends = {i: ev.end for i, ev in enumerate(events)}
    for i in sorted(ghost, key=lambda k: events[k].start):
        p = previous[i]
        while p is not None and p in ghost and events[i].start - ends[p] <= JOIN_GAP_S:
            p = previous[p]  # that one was a split part too: the note it belongs to
        if p is not None and p not in ghost and events[i].start - ends[p] <= JOIN_GAP_S:
            ends[p] = max(ends[p], events[i].end)
            ends[i] = ends[p]  # a later part of the same note reaches back through this one
    return [ev if ends[i] == ev.end else ended_at(ev, ends[i]) for i, ev in enumerate(events) if i not in ghost]
