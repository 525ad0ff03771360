"""A long computation's link to whoever asked for it: progress to report, and a flag to stop at.

Engines and models take an optional `Job` and call `job.progress(done, total, what)` as they go (which also
raises `Cancelled` once the flag is set), so a cancelled request stops within a step and stores nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import Cancelled


@dataclass
class Job:
    report: Callable[[float, float, str], None] = lambda done, total, what: None
    cancel: threading.Event = field(default_factory=threading.Event)

    def check(self) -> None:
        """Raise Cancelled if the request was cancelled."""
        if self.cancel.is_set():
            raise Cancelled()

    def progress(self, done: float, total: float, what: str) -> None:
        self.check()
        self.report(done, total, what)

    def check_only(self) -> Job:
        """The same cancellation, without progress (for a step inside a larger job that reports itself)."""
        return Job(cancel=self.cancel)


NO_JOB = Job()
