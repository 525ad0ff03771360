"""Style-transfer family: transpose, quantize, humanize, groove_transfer, drumify and reharmonize (no
learned model), and restyle (the trained symbolic model, in restyle.py). Each makes a new artifact;
the source is never modified."""

from pathlib import Path
from typing import Annotated, Literal

import anyio
from mcp.server.mcpserver import Context
from pydantic import Field

from liveloom.engines import audio_analysis as aa
from liveloom.engines.reharmonize import reharmonize as reharmonize_notes
from liveloom.music import analysis, transform
from liveloom.music.analysis import key_of
from liveloom.music.errors import LiveloomError
from liveloom.music.limits import LIMITS
from liveloom.music.notes import keep_inside
from liveloom.music.theory import parse_key
from liveloom.music.types import Clip, Note, PlacedClip, Song, TimeSignature, Track
from liveloom.tools.base import provenance, services, tool
from liveloom.tools.schemas import GRIDS, ArtifactSummary, artifact_summary, store_clip, store_song

ClipId = Annotated[str, Field(min_length=1, max_length=64, description="The clip to transform (kept as it is).",
                              examples=["clip_3f9a2b1c0d"])]


class TransformResult(ArtifactSummary):
    source: str = Field(description="The clip this was made from (unchanged).")
    changed: str = Field(description="What was done, in words.")
    notes_kept: int = Field(description="Notes kept: the same notes in the same order as the source (drumify: the "
                                        "onsets kept).")


def _audio_groove(files, path: str) -> transform.Groove:
    """A groove from a recording: its onsets on its beat grid become reference notes."""
    real = files.readable(path, max_bytes=LIMITS.max_audio_bytes, suffixes=aa.SUPPORTED)
    y, _ = aa.load(real, LIMITS.max_audio_seconds)
    found = aa.groove_onsets(y)
    notes = [Note(pitch=60, start=max(0.0, b), duration=0.1, velocity=int(round(30 + 97 * s)))
             for b, s in zip(found["beats"], found["strength"])]
    groove = transform.extract_groove(notes, TimeSignature(numerator=found["meter"], denominator=4))
    return transform.Groove(f"audio {Path(path).name} ({found['tempo']:g} BPM)", groove.grid, groove.timing,
                            groove.velocity)


def _finish(ctx: Context, source_id: str, clip: Clip, notes: list[Note], params: dict, changed: str,
            **updates) -> TransformResult:
    """Store the transformed clip (its notes kept inside it) and say what changed."""
    new = clip.model_copy(update={"notes": keep_inside(notes, clip.length), **updates})
    new = Clip.model_validate(new.model_dump())
    record = store_clip(services(ctx).workspace, new, provenance(engine="deterministic transformation",
                                                                 params=params, parents=[source_id]))
    return TransformResult(**artifact_summary(record).model_dump(), source=source_id, changed=changed,
                           notes_kept=len(new.notes))


@tool(title="Transpose", read_only=False, idempotent=False, ui=True)
async def transpose(
    ctx: Context,
    id: ClipId,
    semitones: Annotated[int, Field(ge=-48, le=48, description="Chromatic shift.")] = 0,
    steps: Annotated[int | None, Field(ge=-21, le=21, description="Or: move by scale steps within the key "
                                       "(diatonic).")] = None,
    mode: Annotated[str | None, Field(max_length=20, description="Or: the same tonic in another mode: major, "
                                      "minor, dorian, mixolydian, lydian, phrygian, locrian, harmonic minor.",
                                      examples=["minor", "dorian"])] = None,
    key: Annotated[str | None, Field(max_length=40, description="The source's key for steps and mode (default: "
                                     "the clip's key, else the estimated key).")] = None,
) -> TransformResult:
    """Transpose a clip chromatically, diatonically within its key, or into another mode on the same tonic.

    Example: {"id": "clip_3f9a2b1c0d", "semitones": -3} or {"id": "clip_3f9a2b1c0d", "mode": "minor"}."""
    ws = services(ctx).workspace
    _, clip = ws.load_clip(id)
    if clip.is_drum:
        raise LiveloomError(f"{id} is a drum clip: transposing it would swap drums, not change pitch")
    chosen = sum(x is not None and x != 0 for x in (semitones or None, steps, mode))
    if chosen != 1:
        raise LiveloomError("give exactly one of semitones (non-zero), steps or mode")
    if semitones:
        notes = transform.transpose_chromatic(clip.notes, semitones)
        return _finish(ctx, id, clip, notes, {"semitones": semitones},
                      f"transposed by {semitones:+d} semitones", key=None if clip.key is None else _shift_key(
                          clip.key, semitones))
    k = key_of(clip, key)
    if steps is not None:
        notes = transform.transpose_diatonic(clip.notes, steps, k)
        return _finish(ctx, id, clip, notes, {"steps": steps, "key": str(k)},
                      f"moved {steps:+d} scale steps within {k}")
    notes = transform.change_mode(clip.notes, k, mode.strip().lower())
    target = f"{k.tonic_name} {mode.strip().lower()}"
    return _finish(ctx, id, clip, notes, {"mode": mode, "key": str(k)}, f"changed {k} to {target}",
                  key=target)


