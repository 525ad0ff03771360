"""Transformations that keep what must stay: transpose (chromatic, diatonic, mode change), quantize,
humanize, and grooves (extracted from a reference or from a template library) applied with a strength.

Every function returns new notes in the same order as the input; nothing is changed in place.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .errors import LiveloomError
from .theory import SCALES, Key
from .types import Note, TimeSignature, pitch_name


def _checked(notes: list[Note], pitches: list[int], what: str) -> list[Note]:
    for n, p in zip(notes, pitches):
        if not 0 <= p <= 127:
            raise LiveloomError(f"{what} would move {pitch_name(n.pitch)} at beat {n.start:g} out of the MIDI range "
                                "(0-127); transpose by less, or by octaves the other way")
    return [n.model_copy(update={"pitch": p}) for n, p in zip(notes, pitches)]


def transpose_chromatic(notes: list[Note], semitones: int) -> list[Note]:
    return _checked(notes, [n.pitch + semitones for n in notes], f"transposing by {semitones} semitones")


def _degree(pitch: int, key: Key) -> tuple[int, int, int]:
    """-> (octave, scale degree 0-6, chromatic offset 0/1 above that degree)."""
    rel = (pitch - key.tonic) % 12
    base = pitch - rel
    scale = key.scale
    degree = max(i for i, s in enumerate(scale) if s <= rel)
    return base, degree, rel - scale[degree]


def transpose_diatonic(notes: list[Note], steps: int, key: Key) -> list[Note]:
    """Move every note `steps` scale degrees within `key` (C-E in C major, up 1 step, becomes D-F)."""
    scale = key.scale
    out = []
    for n in notes:
        base, degree, chroma = _degree(n.pitch, key)
        octaves, new_degree = divmod(degree + steps, 7)
        out.append(base + 12 * octaves + scale[new_degree] + chroma)
    return _checked(notes, out, f"moving by {steps} scale steps")


def change_mode(notes: list[Note], key: Key, mode: str) -> list[Note]:
    """Same tonic, another mode: each scale degree of `key` goes to the same degree of `mode`."""
    if mode not in SCALES:
        raise LiveloomError(f"unknown mode {mode!r}; use one of: {', '.join(SCALES)}")
    target = SCALES[mode]
    out = []
    for n in notes:
        base, degree, chroma = _degree(n.pitch, key)
        out.append(base + target[degree] + chroma)
    return _checked(notes, out, f"changing to {mode}")


def quantize(notes: list[Note], grid: float, strength: float = 1.0, swing: float | None = None,
             keep_lengths: bool = True) -> list[Note]:
    """Pull starts toward the grid by `strength` (0-1); with `swing`, the off-beat of each grid pair sits at
    `swing` of the pair. Without `keep_lengths`, ends are quantized too."""
    if not 0 <= strength <= 1:
        raise LiveloomError(f"strength must be between 0 and 1, not {strength}")
    if grid <= 0:
        raise LiveloomError("grid must be more than 0 beats")

    def target(t: float) -> float:
        k = round(t / grid)
        pos = k * grid
        if swing is not None and k % 2 == 1:
            pos = (k - 1) * grid + 2 * grid * swing
        return pos

    out = []
    for n in notes:
        start = n.start + strength * (target(n.start) - n.start)
        if keep_lengths:
            dur = n.duration
        else:
            end = n.end + strength * (target(n.end) - n.end)
            dur = max(grid / 4, end - start)
        out.append(n.model_copy(update={"start": round(max(0.0, start), 6), "duration": round(dur, 6)}))
    return out


def humanize(notes: list[Note], *, timing_beats: float, velocity: int, seed: int) -> list[Note]:
    """Gaussian timing (sd `timing_beats`) and velocity (sd `velocity`) variation, reproducible by `seed`."""
    rng = random.Random(seed)
    out = []
    for n in notes:
        dt = rng.gauss(0.0, timing_beats) if timing_beats > 0 else 0.0
        dv = rng.gauss(0.0, velocity) if velocity > 0 else 0.0
        out.append(n.model_copy(update={"start": round(max(0.0, n.start + dt), 6),
                                        "velocity": int(max(1, min(127, round(n.velocity + dv))))}))
    return out


@dataclass(frozen=True)
class Groove:
    """Timing offset (beats) and velocity ratio for each grid position in a bar."""

    name: str
    grid: float
    timing: tuple[float, ...]
    velocity: tuple[float, ...]
    swing: float | None = None  # a swing template's ratio: it can be restated on another grid (for_grid)

    def describe(self) -> dict:
        return {"name": self.name, "grid": GRID_NAMES.get(round(self.grid, 4), f"{self.grid:g} beats"),
                "positions": len(self.timing),
                "timing_beats": [round(x, 4) for x in self.timing],
                "velocity_ratio": [round(x, 3) for x in self.velocity]}


def _swing16(ratio: float, name: str) -> Groove:
    # off 16ths (odd positions) move from 0.5 to `ratio` of the 8th: an offset of (ratio - 0.5) * 0.5 beats
    off = (ratio - 0.5) * 0.5
    return Groove(name, 0.25, tuple(off if i % 2 else 0.0 for i in range(16)),
                  tuple(1.0 if i % 4 == 0 else (0.8 if i % 2 else 0.9) for i in range(16)), swing=ratio)


def _swing8(ratio: float, name: str) -> Groove:
    # off 8ths move from 0.5 to `ratio` of the beat
    return Groove(name, 0.5, tuple((ratio - 0.5) if i % 2 else 0.0 for i in range(8)),
                  tuple(1.0 if i % 2 == 0 else 0.8 for i in range(8)), swing=ratio)


# grids a groove can live on, coarsest first: 8ths, 8th triplets, 16ths, 16th triplets, 32nds
GRIDS = (0.5, 1 / 3, 0.25, 1 / 6, 0.125)
GRID_NAMES = {0.5: "8ths", 0.3333: "8th triplets", 0.25: "16ths", 0.1667: "16th triplets", 0.125: "32nds"}


def detect_grid(starts: list[float]) -> float:
    """The coarsest grid that gives every onset of every beat a step of its own: straight or swung 8ths -> 8ths,
    triplets -> 8th triplets, 16ths (swung or not) -> 16ths. A swung off-beat stays on the grid it swings (0.67 of a
    beat with only the beat beside it is a swung 8th, not a triplet)."""
    per_beat: dict[int, int] = {}
    for t in {round(x, 6) for x in starts}:
        b = int((t + 1 / 12) // 1.0)
        per_beat[b] = per_beat.get(b, 0) + 1
    most = max(per_beat.values(), default=1)
    for g in GRIDS:
        if most <= round(1 / g):
            return g
    return GRIDS[-1]


def for_grid(groove: Groove, grid: float) -> Groove:
    """A swing template restated on the grid a clip uses: MPC swing is defined on 16ths; a clip of 8ths gets
    the same swing ratio on its off-8ths. Other grooves are returned as they are."""
    if groove.swing is None or abs(grid - groove.grid) < 1e-9:
        return groove
    if abs(grid - 0.5) < 1e-9:
        return _swing8(groove.swing, groove.name)
    if abs(grid - 0.25) < 1e-9:
        return _swing16(groove.swing, groove.name)
    return groove


TEMPLATES: dict[str, Groove] = {
    **{f"mpc_swing_{p}": _swing16(p / 100, f"mpc_swing_{p}") for p in (50, 54, 58, 62, 66, 71, 75)},
    # 8th-note shuffle: the "and" of each beat at 2/3 (positions 2, 6, 10, 14 of the 16th grid)
    "shuffle": Groove("shuffle", 0.25, tuple((2 / 3 - 0.5) if i % 4 == 2 else 0.0 for i in range(16)),
                      tuple(1.0 if i % 4 == 0 else 0.75 for i in range(16))),
    "laid_back": Groove("laid_back", 0.25, tuple(0.03 if i % 4 else 0.015 for i in range(16)),
                        tuple(0.95 for _ in range(16))),
    "push": Groove("push", 0.25, tuple(-0.025 if i % 4 else -0.01 for i in range(16)), tuple(1.0 for _ in range(16))),
    # half-time: the backbeat accent moves to beat 3
    "half_time": Groove("half_time", 0.25, tuple(0.0 for _ in range(16)),
                        tuple(1.15 if i == 8 else (1.0 if i == 0 else 0.8) for i in range(16))),
    # son clave 3-2 accents: 16th positions 0, 6, 12 | 4, 8 of the second bar folded into one bar's profile
    "clave_son": Groove("clave_son", 0.25, tuple(0.0 for _ in range(16)),
                        tuple(1.2 if i in (0, 6, 12) else 0.85 for i in range(16))),
}


def grid_slots(starts: list[float], grid: float) -> list[int]:
    """The grid step each onset belongs to. A heavy swing can move a note more than half a step (a shuffled
    off-beat at 0.67 is nearer the next 16th), so in a beat that holds exactly one onset per grid step the
    steps are assigned in order; elsewhere, the nearest step."""
    per_beat = max(1, int(round(1.0 / grid)))
    beat_of = {t: int((t + grid / 2) // 1.0) for t in set(starts)}
    by_beat: dict[int, list[float]] = {}
    for t in sorted(set(starts)):
        by_beat.setdefault(beat_of[t], []).append(t)
    slot: dict[float, int] = {}
    for b, times in by_beat.items():
        if len(times) == per_beat:
            for i, t in enumerate(times):
                slot[t] = b * per_beat + i
        else:
            for t in times:
                slot[t] = int(round(t / grid))
    return [slot[t] for t in starts]


def extract_groove(notes: list[Note], ts: TimeSignature, grid: float | None = None) -> Groove:
    """Average timing offset from the grid, and velocity relative to the mean, per grid position of the bar; the
    grid is the reference's own (detect_grid) unless given."""
    sounding = [n for n in notes if not n.mute]
    if len(sounding) < 4:
        raise LiveloomError("the reference has too few notes to show a groove (at least 4 needed)")
    grid = grid or detect_grid([n.start for n in sounding])
    per_bar = max(1, int(round(ts.beats_per_bar / grid)))
    offsets: dict[int, list[float]] = {}
    vels: dict[int, list[int]] = {}
    for n, k in zip(sounding, grid_slots([n.start for n in sounding], grid)):
        pos = k % per_bar
        offsets.setdefault(pos, []).append(n.start - k * grid)
        vels.setdefault(pos, []).append(n.velocity)
    mean_v = sum(n.velocity for n in sounding) / len(sounding)
    timing = tuple(sum(offsets[p]) / len(offsets[p]) if p in offsets else 0.0 for p in range(per_bar))
    velocity = tuple((sum(vels[p]) / len(vels[p])) / mean_v if p in vels else 1.0 for p in range(per_bar))
    if all(abs(t) < 1e-4 for t in timing) and all(abs(v - 1) < 1e-3 for v in velocity):
        raise LiveloomError("the reference is on the grid with even velocities: there is no groove to transfer")
    return Groove("reference", grid, timing, velocity)


