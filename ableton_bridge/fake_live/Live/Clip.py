"""Live.Clip: MIDI notes with Live 11's note API and Live's overlap rule; clip envelopes."""

from __future__ import annotations

import wave
from pathlib import Path

from ._version import LomObject, changed, since
from .Envelope import Envelope


class _Fields:
    def __init__(self, **kw):
        self.__dict__.update(kw)


class MidiNoteSpecification:
    """Opaque in Live: a script can build one but not read its fields back."""

    def __init__(self, pitch, start_time, duration, velocity=100.0, mute=False, probability=1.0,
                 velocity_deviation=0.0, release_velocity=64.0):
        self._f = _Fields(pitch=pitch, start_time=start_time, duration=duration, velocity=velocity, mute=mute,
                          probability=probability, velocity_deviation=velocity_deviation,
                          release_velocity=release_velocity)


class MidiNote:
    def __init__(self, note_id: int, spec):
        spec = spec._f
        self.note_id = note_id
        self.pitch = int(spec.pitch)
        self.start_time = float(spec.start_time)
        self.duration = float(spec.duration)
        self.velocity = float(spec.velocity)
        self.mute = bool(spec.mute)
        self.probability = float(spec.probability)
        self.velocity_deviation = float(spec.velocity_deviation)
        self.release_velocity = float(spec.release_velocity)


def _validate(spec) -> None:
    spec = spec._f
    if not isinstance(spec.pitch, int) or not 0 <= spec.pitch <= 127:
        raise RuntimeError(f"Invalid note pitch {spec.pitch!r}")
    if spec.start_time < 0 or spec.duration <= 0:
        raise RuntimeError("Invalid note: start_time must be >= 0 and duration > 0")
    if not 0 <= spec.velocity <= 127 or not 0 <= spec.probability <= 1:
        raise RuntimeError("Invalid note velocity or probability")
    if not -127 <= spec.velocity_deviation <= 127 or not 0 <= spec.release_velocity <= 127:
        raise RuntimeError("Invalid note velocity deviation or release velocity")


def audio_clip(live_version, file_path: str, parent, tempo: float, is_arrangement=False, start_time=0.0):
    """An audio clip of a WAV file, warped to the set's tempo (its length in beats at that tempo)."""
    path = Path(str(file_path))
    if not path.is_absolute() or not path.is_file():
        raise RuntimeError("The path doesn't point to a valid audio file")
    try:
        with wave.open(str(path), "rb") as w:
            rate, frames = w.getframerate(), w.getnframes()
    except (wave.Error, EOFError, OSError):
        raise RuntimeError("The path doesn't point to a valid audio file") from None
    seconds = frames / float(rate)
    clip = Clip(live_version, max(seconds * tempo / 60.0, 1e-3), parent, is_arrangement, start_time)
    clip.is_midi_clip, clip.is_audio_clip = False, True
    clip.file_path, clip.sample_rate, clip.sample_length = str(path), rate, frames
    clip.warping = True
    clip.name = path.stem
    return clip