@tool(title="Quantize", read_only=False, idempotent=False, ui=True)
async def quantize(
    ctx: Context,
    id: ClipId,
    grid: Annotated[Literal["1/4", "1/8", "1/8T", "1/16", "1/16T", "1/32"], Field()] = "1/16",
    strength: Annotated[float, Field(ge=0, le=1, description="0 = unchanged, 1 = exactly on the grid.")] = 1.0,
    swing: Annotated[float | None, Field(ge=0.5, le=0.75, description="Swing the grid: where the off-beat of "
                                         "each pair of grid steps lands.")] = None,
    keep_lengths: Annotated[bool, Field(description="Keep note lengths (else quantize ends too).")] = True,
) -> TransformResult:
    """Pull notes toward a grid, with a strength and optional swing.

    Example: {"id": "clip_3f9a2b1c0d", "grid": "1/16", "strength": 0.7, "swing": 0.58}."""
    ws = services(ctx).workspace
    _, clip = ws.load_clip(id)
    notes = transform.quantize(clip.notes, GRIDS[grid], strength, swing, keep_lengths)
    moved = sum(abs(a.start - b.start) > 1e-6 for a, b in zip(clip.notes, notes))
    return _finish(ctx, id, clip, notes, {"grid": grid, "strength": strength, "swing": swing,
                                                 "keep_lengths": keep_lengths},
                  f"quantized to {grid} at strength {strength:g}{f', swing {swing:g}' if swing else ''}: "
                  f"{moved} notes moved")


@tool(title="Humanize", read_only=False, idempotent=False, ui=True)
async def humanize(
    ctx: Context,
    id: ClipId,
    timing_ms: Annotated[float, Field(ge=0, le=60, description="Timing spread (standard deviation), ms.")] = 8.0,
    velocity: Annotated[int, Field(ge=0, le=40, description="Velocity spread (standard deviation).")] = 8,
    seed: Annotated[int, Field(ge=0, le=2**31 - 1, description="Same seed, same result.")] = 1,
) -> TransformResult:
    """Small random timing and velocity variation, reproducible with the seed.

    Example: {"id": "clip_3f9a2b1c0d", "timing_ms": 10, "velocity": 6, "seed": 7}."""
    ws = services(ctx).workspace
    _, clip = ws.load_clip(id)
    tempo = clip.tempo or 120.0
    notes = transform.humanize(clip.notes, timing_beats=timing_ms / 1000 * tempo / 60, velocity=velocity, seed=seed)
    return _finish(ctx, id, clip, notes, {"timing_ms": timing_ms, "velocity": velocity, "seed": seed},
                  f"humanized: timing ±{timing_ms:g} ms, velocity ±{velocity} (seed {seed}, at {tempo:g} BPM)")


