"""A band's octave ghosts: is a note found an octave, a twelfth or two octaves from another sounding note a real
note, or only a partial of its partner (a bass's second harmonic, an organ's sub-octave)? Gradient-boosted trees
(scikit-learn's HistGradientBoostingClassifier with its default settings) on the two notes' levels and timing in
the network's outputs and on the spectrum's harmonics at the note's start (`engines/octave_ghosts.py` computes the
features, in FEATURES' order). A linear model was tried first: at the same share of right notes lost it found half
as many ghosts (the evidence depends on register and direction together).

Trained on liveloom's own arrangements rendered here through two General MIDI soundfonts with random patches and
evaluated on the transcription bench's band mixes through a third it never heard (`python
bench/octave_ghosts_train.py` makes the data, trains, evaluates and writes the weights; see
`checkpoints/octave-ghosts/MODEL_CARD.md`). The trees are kept as JSON and run here with numpy (no pickle).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from liveloom.music.errors import ModelFailure

from . import json_weights

FEATURES = (
    "above_octave", "above_twelfth", "above_two_octaves",  # the note lies this far above its partner
    "below_octave", "below_twelfth", "below_two_octaves",  # ... or below it
    "pitch", "partner_pitch",  # (MIDI - 60) / 12
    "amplitude", "partner_amplitude", "amplitude_ratio",  # the decoded notes' mean levels, and their log ratio
    "level_ratio",  # the note head at the two pitches over the note's first quarter second (log ratio)
    "onset_gap", "same_onset", "same_end",  # the note's start minus its partner's (s); together within 50 / 60 ms
    "length", "partner_length",  # log seconds
    "onset", "partner_onset",  # the onset head's strongest output at each pitch around the note's start
    "shared_harmonics",  # the lower note's harmonics where the upper one's fall, over its others (log10)
    "upper_fundamental",  # the spectrum at the upper note's fundamental over the lower one's (log10)
    "polyphony",  # log(1 + notes sounding at the note's start)
    "notes_below",  # log(1 + notes sounding below it then)
    "partner_lowest",  # the partner is the lowest note sounding then
    "line",  # log(1 + notes within 2 s and a fourth of it that were the lowest sounding when they started)
    "since_same", "partner_since_same",  # seconds since a note of its pitch ended (0: split there; capped at 0.5)
)
SHIPPED = Path(__file__).resolve().parent / "checkpoints" / "octave-ghosts" / "octave_ghosts.json"
RETRAIN = "bench/octave_ghosts_train.py"
TREE_KEYS = ("feature", "threshold", "left", "right", "leaf", "value")


@dataclass(frozen=True)
class GhostModel:
    baseline: float  # the log-odds every tree adds to
    trees: tuple[dict[str, np.ndarray], ...]  # TREE_KEYS -> one array per node
    threshold: float  # a ghost at or above this probability
    card: dict

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """P(ghost) for feature rows `x` (in FEATURES' order)."""
        x = np.nan_to_num(np.atleast_2d(np.asarray(x, dtype=np.float64)))
        rows = np.arange(len(x))
        raw = np.full(len(x), self.baseline)
        for t in self.trees:
            node = np.zeros(len(x), dtype=np.int64)
            inner = ~t["leaf"][node]
            while inner.any():
                here = node[inner]
                left = x[rows[inner], t["feature"][here]] <= t["threshold"][here]
                node[inner] = np.where(left, t["left"][here], t["right"][here])
                inner = ~t["leaf"][node]
            raw += t["value"][node]
        return 1.0 / (1.0 + np.exp(-raw))

    def to_json(self) -> dict:
        return {"features": list(FEATURES), "kind": "gradient-boosted trees", "baseline": self.baseline,
                "trees": [{k: t[k].tolist() for k in TREE_KEYS} for t in self.trees], "threshold": self.threshold,
                "card": self.card}


def load(path: Path | None = None) -> GhostModel:
    """The shipped weights, or a user's file of the same form. Loaded once per process."""
    return _load(str(Path(path or SHIPPED)))


@functools.cache
def _load(key: str) -> GhostModel:
    d = json_weights.read(Path(key), "the octave-ghost classifier", FEATURES, RETRAIN)
    try:
        trees = tuple(_tree(t) for t in d["trees"])
        return GhostModel(float(d["baseline"]), trees, float(d.get("threshold", 0.5)), d.get("card", {}))
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFailure(f"{key} is not a file of the octave-ghost classifier's trees ({exc}); retrain it with "
                           f"{RETRAIN}") from None


def _tree(t: dict) -> dict[str, np.ndarray]:
    out = {"feature": np.asarray(t["feature"], dtype=np.int64), "threshold": np.asarray(t["threshold"], dtype=float),
           "left": np.asarray(t["left"], dtype=np.int64), "right": np.asarray(t["right"], dtype=np.int64),
           "leaf": np.asarray(t["leaf"], dtype=bool), "value": np.asarray(t["value"], dtype=float)}
    n = len(out["leaf"])
    inner = ~out["leaf"]
    if n == 0 or any(len(v) != n for v in out.values()) or (inner.any() and (
            out["feature"][inner].min() < 0 or out["feature"][inner].max() >= len(FEATURES)
            or out["left"][inner].min() < 1 or out["left"][inner].max() >= n
            or out["right"][inner].min() < 1 or out["right"][inner].max() >= n)):
        raise ValueError("a tree's nodes do not fit together")
    return out


def train(x: np.ndarray, ghost: np.ndarray, card: dict, threshold: float = 0.5, seed: int = 0) -> GhostModel:
    """Fit the trees on feature rows `x` (in FEATURES' order), labelled True where the note was a ghost."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    clf = HistGradientBoostingClassifier(random_state=seed).fit(np.asarray(x, dtype=np.float64),
                                                                 np.asarray(ghost, dtype=bool))
    trees = []
    for (predictor,) in clf._predictors:  # one tree per iteration for two classes
        nodes = predictor.nodes
        trees.append({"feature": nodes["feature_idx"].astype(np.int64), "threshold": nodes["num_threshold"].astype(float),
                      "left": nodes["left"].astype(np.int64), "right": nodes["right"].astype(np.int64),
                      "leaf": nodes["is_leaf"].astype(bool), "value": nodes["value"].astype(float)})
    return GhostModel(float(np.ravel(clf._baseline_prediction)[0]), tuple(trees), threshold, card)


def to_text(model: GhostModel) -> str:
    return json.dumps(model.to_json(), separators=(",", ":"))
