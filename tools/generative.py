"""The generative compose tools: compose, continue_clip, harmonize, vary, interpolate.

Each says which engine ran (the trained model or the theory composer over the style library) and
carries the checks made on its result."""

from __future__ import annotations

from typing import Annotated, Literal

import anyio
from mcp.server.mcpserver import MCPServer
from pydantic import BaseModel, Field

from liveloom.server.toolkit import Services, register_tool
from liveloom.server.workspace import Provenance
from liveloom.tools.core.errors import LiveloomError
from liveloom.tools.core.model import Clip
from liveloom.tools.core.styles import style_names
from liveloom.tools.schemas import ArtifactSummary, artifact_summary, store_clip, store_song

Role = Literal["melody", "counter", "chords", "pad", "bass", "arpeggio", "drums"]
EngineArg = Annotated[Literal["auto", "model", "theory"], Field(
    description="auto: the trained model where it knows the style and role (folk melodies, chorale melodies and "
                "four-part chorale chords), the theory composer elsewhere. model / theory force one.")]
Seed = Annotated[int, Field(ge=0, le=2**31 - 1, description="Same seed and arguments, same result.")]
Temperature = Annotated[float, Field(ge=0.1, le=1.5, description="Lower is safer, higher more adventurous.")]
KeyArg = Annotated[str | None, Field(max_length=40, description="e.g. 'D minor', 'Bb major', 'F# dorian'; default "
                                     "the style's usual mode on C.", examples=["D minor"])]
StyleArg = Annotated[str | None, Field(max_length=40, description=(
    "A style from the library: " + ", ".join(style_names())
    + " (aliases like 'lo-fi', 'hip-hop', 'techno', 'bossa nova', 'irish' work). Default pop."),
    examples=["lofi"])]


class CheckOut(BaseModel):
    name: str
    passed: bool
    detail: str


class ChordOut(BaseModel):
    symbol: str
    chord: str
    start: float
    duration: float


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


def checks_out(checks) -> list[CheckOut]:
    return [CheckOut(**c.as_dict()) for c in checks]


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


