"""The generative compose tools: compose, continue_clip, harmonize, vary, interpolate.

Each says which engine ran (the trained model or the theory composer over the style library) and
carries the checks made on its result."""

from __future__ import annotations

import secrets
from typing import Annotated, Literal

import anyio
from mcp.server.mcpserver import Context
from pydantic import BaseModel, Field

from liveloom.engines.continuation import continue_kit, continue_pitched, vary_with_model
from liveloom.engines.generation import compose as compose_part
from liveloom.engines.generation import resolve_key
from liveloom.engines.harmonize import harmonize_clip
from liveloom.engines.restyle import MODEL_STYLES
from liveloom.engines.variation import continue_groove, interpolate_notes, vary_notes
from liveloom.engines.variation import similarity as note_similarity
from liveloom.music.analysis import key_of
from liveloom.music.checks import changed_in_key, check_no_overlaps, check_role, exact_bars
from liveloom.music.errors import LiveloomError
from liveloom.music.harmony import describe_progression
from liveloom.music.notes import fit_to_length, is_one_line, one_line, shift, whole_bars
from liveloom.music.styles import get_style
from liveloom.music.types import Clip
from liveloom.tools.base import provenance, resolve_style, run_job, services, tool
from liveloom.tools.schemas import (
    ArtifactSummary,
    CheckOut,
    ChordOut,
    EngineArg,
    KeyArg,
    Seed,
    StyleArg,
    Temperature,
    artifact_summary,
    checks_out,
    store_clip,
    store_song,
)

Role = Literal["melody", "counter", "chords", "pad", "bass", "arpeggio", "drums"]


class ComposeResult(ArtifactSummary):
    role: str
    style: str
    engine: str = Field(description="What wrote it: the trained model (and its size) or the theory composer.")
    key_used: str
    tempo_used: float
    progression: str | None = Field(description="The progression it was written over (pass it to the next compose "
                                                "call so that the parts fit), or null for model output.")
    chords: list[ChordOut] = Field(default_factory=list)
    checks: list[CheckOut] = Field(description="What was verified on the result.")
    all_checks_passed: bool
    details: list[str] = Field(default_factory=list, description="How it was made, in words.")
    seed_used: int = Field(description="The seed: pass it again to get the same result.")


class VariationOut(BaseModel):
    id: str
    name: str
    similarity: float = Field(description="Note F1 against the source (onset within a 32nd and the same pitch).")
    notes: int
    checks: list[CheckOut]


class VaryResult(BaseModel):
    id: str = Field(description="The first variation (all of them are in ids).")
    kind: str = "clip"
    ids: list[str] = Field(description="Every variation, in order.")
    source: str
    engine: str
    requested_similarity: float
    variations: list[VariationOut]


class InterpolationStep(BaseModel):
    id: str
    name: str
    t: float = Field(description="How far from A (0) to B (1).")
    similarity_to_a: float
    similarity_to_b: float
    notes: int


class InterpolateResult(BaseModel):
    id: str = Field(description="The first step (all of them are in ids, from A towards B).")
    kind: str = "clip"
    ids: list[str] = Field(description="Every step, from A towards B.")
    a: str
    b: str
    engine: str
    steps: list[InterpolationStep]


class HarmonizeResult(ArtifactSummary):
    source: str
    style: str
    engine: str
    key_used: str
    chords: list[ChordOut] = Field(default_factory=list, description="The chords chosen (pop/jazz styles).")
    checks: list[CheckOut]
    all_checks_passed: bool


class ContinueResult(ArtifactSummary):
    source: str
    engine: str
    bars_added: int
    checks: list[CheckOut]
    all_checks_passed: bool


