"""Theory-driven generation of one role (melody, counter, chords, pad, bass, arpeggio, drums) over a
chord progression, from the style library.

What each role does:
* chords / pad / arpeggio: the progression voiced with voice leading (`voicing`), struck in one of
  the style's comping rhythms, held, or broken into the style's arpeggio pattern;
* bass: the style's bass patterns over each chord (root or slash bass, fifths, octaves, walking
  lines, approach notes into the next chord), in one octave chosen for the smallest leaps;
* drums: the style's grooves by energy, a variation every fourth bar and a fill to end each phrase;
* melody: phrases of four bars (motif, answer, the motif sequenced onto the new chord, cadence) with
  the style's rhythms; chord tones on strong beats, steps and occasional leaps between them;
* counter: guide tones (thirds and sevenths) moving by the smallest step, in a slower rhythm.

Every function is deterministic for a seed. Nothing here is a learned model; `compose` says so in
its result, and uses the trained model instead where it knows the style.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from liveloom.music.harmony import ChordEvent, chord_at, closing_tones
from liveloom.music.notation import apply_swing, realize
from liveloom.music.notes import fit_to_length, no_overlaps, one_line
from liveloom.music.styles import Patterns, Style
from liveloom.music.theory import ChordSpec, Key
from liveloom.music.types import Note, TimeSignature
from liveloom.music.voicing import voice_progression

# Default registers per role (MIDI pitches, inclusive) and the narrowest each role can work in. The comping
# (chords) tops out at E4 and the melody starts above it at F4, so parts written in separate calls still put the
# lead above the band with no unison doubling; the bass stays below the comping's lowest voice.
REGISTERS: dict[str, tuple[int, int]] = {
    "melody": (65, 84), "counter": (55, 74), "chords": (50, 64), "pad": (55, 84), "arpeggio": (60, 88),
    "bass": (28, 50), "drums": (35, 81),
}


def comping_register(lead_low: int | None) -> tuple[int, int]:
    """Where chords and pads go under a lead whose lowest note is `lead_low`: below it (no unison, no crossing),
    never lower than a register where close thirds turn to mud (the bottom of the span stays at or above D3 when
    the lead allows, A2 at the lowest)."""
    lo, hi = REGISTERS["chords"]
    if lead_low is None or lead_low > hi:
        return lo, hi
    top = lead_low - 1
    return max(45, top - MIN_SPAN["chords"]), top
MIN_SPAN = {"melody": 9, "counter": 9, "chords": 14, "pad": 14, "arpeggio": 12, "bass": 12, "drums": 0}
REGISTER_NAMES = {"low": -12, "middle": 0, "mid": 0, "high": 12}


@dataclass
class Request:
    role: str
    key: Key
    ts: TimeSignature
    bars: int
    style: Style
    chords: list[ChordEvent]
    register: tuple[int, int]
    density: float = 0.5
    energy: float = 0.6
    seed: int = 0
    temperature: float = 0.8
    fill_every: int = 8
    fill_last_bar: bool = True
    velocity: int = 96
    voice_from: tuple[int, ...] | None = None  # the previous section's last chord voicing
    drum_build: bool = False  # a build-up: the style's build patterns, getting denser and louder
    tempo: float = 120.0  # for feel given in milliseconds

    @property
    def bar_len(self) -> float:
        return self.ts.beats_per_bar

    @property
    def length(self) -> float:
        return self.bars * self.bar_len


@dataclass
class Outcome:
    notes: list[Note]
    details: list[str] = field(default_factory=list)
    last_voicing: tuple[int, ...] | None = None


# ------------------------------------------------------------------ rhythms from step strings


def step_events(pattern: str, step: float, bar_len: float) -> list[tuple[float, float]]:
    """'x' strikes, '-' holds, '.' rests -> (start, duration) in one bar. A pattern longer than the bar
    is cut at the bar line; a shorter one repeats."""
    n = max(1, round(bar_len / step))
    cells = (pattern * (n // max(1, len(pattern)) + 1))[:n] if len(pattern) < n else pattern[:n]
    out: list[tuple[float, float]] = []
    for i, ch in enumerate(cells):
        if ch in "xX":
            j = i + 1
            while j < n and cells[j] == "-":
                j += 1
            out.append((i * step, (j - i) * step))
    return out


def _by_density(options: tuple[str, ...], density: float, rng: random.Random) -> str:
    """The options sorted by how many notes they strike; density 0 picks the sparsest, 1 the busiest."""
    ranked = sorted(options, key=lambda p: (sum(c in "xX" for c in p), p))
    centre = density * (len(ranked) - 1)
    weights = [1.0 / (1.0 + 3.0 * abs(i - centre)) for i in range(len(ranked))]
    return rng.choices(ranked, weights=weights)[0]


def _patterns_for_energy(p: Patterns, energy: float) -> tuple[str, ...]:
    if energy < 0.35 and p.sparse:
        return p.sparse
    if energy > 0.8 and p.full:
        return p.full
    return p.main


def strong_beat(t: float, ts: TimeSignature) -> bool:
    """Downbeats and, in 4/4-like bars, the middle of the bar; in compound metres each dotted beat."""
    bar = ts.beats_per_bar
    pos = t % bar
    if abs(pos) < 1e-6 or abs(pos - bar) < 1e-6:
        return True
    if ts.denominator == 8 and ts.numerator % 3 == 0:
        return abs(pos % 1.5) < 1e-6
    return ts.numerator == 4 and abs(pos - bar / 2) < 1e-6


# ------------------------------------------------------------------ chords, pad, arpeggio


def _voicings(req: Request, with_bass: bool = False):
    lo, hi = req.register
    return voice_progression([c.spec for c in req.chords], low=lo, high=hi, max_voices=4, with_bass=with_bass,
                             bass_low=max(0, lo - 17), bass_high=max(1, lo - 1), start_from=req.voice_from)


def compose_chords(req: Request, rng: random.Random) -> Outcome:
    voicings = _voicings(req)
    pattern = _by_density(_patterns_for_energy(req.style.comp, req.energy), req.density, rng)
    hits = step_events(pattern, req.style.comp.step, req.bar_len)
    notes: list[Note] = []
    for chord, v in zip(req.chords, voicings):
        starts: list[tuple[float, float, bool]] = []
        first_bar = int(chord.start // req.bar_len)
        last_bar = int((chord.end - 1e-9) // req.bar_len)
        for b in range(first_bar, last_bar + 1):
            for s, d in hits:
                t = b * req.bar_len + s
                if chord.start - 1e-9 <= t < chord.end - 1e-9:
                    starts.append((t, min(d, chord.end - t), strong_beat(t, req.ts)))
        if not starts or starts[0][0] > chord.start + 1e-9:  # a chord always sounds from where it begins
            first = starts[0][0] if starts else chord.end
            starts.insert(0, (chord.start, first - chord.start, True))
        for t, d, strong in starts:
            vel = req.velocity - 10 + (8 if strong else 0)
            notes += [Note(pitch=p, start=round(t, 6), duration=round(d * 0.95, 6), velocity=_vel(vel, rng))
                      for p in v.upper]
    return Outcome(notes, [f"comping rhythm {pattern!r} (step {req.style.comp.step:g} beats)",
                           "voice leading: each chord voiced with the least movement from the last"],
                   last_voicing=voicings[-1].upper if voicings else None)


def compose_pad(req: Request, rng: random.Random) -> Outcome:
    notes = []
    voicings = _voicings(req)
    for chord, v in zip(req.chords, voicings):
        notes += [Note(pitch=p, start=round(chord.start, 6), duration=round(chord.duration * 0.99, 6),
                       velocity=_vel(req.velocity - 24, rng)) for p in v.upper]
    return Outcome(notes, ["sustained voicings, one per chord, voice-led"],
                   last_voicing=voicings[-1].upper if voicings else None)


def compose_arpeggio(req: Request, rng: random.Random) -> Outcome:
    pattern = rng.choice(req.style.arpeggio.main)
    step = req.style.arpeggio.step
    lo, hi = req.register
    voicings = voice_progression([c.spec for c in req.chords], low=lo, high=max(lo + 14, hi - 12), max_voices=4,
                                 with_bass=False)
    notes = []
    for chord, v in zip(req.chords, voicings):
        tones = list(v.upper) + [p + 12 for p in v.upper if p + 12 <= hi]
        t, i = chord.start, 0
        k = round((chord.start % req.bar_len) / step)
        while t < chord.end - 1e-9:
            idx = int(pattern[(k + i) % len(pattern)]) % len(tones)
            d = min(step, chord.end - t)
            notes.append(Note(pitch=tones[idx], start=round(t, 6), duration=round(d * 0.9, 6),
                              velocity=_vel(req.velocity - 12 + (8 if strong_beat(t, req.ts) else 0), rng)))
            t += step
            i += 1
    return Outcome(notes, [f"arpeggio pattern {pattern!r} every {step:g} beats over voice-led chord tones"])


# ------------------------------------------------------------------ bass


def _fold(p: int, lo: int, hi: int) -> int:
    while p < lo:
        p += 12
    while p > hi:
        p -= 12
    return p if lo <= p <= hi else max(lo, min(hi, p))


def _interval(spec: ChordSpec, options: tuple[int, ...], fallback: int) -> int:
    ivs = [i % 12 for i in spec.intervals]
    for o in options:
        if o in ivs:
            return o
    return fallback


def compose_bass(req: Request, rng: random.Random) -> Outcome:
    lo, hi = req.register
    pats = _patterns_for_energy(req.style.bass, req.energy)
    pattern = _by_density(pats, req.density, rng)
    step = req.style.bass.step
    hits = step_events(re.sub("[RWA3578]", "x", pattern), step, req.bar_len)  # every letter strikes
    letters = [pattern[round(s / step) % len(pattern)] for s, _ in hits]
    scale = [(req.key.tonic + s) % 12 for s in req.key.scale]
    chromatic = req.style.name in ("jazz", "funk", "bossa nova")
    roots: list[int] = []
    prev = None
    centre = lo + min(10, (hi - lo) // 2)
    for c in req.chords:  # one register for each chord's bass note: the nearest to the last
        cands = [p for p in range(lo, hi + 1) if p % 12 == c.spec.bass]
        target = prev if prev is not None else centre
        best = min(cands, key=lambda p: (abs(p - target) + 0.3 * abs(p - centre), p)) if cands else _fold(
            c.spec.bass + 36, lo, hi)
        roots.append(best)
        prev = best
    notes: list[Note] = []
    for ci, c in enumerate(req.chords):
        root = roots[ci]
        nxt = roots[ci + 1] if ci + 1 < len(roots) else roots[0]
        events: list[tuple[float, float, str]] = []
        for b in range(int(c.start // req.bar_len), int((c.end - 1e-9) // req.bar_len) + 1):
            for (s, d), letter in zip(hits, letters):
                t = b * req.bar_len + s
                if c.start - 1e-9 <= t < c.end - 1e-9:
                    events.append((t, min(d, c.end - t), letter))
        if not events or events[0][0] > c.start + 1e-9:
            events.insert(0, (c.start, (events[0][0] if events else c.end) - c.start, "R"))
        if events and events[0][2] not in "R":
            events[0] = (events[0][0], events[0][1], "R")  # the chord's own bass note on its first beat
        walk = [p for p in range(lo, hi + 1) if p % 12 in c.pcs]
        last = root
        for k, (t, d, letter) in enumerate(events):
            if letter == "R":
                p = root
            elif letter == "3":
                p = _fold(root + _interval(c.spec, (3, 4), 7), lo, hi)
            elif letter == "5":
                p = _fold(root + _interval(c.spec, (7, 6, 8), 7), lo, hi)
            elif letter == "7":
                p = _fold(root + _interval(c.spec, (10, 11, 9), 12), lo, hi)
            elif letter == "8":
                p = root + 12 if root + 12 <= hi else root - 12 if root - 12 >= lo else root
            elif letter == "A":  # into the next chord's bass note: a semitone (jazz, funk) or a scale step
                below = nxt - 1 if chromatic else max((q for q in range(nxt - 3, nxt) if q % 12 in scale), default=nxt - 1)
                above = nxt + 1 if chromatic else min((q for q in range(nxt + 1, nxt + 4) if q % 12 in scale), default=nxt + 1)
                p = below if abs(below - last) <= abs(above - last) else above
                if not lo <= p <= hi:
                    p = above if lo <= above <= hi else below
                if not lo <= p <= hi:
                    p = root
            else:  # W: walk toward the next chord's bass note through chord tones
                remaining = len(events) - k + 1
                goal = last + (nxt - last) / remaining
                opts = [q for q in walk if q != last] or walk
                p = min(opts, key=lambda q: (abs(q - goal) + rng.random() * 0.8 * req.temperature, q))
            p = max(lo, min(hi, p))
            vel = req.velocity + (6 if strong_beat(t, req.ts) else -6)
            notes.append(Note(pitch=p, start=round(t, 6), duration=round(d * 0.92, 6), velocity=_vel(vel, rng)))
            last = p
    return Outcome(notes, [f"bass pattern {pattern!r} (step {step:g} beats): R root or slash bass, 3/5/7 chord tones, "
                           f"8 octave, W walking chord tones, A {'chromatic' if chromatic else 'diatonic'} approach "
                           "into the next chord"])


# ------------------------------------------------------------------ drums


def _drum_bar(grid: str, step: float, ts: TimeSignature) -> list[Note]:
    """One bar of a drum grid from the library, cut or repeated to the bar (the realiser reads it)."""
    lines = []
    n = max(1, round(ts.beats_per_bar / step))
    for line in grid.strip().splitlines():
        name, _, cells = line.partition(":")
        cells = cells.strip()
        cells = (cells * (n // max(1, len(cells)) + 1))[:n]
        lines.append(f"{name.strip()}: {cells}")
    clip = realize("\n".join(lines), kind="drums", time_signature=ts, step=step).clip
    return [n for n in clip.notes if n.start < ts.beats_per_bar - 1e-9]


def meter_grooves(ts: TimeSignature, density: float) -> Patterns:
    """Grooves for a bar that is not the library's 4/4, derived from the metre on a sixteenth grid: the kick on
    the first pulse (and the middle one in long bars), the snare on the last strong pulse (every even pulse in
    compound time), hats on eighths (sixteenths when busy), a fill of snare sixteenths over the last pulse."""
    steps = max(1, round(ts.beats_per_bar / 0.25))
    compound = ts.denominator == 8 and ts.numerator % 3 == 0 and ts.numerator > 3
    pulse = 6 if compound else (2 if ts.denominator == 8 else 4)  # sixteenths per pulse
    pulses = max(1, steps // pulse)
    if not compound and ts.denominator == 8:  # 5/8, 7/8: a group of 3 eighths, then groups of 2
        starts, t, groups = [], 0, []
        while t < steps:
            g = 6 if steps - t in (6, 10) or (steps - t) % 4 == 2 else 4
            g = min(g, steps - t)
            starts.append(t)
            groups.append(g)
            t += g
    else:
        starts = [i * pulse for i in range(pulses)]

    def row(hits: set[int], accent: set[int] = frozenset()) -> str:
        return "".join("X" if i in accent else "x" if i in hits else "." for i in range(steps))

    kick = {starts[0]} | ({starts[len(starts) // 2]} if len(starts) >= 4 else set())
    if compound:
        snare = {x for i, x in enumerate(starts) if i % 2 == 1}
    elif len(starts) == 3:  # waltz: oom-pah-pah
        snare = set(starts[1:])
    else:
        snare = {starts[-1]} | ({starts[1]} if len(starts) >= 4 else set())
    hat_step = 1 if density > 0.7 else 2
    hats = set(range(0, steps, hat_step))
    main = f"kick: {row(kick)}\nsnare: {row(snare)}\nhat: {row(hats)}"
    sparse = f"kick: {row(kick)}\nhat: {row(set(starts))}"
    full = main + f"\nopen hat: {row({x + pulse // 2 for x in starts if x + pulse // 2 < steps})}"
    last = starts[-1]
    fill = f"kick: {row(kick)}\nsnare: {row(snare - {last} | set(range(last, steps)), accent={steps - 1})}"
    return Patterns(step=0.25, main=(main,), sparse=(sparse,), full=(full,), fill=(fill,))


HATS = {42, 44, 46, 51, 53, 54, 59, 69, 70, 82}  # hats, rides, tambourine, shakers: the time-keepers
KICKS, SNARES, TOMS = {35, 36}, {37, 38, 39, 40}, {41, 43, 45, 47, 48, 50}


# How hard each instrument is played against the kick and the backbeat (a drummer's balance, as in a mix):
# hats and rides under the drums, hand percussion under the hats, the rim click lighter than the snare.
KIT_BALANCE = {42: -10, 44: -14, 46: -6, 51: -8, 53: -4, 59: -8, 54: -14, 69: -16, 70: -16, 82: -16, 37: -10,
               39: -4, 49: -4, 57: -4}


def metric_accent(pitch: int, t: float, bar_len: float, fill: bool) -> int:
    """A drummer's dynamics by place in the bar (velocity steps added to the grid's own accents): time-keepers
    loudest on the bar's first beat, then its middle, then the other beats, softer on the off-8th and soft on the
    16ths between; the kick leans on the downbeat; the snare's backbeats full and anything between them a ghost
    note; a tom pulse leans on beat 1; a fill rises through its bar instead."""
    in_beat = t % 1.0
    on_beat = in_beat < 1e-6 or in_beat > 1 - 1e-6
    eighth = abs(in_beat - 0.5) < 1e-6
    pos = t % bar_len
    if fill:
        return int(round(12 * pos / bar_len)) - 6
    level = 8 if pos < 1e-6 else 3 if abs(pos - bar_len / 2) < 1e-6 and round(bar_len) % 2 == 0 else 0
    if pitch in HATS:
        return (6 + level) if on_beat else (-10 if eighth else -18)
    if pitch in KICKS:
        return (4 + level) if on_beat else -8
    if pitch in SNARES:
        return 6 if on_beat else -22
    if pitch in TOMS:  # a pulse on toms (a chorale's timpani) leans on the bar's first beat
        return (12 if pos < 1e-6 else -6) if on_beat else -8
    return level


def _phrase_swell(b: int, bars_in_phrase: int) -> int:
    """Louder through a phrase toward its fill, as a drummer builds into the turnaround."""
    return int(round(12 * (b % bars_in_phrase) / max(1, bars_in_phrase - 1))) - 6


def _embellish(bar_notes: list[Note], b: int, bar_len: float, rng: random.Random) -> tuple[list[Note], str | None]:
    """A variation on the main groove, so that the bars of a phrase are not copies: a kick pickup into the next
    bar (the second bar of four), the last off-beat hat opened (the third), snare ghost notes before the backbeat
    (the first, now and then). Only where the groove leaves room."""
    starts = {(n.pitch, round(n.start, 3)) for n in bar_notes}
    kicks = [n for n in bar_notes if n.pitch in KICKS]
    hats = [n for n in bar_notes if n.pitch in (42, 44)]
    snares = [n for n in bar_notes if n.pitch in SNARES]
    slot = b % 4
    last16 = round(bar_len - 0.25, 3)
    if slot == 1 and kicks and not any(round(n.start, 3) in (last16, round(bar_len - 0.5, 3)) for n in kicks):
        pick = kicks[0].model_copy(update={"start": bar_len - 0.25, "duration": 0.25,
                                          "velocity": max(1, kicks[0].velocity - 18)})
        return bar_notes + [pick], "kick pickup"
    if slot == 2 and hats:
        off = [n for n in hats if abs(n.start - (bar_len - 0.5)) < 1e-6]
        if off and (46, round(bar_len - 0.5, 3)) not in starts:
            return [n.model_copy(update={"pitch": 46, "duration": 0.5}) if n is off[0] else n
                    for n in bar_notes], "open hat"
    if slot == 0 and b > 0 and snares and rng.random() < 0.6:
        back = [n for n in snares if abs(n.start % 1.0) < 1e-6 and n.start > 0]
        ghosts = []
        for n in back[:2]:
            t = round(n.start - 0.25, 6)
            if (n.pitch, round(t, 3)) not in starts and t > 0:
                ghosts.append(n.model_copy(update={"start": t, "duration": 0.125, "velocity": max(1, n.velocity - 45)}))
        if ghosts:
            return bar_notes + ghosts, "ghost notes"
    return bar_notes, None


def _hat_roll(bar_notes: list[Note], bar_len: float, rng: random.Random) -> tuple[list[Note], str | None]:
    """A trap hi-hat roll: the closed hats of one half beat (before the backbeat or at the bar's end) replaced by
    32nd notes or 16th-note triplets, rising in velocity."""
    hats = [n for n in bar_notes if n.pitch == 42]
    if not hats:
        return bar_notes, None
    at = rng.choice([1.5, bar_len - 1.0, bar_len - 0.5])
    count, kind = (4, "32nds") if rng.random() < 0.5 else (3, "16th triplets")
    step = 0.5 / count
    base = max(n.velocity for n in hats)
    kept = [n for n in bar_notes if not (n.pitch == 42 and at - 1e-6 <= n.start < at + 0.5 - 1e-6)]
    roll = [Note(pitch=42, start=round(at + i * step, 6), duration=round(step * 0.9, 6),
                 velocity=max(1, min(127, base - 24 + 8 * i))) for i in range(count)]
    return kept + roll, f"hat roll ({kind}) at beat {at + 1:g}"


def drum_feel(notes: list[Note], style: Style, tempo: float, length: float, rng: random.Random) -> list[Note]:
    """The style's micro-timing: each family (kick, snare, hat) pushed or laid back by its milliseconds, and a
    drummer's spread around it; notes stay inside the clip."""
    if not style.drum_push_ms and style.drum_jitter_ms <= 0:
        return notes
    per_ms = tempo / 60000.0  # beats per millisecond
    out = []
    for n in notes:
        family = "kick" if n.pitch in KICKS else "snare" if n.pitch in SNARES else "hat" if n.pitch in HATS else "other"
        ms = style.drum_push_ms.get(family, 0.0) + rng.gauss(0.0, style.drum_jitter_ms)
        t = min(max(0.0, n.start + ms * per_ms), length - 1e-3)
        out.append(n.model_copy(update={"start": round(t, 6)}))
    return out


def compose_drums(req: Request, rng: random.Random) -> Outcome:
    p = req.style.drums
    derived = abs(req.bar_len - 4.0) > 1e-9 or req.ts.denominator != 4
    if derived:
        p = meter_grooves(req.ts, req.density)
    options = _patterns_for_energy(p, req.energy)
    main = _by_density(options, req.density, rng)
    alternatives = [g for g in options if g != main]
    variation = rng.choice(alternatives) if alternatives else main
    fill = rng.choice(p.fill) if p.fill else main
    notes: list[Note] = []
    used = {"main": main}
    extras: list[str] = []
    build = p.build or tuple(f"snare: {x}" for x in ("x...x...x...x...", "x.x.x.x.x.x.x.x.", "xxxxxxxxxxxxxxxx"))
    for b in range(req.bars):
        last_of_phrase = (b + 1) % req.fill_every == 0 or (req.fill_last_bar and b == req.bars - 1)
        if req.drum_build:  # denser and louder toward the end: the style's build patterns under the groove
            stage = min(len(build) - 1, b * len(build) // req.bars)
            grid, what = main + "\n" + build[stage], "build"
            rise = int(30 * (b + 1) / req.bars) - 20
            for n in _drum_bar(grid, p.step, req.ts):
                notes.append(n.model_copy(update={"start": round(n.start + b * req.bar_len, 6),
                                                  "velocity": max(1, min(127, n.velocity - 100 + req.velocity + rise))}))
            used[what] = grid
            continue
        if last_of_phrase and req.bars > 1:
            grid, what = fill, "fill"
        elif b % 4 == 3:
            grid, what = variation, "variation"
        else:
            grid, what = main, "main"
        used[what] = grid
        swell = _phrase_swell(b, min(req.fill_every, 8))
        bar_notes = []
        for n in _drum_bar(grid, p.step, req.ts):
            jitter = (int(rng.gauss(0, 4 * req.temperature)) + swell + KIT_BALANCE.get(n.pitch, 0)
                      + metric_accent(n.pitch, n.start, req.bar_len, what == "fill"))
            bar_notes.append(n.model_copy(update={"velocity": max(1, min(127, n.velocity - 100 + req.velocity
                                                                            + jitter))}))
        if what == "main" and not derived and req.bars > 1:
            bar_notes, extra = _embellish(bar_notes, b, req.bar_len, rng)
            if extra and extra not in extras:
                extras.append(extra)
        if what != "fill" and not derived and req.style.hat_rolls and rng.random() < req.style.hat_rolls:
            bar_notes, extra = _hat_roll(bar_notes, req.bar_len, rng)
            if extra:
                extras.append(extra)
        notes += [n.model_copy(update={"start": round(n.start + b * req.bar_len, 6)}) for n in bar_notes]
    details = [f"groove ({'sparse' if options is p.sparse else 'full' if options is p.full else 'main'} set) "
               f"{main!r}"]
    if derived:
        details.append(f"a {req.ts} groove derived from the metre (the {req.style.name} library's grooves are 4/4)")
    if "fill" in used:
        details.append(f"fill at the end of every {req.fill_every} bars and the last bar")
    if extras:
        details.append("variations: " + ", ".join(dict.fromkeys(x.split(" at ")[0] for x in extras)))
    return Outcome(notes, details)


# ------------------------------------------------------------------ melody and counter-melody


def _chord_tones_in(c: ChordEvent, lo: int, hi: int) -> list[int]:
    return [p for p in range(lo, hi + 1) if p % 12 in c.pcs]


def _rhythm_bar(cell: str, bar_len: float) -> list[tuple[float, float]]:
    ev = step_events(cell, 0.25, bar_len)
    return ev or [(0.0, bar_len)]


def melody_window(req: Request) -> tuple[int, int]:
    """The part of the register the melody works in: the style's span (an octave and a bit), centred."""
    lo, hi = req.register
    span = req.style.melody_span
    if hi - lo <= span:
        return lo, hi
    low = lo + (hi - lo - span) // 2
    return low, low + span


HOME_PULL = 2.5  # semitones of distance a skeleton note on the tonic chord gives up to land on the tonic


def compose_melody(req: Request, rng: random.Random) -> Outcome:
    """Periods of eight bars built from 2-bar ideas in the style's form — AABA in songs (the hook, the hook
    again into a cadence, a contrasting idea, the hook), ABAC in folk and chorale (antecedent and consequent).
    A fresh idea is a call bar and a response bar in different rhythms; every fourth bar cadences (a half
    cadence, the last a full one) on a held note. In a fresh bar the strong-beat notes are planned first as a
    skeleton of chord tones moving by small steps (now and then a leap, recovered by step the other way), with
    passing and neighbour tones of the scale between. A restated idea keeps its rhythm and shape, moved to the
    nearest tones of the chords under it (the same notes where the chords repeat)."""
    lo, hi = melody_window(req)
    scale_pcs = {(req.key.tonic + s) % 12 for s in req.key.scale}
    scale = [p for p in range(lo, hi + 1) if p % 12 in scale_pcs] or list(range(lo, hi + 1))
    cells = req.style.melody_rhythms
    form = req.style.melody_form
    bar_len = req.bar_len
    temp = req.temperature
    centre = (lo + hi) / 2
    state = {"prev": _nearest(scale, lo + (hi - lo) * 0.4), "direction": 1, "leaps": 0}

    def cell_for(letter: str, which: int) -> str:
        """Each idea's call and response rhythms, different from each other and from the other ideas'."""
        order = sorted(set(form + "Z")).index(letter)
        want = min(1.0, max(0.0, req.density + (0.2 if which else 0.0) - 0.15 * order))
        chosen = _by_density(cells, want, rng)
        if which and chosen == calls.get(letter) and len(cells) > 1:
            chosen = rng.choice([c for c in cells if c != chosen])
        return chosen

    def cadence_rhythm(rhythm: list[tuple[float, float]]) -> list[tuple[float, float]]:
        held = rhythm[: max(1, len(rhythm) // 2)]
        return held[:-1] + [(held[-1][0], bar_len - held[-1][0])]

    def strong_flags(times, rhythm, chords) -> list[bool]:
        flags = [strong_beat(t, req.ts) or d >= 1.0 or abs(c.start - t) < 1e-6
                 for t, (_, d), c in zip(times, rhythm, chords)]
        flags[0] = True  # each bar's first note is an anchor
        return flags

    def cadence_pitch(c: ChordEvent, full: bool, near: int, tones: list[int]) -> int:
        if full:
            goal = closing_tones(req.key, c)
        else:  # a half cadence rests on the chord's third or fifth
            goal = {(c.spec.root + i) % 12 for i in c.spec.intervals if i % 12 in (3, 4, 7)} or {c.spec.root}
        cands = [q for q in tones if q % 12 in goal] or tones
        return min(cands, key=lambda q: (abs(q - near), q))

    def fresh_bar(bar: int, rhythm, cadence: str | None) -> list[int]:
        times = [bar * bar_len + s for s, _ in rhythm]
        chords = [chord_at(req.chords, t) for t in times]
        strong = strong_flags(times, rhythm, chords)
        pitches: list[int | None] = [None] * len(rhythm)
        last_anchor = state["prev"]
        for k in range(len(rhythm)):
            closing = cadence is not None and k == len(rhythm) - 1
            if not strong[k] and not closing:
                continue
            tones = _chord_tones_in(chords[k], lo, hi) or scale
            home = chords[k].spec.root == req.key.tonic  # on the tonic chord the line leans on the tonic
            if closing:
                p = cadence_pitch(chords[k], cadence == "full", last_anchor, tones)
            elif bar == 0 and k == 0 and home:  # the tune states its home first
                p = min((q for q in tones if q % 12 == req.key.tonic), key=lambda q: (abs(q - last_anchor), q),
                        default=min(tones, key=lambda q: (abs(q - last_anchor), q)))
            elif rng.random() < req.style.leap * temp * 0.6 and state["leaps"] == 0:
                far = [q for q in tones if 5 <= (q - last_anchor) * state["direction"] <= 9]
                p = rng.choice(far) if far else min(tones, key=lambda q: (abs(q - last_anchor), q))
                state["leaps"] = 2  # the next two anchors step back the other way
                state["direction"] = -state["direction"]
            else:
                want = last_anchor + state["direction"] * rng.choice((0, 1, 2, 3, 3, 4))
                pull = HOME_PULL if home else HOME_PULL * 0.6 if req.key.tonic in chords[k].pcs else 0.0
                p = min(tones, key=lambda q: (abs(q - want) + rng.random() * 1.5 * temp
                                              - pull * (q % 12 == req.key.tonic), q))
                state["leaps"] = max(0, state["leaps"] - 1)
            pitches[k] = p
            last_anchor = p
            if p >= hi - 2 or (p > centre + 4 and rng.random() < 0.35):
                state["direction"] = -1
            elif p <= lo + 2 or (p < centre - 4 and rng.random() < 0.35):
                state["direction"] = 1
            elif rng.random() < 0.15 * temp:
                state["direction"] = -state["direction"]
        for k in range(len(rhythm)):  # passing and neighbour tones between the anchors
            if pitches[k] is not None:
                continue
            before = pitches[k - 1] if k > 0 else state["prev"]
            nxt = next((pitches[j] for j in range(k + 1, len(rhythm)) if pitches[j] is not None), None)
            target = nxt if nxt is not None else before
            if target == before:  # a neighbour: step away, to come back
                p = _step(scale, before, 1 if rng.random() < 0.5 else -1) if rng.random() < 0.85 else before
            else:
                p = _step(scale, before, 1 if target > before else -1)
            pitches[k] = p
        return [max(lo, min(hi, p if p is not None else state["prev"])) for p in pitches]

    def restate_bar(bar: int, rhythm, shape: list[int], shift: int, cadence: str | None) -> list[int]:
        times = [bar * bar_len + s for s, _ in rhythm]
        chords = [chord_at(req.chords, t) for t in times]
        strong = strong_flags(times, rhythm, chords)
        out = []
        for k, (want, c) in enumerate(zip(shape, chords)):
            want += shift
            tones = _chord_tones_in(c, lo, hi) or scale
            if cadence is not None and k == len(rhythm) - 1:
                p = cadence_pitch(c, cadence == "full", out[-1] if out else want, tones)
            elif strong[k]:
                p = min(tones, key=lambda q: (abs(q - want), q))
            else:
                p = _nearest(scale, want)
            out.append(p)
        return out

    calls: dict[str, str] = {}
    ideas: dict[str, dict] = {}  # letter -> {"call": (rhythm, pitches), "response": ..., "cadence": ...}
    notes: list[Note] = []
    used: list[str] = []
    for bar in range(req.bars):
        window, second = divmod(bar, 2)
        letter = form[window % 4]
        final = bar == req.bars - 1
        cadence = "full" if final or (second and window % 4 == 3) else "half" if second and window % 2 == 1 else None
        if final and not second and req.bars % 2:  # an odd last bar: a one-bar closing idea
            letter = "Z"
        slot = "call" if not second else ("cadence" if cadence else "response")
        idea = ideas.setdefault(letter, {})
        if letter not in calls:
            calls[letter] = cell_for(letter, 0)
        if slot in idea:  # the idea again: its rhythm and shape on the chords here
            rhythm, shape = idea[slot]
            first_bar = bar - second
            if not second:
                c0 = chord_at(req.chords, first_bar * bar_len + rhythm[0][0])
                tones = _chord_tones_in(c0, lo, hi) or scale
                nearest = min(tones, key=lambda q: (abs(q - shape[0]), q))
                idea["shift"] = nearest - shape[0]
            line = restate_bar(bar, rhythm, shape, idea.get("shift", 0), cadence)
        elif slot == "cadence" and "response" in idea:  # the response, settling on a held note
            r_rhythm, r_shape = idea["response"]
            rhythm = cadence_rhythm(r_rhythm)
            line = restate_bar(bar, rhythm, r_shape[: len(rhythm)], idea.get("shift", 0), cadence)
            idea[slot] = (rhythm, r_shape[: len(rhythm)])
        else:
            if slot == "call" or cadence is None:
                rhythm = _rhythm_bar(calls[letter] if slot == "call" else cell_for(letter, 1), bar_len)
            else:
                rhythm = cadence_rhythm(_rhythm_bar(cell_for(letter, 1), bar_len))
            idea["shift"] = 0
            line = fresh_bar(bar, rhythm, cadence)
            idea[slot] = (rhythm, line)
        times = [bar * bar_len + s for s, _ in rhythm]
        strong = strong_flags(times, rhythm, [chord_at(req.chords, t) for t in times])
        for k, ((_, d), p) in enumerate(zip(rhythm, line)):
            notes.append(Note(pitch=p, start=round(times[k], 6), duration=round(d * 0.96, 6),
                              velocity=_vel(req.velocity - 4 + (10 if strong[k] else 0), rng)))
        state["prev"] = line[-1]
        if not second:
            used.append(letter)
    shown = "".join(used[:4])
    return Outcome(notes, [f"2-bar ideas in the form {shown or form} per 8 bars (a letter again restates its idea on the "
                           f"chords there), calls {', '.join(f'{k} {v!r}' for k, v in sorted(calls.items()) if k != 'Z')}; "
                           f"a cadence every 4 bars; range {lo}-{hi}; a skeleton of chord tones on strong beats, "
                           "passing and neighbour tones between"])


def _nearest(scale: list[int], want: float) -> int:
    return min(scale, key=lambda q: (abs(q - want), q))


def _step(scale: list[int], prev: int, direction: int) -> int:
    if not scale:
        return prev
    if direction > 0:
        up = [q for q in scale if q > prev]
        return up[0] if up else max(q for q in scale if q < prev) if any(q < prev for q in scale) else prev
    down = [q for q in scale if q < prev]
    return down[-1] if down else min(q for q in scale if q > prev) if any(q > prev for q in scale) else prev


def compose_counter(req: Request, rng: random.Random, melody: list[Note] | None = None) -> Outcome:
    """Guide tones (thirds, sevenths, else fifths) moving by the smallest step; against a given melody it
    avoids unisons and octaves at shared onsets and prefers contrary motion."""
    lo, hi = req.register
    cell = _by_density(req.style.counter_rhythms, req.density, rng)
    rhythm = _rhythm_bar(cell, req.bar_len)
    prev = (lo + hi) // 2
    notes: list[Note] = []
    mel = sorted(melody or [], key=lambda n: n.start)

    def melody_at(t: float) -> int | None:
        sounding = [n.pitch for n in mel if n.start - 1e-9 <= t < n.end - 1e-9]
        return max(sounding) if sounding else None

    last_mel = None
    for bar in range(req.bars):
        for s, d in rhythm:
            t = bar * req.bar_len + s
            c = chord_at(req.chords, t)
            d = min(d, c.end - t) if c.end > t else d
            guide = {(c.spec.root + i) % 12 for i in c.spec.intervals if i % 12 in (3, 4, 10, 11)} or c.pcs
            cands = [p for p in range(lo, hi + 1) if p % 12 in guide] or _chord_tones_in(c, lo, hi)
            m = melody_at(t)

            def cost(p: int) -> float:
                x = abs(p - prev) + rng.random() * req.temperature
                if m is not None:
                    if p >= m or (m - p) % 12 == 0:
                        x += 12
                    if last_mel is not None and (p - prev) * (m - last_mel) > 0:
                        x += 1.5  # similar motion
                return x

            p = min(cands, key=lambda q: (cost(q), q))
            notes.append(Note(pitch=p, start=round(t, 6), duration=round(d * 0.95, 6),
                              velocity=_vel(req.velocity - 16, rng)))
            prev, last_mel = p, m
    return Outcome(notes, [f"guide-tone line (thirds and sevenths) in rhythm {cell!r}"
                           + (", below the given melody, contrary motion preferred" if mel else "")])


# ------------------------------------------------------------------ shared


def _vel(v: float, rng: random.Random) -> int:
    return max(1, min(127, int(round(v + rng.gauss(0, 3)))))


COMPOSERS = {"chords": compose_chords, "pad": compose_pad, "arpeggio": compose_arpeggio, "bass": compose_bass,
             "drums": compose_drums, "melody": compose_melody}


def compose_role(req: Request, melody: list[Note] | None = None) -> Outcome:
    rng = random.Random(f"{req.seed}:{req.role}:{req.style.name}")
    out = compose_counter(req, rng, melody) if req.role == "counter" else COMPOSERS[req.role](req, rng)
    notes = out.notes
    swing = req.style.swing
    if swing > 0.51 and not (req.role == "drums" and abs(req.style.drums.step - 0.25) > 1e-9):
        pair = 1.0 if req.role != "drums" and req.style.name == "jazz" else 0.5
        notes = apply_swing(notes, pair=pair, ratio=min(0.75, swing))
        out.details.append(f"swing {swing:.2f} on {'eighths' if pair == 1.0 else 'sixteenths'}")
    if req.role == "drums" and not req.drum_build:
        notes = drum_feel(notes, req.style, req.tempo, req.length, rng)
        push = ", ".join(f"{k} {v:+g} ms" for k, v in req.style.drum_push_ms.items())
        out.details.append(f"feel: {push + ', ' if push else ''}timing spread {req.style.drum_jitter_ms:g} ms")
    notes = fit_to_length(notes, req.length)
    if req.role in ("melody", "counter", "bass"):
        notes = one_line(notes)
    out.notes = no_overlaps(notes)
    return out


def fit_to_chords(notes: list[Note], chords: list[ChordEvent], ts: TimeSignature, lo: int, hi: int,
                  key: Key) -> list[Note]:
    """Move strong-beat notes that are not tones of their chord to the nearest chord tone in range, and other
    notes that are neither in the key nor tones of their chord to the nearest scale tone (used after varying
    a line that must still fit its chords)."""
    scale = key.pitch_classes()
    out = []
    for n in notes:
        c = chord_at(chords, n.start)
        strong = strong_beat(n.start, ts) or n.duration >= 1.0 or abs(c.start - n.start) < 1e-6
        if strong and n.pitch % 12 not in c.pcs:
            tones = _chord_tones_in(c, lo, hi)
            if tones:
                n = n.model_copy(update={"pitch": min(tones, key=lambda q: (abs(q - n.pitch), q))})
        elif n.pitch % 12 not in scale and n.pitch % 12 not in c.pcs:
            near = [q for q in range(lo, hi + 1) if q % 12 in scale]
            if near:
                n = n.model_copy(update={"pitch": min(near, key=lambda q: (abs(q - n.pitch), q))})
        out.append(n)
    return out



