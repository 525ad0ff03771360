"""Symbolic analysis: key, chords, rhythm and groove, structure, and MusPy-style descriptors.

Pure functions over `Note`s in beats. These are deterministic algorithms, not learned models:
key finding correlates a duration-weighted pitch-class histogram with published key profiles
(Krumhansl-Kessler, Temperley-Kostka-Payne, Aarden-Essen, Bellman-Budge) and can add a cadence
prior (pieces end on their tonic); chords are template matches per span.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from .errors import LiveloomError, NotationError
from .harmony import ChordEvent
from .theory import SCALES, ChordSpec, Key, chord_name, parse_key
from .types import PITCH_CLASS_NAMES, Clip, Note, Song, TimeSignature, pitch_name, round_up_to_bar

PROFILES: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "krumhansl": ((6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88),
                  (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)),
    "temperley": ((0.748, 0.060, 0.488, 0.082, 0.670, 0.460, 0.096, 0.715, 0.104, 0.366, 0.057, 0.400),
                  (0.712, 0.084, 0.474, 0.618, 0.049, 0.460, 0.105, 0.747, 0.404, 0.067, 0.133, 0.330)),
    "aarden": ((17.7661, 0.145624, 14.9265, 0.160186, 19.8049, 11.3587, 0.291248, 22.062, 0.145624, 8.15494,
                0.232998, 4.95122),
               (18.2648, 0.737619, 14.0499, 16.8599, 0.702494, 14.4362, 0.702494, 18.6161, 4.56621, 1.93186,
                7.37619, 1.75623)),
    "bellman": ((16.8, 0.86, 12.95, 1.41, 13.49, 11.93, 1.25, 20.28, 1.8, 8.04, 0.62, 10.57),
                (18.16, 0.69, 12.99, 13.34, 1.07, 11.15, 1.38, 21.07, 7.49, 1.53, 0.92, 10.21)),
}
# Flat names for keys on the flat side, sharps for the sharp side (as key signatures spell them).
MAJOR_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MINOR_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")
# A moderate cadence prior. On the first half of the Bach chorales a larger weight (0.3) scores best
# (bench/analysis_bench.py), but producers' clips are often loops that do not end on their tonic.
CADENCE_WEIGHT = 0.1


def key_label(tonic: int, minor: bool) -> str:
    return f"{(MINOR_NAMES if minor else MAJOR_NAMES)[tonic % 12]} {'minor' if minor else 'major'}"


def pc_histogram(notes: list[Note] | list[tuple[int, float, float]]) -> list[float]:
    """Duration-weighted pitch-class histogram (unmuted notes)."""
    h = [0.0] * 12
    for n in notes:
        if isinstance(n, Note):
            if n.mute:
                continue
            h[n.pitch % 12] += n.duration
        else:
            h[int(n[0]) % 12] += float(n[2])
    return h


def _corr(x: list[float], y: tuple[float, ...]) -> float:
    mx, my = sum(x) / 12, sum(y) / 12
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
    sxx = math.sqrt(sum((a - mx) ** 2 for a in x))
    syy = math.sqrt(sum((b - my) ** 2 for b in y))
    return sxy / (sxx * syy) if sxx and syy else 0.0


def key_correlations(hist: list[float], profile: str = "aarden") -> list[tuple[float, int, bool]]:
    """[(correlation, tonic, minor)] for all 24 keys, best first."""
    if profile not in PROFILES:
        raise ValueError(f"unknown key profile {profile!r}; use one of {', '.join(PROFILES)}")
    major, minor = PROFILES[profile]
    out = []
    for tonic in range(12):
        rotated = hist[tonic:] + hist[:tonic]
        out.append((_corr(rotated, major), tonic, False))
        out.append((_corr(rotated, minor), tonic, True))
    out.sort(key=lambda t: -t[0])
    return out


@dataclass
class KeyEstimate:
    key: str
    tonic: int
    minor: bool
    score: float
    confidence: float  # 0..1: how far ahead of the runner-up
    runners_up: list[tuple[str, float]]
    method: str


def estimate_key(notes, profile: str = "aarden", cadence: bool = True, final_bass: int | None = None) -> KeyEstimate:
    """The key of `notes`. With `cadence`, keys whose tonic is the final bass note get a bonus
    (tonal pieces end on their tonic)."""
    hist = pc_histogram(notes)
    if sum(hist) == 0:
        raise ValueError("no sounding notes to find a key in")
    scores = key_correlations(hist, profile)
    if cadence:
        if final_bass is None:
            final_bass = _final_bass(notes)
        if final_bass is not None:
            scores = sorted(((c + (CADENCE_WEIGHT if t == final_bass % 12 else 0.0), t, m) for c, t, m in scores),
                            key=lambda s: -s[0])
    best, second = scores[0], scores[1]
    confidence = max(0.0, min(1.0, (best[0] - second[0]) * 5))
    return KeyEstimate(key=key_label(best[1], best[2]), tonic=best[1], minor=best[2], score=round(best[0], 4),
                       confidence=round(confidence, 3),
                       runners_up=[(key_label(t, m), round(c, 4)) for c, t, m in scores[1:4]],
                       method=f"{profile}{' + cadence' if cadence else ''}")


def estimate_key_of_loop(notes: list[Note], bar: float, profile: str = "aarden",
                         bar_chords: list[dict] | None = None) -> KeyEstimate:
    """The key of harmonic material that need not end on its tonic (a producer's loop, a section): the profile
    correlation plus the harmony's own evidence — the chords read from the notes per bar (the first bar's, how many
    lie in the key's scale) and the last sonority."""
    return key_of_harmony(*loop_evidence(notes, bar, bar_chords), profile)


def loop_evidence(notes: list[Note], bar: float, bar_chords: list[dict] | None = None
                  ) -> tuple[list[float], list[ChordSpec], ChordSpec | None]:
    """What a loop's key is read from: its pitch-class histogram, its chords per bar (those that fit the notes)
    and its last sonority's chord."""
    hist = pc_histogram(notes)
    if sum(hist) == 0:
        raise ValueError("no sounding notes to find a key in")
    if bar_chords is None:
        bar_chords = chords_by_span(notes, bar, max(n.end for n in notes))
    return hist, [c["spec"] for c in bar_chords if c["fit"] >= 0.5], last_chord(notes)


def last_chord(notes: list[Note]) -> ChordSpec | None:
    """The last sonority's chord: a piece that ends on its tonic chord says so."""
    end = max(n.start for n in notes)
    last = [n for n in notes if n.start - 1e-6 <= end < n.end - 1e-6 or abs(n.start - end) < 1e-6]
    return label_chord([sum(1.0 for n in last if n.pitch % 12 == p) for p in range(12)],
                       min(n.pitch for n in last) % 12)[0] if last else None


# How much each piece of harmonic evidence adds to a key's profile correlation (key_of_harmony). Fitted
# (bench/loop_key_fit.py: accuracy searched on 528 arrangements and chord loops of the style library, seeds the
# analysis bench does not use, with the Bach chorales' key kept): loops keyed right 0.720 -> 0.830 (the search
# left one style out each time: 0.816), chorales 0.973 both. The share of bars on the tonic chord and the bass on the downbeats, tried beside these, were
# fitted to nothing: the chords' roots already say it, and loops that start on vi or IV mislead both.
HARMONY_WEIGHTS = {"first chord": 0.21, "last chord": 0.17, "chords in the scale": 0.56}
# the scale a chord must lie in to count: major, and minor with its raised seventh (V and vii° are minor's own)
_KEY_SCALES = {False: frozenset((0, 2, 4, 5, 7, 9, 11)), True: frozenset((0, 2, 3, 5, 7, 8, 10, 11))}


def harmony_evidence(hist: list[float], chords: list[ChordSpec], final: ChordSpec | None,
                     profile: str = "aarden") -> list[tuple[float, int, bool, dict[str, float]]]:
    """Per candidate key, [(profile correlation, tonic, minor, {evidence: value})]: a first chord on the tonic
    with the tonic's quality, the share of chords whose every tone lies in the key's scale, and a last chord on
    the tonic in root position — the terms HARMONY_WEIGHTS weighs."""
    out = []
    for corr, tonic, minor in key_correlations(hist, profile):
        third = 3 if minor else 4
        scale = _KEY_SCALES[minor]
        inside = (sum(all((p - tonic) % 12 in scale for p in c.pitch_classes) for c in chords) / len(chords)
                  if chords else 0.0)
        out.append((corr, tonic, minor, {
            "first chord": float(bool(chords) and chords[0].root == tonic and third in chords[0].intervals),
            "chords in the scale": inside,
            "last chord": float(final is not None and final.root == tonic == final.bass)}))  # a picardy third too
    return out


def key_of_harmony(hist: list[float], chords: list[ChordSpec], final: ChordSpec | None,
                   profile: str = "aarden") -> KeyEstimate:
    """The key of a loop or section: the profile correlation of its pitch-class histogram plus its harmony's
    evidence (harmony_evidence) weighed by HARMONY_WEIGHTS."""
    if sum(hist) == 0:
        raise ValueError("no sounding notes to find a key in")
    scores = sorted(((corr + sum(HARMONY_WEIGHTS[k] * v for k, v in ev.items()), tonic, minor)
                     for corr, tonic, minor, ev in harmony_evidence(hist, chords, final, profile)),
                    key=lambda x: -x[0])
    best, second = scores[0], scores[1]
    return KeyEstimate(key=key_label(best[1], best[2]), tonic=best[1], minor=best[2], score=round(best[0], 4),
                       confidence=round(max(0.0, min(1.0, (best[0] - second[0]) * 5)), 3),
                       runners_up=[(key_label(t, m), round(c, 4)) for c, t, m in scores[1:4]],
                       method=f"{profile} + chords (harmonic material)")


def _final_bass(notes) -> int | None:
    items = [(n.start, n.pitch) if isinstance(n, Note) else (n[1], n[0]) for n in notes
             if not (isinstance(n, Note) and n.mute)]
    if not items:
        return None
    last = max(s for s, _ in items)
    return min(p for s, p in items if abs(s - last) < 1e-6)


def windowed_keys(notes: list[Note], bar: float, window_bars: int = 4, hop_bars: int = 2,
                  profile: str = "aarden") -> list[dict]:
    """Key per window (without the cadence prior), to show modulations."""
    end = max((n.end for n in notes), default=0.0)
    n_bars = max(1, int(math.ceil(end / bar - 1e-9)))
    per_bar = []
    for k, inside in enumerate(overlapping(notes, bar, n_bars)):
        h = [0.0] * 12
        for n in inside:
            h[n.pitch % 12] += min(n.end, (k + 1) * bar) - max(n.start, k * bar)
        per_bar.append(h)
    out = []
    starts = list(range(0, max(1, n_bars - window_bars + 1), hop_bars))
    if n_bars > window_bars and starts[-1] + window_bars < n_bars:
        starts.append(n_bars - window_bars)  # a last full window ending at the last bar, not a partial one
    for first in starts:
        last = min(n_bars, first + window_bars)
        hist = [sum(per_bar[b][i] for b in range(first, last)) for i in range(12)]
        if sum(hist) > 0:
            best = key_correlations(hist, profile)[0]
            out.append({"start_bar": first + 1, "end_bar": last, "key": key_label(best[1], best[2]),
                        "score": round(best[0], 3)})
    return out


# ---------------------------------------------------------------- buckets (linear-time passes over spans)


def overlapping(notes, unit: float, count: int) -> list[list]:
    """For each span [k*unit, (k+1)*unit), the notes sounding in it."""
    out: list[list] = [[] for _ in range(count)]
    for n in notes:
        first = max(0, int(n.start // unit))
        last = min(count - 1, int(math.ceil(n.end / unit - 1e-9)) - 1)
        for k in range(first, last + 1):
            out[k].append(n)
    return out


def starting(notes, unit: float, count: int) -> list[list]:
    """For each span, the notes that start in it."""
    out: list[list] = [[] for _ in range(count)]
    for n in notes:
        k = int(n.start // unit)
        if 0 <= k < count:
            out[k].append(n)
    return out


# ---------------------------------------------------------------- chords

_TEMPLATES: dict[str, tuple[int, ...]] = {
    "": (0, 4, 7), "m": (0, 3, 7), "dim": (0, 3, 6), "aug": (0, 4, 8), "sus4": (0, 5, 7),
    "7": (0, 4, 7, 10), "maj7": (0, 4, 7, 11), "m7": (0, 3, 7, 10), "m7b5": (0, 3, 6, 10), "dim7": (0, 3, 6, 9),
}


def label_chord(weights: list[float], bass: int | None, extra_tone_penalty: float = 0.02
                ) -> tuple[ChordSpec, float] | None:
    """Best chord template for a duration-weighted pitch-class profile (root and quality). A larger
    `extra_tone_penalty` prefers triads (for audio, where overtones and noise smear the profile)."""
    total = sum(weights)
    if total <= 0:
        return None
    best = None
    for root, ivs, pcs in _ROOTED_TEMPLATES:
        inside = sum(weights[p] for p in pcs)
        outside = total - inside
        missing = sum(1 for p in pcs if weights[p] == 0)
        score = (inside - 0.6 * outside - 0.25 * total * missing / len(pcs)
                 - extra_tone_penalty * total * (len(pcs) - 3))
        if bass is not None and bass == root and not (missing and ivs == _TEMPLATES["dim7"]):
            score += 0.1 * total  # (a diminished seventh is symmetric: three of its tones are a diminished triad
            # on its own root, vii° rather than a seventh on the bass)
        if best is None or score > best[0]:
            best = (score, root, ivs, inside)
    _, root, ivs, inside = best
    spec = ChordSpec(root=root, intervals=tuple(ivs), bass=bass if bass is not None else root, symbol="")
    return spec, inside / total  # the share of the sounding music the chord explains


_ROOTED_TEMPLATES = [(root, ivs, tuple({(root + i) % 12 for i in ivs})) for root in range(12)
                     for ivs in _TEMPLATES.values()]

_ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII")


def roman_numeral(spec: ChordSpec, key: Key) -> str:
    """The chord's roman numeral in `key` (case by quality; b/# for chromatic roots)."""
    rel = (spec.root - key.tonic) % 12
    scale = SCALES["minor" if key.is_minor else "major"]
    if rel in scale:
        degree, acc = scale.index(rel), ""
    elif key.is_minor and rel == 11:
        degree, acc = 6, ""  # leading-tone chord in minor
    elif (rel + 1) % 12 in scale and rel != 6:
        degree, acc = scale.index((rel + 1) % 12), "b"  # bII, bIII, bVI, bVII
    else:
        degree, acc = scale.index((rel - 1) % 12), "#"  # #IV (as in #iv°)
    ivs = set(spec.intervals)
    numeral = _ROMAN[degree]
    if 3 in ivs and 4 not in ivs:
        numeral = numeral.lower()
    seventh = ""
    if ivs >= {3, 6} and 7 not in ivs:
        numeral = numeral.lower() + ("ø" if 10 in ivs else "o")
        seventh = "7" if 10 in ivs or 9 in ivs else ""
    elif ivs >= {4, 8}:
        numeral += "+"
        seventh = "7" if 10 in ivs else ""
    elif 10 in ivs or 11 in ivs:
        seventh = "maj7" if 11 in ivs and numeral.isupper() and degree != 4 else "7"
    # the inversion as figured bass: triads 6, 64; sevenths 7, 65, 43, 42 (the quality's "maj" goes with the
    # root-position figure only, as in the textbooks: IVmaj7, IV65)
    tones = sorted({i % 12 for i in spec.intervals if i < 12 or i % 12 in (10, 11)})
    low = (spec.bass - spec.root) % 12
    pos = tones.index(low) if spec.bass != spec.root and low in tones else 0
    if seventh:
        figure = {0: seventh, 1: "65", 2: "43", 3: "42"}.get(pos, seventh)
    else:
        figure = {1: "6", 2: "64"}.get(pos, "")
    return acc + numeral + figure


def chords_by_span(notes: list[Note], span: float, end: float, at_onset: bool = False) -> list[dict]:
    """One chord label per span of `span` beats (a bar, or a beat). Over a bar the notes count by how long they
    sound in it; with `at_onset` (per beat) only the sonority sounding where the span begins counts — the notes
    entering during the beat are passing and neighbour tones more often than chord tones — with its lowest note
    as the bass (on Bach chorales' beats against their RomanText analyses: root 0.79 against 0.73 by duration)."""
    count = max(1, int(math.ceil(end / span - 1e-9)))
    out = []
    for k, inside in enumerate(overlapping([n for n in notes if not n.mute], span, count)):
        t = k * span
        weights = [0.0] * 12
        sounding = [n for n in inside if n.start - 1e-6 <= t < n.end - 1e-6] if at_onset else []
        if sounding:  # the sonority at the beat (a beat whose notes all enter late keeps them, by duration)
            inside = sounding
        for n in inside:
            weights[n.pitch % 12] += 1.0 if sounding else min(n.end, t + span) - max(n.start, t)
        bass = min(inside, key=lambda n: n.pitch).pitch % 12 if inside else None
        labeled = label_chord(weights, bass)
        if labeled:
            spec, fit = labeled
            out.append({"start": round(t, 4), "duration": span, "chord": chord_name(spec), "fit": round(fit, 3),
                        "spec": spec})
    return out


def progression_from_notes(notes: list[Note], ts: TimeSignature, length: float) -> list[ChordEvent]:
    """The chords a texture plays, read beat by beat (a dotted beat in compound metres): a beat whose notes a
    chord explains poorly (passing notes, suspensions: under 60 %) or that repeats the chord before extends
    it; chords never cross a bar line (the bass restates each bar's root). The plan other parts follow when
    the trained model wrote the harmony."""
    beat = 1.5 if ts.denominator == 8 and ts.numerator % 3 == 0 else 4.0 / ts.denominator
    bar = ts.beats_per_bar
    events: list[ChordEvent] = []
    labels = {round(lab["start"], 4): lab for lab in chords_by_span(notes, beat, length)}
    count = max(1, int(math.ceil(length / beat - 1e-9)))
    for k in range(count):
        start = round(k * beat, 6)
        lab = labels.get(round(start, 4))
        prev = events[-1] if events else None
        if lab is None and prev is None:
            continue
        same_bar = prev is not None and int(prev.start // bar + 1e-9) == int(start // bar + 1e-9)
        spec, fit = (lab["spec"], lab["fit"]) if lab else (prev.spec, 0.0)
        if prev is not None and same_bar and (fit < 0.6 or (prev.spec.root, prev.spec.intervals, prev.spec.bass)
                                              == (spec.root, spec.intervals, spec.bass)):
            events[-1] = ChordEvent(prev.spec, prev.start, round(min(length, start + beat) - prev.start, 6),
                                    prev.symbol)
            continue
        if prev is not None and fit < 0.6:
            spec = prev.spec  # a poorly explained (or silent) downbeat keeps the chord it sustains
        events.append(ChordEvent(spec, start, round(min(beat, length - start), 6), chord_name(spec)))
    if events and events[0].start > 0:  # music that starts late: its first chord from the top
        first = events[0]
        events[0] = ChordEvent(first.spec, 0.0, round(first.end, 6), first.symbol)
    return events


def progression_text(events, ts: TimeSignature) -> str:
    """Chord events as a progression string, one bar between bar lines ('| C:3 G/B | Am |')."""
    bar = ts.beats_per_bar
    bars: dict[int, list[tuple[str, float]]] = {}
    for e in events:  # a chord held over a bar line is written again in the next bar
        t = e.start
        while t < e.end - 1e-6:
            b = int(t // bar + 1e-9)
            piece = min(e.end, (b + 1) * bar) - t
            bars.setdefault(b, []).append((e.symbol, piece))
            t += piece
    out = []
    for b in sorted(bars):  # the events cover the piece from its start, so every bar is here
        chords = bars[b]
        out.append(chords[0][0] if len(chords) == 1 else " ".join(f"{sym}:{d:g}" for sym, d in chords))
    return "| " + " | ".join(out) + " |"


# ---------------------------------------------------------------- rhythm, groove and descriptors


def rhythm_and_groove(notes: list[Note], ts: TimeSignature, tempo: float | None) -> dict:
    onsets = sorted({round(n.start, 6) for n in notes if not n.mute})
    if not onsets:
        return {}
    beat = 4.0 / ts.denominator
    # syncopation: share of onsets off the beat that are not followed by an onset on the next beat; an onset
    # within a 32nd of the beat is on it (played a little early or late, not syncopated)
    on_beat = 0.125
    off = [o for o in onsets if abs((o / beat) - round(o / beat)) > on_beat]
    on_set = {round(o / beat) for o in onsets if abs((o / beat) - round(o / beat)) <= on_beat}
    synco = [o for o in off if math.floor(o / beat) + 1 not in on_set]
    # swing: where the off-beat eighth sits inside the beat, and the off-beat sixteenth inside its eighth (0.5
    # straight, 0.667 triplet swing); a sixteenth at 0.75 of the beat (a dotted rhythm) is not an off-beat eighth
    swing = _swing([(o / beat) % 1.0 for o in onsets])
    swing16 = _swing([(o / (beat / 2)) % 1.0 for o in onsets])
    # microtiming: mean offset from the nearest 16th, per 16th position in the beat, in ms
    sec_per_beat = 60.0 / (tempo or 120.0)
    per_pos: dict[int, list[float]] = {}
    for o in onsets:
        grid = round(o / (beat / 4))
        per_pos.setdefault(grid % 4, []).append((o - grid * beat / 4) / beat * sec_per_beat * 1000)
    micro = {f"16th {k + 1}": round(sum(v) / len(v), 2) for k, v in sorted(per_pos.items())}
    return {"syncopation": round(len(synco) / len(onsets), 3), "swing_ratio": swing, "swing16_ratio": swing16,
            "microtiming_ms": micro, "onsets": len(onsets)}


def _swing(fractions: list[float]) -> float | None:
    """The median place of the off-beat onsets (fractions of their span between 0.4 and 0.72), or None when fewer
    than four."""
    off = sorted(f for f in fractions if 0.4 <= f <= 0.72)
    return round(off[len(off) // 2], 3) if len(off) >= 4 else None


def descriptors(notes: list[Note], ts: TimeSignature, length: float) -> dict:
    """MusPy-style descriptors: pitch-class entropy, scale consistency, groove consistency, empty-beat rate,
    polyphony."""
    sounding = [n for n in notes if not n.mute]
    if not sounding:
        return {}
    counts = Counter(n.pitch % 12 for n in sounding)
    total = sum(counts.values())
    entropy = -sum((c / total) * math.log2(c / total) for c in counts.values())
    scale_fit = 0.0
    for tonic in range(12):
        for mode in ("major", "minor"):
            pcs = {(tonic + s) % 12 for s in SCALES[mode]}
            scale_fit = max(scale_fit, sum(c for p, c in counts.items() if p in pcs) / total)
    bar = ts.beats_per_bar
    n_bars = max(1, math.ceil(length / bar - 1e-9))
    res = 16
    patterns = []
    for b, inside in enumerate(starting(sounding, bar, n_bars)):
        row = [0] * res
        for n in inside:
            row[min(res - 1, int((n.start - b * bar) / bar * res))] = 1
        patterns.append(row)
    if len(patterns) > 1:
        dist = [sum(x != y for x, y in zip(a, b)) / res for a, b in zip(patterns, patterns[1:])]
        groove = 1 - sum(dist) / len(dist)
    else:
        groove = 1.0
    beat = 4.0 / ts.denominator
    n_beats = max(1, math.ceil(length / beat - 1e-9))
    empty = sum(1 for inside in overlapping(sounding, beat, n_beats) if not inside)
    # polyphony: notes sounding at each onset, by a sweep over sorted starts and ends
    starts_sorted = sorted(n.start for n in sounding)
    ends_sorted = sorted(n.end for n in sounding)
    onsets = sorted(set(starts_sorted))
    poly = sum(bisect.bisect_right(starts_sorted, o + 1e-9) - bisect.bisect_right(ends_sorted, o + 1e-9)
               for o in onsets) / len(onsets)
    return {"pitch_class_entropy": round(entropy, 3), "scale_consistency": round(scale_fit, 3),
            "groove_consistency": round(groove, 3), "empty_beat_rate": round(empty / n_beats, 3),
            "polyphony": round(poly, 2)}


def structure(notes: list[Note], bar: float, length: float, phrase_bars: int = 4) -> dict:
    """Repetition: bars and phrases labelled A, B, C... by similarity of their pitched onsets."""
    n_bars = max(1, math.ceil(length / bar - 1e-9))

    def labels(unit: float, count: int) -> str:
        seen: list[set] = []
        out = ""
        for i, inside in enumerate(starting([n for n in notes if not n.mute], unit, count)):
            # pitch classes, so a repeated chord re-voiced by voice leading still counts as a repeat
            c = {(n.pitch % 12, round((n.start - i * unit) * 4) / 4) for n in inside}
            match = None
            for j, s in enumerate(seen):
                union = len(c | s)
                if (not union) or len(c & s) / union >= 0.8:
                    match = j
                    break
            if match is None:
                seen.append(c)
                match = len(seen) - 1
            out += chr(65 + match) if match < 26 else "?"
        return out

    bars = labels(bar, n_bars)
    phrases = labels(bar * phrase_bars, max(1, math.ceil(n_bars / phrase_bars)))
    repeated = sum(1 for i, ch in enumerate(bars) if ch in bars[:i])
    return {"bars": bars, "phrases": phrases, "phrase_bars": phrase_bars,
            "repetition": round(repeated / n_bars, 3)}


def note_stats(notes: list[Note], length: float, bar: float) -> dict:
    sounding = [n for n in notes if not n.mute]
    if not sounding:
        return {"notes": 0}
    lo, hi = min(n.pitch for n in sounding), max(n.pitch for n in sounding)
    hist = pc_histogram(sounding)
    total = sum(hist) or 1.0
    return {"notes": len(sounding), "notes_per_bar": round(len(sounding) / max(1e-9, length / bar), 2),
            "range": [pitch_name(lo), pitch_name(hi)], "range_semitones": hi - lo,
            "pitch_class_histogram": {PITCH_CLASS_NAMES[i]: round(h / total, 3) for i, h in enumerate(hist)}}


# ---------------------------------------------------------------- tempo and meter when the source has none


def estimate_tempo(onsets_seconds: list[float], weights: list[float] | None = None) -> tuple[float, float]:
    """(BPM, strength 0-1) of the strongest pulse between 60 and 180 BPM, from onset autocorrelation with a
    mild preference for ~110 BPM (as beat trackers use)."""
    import numpy as np

    if len(onsets_seconds) < 4:
        raise ValueError("too few onsets to estimate a tempo")
    res = 0.01
    n = int(max(onsets_seconds) / res) + 200
    train = np.zeros(n)
    for t, w in zip(onsets_seconds, weights or [1.0] * len(onsets_seconds)):
        i = int(round(t / res))
        train[max(0, i - 1): i + 2] += w  # a little smear for timing jitter
    train -= train.mean()
    ac = np.correlate(train, train, mode="full")[n - 1:]
    if ac[0] <= 0:
        raise ValueError("no periodicity in the onsets")
    lags = np.arange(int(60 / 180 / res), int(60 / 60 / res) + 1)
    bpm = 60.0 / (lags * res)
    prior = np.exp(-0.5 * (np.log2(bpm / 110.0) / 0.9) ** 2)
    score = ac[lags] / ac[0] * prior
    best = int(np.argmax(score))
    return float(round(bpm[best], 1)), float(max(0.0, min(1.0, ac[lags[best]] / ac[0])))


def estimate_meter(positions: list[float], weights: list[float]) -> tuple[int, float]:
    """(beats per bar, strength): 3 or 4 (2 folds into 4), from how accents repeat every 3 or 4 beats.
    `positions` are onsets measured in beats of the pulse; `weights` their accent (velocity, length, register)."""
    import numpy as np

    if not positions:
        raise ValueError("no notes")
    n_beats = int(max(positions)) + 1
    accent = np.zeros(n_beats)
    for k, w in zip(positions, weights):
        if abs(k - round(k)) < 0.15 and int(round(k)) < n_beats:
            accent[int(round(k))] += w
    if n_beats < 12 or accent.std() == 0:
        return 4, 0.0
    best = (4, -1.0)
    for m in (3, 4):
        # how much stronger one beat position in the bar is than the others, at the best phase
        means = [accent[p::m].mean() for p in range(m)]
        top = int(np.argmax(means))
        contrast = (means[top] - np.mean([x for i, x in enumerate(means) if i != top])) / (accent.mean() + 1e-9)
        if contrast > best[1] + (0.05 if m == 3 else 0):
            best = (m, float(contrast))
    return best[0], round(max(0.0, min(1.0, best[1])), 3)


KIT_PITCHES = {35, 36, 37, 38, 39, 40, 42, 44, 46, 49, 51, 57}  # kicks, snares, claps, hats, crash, ride


def looks_like_drums(notes: list[Note]) -> bool:
    """A part not marked as drums that plays like a kit (a drum rack or a MIDI file's drums on another channel):
    nearly all its notes on the General MIDI kit's kick, snare, hat and cymbal keys, few distinct keys, short
    notes, and kick and snare or hats both present."""
    if len(notes) < 8:
        return False
    pitches = [n.pitch for n in notes]
    on_kit = sum(p in KIT_PITCHES for p in pitches) / len(pitches)
    short = sorted(n.duration for n in notes)[len(notes) // 2] <= 0.5
    kinds = {"kick" if p in (35, 36) else "snare" if p in (37, 38, 39, 40) else "hat" if p in (42, 44, 46) else ""
             for p in pitches}
    groups: list[int] = []  # strokes within 0.04 beats of each other (a drummer's flams and feel) count as one
    last = None
    for t in sorted(n.start for n in notes):
        if last is not None and t - last < 0.04:
            groups[-1] += 1
        else:
            groups.append(1)
        last = t
    together = sum(c >= 2 for c in groups) / len(groups)  # a kit strikes two at once; a bass line never
    return (on_kit >= 0.9 and len(set(pitches)) <= 8 and short and "kick" in kinds and len(kinds - {""}) >= 2
            and together >= 0.2)


def polyphony_of(notes: list[Note]) -> float:
    """Notes sounding on average at the onsets (1.0 for a single line)."""
    onsets = sorted({round(n.start, 4) for n in notes})
    if not onsets:
        return 0.0
    starts = sorted(n.start - 1e-6 for n in notes)
    ends = sorted(n.end - 1e-6 for n in notes)
    return sum(bisect.bisect_right(starts, t) - bisect.bisect_right(ends, t) for t in onsets) / len(onsets)


def triple_subdivision(positions: list[float]) -> bool:
    """Whether the pulse divides in three (a compound metre: 6/8, 9/8, 12/8): more gaps between onsets of a third
    (or two thirds) of the pulse than of a half or a quarter. Gaps, not places, so a tempo a little off does not
    blur them."""
    onsets = sorted(set(round(p, 4) for p in positions))
    gaps = [b - a for a, b in zip(onsets, onsets[1:]) if b - a < 1.0]
    thirds = sum(min(abs(g - 1 / 3), abs(g - 2 / 3)) < 0.05 for g in gaps)
    halves = sum(min(abs(g - 0.5), abs(g - 0.25), abs(g - 0.75)) < 0.05 for g in gaps)
    return thirds >= 4 and thirds > 1.5 * halves


def accent_weight(note: Note) -> float:
    return note.velocity * (1 + note.duration) * (2.0 if note.pitch < 55 else 1.0)


def key_of(clip: Clip, given: str | None) -> Key:
    """The key to work in: the one given, else the clip's, else the estimated one."""
    try:
        if given:
            return parse_key(given)
        if clip.key:
            return parse_key(clip.key)
    except ValueError as exc:
        raise NotationError(str(exc)) from None
    return parse_key(estimate_key([n for n in clip.notes if not n.mute]).key)


def inferred_clock(song: Song) -> tuple[Song, dict]:
    """A song whose file recorded no tempo (its clock is then MIDI's default 120 BPM) or no meter: the pulse and the
    meter found in its onsets, and the song re-timed so its beats are the music's (a dotted quarter in 6/8).
    -> (the song, {"tempo_estimate", "meter_source", "meter_strength", "tempo_applied"} as far as found).
    A song that recorded both comes back as it is."""
    if song.tempo_known and song.meter_known:
        return song, {}
    everything = [n for t in song.tracks for n in t.notes_on_timeline() if not n.mute]
    if not everything:
        return song, {}
    ts, info = song.time_signature, {}
    if not song.tempo_known:
        try:
            bpm, strength = estimate_tempo(sorted({song.beats_to_seconds(n.start) for n in everything}))
            info["tempo_estimate"] = {"bpm": bpm, "strength": round(strength, 3)}
        except ValueError:
            pass
    if not song.meter_known:
        try:
            if "tempo_estimate" in info:  # measure positions in the pulse just found
                pulse = 60.0 / info["tempo_estimate"]["bpm"]
                positions = [song.beats_to_seconds(n.start) / pulse for n in everything]
            else:
                positions = [n.start / (4.0 / ts.denominator) for n in everything]
            beats_per_bar, strength = estimate_meter(positions, [accent_weight(n) for n in everything])
            ts = (TimeSignature(numerator=3 * (2 if beats_per_bar == 4 else beats_per_bar), denominator=8)
                  if triple_subdivision(positions) else TimeSignature(numerator=beats_per_bar, denominator=4))
            info.update(meter_source="estimated", meter_strength=strength)
        except ValueError:
            pass
    scale = 1.0
    bpm_q = song.tempo
    if "tempo_estimate" in info:
        pulse_q = 1.5 if ts.denominator == 8 and ts.numerator % 3 == 0 else 4.0 / ts.denominator
        bpm_q = info["tempo_estimate"]["bpm"] * pulse_q  # quarter notes per minute
        scale = bpm_q / song.tempo
        info["tempo_applied"] = True

    def timed(n: Note) -> Note:
        return n.model_copy(update={"start": n.start * scale, "duration": n.duration * scale})

    tracks = []
    for t in song.tracks:
        placed = []
        for pc in t.clips:
            clip = pc.clip
            notes = [timed(n) for n in clip.notes]
            end = max((n.end for n in notes), default=0.0)
            length = round_up_to_bar(max(end, clip.length * scale) - 1 / 32, ts)  # whole bars of the found meter
            placed.append(pc.model_copy(update={"start": pc.start * scale, "clip": clip.model_copy(update={
                "notes": notes, "length": length, "loop_start": clip.loop_start * scale, "loop_end": None,
                "time_signature": ts, "tempo": round(bpm_q, 3) if clip.tempo is not None or scale != 1.0
                else clip.tempo})}))
        tracks.append(t.model_copy(update={"clips": placed}))
    sections = [s.model_copy(update={"start": s.start * scale, "length": s.length * scale}) for s in song.sections]
    return song.model_copy(update={"tracks": tracks, "sections": sections, "time_signature": ts,
                                   "tempo": round(bpm_q, 3)}), info


def analyze_song(song: Song, chords_per: str = "bar", profile: str = "aarden", cadence: bool = True,
                 given_key: Key | None = None,
                 mode_of: Callable[[list[Note], float], tuple[int, str, float]] | None = None) -> dict:
    """Everything analyze_clip reports about a song: tempo and meter (estimated when the file did not say), key
    with confidence and windows, chords with roman numerals per span, density, range, groove, structure and
    descriptors. Drum tracks count for rhythm only. `mode_of(notes, bar)` -> (tonic, mode, probability) names a
    line's key with its church mode (models/mode_classifier); without it a line's key is major or minor."""
    song, clock = inferred_clock(song)  # a file without tempo or meter: the notes re-timed in the pulse found
    timelines = [(t.is_drum or looks_like_drums(notes), notes) for t in song.tracks
                 for notes in [[n for n in t.notes_on_timeline() if not n.mute]]]
    pitched = [n for is_drum, notes in timelines if not is_drum for n in notes]
    everything = [n for _, notes in timelines for n in notes]
    if not everything:
        raise LiveloomError("there are no sounding notes to analyze")
    ts = song.time_signature
    bar = ts.beats_per_bar
    length = max(song.length, max(n.end for n in everything))
    if clock.get("tempo_applied"):
        length = round_up_to_bar(max(n.end for n in everything) - 1 / 32, ts)
    out: dict = {"tempo": round(song.tempo, 1) if clock.get("tempo_applied") else song.tempo,
                 "time_signature": str(ts), "bars": round(length / bar, 3),
                 "meter_source": "file" if song.meter_known else clock.get("meter_source", "default"), **clock}
    if pitched:
        melodic = polyphony_of(pitched) <= 1.2
        bar_chords = chords_by_span(pitched, bar, length)
        # a line: the profile and its final (tunes end on their tonic); harmony: its chords as well
        est = (estimate_key(pitched, profile=profile, cadence=cadence) if melodic or not cadence
               else estimate_key_of_loop(pitched, bar, profile, bar_chords))
        label, confidence, label_from_mode = est.key, est.confidence, False
        if not given_key and melodic and mode_of is not None:  # a line: its tonic and mode, church modes included
            tonic, mode, confidence = mode_of(pitched, bar)
            names = MINOR_NAMES if mode in ("minor", "dorian", "phrygian") else MAJOR_NAMES
            label, label_from_mode = f"{names[tonic]} {mode}", True
        k = given_key or parse_key(label)
        out["key"] = {"key": str(k) if given_key else label, "mode": k.mode,
                      "confidence": 1.0 if given_key else confidence,
                      "runners_up": [] if given_key else [name for name, _ in est.runners_up if name != label],
                      "method": "given" if given_key else "mode classifier (a line)" if label_from_mode
                      else est.method}
        windows = windowed_keys(pitched, bar, profile=profile)
        out["key_windows"] = windows
        out["modulations"] = [f"bars {w['start_bar']}-{w['end_bar']}: {w['key']}" for w in windows
                              if w["key"] != out["key"]["key"] and w["score"] > 0.75]
        span = {"bar": bar, "half_bar": bar / 2, "beat": 4.0 / ts.denominator}[chords_per]
        chords = bar_chords if span == bar else chords_by_span(pitched, span, length, at_onset=chords_per == "beat")
        out["chords"] = [{"bar": int(c["start"] // bar) + 1, "beat": round(c["start"] % bar / (4.0 / ts.denominator) + 1, 3),
                          "chord": chord_name(c["spec"], k), "roman": roman_numeral(c["spec"], k), "fit": c["fit"]}
                         for c in chords]
        stats = note_stats(pitched, length, bar)
    else:
        out.update({"key": {"key": "none (drums only)", "confidence": 0.0, "runners_up": [], "method": "-"},
                    "modulations": [], "chords": [], "key_windows": []})
        stats = note_stats(everything, length, bar)
    groove = rhythm_and_groove(everything, ts, song.tempo)
    desc = descriptors(everything, ts, length)
    out.update({"notes": len(everything), "notes_per_bar": round(len(everything) / max(1e-9, length / bar), 2),
                "range": stats.get("range", []), "pitch_class_histogram": stats.get("pitch_class_histogram", {}),
                "polyphony": desc.get("polyphony"), "syncopation": groove.get("syncopation"),
                "swing_ratio": groove.get("swing_ratio"), "swing16_ratio": groove.get("swing16_ratio"),
                "microtiming_ms": groove.get("microtiming_ms", {}),
                "structure": structure(pitched or everything, bar, length),
                "descriptors": {k: v for k, v in desc.items() if k != "polyphony"}})
    return out
