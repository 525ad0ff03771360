"""Make the data, train and evaluate the octave-ghost classifier of a band's transcription, and write the weights.

    .venv/bin/python bench/octave_ghosts_train.py [--mixes 160] [--out models/checkpoints/octave-ghosts]

Data: liveloom's own 8-bar arrangements (every style, seeds 100 and up — the transcription bench's mixes are
seeds 0-7 — random keys, the style's tempo), half with the GM patches the arranger chose and half with random ones
per part, rendered dry through one of two soundfonts — TimGM6mb (pretty_midi's) and MuseScore General — a fifth
with reverb and noise at 20 dB SNR. Each is transcribed as `transcribe` does by default (held notes joined, slow
attacks started where they begin); every note with a partner an octave, a twelfth or two octaves away sounding at
its start is a sample, labelled a ghost when no note of its pitch in the MIDI sounds within 100 ms of its start, or
when it starts where a note of its pitch ends (the network split a held note) and no note of its pitch starts within
100 ms. The arrangements' bass parts alone (--bass) add a bass stem's harmonics.
Test: the transcription bench's 8 band mixes, rendered through FluidR3 GM, a soundfont the classifier never heard
— onset F1, recall per part and octave errors without and with the classifier. The threshold is chosen on the
training mixes by 5-fold cross-validation: the best mean F2 of the held-out mixes (recall counts twice: a ghost
left in is one click to delete, a lost note has to be found by ear). Data is cached in
bench/out/octave_ghosts/.
"""

from __future__ import annotations

import argparse
import functools
import json
import platform
import random
import statistics
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
THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.4, 0.96, 0.05))


def arrangement(k: int, seed: int, rng: random.Random):
    """Arrangement k: every style in turn, a random key, the style's tempo, arranger seed `seed` — (song, style)."""
    from liveloom.engines.arranger import arrange
    from liveloom.music.styles import style_names

    style = style_names()[k % len(style_names())]
    key = f"{rng.choice(TONICS)} {rng.choice(('major', 'minor'))}"
    return arrange(style=style, key=key, tempo=None, time_signature=None, form="loop", sections=None,
                   seed=seed).song, style


def rendered_song(song, fonts: dict[str, str], rng: random.Random, tmp: Path):
    """A song through one of `fonts`, a fifth of the time with reverb and noise — (audio at 22,050 Hz, truth
    [(pitch, start s, end s, part)], soundfont)."""
    from line_reattacks_train import rendered
    from transcribe_bench import song_truth

    from liveloom.music.midi_io import song_to_midi

    font, wet = rng.choice(sorted(fonts)), rng.random() < 0.2
    mid = tmp / "song.mid"
    mid.write_bytes(song_to_midi(song).data)
    return rendered(mid, fonts[font], wet, rng), song_truth(song), font


def render_mix(k: int, fonts: dict[str, str], rng: random.Random, tmp: Path):
    """Mix k (arranger seed 100 + k), half the time with random patches per part: (audio at 22,050 Hz, truth
    [(pitch, start s, end s, part)], soundfont, style)."""
    song, style = arrangement(k, 100 + k, rng)
    if rng.random() < 0.5:
        song = song.model_copy(update={"tracks": [
            t if t.is_drum or t.role not in PATCHES else t.model_copy(update={"instrument": rng.choice(PATCHES[t.role])})
            for t in song.tracks]})
    return *rendered_song(song, fonts, rng, tmp), style


def render_bass_alone(k: int, fonts: dict[str, str], rng: random.Random, tmp: Path):
    """Arrangement k's bass part alone (arranger seed 1000 + k; a bass stem, or a bass line recorded on its own): its
    patch the arranger's or, half the time, one of PATCHES["bass"] — (audio at 22,050 Hz, truth, soundfont, style)."""
    song, style = arrangement(k, 1000 + k, rng)
    patch = rng.choice(PATCHES["bass"]) if rng.random() < 0.5 else None
    song = song.model_copy(update={"tracks": [t if patch is None else t.model_copy(update={"instrument": patch})
                                              for t in song.tracks if t.role == "bass"]})
    return *rendered_song(song, fonts, rng, tmp), style


