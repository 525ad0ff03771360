"""Melody mode's repeated notes: is a note that starts where one of its own pitch ends played again, or is it the
same held note the network split in two (vibrato, a bow change, a breath)? A binary logistic regression on the
sound of the note's harmonics around the join and the network's outputs there (`engines/line_reattacks.py`
computes the features, in FEATURES' order).

Trained on monophonic lines rendered here through General MIDI soundfonts and evaluated on a soundfont it never
heard (`python bench/line_reattacks_train.py` makes the data, trains, evaluates and writes the weights; see
`checkpoints/line-reattacks/MODEL_CARD.md`). The weights are a kilobyte of JSON.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from .binary_logistic import BinaryLogistic, fit, read

ENVELOPE_OFFSETS = tuple(range(-12, 13, 2))  # frames of 256 samples at 22,050 Hz around the join
FEATURES = (
    *(f"envelope{k:+d}" for k in ENVELOPE_OFFSETS),  # the harmonics' level (log, against the loudest near the join)
    "dip",  # the lowest level at the join against the loudest just before it (log)
    "rise",  # the loudest level just after against that lowest (log)
    "flux",  # the whole spectrum's rise at the join against the file's median (log)
    "onset",  # the onset head's strongest output for the pitch around the join
    "note_before", "note_after", "note_ratio",  # the note head's level before and after, and their ratio
    "length_before", "length_after",  # the two notes' lengths in seconds (up to 1)
)
SHIPPED = Path(__file__).resolve().parent / "checkpoints" / "line-reattacks" / "line_reattacks.json"
ReattackModel = BinaryLogistic  # P(played again)


def load(path: Path | None = None) -> ReattackModel:
    """The shipped weights, or a user's file of the same form. Loaded once per process."""
    return _load(str(Path(path or SHIPPED)))


@functools.cache
def _load(key: str) -> ReattackModel:
    return read(Path(key), "the repeated-note classifier", FEATURES, "bench/line_reattacks_train.py")


def train(x: np.ndarray, played_again: np.ndarray, card: dict, c: float = 1.0,
          threshold: float = 0.5) -> ReattackModel:
    """Fit the classifier on feature rows `x` (in FEATURES' order), labelled True where the note was played again."""
    return fit(x, played_again, FEATURES, card, c, threshold)
