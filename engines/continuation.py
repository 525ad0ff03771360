"""The trained model on an existing clip: continue it by some bars, or rewrite some of its bars knowing the bars
around them (fill-in-the-middle). The clip is put on the model's grid with voices by pitch rank, the style is
the one given or the style classifier's guess, and the key, range and polyphony constrain every step."""

from __future__ import annotations

import math
import random
from typing import TYPE_CHECKING

from liveloom.music.errors import LiveloomError
from liveloom.music.jobs import NO_JOB, Job
from liveloom.music.notes import fit_to_length, no_overlaps, whole_bars
from liveloom.music.styles import Style
from liveloom.music.theory import Key
from liveloom.music.types import Clip, Note

if TYPE_CHECKING:
    from liveloom.models.hub import ModelHub


def piece_of(clip: Clip, max_voices: int = 4):
    """The clip on the model's grid with voices by pitch rank at each onset (0 = top): (piece, voices, meter)."""
    from liveloom.models import tokenizer as T
    from liveloom.models.convert import meter_ticks, notes_to_piece

    meter = meter_ticks(clip.time_signature)
    if meter not in T.METERS:
        raise LiveloomError(f"the model writes bars of 1 to 8 quarter notes; {clip.time_signature} is not one")
    groups: dict[float, list[Note]] = {}
    for n in clip.notes:
        if not n.mute:
            groups.setdefault(round(n.start, 4), []).append(n)
    voiced = []
    voices = 1
    for notes in groups.values():
        notes.sort(key=lambda n: -n.pitch)
        voices = max(voices, min(max_voices, len(notes)))
        for i, n in enumerate(notes[:max_voices]):
            voiced.append((i, n))
    return notes_to_piece(voiced, meter, whole_bars(clip.length, clip.time_signature)), voices, meter


def _setup(hub: ModelHub, clip: Clip, key: Key, style: str | Style | None):
    """(piece, header, constraints, the style's name): a learned style (a Style with `learned`) is written under its
    style token (by its own network: _network); a corpus style name as given, or the classifier's guess."""
    from liveloom.models import tokenizer as T
    from liveloom.models.generate import Constraints

    piece, voices, meter = piece_of(clip)
    name = style.name if isinstance(style, Style) else None
    if isinstance(style, Style):
        if not style.learned:
            raise LiveloomError(f"{style.name} is a library style; continue in a model style or a learned one")
        style = style.model_style
    elif style is None:
        scores = hub.style_classifier().proba(piece)
        style = max(scores, key=scores.get)
    pitches = [n.pitch for n in clip.notes]
    lo, hi = min(pitches) - 3, max(pitches) + 3
    if hi - lo < 14:  # a clip that keeps to a few notes: room for the continuation to move (an octave and a bit)
        lo, hi = lo - (14 - (hi - lo)) // 2, lo - (14 - (hi - lo)) // 2 + 14
    lo, hi = max(21, lo), min(108, hi)
    bars = len(piece.bar_ticks)
    header = T.Header(style=style, key_tonic=key.tonic, key_minor=key.is_minor, meter_ticks=meter,
                      tempo=T.tempo_band(clip.tempo), voices=voices,
                      density=T.density_bin(len(clip.notes) / max(1, bars) / voices))
    # the key's notes and every pitch class the clip itself plays (a blue note, a borrowed chord stay possible)
    scale = frozenset(key.written_pitch_classes()) | {n.pitch % 12 for n in clip.notes}
    constraints = Constraints(scale=scale, pitch_range=(lo, hi), max_polyphony=voices, repetition_penalty=0.5,
                              **rhythm_vocabulary(piece))
    return piece, header, constraints, name or style


def _network(hub: ModelHub, style: str | Style | None):
    """The network for a style: a learned style's own, else the shipped one."""
    return hub.for_style(style.learned if isinstance(style, Style) else None)


def rhythm_vocabulary(piece) -> dict:
    """The clip's rhythm as constraints on what the model adds: onsets at the places in the bar the clip uses
    (and on the beats), note lengths within the range it uses, and no more onsets in a bar than its busiest bar
    nor fewer than 85 % of its mean — so a sparse lofi line is not continued as a run of reel
    eighths, a swung jazz line stays swung, and a busy funk line is not answered by two notes and a rest."""
    from liveloom.models import tokenizer as T

    if not piece.notes:
        return {}
    places = {n.pos for n in piece.notes} | {t for t in range(0, max(piece.bar_ticks), T.TICKS_PER_QUARTER)}
    lengths = [n.dur for n in piece.notes]
    lo, hi = min(lengths), max(lengths)
    grid = math.gcd(*places, *lengths)
    durations = frozenset(d for d in T.DURATIONS if lo <= d <= hi and (d % grid == 0 or d in lengths))
    per_bar: dict[int, set[int]] = {}
    for n in piece.notes:
        per_bar.setdefault(n.bar, set()).add(n.pos)
    counts = sorted(len(per_bar.get(b, ())) for b in range(len(piece.bar_ticks)))
    return {"positions": frozenset(places), "durations": durations, "max_onsets_per_bar": counts[-1],
            "min_onsets_per_bar": min(counts[-1], math.ceil(0.85 * sum(counts) / len(counts)))}


