"""analyze_audio on rendered corpus pieces with exact ground truth.

    .venv/bin/python bench/corpus_cache.py     # once
    .venv/bin/python bench/audio_bench.py [--pieces 24] [--check]

Bach chorales from music21's corpus are rendered with FluidSynth (FluidR3 GM piano and strings) at
random tempi 60-160 BPM; the truth is the tempo, the quarter-note beat grid, and the key (key
signature + final bass, as in analysis_bench.py). Scores: tempo Acc1 (within 4 %) and Acc2 (also
×2, ×3, ×½, ×⅓), beat F-measure (mir_eval, ±70 ms), key exact and MIREX-weighted; speed in × real
time (median and range), and the first call (numba compiles) separately.

Lone melodies: 32 Essen folk tunes (8 each in 3/4, 4/4, 2/4 and 6/8, from music21's ABC files, their M: line
the truth) rendered through six GM instruments at random tempi 70-150 quarter notes a minute. Scores: tempo
Acc1 (quarter-note BPM within 4 %) and meter (2/4 counts as 4/4); analyze_audio as the tool runs it (a line
without bass gets its pulse and meter from its transcribed notes) beside the beat tracker alone, in one run.
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


def essen_melodies(per_meter: int = 8, seed: int = 3) -> list[tuple[str, list[Note]]]:
    """(meter, notes in quarter beats) of Essen tunes from music21's ABC files, `per_meter` each of 3/4, 4/4, 2/4
    and 6/8, picked at random with `seed`; chords and tunes of under 16 notes skipped."""
    import re

    from music21 import converter, corpus

    from liveloom.models.corpus import split_abc

    tunes: dict[str, list[str]] = {}
    for p in sorted(str(p) for p in corpus.getPaths() if "essenFolksong" in str(p)):
        for text in split_abc(Path(p).read_text(encoding="latin-1")):
            m = re.search(r"(?m)^M:\s*(\d+/\d+)", text)
            if m and m.group(1) in ("3/4", "4/4", "2/4", "6/8"):
                tunes.setdefault(m.group(1), []).append(text)
    rng = random.Random(seed)
    out = []
    for meter in ("3/4", "4/4", "2/4", "6/8"):
        texts = tunes[meter][:]
        rng.shuffle(texts)
        kept = 0
        for text in texts:
            if kept == per_meter:
                break
            try:
                score = converter.parse(text, format="abc")
            except Exception:  # noqa: BLE001 - a tune music21 cannot read is skipped
                continue
            notes = [Note(pitch=n.pitch.midi, start=float(n.offset), duration=max(0.1, float(n.quarterLength)),
                          velocity=90) for n in score.flatten().notes if not n.isChord]
            if len(notes) >= 16:
                first = min(n.start for n in notes)
                out.append((meter, [n.model_copy(update={"start": n.start - first}) for n in notes]))
                kept += 1
    return out


def tool_notes_of():
    """What analyze_audio passes the engine: basic-pitch's notes, for lines without bass."""
    from liveloom.engines import transcription as tr
    from liveloom.models.hub import ModelHub

    hub = ModelHub()
    return lambda samples, job: tr.transcribe_audio(hub, samples, tr.SR, detect_tempo=False, job=job).events


MELODY_PROGRAMS = {73: "flute", 0: "piano", 81: "saw lead", 24: "nylon guitar", 40: "violin", 71: "clarinet"}


def rendered_melodies(tmp: Path):
    """The Essen melodies rendered, one GM instrument each in turn, at random tempi 70-150 (seed 5):
    yields (path, meter, bpm, instrument name, notes in quarter beats). The transcription bench uses them too."""
    rng = random.Random(5)
    programs = list(MELODY_PROGRAMS)
    for i, (meter, notes) in enumerate(essen_melodies()):
        bpm = round(rng.uniform(70, 150), 1)
        program = programs[i % len(programs)]
        clip = Clip(notes=notes, length=max(n.end for n in notes) + 1, instrument=program)
        song = Song(name=f"essen {i}", tempo=bpm, tracks=[Track(name="melody", instrument=program,
                                                               clips=[PlacedClip(clip=clip)])])
        path = tmp / f"melody{i}.wav"
        path.write_bytes(asyncio.run(render_midi(song_to_midi(song).data)))
        yield path, meter, bpm, MELODY_PROGRAMS[program], notes


