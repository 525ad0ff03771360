"""API gating by Live version: a method added in Live X does not exist on an older Live."""

from __future__ import annotations


class since:
    """Descriptor: the wrapped method exists only when the object's Live is at least `version`."""

    def __init__(self, *version: int):
        self.version = version

    def __call__(self, fn):
        self.fn = fn
        self.name = fn.__name__
        return self

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, obj, owner=None):
        if obj is None:
            return self.fn
        if obj._live_version < self.version:
            raise AttributeError(
                f"'{type(obj).__name__}' object has no attribute '{self.name}' "
                f"(added in Live {'.'.join(map(str, self.version))})"
            )
        return self.fn.__get__(obj, owner)


class LomObject:
    """Base of fake LOM objects: carries the Live version of the set it belongs to."""

    _live_version: tuple[int, int, int] = (12, 2, 0)

    def __init__(self, live_version: tuple[int, int, int]):
        self._live_version = live_version
