"""A small style classifier over the corpus's collections — chorale, Palestrina, Essen, Irish, quartet —
used to score how far a restyle moves material toward its target style.

    python -m liveloom.models.style_classifier [--cache DIR] [--out DIR]

Features of a 4-bar window (transposition-invariant): melodic intervals of the top voice, durations,
onset positions within the bar, vertical intervals against the bass, voices and polyphony, density,
range, bar length and out-of-scale share. A multinomial logistic regression (scikit-learn) on
standardized features, trained on the training split's windows and scored on the test split's. The
weights are a few kilobytes of JSON shipped beside the symbolic model.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np

from . import tokenizer as T
from .corpus import DEFAULT_CACHE

CLASSES = ("chorale", "palestrina", "essen", "irish", "quartet")
SHIPPED = Path(__file__).resolve().parent / "checkpoints" / "style-classifier" / "style_classifier.json"
WINDOW_BARS = 4
MAJOR = (0, 2, 4, 5, 7, 9, 11)


def features(piece: T.Piece) -> np.ndarray:
    notes = piece.sorted_notes()
    starts = [0]
    for b in piece.bar_ticks:
        starts.append(starts[-1] + b)
    f: list[float] = []
    # top voice: the highest note at each onset
    by_onset: dict[int, list[T.TNote]] = {}
    for n in notes:
        by_onset.setdefault(starts[n.bar] + n.pos, []).append(n)
    onsets = sorted(by_onset)
    top = [max(by_onset[t], key=lambda n: n.pitch).pitch for t in onsets]
    bass = [min(by_onset[t], key=lambda n: n.pitch).pitch for t in onsets]
    iv = np.zeros(25)
    for a, b in zip(top, top[1:]):
        iv[max(-12, min(12, b - a)) + 12] += 1
    f += list(iv / max(1, iv.sum()))
    dur = np.zeros(len(T.DURATIONS))
    for n in notes:
        dur[T.DURATIONS.index(n.dur)] += 1
    f += list(dur / max(1, dur.sum()))
    pos = np.zeros(12)
    for n in notes:
        pos[min(11, int(12 * n.pos / piece.bar_ticks[n.bar]))] += 1
    f += list(pos / max(1, pos.sum()))
    vert = np.zeros(12)
    for t, b in zip(top, bass):
        if t != b:
            vert[(t - b) % 12] += 1
    f += list(vert / max(1, vert.sum()))
    voices = len({n.voice for n in notes})
    f += [voices / 8, float(np.mean([len(by_onset[t]) for t in onsets])) / 4 if onsets else 0.0]
    f += [len(notes) / len(piece.bar_ticks) / 16, len(onsets) / len(piece.bar_ticks) / 16]
    f += [(max(top) - min(top)) / 24 if top else 0.0, (max(n.pitch for n in notes) - min(n.pitch for n in notes)) / 48 if notes else 0.0]
    f += [float(np.mean([n.pitch for n in notes]) - 60) / 12 if notes else 0.0]
    f += [piece.bar_ticks[0] / 48, float(piece.bar_ticks[0] % 24 != 0)]
    pcs = np.bincount([n.pitch % 12 for n in notes], minlength=12) if notes else np.zeros(12)
    fit = max(sum(pcs[(k + s) % 12] for s in MAJOR) for k in range(12)) / max(1, pcs.sum())
    f += [1 - fit]
    f += [sum(1 for n in notes if n.dur >= 24) / max(1, len(notes))]
    return np.array(f, dtype=np.float64)


class StyleClassifier:
    def __init__(self, mean: np.ndarray, scale: np.ndarray, coef: np.ndarray, intercept: np.ndarray,
                 classes: tuple[str, ...] = CLASSES, meta: dict | None = None):
        self.mean, self.scale, self.coef, self.intercept = mean, scale, coef, intercept
        self.classes = classes
        self.meta = meta or {}

    def proba(self, piece: T.Piece) -> dict[str, float]:
        """P(style) for a piece, averaged over its 4-bar windows."""
        if not piece.notes:
            raise ValueError("an empty piece has no style to score")
        n = len(piece.bar_ticks)
        out = np.zeros(len(self.classes))
        count = 0
        for b0 in range(0, max(1, n - WINDOW_BARS + 1), WINDOW_BARS):
            b1 = min(n, b0 + WINDOW_BARS)
            window = T.Piece(piece.bar_ticks[b0:b1], [T.TNote(x.voice, x.pitch, x.bar - b0, x.pos, x.dur)
                                                      for x in piece.notes if b0 <= x.bar < b1])
            if not window.notes:
                continue
            z = (features(window) - self.mean) / self.scale
            logits = self.coef @ z + self.intercept
            p = np.exp(logits - logits.max())
            out += p / p.sum()
            count += 1
        out /= max(1, count)
        return {c: round(float(v), 4) for c, v in zip(self.classes, out)}

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"classes": list(self.classes), "mean": self.mean.tolist(), "scale": self.scale.tolist(),
                                    "coef": self.coef.tolist(), "intercept": self.intercept.tolist(), "meta": self.meta}))

    @classmethod
    def load(cls, path: Path | None = None) -> StyleClassifier:
        d = json.loads(Path(path or SHIPPED).read_text())
        return cls(np.array(d["mean"]), np.array(d["scale"]), np.array(d["coef"]), np.array(d["intercept"]),
                   tuple(d["classes"]), d.get("meta", {}))


def windows(encoded, split: str, per_work: int, seed: int = 0):
    rng = random.Random(seed)
    X, y = [], []
    for e in encoded:
        if e.split != split or e.style not in CLASSES:
            continue
        nbars = len(e.bar_at) - 1
        if nbars < WINDOW_BARS:
            continue
        for _ in range(per_work):
            b0 = rng.randrange(nbars - WINDOW_BARS + 1)
            piece = T.decode_bars(e.body[e.bar_at[b0]:e.bar_at[b0 + WINDOW_BARS]].tolist(), int(e.bar_ticks[b0]))
            if piece.notes:
                X.append(features(piece))
                y.append(CLASSES.index(e.style))
    return np.array(X), np.array(y)


def train(cache: Path = DEFAULT_CACHE, out: Path = SHIPPED) -> dict:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score, confusion_matrix

    from liveloom.models import data

    encoded = data.tokenized(cache)
    Xtr, ytr = windows(encoded, "train", per_work=3)
    Xte, yte = windows(encoded, "test", per_work=3, seed=1)
    mean, scale = Xtr.mean(0), Xtr.std(0) + 1e-6
    clf = LogisticRegression(max_iter=2000, C=1.0, class_weight="balanced")
    clf.fit((Xtr - mean) / scale, ytr)
    pred = clf.predict((Xte - mean) / scale)
    meta = {"train_windows": int(len(ytr)), "test_windows": int(len(yte)),
            "test_accuracy": round(float((pred == yte).mean()), 4),
            "test_balanced_accuracy": round(float(balanced_accuracy_score(yte, pred)), 4),
            "confusion": confusion_matrix(yte, pred).tolist(), "window_bars": WINDOW_BARS}
    model = StyleClassifier(mean, scale, clf.coef_, clf.intercept_, CLASSES, meta)
    model.save(out)
    return meta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--out", type=Path, default=SHIPPED)
    args = parser.parse_args()
    meta = train(args.cache, args.out)
    print(json.dumps({k: v for k, v in meta.items() if k != "confusion"}), file=sys.stderr)
    print("confusion (rows true, columns predicted):", ", ".join(CLASSES))
    for name, row in zip(CLASSES, meta["confusion"]):
        print(f"  {name:<11} {row}")


if __name__ == "__main__":
    main()