@tool(title="Compose", read_only=False, idempotent=False, ui=True)
async def compose(
    ctx: Context,
    role: Annotated[Role, Field(description="What to write.")],
    key: KeyArg = None,
    bars: Annotated[int, Field(ge=1, le=256)] = 8,
    tempo: Annotated[float | None, Field(ge=20, le=999, description="BPM; default the style's.")] = None,
    style: StyleArg = None,
    progression: Annotated[str | None, Field(max_length=2000, description=(
        "Chords to write over: symbols ('Dm7 G7 Cmaj7') or roman numerals ('i7 iv7 VII III'), one per bar "
        "unless durations say ('ii7:2 V7:2'); repeated to fill the bars. Default: one from the style."),
        examples=["i7 iv7 VIImaj7 IIImaj7"])] = None,
    time_signature: Annotated[str | None, Field(pattern=r"^\s*\d{1,2}\s*/\s*\d{1,2}\s*$",
                                                description="Default the style's (4/4).")] = None,
    density: Annotated[float, Field(ge=0, le=1, description="0 sparse ... 1 busy.")] = 0.5,
    energy: Annotated[float, Field(ge=0, le=1, description="0 calm (sparse grooves) ... 1 full.")] = 0.6,
    register: Annotated[str | None, Field(max_length=20, description="'low', 'middle', 'high' or a range "
                                          "'C4-G5'. Default the role's usual range.")] = None,
    seed: Annotated[int | None, Field(ge=0, le=2**31 - 1, description="Same seed and arguments, same result; "
                                      "none: a new seed, returned as seed_used.")] = None,
    temperature: Temperature = 0.8,
    engine: EngineArg = "auto",
    melody_id: Annotated[str | None, Field(max_length=64, description="counter: the melody to write against.")] = None,
    name: Annotated[str | None, Field(max_length=200)] = None,
) -> ComposeResult:
    """Write one part (melody, counter, chords, pad, bass, arpeggio, drums) in a style, key and tempo over a
    progression. The result names the engine, the progression (pass it on so parts fit) and its checks.

    Example: {"role": "bass", "key": "D minor", "bars": 8, "tempo": 82, "style": "lofi",
    "progression": "i7 iv7 VIImaj7 IIImaj7"}."""
    ws = services(ctx).workspace
    seed = secrets.randbelow(2**31) if seed is None else seed
    melody = None
    if melody_id:
        if role != "counter":
            raise LiveloomError(f"melody_id is for role 'counter' (a line written against a melody), not {role!r}")
        _, mclip = ws.load_clip(melody_id)
        if mclip.is_drum:
            raise LiveloomError(f"{melody_id} is a drum clip; a counter-melody needs a pitched melody")
        melody = mclip.notes
    chosen = resolve_style(ctx, style)
    result = await run_job(ctx, lambda job: compose_part(
        role, key=key, bars=bars, tempo=tempo, time_signature=time_signature, style=chosen, progression=progression,
        density=density, energy=energy, register=register, seed=seed, temperature=temperature, engine=engine,
        melody=melody, models=services(ctx).models, name=name, job=job))
    params = {"role": role, "key": str(result.key), "bars": bars, "tempo": result.clip.tempo, "style": result.style.name,
              "progression": result.progression_text, "time_signature": str(result.clip.time_signature),
              "density": density, "energy": energy, "register": register, "seed": seed,
              "temperature": temperature, "engine": engine}
    record = store_clip(ws, result.clip, provenance(engine=result.engine, params=params,
                                                    parents=[melody_id] if melody_id else []))

    return ComposeResult(**artifact_summary(record).model_dump(), role=role, style=result.style.name,
                         engine=result.engine, key_used=str(result.key), tempo_used=result.clip.tempo or 0.0,
                         progression=result.progression_text,
                         chords=[ChordOut(**c) for c in describe_progression(result.chords)],
                         checks=checks_out(result.checks), all_checks_passed=result.passed, details=result.details,
                         seed_used=seed)


