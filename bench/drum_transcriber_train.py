"""Make the data, train, tune and evaluate the drum transcription model, and write the shipped checkpoint.

    .venv/bin/python bench/drum_transcriber_train.py [--grooves 300] [--minutes 10] [--out models/checkpoints/drums]

Data (bench/drum_data.py): grooves in liveloom's 11 styles with fills, crashes, ride and open hats, half under a
bass and chords part; train grooves (seed 1) rendered through FluidR3 GM, MuseScore General, csound's GM bank and
the AVL "Black Pearl" acoustic kit, each clean and augmented; validation grooves (seed 3, same soundfonts) tune
each class's threshold; test grooves (seed 2) rendered through soundfonts the model never heard (TimGM6mb and the
AVL "Red Zeppelin" acoustic kit), clean and augmented. Onset F1
per class with mir_eval (50 ms), summed over files. Data is cached in bench/out/drums/ (delete to make anew).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import drum_data  # noqa: E402
import library_data as data  # noqa: E402

from liveloom.models import drum_transcriber as dt  # noqa: E402

CACHE = Path(__file__).resolve().parent / "out" / "drums"
# soundfonts beyond library_data's: csound's GM bank, and the two AVL acoustic kits (avldrums.lv2-soundfont)
EXTRA = {"csound": "/usr/share/sounds/sf2/sf_GMbank.sf2",
         "avl_black_pearl": "/usr/share/sounds/sf2/Black_Pearl_4_LV2.sf2",
         "avl_red_zeppelin": "/usr/share/sounds/sf2/Red_Zeppelin_4_LV2.sf2"}
TRAIN_FONTS = ("fluidr3", "musescore", "csound", "avl_black_pearl")  # one acoustic kit learnt ...
TEST_FONTS = ("timgm6mb", "avl_red_zeppelin")  # ... the other, and a GM bank, never heard
SETS = {"train": "train2", "val": "val2", "test": "test2"}  # cache names of this split


def fonts_here() -> None:
    for k, v in EXTRA.items():
        if Path(v).is_file():
            data.SOUNDFONTS.setdefault(k, v)


def test_fonts() -> list[str]:
    fonts_here()
    return [f for f in TEST_FONTS if f in data.SOUNDFONTS and Path(data.SOUNDFONTS[f]).is_file()]


def make_set(name: str, n: int, seed: int, fonts, augment: bool, clean_too: bool = False) -> list[dict]:
    """Render n grooves through each font -> [{mel, labels, seconds, font, augmented}], cached."""
    path = CACHE / f"{name}.npz"
    if path.exists():
        z = np.load(path, allow_pickle=False)
        meta = json.loads(str(z["meta"]))
        return [{"mel": z[f"mel{i}"], "labels": z[f"lab{i}"], **m} for i, m in enumerate(meta)]
    rng = random.Random(seed)
    grooves = [drum_data.groove(rng, f"{name}{i}") for i in range(n)]
    out = []
    for font in fonts:
        t = time.time()
        audio = drum_data.render(grooves, font)
        for g, y in zip(grooves, audio):
            versions = []
            if clean_too or not augment:
                versions.append((y, 1.0, False))
            if augment:
                ya, scale = drum_data.augment(rng, y, dt.SR)
                versions.append((ya, scale, True))
            for yy, scale, aug in versions:
                lab = np.array(drum_data.labels(g.events, scale), np.float32).reshape(-1, 3)
                out.append({"mel": dt.logmel(yy), "labels": lab, "seconds": len(yy) / dt.SR, "font": font,
                            "augmented": aug})
        print(f"  {name}: {len(grooves)} grooves through {font} in {time.time() - t:.0f} s", flush=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for i, e in enumerate(out):
        arrays[f"mel{i}"] = e["mel"].astype(np.float16)
        arrays[f"lab{i}"] = e["labels"]
    meta = [{k: e[k] for k in ("seconds", "font", "augmented")} for e in out]
    np.savez(path, meta=json.dumps(meta), **arrays)
    return [dict(e, mel=e["mel"].astype(np.float16)) for e in out]


def targets(lab: np.ndarray, frames: int) -> tuple[np.ndarray, np.ndarray]:
    on = np.zeros((len(dt.CLASSES), frames), np.float32)
    vel = np.zeros((len(dt.CLASSES), frames), np.float32)
    for t, c, v in lab:
        i = int(round(t * dt.FPS))
        if 0 <= i < frames:
            for j, w in ((i - 1, 0.4), (i + 1, 0.4), (i, 1.0)):
                if 0 <= j < frames:
                    on[int(c), j] = max(on[int(c), j], w)
            vel[int(c), i] = v / 127.0
    return on, vel


def train(train_set: list[dict], minutes: float, seed: int = 0):
    import torch
    import torch.nn.functional as F

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    torch.set_num_threads(os.cpu_count() or 2)
    fonts_here()
    net = dt.build_network()
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-4)
    prepared = [(e["mel"].astype(np.float32), *targets(e["labels"], len(e["mel"]))) for e in train_set]
    crop, batch = 256, 16
    pos_weight = torch.full((len(dt.CLASSES), 1), 6.0)
    deadline = time.time() + minutes * 60
    step, losses = 0, []
    total_steps_guess = None
    t0 = time.time()
    while time.time() < deadline:
        xs, ons, vels = [], [], []
        for _ in range(batch):
            mel, on, vel = prepared[rng.integers(len(prepared))]
            if len(mel) <= crop:
                a = 0
            else:
                a = int(rng.integers(0, len(mel) - crop))
            seg = mel[a:a + crop]
            pad = crop - len(seg)
            xs.append(np.pad(seg, ((0, pad), (0, 0))))
            ons.append(np.pad(on[:, a:a + crop], ((0, 0), (0, pad))))
            vels.append(np.pad(vel[:, a:a + crop], ((0, 0), (0, pad))))
        x = torch.from_numpy(np.stack(xs))
        on_t, vel_t = torch.from_numpy(np.stack(ons)), torch.from_numpy(np.stack(vels))
        # a little spectral augmentation: a random gain in dB and a band masked
        x = torch.clamp(x + torch.empty(batch, 1, 1).uniform_(-0.1, 0.05), 0, 1)
        net.train()
        logits, vel = net(x)
        loss = F.binary_cross_entropy_with_logits(logits, on_t, pos_weight=pos_weight)
        mask = (vel_t > 0).float()
        loss = loss + 2.0 * ((vel - vel_t) ** 2 * mask).sum() / mask.sum().clamp(min=1)
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        losses.append(float(loss.detach()))
        if step == 50:
            per = (time.time() - t0) / 50
            total_steps_guess = int(minutes * 60 / per)
        if total_steps_guess:  # cosine decay over the time budget
            frac = min(1.0, step / total_steps_guess)
            for g in opt.param_groups:
                g["lr"] = 2e-3 * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))
        if step % 200 == 0:
            print(f"  step {step}: loss {np.mean(losses[-200:]):.4f}", flush=True)
    net.eval()
    return net, step, float(np.mean(losses[-200:]))


def evaluate(model: dt.DrumTranscriber, items: list[dict], thresholds=None) -> dict:
    """Onset F1 per class (mir_eval, 50 ms), TP/FP/FN summed over the items."""
    import mir_eval

    counts = np.zeros((len(dt.CLASSES), 3))
    for e in items:
        probs, vels = model.activations(e["mel"].astype(np.float32))
        hits = model.hits(probs, vels, thresholds)
        for c in range(len(dt.CLASSES)):
            ref = np.array(sorted(t for t, cc, _ in e["labels"] if int(cc) == c))
            est = np.array(sorted(h.time for h in hits if h.cls == c))
            if len(ref) and len(est):
                matched = len(mir_eval.util.match_events(ref, est, 0.05))
            else:
                matched = 0
            counts[c] += (matched, len(est) - matched, len(ref) - matched)
    out = {}
    for c, name in enumerate(dt.CLASSES):
        tp, fp, fn = counts[c]
        out[name] = {"f1": round(2 * tp / max(1, 2 * tp + fp + fn), 3), "hits": int(tp + fn)}
    return out


def tune(model: dt.DrumTranscriber, items: list[dict]) -> list[float]:
    """Each class's threshold: the one with the best validation F1."""
    acts = [(model.activations(e["mel"].astype(np.float32)), e) for e in items]
    best = []
    for c in range(len(dt.CLASSES)):
        scores = []
        for thr in np.arange(0.15, 0.91, 0.05):
            tp = fp = fn = 0
            for (probs, vels), e in acts:
                th = [1.1] * len(dt.CLASSES)
                th[c] = float(thr)
                est = np.array([h.time for h in dt.peaks(probs, vels, th)])
                ref = np.array(sorted(t for t, cc, _ in e["labels"] if int(cc) == c))
                import mir_eval

                m = len(mir_eval.util.match_events(ref, est, 0.05)) if len(ref) and len(est) else 0
                tp, fp, fn = tp + m, fp + len(est) - m, fn + len(ref) - m
            scores.append((2 * tp / max(1, 2 * tp + fp + fn), float(thr)))
        best.append(max(scores)[1])
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--grooves", type=int, default=300)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--out", type=Path, default=dt.SHIPPED)
    a = ap.parse_args()
    tests = test_fonts()
    missing = [f for f in TRAIN_FONTS + TEST_FONTS if not Path(data.SOUNDFONTS.get(f, "/nonexistent")).is_file()]
    if missing:
        sys.exit(f"missing soundfonts {missing}: apt install fluid-soundfont-gm musescore-general-soundfont "
                 "timgm6mb-soundfont csound-soundfont avldrums.lv2-soundfont")
    t = time.time()
    train_set = make_set(SETS["train"], a.grooves, 1, TRAIN_FONTS, augment=True, clean_too=True)
    val_set = make_set(SETS["val"], max(20, a.grooves // 8), 3, TRAIN_FONTS, augment=True, clean_too=True)
    test_set = make_set(SETS["test"], max(40, a.grooves // 4), 2, tests, augment=True, clean_too=True)
    hours = sum(e["seconds"] for e in train_set) / 3600
    print(f"data: train {len(train_set)} ({hours:.2f} h), val {len(val_set)}, test {len(test_set)} "
          f"({', '.join(tests)}) in {time.time() - t:.0f} s; {platform.machine()}, {os.cpu_count()} cores")
    net, steps, loss = train(train_set, a.minutes)
    model = dt.DrumTranscriber(net, [0.5] * len(dt.CLASSES), {}, "cpu", "training")
    thresholds = tune(model, val_set)
    model.thresholds = thresholds
    print("thresholds", dict(zip(dt.CLASSES, thresholds)))
    results = {}
    for font in tests:
        for aug in (False, True):
            part = [e for e in test_set if e["font"] == font and e["augmented"] == aug]
            results[f"{font}{' augmented' if aug else ''}"] = evaluate(model, part)
    allf = evaluate(model, test_set)
    print(f"{'test set':<28}" + "".join(f"{c:>11}" for c in dt.CLASSES))
    for name, r in {**results, "all held-out": allf}.items():
        print(f"{name:<28}" + "".join(f"{r[c]['f1']:>11.3f}" for c in dt.CLASSES))
    card = {"train": {"grooves": a.grooves, "items": len(train_set), "hours": round(hours, 2),
                      "soundfonts": list(TRAIN_FONTS), "steps": steps, "final_loss": round(loss, 4)},
            "test": {"items": len(test_set), "soundfonts": tests}, "held_out_f1": allf, "by_set": results}
    dt.save(net, thresholds, card, a.out)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
