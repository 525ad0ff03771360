"""Reharmonize a melody: new chords in a style, chosen by dynamic programming, voiced under the melody.

Each span (a bar or half bar) gets one chord from the style's vocabulary in the key. A chord's score
is how well it fits the melody in its span (strong-beat melody notes should be chord tones; in jazz,
tensions are allowed), and moving from one chord to the next is scored by root motion (falling
fifths, steps) and cadences (ending on I). The best sequence is found by Viterbi. In jazz, the style file then
sets how many chords become secondary dominants or tritone substitutes of the chord they lead to (where the
melody allows), and how many carry an extension chosen by function (maj9 or 6/9, m9 or m11, 9 or 13); the
accompaniment is rootless over the bass (a shell of third and seventh where the melody leaves little room),
within the low-interval limits. The melody is not touched: the result is the melody, plus an accompaniment
voiced below it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from liveloom.music.errors import LiveloomError
from liveloom.music.styles import get_style
from liveloom.music.theory import ChordSpec, Key, chord_name, parse_roman
from liveloom.music.types import Note, pitch_name
from liveloom.music.voicing import low_interval_violations, voice_progression

STYLES: dict[str, list[str]] = {
    "pop": ["I", "ii", "iii", "IV", "V", "vi", "IVadd9", "Vsus4"],
    "jazz": ["Imaj7", "ii7", "iii7", "IVmaj7", "V7", "vi7", "viiø7", "V7/ii", "V7/iii", "V7/IV", "V7/V", "V7/vi",
             "bII7", "bVI7", "bIII7"],
    "modal_interchange": ["I", "ii", "IV", "V", "vi", "iv", "bVI", "bVII", "bIII", "iiø7"],
    "chorale": ["I", "ii", "iii", "IV", "V", "vi", "viio", "I6", "IV6", "V6", "ii6", "V7", "V65"],
}
# in minor keys the vocabularies are read in the minor key (i, iv, V, VI, III, VII, ...)
MINOR_STYLES: dict[str, list[str]] = {
    "pop": ["i", "iv", "v", "V", "VI", "III", "VII", "iio"],
    "jazz": ["i7", "iiø7", "IIImaj7", "iv7", "V7", "VImaj7", "viio7", "V7/iv", "V7/VI", "bII7", "V7/V"],
    "modal_interchange": ["i", "iv", "V", "VI", "VII", "III", "IV", "bII"],
    "chorale": ["i", "iio", "III", "iv", "V", "VI", "viio", "i6", "iv6", "V6", "V7", "V65"],
}


@dataclass
class Reharmonization:
    chords: list[dict]  # {"start", "duration", "symbol", "chord", "fit"}
    accompaniment: list[Note]
    strong_beat_fit: float  # share of strong-beat melody duration that is a chord tone
    substitutions: int = 0  # secondary dominants and tritone substitutes put in
    extended: int = 0  # chords with a 9th, 11th or 13th
    low_interval_violations: int = 0  # voicings that break the low-interval limits


DOMINANT = (0, 4, 7, 10)
# extensions by function, most idiomatic first: (quality's intervals) -> options of added intervals
EXTENSIONS = {(0, 4, 7, 11): ((14,), (9, 14)), (0, 3, 7, 10): ((14,), (14, 17)),
              (0, 4, 7, 10): ((14, 21), (14,), (21,)), (0, 4, 7): ((14,), (9, 14)), (0, 3, 7): ((14,),)}


def _substitute(specs: list[ChordSpec], symbols: list[str], spans, style: str, key: Key, rates: dict,
                rng: random.Random) -> int:
    """Turn the chords before others into their secondary dominant (V7 of the next chord) or tritone substitute
    (bII7 of it), as many as the style's rates ask, where the melody over them fits best. In place; how many."""
    n = len(specs)
    want_sec = round(rates.get("secondary_dominants", 0.0) * n)
    want_tt = round(rates.get("tritone_subs", 0.0) * n)
    if not want_sec and not want_tt:
        return 0
    options = []
    for k in range(n - 1):
        target = specs[k + 1]
        if target.root == specs[k].root or 3 in target.intervals and 6 in target.intervals:
            continue  # no dominant of a diminished chord, nor of the chord already sounding
        current = _fit(specs[k], spans[k], style)
        for kind, root in (("sec", (target.root + 7) % 12), ("tt", (target.root + 1) % 12)):
            spec = ChordSpec(root=root, intervals=DOMINANT, bass=root, symbol="")
            if kind == "sec" and root == specs[k].root and tuple(specs[k].intervals[:4]) == DOMINANT:
                continue  # already the dominant of the next chord
            loss = current - _fit(spec, spans[k], style)
            options.append((loss + rng.random() * 0.05, k, kind, spec))
    options.sort(key=lambda o: o[0])
    taken: set[int] = set()
    done = {"sec": 0, "tt": 0}
    for loss, k, kind, spec in options:
        quota = want_sec if kind == "sec" else want_tt
        if k in taken or done[kind] >= quota or loss > 1.5:
            continue
        target_symbol = symbols[k + 1].split("/")[0]
        specs[k] = spec
        symbols[k] = f"V7/{target_symbol}" if kind == "sec" else f"subV7/{target_symbol}"
        taken.add(k)
        done[kind] += 1
    return len(taken)


