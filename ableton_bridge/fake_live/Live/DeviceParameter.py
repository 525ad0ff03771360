"""Live.DeviceParameter: a named value with a real range."""

from __future__ import annotations

from ._version import LomObject


class DeviceParameter(LomObject):
    def __init__(self, live_version, name: str, min: float = 0.0, max: float = 1.0, value: float | None = None,
                 is_quantized: bool = False):
        super().__init__(live_version)
        self.name = name
        self.original_name = name
        self.min = float(min)
        self.max = float(max)
        self.default_value = float(value if value is not None else min)
        self._value = self.default_value
        self.is_quantized = is_quantized
        self.is_enabled = True

    @property
    def value(self) -> float:
        return self._value

    @value.setter
    def value(self, v: float) -> None:
        v = float(v)
        if not self.min <= v <= self.max:
            raise RuntimeError("Invalid value. Check the parameters range with min/max")
        self._value = round(v) if self.is_quantized else v

    def __str__(self) -> str:
        return f"{self._value:.2f}"
