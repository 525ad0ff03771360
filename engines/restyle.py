"""restyle: keep a melody note for note and write new accompanying voices in a style, with the trained
symbolic model (models/) conditioned on the style — or on a weighted mix of styles. Every new voice stays
below the melody sounding with it; the style sets the texture (chordal in chorale, rhythmically independent
voices in longer values in the counterpoint styles, held notes under a folk tune)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from liveloom.music.analysis import key_of
from liveloom.music.errors import LiveloomError
from liveloom.music.jobs import NO_JOB, Job
from liveloom.music.notes import fit_to_length, skyline, whole_bars
from liveloom.music.types import Clip, PlacedClip, Song, Track

if TYPE_CHECKING:
    from liveloom.models.hub import ModelHub

MODEL_STYLES = ("chorale", "palestrina", "renaissance", "medieval", "essen", "irish", "quartet")
# Accompanying voices per style: (track name, GM program, lowest, highest), top to bottom.
ENSEMBLES: dict[str, list[tuple[str, int, int, int]]] = {
    "chorale": [("alto", 52, 55, 74), ("tenor", 52, 48, 69), ("bass", 52, 40, 62)],
    "palestrina": [("altus", 52, 53, 74), ("tenor", 52, 48, 69), ("bassus", 52, 40, 62)],
    "renaissance": [("alto", 52, 53, 74), ("tenor", 52, 48, 69), ("bass", 52, 40, 62)],
    "medieval": [("contratenor", 52, 48, 72), ("tenor", 52, 45, 67), ("bass", 52, 40, 62)],
    "quartet": [("violin 2", 40, 55, 88), ("viola", 41, 48, 76), ("cello", 42, 36, 69)],
    "essen": [("second voice", 73, 55, 79), ("tenor", 24, 45, 69), ("bass", 32, 36, 60)],
    "irish": [("second fiddle", 110, 55, 81), ("guitar", 24, 45, 69), ("bass", 32, 36, 60)],
}


# Texture per style, for the voices under the melody: how many may start a note together with the melody (off the
# bar line; None: any — chordal) and each voice's note lengths in ticks (12 = a quarter note). Counterpoint
# styles move in longer values with their own rhythm; folk accompaniment holds long notes under the tune.
LONG = frozenset({12, 18, 24, 36, 48})
TEXTURES: dict[str, dict] = {
    "chorale": {"with_melody": None, "lengths": {}},
    "palestrina": {"with_melody": 1, "lengths": {1: LONG, 2: LONG, 3: LONG}},
    "renaissance": {"with_melody": 1, "lengths": {1: LONG, 2: LONG, 3: LONG}},
    "medieval": {"with_melody": 1, "lengths": {1: LONG, 2: LONG, 3: LONG}},
    "quartet": {"with_melody": 2, "lengths": {}},
    "essen": {"with_melody": 1, "lengths": {2: frozenset({24, 36, 48}), 3: frozenset({24, 36, 48})}},
    "irish": {"with_melody": 1, "lengths": {2: frozenset({24, 36, 48}), 3: frozenset({24, 36, 48})}},
}


def melody_and_key(clip: Clip, key: str | None, what: str):
    """The clip's top line and its key (given, the clip's, or estimated); an error for drum or empty clips."""
    if clip.is_drum:
        raise LiveloomError(f"that is a drum clip; there is no melody to {what}")
    melody = skyline(clip.notes)
    if not melody:
        raise LiveloomError(f"the clip has no sounding notes to {what}")
    return melody, key_of(clip, key)


@dataclass
class WrittenVoices:
    song: Song
    ensemble: list[tuple[str, int, int, int]]
    engine: str
    key: str
    checks: dict
    style_scores: tuple[dict, dict] | None


def write_voices(hub: ModelHub, clip: Clip, *, target: str, weights: dict[str, float] | None, voices: int,
                 key: str | None, seed: int, temperature: float, avoid_parallels: bool, score_styles: bool,
                 name: str, job: Job = NO_JOB, plan: dict | None = None,
                 chromatic: frozenset[int] = frozenset()) -> WrittenVoices:
    """The clip's top line kept note for note, 1-3 voices written below it by the trained model in a style (or
    a mix), each in its instrument's range and in the key; a song of the melody track (the clip itself) and
    one track per new voice, with its checks (and the style classifier's scores when asked). `plan`: harmony
    constraints for the model (cadences: see harmonize); `chromatic`: pitch classes allowed beside the key's (the
    leading tones of secondary dominants)."""
    from liveloom.models import tokenizer as T
    from liveloom.models.convert import notes_to_piece, piece_notes
    from liveloom.models.evaluate import chord_tone_share, max_polyphony, parallels
    from liveloom.models.generate import Constraints

    melody, k = melody_and_key(clip, key, "write voices for")
    meter = round(clip.time_signature.beats_per_bar * T.TICKS_PER_QUARTER)
    if meter not in T.METERS:
        raise LiveloomError(f"the model writes bars of 1 to 8 quarter notes; {clip.time_signature} is not one")
    bars = whole_bars(clip.length, clip.time_signature)
    if bars > 32:
        raise LiveloomError(f"the clip is {bars} bars long; the model takes up to 32 bars at a time — split it "
                            "(get_clip shows where) and do each part")
    piece = notes_to_piece([(0, n) for n in melody], meter, bars)
    ensemble = ENSEMBLES[target][3 - voices:] if voices < 3 else ENSEMBLES[target]
    scale = frozenset(k.written_pitch_classes())
    ranges = {i + 1: (lo, hi) for i, (_, _, lo, hi) in enumerate(ensemble)}
    texture = TEXTURES[target]
    first = 3 - len(ensemble) + 1  # the ensemble's lowest voices are kept when fewer are asked for
    lengths = {v: texture["lengths"][first + v - 1] for v in ranges if first + v - 1 in texture["lengths"]}
    constraints = Constraints(scale=scale | chromatic, pitch_range=(min(lo for lo, _ in ranges.values()),
                                                                    max(hi for _, hi in ranges.values())),
                              voice_ranges=ranges, max_polyphony=voices + 1, avoid_parallels=avoid_parallels,
                              below_melody=True, with_melody=texture["with_melody"], voice_durations=lengths,
                              **(plan or {}))
    header = T.Header(style=target, key_tonic=k.tonic, key_minor=k.is_minor, meter_ticks=meter,
                      voices=voices + 1, density=T.density_bin(len(melody) / bars), style_mix=weights)
    model = hub.symbolic()
    result = model.harmonize(piece, header, constraints=constraints, seed=seed, temperature=temperature, job=job)
    scores = None
    if score_styles:
        classifier = hub.style_classifier()
        scores = (classifier.proba(piece), classifier.proba(result.piece))
    new = result.piece
    bad, moves = parallels(new)
    tracks = [Track(name=clip.name or "melody", role=clip.role or "melody", instrument=clip.instrument,
                    clips=[PlacedClip(clip=clip)])]
    voiced = piece_notes(new, velocity=80)
    in_range = in_scale = total = 0
    for i, (vname, program, lo, hi) in enumerate(ensemble, start=1):
        notes = fit_to_length([n for v, n in voiced if v == i], clip.length)
        total += len(notes)
        in_range += sum(lo <= n.pitch <= hi for n in notes)
        in_scale += sum(n.pitch % 12 in scale | chromatic for n in notes)
        part = Clip(name=vname, notes=notes, length=clip.length, tempo=clip.tempo, time_signature=clip.time_signature,
                    key=str(k), role="accompaniment", instrument=program)
        tracks.append(Track(name=vname, role="accompaniment", instrument=program, clips=[PlacedClip(clip=part)]))
    song = Song(name=name, tempo=clip.tempo or 120.0, time_signature=clip.time_signature, key=str(k), tracks=tracks)
    engine = (f"liveloom symbolic transformer ({model.parameters / 1e6:.1f}M parameters, "
              f"{model.folder.name}) on {model.device}")
    checks = {"chord_tones_on_strong_beats": round(chord_tone_share(new), 3),
              "parallel_fifths_octaves": bad, "voice_pair_motions": moves,
              "new_notes_in_scale": round(in_scale / max(1, total), 3),
              "new_notes_in_range": round(in_range / max(1, total), 3),
              "max_polyphony": max_polyphony(new), "new_notes": total}
    return WrittenVoices(song, ensemble, engine, str(k), checks, scores)
