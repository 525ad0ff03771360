"""Make the data, train and evaluate the octave-ghost classifier of a band's transcription, and write the weights.

    .venv/bin/python bench/octave_ghosts_train.py [--mixes 160] [--out models/checkpoints/octave-ghosts]

Data: liveloom's own 8-bar arrangements (every style, seeds 100 and up — the transcription bench's mixes are
seeds 0-7 — random keys, the style's tempo), half with the GM patches the arranger chose and half with random ones
per part, rendered dry through one of two soundfonts — TimGM6mb (pretty_midi's) and MuseScore General — a fifth
with reverb and noise at 20 dB SNR. Each is transcribed as `transcribe` does by default (held notes joined, slow
attacks started where they begin); every note with a partner an octave, a twelfth or two octaves away sounding at
its start is a sample, labelled a ghost when no note of its pitch in the MIDI sounds within 100 ms of its start.
Test: the transcription bench's 8 band mixes, rendered through FluidR3 GM, a soundfont the classifier never heard
— onset F1, recall per part and octave errors without and with the classifier. The threshold is chosen on the
training mixes by 5-fold cross-validation (the mean F1 of the held-out mixes). Data is cached in
bench/out/octave_ghosts/.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

OUT = Path(__file__).resolve().parent / "out" / "octave_ghosts"
PATCHES = {"bass": (32, 33, 34, 35, 36, 37, 38, 39, 43, 58, 87),
           "chords": (0, 1, 2, 4, 5, 6, 16, 17, 18, 19, 24, 25, 26, 27, 28, 29, 30, 48, 49, 50, 52, 61, 88, 89, 90,
                      91, 94, 95),
           "lead": (0, 8, 10, 11, 22, 29, 40, 41, 52, 56, 57, 60, 62, 64, 65, 66, 68, 71, 73, 79, 80, 81, 82, 84, 85,
                    87)}
TONICS = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.3, 0.96, 0.05))


def render_mix(k: int, fonts: dict[str, str], rng: random.Random, tmp: Path):
    """Mix k: (audio at 22,050 Hz, truth [(pitch, start s, end s, part)], soundfont, style)."""
    import librosa
    import soundfile as sf

    from liveloom.engines.arranger import arrange
    from liveloom.music.midi_io import song_to_midi
    from liveloom.music.styles import style_names

    style = style_names()[k % len(style_names())]
    key = f"{rng.choice(TONICS)} {rng.choice(('major', 'minor'))}"
    song = arrange(style=style, key=key, tempo=None, time_signature=None, form="loop", sections=None,
                   seed=100 + k).song
    if rng.random() < 0.5:
        song = song.model_copy(update={"tracks": [
            t if t.is_drum or t.role not in PATCHES else t.model_copy(update={"instrument": rng.choice(PATCHES[t.role])})
            for t in song.tracks]})
    beat = 60.0 / song.tempo
    truth = [(n.pitch, n.start * beat, n.end * beat, t.role or t.name) for t in song.tracks if not t.is_drum
             for n in t.notes_on_timeline() if not n.mute]
    font, wet = rng.choice(sorted(fonts)), rng.random() < 0.2
    mid, wav = tmp / "mix.mid", tmp / "mix.wav"
    mid.write_bytes(song_to_midi(song).data)
    fx = ["-R", "1", "-o", "synth.reverb.room-size=0.8", "-o", "synth.reverb.level=0.9"] if wet else ["-R", "0", "-C", "0"]
    subprocess.run(["fluidsynth", "-ni", "-q", "-g", "0.6", "-r", "44100", *fx, "-F", str(wav), fonts[font], str(mid)],
                   check=True, capture_output=True)
    y, sr = sf.read(wav, dtype="float32")
    y = librosa.resample(y.mean(axis=1) if y.ndim > 1 else y, orig_sr=sr, target_sr=22050).astype(np.float32)
    if wet:
        y = y + np.random.default_rng(rng.randint(0, 2**31)).standard_normal(y.shape).astype(np.float32) * float(
            np.sqrt(np.mean(y ** 2))) / 10
    return y, truth, font, style


def matched(truth, events) -> set[int]:
    """Indices of `events` that mir_eval matches to a true note (onsets within 50 ms, the pitch within a quarter
    tone) — the notes onset F1 counts as right."""
    import mir_eval

    if not events or not truth:
        return set()
    hz = lambda p: 440.0 * 2 ** ((p - 69) / 12)  # noqa: E731
    pairs = mir_eval.transcription.match_notes(
        np.array([[s, e] for _, s, e, _ in truth]), np.array([hz(p) for p, *_ in truth]),
        np.array([[e.start, max(e.end, e.start + 0.01)] for e in events]), np.array([hz(e.pitch) for e in events]),
        offset_ratio=None)
    return {j for _, j in pairs}


def samples(y, truth, net, device):
    """(feature rows, ghost labels, matched flags, the file's counts (matched, estimated, true notes))."""
    from liveloom.engines import octave_ghosts as og
    from liveloom.engines import transcription as tr

    out = tr.infer(y, net, device)
    events = tr.shaped(tr.decode(out), out)
    hit = matched(truth, events)
    counts = (len(hit), len(events), len(truth))
    at, x = og.candidate_features(events, out, y)
    if not at:
        return np.zeros((0, 0)), [], [], counts
    ghost = [not any(p == events[i].pitch and s - 0.1 <= events[i].start <= e + 0.0 for p, s, e, _ in truth)
             and i not in hit for i in at]
    return x, ghost, [i in hit for i in at], counts


def make_data(n: int, seed: int, net, device) -> dict:
    from line_reattacks_train import soundfonts

    OUT.mkdir(parents=True, exist_ok=True)
    cache = OUT / f"mixes_{n}_{seed}.npz"
    if cache.exists():
        d = np.load(cache, allow_pickle=False)
        return {k: d[k] for k in d.files if k != "meta"} | {"meta": json.loads(str(d["meta"]))}
    fonts = soundfonts()
    rng = random.Random(seed)
    xs, ghosts, hits, mix, counts, used = [], [], [], [], [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(n):
            y, truth, font, style = render_mix(k, fonts, rng, Path(tmp))
            x, ghost, hit, c = samples(y, truth, net, device)
            if len(ghost):
                xs.append(x)
            ghosts += ghost
            hits += hit
            mix += [k] * len(ghost)
            counts.append(c)
            used[font] = used.get(font, 0) + 1
            if k % 20 == 0:
                print(f"  {k} mixes, {len(ghosts)} notes with a partner, {sum(ghosts)} ghosts", file=sys.stderr,
                      flush=True)
    data = {"x": np.concatenate(xs), "ghost": np.array(ghosts), "hit": np.array(hits), "mix": np.array(mix),
            "counts": np.array(counts)}
    meta = {"mixes": n, "fonts": used}
    np.savez(cache, **data, meta=json.dumps(meta))
    return data | {"meta": meta}


def f1_after(dropped_hit: int, dropped: int, counts) -> float:
    tp, est, true = counts
    tp, est = tp - dropped_hit, est - dropped
    return 2 * tp / max(1, est + true)


def cross_validate(d: dict, c: float) -> dict[float, float]:
    """Threshold -> the mean onset F1 of the held-out mixes after dropping what the classifier calls a ghost
    (5 folds by mix)."""
    from liveloom.models import octave_ghosts

    n = len(d["counts"])
    fold_of_mix = np.arange(n) % 5
    probs = np.zeros(len(d["ghost"]))
    for k in range(5):
        test = fold_of_mix[d["mix"]] == k
        m = octave_ghosts.train(d["x"][~test], d["ghost"][~test], {}, c=c)
        probs[test] = m.probabilities(d["x"][test])
    out = {}
    for t in THRESHOLDS:
        f = []
        for k in range(n):
            rows = d["mix"] == k
            drop = probs[rows] >= t
            f.append(f1_after(int((drop & d["hit"][rows]).sum()), int(drop.sum()), d["counts"][k]))
        out[t] = statistics.mean(f)
    return out


def evaluate(model, net, device) -> list[tuple[str, tuple, tuple]]:
    """The transcription bench's band mixes through FluidR3 GM: (style, scores without, scores with the
    classifier), scores as transcribe_bench.band_scored gives them."""
    from transcribe_bench import BAND, band_scored, render

    from liveloom.engines import audio_analysis as aa
    from liveloom.engines import octave_ghosts as og
    from liveloom.engines import transcription as tr
    from liveloom.engines.arranger import arrange
    from liveloom.music.midi_io import song_to_midi

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (style, key, bpm) in enumerate(BAND):
            song = arrange(style=style, key=key, tempo=bpm, time_signature=None, form="loop", sections=None,
                           seed=i).song
            beat = 60.0 / song.tempo
            truth = [(n.pitch, n.start * beat, n.end * beat, t.role or t.name) for t in song.tracks if not t.is_drum
                     for n in t.notes_on_timeline() if not n.mute]
            path = Path(tmp) / f"band_{style}.wav"
            render(song_to_midi(song).data, False, path)
            y, _ = aa.load(path, 1200)
            out = tr.infer(y, net, device)
            events = tr.shaped(tr.decode(out), out)
            kept = og.drop_ghosts(events, out, y, model)
            rows.append((style, band_scored(truth, [(e.start, e.end, e.pitch) for e in events]),
                         band_scored(truth, [(e.start, e.end, e.pitch) for e in kept])))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mixes", type=int, default=160)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--c", type=float, default=1.0, help="inverse L2 strength of the logistic regression")
    parser.add_argument("--out", type=Path, default=None, help="write octave_ghosts.json here")
    args = parser.parse_args()
    from liveloom.models import octave_ghosts
    from liveloom.models.hub import ModelHub

    net, device = ModelHub().transcriber()
    d = make_data(args.mixes, args.seed, net, device)
    g = d["ghost"]
    print(f"{len(g)} notes with a partner in {d['meta']['mixes']} mixes "
          f"({', '.join(f'{k} {v}' for k, v in d['meta']['fonts'].items())}): {g.sum()} ghosts, "
          f"{d['hit'].sum()} right notes, {(~g & ~d['hit']).sum()} other")
    cv = cross_validate(d, args.c)
    base = statistics.mean(f1_after(0, 0, c) for c in d["counts"])
    best = max(cv, key=cv.get)
    print(f"5-fold, mean onset F1 of held-out training mixes: {base:.4f} without; "
          + ", ".join(f"{t}: {f:.4f}" for t, f in cv.items()) + f" -> threshold {best}")
    model = octave_ghosts.train(d["x"], g, {}, c=args.c, threshold=best)
    rows = evaluate(model, net, device)
    print(f"\nband mixes through FluidR3 GM (never heard) · {platform.machine()}, CPU\n")
    print("| mix | F1 without / with | bass recall | chords recall | lead recall | octave errors |\n|---|---|---|---|---|---|")
    for style, (f0, p0, o0), (f1, p1, o1) in rows:
        print(f"| {style} | {f0:.3f} / {f1:.3f} | {p0.get('bass', 0):.2f} / {p1.get('bass', 0):.2f} | "
              f"{p0.get('chords', 0):.2f} / {p1.get('chords', 0):.2f} | {p0.get('lead', 0):.2f} / "
              f"{p1.get('lead', 0):.2f} | {o0} / {o1} |")
    mean = lambda j, k=None: statistics.mean(r[j][0] if k is None else r[j][1].get(k, 0) for r in rows)  # noqa: E731
    print(f"| all | {mean(1):.3f} / {mean(2):.3f} | {mean(1, 'bass'):.2f} / {mean(2, 'bass'):.2f} | "
          f"{mean(1, 'chords'):.2f} / {mean(2, 'chords'):.2f} | {mean(1, 'lead'):.2f} / {mean(2, 'lead'):.2f} | "
          f"{sum(r[1][2] for r in rows)} / {sum(r[2][2] for r in rows)} |")
    if args.out:
        card = {"data": d["meta"], "notes": int(len(g)), "ghosts": int(g.sum()), "c": args.c, "threshold": best,
                "cv_f1": {"without": round(base, 4), "with": round(cv[best], 4)},
                "test_band_f1": {"without": round(mean(1), 4), "with": round(mean(2), 4)},
                "test_octave_errors": {"without": sum(r[1][2] for r in rows), "with": sum(r[2][2] for r in rows)}}
        model = octave_ghosts.train(d["x"], g, card, c=args.c, threshold=best)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "octave_ghosts.json").write_text(json.dumps(model.to_json(), indent=1))
        print(f"\nwrote {args.out / 'octave_ghosts.json'}")


if __name__ == "__main__":
    main()
