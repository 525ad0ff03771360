"""restyle: keep a melody note for note and write new accompanying voices in a style, with the trained
symbolic model (models/) conditioned on the style — or on a weighted mix of styles."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Literal

import anyio
from mcp.server.mcpserver import MCPServer
from pydantic import BaseModel, Field

from liveloom.server.toolkit import Services, register_tool
from liveloom.server.workspace import Provenance
from liveloom.tools.core.errors import LiveloomError
from liveloom.tools.core.model import Clip, Note, PlacedClip, Song, Track
from liveloom.tools.schemas import ArtifactSummary, artifact_summary, store_song

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


def _skyline(notes: list[Note]) -> list[Note]:
    """The top line of a clip: at each onset the highest note, cut where the next onset starts."""
    by_start: dict[float, Note] = {}
    for n in notes:
        if not n.mute and (n.start not in by_start or n.pitch > by_start[n.start].pitch):
            by_start[n.start] = n
    starts = sorted(by_start)
    out = []
    for i, s in enumerate(starts):
        n = by_start[s]
        end = min(n.end, starts[i + 1]) if i + 1 < len(starts) else n.end
        out.append(n.model_copy(update={"duration": max(1e-3, end - s)}))
    return out


def register(server: MCPServer, services: Services) -> None:
    ws = services.workspace

    @register_tool(server, title="Restyle (model)", read_only=False, idempotent=True)
    async def restyle(
        id: Annotated[str, Field(min_length=1, max_length=64, description="The melody clip (kept as it is).")],
        style: Annotated[Literal["chorale", "palestrina", "renaissance", "medieval", "essen", "irish", "quartet"] | None,
                         Field(description="The target style (a corpus collection the model was trained on).")] = "chorale",
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
        """Keep a melody note for note and write new accompanying voices (and their rhythm) in a style with
        liveloom's trained symbolic model — Bach chorale, Palestrina, Renaissance, medieval, Essen folk, Irish,
        string quartet — or a weighted mix of styles. The result is a song: the melody track (the source
        clip, unchanged) and one track per new voice, each within its instrument's range and in the key.

        Example: {"id": "clip_3f9a2b1c0d", "style": "quartet", "voices": 3, "seed": 4}."""
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
            weights, target, style_label = None, style, style
        out = await anyio.to_thread.run_sync(lambda: write_voices(
            services, clip, target=target, weights=weights, voices=voices, key=key, seed=seed,
            temperature=temperature, avoid_parallels=avoid_parallels, score_styles=True,
            name=f"{clip.name or id} restyled ({style_label})"))
        record = store_song(ws, out.song, Provenance(tool="restyle", model=out.engine, params={
            "style": style_label, "voices": voices, "key": out.key, "seed": seed, "temperature": temperature,
            "avoid_parallels": avoid_parallels},
            parents=[id]))
        song, ensemble, engine, checks, k = out.song, out.ensemble, out.engine, out.checks, out.key
        before, after = out.style_scores
        return RestyleResult(**artifact_summary(record).model_dump(), source=id, style=style_label, engine=engine,
                             key_used=k, voices_written=[e[0] for e in ensemble],
                             melody_kept=song.tracks[0].clips[0].clip == clip, checks=checks,
                             style_scores={"source": before, "result": after})


def melody_and_key(clip: Clip, key: str | None, what: str):
    """The clip's top line and its key (given, the clip's, or estimated); an error for drum or empty clips."""
    from .style import key_of

    if clip.is_drum:
        raise LiveloomError(f"that is a drum clip; there is no melody to {what}")
    melody = _skyline(clip.notes)
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


def write_voices(services: Services, clip: Clip, *, target: str, weights: dict[str, float] | None, voices: int,
                 key: str | None, seed: int, temperature: float, avoid_parallels: bool, score_styles: bool,
                 name: str) -> WrittenVoices:
    """The clip's top line kept note for note, 1-3 voices written below it by the trained model in a style (or
    a mix), each in its instrument's range and in the key; a song of the melody track (the clip itself) and
    one track per new voice, with its checks (and the style classifier's scores when asked)."""
    from liveloom.models import tokenizer as T
    from liveloom.models.convert import notes_to_piece, piece_notes
    from liveloom.models.evaluate import chord_tone_share, max_polyphony, parallels
    from liveloom.models.generate import Constraints, ModelError

    melody, k = melody_and_key(clip, key, "write voices for")
    meter = round(clip.time_signature.beats_per_bar * T.TICKS_PER_QUARTER)
    if meter not in T.METERS:
        raise LiveloomError(f"the model writes bars of 1 to 8 quarter notes; {clip.time_signature} is not one")
    bars = max(1, math.ceil(clip.length / clip.time_signature.beats_per_bar - 1e-9))
    if bars > 32:
        raise LiveloomError(f"the clip is {bars} bars long; the model takes up to 32 bars at a time — split it "
                            "(get_clip shows where) and do each part")
    piece = notes_to_piece([(0, n) for n in melody], meter, bars)
    ensemble = ENSEMBLES[target][3 - voices:] if voices < 3 else ENSEMBLES[target]
    scale = frozenset(k.written_pitch_classes())
    ranges = {i + 1: (lo, hi) for i, (_, _, lo, hi) in enumerate(ensemble)}
    constraints = Constraints(scale=scale, pitch_range=(min(lo for lo, _ in ranges.values()),
                                                        max(hi for _, hi in ranges.values())),
                              voice_ranges=ranges, max_polyphony=voices + 1, avoid_parallels=avoid_parallels)
    header = T.Header(style=target, key_tonic=k.tonic, key_minor=k.is_minor, meter_ticks=meter,
                      voices=voices + 1, density=T.density_bin(len(melody) / bars), style_mix=weights)
    try:
        model = services.models.symbolic()
        result = model.harmonize(piece, header, constraints=constraints, seed=seed, temperature=temperature)
        scores = None
        if score_styles:
            classifier = services.models.style_classifier()
            scores = (classifier.proba(piece), classifier.proba(result.piece))
    except ModelError as exc:
        raise LiveloomError(str(exc)) from None
    new = result.piece
    bad, moves = parallels(new)
    tracks = [Track(name=clip.name or "melody", role=clip.role or "melody", instrument=clip.instrument,
                    clips=[PlacedClip(clip=clip)])]
    voiced = piece_notes(new, velocity=80)
    in_range = in_scale = total = 0
    for i, (vname, program, lo, hi) in enumerate(ensemble, start=1):
        notes = [n for v, n in voiced if v == i and n.start < clip.length]
        notes = [n.model_copy(update={"duration": min(n.duration, clip.length - n.start)}) for n in notes]
        total += len(notes)
        in_range += sum(lo <= n.pitch <= hi for n in notes)
        in_scale += sum(n.pitch % 12 in scale for n in notes)
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
