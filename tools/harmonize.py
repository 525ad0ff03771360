"""harmonize: four-part chorale writing with the trained model, or chords chosen for a melody and played in a
library style (voicings, comping rhythm, bass line) by the theory composer."""

from __future__ import annotations

import math
from dataclasses import dataclass

from liveloom.server.toolkit import Services
from liveloom.tools.core.checks import Check, check_role
from liveloom.tools.core.composer import ChordEvent, Request, compose_role, describe_progression
from liveloom.tools.core.errors import LiveloomError
from liveloom.tools.core.model import Clip, PlacedClip, Song, Track
from liveloom.tools.core.reharmonize import reharmonize
from liveloom.tools.core.styles import get_style
from liveloom.tools.core.theory import parse_roman

from .restyle import ENSEMBLES, MAJOR_SCALE, MINOR_SCALE, _skyline
from .style import key_of

JAZZY = {"jazz", "bossa nova", "lo-fi hip-hop", "funk"}


@dataclass
class Harmonized:
    song: Song
    engine: str
    key: str
    chords: list[dict]
    checks: list[Check]


def harmonize_clip(services: Services, clip: Clip, style: str, key: str | None, chords_per_bar: int, seed: int,
                   temperature: float) -> Harmonized:
    if clip.is_drum:
        raise LiveloomError("that is a drum clip; harmonize needs a melody")
    melody = _skyline(clip.notes)
    if not melody:
        raise LiveloomError("the clip has no sounding notes to harmonize")
    k = key_of(clip, key)
    if style.strip().lower() in ("chorale", "bach", "satb", "four-part", "4-part"):
        return _chorale(services, clip, melody, k, seed, temperature)
    st = get_style(style)
    ts = clip.time_signature
    bar = ts.beats_per_bar
    bars = max(1, math.ceil(clip.length / bar - 1e-9))
    length = bars * bar
    vocabulary = "jazz" if st.name in JAZZY else "pop"
    rh = reharmonize(melody, k, vocabulary, bar / chords_per_bar, length)
    events = [ChordEvent(parse_roman(c["symbol"], k), c["start"], c["duration"], c["symbol"]) for c in rh.chords]
    top = min(n.pitch for n in melody)
    high = max(60, min(top - 1, 76))
    parts = []
    checks: list[Check] = [Check("melody_chord_tones_on_strong_beats", rh.strong_beat_fit >= 0.75,
                                 f"{rh.strong_beat_fit:.0%} of the melody's strong-beat duration is a chord tone")]
    for role, register in (("chords", (high - 24, high)), ("bass", (28, 52))):
        req = Request(role=role, key=k, ts=ts, bars=bars, style=st, chords=events, register=register, seed=seed,
                      temperature=temperature, density=0.5, energy=0.6, velocity=84)
        out = compose_role(req)
        notes = out.notes
        checks += [Check(f"{role}: {c.name}", c.passed, c.detail)
                   for c in check_role(role, notes, length=length, bars=bars, ts=ts, key=k, chords=events,
                                       register=register)]
        part = Clip(name=f"{st.name} {role}", notes=notes, length=length, tempo=clip.tempo, time_signature=ts,
                    key=str(k), role=role, instrument=st.instruments.get(role))
        parts.append(Track(name=part.name, role=role, instrument=part.instrument, clips=[PlacedClip(clip=part)]))
    song = Song(name=f"{clip.name} harmonized ({st.name})", tempo=clip.tempo or st.tempo_default,
                time_signature=ts, key=str(k),
                tracks=[Track(name=clip.name or "melody", role="melody", instrument=clip.instrument,
                              clips=[PlacedClip(clip=clip)])] + parts)
    engine = (f"theory: chords by dynamic programming over the {vocabulary} vocabulary, voiced and comped from the "
              f"{st.name} style library (not a learned model)")
    return Harmonized(song, engine, str(k), describe_progression(events), checks)