@tool(title="Continue a clip", read_only=False, idempotent=False, ui=True)
async def continue_clip(
    ctx: Context,
    id: Annotated[str, Field(min_length=1, max_length=64, description="The clip to continue (kept as it is).")],
    bars: Annotated[int, Field(ge=1, le=32, description="How many bars to add.")] = 4,
    style: Annotated[str | None, Field(max_length=48, description="The model's style to continue in: chorale, "
                                       "palestrina, renaissance, medieval, essen, irish, quartet, or a learned style "
                                       "(list_styles; drum clips too when it learned drums). Default: the style "
                                       "classifier's guess from the clip.")] = None,
    key: KeyArg = None,
    seed: Seed = 0,
    temperature: Temperature = 0.9,
    include_original: Annotated[bool, Field(description="Return the clip followed by its continuation "
                                                        "(else the new bars alone).")] = True,
) -> ContinueResult:
    """Continue a clip by some bars: pitched clips by the trained model, in the clip's key, range and rhythm; drum
    clips bar for bar with a fill (a pattern continuation).

    Example: {"id": "clip_3f9a2b1c0d", "bars": 4, "seed": 2}."""
    ws = services(ctx).workspace
    _, clip = ws.load_clip(id)
    if not clip.notes:
        raise LiveloomError(f"{id} has no notes to continue from")
    bar_len = clip.time_signature.beats_per_bar
    src_bars = whole_bars(clip.length, clip.time_signature)
    chosen = resolve_style(ctx, style)
    if isinstance(chosen, str) and chosen not in MODEL_STYLES:
        raise LiveloomError(f"continue_clip writes in the model's styles ({', '.join(MODEL_STYLES)}) or a learned "
                            f"style (list_styles); {style!r} is neither")
    learned_kit = not isinstance(chosen, str | None) and "drums" in chosen.learned_roles
    if clip.is_drum and learned_kit:
        k = None
        new, engine = await run_job(ctx, lambda job: continue_kit(services(ctx).models, clip, chosen, bars, seed,
                                                                  temperature, job))
    elif clip.is_drum:
        new = await anyio.to_thread.run_sync(lambda: continue_groove(
            clip.notes, bar_len=bar_len, source_bars=src_bars, new_bars=bars, seed=seed))
        engine = "pattern continuation: the clip's bars in turn, a fill at the end (not a learned model)"
        k = None
    else:
        k = key_of(clip, key)
        new, engine = await run_job(ctx, lambda job: continue_pitched(
            services(ctx).models, clip, k, bars, chosen, seed, temperature, job))
    length_new = bars * bar_len
    if include_original:
        notes = list(clip.notes) + shift(new, src_bars * bar_len)
        length = src_bars * bar_len + length_new
    else:
        notes, length = new, length_new
    out = clip.model_copy(update={"notes": notes, "length": length, "name": f"{clip.name} continued",
                                  "loop_end": None})
    out = Clip.model_validate(out.model_dump())
    checks = check_role("drums" if clip.is_drum else "continuation", new, length=length_new, bars=bars,
                        ts=clip.time_signature, key=k or resolve_key(None, get_style(None)), chords=None,
                        register=(0, 127))
    record = store_clip(ws, out, provenance(engine=engine, params={
        "bars": bars, "style": style, "key": str(k) if k else None, "seed": seed, "temperature": temperature,
        "include_original": include_original}, parents=[id]))
    return ContinueResult(**artifact_summary(record).model_dump(), source=id, engine=engine, bars_added=bars,
                          checks=checks_out(checks), all_checks_passed=all(c.passed for c in checks))


