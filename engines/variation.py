"""Variations, morphs between clips, and groove continuation — deterministic algorithms, not models.

* `similarity(a, b)`: note F1 between two note lists, a note matching when onset (within a 16th)
  and pitch agree — the measure `vary` and `interpolate` report.
* `vary_notes`: with probability 1 - similarity per note, one of: a neighbour or chord-tone pitch
  (in the key), a split into two, a merge with the next note, a shift by a 16th (drums: move, ghost,
  or swap a hit for a neighbouring drum).
* `interpolate_notes`: notes of A and B paired by least cost (time and pitch) with the Hungarian
  method; step t takes each pair (and each unpaired note) from B once its seeded rank is below t.
* `continue_groove`: a drum clip continued bar for bar, with a fill at the end.
"""

from __future__ import annotations

import random

from liveloom.music.notes import no_overlaps
from liveloom.music.theory import Key
from liveloom.music.types import Note


def similarity(a: list[Note], b: list[Note], tolerance: float = 0.125) -> float:
    """Note F1 (onset within `tolerance` beats and the same pitch), 1.0 for two empty lists."""
    if not a and not b:
        return 1.0
    if not a or not b:
        return 0.0
    used = set()
    hits = 0
    by_pitch: dict[int, list[tuple[float, int]]] = {}
    for j, n in enumerate(b):
        by_pitch.setdefault(n.pitch, []).append((n.start, j))
    for n in a:
        best = None
        for s, j in by_pitch.get(n.pitch, []):
            if j not in used and abs(s - n.start) <= tolerance and (best is None or abs(s - n.start) < best[0]):
                best = (abs(s - n.start), j)
        if best is not None:
            used.add(best[1])
            hits += 1
    return 2 * hits / (len(a) + len(b))


def _scale_neighbour(p: int, key: Key, direction: int) -> int:
    pcs = key.pitch_classes()
    q = p + direction
    while q % 12 not in pcs:
        q += direction
    return q


DRUM_NEIGHBOURS = {42: [44, 46], 44: [42], 46: [42], 36: [35], 35: [36], 38: [40, 37], 40: [38], 39: [38],
                   51: [53, 42], 53: [51], 49: [57, 51], 57: [49]}


