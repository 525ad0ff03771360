"""harmonize: four-part chorale writing with the trained model, or chords chosen for a melody and played in a
library style (voicings, comping rhythm, bass line) by the theory composer."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING

from liveloom.engines.reharmonize import reharmonize
from liveloom.music.checks import Check, check_role
from liveloom.music.harmony import ChordEvent, describe_progression
from liveloom.music.jobs import NO_JOB, Job
from liveloom.music.notes import skyline, whole_bars
from liveloom.music.styles import Style, get_style
from liveloom.music.theory import parse_roman
from liveloom.music.types import Clip, Note, PlacedClip, Song, Track, pitch_name

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


def harmonize_clip(hub: ModelHub, clip: Clip, style: str | Style, key: str | None, chords_per_bar: int, seed: int,
                   temperature: float, job: Job = NO_JOB, cadences: list[float] | None = None) -> Harmonized:
    melody, k = melody_and_key(clip, key, "harmonize")
    if isinstance(style, str) and style.strip().lower() in ("chorale", "bach", "satb", "four-part", "4-part"):
        return _chorale(hub, clip, k, seed, temperature, job, cadences)
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
    plan_text = " ".join(f"{c['symbol']}:{c['duration']:g}" for c in rh.chords)
    learned_roles = []
    for role, register in (("chords", (high - 24, high)), ("bass", (28, 52))):
        if st.learned and role in st.learned_roles:  # the learned network comps and walks over the chosen chords
            from .generation import compose as compose_part

            made = compose_part(role, key=str(k), bars=bars, tempo=clip.tempo, time_signature=str(ts), style=st,
                                progression=plan_text, register=f"{pitch_name(register[0])}-{pitch_name(register[1])}",
                                seed=seed, temperature=temperature, engine="model", models=hub, job=job.check_only())
            notes = made.clip.notes
            learned_roles.append(role)
        else:
            req = Request(role=role, key=k, ts=ts, bars=bars, style=st, chords=events, register=register, seed=seed,
                          temperature=temperature, density=0.5, energy=0.6, velocity=84)
            notes = compose_role(req).notes
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
    if learned_roles:
        engine = (f"chords by dynamic programming over the {vocabulary} vocabulary; {' and '.join(learned_roles)} "
                  f"written over them by the learned style '{st.name}' (its fine-tuned network)")
    return Harmonized(song, engine, str(k), describe_progression(events), checks)


def phrase_ends(melody: list[Note]) -> list[float]:
    """Where a melody's phrases end when nobody says: notes held twice as long as its typical note, notes before a
    rest, and its last note (a chorale's fermatas on plain quarter notes are not found this way: pass them)."""
    notes = sorted(melody, key=lambda n: n.start)
    typical = statistics.median(n.duration for n in notes)
    out = []
    for i, n in enumerate(notes):
        nxt = notes[i + 1].start if i + 1 < len(notes) else None
        if nxt is None or n.duration >= 2 * typical - 1e-9 or nxt > n.end + 0.25:
            out.append(round(n.start, 6))
    return out


def secondary_leading_tones(k) -> frozenset[int]:
    """The chromatic notes secondary dominants bring (the leading tones of V/ii, V/iii, V/IV, V/V, V/vi in
    major; of V/iv and V/V in minor), allowed through the model's scale mask."""
    rel = (1, 3, 6, 8, 10) if not k.is_minor else (4, 6)
    return frozenset((k.tonic + r) % 12 for r in rel)


def cadence_plan(melody: list[Note], k, cadences: list[float]) -> tuple[dict, list[str]]:
    """Harmony constraints for the model at each phrase end: a root-position cadence chord under the melody note
    (the tonic where the note belongs to it, else the dominant — a half cadence —, else IV, vi or ii), approached
    from its own dominant (V7, or a secondary dominant before a chord other than the tonic) on the beat before,
    root in the bass, where the melody there is one of that dominant's notes. Every voice sounds a chord tone
    there; the bass the root, under the others."""
    from liveloom.models import tokenizer as T

    tq = T.TICKS_PER_QUARTER
    minor = k.is_minor

    def triad(rel_root: int, third: int) -> tuple[frozenset[int], int]:
        root = (k.tonic + rel_root) % 12
        return frozenset({root, (root + third) % 12, (root + 7) % 12}), root

    targets = [("I", triad(0, 3 if minor else 4)), ("V", triad(7, 4)),  # a major V in minor (the leading tone)
               ("IV", triad(5, 3 if minor else 4)), ("vi", triad(8 if minor else 9, 4 if minor else 3)),
               ("ii", triad(2, 3))]
    spans, words = [], []
    for t in sorted(set(cadences)):
        here = [n for n in melody if abs(n.start - t) < 1e-6]
        if not here:
            continue
        note = max(here, key=lambda n: n.pitch)
        name, (pcs, root) = next(((nm, c) for nm, c in targets if note.pitch % 12 in c[0]), (None, (None, None)))
        if name is None or (name == "ii" and minor):
            continue  # a melody note no cadence chord holds (or the diminished ii of a minor key): left free
        dom_root = (root + 7) % 12
        v7 = frozenset({dom_root, (dom_root + 4) % 12, (dom_root + 7) % 12, (dom_root + 10) % 12})
        before = [n for n in melody if n.start - 1e-6 <= t - 1 < n.end - 1e-6]
        if t >= 1 and before and all(n.pitch % 12 in v7 for n in before):
            spans.append((round((t - 1) * tq), round(t * tq), v7, dom_root))
            words.append(f"{'V' if name == 'I' else 'V/' + name}-{name} at beat {t + 1:g}")
        else:
            words.append(f"{name} at beat {t + 1:g}")
        spans.append((round(t * tq), round((t + note.duration) * tq), pcs, root))
    spans.sort()
    starts = frozenset(a for a, _, _, _ in spans)
    return {"harmony": tuple(spans), "harmony_strong": starts, "onsets": starts, "bass_onsets": starts}, words


def _chorale(hub: ModelHub, clip: Clip, k, seed: int, temperature: float, job: Job = NO_JOB,
             cadences: list[float] | None = None) -> Harmonized:
    """Alto, tenor and bass by the trained model under the melody, as restyle writes them in the chorale style,
    with root-position cadences (V-I into a tonic) at the phrase ends and secondary dominants allowed."""
    melody = skyline(clip.notes)
    given = cadences is not None
    ends = [t for t in (cadences if given else phrase_ends(melody)) if 0 <= t < clip.length]
    plan, words = cadence_plan(melody, k, ends)
    out = write_voices(hub, clip, target="chorale", weights=None, voices=3, key=str(k), seed=seed,
                       temperature=temperature, avoid_parallels=True, score_styles=False,
                       name=f"{clip.name} harmonized (chorale)", job=job, plan=plan,
                       chromatic=secondary_leading_tones(k))
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
              + (" (with the raised 6th and 7th)" if k.is_minor else "") + " or leading tones of secondary dominants"),
        Check("melody_kept", out.song.tracks[0].clips[0].clip == clip, "the melody track is the source clip, note for note"),
    ]
    engine = (f"model: {out.engine}, style 'chorale', melody fixed, parallels masked, cadences at the "
              f"{'given' if given else 'detected'} phrase ends ({'; '.join(words) or 'none found'}), secondary "
              "dominants' leading tones allowed")
    return Harmonized(out.song, engine, out.key, [], checks)
