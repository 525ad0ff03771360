"""music21's bundled corpus, parsed once into plain per-part notes and cached.

    python -m liveloom.models.corpus [--cache DIR] [--workers 2]

Each work becomes one JSON line: its collection (the style label the model is conditioned on), the
file and tune it came from, its bars (start and length in quarter notes, pickups padded to a full
bar) and, per part from the top of the score down, notes as [pitch, start, duration] in quarter
notes. Ties are joined, grace notes and rests are dropped. Parsing the whole corpus takes about
35 CPU-minutes; it is resumable (finished files are skipped) and runs in worker processes. Nothing
is downloaded: every file ships inside music21 (see models/DATA_CARD.md for sources and licences).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import time
from pathlib import Path

DEFAULT_CACHE = Path(os.environ.get("LIVELOOM_CORPUS_CACHE", Path.home() / ".cache" / "liveloom" / "corpus"))

# music21 corpus folder -> style label. Folders not listed are "other".
COLLECTIONS: dict[str, str] = {
    "bach": "chorale",
    "palestrina": "palestrina",
    "josquin": "renaissance",
    "lusitano": "renaissance",
    "monteverdi": "renaissance",
    "trecento": "medieval",
    "ciconia": "medieval",
    "luca": "medieval",
    "essenFolksong": "essen",
    "miscFolk": "essen",
    "oneills1850": "irish",
    "ryansMammoth": "irish",
    "airdsAirs": "irish",
    "nottingham-dataset": "irish",
    "beethoven": "quartet",
    "haydn": "quartet",
    "mozart": "quartet",
}
STYLES = ("chorale", "palestrina", "renaissance", "medieval", "essen", "irish", "quartet", "other")


def collection_of(path: str) -> tuple[str, str]:
    parts = Path(path).parts
    folder = parts[parts.index("corpus") + 1] if "corpus" in parts else "other"
    return folder, COLLECTIONS.get(folder, "other")


def split_abc(text: str) -> list[str]:
    """An ABC file's tunes, each with the file header (before the first X:) in front of it."""
    pieces = re.split(r"(?m)^(?=X:)", text)
    header = pieces[0] if pieces and not pieces[0].startswith("X:") else ""
    return [header + p for p in pieces if p.startswith("X:")]


def jobs() -> list[tuple[str, int | None]]:
    """(path, tune index or None) for every score in the corpus; ABC files are split per tune, since
    music21's opus import can attach one tune's key signature to another's notes."""
    from music21 import corpus

    out: list[tuple[str, int | None]] = []
    for p in sorted(str(p) for p in corpus.getPaths()):
        if p.endswith(".rntxt"):
            continue  # analyses, not scores
        if p.endswith(".abc"):
            text = Path(p).read_text(encoding="latin-1")
            out.extend((p, i) for i in range(len(split_abc(text))))
        else:
            out.append((p, None))
    return out


def _bars(part, end: float) -> list[list[float]]:
    """[start, length] of each bar in quarter notes, the pickup padded so that bar lines fall at
    the starts of bars as written."""
    from music21 import stream

    measures = list(part.getElementsByClass(stream.Measure))
    bars: list[list[float]] = []
    shift = 0.0
    if measures:
        first = measures[0]
        shift = float(first.paddingLeft or 0.0)
        for m in measures:
            ts = m.timeSignature or m.getContextByClass("TimeSignature")
            length = float(ts.barDuration.quarterLength) if ts is not None else float(m.barDuration.quarterLength)
            start = float(m.offset) + shift if m is not first else 0.0
            if bars and start < bars[-1][0] + 1e-6:
                continue
            bars.append([round(start, 4), round(length, 4)])
    if not bars:
        bars = [[0.0, 4.0]]
    while bars[-1][0] + bars[-1][1] < end - 1e-6:  # notes past the last measure (scores without measures)
        bars.append([bars[-1][0] + bars[-1][1], bars[-1][1]])
    return bars, shift


