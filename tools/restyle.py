"""restyle: keep a melody note for note and write new accompanying voices in a style, with the trained
symbolic model (models/) conditioned on the style — or on a weighted mix of styles."""

from __future__ import annotations

from typing import Annotated, Literal

from mcp.server.mcpserver import Context
from pydantic import BaseModel, Field

from liveloom.engines.restyle import MODEL_STYLES, write_voices
from liveloom.music.errors import LiveloomError
from liveloom.tools.base import provenance, run_job, services, tool
from liveloom.tools.schemas import ArtifactSummary, artifact_summary, store_song


class RestyleResult(ArtifactSummary):
    source: str = Field(description="The clip this was made from (unchanged).")
    style: str = Field(description="The style written in (or the mix, as weights).")
    engine: str = Field(description="What wrote the new voices.")
    key_used: str
    voices_written: list[str] = Field(description="The new tracks, top to bottom.")
    melody_kept: bool = Field(description="The melody track is the source clip, note for note.")
    checks: dict = Field(description="Checks on the result: chord tones on strong beats, parallel fifths/octaves, "
                                     "notes in the key's scale, voices in their ranges, polyphony.")
    style_scores: dict = Field(description="The style classifier's P(style), for the source melody and the result, "
                                           "over the corpus styles it knows (chorale, palestrina, essen, irish, quartet).")


class StyleWeight(BaseModel):
    style: Literal["chorale", "palestrina", "renaissance", "medieval", "essen", "irish", "quartet"]
    weight: float = Field(ge=0, le=1)


@tool(title="Restyle (model)", read_only=False, idempotent=False, ui=True)
async def restyle(
    ctx: Context,
    id: Annotated[str, Field(min_length=1, max_length=64, description="The melody clip (kept as it is).")],
    style: Annotated[str | None, Field(max_length=48, description="The target style: chorale, palestrina, "
                                       "renaissance, medieval, essen, irish or quartet (the corpus collections the "
                                       "model was trained on).")] = "chorale",
    mix: Annotated[list[StyleWeight] | None, Field(
        max_length=4, description="Instead of one style: a weighted mix, e.g. [{style: chorale, weight: 0.7}, "
                                  "{style: irish, weight: 0.3}] (interpolates the model's style control).")] = None,
    voices: Annotated[int, Field(ge=1, le=3, description="How many voices to write below the melody.")] = 3,
    key: Annotated[str | None, Field(max_length=40, description="The melody's key (default: the clip's, "
                                     "else estimated).")] = None,
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0,
    temperature: Annotated[float, Field(ge=0.1, le=1.5, description="Lower is safer, higher more adventurous.")] = 0.8,
    avoid_parallels: Annotated[bool, Field(description="Keep the voices from moving in parallel fifths and "
                                           "octaves (masked while writing).")] = True,
) -> RestyleResult:
    """Keep a melody and write new voices below it with the trained model in a style (chorale, Palestrina,
    Renaissance, medieval, Essen, Irish, quartet) or a mix; a song, every voice in range and key.

    Example: {"id": "clip_3f9a2b1c0d", "style": "quartet", "voices": 3, "seed": 4}."""
    ws = services(ctx).workspace
    _, clip = ws.load_clip(id)
    if mix:
        weights = {w.style: w.weight for w in mix}
        if sum(weights.values()) <= 0:
            raise LiveloomError("the mix's weights are all 0; give at least one style a weight above 0")
        target = max(weights, key=weights.get)
        style_label = ", ".join(f"{s} {w:.2f}" for s, w in weights.items())
    else:
        if style is None:
            raise LiveloomError(f"give a style ({', '.join(MODEL_STYLES)}) or a mix")
        if style not in MODEL_STYLES:
            if services(ctx).styles.find(style) is not None:
                raise LiveloomError(f"restyle writes ensemble voices in the corpus styles ({', '.join(MODEL_STYLES)});"
                                    f" for the learned style {style!r} use harmonize(id, style={style!r}) — its "
                                    "network comps and writes the bass under the melody")
            raise LiveloomError(f"unknown style {style!r}; restyle takes {', '.join(MODEL_STYLES)} or a mix")
        weights, target, style_label = None, style, style
    out = await run_job(ctx, lambda job: write_voices(
        services(ctx).models, clip, target=target, weights=weights, voices=voices, key=key, seed=seed,
        temperature=temperature, avoid_parallels=avoid_parallels, score_styles=True,
        name=f"{clip.name or id} restyled ({style_label})", job=job))
    record = store_song(ws, out.song, provenance(engine=out.engine, params={
        "style": style_label, "voices": voices, "key": out.key, "seed": seed, "temperature": temperature,
        "avoid_parallels": avoid_parallels},
        parents=[id]))
    song, ensemble, engine, checks, k = out.song, out.ensemble, out.engine, out.checks, out.key
    before, after = out.style_scores
    return RestyleResult(**artifact_summary(record).model_dump(), source=id, style=style_label, engine=engine,
                         key_used=k, voices_written=[e[0] for e in ensemble],
                         melody_kept=song.tracks[0].clips[0].clip == clip, checks=checks,
                         style_scores={"source": before, "result": after})