def render_mix_harmonic(k: int, fonts: dict[str, str], rng: random.Random, tmp: Path):
    """Mix k (the same as render_mix's) as `transcribe` with `drums: true` hears its pitched part: the harmonic part
    of an HPSS split (librosa, margins 1 and 2, as engines/drum_transcription splits a full mix)."""
    import librosa

    y, truth, font, style = render_mix(k, fonts, rng, tmp)
    return librosa.effects.hpss(y, margin=(1.0, 2.0))[0], truth, font, style


def render_doubled(k: int, fonts: dict[str, str], rng: random.Random, tmp: Path):
    """Real octaves and twelfths, which a band's arrangements seldom have: piece k is a Bach chorale (not one the
    transcription bench plays) or a progression of diatonic triads voiced with 3-6 notes drawn from its tones over
    four octaves, through one random instrument (winds, strings, organ, keys, guitars, pads) —
    (audio at 22,050 Hz, truth [(pitch, start s, end s, part)], soundfont, what)."""
    import pretty_midi
    from line_reattacks_train import rendered

    bpm = rng.uniform(60, 140)
    beat = 60 / bpm
    if k % 2:
        notes, what = chorale_notes(rng), "chorale"
    else:
        notes, what = voiced_progression(rng), "voicings"
    pm = pretty_midi.PrettyMIDI(initial_tempo=bpm)
    inst = pretty_midi.Instrument(program=rng.choice(DOUBLING_PROGRAMS))
    level = rng.randint(60, 110)
    for pitch, start, dur in notes:
        if start * beat < 24:
            inst.notes.append(pretty_midi.Note(velocity=max(30, min(127, level + rng.randint(-8, 8))), pitch=int(pitch),
                                               start=start * beat + 0.3, end=(start + dur * 0.95) * beat + 0.3))
    pm.instruments.append(inst)
    font, wet = rng.choice(sorted(fonts)), rng.random() < 0.2
    mid = tmp / "doubled.mid"
    pm.write(str(mid))
    truth = [(x.pitch, x.start, x.end, what) for x in inst.notes]
    return rendered(mid, fonts[font], wet, rng), truth, font, what


DOUBLING_PROGRAMS = (0, 4, 19, 24, 25, 40, 42, 48, 49, 52, 56, 60, 61, 65, 68, 70, 71, 73, 74, 80, 81, 88, 89)
BENCH_CHORALES = {"bwv66.6", "bwv269", "bwv347", "bwv153.1"}  # the transcription bench's


def voiced_progression(rng: random.Random) -> list[tuple[int, float, float]]:
    """32 beats of diatonic triads in a random key, each voiced with 3-6 of its tones between C2 and C6 (octave
    and twelfth doublings come often): [(pitch, start beat, beats)]."""
    tonic, minor = rng.randrange(12), rng.random() < 0.4
    scale = (0, 2, 3, 5, 7, 8, 10) if minor else (0, 2, 4, 5, 7, 9, 11)
    notes, t = [], 0.0
    while t < 32:
        degree = rng.randrange(7)
        tones = {(tonic + scale[(degree + i) % 7]) % 12 for i in (0, 2, 4)}
        dur = rng.choice((1.0, 2.0, 2.0, 4.0))
        notes += [(p, t, dur) for p in sorted(rng.sample([p for p in range(36, 85) if p % 12 in tones],
                                                         rng.randint(3, 6)))]
        t += dur
    return notes


@functools.cache
def chorale_paths() -> tuple[str, ...]:
    from music21 import corpus

    return tuple(sorted(str(p) for p in corpus.getComposer("bach")
                        if Path(p).stem.split(".mxl")[0] not in BENCH_CHORALES and Path(p).suffix in (".mxl", ".xml")))


def chorale_notes(rng: random.Random) -> list[tuple[int, float, float]]:
    """A random Bach chorale's notes (not one the bench plays): [(pitch, start beat, beats)]."""
    from music21 import converter

    s = converter.parse(rng.choice(chorale_paths())).stripTies()
    return [(int(p.midi), float(n.offset), float(n.quarterLength)) for n in s.flatten().notes for p in n.pitches]


