"""Cache pieces from music21's bundled corpus as plain notes, for the analysis benchmarks.

    .venv/bin/python bench/corpus_cache.py [--essen 600]

Scores are read by the model's corpus parser (`liveloom.models.corpus`: parts, pickups padded so that bar
lines fall where written, ABC files split per tune), so the benchmarks and the model see the same notes.
Writes bench/out/corpus_<set>.jsonl (one piece per line: notes as [pitch, start, duration] in beats,
the key signature's sharps, the final bass note, the bars as [start, length], each part's notes top part
first, and the name). Resumable: pieces already cached are
skipped. Parsing takes minutes; nothing here is downloaded — the corpus ships inside music21.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from liveloom.models.corpus import parse_job, split_abc

OUT = Path(__file__).resolve().parent / "out"


def bench_record(rec: dict | None, name: str) -> dict | None:
    """The analysis benchmarks' view of a parsed score: every part's notes, its key signature and final bass."""
    if rec is None or rec.get("sharps") is None:
        return None
    notes = sorted(([p, s, d] for part in rec["parts"] for p, s, d in part["notes"]), key=lambda n: (n[1], n[0]))
    if len(notes) < 8:
        return None
    end = max(n[1] for n in notes)
    final = [n for n in notes if n[1] == end]
    return {"name": name, "notes": notes, "sharps": rec["sharps"], "final_bass": min(n[0] for n in final),
            "bars": rec.get("bars"), "parts": [p["notes"] for p in rec["parts"]]}


def cache(set_name: str, jobs, limit: int | None = None) -> None:
    OUT.mkdir(exist_ok=True)
    out = OUT / f"corpus_{set_name}.jsonl"
    done = set()
    if out.exists():
        done = {json.loads(line)["name"] for line in out.read_text().splitlines() if line.strip()}
    n_new, t0 = 0, time.time()
    with out.open("a") as f:
        for name, job in jobs:
            if limit is not None and len(done) >= limit:
                break
            if name in done:
                continue
            _, rec, err = parse_job(job)
            if err:  # a piece music21 cannot read is skipped, and said
                print(f"skip {name}: {err}", file=sys.stderr)
            rec = bench_record(rec, name)
            if rec:
                f.write(json.dumps(rec) + "\n")
                f.flush()
                done.add(name)
                n_new += 1
    print(f"{set_name}: {len(done)} pieces cached ({n_new} new, {time.time() - t0:.0f} s)", file=sys.stderr)


def chorales():
    from music21 import corpus

    for path in sorted(corpus.getComposer("bach")):
        stem = Path(str(path)).stem
        if stem.startswith("bwv"):
            yield stem, (str(path), None)


def essen(limit: int):
    """Each tune on its own (music21's opus import can attach one tune's key signature to another's notes)."""
    from music21 import corpus

    count = 0
    for path in sorted(str(p) for p in corpus.getPaths() if "essenFolksong" in str(p)):
        for i in range(len(split_abc(Path(path).read_text(encoding="latin-1")))):
            yield f"{Path(path).stem}#{i}", (path, i)
            count += 1
            if count >= limit:
                return


def romantext() -> None:
    """The corpus's 68 RomanText analyses (20 Bach chorales, 48 Monteverdi madrigals) with their scores'
    notes: each analysed span's root and triad quality, for the chord benchmark."""
    import os

    from music21 import converter, corpus, roman

    OUT.mkdir(exist_ok=True)
    out = OUT / "romantext.jsonl"
    if out.exists():
        print(f"romantext: {len(out.read_text().splitlines())} analyses cached", file=sys.stderr)
        return
    base = Path(corpus.__file__).resolve().parent
    records = []
    for path in sorted(str(p) for p in corpus.getPaths() if str(p).endswith(".rntxt")):
        name = Path(path).stem
        try:
            analysis = converter.parse(path)
            if "riemenschneider" in name:
                number = int(name.replace("riemenschneider", ""))
                score = next(iter(corpus.chorales.Iterator(number, number, numberingSystem="riemenschneider",
                                                            returnType="stream")))
            else:
                mxl = base / "monteverdi" / f"{name}.mxl"
                if not os.path.exists(mxl):
                    continue
                score = converter.parse(mxl)
        except Exception as exc:
            print(f"skip {name}: {exc}", file=sys.stderr)
            continue
        # two of the corpus's chorale scores (Riemenschneider 14 and 17) are another edition's transposition of the
        # analysed chorale: where the score's estimated key has the analysis's mode but another tonic, the
        # analysis is moved to it. Chorales only: a key signature says nothing here (Bach writes minor keys with
        # Dorian signatures) and the madrigals are modal, where a key estimate is no evidence of a transposition.
        first = next(iter(analysis.flatten().getElementsByClass(roman.RomanNumeral)), None)
        transpose = 0
        if "riemenschneider" in name and first is not None and first.key is not None:
            score_key = score.analyze("key")
            if score_key.mode == first.key.mode:
                transpose = (score_key.tonic.pitchClass - first.key.tonic.pitchClass) % 12
        spans = []
        for rn in analysis.flatten().getElementsByClass(roman.RomanNumeral):
            if rn.quality in ("major", "minor", "diminished", "augmented") and rn.quarterLength > 0:
                spans.append([float(rn.offset), float(rn.quarterLength), (rn.root().pitchClass + transpose) % 12,
                              rn.quality, sorted({(pc + transpose) % 12 for pc in rn.pitchClasses})])
        notes = []
        for el in score.stripTies().flatten().notes:
            for p in (el.pitches if el.isChord else [el.pitch]):
                notes.append([int(p.midi), float(el.offset), float(el.quarterLength)])
        records.append({"name": name, "spans": spans, "notes": notes, "transposed": transpose})
    out.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    print(f"romantext: {len(records)} analyses cached", file=sys.stderr)


def heldout_chorales() -> None:
    """The Bach chorales in 4/4 with four parts that the model never trained on (its validation and test splits):
    each part's notes (bar lines where written: a pickup is padded to a full bar), the fermatas' beats in the
    soprano, and music21's key — for the harmonization cadence measures in bench/musicality.py."""
    import hashlib

    from music21 import corpus, expressions

    from liveloom.models.data import split_of

    OUT.mkdir(exist_ok=True)
    out = OUT / "chorales_heldout.jsonl"
    if out.exists():
        print(f"held-out chorales: {len(out.read_text().splitlines())} cached", file=sys.stderr)
        return
    records = []
    for path in sorted(corpus.getComposer("bach")):
        name = Path(str(path)).name
        if not name.startswith("bwv") or split_of(hashlib.sha1(name.encode()).hexdigest()[:12]) == "train":
            continue
        score = corpus.parse(path)
        signatures = list(score.recurse().getElementsByClass("TimeSignature"))
        if len(score.parts) != 4 or not signatures or signatures[0].ratioString != "4/4":
            continue
        first = score.parts[0].getElementsByClass("Measure")[0].duration.quarterLength
        shift = (4.0 - float(first)) % 4.0
        parts, fermatas = [], []
        for i, part in enumerate(score.parts):
            notes = []
            for n in part.stripTies().flatten().notes:
                if n.isChord:
                    continue
                notes.append([int(n.pitch.midi), float(n.offset) + shift, float(n.quarterLength)])
                if i == 0 and any(isinstance(e, expressions.Fermata) for e in n.expressions):
                    fermatas.append(float(n.offset) + shift)
            parts.append(notes)
        k = score.analyze("key")
        records.append({"name": name, "parts": parts, "fermatas": fermatas,
                        "key": f"{k.tonic.name.replace('-', 'b')} {k.mode}"})
    out.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    print(f"held-out chorales: {len(records)} cached", file=sys.stderr)


MODE_WORDS = {"dor": "dorian", "mix": "mixolydian", "phr": "phrygian", "lyd": "lydian"}


def modal_tunes(limit: int = 48) -> None:
    """Tunes of music21's ABC collections whose key line names a mode (K:A Dorian, K:G Mixolydian): the notes,
    the tonic and the mode as written — the truth for the mode measures (analysis_bench.py). Half dorian,
    half mixolydian, plus the few phrygian and lydian ones, up to `limit`."""
    import re

    from music21 import corpus

    from liveloom.music.theory import parse_pitch_class

    OUT.mkdir(exist_ok=True)
    out = OUT / "modal.jsonl"
    if out.exists():
        print(f"modal tunes: {len(out.read_text().splitlines())} cached", file=sys.stderr)
        return
    found: dict[str, list] = {m: [] for m in MODE_WORDS.values()}
    for path in sorted(str(p) for p in corpus.getPaths() if str(p).endswith(".abc")):
        tunes = split_abc(Path(path).read_text(encoding="latin-1"))
        for i, text in enumerate(tunes):
            m = re.search(r"(?m)^K:\s*([A-G][b#]?)\s*(dor|mix|phr|lyd)", text, re.I)
            if not m:
                continue
            mode = MODE_WORDS[m.group(2).lower()]
            if len(found[mode]) >= limit // 2:
                continue
            _, rec, err = parse_job((path, i))
            if err or rec is None:
                continue
            notes = rec["parts"][0]["notes"]
            if len(notes) >= 16:
                found[mode].append({"name": f"{Path(path).stem}#{i}", "tonic": parse_pitch_class(m.group(1)),
                                    "mode": mode, "notes": notes, "bars": rec["bars"]})
    records = [r for rs in found.values() for r in rs]
    out.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    print(f"modal tunes: {len(records)} cached ({', '.join(f'{k} {len(v)}' for k, v in found.items())})",
          file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--essen", type=int, default=600, help="how many Essen folk songs")
    args = parser.parse_args()
    cache("chorales", chorales())
    cache("essen", essen(args.essen), limit=args.essen)
    romantext()
    heldout_chorales()
    modal_tunes()


if __name__ == "__main__":
    main()