@tool(title="Groove transfer", read_only=False, idempotent=False, ui=True)
async def groove_transfer(
    ctx: Context,
    id: ClipId,
    reference_id: Annotated[str | None, Field(max_length=64, description="Take the groove from this clip.")] = None,
    reference_audio: Annotated[str | None, Field(max_length=4096, description="Or from a recording's onsets "
                               "(wav, flac, mp3, ogg, aiff in an allowed folder): timing against its beat grid, "
                               "accents from onset strength.", examples=["drum_loop.wav"])] = None,
    template: Annotated[str | None, Field(max_length=40, description="Or a built-in groove: " + ", ".join(
        transform.TEMPLATES), examples=["mpc_swing_62"])] = None,
    strength: Annotated[float, Field(ge=0, le=1)] = 1.0,
) -> TransformResult:
    """Apply a groove (timing and accents per step of the bar) from a reference clip, a recording's onsets or a
    template (MPC swing, shuffle, laid-back, push, half-time, clave), with a strength. Notes are kept; the
    result says the groove applied.

    Example: {"id": "clip_3f9a2b1c0d", "template": "mpc_swing_62", "strength": 0.8}."""
    ws = services(ctx).workspace
    _, clip = ws.load_clip(id)
    if sum(x is not None for x in (reference_id, reference_audio, template)) != 1:
        raise LiveloomError("give exactly one of reference_id (a clip to take the groove from), reference_audio "
                            "(a recording) or template")
    if template is not None:
        if template not in transform.TEMPLATES:
            raise LiveloomError(f"unknown groove template {template!r}; use one of: "
                                + ", ".join(transform.TEMPLATES))
        groove = transform.TEMPLATES[template]
    elif reference_audio is not None:
        groove = await anyio.to_thread.run_sync(lambda: _audio_groove(services(ctx).files, reference_audio))
    else:
        _, ref = ws.load_clip(reference_id)
        groove = transform.extract_groove(ref.notes, ref.time_signature)
    sounding = [n.start for n in clip.notes if not n.mute]
    if template is not None and sounding:  # a swing template swings the grid this clip is written on
        groove = transform.for_grid(groove, transform.detect_grid(sounding))
    notes = transform.apply_groove(clip.notes, groove, strength)
    shown = groove.describe()
    source = template or ("reference audio" if reference_audio is not None else f"reference {reference_id}")
    offsets_ms = sorted({round(t * 60000 / (clip.tempo or 120)) for t in groove.timing if abs(t) > 1e-6})
    return _finish(ctx, id, clip, notes, {"reference_id": reference_id, "reference_audio": reference_audio,
                                         "template": template, "strength": strength, "groove": shown},
                   f"applied the {source} groove on {shown['grid']} at strength {strength:g}: offsets "
                   + (", ".join(f"{o:+d}" for o in offsets_ms) + " ms" if offsets_ms else "none (accents only)")
                   + f" at {clip.tempo or 120:g} BPM",
                   name=f"{clip.name} ({template or 'groove'})"[:100])


@tool(title="Drumify", read_only=False, idempotent=False, ui=True)
async def drumify(
    ctx: Context,
    id: ClipId,
    hats: Annotated[Literal["onsets", "eighths"], Field(description="onsets: a hit only where the source "
                                                         "has one; eighths: closed hats also fill the 8ths.")] = "onsets",
) -> TransformResult:
    """A melody's rhythm as a drum part: onsets and accents kept; strong beats and low notes kicks, backbeats
    snares, the rest hats.

    Example: {"id": "clip_3f9a2b1c0d", "hats": "eighths"}."""
    ws = services(ctx).workspace
    _, clip = ws.load_clip(id)
    notes = transform.drumify(clip.notes, clip.time_signature, hats)
    new = Clip(name=f"{clip.name} drums", notes=notes, length=clip.length, tempo=clip.tempo,
               time_signature=clip.time_signature, role="drums", is_drum=True)
    record = store_clip(ws, new, provenance(engine="deterministic transformation",
                                            params={"hats": hats}, parents=[id]))
    onsets = len({round(n.start, 6) for n in clip.notes if not n.mute})
    return TransformResult(**artifact_summary(record).model_dump(), source=id, notes_kept=onsets,
                           changed=f"the rhythm of {onsets} onsets as kick, snare and hats"
                                   + (" with eighth-note hats" if hats == "eighths" else ""))