def apply_groove(notes: list[Note], groove: Groove, strength: float) -> list[Note]:
    """Move each note by `strength` of its grid position's offset, and scale its velocity likewise. A note between
    the groove's steps (a 16th under an 8th-note swing) moves with the time between its neighbours, stretched as
    they are: straight 16ths under a triplet swing land on 1/3 and 5/6 of the beat."""
    if not 0 <= strength <= 1:
        raise LiveloomError(f"strength must be between 0 and 1, not {strength}")
    n_pos = len(groove.timing)
    g = groove.grid
    out = []
    for n, k in zip(notes, grid_slots([n.start for n in notes], g)):
        pos = k % n_pos
        if abs(n.start - k * g) <= g / 4 + 1e-9:  # on (or near) a step: to the groove's place for it
            start = k * g + (n.start - k * g) * (1 - strength) + groove.timing[pos] * strength
        else:  # between steps: the warp between the neighbouring steps
            i = int(n.start // g)
            a, b = i * g + groove.timing[i % n_pos], (i + 1) * g + groove.timing[(i + 1) % n_pos]
            start = n.start + strength * (a + (n.start - i * g) / g * (b - a) - n.start)
        vel = n.velocity * (1 + strength * (groove.velocity[pos] - 1))
        out.append(n.model_copy(update={"start": round(max(0.0, start), 6),
                                        "velocity": int(max(1, min(127, round(vel))))}))
    return out


KICK, SNARE, CLOSED_HAT, OPEN_HAT = 36, 38, 42, 46


def drumify(notes: list[Note], ts: TimeSignature, hats: str = "onsets") -> list[Note]:
    """A melody's rhythm as a drum part: every onset keeps its time and accent. Onsets on the strong beats
    (1 and 3 of 4/4; 1 of 3/4) and low notes become kicks, the backbeats snares, the rest closed hats; a note
    held a beat or longer opens the hat. With hats="eighths" closed hats also fill the eighths."""
    if hats not in ("onsets", "eighths"):
        raise LiveloomError("hats must be 'onsets' or 'eighths'")
    sounding = [n for n in notes if not n.mute]
    if not sounding:
        raise LiveloomError("the clip has no sounding notes to take a rhythm from")
    beat = 4.0 / ts.denominator
    per_bar = ts.numerator
    strong = {0, 2} if per_bar == 4 else {0}
    back = {1, 3} if per_bar == 4 else set(range(1, per_bar))
    median_pitch = sorted(n.pitch for n in sounding)[len(sounding) // 2]
    onsets: dict[float, list[Note]] = {}
    for n in sounding:
        onsets.setdefault(round(n.start, 6), []).append(n)
    out: list[Note] = []
    for t, group in sorted(onsets.items()):
        velocity = max(n.velocity for n in group)
        lowest = min(n.pitch for n in group)
        longest = max(n.duration for n in group)
        on_beat = abs(t / beat - round(t / beat)) < 1e-3
        position = int(round(t / beat)) % per_bar
        if on_beat and position in back:
            drum = SNARE
        elif (on_beat and position in strong) or lowest < median_pitch - 5:
            drum = KICK
        else:
            drum = CLOSED_HAT
        out.append(Note(pitch=drum, start=t, duration=0.25 if drum != CLOSED_HAT else 0.125, velocity=velocity))
        if longest >= beat and drum != CLOSED_HAT:
            out.append(Note(pitch=OPEN_HAT, start=t, duration=min(longest, beat), velocity=max(1, velocity - 20)))
    if hats == "eighths":
        have = {round(n.start, 6) for n in out}
        end = max(n.end for n in sounding)
        t = 0.0
        while t < end - 1e-9:
            if round(t, 6) not in have:
                out.append(Note(pitch=CLOSED_HAT, start=round(t, 6), duration=0.125,
                                velocity=70 if abs(t / beat - round(t / beat)) < 1e-3 else 55))
            t += beat / 2
    out.sort(key=lambda n: (n.start, n.pitch))
    return out
