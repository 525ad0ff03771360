"""Live.Device: a device on a track, with its parameters; DeviceType as in Live."""

from __future__ import annotations

from ._version import LomObject
from .DeviceParameter import DeviceParameter


class DeviceType:
    undefined = 0
    instrument = 1
    audio_effect = 2
    midi_effect = 4


class Device(LomObject):
    def __init__(self, live_version, name: str, class_name: str, params: list[tuple], device_type: int = 2,
                 parent=None):
        super().__init__(live_version)
        self.name = name
        self.class_name = class_name
        self.class_display_name = class_name
        self.type = device_type
        self._parent = parent
        on = DeviceParameter(live_version, "Device On", 0, 1, 1, is_quantized=True, display="switch", parent=self)
        self.parameters = [on] + [self._parameter(p) for p in params]
        self.can_have_chains = class_name in ("DrumGroupDevice", "InstrumentGroupDevice", "AudioEffectGroupDevice",
                                              "MidiEffectGroupDevice")
        self.can_have_drum_pads = class_name == "DrumGroupDevice"
        self.is_active = True

    def _parameter(self, spec: tuple) -> DeviceParameter:
        name, lo, hi, value = spec[:4]
        quantized = spec[4] if len(spec) > 4 else False
        display = spec[5] if len(spec) > 5 else "plain"
        return DeviceParameter(self._live_version, name, lo, hi, value, is_quantized=quantized, display=display,
                               parent=self)

    @property
    def canonical_parent(self):
        return self._parent