@tool(title="Harmonize a melody", read_only=False, idempotent=False, ui=True)
async def harmonize(
    ctx: Context,
    id: Annotated[str, Field(min_length=1, max_length=64, description="The melody clip (kept as it is).")],
    style: Annotated[str, Field(max_length=40, description=(
        "'chorale' — four-part writing by the trained model (alto, tenor, bass under the melody, no parallel "
        "fifths or octaves); or a library style (pop, rock, jazz, bossa, lofi, funk, folk, ambient, house, "
        "trap) — chords chosen for the melody, then voiced and comped with a bass line in that style; or a learned "
        "style, whose network comps and writes the bass over those chords."))] = "chorale",
    key: KeyArg = None,
    chords_per_bar: Annotated[int, Field(ge=1, le=4, description="Library styles: harmonic rhythm.")] = 1,
    seed: Seed = 0,
    temperature: Temperature = 0.8,
    cadences: Annotated[list[Annotated[float, Field(ge=0, le=4096)]] | None, Field(
        max_length=256, description="Chorale: the beats (from the clip's start, 0 = its first beat) where phrases "
                                    "end — a chorale's fermatas — for root-position cadences there. Default: the "
                                    "melody's long notes, notes before a rest, and its last note.")] = None,
) -> HarmonizeResult:
    """Harmonize a melody, kept as it is. chorale: the trained model writes alto, tenor, bass (SATB ranges, no
    parallels, cadences at phrase ends); other styles: chords chosen for the melody, voiced and comped with a
    bass. Returns a song.

    Example: {"id": "clip_3f9a2b1c0d", "style": "jazz"}."""
    ws = services(ctx).workspace
    _, clip = ws.load_clip(id)
    chosen = resolve_style(ctx, style)
    out = await run_job(ctx, lambda job: harmonize_clip(services(ctx).models, clip, chosen, key, chords_per_bar, seed,
                                                        temperature, job, cadences))
    record = store_song(ws, out.song, provenance(engine=out.engine, params={
        "style": style, "key": out.key, "chords_per_bar": chords_per_bar, "seed": seed,
        "temperature": temperature, "cadences": cadences}, parents=[id]))
    return HarmonizeResult(**artifact_summary(record).model_dump(), source=id, style=style, engine=out.engine,
                           key_used=out.key, chords=[ChordOut(**c) for c in out.chords],
                           checks=checks_out(out.checks), all_checks_passed=all(c.passed for c in out.checks))


@tool(title="Variations", read_only=False, idempotent=False)
async def vary(
    ctx: Context,
    id: Annotated[str, Field(min_length=1, max_length=64, description="The clip to vary (kept as it is).")],
    n: Annotated[int, Field(ge=1, le=16, description="How many variations.")] = 4,
    similarity: Annotated[float, Field(ge=0, le=1, description="1 keeps everything, 0 changes every note "
                                       "(theory) or regenerates every bar (model).")] = 0.7,
    engine: EngineArg = "auto",
    key: KeyArg = None,
    seed: Seed = 0,
    temperature: Temperature = 0.9,
    style: Annotated[str | None, Field(max_length=48, description="A learned style (list_styles): its network "
                                       "rewrites the bars (pitched clips).")] = None,
) -> VaryResult:
    """n variations of a clip with their similarity to it: theory (and drums) changes notes, the model rewrites
    bars (fill-in-the-middle), each with probability 1 - similarity.

    Example: {"id": "clip_3f9a2b1c0d", "n": 4, "similarity": 0.6}."""
    ws = services(ctx).workspace
    _, clip = ws.load_clip(id)
    if not clip.notes:
        raise LiveloomError(f"{id} has no notes to vary")
    k = None if clip.is_drum else key_of(clip, key)
    learned = resolve_style(ctx, style) if style else None
    if style and (isinstance(learned, str) or not learned.learned):
        raise LiveloomError(f"{style!r} is not a learned style (list_styles shows them); vary's model engine takes "
                            "a learned style, or none for the shipped model")
    if learned is not None and clip.is_drum:
        raise LiveloomError("vary rewrites drum clips by theory only; continue_clip writes drums in a learned style")
    use_model = engine == "model" or learned is not None
    if use_model and clip.is_drum:
        raise LiveloomError("the trained model does not know drums; use engine 'theory' or 'auto' for drum clips")
    bars = whole_bars(clip.length, clip.time_signature)
    pitches = [n.pitch for n in clip.notes]
    lo, hi = min(pitches), max(pitches)

    def make(i: int, job):
        job.progress(i, n, "variations")
        if use_model:
            return vary_with_model(services(ctx).models, clip, k, 1 - similarity, seed + i, temperature,
                                   job.check_only(), style=learned)
        return vary_notes(clip.notes, key=k, length=clip.length, amount=1 - similarity, seed=seed * 1000 + i,
                          is_drum=clip.is_drum, lo=max(0, lo - 2), hi=min(127, hi + 2)), None

    # every variation is made before any is stored: a cancelled call stores none
    def make_all(job):
        out = [make(i, job) for i in range(n)]
        job.progress(n, n, "variations")
        return out

    results = await run_job(ctx, make_all)
    made = []
    engine_name = "theory: note-level variation operators (not a learned model)"
    for i, (notes, eng) in enumerate(results):
        engine_name = eng or engine_name
        out = clip.model_copy(update={"notes": notes, "name": f"{clip.name} var {i + 1}"})
        out = Clip.model_validate(out.model_dump())
        checks = [exact_bars(out.notes, out.length, bars, clip.time_signature), check_no_overlaps(out.notes)]
        if k is not None:
            checks.append(changed_in_key(clip.notes, out.notes, k))
        record = store_clip(ws, out, provenance(engine=engine_name, params={
            "n": n, "index": i, "similarity": similarity, "engine": engine, "seed": seed,
            "temperature": temperature}, parents=[id]))
        made.append(VariationOut(id=record.id, name=out.name, similarity=round(note_similarity(clip.notes, out.notes), 3),
                                 notes=len(out.notes), checks=checks_out(checks)))
    return VaryResult(id=made[0].id, ids=[v.id for v in made], source=id, engine=engine_name,
                      requested_similarity=similarity, variations=made)