def vary_notes(notes: list[Note], *, key: Key | None, length: float, amount: float, seed: int, is_drum: bool,
               lo: int = 0, hi: int = 127) -> list[Note]:
    """One variation; `amount` (0-1) is the chance each note is changed."""
    rng = random.Random(seed)

    def inside(p: int, original: int) -> int:  # a changed pitch outside the range: keep the original
        return p if lo <= p <= hi else original

    out: list[Note] = []
    ordered = sorted(notes, key=lambda n: (n.start, n.pitch))
    skip = set()
    for i, n in enumerate(ordered):
        if i in skip:
            continue
        if rng.random() >= amount:
            out.append(n)
            continue
        op = rng.random()
        if is_drum:
            if op < 0.4:  # move by a sixteenth
                t = n.start + rng.choice((-0.25, 0.25))
                if 0 <= t < length:
                    out.append(n.model_copy(update={"start": t}))
                else:
                    out.append(n)
            elif op < 0.7 and n.pitch in DRUM_NEIGHBOURS:
                out.append(n.model_copy(update={"pitch": rng.choice(DRUM_NEIGHBOURS[n.pitch])}))
            else:  # a ghost note a sixteenth after
                out.append(n)
                t = n.start + 0.25
                if t < length:
                    out.append(n.model_copy(update={"start": t, "velocity": max(1, n.velocity // 2)}))
            continue
        if op < 0.45 and key is not None:  # a neighbour in the key
            p = _scale_neighbour(n.pitch, key, rng.choice((-1, 1)))
            out.append(n.model_copy(update={"pitch": inside(p, n.pitch)}))
        elif op < 0.7 and n.duration >= 0.5:  # split: the note, then a neighbour or the same pitch
            half = round(n.duration / 2 * 4) / 4 or n.duration / 2
            second = n.pitch if key is None or rng.random() < 0.5 else _scale_neighbour(n.pitch, key, rng.choice((-1, 1)))
            out.append(n.model_copy(update={"duration": half}))
            out.append(n.model_copy(update={"start": n.start + half, "duration": n.duration - half,
                                            "pitch": inside(second, n.pitch)}))
        elif op < 0.85 and i + 1 < len(ordered) and ordered[i + 1].start >= n.end - 1e-6:  # merge with the next
            nxt = ordered[i + 1]
            out.append(n.model_copy(update={"duration": min(length - n.start, nxt.end - n.start)}))
            skip.add(i + 1)
        else:  # anticipate or delay by a sixteenth
            t = n.start + rng.choice((-0.25, 0.25))
            if 0 <= t and t + n.duration <= length:
                out.append(n.model_copy(update={"start": t}))
            else:
                out.append(n)
    out = [n if n.end <= length else n.model_copy(update={"duration": max(1e-3, length - n.start)}) for n in out]
    return no_overlaps(out)


def interpolate_notes(a: list[Note], b: list[Note], t: float, *, seed: int, is_drum: bool) -> list[Note]:
    """The notes t of the way from A (t=0) to B (t=1): notes of A and B paired by least cost (onset and pitch;
    drums only with the same drum), then a share t of the pairs and unpaired notes, first in a seeded order, is taken from B
    (a pair gives B's note, an unpaired A note leaves, an unpaired B note enters). The order is the same at
    every t, so the steps move monotonically from A to B."""
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    rng = random.Random(seed)
    big = 1e6
    pairs: list[tuple[int, int]] = []
    if a and b:
        cost = np.full((len(a), len(b)), big)
        for i, x in enumerate(a):
            for j, y in enumerate(b):
                if is_drum and x.pitch != y.pitch:
                    continue
                dt, dp = abs(x.start - y.start), abs(x.pitch - y.pitch)
                if dt <= 2.0 and dp <= 12:
                    cost[i, j] = 4 * dt + dp / 2
        rows, cols = linear_sum_assignment(cost)
        pairs = [(int(i), int(j)) for i, j in zip(rows, cols) if cost[i, j] < big]
    matched_a, matched_b = {i for i, _ in pairs}, {j for _, j in pairs}
    items = [("pair", i, j) for i, j in pairs] + [("a", i, -1) for i in range(len(a)) if i not in matched_a] \
        + [("b", -1, j) for j in range(len(b)) if j not in matched_b]
    order = list(range(len(items)))
    rng.shuffle(order)
    switched = set(order[:round(t * len(items))])  # these come from B; the same order at every t
    out: list[Note] = []
    for k, (what, i, j) in enumerate(items):
        if what == "pair":
            out.append(b[j] if k in switched else a[i])
        elif what == "a" and k not in switched:
            out.append(a[i])
        elif what == "b" and k in switched:
            out.append(b[j])
    return no_overlaps(out)


def continue_groove(notes: list[Note], *, bar_len: float, source_bars: int, new_bars: int, seed: int) -> list[Note]:
    """`new_bars` bars after the clip that keep its groove: the source bars in turn, the last one a fill
    (the snare, or the busiest drum, in sixteenths over the last beat, getting louder)."""
    rng = random.Random(seed)
    bars = [[n.model_copy(update={"start": n.start - b * bar_len}) for n in notes if b * bar_len <= n.start < (b + 1) * bar_len]
            for b in range(source_bars)]
    out: list[Note] = []
    for k in range(new_bars):
        src = bars[k % source_bars] if source_bars else []
        off = k * bar_len
        bar_notes = [n.model_copy(update={"start": round(n.start + off, 6)}) for n in src]
        if k == new_bars - 1 and new_bars > 1:
            counts: dict[int, int] = {}
            for n in notes:
                counts[n.pitch] = counts.get(n.pitch, 0) + 1
            snare = 38 if 38 in counts else 40 if 40 in counts else (max(counts, key=counts.get) if counts else 38)
            fill_from = off + bar_len - 1.0
            bar_notes = [n for n in bar_notes if n.start < fill_from or n.pitch in (35, 36)]
            for s in range(4):
                out.append(Note(pitch=snare, start=round(fill_from + 0.25 * s, 6), duration=0.2,
                                velocity=min(127, 70 + 12 * s + rng.randint(0, 6))))
        out += bar_notes
    return no_overlaps(out)
