"""Fake `ableton.v2.control_surface`: the ControlSurface base a Remote Script subclasses."""

from __future__ import annotations

from collections.abc import Callable


class ControlSurface:
    """Live calls `update_display` on its main thread about every 100 ms; `schedule_message(ticks, fn)`
    runs `fn` on that thread after `ticks` such calls."""

    def __init__(self, c_instance=None, *args, **kwargs):
        self._c_instance = c_instance
        self._scheduled: list[list] = []

    def song(self):
        return self._c_instance.song()

    def application(self):
        return self._c_instance.application()

    def schedule_message(self, delay_in_ticks: int, callback: Callable, parameter=None) -> None:
        self._scheduled.append([max(1, int(delay_in_ticks)), callback, parameter])

    def update_display(self) -> None:
        due, keep = [], []
        for item in self._scheduled:
            item[0] -= 1
            (due if item[0] <= 0 else keep).append(item)
        self._scheduled = keep
        for _, callback, parameter in due:
            callback() if parameter is None else callback(parameter)

    def log_message(self, *message) -> None:
        self._c_instance.log_message(" ".join(str(m) for m in message))

    def show_message(self, message: str) -> None:
        self._c_instance.show_message(message)

    def disconnect(self) -> None:
        self._scheduled = []
