"""The one musical data model every liveloom tool speaks.

Times are in beats (quarter notes), as in Ableton Live's clips. A `Clip` is a list of
`Note`s with its length, loop, tempo, time signature and key when known; a `Song` is tracks
of placed clips, with a tempo map, a time-signature map and sections. MIDI files
(`midi_io`), Live notes (the bridge), model tokens and analyses convert to and from these.
"""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .errors import NotationError
from .limits import LIMITS

Beat = Annotated[float, Field(ge=0, le=LIMITS.max_clip_beats, description="Time in beats (quarter notes).")]

DRUM_CHANNEL = 9  # MIDI channel 10, counted from zero


class Note(BaseModel):
    """One note. Live 11+ fields (probability, velocity deviation, release velocity, mute) included."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    pitch: int = Field(ge=0, le=127, description="MIDI pitch, 60 = C4 (middle C).")
    start: Beat
    duration: float = Field(gt=0, le=LIMITS.max_clip_beats, description="Length in beats.")
    velocity: int = Field(default=100, ge=1, le=127)
    mute: bool = Field(default=False, description="Muted (deactivated) note, as in Live.")
    probability: float = Field(default=1.0, ge=0.0, le=1.0, description="Live 11+ chance that the note plays.")
    velocity_deviation: int = Field(default=0, ge=-127, le=127, description="Live 11+ random velocity range.")
    release_velocity: int = Field(default=64, ge=0, le=127)
    pitch_bend: list[tuple[float, float]] | None = Field(
        default=None, max_length=4096,
        description="Where the pitch moves: (beats after the note's start, semitones) points, e.g. from "
                    "transcribe. MIDI export writes them as pitch-wheel events (±2 semitones); Live's API has "
                    "no per-note pitch bend, so write_clip leaves them out.")

    @property
    def end(self) -> float:
        return self.start + self.duration


class TimeSignature(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    numerator: int = Field(default=4, ge=1, le=32)
    denominator: int = Field(default=4, description="A power of two: 1, 2, 4, 8, 16 or 32.")

    @model_validator(mode="after")
    def _power_of_two(self) -> TimeSignature:
        if self.denominator not in (1, 2, 4, 8, 16, 32):
            raise ValueError(f"time signature denominator must be 1, 2, 4, 8, 16 or 32, not {self.denominator}")
        return self

    @property
    def beats_per_bar(self) -> float:
        """Bar length in quarter-note beats (6/8 -> 3.0)."""
        return self.numerator * 4.0 / self.denominator

    def __str__(self) -> str:
        return f"{self.numerator}/{self.denominator}"

    @classmethod
    def parse(cls, text: str) -> TimeSignature:
        try:
            num, den = text.strip().split("/")
            return cls(numerator=int(num), denominator=int(den))
        except ValueError as exc:
            raise NotationError(f"time signature {text!r} is not like '4/4' or '6/8': {exc}") from None


class Clip(BaseModel):
    """A clip: notes in beats plus what is known about it."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str = Field(default="clip", max_length=200)
    notes: list[Note] = Field(default_factory=list, max_length=LIMITS.max_notes_per_clip)
    length: float = Field(default=4.0, gt=0, le=LIMITS.max_clip_beats, description="Clip length in beats.")
    loop: bool = True
    loop_start: float = Field(default=0.0, ge=0)
    loop_end: float | None = Field(default=None, description="Loop end in beats; None means the clip's length.")
    tempo: float | None = Field(default=None, ge=20, le=999, description="BPM, when known.")
    time_signature: TimeSignature = Field(default_factory=TimeSignature)
    key: str | None = Field(default=None, description='e.g. "D minor", when known.')
    role: str | None = Field(default=None, description="melody, chords, bass, drums, pad, ...")
    instrument: int | None = Field(default=None, ge=0, le=127, description="General MIDI program (0-127).")
    is_drum: bool = Field(default=False, description="Drum clip: GM drum map, MIDI channel 10.")

    @model_validator(mode="after")
    def _check(self) -> Clip:
        self.notes.sort(key=lambda n: (n.start, n.pitch))
        end = self.end_of_notes
        if end > self.length + 1e-6:
            raise ValueError(f"a note ends at beat {end:g}, after the clip's length of {self.length:g} beats")
        if self.loop_end is not None and not (self.loop_start < self.loop_end <= self.length + 1e-9):
            raise ValueError("loop_end must be after loop_start and within the clip's length")
        return self

    @property
    def end_of_notes(self) -> float:
        return max((n.end for n in self.notes), default=0.0)

    @property
    def bars(self) -> float:
        return self.length / self.time_signature.beats_per_bar


