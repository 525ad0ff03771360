"""Compose family. `notation_to_clip` realises exact musical text; the generative tools (`compose`,
`continue_clip`, `harmonize`, `vary`, `interpolate`) live in `generative`."""

from typing import Annotated

import anyio
from mcp.server.mcpserver import Context
from pydantic import BaseModel, Field

from liveloom.music.limits import LIMITS
from liveloom.music.notation import ChordRhythm, NotationKind, realize
from liveloom.music.theory import parse_key
from liveloom.music.types import TimeSignature
from liveloom.tools.base import provenance, services, tool
from liveloom.tools.schemas import ArtifactSummary, artifact_summary, store_clip


class RealizedChord(BaseModel):
    symbol: str = Field(description="As written.")
    chord: str = Field(description="What it became, as a chord symbol.")
    start: float = Field(description="Beats.")
    duration: float
    pitches: list[int] = Field(description="The voicing, bass first (MIDI pitches).")


class NotationResult(ArtifactSummary):
    notation: str = Field(description="Which notation was read: chords, roman, notes, drums or abc.")
    chords: list[RealizedChord] = Field(default_factory=list)
    checks: list[str] = Field(description="What was verified about the result.")


@tool(title="Notation to clip", read_only=False, idempotent=False, ui=True)
async def notation_to_clip(
    ctx: Context,
    text: Annotated[str, Field(
        min_length=1, max_length=LIMITS.max_notation_chars,
        description=(
            "Musical text. Chords: 'Dm7 G7 | Cmaj7 | % |' or 'Cmaj7:2 F#m7b5:2 Bb/D:4'. Roman numerals (with key): "
            "'ii7 V7 Imaj7' or 'ii-V-I'. Notes: 'C4:1 E4:0.5 r:0.5 [C4 E4 G4]:2@90'. Drums, one line per "
            "drum: 'kick: x...x...\\nsnare: ....x...'. ABC with a K: line. Durations are beats (':2') or "
            "bars (':2bars'); with bar lines '|' each bar's chords share the bar and '%' repeats a bar."),
        examples=["ii7:2bars V7:2bars Imaj7:2bars", "kick: x...x...x...x...\nsnare: ....x.......x..."])],
    key: Annotated[str | None, Field(max_length=40, description="e.g. 'Bb major', 'D minor', 'F# dorian'. "
                                     "Needed for roman numerals.", examples=["Bb major"])] = None,
    tempo: Annotated[float | None, Field(ge=20, le=999, description="BPM.")] = None,
    time_signature: Annotated[str | None, Field(pattern=r"^\s*\d{1,2}\s*/\s*\d{1,2}\s*$",
                                                examples=["4/4", "6/8"])] = None,
    kind: Annotated[NotationKind, Field(description="Which notation; 'auto' detects it.")] = "auto",
    rhythm: Annotated[ChordRhythm, Field(description="How chords are played: sustain, halves, quarters, "
                                         "eighths, swing8 (swung eighths), charleston, stabs (off-beats), "
                                         "arp_up, arp_down, arp_updown.")] = "sustain",
    swing: Annotated[float | None, Field(ge=0.5, le=0.75, description="Swing: where the off-beat lands in "
                                         "each pair of grid steps (0.5 straight, 0.667 triplet swing). Eighths "
                                         "for chords and notes; the grid for drums.")] = None,
    step: Annotated[float, Field(gt=0, le=4, description="Drum grid step in beats (0.25 = 16ths).")] = 0.25,
    octave: Annotated[int, Field(ge=-3, le=3, description="Shift chords or notes by octaves.")] = 0,
    velocity: Annotated[int, Field(ge=1, le=127)] = 90,
    instrument: Annotated[int | None, Field(ge=0, le=127, description="General MIDI program for the clip.")] = None,
    repeat: Annotated[int, Field(ge=1, le=256, description="Play the material this many times (whole bars), "
                                 "e.g. a one-bar drum grid for 8 bars.")] = 1,
    chord_bass: Annotated[bool, Field(description="Chords: play the bass note (root or slash bass) in the "
                                      "left hand. Turn off when a bass track plays it.")] = True,
    name: Annotated[str | None, Field(max_length=200)] = None,
) -> NotationResult:
    """Turn compact musical text into a clip exactly as written: chords and numerals voice-led, note lists and drum
    grids on the beat grid, ABC via music21. Errors name the bad token.

    Example: {"text": "ii7:2bars V7:2bars Imaj7:2bars", "key": "Bb major", "rhythm": "swing8", "tempo": 140}."""
    ws = services(ctx).workspace
    parsed_key = parse_key(key) if key else None
    ts = TimeSignature.parse(time_signature) if time_signature else None
    result = await anyio.to_thread.run_sync(lambda: realize(
        text, kind=kind, key=parsed_key, tempo=tempo, time_signature=ts, rhythm=rhythm, swing=swing, step=step,
        octave=octave, velocity=velocity, repeat=repeat, chord_bass=chord_bass, name=name))
    clip = result.clip
    if instrument is not None and not clip.is_drum:
        clip = clip.model_copy(update={"instrument": instrument, "repeat": repeat, "chord_bass": chord_bass})
    params = {"text": text[:2000], "key": key, "tempo": tempo, "time_signature": time_signature, "kind": kind,
              "rhythm": rhythm, "swing": swing, "step": step, "octave": octave, "velocity": velocity,
              "instrument": instrument, "repeat": repeat, "chord_bass": chord_bass}
    record = store_clip(ws, clip, provenance(engine="liveloom notation realiser",
                                             params=params))
    summary = artifact_summary(record)
    return NotationResult(**summary.model_dump(), notation=result.kind,
                          chords=[RealizedChord(**c) for c in result.chords], checks=result.checks)
