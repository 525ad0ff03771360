"""Live.ClipSlot: one cell of the Session view."""

from __future__ import annotations

from ._version import LomObject, changed, keep_track, since
from .Clip import Clip, audio_clip


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
        changed(self)
        self.clip = Clip(self._live_version, length, self)

    @since(12, 0, 0)
    def create_audio_clip(self, file_path: str):
        if self.clip is not None:
            raise RuntimeError("Clip slot is not empty")
        if self._track.has_midi_input:
            raise RuntimeError("Can only create audio clips on audio tracks")
        clip = audio_clip(self._live_version, file_path, self, self._track._song.tempo)
        changed(self)
        self.clip = clip
        return clip

    def delete_clip(self) -> None:
        changed(self)
        self.clip = None

    def duplicate_clip_to(self, target_clip_slot) -> None:
        import copy

        if self.clip is None:
            raise RuntimeError("Clip slot is empty")
        if self._track.has_midi_input != target_clip_slot._track.has_midi_input:
            raise RuntimeError("Source and target must be of the same track type")
        changed(self)
        memo = keep_track(self._track)
        memo[id(self)] = target_clip_slot
        target_clip_slot.clip = copy.deepcopy(self.clip, memo)

    def fire(self) -> None:
        if self.clip is not None:
            self.clip.fire()