class Clip(LomObject):
    def __init__(self, live_version, length: float, parent, is_arrangement: bool = False, start_time: float = 0.0):
        super().__init__(live_version)
        self.name = ""
        self.color = 0x1AFF2F
        self.color_index = 0
        self.is_midi_clip = True
        self.is_audio_clip = False
        self.is_arrangement_clip = is_arrangement
        self.looping = True
        self._length = float(length)
        self.loop_start = 0.0
        self.loop_end = float(length)
        self.start_marker = 0.0
        self.end_marker = float(length)
        self.start_time = float(start_time)
        self.is_playing = False
        self.muted = False
        self._parent = parent  # the clip slot (Session) or the track (Arrangement)
        self._notes: dict[int, MidiNote] = {}
        self._by_pitch: dict[int, set[int]] = {}
        self._next_id = 1
        self._envelopes: dict = {}  # DeviceParameter -> Envelope

    @property
    def length(self) -> float:
        return self.loop_end - self.loop_start if self.looping else self.end_marker - self.start_marker

    @property
    def end_time(self) -> float:
        return self.start_time + self._length

    @property
    def canonical_parent(self):
        return self._parent

    @property
    def is_session_clip(self) -> bool:
        return not self.is_arrangement_clip

    # ---------------------------------------------------------------- notes (Live 11+)

    @since(11, 0, 0)
    def add_new_notes(self, notes) -> list[int]:
        specs = list(notes)
        for spec in specs:
            _validate(spec)
        if not self.is_midi_clip:
            raise RuntimeError("Notes can only be added to MIDI clips")
        changed(self)
        ids = []
        for spec in specs:
            self._apply_overlap_rule(spec)
            note = MidiNote(self._next_id, spec)
            self._notes[note.note_id] = note
            self._by_pitch.setdefault(note.pitch, set()).add(note.note_id)
            ids.append(note.note_id)
            self._next_id += 1
        return ids

    def _apply_overlap_rule(self, spec: MidiNoteSpecification) -> None:
        """Live keeps no two overlapping notes of one pitch: the new note wins. An existing note at the same
        start is replaced; one that starts earlier is cut at the new start; ones starting inside it go."""
        f = spec._f
        start, end = float(f.start_time), float(f.start_time) + float(f.duration)
        for nid in list(self._by_pitch.get(int(f.pitch), ())):
            n = self._notes[nid]
            n_end = n.start_time + n.duration
            if abs(n.start_time - start) < 1e-9 or start < n.start_time < end:
                self._drop(nid)
            elif n.start_time < start < n_end:
                n.duration = start - n.start_time

    def _drop(self, nid: int) -> None:
        note = self._notes.pop(nid, None)
        if note is not None:
            self._by_pitch[note.pitch].discard(nid)

    def _in_range(self, n: MidiNote, from_pitch, pitch_span, from_time, time_span) -> bool:
        return from_pitch <= n.pitch < from_pitch + pitch_span and from_time <= n.start_time < from_time + time_span

    @since(11, 0, 0)
    def get_notes_extended(self, from_pitch: int, pitch_span: int, from_time: float, time_span: float):
        return sorted((n for n in self._notes.values() if self._in_range(n, from_pitch, pitch_span, from_time,
                                                                          time_span)),
                      key=lambda n: (n.start_time, n.pitch))

    @since(11, 1, 0)
    def get_all_notes_extended(self):
        return sorted(self._notes.values(), key=lambda n: (n.start_time, n.pitch))

    @since(11, 0, 0)
    def remove_notes_extended(self, from_pitch: int, pitch_span: int, from_time: float, time_span: float) -> None:
        changed(self)
        for nid, n in list(self._notes.items()):
            if self._in_range(n, from_pitch, pitch_span, from_time, time_span):
                self._drop(nid)

    @since(11, 0, 0)
    def remove_notes_by_id(self, note_ids) -> None:
        changed(self)
        for nid in note_ids:
            self._drop(int(nid))

    @since(11, 0, 0)
    def get_notes_by_id(self, note_ids):
        return [self._notes[i] for i in note_ids if i in self._notes]

    # ---------------------------------------------------------------- envelopes

    def automation_envelope(self, device_parameter):
        if self.is_arrangement_clip:
            return None  # Arrangement clips have no clip envelopes through this API
        return self._envelopes.get(device_parameter)

    @since(10, 1, 0)
    def create_automation_envelope(self, device_parameter):
        if self.is_arrangement_clip:
            raise RuntimeError("Cannot create an automation envelope for an arrangement clip")
        if device_parameter in self._envelopes:
            raise RuntimeError("Envelope already exists for this parameter")
        changed(self)
        env = Envelope(self._live_version, self, device_parameter)
        self._envelopes[device_parameter] = env
        return env

    def clear_envelope(self, device_parameter) -> None:
        changed(self)
        self._envelopes.pop(device_parameter, None)

    def clear_all_envelopes(self) -> None:
        self._envelopes.clear()

    def fire(self) -> None:
        self.is_playing = True

    def stop(self) -> None:
        self.is_playing = False
