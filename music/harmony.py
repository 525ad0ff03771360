"""Chords in time: a progression parsed into chord events, and what sounds at a moment."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import LiveloomError
from .notation import parse_progression
from .theory import ChordSpec, Key, chord_name, looks_like_roman, parse_roman
from .types import TimeSignature


@dataclass(frozen=True)
class ChordEvent:
    spec: ChordSpec
    start: float
    duration: float
    symbol: str

    @property
    def end(self) -> float:
        return self.start + self.duration

    @property
    def pcs(self) -> set[int]:
        return {(self.spec.root + i) % 12 for i in self.spec.intervals} | {self.spec.bass}


def progression_events(text: str, key: Key, ts: TimeSignature, bars: int, cut: bool = False) -> list[ChordEvent]:
    """Parse a progression (chord symbols or roman numerals; one chord per bar unless durations say) and
    repeat it to fill `bars` bars. Longer than `bars`: cut when `cut` (the style chose it), else an error
    that says what to change (the user gave it)."""
    tokens = text.replace("|", " ").split()
    kind = "roman" if tokens and all(t == "%" or _is_roman(t.split(":")[0], key) for t in tokens) else "chords"
    parsed = parse_progression(text, kind, key, ts)
    total = bars * ts.beats_per_bar
    span = parsed[-1][1] + parsed[-1][2]
    if span > total + 1e-6 and not cut:
        raise LiveloomError(f"the progression {text!r} lasts {span / ts.beats_per_bar:g} bars but bars={bars}; "
                            f"ask for at least {span / ts.beats_per_bar:g} bars or give a shorter progression")
    events: list[ChordEvent] = []
    offset = 0.0
    while offset < total - 1e-9:
        for spec, start, dur, tok in parsed:
            s = offset + start
            if s >= total - 1e-9:
                break
            events.append(ChordEvent(spec, s, min(dur, total - s), tok.text.split(":")[0]))
        offset += span
    return events


def _is_roman(token: str, key: Key) -> bool:
    if not looks_like_roman(token) and token[:1] not in "IViv":
        return False
    try:
        parse_roman(token, key)
        return True
    except ValueError:
        return False


def chord_at(chords: list[ChordEvent], t: float) -> ChordEvent:
    for c in chords:
        if c.start - 1e-9 <= t < c.end - 1e-9:
            return c
    return chords[-1]


def describe_progression(chords: list[ChordEvent]) -> list[dict]:
    return [{"symbol": c.symbol, "chord": chord_name(c.spec), "start": round(c.start, 6),
             "duration": round(c.duration, 6)} for c in chords]


def closing_tones(key: Key, chord: ChordEvent) -> set[int]:
    """The pitch classes a melody's last note comes to rest on over `chord`: the tonic where the chord holds it;
    over a chord without it (a loop turning round on V or VII) the supertonic, a step above the note the loop
    begins on, else a tone of the tonic triad, else the chord's root."""
    pcs = set(chord.pcs)
    if key.tonic in pcs:
        return {key.tonic}
    home_triad = {(key.tonic + i) % 12 for i in (3 if key.is_minor else 4, 7)}
    return {(key.tonic + 2) % 12} & pcs or home_triad & pcs or {chord.spec.root}
