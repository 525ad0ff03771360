"""What kind of sample an audio file is — drum loop, one-shot, melodic, bass, chords or full mix — from a few dozen
numbers that describe its sound (`engines.sample_analysis.audio_features` computes them, in FEATURES' order).

A multinomial logistic regression (scikit-learn) on standardized features, trained on loops and one-shots
rendered here from liveloom's own parts through General MIDI soundfonts and evaluated on a soundfont it never
heard (`python bench/sample_kind.py` makes the data, trains, evaluates and writes the weights; see
`checkpoints/sample-kind/MODEL_CARD.md`). The weights are a few kilobytes of JSON; the same standardization
serves "more like this" searches, so distances weigh every feature alike.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from liveloom.music.errors import ModelFailure

from . import json_weights

KINDS = ("drum_loop", "one_shot", "melodic", "bass", "chords", "full_mix")
MFCC = 13
FEATURES = (
    "log_duration", "onset_density", "pulse_clarity", "percussive_share", "log_centroid", "centroid_spread",
    "log_bandwidth", "log_rolloff", "flatness", "zero_crossings", "band_sub", "band_low", "band_mid", "band_high",
    "band_air", "attack_place", "tail_db", "active_share", "chroma_peak", "chroma_entropy", "pitch_classes_at_once",
    "low_chroma_peak",
    *(f"mfcc{i}" for i in range(MFCC)), *(f"mfcc{i}_sd" for i in range(MFCC)),
)
SHIPPED = Path(__file__).resolve().parent / "checkpoints" / "sample-kind" / "sample_kind.json"


@dataclass(frozen=True)
class KindModel:
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray  # classes x features
    intercept: np.ndarray
    classes: tuple[str, ...]
    card: dict

    def standardize(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x, dtype=np.float64) - self.mean) / self.scale

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        z = self.standardize(np.atleast_2d(x)) @ self.coef.T + self.intercept
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    def classify(self, x: np.ndarray) -> tuple[str, float]:
        p = self.probabilities(x)[0]
        i = int(np.argmax(p))
        return self.classes[i], float(p[i])

    def to_json(self) -> dict:
        return {"features": list(FEATURES), "classes": list(self.classes), "mean": self.mean.tolist(),
                "scale": self.scale.tolist(), "coef": self.coef.tolist(), "intercept": self.intercept.tolist(),
                "card": self.card}


def load(path: Path | None = None) -> KindModel:
    """The shipped weights, or a user's file of the same form. Loaded once per process."""
    return _load(str(Path(path or SHIPPED)))


@functools.cache
def _load(key: str) -> KindModel:
    d = json_weights.read(Path(key), "the sample-kind classifier", FEATURES, "bench/sample_kind.py")
    if set(d.get("classes", ())) - set(KINDS):
        raise ModelFailure(f"{key} was trained on other kinds than this liveloom knows; retrain it with "
                           "bench/sample_kind.py")
    return KindModel(np.array(d["mean"]), np.array(d["scale"]), np.array(d["coef"]), np.array(d["intercept"]),
                     tuple(d["classes"]), d.get("card", {}))


def train(x: np.ndarray, y: list[str], card: dict, c: float = 1.0) -> KindModel:
    """Fit the classifier on feature rows `x` (in FEATURES' order) labelled with KINDS."""
    from sklearn.linear_model import LogisticRegression

    x = np.asarray(x, dtype=np.float64)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    clf = LogisticRegression(C=c, max_iter=5000, class_weight="balanced")
    clf.fit((x - mean) / scale, y)
    return KindModel(mean, scale, clf.coef_, clf.intercept_, tuple(str(k) for k in clf.classes_), card)