def engine_name(model, style: str, chosen: bool = True) -> str:
    if "outcome" in model.meta:  # a learned style's network (finetune.export's training.json)
        return (f"model: liveloom symbolic transformer ({model.parameters / 1e6:.1f}M parameters) fine-tuned as the "
                f"learned style '{style}', on {model.device}, held to the clip's own rhythm, note lengths and density")
    how = f"style '{style}'" if chosen else (f"style '{style}' as the style classifier reads the clip (the model "
                                             "knows only its corpus's styles), held to the clip's own rhythm, note "
                                             "lengths and density")
    return (f"model: liveloom symbolic transformer ({model.parameters / 1e6:.1f}M parameters, {model.folder.name}) "
            f"on {model.device}, {how}")


def continue_pitched(hub: ModelHub, clip: Clip, key: Key, bars: int, style: str | Style | None, seed: int,
                     temperature: float, job: Job = NO_JOB) -> tuple[list[Note], str]:
    """`bars` new bars after a pitched clip (their notes start at 0) and the engine's description."""
    from liveloom.models.convert import piece_notes

    given = style is not None
    model = _network(hub, style)
    piece, header, constraints, style = _setup(hub, clip, key, style)
    gen = model.continue_piece(piece, header, bars, constraints=constraints, seed=seed, temperature=temperature,
                               job=job)
    length = bars * clip.time_signature.beats_per_bar
    notes = fit_to_length([n for _, n in piece_notes(gen.piece, velocity=90)], length)
    return no_overlaps(notes), engine_name(model, style, given)


def vary_with_model(hub: ModelHub, clip: Clip, key: Key, amount: float, seed: int,
                    temperature: float, job: Job = NO_JOB, style: Style | None = None) -> tuple[list[Note], str]:
    """Rewrite bars chosen with probability `amount` by fill-in-the-middle, knowing the bars around them."""
    from liveloom.models import tokenizer as T
    from liveloom.models.convert import piece_notes

    rng = random.Random(seed)
    piece, header, constraints, name = _setup(hub, clip, key, style)
    model = _network(hub, style)
    bars = len(piece.bar_ticks)
    chosen = [b for b in range(bars) if rng.random() < amount]
    if amount > 0 and not chosen:
        chosen = [rng.randrange(bars)]
    for k, b in enumerate(chosen):
        job.progress(k, len(chosen), "bars rewritten")
        gen = model.infill(piece, header, b, b + 1, constraints=constraints, seed=seed * 100 + b,
                           temperature=temperature, job=job.check_only())
        new = [T.TNote(n.voice, n.pitch, b, n.pos, n.dur) for n in gen.piece.notes if n.bar == 0]
        piece = T.Piece(piece.bar_ticks, [n for n in piece.notes if n.bar != b] + new)
    notes = fit_to_length([n for _, n in piece_notes(piece, velocity=90)], clip.length)
    return no_overlaps(notes), engine_name(model, name, style is not None) + (f", fill-in-the-middle over {len(chosen)} of "
                                                                     f"{bars} bars")


def continue_kit(hub: ModelHub, clip: Clip, style: Style, bars: int, seed: int, temperature: float,
                 job: Job = NO_JOB) -> tuple[list[Note], str]:
    """`bars` new bars after a drum clip by a learned style's network, on its kit (the style's drum notes and the
    clip's own), knowing the clip's bars."""
    from liveloom.models import tokenizer as T
    from liveloom.models.convert import meter_ticks, notes_to_piece, piece_notes
    from liveloom.models.generate import Constraints

    meter = meter_ticks(clip.time_signature)
    if meter not in T.METERS:
        raise LiveloomError(f"the model writes bars of 1 to 8 quarter notes; {clip.time_signature} is not one")
    src_bars = whole_bars(clip.length, clip.time_signature)
    piece = notes_to_piece([(T.KIT, n) for n in clip.notes], meter, src_bars)
    kit = frozenset(style.learned_kit) | {n.pitch for n in clip.notes if T.PITCH_LO <= n.pitch <= T.PITCH_HI}
    header = T.Header(style=style.model_style or "other", meter_ticks=meter, tempo=T.tempo_band(clip.tempo), voices=1,
                      density=T.density_bin(len(clip.notes) / max(1, src_bars)))
    model = hub.for_style(style.learned)
    gen = model.continue_piece(piece, header, bars, constraints=Constraints(kit=kit, max_polyphony=4), seed=seed,
                               temperature=temperature, job=job)
    length = bars * clip.time_signature.beats_per_bar
    notes = fit_to_length([n for _, n in piece_notes(gen.piece, velocity=100)], length)
    return no_overlaps(notes), (f"model: liveloom symbolic transformer ({model.parameters / 1e6:.1f}M parameters) "
                                f"fine-tuned as the learned style '{style.name}', on {model.device}: the drums "
                                f"continued on its kit ({len(kit)} drum notes)")
