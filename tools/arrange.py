"""Arrange family: arrange (a song form -> a multi-track song) and orchestrate (a clip over an ensemble)."""

from __future__ import annotations

from typing import Annotated, Literal

import anyio
from mcp.server.mcpserver import Context
from pydantic import BaseModel, Field

from liveloom.engines.arranger import SectionSpec
from liveloom.engines.arranger import arrange as do_arrange
from liveloom.engines.arranger import orchestrate as do_orchestrate
from liveloom.engines.generation import compose as compose_part
from liveloom.music.errors import LiveloomError
from liveloom.tools.base import provenance, resolve_style, run_job, services, tool
from liveloom.tools.schemas import (
    ArtifactSummary,
    CheckOut,
    KeyArg,
    Seed,
    StyleArg,
    artifact_summary,
    checks_out,
    store_song,
)


class SectionIn(BaseModel):
    name: str = Field(min_length=1, max_length=60, description="intro, verse, chorus, bridge, build, drop, "
                                                                "breakdown, outro, A, B ... (same name = same "
                                                                "material, varied).")
    bars: int = Field(ge=1, le=128)
    energy: float = Field(ge=0, le=1, description="0 calm ... 1 everything playing.")
    progression: str | None = Field(default=None, max_length=2000, description="This section's chords (default: "
                                                                                 "the style's).")


class SectionOut(BaseModel):
    name: str
    start_bar: int
    bars: int
    energy: float
    progression: str
    tracks: list[str]


class ArrangeResult(ArtifactSummary):
    style: str
    key_used: str
    tempo_used: float
    engine: str
    form: list[SectionOut]
    checks_passed: int
    checks_total: int
    all_checks_passed: bool
    failed_checks: list[CheckOut] = Field(default_factory=list, description="Only the checks that failed (all are "
                                                                            "run, per section and track).")


class OrchestrateResult(ArtifactSummary):
    source: str
    ensemble: str
    engine: str
    checks: list[CheckOut]
    all_checks_passed: bool
    details: list[str]


LEARNED_BARS = 8
COMPOSE_ROLE = {"lead": "melody", "chords": "chords", "bass": "bass", "drums": "drums"}


def learned_parts(models, st, key, tempo, time_signature, progression, roles, seeds, seed, density, job):
    """One clip per track the learned style knows (not given as a seed), all over one progression so they fit:
    (that progression, {track: clip})."""
    from liveloom.engines.generation import choose_progression, style_key_meter

    _, k, _ = style_key_meter(st, key, time_signature)
    text = progression or choose_progression(st, k, seed)
    wanted = [r for r in roles if r in COMPOSE_ROLE and COMPOSE_ROLE[r] in st.learned_roles and r not in seeds]
    out = {}
    for i, role in enumerate(wanted):
        job.progress(i, len(wanted), "learned parts")
        made = compose_part(COMPOSE_ROLE[role], key=key, bars=LEARNED_BARS, tempo=tempo, time_signature=time_signature,
                            style=st, progression=text, density=density, seed=seed + i, models=models,
                            job=job.check_only())
        out[role] = made.clip
    return text, out


