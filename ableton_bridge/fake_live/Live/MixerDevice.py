"""Live.MixerDevice: volume, panning and sends of a track (sends: one per return track)."""

from __future__ import annotations

from ._version import LomObject
from .DeviceParameter import DeviceParameter


class MixerDevice(LomObject):
    def __init__(self, live_version, n_sends: int = 2, track=None):
        super().__init__(live_version)
        self._track = track
        self.volume = DeviceParameter(live_version, "Track Volume", 0.0, 1.0, 0.85, display="volume", parent=self)
        self.panning = DeviceParameter(live_version, "Track Panning", -1.0, 1.0, 0.0, display="pan", parent=self)
        self.sends = [self._send(i) for i in range(n_sends)]
        self.track_activator = DeviceParameter(live_version, "Speaker On", 0, 1, 1, is_quantized=True,
                                               display="switch", parent=self)

    def _send(self, i: int) -> DeviceParameter:
        return DeviceParameter(self._live_version, f"{chr(65 + i)}-Send", 0.0, 1.0, 0.0, display="send", parent=self)

    @property
    def canonical_parent(self):
        return self._track
