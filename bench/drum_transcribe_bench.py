"""Drum transcription, measured: liveloom's drum model beside a spectral-band onset baseline, per class, on grooves
and soundfonts the model never heard.

    .venv/bin/python bench/drum_transcribe_bench.py [--check]

The test set is bench/drum_transcriber_train.py's (seed 2: grooves the model never saw, rendered through TimGM6mb
and the AVL "Red Zeppelin" acoustic kit — soundfonts it never heard —, each clean and augmented; made and cached
if missing). Onset F1 per
class with mir_eval's matching (50 ms), TP/FP/FN summed over the files. The baseline is what a script does with
librosa: onset peaks of the spectral flux in a band per class (kick under 120 Hz, toms 120-300 Hz, snare
300 Hz-2 kHz, cymbals and hats over 6 kHz, told apart by how long the band rings). Speed: the whole pipeline (mel
front end and network) over the test audio, as a multiple of real time, on this machine's CPU.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import drum_transcriber_train as train  # noqa: E402

from liveloom.models import drum_transcriber as dt  # noqa: E402


def baseline(mel: np.ndarray) -> list[dt.Hit]:
    """Spectral-band onsets from the same log-mel front end (frames x bands)."""
    import librosa

    freqs = librosa.mel_frequencies(n_mels=dt.N_MELS, fmin=dt.FMIN, fmax=dt.FMAX)
    x = mel.T.astype(np.float32)  # bands x frames

    def flux(lo, hi):
        band = x[(freqs >= lo) & (freqs < hi)]
        d = np.maximum(0.0, np.diff(band, axis=1, prepend=band[:, :1])).mean(axis=0)
        return d, band.mean(axis=0)

    def picks(env):
        if env.max() <= 0:
            return []
        env = env / env.max()
        return list(librosa.util.peak_pick(env, pre_max=3, post_max=3, pre_avg=8, post_avg=8, delta=0.08, wait=3))

    hits = []
    kick_env, _ = flux(30, 120)
    kicks = picks(kick_env)
    hits += [dt.Hit(i / dt.FPS, 0, 100, 1.0) for i in kicks]
    tom_env, _ = flux(120, 300)
    hits += [dt.Hit(i / dt.FPS, 4, 100, 1.0) for i in picks(tom_env) if min((abs(i - k) for k in kicks),
                                                                            default=99) > 3]
    snare_env, _ = flux(300, 2000)
    hits += [dt.Hit(i / dt.FPS, 1, 100, 1.0) for i in picks(snare_env)]
    high_env, high_level = flux(6000, 11025)
    for i in picks(high_env):
        peak = high_level[i]
        ring = lambda ms: high_level[min(len(high_level) - 1, i + int(ms / 1000 * dt.FPS))] - peak  # noqa: E731
        if ring(400) > -0.08:
            cls = 5  # still ringing after 0.4 s: a crash
        elif ring(120) > -0.08:
            cls = 3  # after 0.12 s: an open hat (or a ride)
        else:
            cls = 2
        hits.append(dt.Hit(i / dt.FPS, cls, 100, 1.0))
    return sorted(hits, key=lambda h: h.time)


HAT = (2, 3)  # closed and open hi-hat, also scored as one "hi-hat" row


def f1_table(items, hits_of) -> dict:
    import mir_eval

    groups = [(name, (c,)) for c, name in enumerate(dt.CLASSES)] + [("hi-hat (closed + open)", HAT)]
    counts = np.zeros((len(groups), 3))
    for e in items:
        hits = hits_of(e)
        for g, (_, classes) in enumerate(groups):
            ref = np.array(sorted(t for t, cc, _ in e["labels"] if int(cc) in classes))
            est = np.array(sorted(h.time for h in hits if h.cls in classes))
            m = len(mir_eval.util.match_events(ref, est, 0.05)) if len(ref) and len(est) else 0
            counts[g] += (m, len(est) - m, len(ref) - m)
    return {name: (2 * tp / max(1, 2 * tp + fp + fn), int(tp + fn)) for (name, _), (tp, fp, fn) in
            zip(groups, counts)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="exit 1 when a figure the docs claim regresses")
    a = ap.parse_args()
    fonts = train.test_fonts()
    test_set = train.make_set(train.SETS["test"], 75, 2, fonts, augment=True, clean_too=True)
    model = dt.load(threads=None)
    print(f"test: {len(test_set)} files ({sum(e['seconds'] for e in test_set) / 60:.1f} min) through "
          f"{', '.join(fonts)}, clean and augmented; model {model.parameters / 1e3:.0f} K parameters; "
          f"{platform.machine()}, {os.cpu_count()} cores, CPU")
    ours = f1_table(test_set, lambda e: model.hits(*model.activations(e["mel"].astype(np.float32))))
    base = f1_table(test_set, lambda e: baseline(e["mel"].astype(np.float32)))
    print(f"\n{'onset F1 (50 ms)':<24}{'liveloom':>10}{'baseline':>10}{'hits':>7}")
    for c in ours:
        print(f"{c:<24}{ours[c][0]:>10.3f}{base[c][0]:>10.3f}{ours[c][1]:>7}")
    by_font = {}
    for font in fonts:
        part = [e for e in test_set if e["font"] == font]
        by_font[font] = f1_table(part, lambda e: model.hits(*model.activations(e["mel"].astype(np.float32))))
        print(f"  {font:<18}" + "  ".join(f"{c} {by_font[font][c][0]:.2f}" for c in dt.CLASSES))

    # speed: decode-free pipeline (mel + network) on real audio, 2 threads as on a 2-core machine
    import random

    import drum_data
    import torch

    torch.set_num_threads(min(2, os.cpu_count() or 2))
    grooves = [drum_data.groove(random.Random(7), f"speed{i}") for i in range(12)]
    audio = drum_data.render(grooves, "timgm6mb")
    model.transcribe(audio[0])  # warm
    times, seconds = [], sum(len(y) for y in audio) / dt.SR
    for _ in range(3):
        t = time.perf_counter()
        for y in audio:
            model.transcribe(y)
        times.append(time.perf_counter() - t)
    rt = [seconds / t for t in times]
    print(f"\nspeed: {seconds:.0f} s of audio, median {np.median(rt):.0f}x real time (range {min(rt):.0f}-"
          f"{max(rt):.0f}x), {min(2, os.cpu_count() or 2)} threads")
    if not a.check:
        return 0
    from claims import Claim, report

    claims = [Claim(f"{c} onset F1 (held out)", ours[c][0], 0.85)
              for c in ("kick", "snare", "closed_hat", "hi-hat (closed + open)")]
    claims += [Claim(f"{c}: model above the baseline", ours[c][0] - base[c][0], 0.0) for c in dt.CLASSES]
    claims.append(Claim("speed, x real time on 2 cores", float(np.median(rt)), 20.0))
    return report(claims)


if __name__ == "__main__":
    sys.exit(main())
