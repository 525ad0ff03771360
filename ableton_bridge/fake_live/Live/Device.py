"""Live.Device: a device on a track, with its parameters."""

from __future__ import annotations

from ._version import LomObject
from .DeviceParameter import DeviceParameter


class Device(LomObject):
    def __init__(self, live_version, name: str, class_name: str, params: list[tuple]):
        super().__init__(live_version)
        self.name = name
        self.class_name = class_name
        self.class_display_name = class_name
        self.type = 1
        on = DeviceParameter(live_version, "Device On", 0, 1, 1, is_quantized=True)
        self.parameters = [on] + [DeviceParameter(live_version, *p) for p in params]
        self.can_have_chains = False
        self.is_active = True
