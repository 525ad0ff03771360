"""Automation as steps (start, length, value) — the form Live's `Envelope.insert_step` takes.

Points are joined by straight lines sampled every `resolution` beats; shapes (ramp, exponential,
sine LFO, stepped values) are sampled the same way. Values are in the parameter's own range.
"""

from __future__ import annotations

import math

from .errors import LiveloomError

Step = tuple[float, float, float]
MAX_STEPS = 20_000
MIN_RESOLUTION = 1 / 128  # beats: a 512th note, far finer than Live's envelopes resolve


def _check_span(start: float, end: float, resolution: float) -> int:
    if end <= start:
        raise LiveloomError(f"the automation must end after it starts (start {start:g}, end {end:g})")
    if not resolution >= MIN_RESOLUTION:
        raise LiveloomError(f"resolution must be at least {MIN_RESOLUTION:g} beats")
    n = math.ceil((end - start) / resolution - 1e-9)
    if n > MAX_STEPS:
        raise LiveloomError(f"{n} steps at resolution {resolution:g}; the limit is {MAX_STEPS}: use a coarser "
                            "resolution")
    return n


def points_to_steps(points: list[tuple[float, float]], resolution: float = 0.25, end: float | None = None) -> list[Step]:
    """Breakpoints (beat, value) -> steps, linear in between; the last value holds to `end` (or one step)."""
    if not points:
        raise LiveloomError("no automation points given")
    pts = sorted(points)
    if any(b - a < 1e-9 for (a, _), (b, _) in zip(pts, pts[1:])):
        raise LiveloomError("two automation points are at the same beat; give each beat one value")
    stop = end if end is not None else pts[-1][0] + resolution
    _check_span(pts[0][0], max(stop, pts[0][0] + resolution), resolution)
    steps: list[Step] = []
    for (b0, v0), (b1, v1) in zip(pts, pts[1:]):
        n = max(1, math.ceil((b1 - b0) / resolution - 1e-9))
        for k in range(n):
            s = b0 + k * (b1 - b0) / n
            steps.append((s, (b1 - b0) / n, v0 + (v1 - v0) * k / n))
    last_b, last_v = pts[-1]
    if stop > last_b:
        steps.append((last_b, stop - last_b, last_v))
    return steps


def shape_steps(kind: str, *, start: float, end: float, from_value: float, to_value: float,
                resolution: float = 0.25, rate: float | None = None, values: list[float] | None = None,
                curve: float = 3.0) -> list[Step]:
    """ramp | exponential | sine | steps, sampled every `resolution` beats over [start, end)."""
    n = _check_span(start, end, resolution)
    span = end - start
    out: list[Step] = []
    for k in range(n):
        s = start + k * resolution
        length = min(resolution, end - s)
        x = (s - start) / span  # 0..1 across the span
        if kind == "ramp":
            v = from_value + (to_value - from_value) * x
        elif kind == "exponential":
            v = from_value + (to_value - from_value) * (math.exp(curve * x) - 1) / (math.exp(curve) - 1)
        elif kind == "sine":
            if not rate or not rate >= MIN_RESOLUTION:
                raise LiveloomError(f"a sine LFO needs rate: beats per cycle (at least {MIN_RESOLUTION:g}), e.g. 4 "
                                    "for one cycle a bar")
            mid, depth = (from_value + to_value) / 2, (to_value - from_value) / 2
            v = mid + depth * math.sin(2 * math.pi * (s - start) / rate - math.pi / 2)
        elif kind == "steps":
            if not values:
                raise LiveloomError("the steps shape needs values, e.g. [0.2, 0.8, 0.5, 1.0]")
            v = values[k % len(values)]
        else:
            raise LiveloomError(f"unknown shape {kind!r}; use ramp, exponential, sine or steps")
        out.append((round(s, 9), round(length, 9), v))
    return out
