"""liveloom.music — the leaf every layer stands on: the data model (Note, Clip, Song, ...), errors, limits,
theory, voicing, notation, MIDI I/O, analysis, transforms, automation shapes, checks, the style library,
harmony (chords in time) and note-list operations. It imports nothing else from liveloom.

The data model is at the top level: `from liveloom.music import Clip, Note, Song`."""

from .errors import Cancelled, LiveloomError, ModelFailure, NotationError, NotFoundError
from .types import Clip, Note, PlacedClip, Section, Song, TimeSignature, Track

__all__ = ["Cancelled", "Clip", "LiveloomError", "ModelFailure", "NotFoundError", "NotationError", "Note",
           "PlacedClip", "Section", "Song", "TimeSignature", "Track"]