@tool(title="Arrange a song", read_only=False, idempotent=False, ui=True)
async def arrange(
    ctx: Context,
    style: StyleArg = None,
    key: KeyArg = None,
    tempo: Annotated[float | None, Field(ge=20, le=999, description="BPM; default the style's.")] = None,
    form: Annotated[Literal["pop", "verse-chorus", "edm", "aaba", "loop"] | None, Field(
        description="A ready form: pop (intro, verse, chorus, verse, chorus, bridge, chorus, outro; 56 bars), "
                    "verse-chorus (32), edm (intro, build, drop, breakdown, build, drop, outro; 72), aaba (32), "
                    "loop (8). Ignored when sections are given.")] = None,
    sections: Annotated[list[SectionIn] | None, Field(max_length=64, description="Your own form.")] = None,
    progression: Annotated[str | None, Field(max_length=2000, description="Chords for every section that does "
                                             "not give its own (default: the style's, choruses differ).")] = None,
    time_signature: Annotated[str | None, Field(pattern=r"^\s*\d{1,2}\s*/\s*\d{1,2}\s*$")] = None,
    tracks: Annotated[list[Literal["drums", "bass", "chords", "lead", "counter"]] | None, Field(
        max_length=5, description="Which tracks (default all five).")] = None,
    seed_clips: Annotated[dict[Literal["drums", "bass", "chords", "lead", "counter"], str] | None, Field(
        description="Clips to use for a track instead of writing one, by track: {'lead': 'clip_...'}; each is "
                    "looped through the sections where that track plays. Give the progression they were written "
                    "over (compose's result has it) so the other tracks fit.")] = None,
    density: Annotated[float, Field(ge=0, le=1)] = 0.5,
    seed: Seed = 0,
    name: Annotated[str | None, Field(max_length=200)] = None,
) -> ArrangeResult:
    """Arrange a whole song from a form: drums, bass, chords (pad when calm), lead and counter-melody over the
    style's progressions, sections reused and varied, fills, builds, drops, every part in range and checked.
    Then write_song puts it in Live.

    Example: {"style": "lofi", "key": "D minor", "tempo": 82, "form": "verse-chorus"}."""
    ws = services(ctx).workspace
    seeds = {}
    for role, cid in (seed_clips or {}).items():
        _, clip = ws.load_clip(cid)
        if (role == "drums") != clip.is_drum:
            raise LiveloomError(f"seed clip {cid} for {role} is {'a drum' if clip.is_drum else 'a pitched'} clip")
        seeds[role] = clip
    specs = [SectionSpec(s.name, s.bars, s.energy, s.progression) for s in sections] if sections else None
    roles = tuple(tracks) if tracks else ("drums", "bass", "chords", "lead", "counter")
    chosen = resolve_style(ctx, style)
    engine = "theory: liveloom style library + arranging rules (not a learned model)"
    if not isinstance(chosen, str | None):  # a learned style: its network writes the parts it heard, once each
        progression, written = await run_job(ctx, lambda job: learned_parts(
            services(ctx).models, chosen, key, tempo, time_signature, progression, roles, seeds, seed, density, job))
        seeds.update(written)
        if written:
            engine = (f"learned style '{chosen.name}': its fine-tuned network wrote {', '.join(sorted(written))} "
                      f"({LEARNED_BARS} bars each over {progression}, looped through the sections); arranging rules "
                      f"and the library style {chosen.description.rsplit(' like ', 1)[-1]} for the rest")
    result = await anyio.to_thread.run_sync(lambda: do_arrange(
        style=chosen, key=key, tempo=tempo, time_signature=time_signature, form=form, sections=specs, seed=seed,
        density=density, seed_clips=seeds, progression=progression, roles=roles))
    song = result.song
    if name:
        song = song.model_copy(update={"name": name})
    record = store_song(ws, song, provenance(engine=engine, params={
        "style": style, "key": song.key, "tempo": song.tempo, "form": form,
        "sections": [s.model_dump() for s in sections] if sections else None, "progression": progression,
        "tracks": list(roles), "seed_clips": seed_clips, "density": density, "seed": seed},
        parents=list((seed_clips or {}).values())))
    failed = [c for c in result.checks if not c.passed]
    return ArrangeResult(**artifact_summary(record).model_dump(), style=chosen.name if not isinstance(chosen, str | None)
                         else style or "pop", key_used=song.key or "",
                         tempo_used=song.tempo, engine=engine,
                         form=[SectionOut(**{k: v for k, v in s.items() if k != "chords"}) for s in result.sections],
                         checks_passed=len(result.checks) - len(failed), checks_total=len(result.checks),
                         all_checks_passed=not failed, failed_checks=checks_out(failed))


@tool(title="Orchestrate a clip", read_only=False, idempotent=False, ui=True)
async def orchestrate(
    ctx: Context,
    id: Annotated[str, Field(min_length=1, max_length=64, description="The clip to orchestrate (kept as it is).")],
    ensemble: Annotated[Literal["string quartet", "string orchestra", "brass", "big band", "woodwind quintet",
                                "synth stack"], Field(description="Who plays it.")] = "string quartet",
) -> OrchestrateResult:
    """Spread a clip over an ensemble: top line, bass line and inner notes to their instruments, octaves moved into
    range; a song with one track per instrument, checked.

    Example: {"id": "clip_3f9a2b1c0d", "ensemble": "brass"}."""
    ws = services(ctx).workspace
    _, clip = ws.load_clip(id)
    song, checks, details = await anyio.to_thread.run_sync(lambda: do_orchestrate(clip, ensemble))
    engine = "theory: voices ranked per onset and assigned to instruments by range (not a learned model)"
    record = store_song(ws, song, provenance(engine=engine, params={"ensemble": ensemble},
                                             parents=[id]))
    return OrchestrateResult(**artifact_summary(record).model_dump(), source=id, ensemble=ensemble, engine=engine,
                             checks=checks_out(checks), all_checks_passed=all(c.passed for c in checks),
                             details=details)
