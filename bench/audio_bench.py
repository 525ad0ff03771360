"""analyze_audio on rendered corpus pieces with exact ground truth.

    .venv/bin/python bench/corpus_cache.py     # once
    .venv/bin/python bench/audio_bench.py [--pieces 24] [--check]

Bach chorales from music21's corpus are rendered with FluidSynth (FluidR3 GM piano and strings) at
random tempi 60-160 BPM; the truth is the tempo, the quarter-note beat grid, and the key (key
signature + final bass, as in analysis_bench.py). Scores: tempo Acc1 (within 4 %) and Acc2 (also
×2, ×3, ×½, ×⅓), beat F-measure (mir_eval, ±70 ms), key exact and MIREX-weighted; speed in × real
time (median and range), and the first call (numba compiles) separately.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from analysis_bench import load, mirex  # noqa: E402

from liveloom.engines.audio_analysis import analyze  # noqa: E402
from liveloom.engines.audio_analysis import load as load_audio
from liveloom.engines.render import render_midi  # noqa: E402
from liveloom.music.midi_io import song_to_midi  # noqa: E402
from liveloom.music.types import Clip, Note, PlacedClip, Song, Track  # noqa: E402


def song_of(rec: dict, bpm: float, program: int) -> Song:
    notes = [Note(pitch=p, start=s, duration=max(d, 0.05), velocity=80) for p, s, d in rec["notes"]]
    length = max(n.end for n in notes) + 1
    clip = Clip(notes=notes, length=length, instrument=program)
    return Song(name=rec["name"], tempo=bpm, tracks=[Track(name="t", instrument=program,
                                                           clips=[PlacedClip(clip=clip)])])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pieces", type=int, default=24)
    parser.add_argument("--check", action="store_true", help="exit 1 when a figure the docs claim regresses")
    args = parser.parse_args()
    from claims import require_defaults

    require_defaults(parser, args, ['pieces'])
    import mir_eval
    import numpy as np

    rng = random.Random(7)
    chorales = load("chorales")
    picks = rng.sample(chorales, min(args.pieces, len(chorales)))
    rows = []
    cold = None
    with tempfile.TemporaryDirectory() as tmp:
        for i, rec in enumerate(picks):
            bpm = round(rng.uniform(60, 160), 1)
            program = 0 if i % 2 == 0 else 48  # piano, strings
            song = song_of(rec, bpm, program)
            wav = asyncio.run(render_midi(song_to_midi(song).data))
            path = Path(tmp) / f"{i}.wav"
            path.write_bytes(wav)
            t0 = time.perf_counter()
            y, info = load_audio(path, 3600)
            result = analyze(y)
            elapsed = time.perf_counter() - t0
            if cold is None:
                cold = elapsed
            n_beats = int(song.length)
            ref = np.array([k * 60.0 / bpm for k in range(n_beats)])
            est = np.array(result["beats"])
            f = mir_eval.beat.f_measure(mir_eval.beat.trim_beats(ref), mir_eval.beat.trim_beats(est))
            tempo = result["tempo"]
            acc1 = abs(tempo - bpm) / bpm <= 0.04
            acc2 = any(abs(tempo - bpm * m) / (bpm * m) <= 0.04 for m in (1, 2, 3, 0.5, 1 / 3))
            key = result["key"]["key"]
            tonic_name, mode = key.split()
            from liveloom.music.theory import parse_pitch_class

            est_key = (parse_pitch_class(tonic_name), mode == "minor")
            rows.append({"acc1": acc1, "acc2": acc2, "f": f, "key": est_key == rec["truth"],
                         "mirex": mirex(est_key, rec["truth"]), "rt": info["seconds"] / elapsed,
                         "seconds": info["seconds"]})
    warm = [r["rt"] for r in rows[1:]]
    print(f"analyze_audio on {len(rows)} Bach chorales rendered with FluidSynth (piano and strings, 60-160 BPM); "
          f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores, CPU only\n")
    print("| measure | value |")
    print("|---|---|")
    print(f"| tempo Acc1 (within 4 %) | {statistics.mean(r['acc1'] for r in rows):.1%} |")
    print(f"| tempo Acc2 (also ×2, ×3, ×½, ×⅓) | {statistics.mean(r['acc2'] for r in rows):.1%} |")
    print(f"| beat F-measure (±70 ms), mean | {statistics.mean(r['f'] for r in rows):.3f} |")
    print(f"| key exact | {statistics.mean(r['key'] for r in rows):.1%} |")
    print(f"| key MIREX-weighted | {statistics.mean(r['mirex'] for r in rows):.3f} |")
    print(f"| speed, warm: × real time, median (range) | {statistics.median(warm):.0f}× ({min(warm):.0f}–{max(warm):.0f}×) |")
    print(f"| first call (cold: numba compiles) | {cold:.1f} s for {rows[0]['seconds']:.0f} s of audio |")
    print(f"| audio analysed | {sum(r['seconds'] for r in rows) / 60:.1f} minutes |")
    if args.check:
        from claims import Claim, report

        mean = lambda k: statistics.mean(r[k] for r in rows)  # noqa: E731
        sys.exit(report([
            Claim("tempo Acc2 (published 100 %)", mean("acc2"), 0.95),
            Claim("tempo Acc1 (published 83.3 %)", mean("acc1"), 0.79),
            Claim("beat F-measure (published 0.804)", mean("f"), 0.78),
            Claim("key exact (published 83.3 %)", mean("key"), 0.79),
            Claim("speed, warm, x real time (published 156; 2x room)", statistics.median(warm), 78.0),
        ]))


if __name__ == "__main__":
    main()