def melody_rows(tmp: Path, notes_of) -> list[dict]:
    """Each Essen melody rendered and analysed twice: as analyze_audio runs (notes for lines) and beat tracker
    alone."""
    rows = []
    for path, meter, bpm, _, _ in rendered_melodies(tmp):
        y, _ = load_audio(path, 3600)
        want = {"2/4": "4/4"}.get(meter, meter)
        row = {"meter": meter}
        for system, fn in (("liveloom", notes_of), ("tracker", None)):
            result = analyze(y, notes_of=fn)
            row[system + " acc1"] = abs(result["tempo"] - bpm) / bpm <= 0.04
            row[system + " meter"] = result["meter"] == want
        rows.append(row)
    return rows


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
    notes_of = tool_notes_of()
    with tempfile.TemporaryDirectory() as tmp:
        melodies = melody_rows(Path(tmp), notes_of)
        for i, rec in enumerate(picks):
            bpm = round(rng.uniform(60, 160), 1)
            program = 0 if i % 2 == 0 else 48  # piano, strings
            song = song_of(rec, bpm, program)
            wav = asyncio.run(render_midi(song_to_midi(song).data))
            path = Path(tmp) / f"{i}.wav"
            path.write_bytes(wav)
            t0 = time.perf_counter()
            y, info = load_audio(path, 3600)
            result = analyze(y, notes_of=notes_of)
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
            rows.append({"from_notes": result["tempo_source"] == "notes", "acc1": acc1, "acc2": acc2, "f": f, "key": est_key == rec["truth"],
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
    print(f"| chorales whose tempo came from their notes (no bass below 200 Hz to hear) | "
          f"{sum(r['from_notes'] for r in rows)} of {len(rows)} |")
    print(f"\nLone melodies: {len(melodies)} Essen tunes, 70-150 BPM, six GM instruments\n")
    print("| system | tempo Acc1 | meter | 3/4 | 4/4 | 2/4 (as 4/4) | 6/8 |")
    print("|---|---|---|---|---|---|---|")
    for system, label in (("liveloom", "analyze_audio (notes for lines)"), ("tracker", "beat tracker alone")):
        by = {m: [r for r in melodies if r["meter"] == m] for m in ("3/4", "4/4", "2/4", "6/8")}
        cells = " | ".join(f"{sum(r[system + ' meter'] for r in rs)}/{len(rs)}" for rs in by.values())
        print(f"| {label} | {sum(r[system + ' acc1'] for r in melodies)}/{len(melodies)} | "
              f"{sum(r[system + ' meter'] for r in melodies)}/{len(melodies)} | {cells} |")
    if args.check:
        from claims import Claim, report

        mean = lambda k: statistics.mean(r[k] for r in rows)  # noqa: E731
        sys.exit(report([
            Claim("tempo Acc2 (published 100 %)", mean("acc2"), 0.91),
            Claim("tempo Acc1 (published 95.8 %)", mean("acc1"), 0.83),
            Claim("beat F-measure (published 0.831)", mean("f"), 0.78),
            Claim("key exact (published 87.5 %)", mean("key"), 0.79),
            Claim("speed, warm, x real time (published 67; 2x room)", statistics.median(warm), 33.0),
            Claim("melodies: tempo Acc1 (published 22/32)", statistics.mean(r["liveloom acc1"] for r in melodies), 0.62),
            Claim("melodies: meter (published 21/32)", statistics.mean(r["liveloom meter"] for r in melodies), 0.59),
        ]))


if __name__ == "__main__":
    main()
