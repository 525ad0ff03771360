"""Run a Remote Script against a fake Live, with Live's main-thread tick.

`FakeLiveHost(script_module, version=(12, 2, 0), tick=0.1)` builds a fake Live set, calls the
script's `create_instance(c_instance)`, and calls `update_display()` every `tick` seconds on one
thread — the fake's "main thread". All LOM access by the script happens there, as in Live.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import ModuleType

from . import install_fake_live

install_fake_live()

import Live  # noqa: E402  (the fake, now importable)


class CInstance:
    """What Live passes to `create_instance`: access to the song, the application and Live's log."""

    def __init__(self, song, application):
        self._song = song
        self._application = application
        self.log: list[str] = []

    def song(self):
        return self._song

    def application(self):
        return self._application

    def log_message(self, message: str) -> None:
        self.log.append(message)
        del self.log[:-500]

    def show_message(self, message: str) -> None:
        self.log.append(f"[status] {message}")


class FakeLiveHost:
    def __init__(self, script: ModuleType, version: tuple[int, int, int] = (12, 2, 0), tick: float = 0.1,
                 n_scenes: int = 8, setup: Callable | None = None):
        self.version = tuple(version)
        self.tick = tick
        self.application = Live.Application.Application(self.version)
        Live.Application._set_current(self.application)
        self.song = Live.Song.Song(self.version, n_scenes=n_scenes)
        self.application._song = self.song
        if setup is not None:
            setup(self.song)
        self.song._undo.clear()
        self.c_instance = CInstance(self.song, self.application)
        self.surface = script.create_instance(self.c_instance)
        self._stop = threading.Event()
        self._paused = threading.Event()
        self._thread: threading.Thread | None = None
        self.ticks = 0

    def start(self) -> FakeLiveHost:
        self._thread = threading.Thread(target=self._run, name="fake-live-main", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self._paused.is_set():
                self.song._tick = self.ticks  # changes in one tick make one undo step, as one Live action
                self.surface.update_display()
                self.ticks += 1
            time.sleep(self.tick)

    def pause(self) -> None:
        """Live hangs (a modal dialog, a long load): nothing is processed until `resume`."""
        self._paused.set()

    def resume(self) -> None:
        self._paused.clear()

    def call(self, fn: Callable, timeout: float = 10.0):
        """Run `fn` on the main thread (for tests that inspect the set) and return its result."""
        box: dict = {}
        done = threading.Event()

        def job():
            try:
                box["value"] = fn()
            except BaseException as exc:  # pragma: no cover - re-raised below
                box["error"] = exc
            done.set()

        self.surface.schedule_message(1, job)
        if not done.wait(timeout):
            raise TimeoutError("the fake Live main thread did not run the call")
        if "error" in box:
            raise box["error"]
        return box.get("value")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.surface.disconnect()