def _extend(spec: ChordSpec, span_notes, share: float, rng: random.Random) -> ChordSpec:
    """The chord with an extension chosen by its function (and kept off a semitone below a melody note)."""
    base = tuple(i for i in spec.intervals if i < 12)
    options = EXTENSIONS.get(base)
    if not options or rng.random() >= share or any(i >= 12 for i in spec.intervals):
        return spec
    melody = {pc for pc, _, _ in span_notes}
    for added in options:
        pcs = {(spec.root + i) % 12 for i in added}
        if not any((pc + 1) % 12 in melody for pc in pcs):  # a minor ninth under the tune is harsh
            return ChordSpec(root=spec.root, intervals=tuple(sorted(set(base) | set(added))), bass=spec.bass,
                             symbol=spec.symbol)
    return spec


def _fit(spec: ChordSpec, span_notes: list[tuple[int, float, bool]], style: str) -> float:
    tones = {(spec.root + i) % 12 for i in spec.intervals if i < 12}
    tensions = {(spec.root + i) % 12 for i in (2, 5, 9)} if style == "jazz" else set()
    score = 0.0
    for pc, weight, strong in span_notes:
        if pc in tones:
            score += weight * (1.5 if strong else 1.0)
        elif pc in tensions:
            score += weight * (0.3 if strong else 0.6)
        else:
            score -= weight * (2.0 if strong else 0.4)
    return score


def _motion(a: ChordSpec, b: ChordSpec) -> float:
    step = (b.root - a.root) % 12
    if step == 0:
        return -0.6  # the same chord again: allowed, not loved
    if step == 5:
        return 0.6  # falling fifth (V-I, ii-V)
    if step in (2, 10):
        return 0.15
    if step in (3, 4, 8, 9):
        return 0.05
    if step == 11 and 10 in a.intervals:  # tritone substitute resolving down a semitone
        return 0.5
    return -0.1


LOWEST_MELODY = 49  # C#3: the bass then has an octave (A0 upwards) and the chords an octave and a half


