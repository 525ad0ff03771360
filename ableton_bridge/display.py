"""Values as Live shows them: '-6.0 dB', '1.99 kHz', '35 %', '250 ms', '25L', 'C'.

Live's API speaks a parameter's raw value (Auto Filter's Frequency is 20..135, a fader 0..1); its display
string (`str_for_value`) is the only honest map to units, and it is not given as a formula. So liveloom
reads display strings and searches the raw range for the value whose display matches what was asked
(`closest`), instead of assuming curves. These are the pure parts: parsing and choosing.
"""

from __future__ import annotations

import math
import re

from liveloom.music.errors import LiveloomError

_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
_UNITS = {"": (1.0, ""), "hz": (1.0, "hz"), "khz": (1000.0, "hz"), "k": (1000.0, "hz"), "db": (1.0, "db"),
          "%": (1.0, "%"), "ms": (1.0, "ms"), "s": (1000.0, "ms"), "sec": (1000.0, "ms"), "st": (1.0, "st"),
          ":1": (1.0, "ratio"), "x": (1.0, "ratio")}
UNIT_NAMES = {"hz": "Hz", "db": "dB", "%": "%", "ms": "ms", "pan": "pan (25L, C, 40R)", "st": "semitones",
              "ratio": "a ratio", "": "a plain number"}


def parse_display(text: str) -> tuple[float, str] | None:
    """'1.99 kHz' -> (1990.0, 'hz'); '-inf dB' -> (-inf, 'db'); '25L' -> (-25.0, 'pan'); 'C' -> (0.0, 'pan');
    '4.00 : 1' -> (4.0, 'ratio'); '0.50' -> (0.5, ''). None when it is not a number with a known unit."""
    t = str(text).strip().lower().replace("\u2212", "-").replace(" ", "")
    if t in ("c", "center", "centre"):
        return 0.0, "pan"
    m = re.fullmatch(r"(\d+(?:\.\d*)?)([lr])", t) or re.fullmatch(r"([lr])(\d+(?:\.\d*)?)", t)
    if m:
        num, side = (m.group(1), m.group(2)) if m.group(1)[0].isdigit() else (m.group(2), m.group(1))
        return (-float(num) if side == "l" else float(num)), "pan"
    if re.fullmatch(r"-inf(?:db)?", t):
        return -math.inf, "db"
    m = re.fullmatch(rf"({_NUMBER})(khz|hz|k|db|%|ms|sec|s|st|:1|x)?", t)
    if not m:
        return None
    scale, unit = _UNITS[m.group(2) or ""]
    return float(m.group(1)) * scale, unit


def describe(unit: str) -> str:
    return UNIT_NAMES.get(unit, unit)


def closest(target: float, values: list[float], parsed: list[float]) -> tuple[int, float]:
    """Index into `values` whose display (`parsed`) is nearest `target`; among equal displays the middle one
    (the display rounds: a plateau of raw values shows the same text). -> (index, distance)."""
    if target == -math.inf:
        idx = [i for i, p in enumerate(parsed) if p == -math.inf]
        if idx:
            return idx[0], 0.0
        return min(range(len(parsed)), key=lambda i: parsed[i]), math.inf
    dist = [abs(p - target) if math.isfinite(p) else math.inf for p in parsed]
    best = min(dist)
    ties = [i for i, d in enumerate(dist) if d == best]
    return ties[len(ties) // 2], best


def bracket(target: float, values: list[float], parsed: list[float]) -> tuple[float, float]:
    """The narrowest pair of neighbouring raw values whose displays enclose `target` (monotone displays);
    the best single sample's neighbours when none does."""
    for i in range(len(values) - 1):
        a, b = parsed[i], parsed[i + 1]
        if min(a, b) <= target <= max(a, b):
            return values[i], values[i + 1]
    i, _ = closest(target, values, parsed)
    return values[max(0, i - 1)], values[min(len(values) - 1, i + 1)]


def grid(lo: float, hi: float, n: int) -> list[float]:
    return [lo + (hi - lo) * k / (n - 1) for k in range(n)]


def check_unit(name: str, want_unit: str, shown: list[str], parsed: list[tuple[float, str] | None]) -> str:
    """The unit family the parameter shows; an error when the asked unit is another one."""
    units = [p[1] for p in parsed if p is not None]
    if not units:
        raise LiveloomError(f"{name} shows values like {shown[len(shown) // 2]!r}, which liveloom cannot read as "
                            "a number; give its raw value instead")
    unit = max(set(units), key=units.count)
    if want_unit and want_unit != unit and not (unit == "" and want_unit == "ratio"):
        raise LiveloomError(f"{name} is shown in {describe(unit)} (e.g. {shown[len(shown) // 2]!r}), not in "
                            f"{describe(want_unit)}; give the value in {describe(unit)}")
    return unit
