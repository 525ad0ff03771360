"""Live.Scene: a row of clip slots."""

from __future__ import annotations

from ._version import LomObject


class Scene(LomObject):
    def __init__(self, live_version, song, name: str = ""):
        super().__init__(live_version)
        self.name = name
        self._song = song
        self.color = 0

    def fire(self) -> None:
        index = self._song.scenes.index(self)
        for track in self._song.tracks:
            track.clip_slots[index].fire()
