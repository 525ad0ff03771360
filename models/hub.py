"""The models a server uses, loaded once on first use (never at start-up) and shared by its tools.

One hub per server (held in Services, not a global). The symbolic model comes from the path given
(`LIVELOOM_MODEL` or `liveloom serve --checkpoint`), else the shipped checkpoint.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path


class ModelHub:
    def __init__(self, symbolic_path: str | os.PathLike | None = None, device: str | None = None):
        env = os.environ.get("LIVELOOM_MODEL")
        self.symbolic_path = Path(symbolic_path) if symbolic_path else (Path(env) if env else None)
        self.device = device or os.environ.get("LIVELOOM_DEVICE") or None
        self._lock = threading.Lock()
        self._symbolic = None
        self._classifier = None

    def symbolic(self):
        """The symbolic transformer (generate.SymbolicModel); raises generate.ModelError in words."""
        with self._lock:
            if self._symbolic is None:
                from .generate import load

                self._symbolic = load(self.symbolic_path, self.device)
            return self._symbolic

    def style_classifier(self):
        with self._lock:
            if self._classifier is None:
                from .style_classifier import StyleClassifier

                self._classifier = StyleClassifier.load()
            return self._classifier
