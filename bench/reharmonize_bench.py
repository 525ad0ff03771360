"""reharmonize on folk-song melodies from music21's corpus: how well the new chords fit, per style.

    .venv/bin/python bench/corpus_cache.py     # once
    .venv/bin/python bench/reharmonize_bench.py [--songs 200]

For each Essen melody (truth key as in analysis_bench.py) and each style: the share of strong-beat melody
time that is a chord tone, one chord per bar and per half bar; and a check that the melody came back note
for note (it must). Prints one table.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from analysis_bench import load  # noqa: E402

from liveloom.engines.reharmonize import STYLES, reharmonize  # noqa: E402
from liveloom.music.analysis import key_label  # noqa: E402
from liveloom.music.theory import parse_key  # noqa: E402
from liveloom.music.types import Note  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, default=200)
    args = parser.parse_args()
    songs = load("essen")[: args.songs]
    rows = []
    for style in STYLES:
        for per, span in (("bar", 4.0), ("half bar", 2.0)):
            fits, times, kept = [], [], True
            for rec in songs:
                melody = [Note(pitch=p, start=s, duration=max(d, 0.01)) for p, s, d in rec["notes"]]
                before = [n.model_copy() for n in melody]
                length = max(n.end for n in melody)
                key = parse_key(key_label(*rec["truth"]))
                t0 = time.perf_counter()
                result = reharmonize(melody, key, style, span, length)
                times.append(time.perf_counter() - t0)
                fits.append(result.strong_beat_fit)
                kept = kept and melody == before
            rows.append((style, per, statistics.mean(fits), statistics.median(fits), statistics.median(times), kept))
    print(f"reharmonize on {len(songs)} Essen folk melodies (4/4 spans as written) — {platform.system()} "
          f"{platform.machine()}, {os.cpu_count()} CPU cores, CPU only\n")
    print("| style | chord per | strong-beat chord-tone share, mean | median | ms per melody | melody kept |")
    print("|---|---|---|---|---|---|")
    for style, per, mean, median, t, kept in rows:
        print(f"| {style} | {per} | {mean:.3f} | {median:.3f} | {t * 1000:.1f} | {'yes' if kept else 'NO'} |")


if __name__ == "__main__":
    main()
