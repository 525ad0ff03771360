"""Live.Scene: a row of clip slots, with an optional tempo and time signature of its own."""

from __future__ import annotations

from ._version import LomObject, changed


class Scene(LomObject):
    def __init__(self, live_version, song, name: str = ""):
        super().__init__(live_version)
        self.name = name
        self._song = song
        self.color = 0
        self._tempo = -1.0
        self._tempo_enabled = False
        self._ts_num = -1
        self._ts_den = -1
        self._ts_enabled = False

    @property
    def canonical_parent(self):
        return self._song

    @property
    def is_empty(self) -> bool:
        index = self._song.scenes.index(self)
        return not any(t.clip_slots[index].has_clip for t in self._song.tracks)

    tempo = property(lambda self: self._tempo, lambda self, v: self._set_tempo(v))
    tempo_enabled = property(lambda self: self._tempo_enabled, lambda self, v: self._set("_tempo_enabled", bool(v)))
    time_signature_numerator = property(lambda self: self._ts_num, lambda self, v: self._set_ts("_ts_num", v, 1, 99))
    time_signature_denominator = property(lambda self: self._ts_den,
                                          lambda self, v: self._set_ts("_ts_den", v, 1, 16))
    time_signature_enabled = property(lambda self: self._ts_enabled,
                                      lambda self, v: self._set("_ts_enabled", bool(v)))

    def _set(self, attr, value) -> None:
        changed(self)
        setattr(self, attr, value)

    def _set_tempo(self, value: float) -> None:
        if not 20.0 <= float(value) <= 999.0:
            raise RuntimeError("Tempo must be between 20 and 999")
        self._set("_tempo", float(value))
        self._tempo_enabled = True

    def _set_ts(self, attr, value, lo, hi) -> None:
        if not lo <= int(value) <= hi or (attr == "_ts_den" and int(value) not in (1, 2, 4, 8, 16)):
            raise RuntimeError("Invalid time signature")
        self._set(attr, int(value))
        self._ts_enabled = True

    def fire(self) -> None:
        index = self._song.scenes.index(self)
        for track in self._song.tracks:
            track.clip_slots[index].fire()
