"""Between the model's grid (tokenizer.Piece) and liveloom's data model (notes in beats)."""

from __future__ import annotations

from liveloom.music.types import Note, TimeSignature

from . import tokenizer as T


def time_signature(meter_ticks: int) -> TimeSignature:
    """A time signature for a bar length: whole quarters as x/4, else x/8 (36 ticks -> 3/4)."""
    if meter_ticks % T.TICKS_PER_QUARTER == 0:
        return TimeSignature(numerator=meter_ticks // T.TICKS_PER_QUARTER, denominator=4)
    return TimeSignature(numerator=meter_ticks // (T.TICKS_PER_QUARTER // 2), denominator=8)


def meter_ticks(ts: TimeSignature) -> int:
    return round(ts.beats_per_bar * T.TICKS_PER_QUARTER)


def piece_notes(piece: T.Piece, velocity: int = 90) -> list[tuple[int, Note]]:
    """(voice, Note) for every note of the piece, in beats from the piece's start."""
    return [(v, Note(pitch=p, start=round(s, 6), duration=round(d, 6), velocity=velocity))
            for v, p, s, d in piece.onsets_in_quarters()]


def notes_to_piece(voiced: list[tuple[int, Note]], meter: int, bars: int | None = None) -> T.Piece:
    """Notes (with voices) onto the grid: onsets to the nearest tick, durations to the nearest
    duration the tokenizer has, pitches folded into its range. Muted notes are left out."""
    voiced = [(v, n) for v, n in voiced if not n.mute]
    end = max((n.start + n.duration for _, n in voiced), default=0.0)
    n_bars = bars if bars is not None else max(1, -(-round(end * T.TICKS_PER_QUARTER) // meter))
    notes, seen = [], set()
    for v, n in voiced:
        t = round(n.start * T.TICKS_PER_QUARTER)
        b, pos = divmod(t, meter)
        if b >= n_bars:
            continue
        p = T.fold_pitch(n.pitch)
        if (b, pos, v, p) in seen:
            continue
        seen.add((b, pos, v, p))
        notes.append(T.TNote(v if v == T.KIT else min(v, T.MAX_VOICES - 1), p, b, pos, T.quantize_duration(n.duration * T.TICKS_PER_QUARTER)))
    return T.Piece([meter] * n_bars, notes)
