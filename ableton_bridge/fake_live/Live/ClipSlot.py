"""Live.ClipSlot: one cell of the Session view."""

from __future__ import annotations

from ._version import LomObject
from .Clip import Clip


class ClipSlot(LomObject):
    def __init__(self, live_version, track):
        super().__init__(live_version)
        self.clip = None
        self._track = track

    @property
    def has_clip(self) -> bool:
        return self.clip is not None

    @property
    def canonical_parent(self):
        return self._track

    def create_clip(self, length: float) -> None:
        if self.clip is not None:
            raise RuntimeError("Clip slot is not empty")
        if length <= 0:
            raise RuntimeError("Clip length must be greater than 0")
        if not self._track.has_midi_input:
            raise RuntimeError("Can only create MIDI clips on MIDI tracks")
        self.clip = Clip(self._live_version, length, self._track)

    def delete_clip(self) -> None:
        self.clip = None

    def fire(self) -> None:
        if self.clip is not None:
            self.clip.fire()
