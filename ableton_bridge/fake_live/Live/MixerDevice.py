"""Live.MixerDevice: volume, panning and sends of a track."""

from __future__ import annotations

from ._version import LomObject
from .DeviceParameter import DeviceParameter


class MixerDevice(LomObject):
    def __init__(self, live_version, n_sends: int = 2):
        super().__init__(live_version)
        self.volume = DeviceParameter(live_version, "Track Volume", 0.0, 1.0, 0.85)
        self.panning = DeviceParameter(live_version, "Track Panning", -1.0, 1.0, 0.0)
        self.sends = [DeviceParameter(live_version, f"{chr(65 + i)}-Send", 0.0, 1.0, 0.0) for i in range(n_sends)]
        self.track_activator = DeviceParameter(live_version, "Speaker On", 0, 1, 1, is_quantized=True)
