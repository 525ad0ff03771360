"""Tunes whose ABC key line names their key or mode, as plain notes: the data the mode classifier trains on.

    .venv/bin/python bench/mode_data.py [--workers 2]

Every single-line tune of music21's Irish and British collections (O'Neill's 1850, Ryan's Mammoth, Aird's Airs,
miscellaneous folk) with a key line, and 2,000 tunes of the Essen collection after the first 1,000 (the analysis
benchmark reads the first 600) — their key line names the final, so the truth there is the benchmark's: the
final as tonic, major or minor by its longer third. Each: its notes as [pitch, start, duration] in quarter notes, its bars as
[start, length], and the tonic and mode the key line names (K:A Dorian, K:G Mix, K:Em, K:D). Aird's books 1-3 are
left out: the analysis benchmark's modal tunes come from them (bench/corpus_cache.py). Writes
bench/out/mode_tunes.jsonl; resumable. Nothing is downloaded: the corpus ships inside music21.
"""

from __future__ import annotations

import argparse
import bisect
import collections
import json
import multiprocessing as mp
import re
import sys
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out" / "mode_tunes.jsonl"
COLLECTIONS = ("oneills1850", "ryansMammoth", "airdsAirs", "miscFolk")
ESSEN = (1000, 3000)  # which Essen tunes, in the benchmark's order (it reads the first 600)
HELD_OUT = ("airdsAirs/book1.abc", "airdsAirs/book2.abc", "airdsAirs/book3.abc")  # the benchmark's source
MODE_WORDS = {"": "major", "maj": "major", "ion": "major", "m": "minor", "min": "minor", "aeo": "minor",
              "dor": "dorian", "mix": "mixolydian", "phr": "phrygian", "lyd": "lydian"}
KEY_LINE = re.compile(r"(?m)^K:[ \t]*([A-G][b#]?)[ \t]*([A-Za-z]*)")


def bar_length(bars: list[list[float]] | None) -> float:
    """A tune's usual bar length in beats, from its bars as [start, length] (4 where none are known)."""
    return collections.Counter(round(b[1], 3) for b in bars or [[0, 4.0]]).most_common(1)[0][0]


def on_grid(notes: list[list[float]], bars: list[list[float]] | None) -> list[list[float]]:
    """The notes with every full bar starting on the grid of the usual bar length, as a player would play the tune
    into a clip. ABC's bars around repeat signs are often uneven (a first ending of 3 beats in 4/4 then a full
    bar at beat 3): music21 keeps them, so the bar lines after them drift off the grid. A full bar that starts
    off the grid moves on to the next grid line, with the pickup notes just before it (bars that start off the
    grid); everything after it moves the same way. Bars that start on the grid keep their place."""
    if not bars:
        return notes
    length = bar_length(bars)
    starts = [float(b[0]) for b in bars]
    shift = [0.0] * len(starts)
    total = 0.0
    for i, start in enumerate(starts):
        shift[i] = total
        end = starts[i + 1] if i + 1 < len(starts) else start + length
        off = (start + total) % length
        if end - start >= length - 1e-6 and 1e-6 < off < length - 1e-6:
            delta = length - off
            j = i - 1  # the pickup: the partial bars just before it that start off the grid
            while j >= 0 and starts[i] - starts[j] < length - 1e-6 and 1e-6 < (starts[j] + total) % length:
                shift[j] += delta
                j -= 1
            total += delta
            shift[i] = total
    out = []
    for p, s, d in notes:
        i = max(0, bisect.bisect_right(starts, s + 1e-6) - 1)
        out.append([p, s + shift[i], d])
    return out


def label(text: str) -> tuple[int, str] | None:
    """(tonic pitch class, mode) from a tune's first key line, or None where it names no key (K:none, K:HP)."""
    from liveloom.music.theory import parse_pitch_class

    m = KEY_LINE.search(text)
    if not m:
        return None
    word = m.group(2).lower()
    word = "m" if word == "m" else word[:3]
    if word not in MODE_WORDS:
        return None
    return parse_pitch_class(m.group(1)), MODE_WORDS[word]


def job(args: tuple[str, int]) -> dict | None:
    from liveloom.models.corpus import parse_job, split_abc

    path, i = args
    text = split_abc(Path(path).read_text(encoding="latin-1"))[i]
    essen = "essenFolksong" in path
    truth = (0, "major") if essen else label(text)
    if truth is None:
        return None
    _, rec, err = parse_job((path, i))
    if err or rec is None or len(rec["parts"]) != 1 or len(rec["parts"][0]["notes"]) < 16:
        return None
    notes = rec["parts"][0]["notes"]
    if max(sum(1 for m in notes if m[1] == n[1]) for n in notes) > 1:
        return None  # chords: a line only
    if essen:  # the final as tonic; minor where its minor third sounds longer than its major third
        end = max(n[1] for n in notes)
        tonic = min(n[0] for n in notes if n[1] == end) % 12
        third = {k: sum(n[2] for n in notes if (n[0] - tonic) % 12 == k) for k in (3, 4)}
        truth = (tonic, "minor" if third[3] > third[4] else "major")
    return {"name": f"{Path(path).parent.name}/{Path(path).stem}#{i}", "tonic": truth[0], "mode": truth[1],
            "notes": notes, "bars": rec["bars"]}


def main() -> None:
    from music21 import corpus

    from liveloom.models.corpus import split_abc

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    done = set()
    if OUT.exists():
        done = {json.loads(line)["job"] for line in OUT.read_text().splitlines() if line.strip()}
    todo = []
    essen = 0
    for path in sorted(str(p) for p in corpus.getPaths() if "essenFolksong" in str(p)):
        for i in range(len(split_abc(Path(path).read_text(encoding="latin-1")))):
            essen += 1
            if ESSEN[0] < essen <= ESSEN[1] and f"essenFolksong/{Path(path).name}#{i}" not in done:
                todo.append((path, i))
    for path in sorted(str(p) for p in corpus.getPaths() if str(p).endswith(".abc")):
        rel = f"{Path(path).parent.name}/{Path(path).name}"
        if Path(path).parent.name not in COLLECTIONS or rel in HELD_OUT:
            continue
        for i in range(len(split_abc(Path(path).read_text(encoding="latin-1")))):
            if f"{rel}#{i}" not in done:
                todo.append((path, i))
    print(f"mode tunes: {len(done)} done, {len(todo)} to parse", file=sys.stderr)
    t0 = time.time()
    OUT.parent.mkdir(exist_ok=True)
    with mp.get_context("spawn").Pool(args.workers, maxtasksperchild=200) as pool, OUT.open("a") as f:
        for k, (j, rec) in enumerate(zip(todo, pool.imap(job, todo, chunksize=4)), 1):
            rel = f"{Path(j[0]).parent.name}/{Path(j[0]).name}#{j[1]}"
            f.write(json.dumps({"job": rel, **(rec or {})}, separators=(",", ":")) + "\n")
            if k % 200 == 0:
                f.flush()
                print(f"  {k}/{len(todo)} ({k / (time.time() - t0):.1f}/s)", file=sys.stderr)
    print(f"mode tunes: done in {time.time() - t0:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
