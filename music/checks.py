"""Checks on generated material, reported in every compose/arrange result.

Each check is a small pure function over notes that returns a `Check`: its name, whether it passed,
and what it found. They are the same checks the constraint benchmark counts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .harmony import ChordEvent, chord_at
from .notation import DRUM_PITCHES
from .theory import Key
from .types import Note, TimeSignature


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str

    def as_dict(self) -> dict:
        return asdict(self)


def exact_bars(notes: list[Note], length: float, bars: int, ts: TimeSignature) -> Check:
    want = bars * ts.beats_per_bar
    late = [n for n in notes if n.end > length + 1e-6]
    ok = abs(length - want) < 1e-6 and not late
    return Check("exact_bars", ok, f"{length / ts.beats_per_bar:g} bars of {ts} asked {bars}"
                 + (f"; {len(late)} notes run past the end" if late else ""))


def in_range(notes: list[Note], lo: int, hi: int, what: str = "register") -> Check:
    out = [n.pitch for n in notes if not lo <= n.pitch <= hi]
    return Check("in_range", not out, f"all {len(notes)} notes within {lo}-{hi} ({what})" if not out
                 else f"{len(out)} notes outside {lo}-{hi} ({what}), e.g. {out[:5]}")


def check_no_overlaps(notes: list[Note]) -> Check:
    by_pitch: dict[int, list[Note]] = {}
    for n in notes:
        by_pitch.setdefault(n.pitch, []).append(n)
    bad = 0
    for group in by_pitch.values():
        group.sort(key=lambda n: n.start)
        bad += sum(1 for a, b in zip(group, group[1:]) if b.start < a.end - 1e-6)
    return Check("no_overlapping_same_pitch", bad == 0,
                 "no two notes of the same pitch overlap" if not bad else f"{bad} same-pitch overlaps")


def _key_words(key: Key) -> str:
    return f"{key}" + (" (with its raised 6th and 7th)" if key.mode == "minor" else "")


def in_key(notes: list[Note], key: Key, chords: list[ChordEvent] | None) -> Check:
    """Notes outside the key's scale pass only on purpose: as a tone of the chord sounding then (a borrowed
    or secondary chord), or as a chromatic approach (a semitone into the next note, which is in key or a
    chord tone)."""
    scale = key.written_pitch_classes()
    ordered = sorted(notes, key=lambda n: (n.start, n.pitch))
    outside = chord_tone = approach = 0
    stray: list[str] = []
    for i, n in enumerate(ordered):
        pc = n.pitch % 12
        if pc in scale:
            continue
        outside += 1
        if chords and pc in chord_at(chords, n.start).pcs:
            chord_tone += 1
            continue
        nxt = next((m for m in ordered[i + 1:] if m.start > n.start + 1e-9), ordered[0])  # clips loop
        if nxt is not None and abs(nxt.pitch - n.pitch) == 1 and (
                nxt.pitch % 12 in scale or (chords and nxt.pitch % 12 in chord_at(chords, nxt.start).pcs)):
            approach += 1
            continue
        stray.append(f"{n.pitch}@{n.start:g}")
    detail = f"{len(notes) - outside} of {len(notes)} notes in {_key_words(key)}"
    if outside:
        detail += f"; outside on purpose: {chord_tone} chord tones of borrowed/secondary chords, {approach} " \
                  "chromatic approach notes"
    if stray:
        detail += f"; {len(stray)} stray: {', '.join(stray[:5])}"
    return Check("in_key", not stray, detail)


def changed_in_key(source: list[Note], result: list[Note], key: Key) -> Check:
    """For variations: the notes that are not in the source (same pitch and onset) are in the key (or a
    semitone approach); the source's own chromatic notes are left as they were."""
    kept = {(n.pitch, round(n.start, 6)) for n in source}
    changed = [n for n in result if (n.pitch, round(n.start, 6)) not in kept]
    source_pcs = {n.pitch % 12 for n in source}
    scale = key.written_pitch_classes()
    stray = [n for n in changed if n.pitch % 12 not in scale and n.pitch % 12 not in source_pcs]
    return Check("changed_notes_in_key", not stray,
                 f"{len(changed) - len(stray)} of {len(changed)} changed notes in {_key_words(key)} or in the source's own "
                 "pitch classes" + (f"; stray: {', '.join(f'{n.pitch}@{n.start:g}' for n in stray[:5])}"
                                    if stray else ""))


def chord_tones(notes: list[Note], chords: list[ChordEvent], ts: TimeSignature, strong_only: bool) -> Check:
    """Strong-beat notes (downbeats, the middle of 4/4 bars, chord changes) are tones of the chord sounding;
    with strong_only=False every note must be."""
    bar = ts.beats_per_bar
    checked = hits = 0
    misses: list[str] = []
    for n in notes:
        pos = n.start % bar
        c = chord_at(chords, n.start)
        strong = abs(pos) < 1e-6 or (ts.numerator == 4 and abs(pos - bar / 2) < 1e-6) or abs(n.start - c.start) < 1e-6
        if strong_only and not strong:
            continue
        checked += 1
        if n.pitch % 12 in c.pcs:
            hits += 1
        else:
            misses.append(f"{n.pitch}@{n.start:g} over {c.symbol}")
    what = "strong-beat notes" if strong_only else "notes"
    return Check("chord_tones_on_strong_beats" if strong_only else "chord_tones", not misses,
                 f"{hits} of {checked} {what} are tones of their chord" + (f"; not: {', '.join(misses[:5])}"
                                                                        if misses else ""))


def drum_map(notes: list[Note]) -> Check:
    bad = sorted({n.pitch for n in notes if n.pitch not in DRUM_PITCHES})
    return Check("general_midi_drums", not bad, "every hit is on the General MIDI drum map" if not bad
                 else f"pitches not on the GM drum map: {bad[:8]}")


def monophonic(notes: list[Note]) -> Check:
    ordered = sorted(notes, key=lambda n: n.start)
    bad = sum(1 for a, b in zip(ordered, ordered[1:]) if b.start < a.end - 1e-6)
    return Check("one_note_at_a_time", bad == 0, "a single line" if not bad else f"{bad} overlapping notes")


def check_role(role: str, notes: list[Note], *, length: float, bars: int, ts: TimeSignature, key: Key,
               chords: list[ChordEvent] | None, register: tuple[int, int]) -> list[Check]:
    """The checks that apply to a role."""
    out = [exact_bars(notes, length, bars, ts), check_no_overlaps(notes)]
    if role == "drums":
        return out + [drum_map(notes)]
    out += [in_range(notes, *register), in_key(notes, key, chords)]
    if chords:
        if role in ("chords", "pad", "arpeggio"):
            out.append(chord_tones(notes, chords, ts, strong_only=False))
        else:
            out.append(chord_tones(notes, chords, ts, strong_only=True))
    if role in ("melody", "counter"):
        out.append(monophonic(notes))
    return out