class TempoChange(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    beat: Beat
    bpm: float = Field(ge=20, le=999)


class TimeSignatureChange(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    beat: Beat
    time_signature: TimeSignature


class PlacedClip(BaseModel):
    """A clip placed on a track's timeline at `start` beats."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    start: Beat = 0.0
    clip: Clip


class Track(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str = Field(default="track", max_length=200)
    role: str | None = None
    instrument: int | None = Field(default=None, ge=0, le=127, description="General MIDI program.")
    is_drum: bool = False
    clips: list[PlacedClip] = Field(default_factory=list)

    @property
    def end(self) -> float:
        return max((pc.start + pc.clip.length for pc in self.clips), default=0.0)

    def notes_on_timeline(self) -> list[Note]:
        """All unmuted and muted notes of the track, shifted to song time, sorted."""
        out = [n.model_copy(update={"start": n.start + pc.start}) for pc in self.clips for n in pc.clip.notes]
        out.sort(key=lambda n: (n.start, n.pitch))
        return out


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    name: str = Field(max_length=100)
    start: Beat
    length: float = Field(gt=0)
    energy: float | None = Field(default=None, ge=0, le=1)


class Song(BaseModel):
    """Tracks of placed clips on one timeline, with tempo and meter maps and sections."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str = Field(default="song", max_length=200)
    tempo: float = Field(default=120.0, ge=20, le=999, description="Initial tempo in BPM.")
    time_signature: TimeSignature = Field(default_factory=TimeSignature)
    key: str | None = None
    tempo_map: list[TempoChange] = Field(default_factory=list, description="Tempo changes after beat 0.")
    tempo_known: bool = Field(default=True, description="False when the source had no tempo (120 BPM assumed).")
    meter_known: bool = Field(default=True, description="False when the source had no time signature (4/4 assumed).")
    time_signature_map: list[TimeSignatureChange] = Field(default_factory=list)
    sections: list[Section] = Field(default_factory=list)
    tracks: list[Track] = Field(default_factory=list, max_length=LIMITS.max_tracks)

    @model_validator(mode="after")
    def _check(self) -> Song:
        self.tempo_map.sort(key=lambda t: t.beat)
        self.time_signature_map.sort(key=lambda t: t.beat)
        total = sum(len(pc.clip.notes) for t in self.tracks for pc in t.clips)
        if total > LIMITS.max_notes_per_song:
            raise ValueError(f"the song has {total} notes; the limit is {LIMITS.max_notes_per_song}")
        return self

    @property
    def length(self) -> float:
        return max((t.end for t in self.tracks), default=0.0)

    def tempo_at(self, beat: float) -> float:
        bpm = self.tempo
        for change in self.tempo_map:
            if change.beat <= beat:
                bpm = change.bpm
        return bpm

    def beats_to_seconds(self, beat: float) -> float:
        """Seconds from the song's start to `beat`, following the tempo map."""
        seconds, pos, bpm = 0.0, 0.0, self.tempo
        for change in self.tempo_map:
            if change.beat >= beat:
                break
            seconds += (change.beat - pos) * 60.0 / bpm
            pos, bpm = change.beat, change.bpm
        return seconds + (beat - pos) * 60.0 / bpm

    @classmethod
    def from_clip(cls, clip: Clip) -> Song:
        track = Track(
            name=clip.name,
            role=clip.role,
            instrument=clip.instrument,
            is_drum=clip.is_drum,
            clips=[PlacedClip(start=0.0, clip=clip)],
        )
        return cls(
            name=clip.name,
            tempo=clip.tempo or 120.0,
            time_signature=clip.time_signature,
            key=clip.key,
            tracks=[track],
        )


def round_up_to_bar(beats: float, time_signature: TimeSignature) -> float:
    """The smallest whole number of bars (at least one) that holds `beats`."""
    bar = time_signature.beats_per_bar
    return max(1, math.ceil(beats / bar - 1e-9)) * bar


PITCH_CLASS_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def pitch_name(pitch: int) -> str:
    """MIDI pitch to scientific pitch name: 60 -> 'C4', 70 -> 'Bb4'."""
    return f"{PITCH_CLASS_NAMES[pitch % 12]}{pitch // 12 - 1}"