@tool(title="Interpolate between clips", read_only=False, idempotent=False)
async def interpolate(
    ctx: Context,
    a: Annotated[str, Field(min_length=1, max_length=64, description="The clip to start from.")],
    b: Annotated[str, Field(min_length=1, max_length=64, description="The clip to arrive at.")],
    steps: Annotated[int, Field(ge=1, le=16, description="How many clips between A and B.")] = 3,
    seed: Seed = 0,
) -> InterpolateResult:
    """Clips that morph from A to B step by step (notes paired by least cost, more of B each step); a deterministic
    morph with each step's similarity to A and B.

    Example: {"a": "clip_3f9a2b1c0d", "b": "clip_77aa00bb11", "steps": 3}."""
    ws = services(ctx).workspace
    _, ca = ws.load_clip(a)
    _, cb = ws.load_clip(b)
    if ca.is_drum != cb.is_drum:
        raise LiveloomError(f"{a} is {'a drum' if ca.is_drum else 'a pitched'} clip and {b} is not; interpolate "
                            "two drum clips or two pitched clips")
    if ca.time_signature != cb.time_signature:
        raise LiveloomError(f"{a} is in {ca.time_signature} and {b} in {cb.time_signature}; interpolate clips in "
                            "the same metre")
    length = max(ca.length, cb.length)
    out_steps = []
    for s in range(1, steps + 1):
        t = s / (steps + 1)
        k = None if ca.is_drum else key_of(ca if t < 0.5 else cb, None)
        notes = await anyio.to_thread.run_sync(lambda t=t: interpolate_notes(
            ca.notes, cb.notes, t, seed=seed, is_drum=ca.is_drum))
        if is_one_line(ca.notes) and is_one_line(cb.notes):
            notes = one_line(notes)
        notes = fit_to_length(notes, length)
        clip = ca.model_copy(update={"notes": notes, "length": length, "name": f"{ca.name} → {cb.name} {s}/{steps + 1}",
                                     "key": str(k) if k else None, "loop_end": None,
                                     "tempo": ca.tempo or cb.tempo})
        clip = Clip.model_validate(clip.model_dump())
        record = store_clip(ws, clip, provenance(engine="hungarian note morph", params={
            "steps": steps, "step": s, "t": t, "seed": seed}, parents=[a, b]))
        out_steps.append(InterpolationStep(id=record.id, name=clip.name, t=round(t, 4),
                                           similarity_to_a=round(note_similarity(ca.notes, notes), 3),
                                           similarity_to_b=round(note_similarity(cb.notes, notes), 3), notes=len(notes)))
    return InterpolateResult(id=out_steps[0].id, ids=[x.id for x in out_steps], a=a, b=b, engine="deterministic morph: notes paired by the Hungarian method, "
                                              "taken from B in a fixed seeded order (not a learned latent space)", steps=out_steps)