def _chorale(services: Services, clip: Clip, melody, k, seed: int, temperature: float) -> Harmonized:
    from liveloom.models import tokenizer as T
    from liveloom.models.convert import notes_to_piece, piece_notes
    from liveloom.models.evaluate import chord_tone_share, parallels
    from liveloom.models.generate import Constraints, ModelError

    meter = round(clip.time_signature.beats_per_bar * T.TICKS_PER_QUARTER)
    if meter not in T.METERS:
        raise LiveloomError(f"the model writes bars of 1 to 8 quarter notes; {clip.time_signature} is not one")
    bars = max(1, math.ceil(clip.length / clip.time_signature.beats_per_bar - 1e-9))
    if bars > 32:
        raise LiveloomError(f"the melody is {bars} bars long; harmonize takes up to 32 bars at a time")
    piece = notes_to_piece([(0, n) for n in melody], meter, bars)
    ensemble = ENSEMBLES["chorale"]
    scale = frozenset((k.tonic + s) % 12 for s in (MINOR_SCALE if k.is_minor else MAJOR_SCALE))
    ranges = {i + 1: (lo, hi) for i, (_, _, lo, hi) in enumerate(ensemble)}
    constraints = Constraints(scale=scale, pitch_range=(40, 74), voice_ranges=ranges, max_polyphony=4,
                              avoid_parallels=True)
    header = T.Header(style="chorale", key_tonic=k.tonic, key_minor=k.is_minor, meter_ticks=meter, voices=4,
                      density=T.density_bin(len(melody) / bars))
    try:
        model = services.models.symbolic()
        result = model.harmonize(piece, header, constraints=constraints, seed=seed, temperature=temperature)
    except ModelError as exc:
        raise LiveloomError(str(exc)) from None
    new = result.piece
    bad, moves = parallels(new)
    share = chord_tone_share(new)
    voiced = piece_notes(new, velocity=80)
    tracks = [Track(name=clip.name or "soprano", role="melody", instrument=clip.instrument,
                    clips=[PlacedClip(clip=clip)])]
    out_of_range = out_of_scale = total = 0
    for i, (name, program, lo, hi) in enumerate(ensemble, start=1):
        notes = [n for v, n in voiced if v == i and n.start < clip.length]
        notes = [n.model_copy(update={"duration": min(n.duration, clip.length - n.start)}) for n in notes]
        total += len(notes)
        out_of_range += sum(not lo <= n.pitch <= hi for n in notes)
        out_of_scale += sum(n.pitch % 12 not in scale for n in notes)
        part = Clip(name=name, notes=notes, length=clip.length, tempo=clip.tempo, time_signature=clip.time_signature,
                    key=str(k), role="harmony", instrument=program)
        tracks.append(Track(name=name, role="harmony", instrument=program, clips=[PlacedClip(clip=part)]))
    song = Song(name=f"{clip.name} harmonized (chorale)", tempo=clip.tempo or 80.0, time_signature=clip.time_signature,
                key=str(k), tracks=tracks)
    checks = [
        Check("chord_tones_on_strong_beats", share >= 0.85, f"{share:.1%} of notes sounding on strong beats belong "
              "to the best-fitting chord"),
        Check("no_parallel_fifths_octaves", bad == 0, f"{bad} parallel fifths/octaves in {moves} voice-pair motions"),
        Check("in_range", out_of_range == 0, f"{total - out_of_range} of {total} new notes in their voice's range "
              "(alto 55-74, tenor 48-69, bass 40-62)"),
        Check("in_key", out_of_scale == 0, f"{total - out_of_scale} of {total} new notes in {k}"
              + (" (with the raised 6th and 7th)" if k.is_minor else "")),
        Check("melody_kept", True, "the melody track is the source clip, note for note"),
    ]
    engine = (f"model: liveloom symbolic transformer ({model.parameters / 1e6:.1f}M parameters, {model.folder.name}) "
              f"on {model.device}, style 'chorale', melody fixed, parallels masked")
    return Harmonized(song, engine, str(k), [], checks)
