"""Live.Track: clip slots, Arrangement clips, devices and the mixer (MIDI, audio, return and main tracks)."""

from __future__ import annotations

import copy

from ._version import LomObject, changed, keep_track, since
from .Clip import Clip, audio_clip
from .ClipSlot import ClipSlot
from .MixerDevice import MixerDevice


class Track(LomObject):
    def __init__(self, live_version, song, name: str, n_scenes: int, midi: bool = True, kind: str = "track",
                 n_sends: int = 0):
        super().__init__(live_version)
        self.name = name
        self.color = 0
        self._song = song
        self._kind = kind
        self.has_midi_input = midi
        self.has_audio_input = not midi and kind == "track"
        self.mute = False
        self.solo = False
        self.arm = False
        self.clip_slots = [ClipSlot(live_version, self) for _ in range(n_scenes)]
        self.arrangement_clips: list[Clip] = []
        self.devices: list = []
        self.mixer_device = MixerDevice(live_version, n_sends=0 if kind == "master" else n_sends, track=self)

    @property
    def canonical_parent(self):
        return self._song

    @property
    def can_be_armed(self) -> bool:
        return self._kind == "track"

    @since(12, 1, 10)
    def create_midi_clip(self, start_time: float, length: float) -> Clip:
        if not self.has_midi_input:
            raise RuntimeError("Can only create MIDI clips on MIDI tracks")
        if length <= 0 or start_time < 0:
            raise RuntimeError("Invalid clip position or length")
        changed(self)
        clip = Clip(self._live_version, length, self, is_arrangement=True, start_time=start_time)
        self._place_in_arrangement(clip)
        return clip

    @since(12, 0, 0)
    def create_audio_clip(self, file_path: str, position: float) -> Clip:
        if self.has_midi_input or self._kind != "track":
            raise RuntimeError("Can only create audio clips on audio tracks")
        if not 0.0 <= position <= 1576800.0:
            raise RuntimeError("Position out of range")
        clip = audio_clip(self._live_version, file_path, self, self._song.tempo, is_arrangement=True,
                          start_time=position)
        changed(self)
        self._place_in_arrangement(clip)
        return clip

    @since(9, 7, 0)
    def duplicate_clip_to_arrangement(self, clip: Clip, destination_time: float) -> None:
        changed(self)
        dup = copy.deepcopy(clip, keep_track(self))
        dup._parent, dup.is_arrangement_clip, dup.start_time = self, True, float(destination_time)
        dup.is_playing = False
        self._place_in_arrangement(dup)

    def _place_in_arrangement(self, clip: Clip) -> None:
        # a clip placed over others replaces the part it covers (kept simple: overlapped clips go)
        self.arrangement_clips = [c for c in self.arrangement_clips
                                  if c.end_time <= clip.start_time or c.start_time >= clip.end_time]
        self.arrangement_clips.append(clip)
        self.arrangement_clips.sort(key=lambda c: c.start_time)

    def delete_clip(self, clip: Clip) -> None:
        if clip in self.arrangement_clips:
            changed(self)
            self.arrangement_clips.remove(clip)
            return
        raise RuntimeError("Clip is not an arrangement clip of this track")

    def duplicate_clip_slot(self, index: int) -> int:
        slots = self.clip_slots
        if not 0 <= index < len(slots) or slots[index].clip is None:
            raise RuntimeError("Invalid clip slot index, or the slot is empty")
        free = next((i for i in range(index + 1, len(slots)) if slots[i].clip is None), None)
        if free is None:
            self._song.create_scene(-1)
            free = len(self.clip_slots) - 1
        changed(self)
        memo = keep_track(self)
        memo[id(slots[index])] = slots[free]
        slots[free].clip = copy.deepcopy(slots[index].clip, memo)
        return free

    def delete_device(self, index: int) -> None:
        if not 0 <= index < len(self.devices):
            raise RuntimeError("Index out of range")
        changed(self)
        del self.devices[index]

    def stop_all_clips(self) -> None:
        for slot in self.clip_slots:
            if slot.clip:
                slot.clip.stop()