class ReharmonizeResult(ArtifactSummary):
    source: str
    style: str
    key_used: str
    chords: list[str] = Field(description="The new chords, one per span, as symbols.")
    romans: list[str] = Field(description="The same chords as roman numerals in the key.")
    strong_beat_fit: float = Field(description="Share of the melody's strong-beat time that is a chord tone.")
    melody_kept: bool = Field(description="The melody track is note for note the source.")
    voicing: str = Field(description="How the accompaniment was built, in words: substitutions and extensions put "
                                     "in, the voicing, low-interval limits kept.")


@tool(title="Reharmonize", read_only=False, idempotent=False, ui=True)
async def reharmonize(
    ctx: Context,
    id: ClipId,
    style: Annotated[Literal["pop", "jazz", "modal_interchange", "chorale"], Field(
        description="pop: diatonic triads and colours; jazz: sevenths with 9ths, 11ths and 13ths by function, "
                    "secondary dominants and tritone substitutes (rates from the jazz style file), rootless "
                    "voicings; modal_interchange: borrowed iv, bVI, bVII, bIII; chorale: triads with "
                    "inversions.")] = "jazz",
    key: Annotated[str | None, Field(max_length=40, description="The melody's key (default: the clip's key, "
                                     "else estimated).")] = None,
    per: Annotated[Literal["bar", "half_bar"], Field(description="How often the chord may change.")] = "bar",
) -> ReharmonizeResult:
    """Keep a melody exactly and give it new chords in a style, voiced with voice leading below it. The
    result is a song: the melody track (unchanged) and the new accompaniment.

    Example: {"id": "clip_3f9a2b1c0d", "style": "jazz", "per": "half_bar"}."""
    ws = services(ctx).workspace
    _, clip = ws.load_clip(id)
    if clip.is_drum:
        raise LiveloomError(f"{id} is a drum clip; reharmonize needs a melody")
    sounding = [n for n in clip.notes if not n.mute]
    if not sounding:
        raise LiveloomError(f"{id} has no sounding notes to harmonize")
    k = key_of(clip, key)
    span = clip.time_signature.beats_per_bar / (2 if per == "half_bar" else 1)
    result = reharmonize_notes(clip.notes, k, style, span, clip.length)
    chords = Clip(name=f"{clip.name} {style} chords", notes=result.accompaniment, length=clip.length,
                  tempo=clip.tempo, time_signature=clip.time_signature, key=str(k), role="chords", instrument=0)
    song = Song(name=f"{clip.name} reharmonized ({style})", tempo=clip.tempo or 120.0,
                time_signature=clip.time_signature, key=str(k), tracks=[
                    Track(name=clip.name, role=clip.role or "melody", instrument=clip.instrument,
                          clips=[PlacedClip(clip=clip)]),
                    Track(name=f"{style} chords", role="chords", instrument=0, clips=[PlacedClip(clip=chords)])])
    record = store_song(ws, song, provenance(engine="Viterbi over style vocabularies",
                                             params={"style": style, "key": str(k), "per": per}, parents=[id]))
    romans = [c["symbol"] for c in result.chords]
    n = max(1, len(result.chords))
    voicing = (f"{result.substitutions} secondary dominants or tritone substitutes, {result.extended} of {n} chords "
               f"extended; " if style == "jazz" else "") + (
        "rootless voicings over the bass (shells where the tune leaves little room)" if style == "jazz" else
        "voice-led voicings over the bass") + f", all under the melody; {result.low_interval_violations} of {n} " \
        "voicings break the low-interval limits"
    return ReharmonizeResult(voicing=voicing, **artifact_summary(record).model_dump(), source=id, style=style, key_used=str(k),
                             chords=[c["chord"] for c in result.chords], romans=romans,
                             strong_beat_fit=result.strong_beat_fit,
                             melody_kept=song.tracks[0].clips[0].clip == clip)


def _shift_key(key: str, semitones: int) -> str | None:
    try:
        k = parse_key(key)
    except ValueError:
        return None
    names = analysis.MINOR_NAMES if k.is_minor else analysis.MAJOR_NAMES
    return f"{names[(k.tonic + semitones) % 12]} {k.mode}"
