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
    parser.add_argument("--check", action="store_true", help="exit 1 when a figure the docs claim regresses")
    args = parser.parse_args()
    from claims import require_defaults

    require_defaults(parser, args, ['songs'])
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
    if args.check:
        sys.exit(_check(rows))


# published: strong-beat chord-tone share (mean) per style, one chord per bar / per half bar
PUBLISHED = {("pop", "bar"): 0.874, ("pop", "half bar"): 0.975, ("jazz", "bar"): 0.970, ("jazz", "half bar"): 0.998,
             ("modal_interchange", "bar"): 0.882, ("modal_interchange", "half bar"): 0.992,
             ("chorale", "bar"): 0.877, ("chorale", "half bar"): 0.975}


def _check(rows) -> int:
    from claims import Claim, report

    claims = [Claim(f"{style} per {per}: chord-tone share (published {PUBLISHED[style, per]:.3f})", mean,
                    PUBLISHED[style, per] - 0.02) for style, per, mean, *_ in rows if (style, per) in PUBLISHED]
    claims.append(Claim("melody kept, share of styles (published all)", sum(r[5] for r in rows) / len(rows), 1.0))
    claims.append(Claim("slowest ms per melody (published 7.4; 2x room)", max(r[4] for r in rows) * 1000, 15.0,
                        False))
    return report(claims)


if __name__ == "__main__":
    main()
