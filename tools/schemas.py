"""Argument types and output models shared by the tool families, the compact summaries agents read, and
storing a clip or song with its summary.

Results to the agent are summaries (bars, note count, range, key), never note dumps; the
notes themselves are available from `get_clip(notes=true)` in pages, or as MCP resources.
"""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from liveloom.music.styles import style_names
from liveloom.music.types import Clip, Note, Song, pitch_name
from liveloom.store.workspace import ArtifactRecord, Provenance, Workspace


class TrackSummary(BaseModel):
    index: int
    name: str
    role: str | None = None
    instrument: int | None = Field(default=None, description="General MIDI program.")
    is_drum: bool
    clips: int
    notes: int
    pitch_range: list[str] = Field(default_factory=list, description="Lowest and highest pitch, e.g. ['C3', 'G5'].")


class ArtifactSummary(BaseModel):
    """A clip or song artifact, in brief."""

    id: str = Field(description="Artifact id; pass it to other tools.")
    kind: str = Field(description="clip or song")
    uri: str = Field(description="MCP resource URI with the full content.")
    name: str
    bars: float
    length_beats: float
    notes: int
    tempo: float | None = None
    time_signature: str
    key: str | None = None
    pitch_range: list[str] = Field(default_factory=list)
    tracks: list[TrackSummary] = Field(default_factory=list)


class NoteColumns(BaseModel):
    """A page of notes as columns, each field named once: note i is pitch[i], start[i], duration[i] … (beats).
    The optional columns appear only when some note on the page differs from the default (mute false,
    probability 1, velocity_deviation 0, release_velocity 64, no pitch bend); `track` only for songs."""

    pitch: list[int]
    start: list[float]
    duration: list[float]
    velocity: list[int]
    track: list[int] | None = None
    mute: list[bool] | None = None
    probability: list[float] | None = None
    velocity_deviation: list[int] | None = None
    release_velocity: list[int] | None = None
    pitch_bend: list[list[list[float]] | None] | None = None

    @classmethod
    def of(cls, notes: list[Note], tracks: list[int] | None = None) -> "NoteColumns":
        def column(field: str, default):
            values = [getattr(n, field) for n in notes]
            return values if any(v != default for v in values) else None

        bends = [[list(p) for p in n.pitch_bend] if n.pitch_bend else None for n in notes]
        return cls(pitch=[n.pitch for n in notes], start=[round(n.start, 6) for n in notes],
                   duration=[round(n.duration, 6) for n in notes], velocity=[n.velocity for n in notes],
                   track=tracks, mute=column("mute", False), probability=column("probability", 1.0),
                   velocity_deviation=column("velocity_deviation", 0),
                   release_velocity=column("release_velocity", 64),
                   pitch_bend=bends if any(bends) else None)

    def rows(self) -> list[dict]:
        """The notes as one dict each (for code that wants rows)."""
        names = [k for k, v in self.__dict__.items() if v is not None]
        return [{k: getattr(self, k)[i] for k in names} for i in range(len(self.pitch))]


def _range(notes: list[Note]) -> list[str]:
    if not notes:
        return []
    return [pitch_name(min(n.pitch for n in notes)), pitch_name(max(n.pitch for n in notes))]


def song_summary_dict(song: Song) -> dict[str, Any]:
    tracks = []
    all_notes: list[Note] = []
    for i, t in enumerate(song.tracks):
        notes = t.notes_on_timeline()
        all_notes += [] if t.is_drum else notes
        tracks.append(TrackSummary(index=i, name=t.name, role=t.role, instrument=t.instrument, is_drum=t.is_drum,
                                   clips=len(t.clips), notes=len(notes),
                                   pitch_range=_range(notes)).model_dump())
    bar = song.time_signature.beats_per_bar
    return {
        "name": song.name, "bars": round(song.length / bar, 3), "length_beats": song.length,
        "notes": sum(t["notes"] for t in tracks), "tempo": song.tempo, "time_signature": str(song.time_signature),
        "key": song.key, "pitch_range": _range(all_notes), "tracks": tracks,
    }


def clip_summary_dict(clip: Clip) -> dict[str, Any]:
    return {
        "name": clip.name, "bars": round(clip.bars, 3), "length_beats": clip.length, "notes": len(clip.notes),
        "tempo": clip.tempo, "time_signature": str(clip.time_signature), "key": clip.key,
        "pitch_range": _range(clip.notes), "tracks": [],
        "role": clip.role, "is_drum": clip.is_drum, "instrument": clip.instrument,
    }


def artifact_summary(record: ArtifactRecord) -> ArtifactSummary:
    s = record.summary
    return ArtifactSummary(
        id=record.id, kind=record.kind, uri=record.uri, name=record.name, bars=s.get("bars", 0),
        length_beats=s.get("length_beats", 0), notes=s.get("notes", 0), tempo=s.get("tempo"),
        time_signature=s.get("time_signature", "4/4"), key=s.get("key"), pitch_range=s.get("pitch_range", []),
        tracks=[TrackSummary(**t) for t in s.get("tracks", [])],
    )


def store_clip(workspace: Workspace, clip: Clip, provenance: Provenance) -> ArtifactRecord:
    return workspace.put_clip(clip, provenance, clip_summary_dict(clip))


def store_song(workspace: Workspace, song: Song, provenance: Provenance) -> ArtifactRecord:
    return workspace.put_song(song, provenance, song_summary_dict(song))


# ------------------------------------------------------------------ shared argument types

GRIDS = {"1/4": 1.0, "1/8": 0.5, "1/8T": 1 / 3, "1/16": 0.25, "1/16T": 1 / 6, "1/32": 0.125}
EngineArg = Annotated[Literal["auto", "model", "theory"], Field(
    description="auto: the trained model where it knows the style and role (folk melodies, chorale melodies and "
                "four-part chorale chords), the theory composer elsewhere. model / theory force one.")]
Seed = Annotated[int, Field(ge=0, le=2**31 - 1, description="Same seed and arguments, same result.")]
Temperature = Annotated[float, Field(ge=0.1, le=1.5, description="Lower is safer, higher more adventurous.")]
KeyArg = Annotated[str | None, Field(max_length=40, description="e.g. 'D minor', 'Bb major', 'F# dorian'; default "
                                     "the style's usual mode on C.", examples=["D minor"])]
StyleArg = Annotated[str | None, Field(max_length=40, description=(
    "A style from the library: " + ", ".join(style_names())
    + " (aliases like 'lo-fi', 'hip-hop', 'techno', 'bossa nova', 'irish' work), or a learned style "
    "(list_styles). Default pop."),
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


def checks_out(checks) -> list[CheckOut]:
    return [CheckOut(**c.as_dict()) for c in checks]
