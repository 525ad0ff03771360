"""Live.Song: the Live set: tracks, return tracks, the master, scenes, tempo, transport, undo."""

from __future__ import annotations

import copy

from ._version import LomObject
from .Device import Device
from .Scene import Scene
from .Track import Track


class View(LomObject):
    """Song.view: what is selected in Live's window (a track must be selected to load a browser item)."""

    def __init__(self, live_version, song):
        super().__init__(live_version)
        self._song = song
        self._selected_track = None

    @property
    def canonical_parent(self):
        return self._song

    @property
    def selected_track(self):
        song = self._song
        every = song.tracks + song.return_tracks + [song.master_track]
        if self._selected_track not in every:  # deleted, or replaced by an undo
            self._selected_track = song.tracks[0] if song.tracks else song.master_track
        return self._selected_track

    @selected_track.setter
    def selected_track(self, track) -> None:
        self._selected_track = track

    @property
    def selected_scene(self):
        return self._song.scenes[0]


class Song(LomObject):
    def __init__(self, live_version=(12, 2, 0), n_scenes: int = 8, returns: tuple = ()):
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
        self.master_track = Track(self._live_version, self, "Main", 0, midi=False, kind="master")
        self.scenes = [Scene(self._live_version, self) for _ in range(n_scenes)]
        self.view = View(self._live_version, self)
        self._undo: list[dict] = []
        self._redo: list[dict] = []
        self._tick = None  # set by the host: changes in one main-thread tick make one undo step
        self._step_tick = object()
        self._in_step = 0
        self._step_recorded = False
        for name in returns:
            self.create_return_track().name = name
        self._undo.clear()

    # ---------------------------------------------------------------- undo
    # Before the first change in a main-thread tick (or in a begin/end_undo_step pair) the fake takes a deep
    # snapshot of the set; undo puts the last snapshot back. Scripts only ever reach objects from the song, so
    # replacing them is invisible to a script, as in Live.

    _STATE = ("tracks", "return_tracks", "master_track", "scenes", "_tempo", "signature_numerator",
              "signature_denominator")

    def _snapshot(self) -> dict:
        return copy.deepcopy({k: getattr(self, k) for k in self._STATE}, {id(self): self})

    def _checkpoint(self) -> None:
        if self._in_step:
            if self._step_recorded:
                return
            self._step_recorded = True
        elif self._tick is not None and self._step_tick == self._tick:
            return
        self._undo.append(self._snapshot())
        self._undo = self._undo[-50:]
        self._redo.clear()
        self._step_tick = self._tick

    def begin_undo_step(self) -> None:
        if not self._in_step:
            self._step_recorded = False
        self._in_step += 1

    def end_undo_step(self) -> None:
        self._in_step = max(0, self._in_step - 1)
        if not self._in_step and self._step_recorded:
            self._step_tick = self._tick  # later changes in this tick belong to the step just ended

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def undo(self) -> None:
        self._restore(self._undo, self._redo)

    def redo(self) -> None:
        self._restore(self._redo, self._undo)

    def _restore(self, take: list, keep: list) -> None:
        if take:
            keep.append(self._snapshot())
            for k, v in take.pop().items():
                setattr(self, k, v)
            self._step_tick = object()  # the next change starts a new step, even in this tick

    # ---------------------------------------------------------------- the set

    @property
    def tempo(self) -> float:
        return self._tempo

    @tempo.setter
    def tempo(self, value: float) -> None:
        if not 20.0 <= float(value) <= 999.0:
            raise RuntimeError("Tempo must be between 20 and 999")
        self._checkpoint()
        self._tempo = float(value)

    def _new_track(self, index: int, midi: bool) -> Track:
        if index < -1 or index > len(self.tracks):
            raise RuntimeError("Index out of range")
        self._checkpoint()
        label = "MIDI" if midi else "Audio"
        track = Track(self._live_version, self, f"{len(self.tracks) + 1}-{label}", len(self.scenes), midi=midi,
                      n_sends=len(self.return_tracks))
        self.tracks.insert(len(self.tracks) if index == -1 else index, track)
        return track

    def create_midi_track(self, index: int = -1) -> Track:
        return self._new_track(index, midi=True)

    def create_audio_track(self, index: int = -1) -> Track:
        return self._new_track(index, midi=False)

    def create_return_track(self) -> Track:
        if len(self.return_tracks) >= 12:
            raise RuntimeError("Maximum number of return tracks exceeded")
        self._checkpoint()
        track = Track(self._live_version, self, f"{chr(65 + len(self.return_tracks))}-Return", 0, midi=False,
                      kind="return")
        self.return_tracks.append(track)
        for t in self.tracks + self.return_tracks + [self.master_track]:
            if t.mixer_device._track is not track and t._kind != "master":
                t.mixer_device.sends = [t.mixer_device._send(i) for i in range(len(self.return_tracks))]
        return track

    def delete_track(self, index: int) -> None:
        if not 0 <= index < len(self.tracks):
            raise RuntimeError("Index out of range")
        self._checkpoint()
        del self.tracks[index]

    def duplicate_track(self, index: int) -> None:
        if not 0 <= index < len(self.tracks):
            raise RuntimeError("Index out of range")
        self._checkpoint()
        copy_ = copy.deepcopy(self.tracks[index], {id(self): self})
        self.tracks.insert(index + 1, copy_)
        self.view.selected_track = copy_

    def create_scene(self, index: int = -1) -> Scene:
        if index < -1 or index > len(self.scenes):
            raise RuntimeError("Index out of range")
        self._checkpoint()
        at = len(self.scenes) if index == -1 else index
        scene = Scene(self._live_version, self)
        self.scenes.insert(at, scene)
        from .ClipSlot import ClipSlot

        for track in self.tracks:
            track.clip_slots.insert(at, ClipSlot(self._live_version, track))
        return scene

    def duplicate_scene(self, index: int) -> None:
        if not 0 <= index < len(self.scenes):
            raise RuntimeError("Index out of range")
        self._checkpoint()
        scene = copy.deepcopy(self.scenes[index], {id(self): self})
        self.scenes.insert(index + 1, scene)
        for track in self.tracks:
            track.clip_slots.insert(index + 1, copy.deepcopy(track.clip_slots[index], {id(self): self,
                                                                                      id(track): track}))

    def delete_scene(self, index: int) -> None:
        if not 0 <= index < len(self.scenes) or len(self.scenes) == 1:
            raise RuntimeError("Index out of range")
        self._checkpoint()
        del self.scenes[index]
        for track in self.tracks:
            del track.clip_slots[index]

    def move_device(self, device: Device, target: Track, target_position: int) -> int:
        source = device.canonical_parent
        if source is None or device not in source.devices:
            raise RuntimeError("Device is not in a track")
        self._checkpoint()
        source.devices.remove(device)
        pos = max(0, min(int(target_position), len(target.devices)))
        kinds = [d.type for d in target.devices]  # MIDI effects, then the instrument, then audio effects
        lo = sum(1 for k in kinds if k == 4) + (1 if device.type == 2 and 1 in kinds else 0) if device.type != 4 else 0
        hi = len(kinds) if device.type == 2 else sum(1 for k in kinds if k == 4)
        pos = max(lo, min(pos, hi))
        target.devices.insert(pos, device)
        device._parent = target
        return pos

    def start_playing(self) -> None:
        self.is_playing = True

    def stop_playing(self) -> None:
        self.is_playing = False

    def continue_playing(self) -> None:
        self.is_playing = True

    # test helper, not Live API: add a device to a track as if the user had loaded it
    def _load_device(self, track: Track, name: str, class_name: str, params: list[tuple],
                     device_type: int = 2) -> Device:
        device = Device(self._live_version, name, class_name, params, device_type=device_type, parent=track)
        track.devices.append(device)
        return device
