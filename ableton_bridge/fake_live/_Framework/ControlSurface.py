"""Fake `_Framework.ControlSurface` (the older framework): the same base as ableton.v2's."""

from ableton.v2.control_surface import ControlSurface

__all__ = ["ControlSurface"]
