"""The key and mode of a melody: major, minor, dorian, mixolydian, phrygian or lydian, on which tonic.

A conditional logit over the 72 (tonic, mode) candidates. For each candidate tonic the tune's evidence is rotated so
that the tonic is degree 0 — the duration-weighted pitch-class share, its log, which degrees are heard at all, the
notes on bar downbeats, the final note, the last bar, the first downbeat note, the lowest fifth of the notes — and
each mode weighs those twelve degrees its own way (dorian learns that a major sixth over a minor third matters,
mixolydian a flat seventh over a major third). Transposition-invariant by construction.

Trained on the single-line tunes of music21's Irish and British collections whose key line names their key or
mode (O'Neill's 1850, Ryan's Mammoth, Aird's Airs books 4-6, miscellaneous folk: 3,736 tunes, 62 dorian and 73
mixolydian) and 1,978 Essen tunes the analysis benchmark does not read; evaluated on Aird's books 1-3, which it
never saw (`python bench/mode_train.py`; see `checkpoints/mode/MODEL_CARD.md`). The weights are 7 KB of JSON.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from liveloom.music.errors import ModelFailure
from liveloom.music.types import Note

from . import json_weights

MODES = ("major", "minor", "dorian", "mixolydian", "phrygian", "lydian")
BLOCKS = (
    "share",  # the duration-weighted share of each degree
    "downbeats",  # the same for notes that start on a bar line
    "final",  # the last note (1 on its degree)
    "last_bar",  # the share in the last bar
    "first",  # the first note on a bar line
    "heard",  # 1 where a degree has at least 1 % of the time
    "low",  # the share among the lowest fifth of the notes
    "log_share",  # log(share + 0.003): how absent a degree is
)
FEATURES = tuple(f"{b}{d}" for b in BLOCKS for d in range(12))
SHIPPED = Path(__file__).resolve().parent / "checkpoints" / "mode" / "mode.json"


def evidence(notes: list[Note] | list[tuple[int, float, float]], bar: float) -> np.ndarray:
    """The tune's evidence per pitch class, (len(BLOCKS), 12), from its notes (or [pitch, start, duration] in
    beats) and the bar length in beats."""
    items = sorted(((n.pitch, n.start, n.duration) if isinstance(n, Note) else (int(n[0]), float(n[1]), float(n[2]))
                    for n in notes if not (isinstance(n, Note) and n.mute)), key=lambda n: (n[1], n[0]))
    if not items:
        raise ValueError("no sounding notes to find a mode in")
    if bar <= 0:
        raise ValueError("the bar length must be positive")
    out = np.zeros((len(BLOCKS), 12))
    share, down, final, last_bar, first, _, low, _ = range(len(BLOCKS))
    end = max(s for _, s, _ in items)
    last_bar_start = math.floor((end - 1e-6) / bar) * bar
    pitches = sorted(p for p, _, _ in items)
    cut = pitches[len(pitches) // 5]
    on_bar = [(p, s, d) for p, s, d in items if abs(s / bar - round(s / bar)) < 1e-3]
    for p, s, d in items:
        out[share, p % 12] += d
        if s + d > last_bar_start:
            out[last_bar, p % 12] += min(d, s + d - last_bar_start)
        if p <= cut:
            out[low, p % 12] += d
    for p, _, d in on_bar:
        out[down, p % 12] += d
    out[final, min(p for p, s, _ in items if s == end) % 12] = 1.0
    if on_bar:
        out[first, on_bar[0][0] % 12] = 1.0
    for row in (share, down, last_bar, low):
        total = out[row].sum()
        if total > 0:
            out[row] /= total
    out[BLOCKS.index("heard")] = out[share] >= 0.01
    out[BLOCKS.index("log_share")] = np.log(out[share] + 0.003)
    return out


def candidates(ev: np.ndarray) -> np.ndarray:
    """(12, features): the evidence rotated to each candidate tonic (degree 0 = the tonic)."""
    return np.stack([np.roll(ev, -t, axis=1).reshape(-1) for t in range(12)])


@dataclass(frozen=True)
class ModeModel:
    weights: np.ndarray  # (modes, features)
    bias: np.ndarray  # (modes,)
    card: dict

    def scores(self, x: np.ndarray) -> np.ndarray:
        """(12, modes) log-probabilities of each (tonic, mode) for one tune's candidates(…)."""
        s = x @ self.weights.T + self.bias
        s = s - s.max()
        return s - math.log(np.exp(s).sum())

    def predict(self, notes, bar: float) -> tuple[int, str, float]:
        """(tonic pitch class, mode, its probability) for a melody's notes and bar length in beats."""
        s = self.scores(candidates(evidence(notes, bar)))
        tonic, mode = np.unravel_index(int(s.argmax()), s.shape)
        return int(tonic), MODES[int(mode)], round(float(np.exp(s[tonic, mode])), 3)

    def to_json(self) -> dict:
        return {"features": list(FEATURES), "modes": list(MODES), "weights": self.weights.round(6).tolist(),
                "bias": self.bias.round(6).tolist(), "card": self.card}


def load(path: Path | None = None) -> ModeModel:
    """The shipped weights, or a user's file of the same form. Loaded once per process."""
    return _load(str(Path(path or SHIPPED)))


@functools.cache
def _load(key: str) -> ModeModel:
    d = json_weights.read(Path(key), "the mode classifier", FEATURES, "bench/mode_train.py")
    w = np.asarray(d.get("weights"), dtype=np.float64)
    b = np.asarray(d.get("bias"), dtype=np.float64)
    if d.get("modes") != list(MODES) or w.shape != (len(MODES), len(FEATURES)) or b.shape != (len(MODES),):
        raise ModelFailure(f"{key} does not hold weights for the modes {', '.join(MODES)}; retrain it with "
                           "bench/mode_train.py")
    return ModeModel(w, b, d.get("card", {}))


def train(x: np.ndarray, truth: np.ndarray, sample_weight: np.ndarray, l2: float, card: dict) -> ModeModel:
    """Fit on tunes' candidates (n, 12, features) with the true candidate index tonic * len(MODES) + mode;
    `sample_weight` per tune, `l2` the ridge penalty on the weights."""
    from scipy.optimize import minimize

    n, c, d = x.shape
    k = len(MODES)
    rows = np.arange(n)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[:k * d].reshape(k, d), theta[k * d:]
        s = (np.einsum("ncd,kd->nck", x, w) + b).reshape(n, -1)
        s = s - s.max(axis=1, keepdims=True)
        p = np.exp(s)
        p /= p.sum(axis=1, keepdims=True)
        nll = -(np.log(p[rows, truth] + 1e-300) * sample_weight).sum()
        g = p
        g[rows, truth] -= 1.0
        g = (g * sample_weight[:, None]).reshape(n, c, k)
        grad_w = np.einsum("nck,ncd->kd", g, x) + l2 * w
        return nll + 0.5 * l2 * float((w ** 2).sum()), np.concatenate([grad_w.ravel(), g.sum(axis=(0, 1))])

    fit = minimize(loss, np.zeros(k * d + k), jac=True, method="L-BFGS-B", options={"maxiter": 3000})
    return ModeModel(fit.x[:k * d].reshape(k, d), fit.x[k * d:], card)