def reharmonize(melody: list[Note], key: Key, style: str, span: float, length: float) -> Reharmonization:
    if style not in STYLES:
        raise LiveloomError(f"unknown style {style!r}; use one of: {', '.join(STYLES)}")
    sounding = [n for n in melody if not n.mute]
    if not sounding:
        raise LiveloomError("the melody has no sounding notes to harmonize")
    vocabulary = (MINOR_STYLES if key.is_minor else STYLES)[style]
    candidates: list[tuple[str, ChordSpec]] = []
    for symbol in vocabulary:
        try:
            candidates.append((symbol, parse_roman(symbol, key)))
        except ValueError:  # a numeral this key cannot spell is simply not offered
            continue
    n_spans = max(1, int(round(length / span)))
    spans: list[list[tuple[int, float, bool]]] = []
    for k in range(n_spans):
        t0, t1 = k * span, (k + 1) * span
        inside = []
        for n in sounding:
            overlap = min(n.end, t1) - max(n.start, t0)
            if overlap > 1e-9:
                strong = abs(max(n.start, t0) - round(max(n.start, t0))) < 1e-6 and round(max(n.start, t0)) % 2 == 0
                inside.append((n.pitch % 12, overlap, strong))
        spans.append(inside)
    # Viterbi over spans
    tonic = parse_roman("i" if key.is_minor else "I", key)
    dominant = parse_roman("V", key)

    def colour(symbol: str) -> float:  # colour chords are spice, not the staple
        return -0.25 if ("sus" in symbol or "add" in symbol) else 0.0

    best = [[(_fit(c, spans[0], style) + (0.8 if c.root == tonic.root else 0.0) + colour(sym), -1)
             for sym, c in candidates]]
    for k in range(1, n_spans):
        row = []
        for j, (sym, c) in enumerate(candidates):
            fit = _fit(c, spans[k], style) + colour(sym)
            if k == n_spans - 1 and set(c.intervals) >= {0, 7}:
                # a cadence: the tonic (authentic) or the dominant (half cadence), as the melody allows
                fit += 1.0 if c.root == tonic.root else (0.7 if c.root == dominant.root else 0.0)
            prev = max(range(len(candidates)), key=lambda i: best[-1][i][0] + _motion(candidates[i][1], c))
            row.append((best[-1][prev][0] + _motion(candidates[prev][1], c) + fit, prev))
        best.append(row)
    j = max(range(len(candidates)), key=lambda i: best[-1][i][0])
    path = []
    for k in range(n_spans - 1, -1, -1):
        path.append(j)
        j = best[k][j][1]
    path.reverse()
    specs = [candidates[j][1] for j in path]
    symbols = [candidates[j][0] for j in path]
    rng = random.Random(f"{style}:{n_spans}:{sum(n.pitch for n in sounding)}")
    rates = get_style("jazz").harmony if style == "jazz" else {}
    substitutions = _substitute(specs, symbols, spans, style, key, rates, rng)
    if rates.get("extensions"):
        specs = [_extend(spec, spans[k], rates["extensions"], rng) for k, spec in enumerate(specs)]
    # the accompaniment lives below the melody's lowest note: chords in the octave and a half under it,
    # the bass under those
    top = min(n.pitch for n in sounding)
    if top < LOWEST_MELODY:  # no room below it for a chord and a bass of every pitch class
        raise LiveloomError(f"the melody goes down to {pitch_name(top)}; reharmonize writes chords and a bass below "
                            f"it, so its lowest note must be {pitch_name(LOWEST_MELODY)} or higher. Transpose it up "
                            f"first (transpose with semitones 12).")
    high = min(top - 1, 76)
    low = max(28, high - 15)
    ceilings = None
    if style == "jazz":  # rootless voicings from C3 up, under the tune's lowest note in each span
        ceilings = [min(76, min((n.pitch for n in sounding if n.start < (k + 1) * span - 1e-9
                                 and n.end > k * span + 1e-9), default=top) - 1) for k in range(n_spans)]
        low = max(28, min(48, top - 13))
        high = max(ceilings)
    # four voices where they fit under the tune with good spacing; three, or a shell (third and seventh), where not
    voicings = voice_progression(specs, low=low, high=high, bass_low=max(21, low - 17), bass_high=low - 1,
                                 max_voices=4, ceilings=ceilings)
    accompaniment: list[Note] = []
    chords = []
    strong_total = strong_fit = 0.0
    for k, (spec, v) in enumerate(zip(specs, voicings)):
        t0 = k * span
        for p in v.pitches:
            accompaniment.append(Note(pitch=p, start=t0, duration=span * 0.98, velocity=72))
        tones = {(spec.root + i) % 12 for i in spec.intervals if i < 12}
        for pc, w, strong in spans[k]:
            if strong:
                strong_total += w
                strong_fit += w if pc in tones else 0.0
        chords.append({"start": t0, "duration": span, "symbol": symbols[k], "chord": chord_name(spec)})
    return Reharmonization(chords=chords, accompaniment=accompaniment,
                           strong_beat_fit=round(strong_fit / strong_total, 3) if strong_total else 1.0,
                           substitutions=substitutions, extended=sum(any(i >= 12 for i in sp.intervals) for sp in specs),
                           low_interval_violations=sum(low_interval_violations(v.pitches) > 0 for v in voicings))
