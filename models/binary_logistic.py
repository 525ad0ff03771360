"""A binary logistic regression kept as a kilobyte of JSON (melody mode's repeated notes, a band's octave ghosts):
fit on standardised features with scikit-learn, read back with its feature names checked."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import json_weights


@dataclass(frozen=True)
class BinaryLogistic:
    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray  # (features,)
    intercept: float
    threshold: float  # the positive class at or above this probability
    card: dict

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """P(the positive class) for feature rows `x` (in `features`' order)."""
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        z = ((x - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def to_json(self) -> dict:
        return {"features": list(self.features), "mean": self.mean.tolist(), "scale": self.scale.tolist(),
                "coef": self.coef.tolist(), "intercept": self.intercept, "threshold": self.threshold,
                "card": self.card}


def read(path: Path, what: str, features: tuple[str, ...], retrain: str) -> BinaryLogistic:
    """The weights at `path` for `what` (e.g. "the repeated-note classifier"), refused unless trained on
    `features`; `retrain`: the command that makes a new file."""
    d = json_weights.read(path, what, features, retrain)
    return BinaryLogistic(features, np.array(d["mean"]), np.array(d["scale"]), np.array(d["coef"]),
                          float(d["intercept"]), float(d.get("threshold", 0.5)), d.get("card", {}))


def fit(x: np.ndarray, positive: np.ndarray, features: tuple[str, ...], card: dict, c: float = 1.0,
        threshold: float = 0.5, balanced: bool = False) -> BinaryLogistic:
    """Fit on feature rows `x` (in `features`' order), labelled True for the positive class."""
    from sklearn.linear_model import LogisticRegression

    x = np.asarray(x, dtype=np.float64)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    clf = LogisticRegression(C=c, max_iter=5000, class_weight="balanced" if balanced else None)
    clf.fit((x - mean) / scale, np.asarray(positive, dtype=bool))
    return BinaryLogistic(features, mean, scale, clf.coef_[0], float(clf.intercept_[0]), threshold, card)