def samples(y, truth, net, device):
    """(feature rows, ghost labels, matched flags, the file's counts (matched, estimated, true notes))."""
    from transcribe_bench import onset_matches

    from liveloom.engines import octave_ghosts as og
    from liveloom.engines import transcription as tr

    out = tr.infer(y, net, device)
    events = unchecked(out)
    hit = {j for _, j in onset_matches(truth, [(e.start, e.end, e.pitch) for e in events])}
    counts = (len(hit), len(events), len(truth))
    at, x = og.candidate_features(events, out, y)
    if not at:
        return np.zeros((0, 0)), [], [], counts
    previous = og.previous_of_pitch(events)
    return x, [is_ghost(events, previous, i, truth, i in hit) for i in at], [i in hit for i in at], counts


def unchecked(out) -> list:
    """What the classifier judges: transcribe's notes before it (held notes joined, slow attacks started where
    they begin, the bass pass's short notes)."""
    from liveloom.engines import transcription as tr

    return tr.general_notes(out)


def is_ghost(events, previous, i: int, truth, hit: bool) -> bool:
    """Note i is a ghost: not a right note, and no note of its pitch sounds within 100 ms of its start — or it is
    its pitch's note split (starting where that one ends) with no note of its pitch starting within 100 ms: a held
    note heard again at another's attack, which drop_ghosts joins to its first part."""
    if hit:
        return False
    ev, p = events[i], previous[i]
    if not any(q == ev.pitch and s - 0.1 <= ev.start <= e for q, s, e, _ in truth):
        return True
    from liveloom.engines.octave_ghosts import JOIN_GAP_S

    return (p is not None and ev.start - events[p].end <= JOIN_GAP_S
            and not any(q == ev.pitch and abs(s - ev.start) <= 0.1 for q, s, _, _ in truth))


def make_data(n: int, doubled: int, seed: int, net, device, harmonic: int = 0, bass: int = 0) -> dict:
    """The arrangements' samples, the doubled pieces', the bass parts alone and the arrangements' harmonic parts'
    (each cached apart), pieces numbered on from one part to the next."""
    parts = [make_part("mixes", render_mix, n, seed, net, device)]
    if doubled:
        parts.append(make_part("doubled", render_doubled, doubled, seed, net, device))
    if bass:
        parts.append(make_part("bass", render_bass_alone, bass, seed, net, device))
    if harmonic:
        parts.append(make_part("harmonic", render_mix_harmonic, harmonic, seed, net, device))
    offsets = np.cumsum([0] + [len(p["counts"]) for p in parts[:-1]])
    fonts: dict[str, int] = {}
    for p in parts:
        for k, v in p["meta"]["fonts"].items():
            fonts[k] = fonts.get(k, 0) + v
    return {"x": np.concatenate([p["x"] for p in parts]), "ghost": np.concatenate([p["ghost"] for p in parts]),
            "hit": np.concatenate([p["hit"] for p in parts]),
            "mix": np.concatenate([p["mix"] + o for p, o in zip(parts, offsets)]),
            "counts": np.concatenate([p["counts"] for p in parts]),
            "meta": {"mixes": n, "doubled": doubled, "bass": bass, "harmonic": harmonic, "fonts": fonts}}


