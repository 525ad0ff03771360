"""Live.Envelope: a clip's automation of one parameter (steps, read back with value_at_time)."""

from __future__ import annotations

from ._version import LomObject, changed


class Envelope(LomObject):
    def __init__(self, live_version, clip, parameter):
        super().__init__(live_version)
        self._clip = clip
        self._parameter = parameter
        self._steps: list[tuple[float, float, float]] = []  # (start, end, value), non-overlapping

    @property
    def canonical_parent(self):
        return self._clip

    def insert_step(self, start_time: float, length: float, value: float) -> None:
        p = self._parameter
        if not p.min <= value <= p.max:
            raise RuntimeError("Invalid value. Check the parameters range with min/max")
        if length <= 0 or start_time < 0:
            raise RuntimeError("Invalid step: start must be >= 0 and length > 0")
        changed(self)
        end = start_time + length
        kept = []
        for s, e, v in self._steps:  # a new step replaces what it covers
            if e <= start_time or s >= end:
                kept.append((s, e, v))
            else:
                if s < start_time:
                    kept.append((s, start_time, v))
                if e > end:
                    kept.append((end, e, v))
        kept.append((start_time, end, float(value)))
        kept.sort()
        self._steps = kept

    def value_at_time(self, time: float) -> float:
        for s, e, v in self._steps:
            if s <= time < e:
                return v
        before = [st for st in self._steps if st[1] <= time]
        if before:
            return before[-1][2]  # an envelope holds its last value
        return self._steps[0][2] if self._steps else self._parameter.value

    def delete_events_in_range(self, start_time: float, end_time: float) -> None:
        changed(self)
        self._steps = [st for st in self._steps if st[1] <= start_time or st[0] >= end_time]
