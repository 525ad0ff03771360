"""harmonize: four-part chorale writing with the trained model, or chords chosen for a melody and played in a
library style (voicings, comping rhythm, bass line) by the theory composer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from liveloom.engines.reharmonize import reharmonize
from liveloom.music.checks import Check, check_role
from liveloom.music.harmony import ChordEvent, describe_progression
from liveloom.music.jobs import NO_JOB, Job
from liveloom.music.notes import whole_bars
from liveloom.music.styles import get_style
from liveloom.music.theory import parse_roman
from liveloom.music.types import Clip, PlacedClip, Song, Track

from .composer import Request, compose_role
from .restyle import melody_and_key, write_voices

if TYPE_CHECKING:
    from liveloom.models.hub import ModelHub

JAZZY = {"jazz", "bossa nova", "lo-fi hip-hop", "funk"}


@dataclass
class Harmonized:
    song: Song
    engine: str
    key: str
    chords: list[dict]
    checks: list[Check]


def harmonize_clip(hub: ModelHub, clip: Clip, style: str, key: str | None, chords_per_bar: int, seed: int,
                   temperature: float, job: Job = NO_JOB) -> Harmonized:
    melody, k = melody_and_key(clip, key, "harmonize")
    if style.strip().lower() in ("chorale", "bach", "satb", "four-part", "4-part"):
        return _chorale(hub, clip, k, seed, temperature, job)
    st = get_style(style)
    ts = clip.time_signature
    bar = ts.beats_per_bar
    bars = whole_bars(clip.length, ts)
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


def _chorale(hub: ModelHub, clip: Clip, k, seed: int, temperature: float, job: Job = NO_JOB) -> Harmonized:
    """Alto, tenor and bass by the trained model under the melody, as restyle writes them in the chorale style."""
    out = write_voices(hub, clip, target="chorale", weights=None, voices=3, key=str(k), seed=seed,
                       temperature=temperature, avoid_parallels=True, score_styles=False,
                       name=f"{clip.name} harmonized (chorale)", job=job)
    c = out.checks
    ranges = ", ".join(f"{name} {lo}-{hi}" for name, _, lo, hi in out.ensemble)
    checks = [
        Check("chord_tones_on_strong_beats", c["chord_tones_on_strong_beats"] >= 0.85,
              f"{c['chord_tones_on_strong_beats']:.1%} of notes sounding on strong beats belong to the best-fitting "
              "chord"),
        Check("no_parallel_fifths_octaves", c["parallel_fifths_octaves"] == 0,
              f"{c['parallel_fifths_octaves']} parallel fifths/octaves in {c['voice_pair_motions']} voice-pair motions"),
        Check("in_range", c["new_notes_in_range"] == 1.0,
              f"{c['new_notes_in_range']:.1%} of {c['new_notes']} new notes in their voice's range ({ranges})"),
        Check("in_key", c["new_notes_in_scale"] == 1.0, f"{c['new_notes_in_scale']:.1%} of the new notes in {out.key}"
              + (" (with the raised 6th and 7th)" if k.is_minor else "")),
        Check("melody_kept", out.song.tracks[0].clips[0].clip == clip, "the melody track is the source clip, note for note"),
    ]
    return Harmonized(out.song, f"model: {out.engine}, style 'chorale', melody fixed, parallels masked", out.key, [],
                      checks)
