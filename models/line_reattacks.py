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
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import json_weights

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


@dataclass(frozen=True)
class ReattackModel:
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray  # (features,)
    intercept: float
    threshold: float  # played again at or above this probability
    card: dict

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """P(played again) for feature rows `x` (in FEATURES' order)."""
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        z = ((x - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def to_json(self) -> dict:
        return {"features": list(FEATURES), "mean": self.mean.tolist(), "scale": self.scale.tolist(),
                "coef": self.coef.tolist(), "intercept": self.intercept, "threshold": self.threshold,
                "card": self.card}


def load(path: Path | None = None) -> ReattackModel:
    """The shipped weights, or a user's file of the same form. Loaded once per process."""
    return _load(str(Path(path or SHIPPED)))


@functools.cache
def _load(key: str) -> ReattackModel:
    d = json_weights.read(Path(key), "the repeated-note classifier", FEATURES, "bench/line_reattacks_train.py")
    return ReattackModel(np.array(d["mean"]), np.array(d["scale"]), np.array(d["coef"]), float(d["intercept"]),
                         float(d.get("threshold", 0.5)), d.get("card", {}))


def train(x: np.ndarray, played_again: np.ndarray, card: dict, c: float = 1.0,
          threshold: float = 0.5) -> ReattackModel:
    """Fit the classifier on feature rows `x` (in FEATURES' order), labelled True where the note was played again."""
    from sklearn.linear_model import LogisticRegression

    x = np.asarray(x, dtype=np.float64)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    clf = LogisticRegression(C=c, max_iter=5000)
    clf.fit((x - mean) / scale, np.asarray(played_again, dtype=bool))
    return ReattackModel(mean, scale, clf.coef_[0], float(clf.intercept_[0]), threshold, card)
