"""Live.Song: the Live set: tracks, scenes, tempo, transport, undo."""

from __future__ import annotations

import copy

from ._version import LomObject
from .Device import Device
from .Scene import Scene
from .Track import Track


class Song(LomObject):
    def __init__(self, live_version=(12, 2, 0), n_scenes: int = 8):
        super().__init__(tuple(live_version))
        self._tempo = 120.0
        self.signature_numerator = 4
        self.signature_denominator = 4
        self.is_playing = False
        self.loop = False
        self.loop_start = 0.0
        self.loop_length = 16.0
        self.current_song_time = 0.0
        self.tracks: list[Track] = []
        self.return_tracks: list[Track] = []
        self.scenes = [Scene(self._live_version, self) for _ in range(n_scenes)]
        self._undo: list[tuple] = []

    # undo: the fake snapshots tracks and scenes before each change a script makes through Song methods

    def _checkpoint(self) -> None:
        self._undo.append((copy.copy(self.tracks), copy.copy(self.scenes), self._tempo))
        self._undo = self._undo[-50:]

    @property
    def tempo(self) -> float:
        return self._tempo

    @tempo.setter
    def tempo(self, value: float) -> None:
        if not 20.0 <= float(value) <= 999.0:
            raise RuntimeError("Tempo must be between 20 and 999")
        self._checkpoint()
        self._tempo = float(value)

    def create_midi_track(self, index: int = -1) -> Track:
        if index < -1 or index > len(self.tracks):
            raise RuntimeError("Index out of range")
        self._checkpoint()
        track = Track(self._live_version, self, f"{len(self.tracks) + 1}-MIDI", len(self.scenes))
        self.tracks.insert(len(self.tracks) if index == -1 else index, track)
        return track

    def delete_track(self, index: int) -> None:
        if not 0 <= index < len(self.tracks):
            raise RuntimeError("Index out of range")
        self._checkpoint()
        del self.tracks[index]

    def create_scene(self, index: int = -1) -> Scene:
        if index < -1 or index > len(self.scenes):
            raise RuntimeError("Index out of range")
        self._checkpoint()
        at = len(self.scenes) if index == -1 else index
        scene = Scene(self._live_version, self)
        self.scenes.insert(at, scene)
        for track in self.tracks:
            from .ClipSlot import ClipSlot
            track.clip_slots.insert(at, ClipSlot(self._live_version, track))
        return scene

    def delete_scene(self, index: int) -> None:
        if not 0 <= index < len(self.scenes) or len(self.scenes) == 1:
            raise RuntimeError("Index out of range")
        self._checkpoint()
        del self.scenes[index]
        for track in self.tracks:
            del track.clip_slots[index]

    def start_playing(self) -> None:
        self.is_playing = True

    def stop_playing(self) -> None:
        self.is_playing = False

    def continue_playing(self) -> None:
        self.is_playing = True

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    def undo(self) -> None:
        if self._undo:
            self.tracks, self.scenes, self._tempo = self._undo.pop()

    # test helper, not Live API: add a device to a track as if the user had loaded it
    def _load_device(self, track: Track, name: str, class_name: str, params: list[tuple]) -> Device:
        device = Device(self._live_version, name, class_name, params)
        track.devices.append(device)
        return device
