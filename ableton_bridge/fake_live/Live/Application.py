"""Live.Application: the running Live, with its version and its browser."""

from __future__ import annotations

from ._version import LomObject

_current = None


class Application(LomObject):
    def __init__(self, live_version=(12, 2, 0)):
        super().__init__(tuple(live_version))
        self._song = None
        self._browser = None

    def get_major_version(self) -> int:
        return self._live_version[0]

    def get_minor_version(self) -> int:
        return self._live_version[1]

    def get_bugfix_version(self) -> int:
        return self._live_version[2]

    @property
    def browser(self):
        if self._browser is None:
            from .Browser import Browser

            self._browser = Browser(self._live_version, self)
        return self._browser


def get_application() -> Application:
    if _current is None:
        raise RuntimeError("no fake Live is running")
    return _current


def _set_current(app: Application) -> None:
    global _current
    _current = app