def register(server: MCPServer, services: Services) -> None:
    ws = services.workspace

    @register_tool(server, title="Compose", read_only=False, idempotent=True)
    async def compose(
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
        """Write one part — melody, counter-melody, chords, pad, bass, arpeggio or drums — in a style, key, tempo
        and metre, over a progression (given, or chosen from the style library). The result names the engine,
        the progression (pass it to the next call so parts fit) and the checks: exact bars, in key (or out on
        purpose), chord tones on strong beats, range, no overlapping notes.

        Example: {"role": "bass", "key": "D minor", "bars": 8, "tempo": 82, "style": "lofi",
        "progression": "i7 iv7 VIImaj7 IIImaj7"}."""
        import secrets

        from liveloom.tools.core.generation import compose as do_compose

        seed = secrets.randbelow(2**31) if seed is None else seed
        melody = None
        if melody_id:
            if role != "counter":
                raise LiveloomError(f"melody_id is for role 'counter' (a line written against a melody), not {role!r}")
            _, mclip = ws.load_clip(melody_id)
            if mclip.is_drum:
                raise LiveloomError(f"{melody_id} is a drum clip; a counter-melody needs a pitched melody")
            melody = mclip.notes
        result = await anyio.to_thread.run_sync(lambda: do_compose(
            role, key=key, bars=bars, tempo=tempo, time_signature=time_signature, style=style, progression=progression,
            density=density, energy=energy, register=register, seed=seed, temperature=temperature, engine=engine,
            melody=melody, models=services.models, name=name))
        params = {"role": role, "key": str(result.key), "bars": bars, "tempo": result.clip.tempo, "style": result.style.name,
                  "progression": result.progression_text, "time_signature": str(result.clip.time_signature),
                  "density": density, "energy": energy, "register": register, "seed": seed,
                  "temperature": temperature, "engine": engine}
        record = store_clip(ws, result.clip, Provenance(tool="compose", model=result.engine, params=params,
                                                        parents=[melody_id] if melody_id else []))
        from liveloom.tools.core.composer import describe_progression

        return ComposeResult(**artifact_summary(record).model_dump(), role=role, style=result.style.name,
                             engine=result.engine, key_used=str(result.key), tempo_used=result.clip.tempo or 0.0,
                             progression=result.progression_text,
                             chords=[ChordOut(**c) for c in describe_progression(result.chords)],
                             checks=checks_out(result.checks), all_checks_passed=result.passed, details=result.details,
                             seed_used=seed)

    @register_tool(server, title="Continue a clip", read_only=False, idempotent=True)
    async def continue_clip(
        id: Annotated[str, Field(min_length=1, max_length=64, description="The clip to continue (kept as it is).")],
        bars: Annotated[int, Field(ge=1, le=32, description="How many bars to add.")] = 4,
        style: Annotated[Literal["chorale", "palestrina", "renaissance", "medieval", "essen", "irish", "quartet"] | None,
                         Field(description="Pitched clips: the model's style to continue in (default: the style "
                                           "classifier's guess from the clip).")] = None,
        key: KeyArg = None,
        seed: Seed = 0,
        temperature: Temperature = 0.9,
        include_original: Annotated[bool, Field(description="Return the clip followed by its continuation "
                                                            "(else the new bars alone).")] = True,
    ) -> ContinueResult:
        """Continue a clip by some bars. Pitched clips: the trained model reads the clip (up to its context) and
        writes what comes next, in the clip's key and range. Drum clips: the groove continues bar for bar, with
        a fill at the end (a deterministic pattern continuation, not a model).

        Example: {"id": "clip_3f9a2b1c0d", "bars": 4, "seed": 2}."""
        from liveloom.tools.core import generation as G
        from liveloom.tools.core.checks import check_role
        from liveloom.tools.core.variation import continue_groove

        from .style import key_of

        _, clip = ws.load_clip(id)
        if not clip.notes:
            raise LiveloomError(f"{id} has no notes to continue from")
        bar_len = clip.time_signature.beats_per_bar
        src_bars = G.bars_of(clip)
        if clip.is_drum:
            new = await anyio.to_thread.run_sync(lambda: continue_groove(
                clip.notes, bar_len=bar_len, source_bars=src_bars, new_bars=bars, seed=seed))
            engine = "pattern continuation: the clip's bars in turn, a fill at the end (not a learned model)"
            k = None
        else:
            k = key_of(clip, key)
            new, engine = await anyio.to_thread.run_sync(lambda: _continue_pitched(
                services, clip, k, bars, style, seed, temperature))
        length_new = bars * bar_len
        if include_original:
            shifted = [n.model_copy(update={"start": round(n.start + src_bars * bar_len, 6)}) for n in new]
            notes = list(clip.notes) + shifted
            length = src_bars * bar_len + length_new
        else:
            notes, length = new, length_new
        out = clip.model_copy(update={"notes": notes, "length": length, "name": f"{clip.name} continued",
                                      "loop_end": None})
        out = Clip.model_validate(out.model_dump())
        checks = check_role("drums" if clip.is_drum else "continuation", new, length=length_new, bars=bars,
                            ts=clip.time_signature, key=k or G.resolve_key(None, G.get_style(None)), chords=None,
                            register=(0, 127))
        record = store_clip(ws, out, Provenance(tool="continue_clip", model=engine, params={
            "bars": bars, "style": style, "key": str(k) if k else None, "seed": seed, "temperature": temperature,
            "include_original": include_original}, parents=[id]))
        return ContinueResult(**artifact_summary(record).model_dump(), source=id, engine=engine, bars_added=bars,
                              checks=checks_out(checks), all_checks_passed=all(c.passed for c in checks))

    @register_tool(server, title="Harmonize a melody", read_only=False, idempotent=True)
    async def harmonize(
        id: Annotated[str, Field(min_length=1, max_length=64, description="The melody clip (kept as it is).")],
        style: Annotated[str, Field(max_length=40, description=(
            "'chorale' — four-part writing by the trained model (alto, tenor, bass under the melody, no parallel "
            "fifths or octaves); or a library style (pop, rock, jazz, bossa, lofi, funk, folk, ambient, house, "
            "trap) — chords chosen for the melody, then voiced and comped with a bass line in that style."))] = "chorale",
        key: KeyArg = None,
        chords_per_bar: Annotated[int, Field(ge=1, le=4, description="Library styles: harmonic rhythm.")] = 1,
        seed: Seed = 0,
        temperature: Temperature = 0.8,
    ) -> HarmonizeResult:
        """Harmonize a melody. Chorale: the trained model writes alto, tenor and bass around the melody with the
        melody's notes fixed, in SATB ranges, avoiding parallel fifths and octaves. Pop/jazz and the other
        library styles: a chord per span is chosen by dynamic programming (strong-beat melody notes as chord
        tones, good root motion, a cadence), then voiced with voice leading in the style's comping rhythm, with a
        bass line. The result is a song: the melody track unchanged plus the new parts.

        Example: {"id": "clip_3f9a2b1c0d", "style": "jazz"}."""
        from .harmonize import harmonize_clip

        _, clip = ws.load_clip(id)
        out = await anyio.to_thread.run_sync(lambda: harmonize_clip(services, clip, style, key, chords_per_bar, seed,
                                                                    temperature))
        record = store_song(ws, out.song, Provenance(tool="harmonize", model=out.engine, params={
            "style": style, "key": out.key, "chords_per_bar": chords_per_bar, "seed": seed,
            "temperature": temperature}, parents=[id]))
        return HarmonizeResult(**artifact_summary(record).model_dump(), source=id, style=style, engine=out.engine,
                               key_used=out.key, chords=[ChordOut(**c) for c in out.chords],
                               checks=checks_out(out.checks), all_checks_passed=all(c.passed for c in out.checks))

    @register_tool(server, title="Variations", read_only=False, idempotent=True)
    async def vary(
        id: Annotated[str, Field(min_length=1, max_length=64, description="The clip to vary (kept as it is).")],
        n: Annotated[int, Field(ge=1, le=16, description="How many variations.")] = 4,
        similarity: Annotated[float, Field(ge=0, le=1, description="1 keeps everything, 0 changes every note "
                                           "(theory) or regenerates every bar (model).")] = 0.7,
        engine: EngineArg = "auto",
        key: KeyArg = None,
        seed: Seed = 0,
        temperature: Temperature = 0.9,
    ) -> VaryResult:
        """n variations of a clip, each stored as a clip, with its measured similarity to the source. Theory
        (auto's choice, and for drums): each note changed with probability 1 - similarity — a neighbour in the
        key, a split, a merge, a push or pull by a 16th (drums: moved, ghosted, swapped for a neighbouring
        drum). Model: bars chosen with probability 1 - similarity are rewritten by the trained model knowing the
        bars around them (fill-in-the-middle).

        Example: {"id": "clip_3f9a2b1c0d", "n": 4, "similarity": 0.6}."""
        from liveloom.tools.core.checks import changed_in_key, exact_bars, no_overlaps
        from liveloom.tools.core.variation import similarity as sim, vary_notes

        from .style import key_of

        _, clip = ws.load_clip(id)
        if not clip.notes:
            raise LiveloomError(f"{id} has no notes to vary")
        k = None if clip.is_drum else key_of(clip, key)
        use_model = engine == "model"
        if use_model and clip.is_drum:
            raise LiveloomError("the trained model does not know drums; use engine 'theory' or 'auto' for drum clips")
        bars = max(1, round(clip.length / clip.time_signature.beats_per_bar))
        pitches = [n.pitch for n in clip.notes]
        lo, hi = min(pitches), max(pitches)

        def make(i: int):
            if use_model:
                return _vary_with_model(services, clip, k, 1 - similarity, seed + i, temperature)
            return vary_notes(clip.notes, key=k, length=clip.length, amount=1 - similarity, seed=seed * 1000 + i,
                              is_drum=clip.is_drum, lo=max(0, lo - 2), hi=min(127, hi + 2)), None

        made = []
        engine_name = "theory: note-level variation operators (not a learned model)"
        for i in range(n):
            notes, eng = await anyio.to_thread.run_sync(lambda i=i: make(i))
            engine_name = eng or engine_name
            out = clip.model_copy(update={"notes": notes, "name": f"{clip.name} var {i + 1}"})
            out = Clip.model_validate(out.model_dump())
            checks = [exact_bars(out.notes, out.length, bars, clip.time_signature), no_overlaps(out.notes)]
            if k is not None:
                checks.append(changed_in_key(clip.notes, out.notes, k))
            record = store_clip(ws, out, Provenance(tool="vary", model=engine_name, params={
                "n": n, "index": i, "similarity": similarity, "engine": engine, "seed": seed,
                "temperature": temperature}, parents=[id]))
            made.append(VariationOut(id=record.id, name=out.name, similarity=round(sim(clip.notes, out.notes), 3),
                                     notes=len(out.notes), checks=checks_out(checks)))
        return VaryResult(id=made[0].id, ids=[v.id for v in made], source=id, engine=engine_name,
                          requested_similarity=similarity, variations=made)

    @register_tool(server, title="Interpolate between clips", read_only=False, idempotent=True)
    async def interpolate(
        a: Annotated[str, Field(min_length=1, max_length=64, description="The clip to start from.")],
        b: Annotated[str, Field(min_length=1, max_length=64, description="The clip to arrive at.")],
        steps: Annotated[int, Field(ge=1, le=16, description="How many clips between A and B.")] = 3,
        seed: Seed = 0,
    ) -> InterpolateResult:
        """`steps` clips that morph from clip A to clip B: notes of A and B are paired by least cost (onset and
        pitch, Hungarian method); step by step more pairs (and unpaired notes) are taken from B instead of A, in a
        seeded order that stays the same, so each step is nearer B. Two single lines give a single line. Each
        step's similarity to A and to B is measured. A deterministic morph, not a learned latent space.

        Example: {"a": "clip_3f9a2b1c0d", "b": "clip_77aa00bb11", "steps": 3}."""
        from liveloom.tools.core.composer import one_line
        from liveloom.tools.core.variation import interpolate_notes, similarity as sim

        from .style import key_of

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
            if _is_line(ca) and _is_line(cb):
                notes = one_line(notes)
            notes = [n for n in notes if n.start < length]
            notes = [n if n.end <= length else n.model_copy(update={"duration": length - n.start}) for n in notes]
            clip = ca.model_copy(update={"notes": notes, "length": length, "name": f"{ca.name} → {cb.name} {s}/{steps + 1}",
                                         "key": str(k) if k else None, "loop_end": None,
                                         "tempo": ca.tempo or cb.tempo})
            clip = Clip.model_validate(clip.model_dump())
            record = store_clip(ws, clip, Provenance(tool="interpolate", model="hungarian note morph", params={
                "steps": steps, "step": s, "t": t, "seed": seed}, parents=[a, b]))
            out_steps.append(InterpolationStep(id=record.id, name=clip.name, t=round(t, 4),
                                               similarity_to_a=round(sim(ca.notes, notes), 3),
                                               similarity_to_b=round(sim(cb.notes, notes), 3), notes=len(notes)))
        return InterpolateResult(id=out_steps[0].id, ids=[x.id for x in out_steps], a=a, b=b, engine="deterministic morph: notes paired by the Hungarian method, "
                                                  "taken from B in a fixed seeded order (not a learned latent space)", steps=out_steps)


def _is_line(clip: Clip) -> bool:
    notes = sorted(clip.notes, key=lambda n: n.start)
    return all(b.start >= a.end - 1e-6 for a, b in zip(notes, notes[1:]))


def _piece_of(clip: Clip, k, max_voices: int = 4):
    """The clip on the model's grid with voices by pitch rank at each onset (0 = top)."""
    from liveloom.models.convert import meter_ticks, notes_to_piece
    from liveloom.models import tokenizer as T

    meter = meter_ticks(clip.time_signature)
    if meter not in T.METERS:
        raise LiveloomError(f"the model writes bars of 1 to 8 quarter notes; {clip.time_signature} is not one")
    groups: dict[float, list] = {}
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
    bars = max(1, round(clip.length / clip.time_signature.beats_per_bar))
    return notes_to_piece(voiced, meter, bars), voices, meter


def _model_setup(services: Services, clip: Clip, k, style: str | None):
    from liveloom.models import tokenizer as T
    from liveloom.models.generate import Constraints

    piece, voices, meter = _piece_of(clip, k)
    if style is None:
        scores = services.models.style_classifier().proba(piece)
        style = max(scores, key=scores.get)
    pitches = [n.pitch for n in clip.notes]
    lo, hi = max(21, min(pitches) - 3), min(108, max(pitches) + 3)
    scale = frozenset(k.written_pitch_classes())
    bars = len(piece.bar_ticks)
    header = T.Header(style=style, key_tonic=k.tonic, key_minor=k.is_minor, meter_ticks=meter,
                      tempo=T.tempo_band(clip.tempo), voices=voices,
                      density=T.density_bin(len(clip.notes) / max(1, bars) / voices))
    return piece, header, Constraints(scale=scale, pitch_range=(lo, hi), max_polyphony=voices), style


def _engine_name(model, style: str) -> str:
    return (f"model: liveloom symbolic transformer ({model.parameters / 1e6:.1f}M parameters, {model.folder.name}) "
            f"on {model.device}, style '{style}'")


def _continue_pitched(services: Services, clip: Clip, k, bars: int, style: str | None, seed: int, temperature: float):
    from liveloom.models.convert import piece_notes
    from liveloom.models.generate import ModelError

    try:
        piece, header, constraints, style = _model_setup(services, clip, k, style)
        model = services.models.symbolic()
        gen = model.continue_piece(piece, header, bars, constraints=constraints, seed=seed, temperature=temperature)
    except ModelError as exc:
        raise LiveloomError(str(exc)) from None
    from liveloom.tools.core.composer import no_overlaps

    length = bars * clip.time_signature.beats_per_bar
    notes = [n for _, n in piece_notes(gen.piece, velocity=90) if n.start < length]
    notes = [n if n.end <= length else n.model_copy(update={"duration": round(length - n.start, 6)}) for n in notes]
    return no_overlaps(notes), _engine_name(model, style)


def _vary_with_model(services: Services, clip: Clip, k, amount: float, seed: int, temperature: float):
    """Rewrite bars chosen with probability `amount` by fill-in-the-middle, knowing the bars around them."""
    import random

    from liveloom.models import tokenizer as T
    from liveloom.models.convert import piece_notes
    from liveloom.models.generate import ModelError
    from liveloom.tools.core.composer import no_overlaps

    rng = random.Random(seed)
    try:
        piece, header, constraints, style = _model_setup(services, clip, k, None)
        model = services.models.symbolic()
        bars = len(piece.bar_ticks)
        chosen = [b for b in range(bars) if rng.random() < amount]
        if amount > 0 and not chosen:
            chosen = [rng.randrange(bars)]
        for b in chosen:
            gen = model.infill(piece, header, b, b + 1, constraints=constraints, seed=seed * 100 + b,
                               temperature=temperature)
            new = [T.TNote(n.voice, n.pitch, b, n.pos, n.dur) for n in gen.piece.notes if n.bar == 0]
            piece = T.Piece(piece.bar_ticks, [n for n in piece.notes if n.bar != b] + new)
    except ModelError as exc:
        raise LiveloomError(str(exc)) from None
    notes = [n for _, n in piece_notes(piece, velocity=90) if n.start < clip.length]
    notes = [n if n.end <= clip.length else n.model_copy(update={"duration": round(clip.length - n.start, 6)})
             for n in notes]
    return no_overlaps(notes), _engine_name(model, style) + f", fill-in-the-middle over {len(chosen)} of {bars} bars"
