"""Live.Track: clip slots, Arrangement clips, devices and the mixer."""

from __future__ import annotations

from ._version import LomObject, since
from .Clip import Clip
from .ClipSlot import ClipSlot
from .Device import Device
from .MixerDevice import MixerDevice


class Track(LomObject):
    def __init__(self, live_version, song, name: str, n_scenes: int, midi: bool = True):
        super().__init__(live_version)
        self.name = name
        self.color = 0
        self._song = song
        self.has_midi_input = midi
        self.has_audio_input = not midi
        self.mute = False
        self.solo = False
        self.arm = False
        self.clip_slots = [ClipSlot(live_version, self) for _ in range(n_scenes)]
        self.arrangement_clips: list[Clip] = []
        self.devices: list[Device] = []
        self.mixer_device = MixerDevice(live_version)

    @property
    def canonical_parent(self):
        return self._song

    @since(12, 1, 10)
    def create_midi_clip(self, start_time: float, length: float) -> Clip:
        if not self.has_midi_input:
            raise RuntimeError("Can only create MIDI clips on MIDI tracks")
        if length <= 0 or start_time < 0:
            raise RuntimeError("Invalid clip position or length")
        clip = Clip(self._live_version, length, self, is_arrangement=True, start_time=start_time)
        self._place_in_arrangement(clip)
        return clip

    @since(9, 7, 0)
    def duplicate_clip_to_arrangement(self, clip: Clip, destination_time: float) -> None:
        copy = Clip(self._live_version, clip.length, self, is_arrangement=True, start_time=destination_time)
        copy.name = clip.name
        copy.color = clip.color
        from .Clip import MidiNoteSpecification

        copy.add_new_notes([MidiNoteSpecification(n.pitch, n.start_time, n.duration, n.velocity, n.mute, n.probability,
                                                  n.velocity_deviation, n.release_velocity)
                            for n in clip.get_notes_extended(0, 128, 0.0, 1e9)])
        self._place_in_arrangement(copy)

    def _place_in_arrangement(self, clip: Clip) -> None:
        # a clip placed over others replaces the part it covers (kept simple: overlapped clips go)
        self.arrangement_clips = [c for c in self.arrangement_clips
                                  if c.end_time <= clip.start_time or c.start_time >= clip.end_time]
        self.arrangement_clips.append(clip)
        self.arrangement_clips.sort(key=lambda c: c.start_time)

    def delete_clip(self, clip: Clip) -> None:
        if clip in self.arrangement_clips:
            self.arrangement_clips.remove(clip)
            return
        raise RuntimeError("Clip is not an arrangement clip of this track")

    def delete_device(self, index: int) -> None:
        del self.devices[index]

    def stop_all_clips(self) -> None:
        for slot in self.clip_slots:
            if slot.clip:
                slot.clip.stop()
