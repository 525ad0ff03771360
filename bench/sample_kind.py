"""Make the data, train and evaluate the sample-kind classifier (models/sample_kind.py), and write its weights.

    python bench/sample_kind.py [--per-kind 70] [--test-per-kind 40] [--out models/checkpoints/sample-kind]

Training: loops and one-shots rendered from liveloom's parts (10 styles, random keys, tempos 70-160, 1-8 bars,
random GM programs) through FluidR3 GM and MuseScore General. Test: other parts (another seed) through TimGM6mb,
a soundfont the classifier never heard. Prints accuracy and per-kind F1 on the held-out soundfont, beside a
baseline that always says the most common kind and a nearest-centroid classifier on the same features.
Features are cached in bench/out/sample_kind_features.npz (delete it to make new data).
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import multiprocessing
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import library_data as data  # noqa: E402

from liveloom.engines import audio_analysis as aa  # noqa: E402
from liveloom.engines import sample_analysis as sa  # noqa: E402
from liveloom.models import sample_kind  # noqa: E402

CACHE = Path(__file__).resolve().parent / "out" / "sample_kind_features.npz"
TRAIN_FONTS = ("fluidr3", "musescore")
TEST_FONTS = ("timgm6mb",)


def _features(stereo: np.ndarray) -> list[float]:
    sa.limit_threads()
    feats, _ = sa.audio_features(aa.mono_at(stereo, data.RATE))
    return [feats[f] for f in sample_kind.FEATURES]


def featurize(fonts, per_kind: int, seed: int, workers: int) -> tuple[np.ndarray, list[str], list[str]]:
    items = data.make_items(per_kind, seed)
    xs, ys, fs = [], [], []
    with cf.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        for i, font in enumerate(fonts):
            part = items[i::len(fonts)]
            t = time.time()
            audio = data.render_items(part, data.SOUNDFONTS[font])
            print(f"  rendered {len(part)} items through {font} in {time.time() - t:.1f} s", flush=True)
            xs += list(pool.map(_features, audio, chunksize=4))
            ys += [it.kind for it, _, _ in part]
            fs += [font] * len(part)
    return np.array(xs), ys, fs


def report(name: str, truth: list[str], pred: list[str]) -> dict:
    kinds = sample_kind.KINDS
    acc = float(np.mean([a == b for a, b in zip(truth, pred)]))
    f1 = {}
    for k in kinds:
        tp = sum(a == k and b == k for a, b in zip(truth, pred))
        fp = sum(a != k and b == k for a, b in zip(truth, pred))
        fn = sum(a == k and b != k for a, b in zip(truth, pred))
        f1[k] = round(2 * tp / max(1, 2 * tp + fp + fn), 3)
    print(f"{name:<28} accuracy {acc:.3f}   " + "  ".join(f"{k} {f1[k]:.2f}" for k in kinds))
    return {"accuracy": round(acc, 3), "f1": f1}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--per-kind", type=int, default=70, help="training items per kind and soundfont")
    ap.add_argument("--test-per-kind", type=int, default=40)
    ap.add_argument("--out", type=Path, default=sample_kind.SHIPPED.parent)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--c", type=float, default=0.5, help="inverse regularisation strength")
    a = ap.parse_args()
    fonts = data.available_soundfonts()
    missing = [f for f in TRAIN_FONTS + TEST_FONTS if f not in fonts]
    if missing:
        sys.exit(f"missing soundfonts {missing}: apt install fluid-soundfont-gm musescore-general-soundfont "
                 "timgm6mb-soundfont")
    if CACHE.exists():
        z = np.load(CACHE, allow_pickle=False)
        if list(z["names"]) == list(sample_kind.FEATURES):
            xtr, ytr, xte, yte = z["xtr"], list(z["ytr"]), z["xte"], list(z["yte"])
            print(f"features from {CACHE}")
        else:
            CACHE.unlink()
    if not CACHE.exists():
        t = time.time()
        xtr, ytr, _ = featurize(TRAIN_FONTS, a.per_kind * len(TRAIN_FONTS), seed=1, workers=a.workers)
        xte, yte, _ = featurize(TEST_FONTS, a.test_per_kind, seed=2, workers=a.workers)
        CACHE.parent.mkdir(parents=True, exist_ok=True)
        np.savez(CACHE, xtr=xtr, ytr=np.array(ytr), xte=xte, yte=np.array(yte), names=np.array(sample_kind.FEATURES))
        print(f"data made in {time.time() - t:.0f} s")
    print(f"train {len(ytr)} items ({', '.join(TRAIN_FONTS)}); test {len(yte)} items ({', '.join(TEST_FONTS)}, "
          f"held out); {platform.machine()}, {multiprocessing.cpu_count()} cores")
    card = {"train": {"items": len(ytr), "soundfonts": list(TRAIN_FONTS), "seed": 1},
            "test": {"items": len(yte), "soundfonts": list(TEST_FONTS), "seed": 2}, "c": a.c}
    model = sample_kind.train(xtr, ytr, card, c=a.c)
    pred = [model.classify(x)[0] for x in xte]
    majority = max(set(ytr), key=ytr.count)
    base = report("always the commonest kind", yte, [majority] * len(yte))
    cents = {k: model.standardize(xtr[[y == k for y in ytr]]).mean(axis=0) for k in sample_kind.KINDS}
    near = [min(cents, key=lambda k: float(np.linalg.norm(model.standardize(x) - cents[k]))) for x in xte]
    nc = report("nearest centroid", yte, near)
    ours = report("logistic regression (ours)", yte, pred)
    train_acc = float(np.mean([model.classify(x)[0] == y for x, y in zip(xtr, ytr)]))
    print(f"training accuracy {train_acc:.3f}")
    confusion = {k: {j: sum(t == k and p == j for t, p in zip(yte, pred)) for j in sample_kind.KINDS}
                 for k in sample_kind.KINDS}
    print("confusion (rows true, columns predicted):")
    print(" " * 10 + "".join(f"{k[:9]:>10}" for k in sample_kind.KINDS))
    for k in sample_kind.KINDS:
        print(f"{k[:9]:<10}" + "".join(f"{confusion[k][j]:>10}" for j in sample_kind.KINDS))
    card["held_out"] = {**ours, "baseline_majority": base["accuracy"], "nearest_centroid": nc["accuracy"],
                        "train_accuracy": round(train_acc, 3)}
    model = sample_kind.KindModel(model.mean, model.scale, model.coef, model.intercept, model.classes, card)
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "sample_kind.json").write_text(json.dumps(model.to_json(), separators=(",", ":")))
    print(f"wrote {a.out / 'sample_kind.json'}")


if __name__ == "__main__":
    main()
