"""transcribe against the reference basic-pitch (ONNX) on audio with exact MIDI truth, side by side.

    .venv/bin/python bench/transcribe_bench.py [--pieces 8] [--seconds 12]

Material: Bach chorales (4 voices) and folk melodies (1 voice) from music21's corpus, and generated
chord progressions with 2, 3, 5 and 6 voices; rendered with FluidSynth (FluidR3_GM) through five GM
instruments — piano, steel guitar, string ensemble, flute, saw lead — dry and clean, and again with
FluidSynth's reverb plus white noise at 20 dB SNR. Truth is the MIDI that was rendered.

For each file the systems transcribe it with their defaults: liveloom's decoder (PyTorch, windows batched; what
basic-pitch decodes) in float32 and — where the CPU or GPU runs it natively, or with --precision bf16 — with
bfloat16 convolutions; `transcribe`'s notes (split held notes joined, slow attacks started where they begin,
short bass notes the decoder cut kept, octave ghosts dropped), and with reattacks=keep; and basic-pitch 0.4.0's
predict() on its ONNX model. Note F1 with mir_eval (onsets within 50 ms; and with offsets), by instrument and by
polyphony; speed in x real time (median and range over files, the first call of each left out and reported apart
as cold start). Then band mixes
(liveloom's arrangements: recall per part, octave errors, with and without the octave-ghost classifier), their bass
parts alone (stems), the piano model, and lone melodies.
"""

from __future__ import annotations

import argparse
import logging
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

INSTRUMENTS = {"piano": 0, "guitar": 25, "strings": 48, "flute": 73, "synth": 81}
TEMPO = 100.0


