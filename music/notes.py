"""Operations on lists of notes, written once: fit to a length, whole bars, overlaps, one line.

Every layer that cuts, counts or cleans notes calls these, so that a clip gets the same answer
wherever it is measured (the number of bars of a clip, what Live keeps of two same-pitch notes).
"""

from __future__ import annotations

import math
from typing import Literal

from .types import Note, TimeSignature

EPS = 1e-9


def fit_to_length(notes: list[Note], length: float) -> list[Note]:
    """Drop notes that start at or after `length` (beats); shorten the ones that sound past it."""
    return [n if n.end <= length else n.model_copy(update={"duration": max(1e-3, round(length - n.start, 6))})
            for n in notes if n.start < length - EPS]


def whole_bars(length: float, ts: TimeSignature) -> int:
    """How many bars a length in beats spans: a partial last bar counts (at least one bar)."""
    return max(1, math.ceil(length / ts.beats_per_bar - EPS))


def keep_inside(notes: list[Note], length: float) -> list[Note]:
    """Keep moved notes inside a clip without losing any: a note pushed past the end starts just before it and
    ends with it (transformations keep the same notes in the same order; `fit_to_length` drops late ones)."""
    out = []
    for n in notes:
        start = min(n.start, length - 1e-3)
        out.append(n.model_copy(update={"start": start, "duration": max(1e-3, min(n.duration, length - start))}))
    return out


def no_overlaps(notes: list[Note], same_start: Literal["keep_first", "keep_last"] = "keep_first") -> list[Note]:
    """Cut a note where the next note of the same pitch begins (Live and MIDI cannot hold both). Two notes of
    one pitch starting together keep one: the first given, or the last given (Live's rule when notes are added
    to a clip, so that the bridge can predict what Live holds). Sorted by start, then pitch."""
    out: list[Note | None] = []
    last: dict[int, int] = {}
    for n in sorted(notes, key=lambda n: (n.start, n.pitch)):
        i = last.get(n.pitch)
        if i is not None:
            prev = out[i]
            if abs(n.start - prev.start) < EPS:
                if same_start == "keep_first":
                    continue
                out[i] = None
            elif prev.end > n.start + EPS:
                out[i] = prev.model_copy(update={"duration": round(n.start - prev.start, 6)})
        last[n.pitch] = len(out)
        out.append(n)
    return [n for n in out if n is not None]


def one_line(notes: list[Note]) -> list[Note]:
    """A single line: each note ends by the next onset (swing and variation can make them overlap); of two
    notes at once the higher stays."""
    ordered = sorted(notes, key=lambda n: (n.start, -n.pitch))
    out: list[Note] = []
    for n in ordered:
        if out and abs(out[-1].start - n.start) < EPS:
            continue
        if out and out[-1].end > n.start + EPS:
            out[-1] = out[-1].model_copy(update={"duration": round(n.start - out[-1].start, 6)})
        out.append(n)
    return out


def is_one_line(notes: list[Note]) -> bool:
    """True when no note starts before the one before it has ended."""
    ordered = sorted(notes, key=lambda n: n.start)
    return all(b.start >= a.end - 1e-6 for a, b in zip(ordered, ordered[1:]))


def shift(notes: list[Note], beats: float) -> list[Note]:
    """The notes moved later by `beats` (earlier when negative)."""
    return [n.model_copy(update={"start": round(n.start + beats, 6)}) for n in notes]


def skyline(notes: list[Note]) -> list[Note]:
    """The top line of a clip: at each onset the highest note, cut where the next onset starts."""
    by_start: dict[float, Note] = {}
    for n in notes:
        if not n.mute and (n.start not in by_start or n.pitch > by_start[n.start].pitch):
            by_start[n.start] = n
    starts = sorted(by_start)
    out = []
    for i, s in enumerate(starts):
        n = by_start[s]
        end = min(n.end, starts[i + 1]) if i + 1 < len(starts) else n.end
        out.append(n.model_copy(update={"duration": max(1e-3, end - s)}))
    return out