def make_part(name: str, render, n: int, seed: int, net, device) -> dict:
    from line_reattacks_train import soundfonts

    from liveloom.models.octave_ghosts import FEATURES

    OUT.mkdir(parents=True, exist_ok=True)
    cache = OUT / f"{name}_{n}_{seed}_{len(FEATURES)}.npz"
    if cache.exists():
        d = np.load(cache, allow_pickle=False)
        return {k: d[k] for k in d.files if k != "meta"} | {"meta": json.loads(str(d["meta"]))}
    fonts = soundfonts()
    rng = random.Random(seed)
    xs, ghosts, hits, mix, counts, used = [], [], [], [], [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(n):
            y, truth, font, style = render(k, fonts, rng, Path(tmp))
            x, ghost, hit, c = samples(y, truth, net, device)
            if len(ghost):
                xs.append(x)
            ghosts += ghost
            hits += hit
            mix += [k] * len(ghost)
            counts.append(c)
            used[font] = used.get(font, 0) + 1
            if k % 20 == 0:
                print(f"  {k} {name}, {len(ghosts)} notes with a partner, {sum(ghosts)} ghosts", file=sys.stderr,
                      flush=True)
    data = {"x": np.concatenate(xs), "ghost": np.array(ghosts), "hit": np.array(hits), "mix": np.array(mix),
            "counts": np.array(counts)}
    meta = {name: n, "fonts": used}
    np.savez(cache, **data, meta=json.dumps(meta))
    return data | {"meta": meta}


def f_beta(dropped_hit: int, dropped: int, counts, beta: float = 1.0) -> float:
    """Onset F-beta of a mix after dropping `dropped` notes, `dropped_hit` of them right; counts: (right notes,
    notes found, true notes) before."""
    tp, est, true = counts
    tp, est = tp - dropped_hit, est - dropped
    b2 = beta * beta
    return (1 + b2) * tp / max(1, b2 * true + est)


def cross_validate(d: dict, repeats: int = 3) -> dict[float, dict[str, float]]:
    """Threshold -> the held-out mixes' mean onset F1 and F2 after dropping what the classifier calls a ghost, and
    the share of right notes lost: 5 folds by mix, `repeats` times over (the first with mixes dealt in turn, then
    shuffled), averaged — one split's F2 differs between neighbouring thresholds by less than splits differ."""
    from liveloom.models import octave_ghosts

    n = len(d["counts"])
    runs: list[dict[float, dict[str, float]]] = []
    for r in range(repeats):
        fold_of_mix = np.arange(n) % 5 if r == 0 else np.random.default_rng(r).permutation(n) % 5
        probs = np.zeros(len(d["ghost"]))
        for k in range(5):
            test = fold_of_mix[d["mix"]] == k
            probs[test] = octave_ghosts.train(d["x"][~test], d["ghost"][~test], {}).probabilities(d["x"][test])
        run = {}
        for t in THRESHOLDS:
            drop = probs >= t
            per_mix = [(int((drop & d["hit"] & (d["mix"] == k)).sum()), int((drop & (d["mix"] == k)).sum()),
                        d["counts"][k]) for k in range(n)]
            run[t] = {"f1": statistics.mean(f_beta(*m) for m in per_mix),
                      "f2": statistics.mean(f_beta(*m, beta=2.0) for m in per_mix),
                      "right_lost": float((drop & d["hit"]).sum() / d["counts"][:, 2].sum()),
                      "ghosts_dropped": float((drop & d["ghost"]).sum() / max(1, d["ghost"].sum()))}
        runs.append(run)
    return {t: {k: statistics.mean(run[t][k] for run in runs) for k in runs[0][t]} for t in THRESHOLDS}


def evaluate(model, net, device, only: str | None = None) -> list[tuple[str, tuple, tuple]]:
    """The transcription bench's band mixes through FluidR3 GM (`only` "bass": their bass parts alone): (style,
    scores without, scores with the classifier), scores as transcribe_bench.band_scored gives them."""
    from transcribe_bench import band_mixes, band_scored

    from liveloom.engines import audio_analysis as aa
    from liveloom.engines import octave_ghosts as og
    from liveloom.engines import transcription as tr

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for style, truth, path in band_mixes(Path(tmp), only):
            y, _ = aa.load(path, 1200)
            out = tr.infer(y, net, device)
            events = unchecked(out)
            kept = og.drop_ghosts(events, out, y, model)
            rows.append((style, band_scored(truth, [(e.start, e.end, e.pitch) for e in events]),
                         band_scored(truth, [(e.start, e.end, e.pitch) for e in kept])))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mixes", type=int, default=160)
    parser.add_argument("--doubled", type=int, default=80, help="pieces with real octaves and twelfths (Bach "
                        "chorales and voiced triads through one instrument) beside the arrangements")
    parser.add_argument("--bass", type=int, default=80, help="arrangements' bass parts alone (a bass stem: its "
                        "second harmonic is the ghost, with no chord to explain it)")
    parser.add_argument("--harmonic", type=int, default=0, help="the first N arrangements again as their HPSS "
                        "harmonic part (what transcribe hears of a full mix with drums: true)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cv-repeats", type=int, default=3, help="5-fold cross-validations averaged for the "
                        "threshold (the first deals the mixes in turn, the others shuffle them)")
    parser.add_argument("--out", type=Path, default=None, help="write octave_ghosts.json and MODEL_CARD.md's "
                        "figures here")
    args = parser.parse_args()
    from liveloom.models import octave_ghosts
    from liveloom.models.hub import ModelHub

    net, device = ModelHub().transcriber()
    d = make_data(args.mixes, args.doubled, args.seed, net, device, args.harmonic, args.bass)
    g = d["ghost"]
    print(f"{len(g)} notes with a partner in {d['meta']['mixes']} mixes, {d['meta'].get('doubled', 0)} pieces and "
          f"{d['meta'].get('bass', 0)} bass parts "
          f"({', '.join(f'{k} {v}' for k, v in d['meta']['fonts'].items())}): {g.sum()} ghosts, "
          f"{d['hit'].sum()} right notes, {(~g & ~d['hit']).sum()} other false notes")
    cv = cross_validate(d, args.cv_repeats)
    base = {"f1": statistics.mean(f_beta(0, 0, c) for c in d["counts"]),
            "f2": statistics.mean(f_beta(0, 0, c, 2.0) for c in d["counts"])}
    best = max(cv, key=lambda t: cv[t]["f2"])
    print(f"\n5-fold by mix ({args.cv_repeats} times over, averaged), held-out training mixes (F2: recall counts "
          "twice — a ghost left in is one click to "
          f"delete, a lost note has to be found by ear); without the classifier F1 {base['f1']:.4f}, "
          f"F2 {base['f2']:.4f}\n")
    print("| threshold | F1 | F2 | right notes lost | ghosts dropped |\n|---|---|---|---|---|")
    for t, r in cv.items():
        print(f"| {t}{' (chosen)' if t == best else ''} | {r['f1']:.4f} | {r['f2']:.4f} | {r['right_lost']:.2%} | "
              f"{r['ghosts_dropped']:.1%} |")
    model = octave_ghosts.train(d["x"], g, {}, threshold=best)
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
    stems = evaluate(model, net, device, only="bass")
    print("\nthe same mixes' bass parts alone (stems)\n")
    print("| bass stem | F1 without / with | recall without / with | octave errors |\n|---|---|---|---|")
    for style, (f0, p0, o0), (f1, p1, o1) in stems:
        print(f"| {style} | {f0:.3f} / {f1:.3f} | {p0.get('bass', 0):.2f} / {p1.get('bass', 0):.2f} | {o0} / {o1} |")
    stem_f1 = [round(statistics.mean(r[j][0] for r in stems), 4) for j in (1, 2)]
    print(f"| all | {stem_f1[0]:.3f} / {stem_f1[1]:.3f} | "
          + " / ".join(f"{statistics.mean(r[j][1].get('bass', 0) for r in stems):.2f}" for j in (1, 2))
          + f" | {sum(r[1][2] for r in stems)} / {sum(r[2][2] for r in stems)} |")
    if args.out:
        card = {"data": d["meta"], "notes": int(len(g)), "ghosts": int(g.sum()), "threshold": best,
                "cv": {"without": {k: round(v, 4) for k, v in base.items()},
                       "with": {k: round(v, 4) for k, v in cv[best].items()}},
                "test_band": {"f1": [round(mean(1), 4), round(mean(2), 4)],
                              "bass_recall": [round(mean(1, "bass"), 3), round(mean(2, "bass"), 3)],
                              "octave_errors": [sum(r[1][2] for r in rows), sum(r[2][2] for r in rows)]},
                "test_bass_stems": {"f1": stem_f1, "octave_errors": [sum(r[j][2] for r in stems) for j in (1, 2)]}}
        model = octave_ghosts.train(d["x"], g, card, threshold=best)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "octave_ghosts.json").write_text(octave_ghosts.to_text(model))
        print(f"\nwrote {args.out / 'octave_ghosts.json'}")


if __name__ == "__main__":
    main()
