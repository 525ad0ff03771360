"""Chord voicings with voice leading.

Each chord gets a bass note and up to four upper voices. Over a bass, a chord of four or more tones leaves its
root to the bass (rootless voicings: third, seventh, extensions and fifth above it; a shell — third and seventh —
when two voices are asked for). Candidates are every placement of the chosen chord tones inside the register that
keeps the low-interval limits (no third below C3, no second below E3: the mud an arranger avoids); the one whose
voices move least from the previous chord's (plus a pull back toward the middle of the register, so a long
progression does not drift) wins. Deterministic: the same progression always gets the same voicing.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from .theory import ChordSpec


@dataclass(frozen=True)
class Voicing:
    bass: int | None
    upper: tuple[int, ...]  # ascending MIDI pitches

    @property
    def pitches(self) -> tuple[int, ...]:
        return ((self.bass,) if self.bass is not None else ()) + self.upper


# Low-interval limits: the lowest MIDI pitch the lower note of each interval (in semitones, up to an octave) may
# have before the interval turns to mud (the arranger's table: m2 E3, M2 Eb3, m3 C3, M3 Bb2, P4 A2, tritone B2,
# P5 Bb1, sixths and sevenths F2).
LOW_INTERVAL_LIMITS = {1: 52, 2: 51, 3: 48, 4: 46, 5: 45, 6: 47, 7: 34, 8: 41, 9: 41, 10: 41, 11: 41}


def low_interval_ok(lower: int, upper: int) -> bool:
    gap = upper - lower
    return gap <= 0 or gap > 11 or lower >= LOW_INTERVAL_LIMITS[gap]


def low_interval_violations(pitches) -> int:
    """How many adjacent pairs of a chord's notes (low to high) break the low-interval limits."""
    ps = sorted(pitches)
    return sum(not low_interval_ok(a, b) for a, b in zip(ps, ps[1:]))


def _upper_tones(chord: ChordSpec, max_voices: int, with_bass: bool) -> list[int]:
    """The intervals the upper voices play: third and seventh first, then colour, fifth last; over a bass the
    root of a chord of four or more tones is left to the bass (when the bass plays the root)."""
    ivs = list(dict.fromkeys(chord.intervals))
    if with_bass and len(ivs) >= 4 and 0 in ivs and chord.bass == chord.root % 12:
        ivs.remove(0)
    if len(ivs) <= max_voices:
        return ivs

    def priority(i: int) -> int:
        if i in (3, 4, 2, 5):  # the third (or the sus tone)
            return 0
        if i in (9, 10, 11) and len(ivs) > 3:  # the seventh (or the sixth)
            return 1
        if i > 12 and i != 17:  # 9, 13 and altered tensions
            return 2
        if i in (6, 8):  # altered fifths are colour, keep them
            return 2
        if i == 0:  # the root, which the bass already plays
            return 4 if with_bass else 1
        if i == 17:
            return 5 if 4 in ivs else 2  # the natural 11 clashes with a major third; on a minor chord it is colour
        return 3  # the perfect fifth

    keep = sorted(ivs, key=priority)[:max_voices]
    return [i for i in ivs if i in keep]


def _candidates(root: int, tones: list[int], low: int, high: int) -> list[tuple[int, ...]]:
    options = []
    for iv in tones:
        pc = (root + iv) % 12
        options.append([p for p in range(low, high + 1) if p % 12 == pc])
    out = []
    for combo in itertools.product(*options):
        voicing = tuple(sorted(combo))
        if len(set(voicing)) != len(voicing):
            continue
        if voicing[-1] - voicing[0] > 17:  # keep the hand within a tenth-and-a-bit
            continue
        if len(voicing) > 1 and voicing[1] - voicing[0] == 1:  # no minor second at the bottom
            continue
        if low_interval_violations(voicing):
            continue
        out.append(voicing)
    return out


def _movement(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    if len(a) == len(b):
        return float(sum(abs(x - y) for x, y in zip(a, b)))
    return float(sum(min(abs(x - y) for y in b) for x in a) + sum(min(abs(x - y) for x in a) for y in b)) / 2


def voice_progression(
    chords: list[ChordSpec],
    *,
    low: int = 53,
    high: int = 79,
    bass_low: int = 36,
    bass_high: int = 52,
    max_voices: int = 4,
    with_bass: bool = True,
    start_from: tuple[int, ...] | None = None,
    ceilings: list[int] | None = None,
) -> list[Voicing]:
    """Voice a progression: a bass note in [bass_low, bass_high] and upper voices in [low, high]. `start_from`
    is the voicing that came before (the last chord of the previous section), for voice leading across it;
    `ceilings` (one per chord) lowers `high` where a melody above dips (each chord's upper voices stay under
    it)."""
    prev_upper: tuple[int, ...] | None = start_from
    prev_bass: int | None = None
    out: list[Voicing] = []
    top = high
    for i, chord in enumerate(chords):
        high = max(low + 11, min(top, ceilings[i])) if ceilings else top
        center = (low + min(top, high)) / 2
        tones = _upper_tones(chord, max_voices, with_bass)
        cands = _candidates(chord.root, tones, low, high)
        voices = len(tones)
        while not cands and voices > 2:  # no good spacing in a narrow register: leave out the least needed tone
            voices -= 1
            tones = _upper_tones(chord, voices, with_bass)
            cands = _candidates(chord.root, tones, low, high)
        if not cands:  # the tones folded into the register, however they fall
            cands = [tuple(sorted({low + ((chord.root + i - low) % 12) for i in tones}))]

        choices = [p for p in range(bass_low, bass_high + 1) if p % 12 == chord.bass] if with_bass else []
        target = prev_bass if prev_bass is not None else (bass_low + bass_high) / 2

        def bass_under(v: tuple[int, ...]) -> tuple[int | None, bool]:
            """The bass for an upper voicing: nearest the last bass, within the low-interval limits if it can."""
            if not choices:
                return None, True
            b = min(choices, key=lambda p: (abs(p - target) + 6 * (not low_interval_ok(p, v[0])), p))
            if b >= v[0] and b - 12 >= 0:
                b -= 12
            return b, low_interval_ok(b, v[0])

        def cost(v: tuple[int, ...]) -> float:
            mean = sum(v) / len(v)
            spread = v[-1] - v[0]
            c = 0.35 * abs(mean - center) + 0.05 * spread
            if prev_upper is not None:
                c += _movement(v, prev_upper)
            if with_bass and not bass_under(v)[1]:
                c += 8.0  # a voicing the bass can only sit under with mud
            return c

        upper = min(cands, key=lambda v: (cost(v), v))
        bass = None
        if with_bass:
            bass = bass_under(upper)[0]
            prev_bass = bass
        out.append(Voicing(bass=bass, upper=upper))
        prev_upper = upper
    return out
