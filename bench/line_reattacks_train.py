"""Make the data, train and evaluate melody mode's repeated-note classifier, and write the shipped weights.

    .venv/bin/python bench/line_reattacks_train.py [--tunes 200] [--out models/checkpoints/line-reattacks]

Data: monophonic tunes from music21's corpus (O'Neill's 1850 and Ryan's Mammoth Collection; not the tunes the
transcription bench uses), a random excerpt of up to 24 s each at 70-160 BPM, played legato (3 in 5), slightly
detached or detached, through a random General MIDI melody program (winds, strings, brass, reeds, synth leads,
keys, guitars, voices) and one of two soundfonts — TimGM6mb (pretty_midi's) and MuseScore General — a fifth with
reverb and noise at 20 dB SNR. Each is transcribed in melody mode without joining; every place where a note starts
within 30 ms of the end of one of its pitch is a sample, labelled "played again" when the MIDI has a note of that
pitch starting within 50 ms. Test: the transcription bench's 32 rendered Essen melodies (bench/audio_bench.py),
rendered through FluidR3 GM, a soundfont the classifier never heard — melody mode's onset F1 with the fixed rule
(merge_reattacks) and with the classifier, per instrument. Data is cached in bench/out/line_reattacks/.
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

OUT = Path(__file__).resolve().parent / "out" / "line_reattacks"
PROGRAMS = (73, 71, 68, 70, 74, 75, 72, 40, 41, 42, 48, 49, 56, 57, 60, 64, 65, 66, 80, 81, 82, 0, 4, 24, 25, 11,
            19, 21, 22, 52, 53, 85)
BENCH_TUNES = {("book1", 0), ("BuffaloGirls", None)}  # the transcription bench's folk pieces


def soundfonts() -> dict[str, str]:
    import pretty_midi

    found = {"TimGM6mb": str(Path(pretty_midi.__file__).parent / "TimGM6mb.sf2")}
    for p in sorted(Path("/usr/share/sounds").glob("sf[23]/MuseScore_General*.sf[23]")):
        found["MuseScore General"] = str(p)
        break
    missing = [k for k in ("TimGM6mb", "MuseScore General") if k not in found or not Path(found[k]).exists()]
    if missing:
        sys.exit(f"missing soundfonts: {', '.join(missing)} (apt install musescore-general-soundfont-small)")
    return found


def tunes(n: int, seed: int) -> list[list[list[float]]]:
    """n monophonic tunes (notes as [pitch, start, duration] in quarter notes) from the two Irish collections."""
    from liveloom.models.corpus import collection_of, jobs, parse_job

    picked = [j for j in jobs() if collection_of(j[0])[0] in ("oneills1850", "ryansMammoth")
              and (Path(j[0]).stem, j[1]) not in BENCH_TUNES]
    random.Random(seed).shuffle(picked)
    out = []
    for job in picked:
        if len(out) >= n:
            break
        _, rec, _ = parse_job(job)
        if rec is not None and len(rec["parts"]) == 1 and len(rec["parts"][0]["notes"]) >= 16:
            out.append(rec["parts"][0]["notes"])
    return out


def render_line(notes, fonts: dict[str, str], rng: random.Random, tmp: Path):
    """One tune rendered: (audio at 22,050 Hz, truth as (pitch, start s, end s), soundfont, program)."""
    import pretty_midi

    bpm = rng.uniform(70, 160)
    beat = 60 / bpm
    legato = rng.choice([1.0, 1.0, 1.0, 0.9, 0.7])
    program, font, wet = rng.choice(PROGRAMS), rng.choice(sorted(fonts)), rng.random() < 0.2
    span = max(p[1] + p[2] for p in notes)
    first = rng.uniform(0, max(0.0, span - 24 / beat))
    pm = pretty_midi.PrettyMIDI(initial_tempo=bpm)
    inst = pretty_midi.Instrument(program=program)
    level = rng.randint(60, 110)
    for pitch, start, dur in notes:
        if start < first or (start - first) * beat > 24 or not 28 <= pitch <= 100:
            continue
        t = (start - first) * beat + 0.3
        inst.notes.append(pretty_midi.Note(velocity=max(30, min(127, level + rng.randint(-10, 10))), pitch=int(pitch),
                                           start=t, end=t + max(0.05, dur * beat * legato)))
    inst.notes.sort(key=lambda x: x.start)
    last: dict[int, pretty_midi.Note] = {}
    for x in inst.notes:  # a note ends where the next of its pitch starts, on the same tick: its note-off first
        prev = last.get(x.pitch)
        if prev is not None and prev.end >= x.start - 1e-3:
            prev.end = x.start
        last[x.pitch] = x
    pm.instruments.append(inst)
    mid = tmp / "line.mid"
    pm.write(str(mid))
    return rendered(mid, fonts[font], wet, rng), [(x.pitch, x.start, x.end) for x in inst.notes], font, program


def rendered(mid: Path, soundfont: str, wet: bool, rng: random.Random):
    """A MIDI file through FluidSynth and `soundfont`, mono at 22,050 Hz; `wet`: with reverb and white noise at
    20 dB SNR."""
    import librosa
    import soundfile as sf

    wav = mid.with_suffix(".wav")
    fx = ["-R", "1", "-o", "synth.reverb.room-size=0.8", "-o", "synth.reverb.level=0.9"] if wet else ["-R", "0", "-C", "0"]
    subprocess.run(["fluidsynth", "-ni", "-q", "-g", "0.6", "-r", "44100", *fx, "-F", str(wav), soundfont, str(mid)],
                   check=True, capture_output=True)
    y, sr = sf.read(wav, dtype="float32")
    y = librosa.resample(y.mean(axis=1) if y.ndim > 1 else y, orig_sr=sr, target_sr=22050).astype(np.float32)
    if wet:
        y = y + np.random.default_rng(rng.randint(0, 2**31)).standard_normal(y.shape).astype(np.float32) * float(
            np.sqrt(np.mean(y ** 2))) / 10
    return y


def samples(y, truth, net, device) -> tuple[list[np.ndarray], list[bool]]:
    """Each join in the melody-mode line (without joining) of the audio: its features and whether it was played
    again."""
    from liveloom.engines import line_reattacks as lr
    from liveloom.engines import transcription as tr

    out = tr.infer(y, net, device)
    line = tr.attack_starts(tr.one_at_a_time(tr.decode(out)), out, line=True)
    at = lr.joins(line)
    if not at:
        return [], []
    spectrum = lr.Spectrum(y)
    times = np.asarray(tr.frames_to_time(out["note"].shape[0]))
    x = [lr.join_features(line[i - 1], line[i], spectrum, out, times) for i in at]
    again = [any(p == line[i].pitch and abs(s - line[i].start) <= 0.05 for p, s, _ in truth) for i in at]
    return x, again


def make_data(n: int, seed: int, net, device) -> tuple[np.ndarray, np.ndarray, dict]:
    OUT.mkdir(parents=True, exist_ok=True)
    cache = OUT / f"joins_{n}_{seed}.npz"
    if cache.exists():
        d = np.load(cache, allow_pickle=False)
        return d["x"], d["y"], json.loads(str(d["meta"]))
    fonts = soundfonts()
    rng = random.Random(seed)
    xs, ys, used = [], [], {"fonts": {}, "programs": set()}
    with tempfile.TemporaryDirectory() as tmp:
        for k, notes in enumerate(tunes(n, seed)):
            y, truth, font, program = render_line(notes, fonts, rng, Path(tmp))
            x, again = samples(y, truth, net, device)
            xs += x
            ys += again
            used["fonts"][font] = used["fonts"].get(font, 0) + 1
            used["programs"].add(program)
            if k % 25 == 0:
                print(f"  {k} tunes, {len(ys)} joins", file=sys.stderr, flush=True)
    meta = {"tunes": n, "fonts": used["fonts"], "programs": len(used["programs"])}
    np.savez(cache, x=np.array(xs), y=np.array(ys), meta=json.dumps(meta))
    return np.array(xs), np.array(ys), meta


def evaluate(model, net, device) -> dict[str, tuple[float, float]]:
    """Per instrument (and all): melody mode's onset F1 on the rendered Essen melodies, fixed rule vs classifier."""
    from audio_bench import rendered_melodies
    from transcribe_bench import f1

    from liveloom.engines import audio_analysis as aa
    from liveloom.engines import line_reattacks as lr
    from liveloom.engines import transcription as tr

    rows: dict[str, list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for path, _, bpm, instrument, notes in rendered_melodies(Path(tmp)):
            truth = [(n.pitch, n.start * 60 / bpm, n.end * 60 / bpm) for n in notes]
            y, _ = aa.load(path, 1200)
            out = tr.infer(y, net, device)
            events = tr.decode(out)
            rule = tr.shaped(events, out, melody=True)
            heard = lr.join_split_notes(tr.shaped(events, out, melody=True, reattacks="keep"), out, y, model)
            rows.setdefault(instrument, []).append(tuple(f1(truth, [(e.start, e.end, e.pitch) for e in found])[0]
                                                         for found in (rule, heard)))
    rows["all"] = [r for k, v in rows.items() for r in v]
    return {k: (round(statistics.mean(r[0] for r in v), 3), round(statistics.mean(r[1] for r in v), 3))
            for k, v in rows.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tunes", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="write line_reattacks.json here")
    args = parser.parse_args()
    from liveloom.models import line_reattacks
    from liveloom.models.hub import ModelHub

    net, device = ModelHub().transcriber()
    x, y, meta = make_data(args.tunes, args.seed, net, device)
    print(f"{len(y)} joins from {meta['tunes']} tunes ({', '.join(f'{k} {v}' for k, v in meta['fonts'].items())}; "
          f"{meta['programs']} programs), {y.mean():.1%} played again")
    folds = np.arange(len(y)) % 5
    acc = []
    for k in range(5):
        m = line_reattacks.train(x[folds != k], y[folds != k], {})
        acc.append(float(((m.probabilities(x[folds == k]) >= 0.5) == y[folds == k]).mean()))
    print(f"5-fold accuracy on the training soundfonts {statistics.mean(acc):.3f} (always 'played again': "
          f"{max(y.mean(), 1 - y.mean()):.3f})")
    model = line_reattacks.train(x, y, {})
    scores = evaluate(model, net, device)
    print(f"\nmelody mode, onset F1 on 32 Essen melodies through FluidR3 GM (never heard) · {platform.machine()}\n")
    print("| instrument | fixed rule (merge_reattacks) | classifier |\n|---|---|---|")
    for k, (rule, heard) in scores.items():
        print(f"| {k} | {rule:.3f} | {heard:.3f} |")
    if args.out:
        card = {"data": meta, "joins": int(len(y)), "played_again": round(float(y.mean()), 3),
                "cv_accuracy": round(statistics.mean(acc), 3), "test_melody_f1": scores}
        model = line_reattacks.train(x, y, card)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "line_reattacks.json").write_text(json.dumps(model.to_json(), indent=1))
        print(f"\nwrote {args.out / 'line_reattacks.json'}")


if __name__ == "__main__":
    main()
