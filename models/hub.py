"""The one registry of the models a server uses, each loaded once on first use (never at start-up) and shared by
its tools: the symbolic transformer, the style classifier, and the three transcription networks (basic-pitch,
the piano model, the drum model).

One hub per server (held in the tools' services, not a global). Its settings come from the server's config:
the symbolic checkpoint (`LIVELOOM_MODEL` or `liveloom serve --checkpoint`, else the shipped one), the device,
the transcription precision and a local piano checkpoint. Failures to load raise the models' own errors, which
are `ModelFailure`s said in words.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path


class ModelHub:
    def __init__(self, symbolic_path: str | os.PathLike | None = None, device: str | None = None, *,
                 transcribe_precision: str = "fp32", piano_checkpoint: str | os.PathLike | None = None,
                 threads: int | None = 1, drum_checkpoint: str | os.PathLike | None = None):
        self.symbolic_path = Path(symbolic_path) if symbolic_path else None
        self.device = device or None
        self.transcribe_precision = transcribe_precision
        self.piano_checkpoint = str(piano_checkpoint) if piano_checkpoint else None
        self.drum_checkpoint = str(drum_checkpoint) if drum_checkpoint else None
        # intra-op threads for the symbolic model's calls: 1 beside a DAW (measured: 8 bars of chorale 2.6 s idle
        # either way; beside two busy processes 4.4 s with 1 thread, 15.6 s with 2). None: torch's default.
        self.threads = threads
        self._lock = threading.Lock()
        self._symbolic = None
        self._classifier = None
        self._transcriber = None
        self._piano = None
        self._drums = None
        self._learned: dict[str, tuple[float, object]] = {}  # folder -> (its mtime, the model), the latest few

    def symbolic(self):
        """The symbolic transformer (generate.SymbolicModel)."""
        with self._lock:
            if self._symbolic is None:
                from .generate import load

                self._symbolic = load(self.symbolic_path, self.device, threads=self.threads)
            return self._symbolic

    def learned(self, folder: str | os.PathLike):
        """A learned style's network (the base with its adapter merged in), loaded once per folder and kept while
        it is one of the last three used; reloaded when the style was learned again."""
        key = str(Path(folder))
        stamp = Path(folder).stat().st_mtime if Path(folder).exists() else 0.0
        with self._lock:
            hit = self._learned.pop(key, None)
            if hit is None or hit[0] != stamp:
                from .finetune import load_learned

                hit = (stamp, load_learned(key, self.symbolic_path, self.device, threads=self.threads))
            self._learned[key] = hit
            while len(self._learned) > 3:
                self._learned.pop(next(iter(self._learned)))
            return hit[1]

    def for_style(self, learned: str | None):
        """The network that writes a style: a learned style's own, else the symbolic transformer."""
        return self.learned(learned) if learned else self.symbolic()

    def style_classifier(self):
        with self._lock:
            if self._classifier is None:
                from .style_classifier import StyleClassifier

                self._classifier = StyleClassifier.load()
            return self._classifier

    def transcriber(self):
        """basic-pitch's network in PyTorch (any instrument): (model, device); float32 unless bf16/auto is set."""
        with self._lock:
            if self._transcriber is None:
                from .basic_pitch_torch import load

                self._transcriber = load(precision=self.transcribe_precision)
            return self._transcriber

    def drums(self):
        """The drum transcription model trained here (or a local checkpoint folder)."""
        with self._lock:
            if self._drums is None:
                from .drum_transcriber import load

                self._drums = load(self.drum_checkpoint, threads=self.threads)
            return self._drums

    def piano(self):
        """The Transkun 2.0 piano model (the one in its wheel, or a local checkpoint)."""
        with self._lock:
            if self._piano is None:
                from .transkun_piano import load

                self._piano = load(self.piano_checkpoint, precision=self.transcribe_precision)
            return self._piano