def score_record(score, path: str, tune: int | None) -> dict | None:
    from music21 import key, metadata, tempo

    folder, style = collection_of(path)
    parts = list(score.parts) if hasattr(score, "parts") and len(score.parts) else [score]
    part_notes = []
    for part in parts:
        notes = []
        for el in part.stripTies().flatten().notes:
            dur = float(el.quarterLength)
            if dur <= 0 or el.duration.isGrace:
                continue
            for p in (el.pitches if el.isChord else [el.pitch]):
                notes.append([int(p.midi), round(float(el.offset), 4), round(dur, 4)])
        if notes:
            notes.sort(key=lambda n: (n[1], -n[0]))
            part_notes.append({"name": str(part.partName or ""), "notes": notes})
    if not part_notes or sum(len(p["notes"]) for p in part_notes) < 8:
        return None
    end = max(n[1] + n[2] for p in part_notes for n in p["notes"])
    bars, shift = _bars(parts[0], end + 0.0)
    if shift:
        for p in part_notes:
            for n in p["notes"]:
                n[1] = round(n[1] + shift, 4)
        end += shift
        while bars[-1][0] + bars[-1][1] < end - 1e-6:
            bars.append([bars[-1][0] + bars[-1][1], bars[-1][1]])
    # top part first: order by mean pitch, highest first (scores list parts top-down, but not all do)
    part_notes.sort(key=lambda p: -sum(n[0] for n in p["notes"]) / len(p["notes"]))
    marks = list(score.recurse().getElementsByClass(tempo.MetronomeMark))
    bpm = None
    for m in marks:
        try:
            bpm = float(m.getQuarterBPM())
            break
        except Exception:
            continue
    title = ""
    md = score.metadata if isinstance(getattr(score, "metadata", None), metadata.Metadata) else None
    if md is not None:
        title = str(md.title or "")
    signatures = list(score.recurse().getElementsByClass(key.KeySignature))
    name = Path(path).name + (f"#{tune}" if tune is not None else "")
    work = hashlib.sha1(name.encode()).hexdigest()[:12]
    return {"name": name, "work": work, "folder": folder, "style": style, "title": title,
            "bars": bars, "bpm": bpm, "sharps": int(signatures[0].sharps) if signatures else None,
            "parts": part_notes}


def parse_job(job: tuple[str, int | None]) -> tuple[tuple[str, int | None], dict | None, str | None]:
    from music21 import converter

    path, tune = job
    try:
        if tune is None:
            score = converter.parse(path)
        else:
            text = split_abc(Path(path).read_text(encoding="latin-1"))[tune]
            score = converter.parse(text, format="abc")
        return job, score_record(score, path, tune), None
    except Exception as exc:  # a score music21 cannot read is skipped and reported
        return job, None, f"{type(exc).__name__}: {exc}"


def build(cache: Path = DEFAULT_CACHE, workers: int = 2, limit: int | None = None) -> Path:
    """Parse every corpus score not yet cached into cache/works.jsonl; return that path."""
    import multiprocessing as mp

    cache.mkdir(parents=True, exist_ok=True)
    out = cache / "works.jsonl"
    done_file = cache / "done.txt"  # jobs finished, including those that gave no record
    done = set(done_file.read_text().splitlines()) if done_file.exists() else set()
    todo = [j for j in jobs() if f"{j[0]}|{j[1]}" not in done]
    if limit is not None:
        todo = todo[:limit]
    print(f"corpus: {len(done)} jobs done, {len(todo)} to parse with {workers} workers", file=sys.stderr)
    t0 = time.time()
    with mp.get_context("spawn").Pool(workers, maxtasksperchild=200) as pool, out.open("a") as f, \
            done_file.open("a") as d:
        for i, (job, rec, err) in enumerate(pool.imap_unordered(parse_job, todo, chunksize=4), 1):
            if rec is not None:
                f.write(json.dumps(rec, separators=(",", ":")) + "\n")
            if err:
                print(f"skip {job}: {err}", file=sys.stderr)
            d.write(f"{job[0]}|{job[1]}\n")
            if i % 200 == 0:
                f.flush()
                d.flush()
                rate = i / (time.time() - t0)
                print(f"  {i}/{len(todo)} ({rate:.1f}/s, ~{(len(todo) - i) / rate / 60:.0f} min left)", file=sys.stderr)
    return out


def load_works(cache: Path = DEFAULT_CACHE) -> list[dict]:
    path = cache / "works.jsonl"
    if not path.exists():
        raise FileNotFoundError(f"no parsed corpus at {path}; run: python -m liveloom.models.corpus --cache {cache}")
    works, seen = [], set()
    for line in path.read_text().splitlines():
        if line.strip():
            rec = json.loads(line)
            if rec["name"] not in seen:
                seen.add(rec["name"])
                works.append(rec)
    return works


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None, help="parse at most this many scores (a quick check)")
    args = parser.parse_args()
    out = build(args.cache, args.workers, args.limit)
    works = load_works(args.cache)
    print(f"{len(works)} works cached in {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
