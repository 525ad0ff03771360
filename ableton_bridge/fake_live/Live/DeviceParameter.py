"""Live.DeviceParameter: a named value with a real range, shown in its unit (Hz, dB, %, ms, pan)."""

from __future__ import annotations

import math

from ._version import LomObject, changed

# Live's track volume fader: 0.85 is 0 dB, 1.0 is +6 dB, 0 is -inf. The fake's curve is an approximation with
# those anchors (linear in dB above 0.4, logarithmic below); liveloom never assumes the curve, it asks
# str_for_value, as it must with Live.


def _volume_db(v: float) -> float:
    if v <= 0:
        return -math.inf
    if v >= 0.4:
        return 40.0 * (v - 0.85)
    return -18.0 + 40.0 * math.log10(v / 0.4)


def _hz(f: float) -> str:
    if f < 100:
        return f"{f:.1f} Hz"
    if f < 1000:
        return f"{f:.0f} Hz"
    return f"{f / 1000:.2f} kHz" if f < 10000 else f"{f / 1000:.1f} kHz"


def _db(d: float) -> str:
    if d == -math.inf:
        return "-inf dB"
    return f"{round(d, 1) + 0.0:.1f} dB"  # + 0.0: no "-0.0 dB" just under unity


def _ms(ms: float) -> str:
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.2f} s"


def _pan(v: float) -> str:
    n = int(round(v * 50))
    return "C" if n == 0 else (f"{-n}L" if n < 0 else f"{n}R")


DISPLAY = {
    "plain": lambda v: f"{v:.2f}",
    "pitch_hz": lambda v: _hz(440.0 * 2 ** ((v - 69.0) / 12.0)),  # Auto Filter's 20..135 is 26 Hz..19.9 kHz
    "percent": lambda v: f"{v * 100:.0f} %",
    "db": _db,
    "volume": lambda v: _db(_volume_db(v)),
    "send": lambda v: _db(_volume_db(v * 0.85)),  # a send's fader tops out at 0 dB
    "ms": _ms,
    "pan": _pan,
    "switch": lambda v: "On" if v >= 0.5 else "Off",
    "int": lambda v: f"{int(round(v))}",
}


class DeviceParameter(LomObject):
    def __init__(self, live_version, name: str, min: float = 0.0, max: float = 1.0, value: float | None = None,
                 is_quantized: bool = False, display: str = "plain", parent=None):
        super().__init__(live_version)
        self.name = name
        self.original_name = name
        self.min = float(min)
        self.max = float(max)
        self.default_value = float(value if value is not None else min)
        self._value = self.default_value
        self.is_quantized = is_quantized
        self.is_enabled = True
        self._display = DISPLAY[display]
        self._parent = parent

    @property
    def canonical_parent(self):
        return self._parent

    @property
    def value(self) -> float:
        return self._value

    @value.setter
    def value(self, v: float) -> None:
        v = float(v)
        if not self.min <= v <= self.max:
            raise RuntimeError("Invalid value. Check the parameters range with min/max")
        changed(self)
        self._value = round(v) if self.is_quantized else v

    def str_for_value(self, value: float) -> str:
        return self._display(float(value))

    def __str__(self) -> str:
        return self._display(self._value)