def corpus_pieces(n: int, seconds: float) -> list[tuple[str, int, list[tuple[int, float, float]]]]:
    """(name, polyphony, notes as (pitch, start s, end s)) from music21's corpus and generated chords."""
    from music21 import corpus

    beat = 60.0 / TEMPO
    out = []
    chorales = ["bach/bwv66.6", "bach/bwv269", "bach/bwv347", "bach/bwv153.1"]
    folk = ["essenFolksong/altdeu10", "ryansMammoth/BuffaloGirls", "oneills1850/book1"]
    for name in chorales[: max(1, n // 4)]:
        s = corpus.parse(name)
        notes = [(int(p.midi), float(el.offset) * beat, float(el.offset + el.quarterLength) * beat)
                 for el in s.stripTies().flatten().notes for p in el.pitches]
        out.append((name, 4, [x for x in notes if x[1] < seconds]))
    for name in folk[: max(1, n // 4)]:
        try:
            s = corpus.parse(name)
            if hasattr(s, "scores"):
                s = s.scores[0]
        except Exception:
            continue
        notes = [(int(el.pitch.midi), float(el.offset) * beat, float(el.offset + el.quarterLength) * beat)
                 for el in s.stripTies().flatten().notes if not el.isChord]
        out.append((name, 1, [x for x in notes if x[1] < seconds]))
    rng = random.Random(0)
    for poly in (2, 3, 5, 6)[: max(1, n - len(out))]:
        notes = []
        t = 0.0
        root = 48
        while t < seconds:
            root = 45 + (root - 45 + rng.choice([5, 7, 2, -3])) % 15
            chord = sorted(rng.sample([root + i for i in (0, 4, 7, 12, 16, 19, 24, 28)], poly))
            dur = rng.choice([1.0, 2.0]) * beat
            notes += [(p, t, t + dur * 0.95) for p in chord]
            t += dur
        out.append((f"generated {poly}-voice chords", poly, notes))
    return out


def to_midi(notes, program: int) -> bytes:
    from liveloom.music.midi_io import song_to_midi
    from liveloom.music.types import Clip, Note, PlacedClip, Song, Track

    beat = 60.0 / TEMPO
    clip = Clip(name="x", notes=[Note(pitch=p, start=s / beat, duration=max(0.05, (e - s) / beat), velocity=90)
                                 for p, s, e in notes], length=max(e for _, _, e in notes) / beat + 4)
    song = Song(name="x", tempo=TEMPO, tracks=[Track(name="x", instrument=program, clips=[PlacedClip(clip=clip)])])
    return song_to_midi(song).data


def render(midi: bytes, wet: bool, out: Path) -> None:
    from liveloom.engines.render import find_renderer

    r = find_renderer()
    mid = out.with_suffix(".mid")
    mid.write_bytes(midi)
    fx = ["-R", "1", "-o", "synth.reverb.room-size=0.8", "-o", "synth.reverb.level=0.9"] if wet else ["-R", "0", "-C", "0"]
    subprocess.run([r.program, "-ni", "-q", "-g", "0.6", "-r", "44100", *fx, "-F", str(out), str(r.soundfont), str(mid)],
                   check=True, capture_output=True)
    if wet:
        import soundfile as sf

        y, sr = sf.read(out, dtype="float32")
        rms = float(np.sqrt(np.mean(y ** 2)))
        y = y + np.random.default_rng(1).standard_normal(y.shape).astype(np.float32) * rms / 10  # 20 dB SNR
        sf.write(out, y, sr)


def f1(truth, est) -> tuple[float, float]:
    import mir_eval

    ref = np.array([[s, e] for _, s, e in truth])
    ref_p = np.array([440.0 * 2 ** ((p - 69) / 12) for p, _, _ in truth])
    if not est:
        return 0.0, 0.0
    est_i = np.array([[s, max(e, s + 0.01)] for s, e, _ in est])
    est_p = np.array([440.0 * 2 ** ((p - 69) / 12) for _, _, p in est])
    on = mir_eval.transcription.precision_recall_f1_overlap(ref, ref_p, est_i, est_p, offset_ratio=None)[2]
    off = mir_eval.transcription.precision_recall_f1_overlap(ref, ref_p, est_i, est_p)[2]
    return on, off


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pieces", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--precision", default="both", choices=["both", "fp32", "bf16"],
                        help="liveloom's convolution precision: fp32 (the default, the reference's arithmetic), "
                             "bf16, or both side by side (bf16 only where the CPU or GPU runs it natively)")
    parser.add_argument("--no-piano", action="store_true",
                        help="leave out the piano model's table (it runs about real time on 2 CPU cores)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a figure the docs claim regresses")
    args = parser.parse_args()
    from claims import require_defaults

    require_defaults(parser, args, ['pieces', 'seconds'])
    logging.disable(logging.WARNING)  # basic-pitch's import warns about TensorFlow, CoreML and TFLite
    import torch
    from basic_pitch import ICASSP_2022_MODEL_PATH
    from basic_pitch.inference import Model, predict

    from liveloom.engines import audio_analysis as aa
    from liveloom.engines import transcription as tr
    from liveloom.models.basic_pitch_torch import load

    if shutil.which("fluidsynth") is None:
        raise SystemExit("FluidSynth is needed to render the benchmark audio (scripts/install.sh installs it)")
    tmp = Path(tempfile.mkdtemp(prefix="liveloom-tbench-"))
    pieces = corpus_pieces(args.pieces, args.seconds)
    files = []
    for i, (name, poly, notes) in enumerate(pieces):
        for inst, program in INSTRUMENTS.items():
            for wet in (False, True):
                path = tmp / f"{i}_{inst}_{'wet' if wet else 'dry'}.wav"
                render(to_midi(notes, program), wet, path)
                files.append((path, name, poly, inst, wet, notes))
    print(f"{len(files)} files rendered ({sum(sf_seconds(p) for p, *_ in files):.0f} s of audio)", file=sys.stderr)

    from liveloom.models.basic_pitch_torch import bf16_is_fast

    nets, loads = {}, {}
    device = None  # known once fp32 is loaded (it loads first)
    for precision in ["fp32", "bf16"] if args.precision == "both" else [args.precision]:
        if precision == "bf16" and args.precision == "both" and not bf16_is_fast(device):
            continue  # fp32 loaded first, so `device` is known here
        t0 = time.perf_counter()
        nets[precision], device = load(precision=precision)
        loads[precision] = time.perf_counter() - t0
    t0 = time.perf_counter()
    ref_model = Model(ICASSP_2022_MODEL_PATH)
    loads["ref"] = time.perf_counter() - t0

    def ours(net, reattacks: str | None = None):
        """The decoder alone (None), or transcribe's notes with reattacks "merge" (its default) or "keep"."""
        def run(path):
            y, _ = aa.load(path, 1200)
            out = tr.infer(y, net, device)
            cut: list = []
            events = tr.decode(out, cut_short=cut if reattacks else None)
            if reattacks:
                events = tr.shaped(events, out, reattacks=reattacks, audio=y, cut_short=cut)
            return [(e.start, e.end, e.pitch) for e in events]
        return run

    def reference(path):
        import contextlib
        import io

        with contextlib.redirect_stdout(io.StringIO()):
            _, _, ev = predict(str(path), ref_model)
        return [(float(s), float(e), int(p)) for s, e, p, *_ in ev]

    first = next(iter(nets.values()))
    systems = [(p, ours(net)) for p, net in nets.items()] + [("tool", ours(first, "merge")),
                                                              ("keep", ours(first, "keep")), ("ref", reference)]
    loads["keep"] = loads["tool"] = loads[next(iter(nets))]
    rows = []
    cold = {}
    for k, (path, name, poly, inst, wet, notes) in enumerate(files):
        dur = sf_seconds(path)
        row = {"name": name, "poly": poly, "inst": inst, "wet": wet, "dur": dur}
        for label, fn in systems:
            t0 = time.perf_counter()
            est = fn(path)
            dt = time.perf_counter() - t0
            if k == 0:
                cold[label] = dt
            row[label] = f1(notes, est) + (dur / dt,)
            row[label + "_notes"] = sorted((round(s, 3), p) for s, _, p in est)
        rows.append(row)
    report(rows, cold, loads, device, torch.get_num_threads(), [label for label, _ in systems])
    piano = None if args.no_piano else piano_report(rows, files, nets)
    general = nets["fp32"] if "fp32" in nets else next(iter(nets.values()))
    band = band_report(general, device, reference, tmp)
    band.update(stems_report(general, device, reference, tmp))
    melody = melody_report(general, device, reference, tmp)
    if args.check:
        sys.exit(check(rows, piano, melody, band))


def check(rows, piano: dict[str, float] | None, melody: float | None = None, band: dict | None = None) -> int:
    """The published targets: F1 at least the reference's (same run), at least 1.5x its speed per file
    (published 1.86x), the reference's very notes on nearly every file (published 69 of 70), piano F1 0.99."""
    from claims import Claim
    from claims import report as check_report

    mean = lambda k, i: statistics.mean(r[k][i] for r in rows)  # noqa: E731
    ratio = statistics.median(r["fp32"][2] / r["ref"][2] for r in rows[1:])
    same = sum(1 for r in rows if r["fp32_notes"] == r["ref_notes"]) / len(rows)
    claims = [Claim("fp32 onset F1 minus the reference's, same run (published 0)", mean("fp32", 0) - mean("ref", 0),
                    -1e-4),
              Claim("fp32 speed per file, x the reference's, same run (published 1.86; target 1.5)", ratio, 1.5),
              Claim("fp32 note lists identical to the reference's, share (published 69/70)", same, 0.95),
              Claim("transcribe's default onset F1 minus the reference's, same run (published +0.158)",
                    mean("tool", 0) - mean("ref", 0), 0.1),
              Claim("reattacks=keep onset F1 minus the reference's, same run (published +0.108)",
                    mean("keep", 0) - mean("ref", 0), 0.05)]
    if piano:
        claims += [Claim(f"piano model {p} onset F1 (published 0.991)", f, 0.98) for p, f in piano.items()]
    if melody is not None:
        claims.append(Claim("melody mode onset F1 on 32 rendered melodies (published 0.903; 0.883 before the "
                            "attacks decode cut short; the issue asks 0.9)", melody, 0.9))
    if band:
        claims += [Claim("band mixes: transcribe's onset F1 minus the reference's on the worst mix (published "
                         "+0.039, rock)", band["worst_margin"], 0.0),
                   Claim("band mixes: bass recall (published 0.7585 with the bass pass; the issue asks 0.75)",
                         band["bass"], 0.75),
                   Claim("band mixes: octave errors against the reference's, same run (published 183 of 495: 0.37)",
                         band["octave"] / max(1, band["octave_reference"]), 0.45, higher_is_better=False),
                   Claim("band mixes: octave errors against transcribe's without the classifier, same run "
                         "(published 183 of 404: 0.45; the issue asks them halved)",
                         band["octave"] / max(1, band["octave_unchecked"]), 0.5, higher_is_better=False),
                   Claim("bass stems: transcribe's onset F1 minus the reference's, same run (published +0.193)",
                         band["stems_f1"] - band["stems_reference"], 0.1),
                   Claim("bass stems: octave errors against the reference's, same run (published 29 of 176: 0.16)",
                         band["stems_octave"] / max(1, band["stems_octave_reference"]), 0.3, higher_is_better=False)]
    return check_report(claims)


def piano_report(rows, files, nets) -> dict[str, float]:
    """The piano files again through the piano model (Transkun 2.0; transcribe's piano=true), in each
    precision that ran above, side by side with the general model's and the reference's numbers."""
    from liveloom.engines import audio_analysis as aa
    from liveloom.engines import transcription as tr
    from liveloom.models import transkun_piano

    models = {precision: transkun_piano.load(precision=precision) for precision in nets}
    found = {}
    sel = [(r, f) for r, f in zip(rows, files) if r["inst"] == "piano"]
    print(f"\nsolo piano ({len(sel)} files, {sum(r['dur'] for r, _ in sel):.0f} s): the piano model "
          "(`transcribe` piano=true, Transkun 2.0) against the general model and the reference\n")
    print("| system | note F1 onsets | with offsets | speed, median (range) |")
    print("|---|---|---|---|")
    for k in [*nets, "ref"]:
        on = statistics.mean(r[k][0] for r, _ in sel)
        off = statistics.mean(r[k][1] for r, _ in sel)
        sp = [r[k][2] for r, _ in sel[1:]]
        label = "reference basic-pitch (ONNX)" if k == "ref" else f"{NAMES[k]}, general model (basic-pitch)"
        print(f"| {label} | {on:.3f} | {off:.3f} | {statistics.median(sp):.0f}x ({min(sp):.0f}–{max(sp):.0f}x) |")
    for precision, model in models.items():
        scores, speeds = [], []
        for k, (r, (path, *_rest, notes)) in enumerate(sel):
            t0 = time.perf_counter()
            y, _ = aa.load(path, 1200, transkun_piano.SAMPLE_RATE)
            events, _ = tr.piano_notes(model.transcribe(y))
            dt = time.perf_counter() - t0
            scores.append(f1(notes, [(e.start, e.end, e.pitch) for e in events]))
            if k:
                speeds.append(r["dur"] / dt)
        found[precision] = statistics.mean(a for a, _ in scores)
        print(f"| Transkun 2.0 piano model, {precision} | {statistics.mean(a for a, _ in scores):.3f} | "
              f"{statistics.mean(b for _, b in scores):.3f} | {statistics.median(speeds):.2f}x "
              f"({min(speeds):.2f}–{max(speeds):.2f}x) |")
    print("(speeds are x real time, the first file left out; Transkun runs 16 s segments 8 s apart: each second of audio passes the network twice)")
    return found


BAND = [("pop", "C major", 100), ("rock", "E minor", 120), ("funk", "G major", 104), ("jazz", "F major", 140),
        ("lofi", "D minor", 82), ("house", "A minor", 124), ("bossa", "D major", 130), ("folk", "G major", 110)]
OCTAVES = (12, -12, 19, -19, 24, -24)


def song_truth(song) -> list[tuple[int, float, float, str]]:
    """Every pitched, sounding note of an arranged song as (pitch, start s, end s, part)."""
    beat = 60.0 / song.tempo
    return [(n.pitch, n.start * beat, n.end * beat, t.role or t.name) for t in song.tracks if not t.is_drum
            for n in t.notes_on_timeline() if not n.mute]


def band_mixes(tmp: Path, only: str | None = None):
    """The band mixes, rendered dry through FluidR3: yields (style, truth as song_truth gives it, WAV path); with
    `only` a role ("bass"), that part alone (a stem)."""
    from liveloom.engines.arranger import arrange
    from liveloom.music.midi_io import song_to_midi

    for i, (style, key, bpm) in enumerate(BAND):
        song = arrange(style=style, key=key, tempo=bpm, time_signature=None, form="loop", sections=None, seed=i).song
        if only:
            song = song.model_copy(update={"tracks": [t for t in song.tracks if t.role == only]})
        path = tmp / f"band_{style}{'_' + only if only else ''}.wav"
        render(song_to_midi(song).data, False, path)
        yield style, song_truth(song), path


def onset_matches(truth, est) -> list[tuple[int, int]]:
    """mir_eval's matching of `est` [(start, end, pitch)] to `truth` [(pitch, start, end, part)]: onsets within
    50 ms, pitch within a quarter tone — (truth index, est index) pairs."""
    import mir_eval

    if not est or not truth:
        return []
    hz = lambda p: 440.0 * 2 ** ((p - 69) / 12)  # noqa: E731
    return mir_eval.transcription.match_notes(
        np.array([[s, e] for _, s, e, _ in truth]), np.array([hz(p) for p, *_ in truth]),
        np.array([[s, max(e, s + 0.01)] for s, e, _ in est]), np.array([hz(p) for *_, p in est]), offset_ratio=None)


def band_scored(truth, est) -> tuple[float, dict[str, float], int]:
    """Onset F1 (50 ms) of `est` [(start, end, pitch)] against `truth` [(pitch, start, end, part)], recall per part,
    and octave errors: false notes an octave, a twelfth or two octaves from a true note that starts with them."""
    if not est:
        return 0.0, {}, 0
    pairs = onset_matches(truth, est)
    hit_ref, hit_est = {i for i, _ in pairs}, {j for _, j in pairs}
    prec, rec = len(pairs) / len(est), len(pairs) / len(truth)
    parts: dict[str, list[int]] = {}
    for i, (*_, part) in enumerate(truth):
        parts.setdefault(part, [0, 0])[0] += i in hit_ref
        parts[part][1] += 1
    octave = sum(1 for j, (s, _, p) in enumerate(est) if j not in hit_est and any(
        abs(s - ts) < 0.05 and p - tp in OCTAVES for tp, ts, _, _ in truth))
    return 2 * prec * rec / max(1e-9, prec + rec), {k: a / b for k, (a, b) in parts.items()}, octave


def band_report(net, device, reference, tmp: Path) -> dict[str, float]:
    """Band mixes: liveloom's own 8-bar arrangements (drums, bass, chords, lead; GM patches the arranger chose),
    rendered dry; truth is every pitched note with its part. Onset F1, recall per part, and false notes an
    octave, a twelfth or two octaves from a true note that starts with them (onsets within 50 ms)."""
    from liveloom.engines import audio_analysis as aa
    from liveloom.engines import transcription as tr

    rows = []
    for style, truth, path in band_mixes(tmp):
        y, _ = aa.load(path, 1200)
        out = tr.infer(y, net, device)
        cut: list = []
        events = tr.decode(out, cut_short=cut)
        notes = lambda found: [(e.start, e.end, e.pitch) for e in found]  # noqa: E731
        ours = band_scored(truth, notes(tr.shaped(events, out, audio=y, cut_short=cut)))  # transcribe's default
        unchecked = band_scored(truth, notes(tr.shaped(events, out, cut_short=cut)))  # no octave-ghost classifier
        kept = band_scored(truth, notes(tr.shaped(events, out, reattacks="keep", audio=y, cut_short=cut)))[0]
        rows.append((style, ours, band_scored(truth, reference(path)), kept, unchecked))
    print(f"\nband mixes ({len(rows)} of liveloom's arrangements, 8 bars each: drums, bass, chords, lead), onset F1 "
          "and recall per part; octave: false notes an octave, twelfth or two octaves from a true note; "
          "unchecked: without the octave-ghost classifier\n")
    print("| mix | F1 transcribe / unchecked / reference | F1 reattacks=keep | bass recall | chords recall | "
          "lead recall | octave errors: transcribe / unchecked / reference |")
    print("|---|---|---|---|---|---|---|")
    for style, (f, parts, octave), (rf, _, roct), mf, (uf, _, uoct) in rows:
        print(f"| {style} | {f:.3f} / {uf:.3f} / {rf:.3f} | {mf:.3f} | {parts.get('bass', 0):.2f} | "
              f"{parts.get('chords', 0):.2f} | {parts.get('lead', 0):.2f} | {octave} / {uoct} / {roct} |")
    mean = lambda k: statistics.mean(r[1][1].get(k, 0) for r in rows)  # noqa: E731
    found = {"f1": statistics.mean(r[1][0] for r in rows), "reference": statistics.mean(r[2][0] for r in rows),
             "worst_margin": min(r[1][0] - r[2][0] for r in rows), "bass": mean("bass"),
             "octave": sum(r[1][2] for r in rows), "octave_unchecked": sum(r[4][2] for r in rows),
             "octave_reference": sum(r[2][2] for r in rows)}
    print(f"| all | {found['f1']:.3f} / {statistics.mean(r[4][0] for r in rows):.3f} / {found['reference']:.3f} | "
          f"{statistics.mean(r[3] for r in rows):.3f} | {mean('bass'):.2f} | {mean('chords'):.2f} | "
          f"{mean('lead'):.2f} | {found['octave']} / {found['octave_unchecked']} / {found['octave_reference']} |")
    return found


def stems_report(net, device, reference, tmp: Path) -> dict[str, float]:
    """The band mixes' bass parts alone (a bass stem, or a bass line recorded on its own): onset F1 and precision of
    transcribe's default, without the octave-ghost classifier, and the reference; recall; octave errors (a bass's
    second and third harmonics heard as notes)."""
    from liveloom.engines import audio_analysis as aa
    from liveloom.engines import transcription as tr

    rows = []
    for style, truth, path in band_mixes(tmp, only="bass"):
        y, _ = aa.load(path, 1200)
        out = tr.infer(y, net, device)
        cut: list = []
        events = tr.decode(out, cut_short=cut)
        found = {"transcribe": [(e.start, e.end, e.pitch) for e in tr.shaped(events, out, audio=y, cut_short=cut)],
                 "unchecked": [(e.start, e.end, e.pitch) for e in tr.shaped(events, out, cut_short=cut)],
                 "reference": reference(path)}
        scores = {k: band_scored(truth, v) for k, v in found.items()}
        hits = {k: len(onset_matches(truth, v)) for k, v in found.items()}
        rows.append((style, {k: (scores[k][0], hits[k] / max(1, len(v)), hits[k] / len(truth), scores[k][2])
                             for k, v in found.items()}))
    print(f"\nbass stems (the {len(rows)} band mixes' bass parts alone), onset F1 / precision / recall / octave "
          "errors\n")
    print("| stem | transcribe | unchecked | reference |\n|---|---|---|---|")
    cell = lambda r: f"{r[0]:.3f} / {r[1]:.2f} / {r[2]:.2f} / {r[3]}"  # noqa: E731
    for style, r in rows:
        print(f"| {style} | {cell(r['transcribe'])} | {cell(r['unchecked'])} | {cell(r['reference'])} |")
    mean = {k: tuple(statistics.mean(r[k][i] for _, r in rows) for i in range(3)) + (sum(r[k][3] for _, r in rows),)
            for k in ("transcribe", "unchecked", "reference")}
    print(f"| all | {cell(mean['transcribe'])} | {cell(mean['unchecked'])} | {cell(mean['reference'])} |")
    return {"stems_f1": mean["transcribe"][0], "stems_reference": mean["reference"][0],
            "stems_octave": mean["transcribe"][3], "stems_octave_reference": mean["reference"][3]}


def melody_report(net, device, reference, tmp: Path) -> float:
    """Lone melodies: the 32 Essen tunes of the audio bench (audio_bench.rendered_melodies: six GM instruments,
    70-150 BPM); onset F1 of transcribe's default, its melody mode (split notes judged by the trained classifier,
    engines/line_reattacks; notes started at the attacks decode cut short), melody mode without those attacks (as
    before 2026-12-05), with the fixed merge rule and with reattacks=keep, and the reference. -> melody mode's mean."""
    from audio_bench import rendered_melodies

    from liveloom.engines import audio_analysis as aa
    from liveloom.engines import transcription as tr

    rows: dict[str, list[tuple[float, ...]]] = {}
    for path, _, bpm, instrument, notes in rendered_melodies(tmp):
        truth = [(n.pitch, n.start * 60 / bpm, n.end * 60 / bpm) for n in notes]
        y, _ = aa.load(path, 1200)
        out = tr.infer(y, net, device)
        cut: list = []
        events = tr.decode(out, cut_short=cut)
        scores = [f1(truth, [(e.start, e.end, e.pitch) for e in found])[0]
                  for found in (tr.shaped(events, out, cut_short=cut),
                                tr.shaped(events, out, melody=True, audio=y, cut_short=cut),
                                tr.shaped(events, out, melody=True, audio=y),
                                tr.shaped(events, out, melody=True, cut_short=cut),
                                tr.shaped(events, out, melody=True, reattacks="keep", cut_short=cut))]
        rows.setdefault(instrument, []).append(tuple(scores) + (f1(truth, reference(path))[0],))
    print(f"\nlone melodies ({sum(len(v) for v in rows.values())} Essen tunes, 70-150 BPM), onset F1\n")
    print("| instrument | tunes | transcribe (default) | melody: true | melody, no cut attacks | "
          "melody, fixed merge rule | melody, reattacks=keep | reference |")
    print("|---|---|---|---|---|---|---|---|")
    for inst, rs in [*rows.items(), ("all", [r for rs in rows.values() for r in rs])]:
        print(f"| {inst} | {len(rs)} | " + " | ".join(f"{statistics.mean(r[k] for r in rs):.3f}" for k in range(6))
              + " |")
    return statistics.mean(r[1] for rs in rows.values() for r in rs)


def sf_seconds(path: Path) -> float:
    import soundfile as sf

    info = sf.info(str(path))
    return info.frames / info.samplerate


NAMES = {"fp32": "decoder fp32", "bf16": "decoder bf16", "tool": "transcribe", "keep": "transcribe reattacks=keep",
         "ref": "reference"}
LONG = {"fp32": "liveloom (PyTorch, float32, batched windows; the default)",
        "bf16": "liveloom (PyTorch, bfloat16 convolutions, batched windows)",
        "tool": "transcribe's default (fp32; split held notes joined, slow attacks started where they begin, octave "
                "ghosts dropped)",
        "keep": "transcribe with reattacks=keep (slow attacks moved, split notes left apart, octave ghosts dropped)",
        "ref": "basic-pitch predict() (ONNX Runtime)"}


def report(rows, cold, loads, device, threads, names) -> None:
    heads = " / ".join(NAMES[k] for k in names)
    print(f"transcription, {len(rows)} files · {platform.machine()}, {threads} threads, "
          f"{'GPU' if device == 'cuda' else 'CPU'} · liveloom (PyTorch) vs basic-pitch 0.4.0 (ONNX Runtime)\n")
    print(f"| group | files | note F1 onset: {heads} | with offsets: {heads} |")
    print("|---|---|---|---|")

    def line(label, sel):
        if not sel:
            return
        m = lambda k, i: statistics.mean(r[k][i] for r in sel)  # noqa: E731
        on = " / ".join(f"{m(k, 0):.3f}" for k in names)
        off = " / ".join(f"{m(k, 1):.3f}" for k in names)
        print(f"| {label} | {len(sel)} | {on} | {off} |")

    line("all", rows)
    for inst in INSTRUMENTS:
        line(inst, [r for r in rows if r["inst"] == inst])
    for poly in sorted({r["poly"] for r in rows}):
        line(f"polyphony {poly}", [r for r in rows if r["poly"] == poly])
    line("dry, clean", [r for r in rows if not r["wet"]])
    line("reverb + noise (20 dB SNR)", [r for r in rows if r["wet"]])
    m4 = lambda k, i: statistics.mean(r[k][i] for r in rows)  # noqa: E731
    print("\nall files, four decimals: onset F1 " + " / ".join(f"{m4(k, 0):.4f}" for k in names)
          + "; with offsets " + " / ".join(f"{m4(k, 1):.4f}" for k in names))
    for k in names[:-1]:
        same = sum(1 for r in rows if r[k + "_notes"] == r["ref_notes"])
        print(f"identical note lists, {NAMES[k]} vs reference: {same} of {len(rows)} files")
    warm = rows[1:]
    for k in names:
        speeds = [r[k][2] for r in warm]
        ratio = [r[k][2] / r["ref"][2] for r in warm]
        versus = "" if k == "ref" else (f"; per file {statistics.median(ratio):.2f}x the reference "
                                        f"({min(ratio):.2f}–{max(ratio):.2f})")
        print(f"speed, {LONG[k]}: {statistics.median(speeds):.0f}x real time "
              f"(range {min(speeds):.0f}–{max(speeds):.0f}x){versus}")
    print("cold (model load + first file): " + "; ".join(f"{NAMES[k]} {loads[k]:.2f} s + {cold[k]:.2f} s"
                                                          for k in names))


if __name__ == "__main__":
    main()
