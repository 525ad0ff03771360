"""Evaluate a checkpoint and print the model card's tables.

    python -m liveloom.models.evaluate [--checkpoint DIR] [--per-style 100] [--constrained 200]

1. Held-out negative log-likelihood per token (test split, controls given) against smoothed n-gram
   baselines fitted on the same training split (the order chosen on the validation split).
2. MusPy-style descriptors of generated pieces per style next to held-out pieces of that style.
3. Harmonization of held-out chorale melodies (4 voices) next to Bach's own: voice ranges, parallel
   fifths/octaves, chord tones on strong beats.
4. Constraint satisfaction over random constrained requests (scale, range, polyphony, bars, fixed
   melody), checked note by note.
5. Speed: tokens per second and milliseconds per generated bar on this machine.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from . import tokenizer as T
from .corpus import DEFAULT_CACHE
from .generate import Constraints, load

SATB = {0: (60, 81), 1: (55, 74), 2: (48, 69), 3: (40, 62)}  # soprano, alto, tenor, bass (common textbook ranges)
EVAL_STYLES = ("chorale", "palestrina", "essen", "irish", "quartet")
MAJOR, MINOR = (0, 2, 4, 5, 7, 9, 11), (0, 2, 3, 5, 7, 8, 10, 11)  # minor with its raised 7th
CHORDS = {"maj": (0, 4, 7), "min": (0, 3, 7), "dim": (0, 3, 6), "7": (0, 4, 7, 10), "m7": (0, 3, 7, 10),
          "maj7": (0, 4, 7, 11), "m7b5": (0, 3, 6, 10), "dim7": (0, 3, 6, 9)}


# ------------------------------------------------------------------ musical checks


def _sounding(piece: T.Piece) -> list[tuple[int, int, int, int]]:
    """(voice, pitch, start tick, end tick)."""
    starts = [0]
    for b in piece.bar_ticks:
        starts.append(starts[-1] + b)
    return [(n.voice, n.pitch, starts[n.bar] + n.pos, starts[n.bar] + n.pos + n.dur) for n in piece.notes]


def max_polyphony(piece: T.Piece) -> int:
    notes = _sounding(piece)
    return max((sum(1 for _, _, s, e in notes if s <= t < e) for _, _, t, _ in notes), default=0)


def voice_range_share(piece: T.Piece) -> float:
    inside = [SATB[n.voice][0] <= n.pitch <= SATB[n.voice][1] for n in piece.notes if n.voice in SATB]
    return sum(inside) / max(1, len(inside))


def parallels(piece: T.Piece) -> tuple[int, int]:
    """(parallel fifths + octaves, voice-pair motions) between consecutive onsets where both voices move."""
    notes = _sounding(piece)
    onsets = sorted({s for _, _, s, _ in notes})
    voices = sorted({v for v, *_ in notes})

    def at(v: int, t: int) -> int | None:
        cand = [p for vv, p, s, e in notes if vv == v and s <= t < e]
        return max(cand) if cand else None

    grid = {v: [at(v, t) for t in onsets] for v in voices}
    bad = moves = 0
    for i, a in enumerate(voices):
        for b in voices[i + 1:]:
            for k in range(len(onsets) - 1):
                a1, a2, b1, b2 = grid[a][k], grid[a][k + 1], grid[b][k], grid[b][k + 1]
                if None in (a1, a2, b1, b2) or a1 == a2 or b1 == b2:
                    continue
                moves += 1
                i1, i2 = (a1 - b1) % 12, (a2 - b2) % 12
                if i1 == i2 and i1 in (0, 7) and (a2 - a1) * (b2 - b1) > 0:
                    bad += 1
    return bad, moves


def chord_tone_share(piece: T.Piece) -> float:
    """On each strong beat (the downbeat and the middle of an even bar), the share of sounding notes
    that belong to the best-fitting triad or seventh chord; averaged over strong beats."""
    notes = _sounding(piece)
    starts = [0]
    for b in piece.bar_ticks:
        starts.append(starts[-1] + b)
    shares = []
    for bi, length in enumerate(piece.bar_ticks):
        beats = [0] + ([length // 2] if length % 24 == 0 else [])
        for off in beats:
            t = starts[bi] + off
            pcs = [p % 12 for _, p, s, e in notes if s <= t < e]
            if len(pcs) < 2:
                continue
            best = max(sum(1 for pc in pcs if (pc - root) % 12 in iv) for root in range(12) for iv in CHORDS.values())
            shares.append(best / len(pcs))
    return sum(shares) / max(1, len(shares))


def scale_pcs(tonic: int, minor: bool) -> frozenset[int]:
    return frozenset((tonic + s) % 12 for s in (MINOR if minor else MAJOR))


# ------------------------------------------------------------------ sections


def nll_table(model, encoded, length: int = 512) -> dict:
    from .data import eval_windows
    from .ngram import NGram
    from .train import validation_loss

    train = [e.header.tokens() + e.body.tolist() + [T.EOS] for e in encoded if e.split == "train"]
    valid = eval_windows(encoded, "valid", length)
    test = eval_windows(encoded, "test", length)
    best_n, best_v = None, float("inf")
    for n in range(2, 8):
        tot, cnt = NGram(n).fit(train).nll(valid)
        if tot / cnt < best_v:
            best_n, best_v = n, tot / cnt
    ngram = NGram(best_n).fit(train)
    tot, cnt = ngram.nll(test)
    model_nll = validation_loss(model.model, test, model.device)
    per_style = {}
    by_style: dict[str, list] = {}
    for e in encoded:
        if e.split == "test":
            by_style.setdefault(e.style, []).append(e)
    for style, works in sorted(by_style.items()):
        w = eval_windows(works, "test", length)
        t2, c2 = ngram.nll(w)
        per_style[style] = {"windows": len(w), "tokens": c2, "model": round(validation_loss(model.model, w, model.device), 4),
                            "ngram": round(t2 / c2, 4)}
    return {"ngram_order": best_n, "tokens": cnt, "windows": len(test), "model_nll": round(model_nll, 4),
            "ngram_nll": round(tot / cnt, 4), "per_style": per_style}


def _descr(piece: T.Piece) -> dict:
    from liveloom.music.analysis import descriptors

    from .convert import piece_notes, time_signature

    meter = piece.bar_ticks[0]
    notes = [n for _, n in piece_notes(piece)]
    d = descriptors(notes, time_signature(meter), len(piece.bar_ticks) * meter / T.TICKS_PER_QUARTER)
    if d:
        d["notes_per_bar"] = round(len(notes) / len(piece.bar_ticks), 2)
    return d


def descriptor_table(model, encoded, per_style: int, bars: int, seed: int, batch: int = 20) -> tuple[dict, dict]:
    rng = random.Random(seed)
    out, speed = {}, {"tokens": 0, "seconds": 0.0, "bars": 0}
    for style in EVAL_STYLES:
        held = [e for e in encoded if e.style == style and e.split in ("test", "valid") and len(e.bar_at) > bars]
        if not held:
            continue
        real, gen, heads = [], [], []
        for i in range(per_style):
            e = held[i % len(held)]
            b0 = rng.randrange(len(e.bar_at) - 1 - bars + 1)
            piece = T.decode_bars(e.body[e.bar_at[b0]:e.bar_at[b0 + bars]].tolist(), int(e.bar_ticks[b0]))
            d = _descr(piece)
            if d:
                real.append(d)
            h = e.header
            heads.append(T.Header(style=style, key_tonic=rng.randrange(12), key_minor=h.key_minor,
                                  meter_ticks=int(e.bar_ticks[b0]), tempo=h.tempo, density=h.density, voices=h.voices))
        by_meter: dict[int, list[int]] = {}
        for i, h in enumerate(heads):
            by_meter.setdefault(h.meter_ticks, []).append(i)
        for meter, idx in by_meter.items():
            for k in range(0, len(idx), batch):
                chunk = idx[k:k + batch]
                t0 = time.perf_counter()
                made = model.generate_many([heads[i] for i in chunk], bars=bars, seeds=[seed + i for i in chunk])
                speed["seconds"] += time.perf_counter() - t0
                for g in made:
                    speed["tokens"] += g.steps
                    speed["bars"] += bars
                    d = _descr(g.piece)
                    if d:
                        gen.append(d)
        keys = sorted(real[0]) if real else []
        out[style] = {k: {"corpus": round(statistics.mean(r[k] for r in real), 3),
                          "model": round(statistics.mean(g[k] for g in gen), 3) if gen else None} for k in keys}
        out[style]["_pieces"] = {"corpus": len(real), "model": len(gen)}
        print(f"  descriptors: {style} done", file=sys.stderr)
    return out, speed


def harmonization_table(model, encoded, bars: int, limit: int, seed: int) -> dict:
    works = [e for e in encoded if e.style == "chorale" and e.split in ("test", "valid") and e.header.voices == 4]
    rows = {"bach": [], "model": [], "model, avoid_parallels": []}
    for i, e in enumerate(works[:limit]):
        nb = min(bars, len(e.bar_at) - 1)
        meter = int(e.bar_ticks[0])
        if any(int(x) != meter for x in e.bar_ticks[:nb]):
            continue
        bach = T.decode_bars(e.body[: e.bar_at[nb]].tolist(), meter)
        melody = T.Piece(bach.bar_ticks, [n for n in bach.notes if n.voice == 0])
        head = T.Header(style="chorale", key_tonic=e.header.key_tonic, key_minor=e.header.key_minor,
                        meter_ticks=meter, voices=4, density=e.header.density)
        g = model.harmonize(melody, head, seed=seed + i, constraints=Constraints(max_polyphony=4))
        g2 = model.harmonize(melody, head, seed=seed + i, constraints=Constraints(max_polyphony=4, avoid_parallels=True))
        kept = all(sorted((n.pitch, n.bar, n.pos, n.dur) for n in x.piece.notes if n.voice == 0) ==
                   sorted((n.pitch, n.bar, n.pos, n.dur) for n in melody.notes) for x in (g, g2))
        for name, piece in (("bach", bach), ("model", g.piece), ("model, avoid_parallels", g2.piece)):
            bad, moves = parallels(piece)
            rows[name].append({"range": voice_range_share(piece), "parallels": bad, "moves": moves,
                               "chord_tones": chord_tone_share(piece), "kept": kept if name == "model" else True})
    summary = {}
    for name, rs in rows.items():
        summary[name] = {"pieces": len(rs), "in_range": round(statistics.mean(r["range"] for r in rs), 3),
                         "parallel_rate": round(sum(r["parallels"] for r in rs) / max(1, sum(r["moves"] for r in rs)), 4),
                         "chord_tones": round(statistics.mean(r["chord_tones"] for r in rs), 3),
                         "melody_kept": round(statistics.mean(1.0 if r["kept"] else 0.0 for r in rs), 3)}
    return summary


def constraint_check(piece: T.Piece, c: Constraints, bars: int, voices: int, fixed: list[T.TNote]) -> list[str]:
    """What a result breaks (empty when it keeps every constraint)."""
    broken = []
    fixed_set = {(n.voice, n.pitch, n.bar, n.pos, n.dur) for n in fixed}
    free = [n for n in piece.notes if (n.voice, n.pitch, n.bar, n.pos, n.dur) not in fixed_set]
    if len(piece.bar_ticks) != bars:
        broken.append(f"{len(piece.bar_ticks)} bars, not {bars}")
    if c.scale is not None and any(n.pitch % 12 not in c.scale for n in free):
        broken.append("pitch out of scale")
    lo, hi = c.pitch_range
    if any(not lo <= n.pitch <= hi for n in free):
        broken.append("pitch out of range")
    if any(n.voice >= voices for n in piece.notes):
        broken.append("voice the header does not have")
    if c.max_polyphony is not None and max_polyphony(piece) > max(c.max_polyphony, 1):
        broken.append(f"polyphony {max_polyphony(piece)} > {c.max_polyphony}")
    starts = [sum(piece.bar_ticks[:b]) for b in range(len(piece.bar_ticks) + 1)]
    if c.last_onset is not None and any(starts[n.bar] + n.pos > c.last_onset for n in free):
        broken.append("a note starts after the last onset allowed")
    if any(n.pitch % 12 not in c.pitch_classes_at.get(starts[n.bar] + n.pos, {n.pitch % 12}) for n in free):
        broken.append("a note off the pitch classes its tick requires")
    have = {(n.voice, n.pitch, n.bar, n.pos, n.dur) for n in piece.notes}
    if not fixed_set <= have:
        broken.append("a fixed note changed or missing")
    return broken


def constraint_table(model, encoded, n: int, seed: int) -> dict:
    rng = random.Random(seed)
    chorales = [e for e in encoded if e.style == "chorale" and e.split != "train" and e.header.voices == 4]
    ok, failures, kinds = 0, [], {}
    for i in range(n):
        style = rng.choice(EVAL_STYLES)
        tonic, minor = rng.randrange(12), rng.random() < 0.4
        lo = rng.randrange(43, 67)
        c = Constraints(scale=scale_pcs(tonic, minor), pitch_range=(lo, lo + rng.randrange(12, 30)),
                        max_polyphony=rng.choice([None, 1, 2, 3, 4]))
        kind = rng.choice(["generate", "continue", "infill", "harmonize"])
        voices = rng.randint(1, 4)
        meter = rng.choice([36, 48, 24])
        bars = rng.randint(1, 4)
        head = T.Header(style=style, key_tonic=tonic, key_minor=minor, meter_ticks=meter, voices=voices,
                        density=rng.randrange(5))
        fixed: list[T.TNote] = []
        if kind == "generate":
            g = model.generate(head, bars=bars, constraints=c, seed=i)
        elif kind == "continue":
            seedpiece = model.generate(head, bars=2, seed=i + 10_000).piece
            g = model.continue_piece(seedpiece, head, bars=bars, constraints=c, seed=i)
        elif kind == "infill":
            whole = model.generate(head, bars=bars + 2, seed=i + 20_000).piece
            g = model.infill(whole, head, 1, 1 + bars, constraints=c, seed=i)
        else:
            e = chorales[i % len(chorales)]
            meter = int(e.bar_ticks[0])
            bach = T.decode_bars(e.body[: e.bar_at[min(bars, len(e.bar_at) - 1)]].tolist(), meter)
            fixed = [x for x in bach.notes if x.voice == 0]
            head = T.Header(style="chorale", key_tonic=e.header.key_tonic, key_minor=e.header.key_minor,
                            meter_ticks=meter, voices=4)
            c.max_polyphony = max(c.max_polyphony or 4, 1)
            bars = len(bach.bar_ticks)
            g = model.harmonize(T.Piece(bach.bar_ticks, fixed), head, constraints=c, seed=i)
            voices = 4
        broken = constraint_check(g.piece, c, bars, voices, fixed)
        kinds.setdefault(kind, [0, 0])
        kinds[kind][1] += 1
        if broken:
            failures.append({"request": i, "kind": kind, "broken": broken})
        else:
            ok += 1
            kinds[kind][0] += 1
    return {"requests": n, "satisfied": ok, "by_kind": kinds, "failures": failures[:10]}


def main() -> None:
    import torch

    from liveloom.models import data

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=None, help="a checkpoint folder (default: the shipped one)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--per-style", type=int, default=100)
    parser.add_argument("--bars", type=int, default=4)
    parser.add_argument("--harmonize", type=int, default=30, help="held-out chorales to harmonize")
    parser.add_argument("--constrained", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--skip", nargs="*", default=[], choices=["nll", "descriptors", "harmonize", "constraints"])
    args = parser.parse_args()

    torch.set_grad_enabled(False)
    model = load(args.checkpoint)
    encoded = data.tokenized(args.cache)
    t_start = time.time()
    report: dict = {"checkpoint": str(model.folder), "parameters": model.parameters, "device": model.device,
                    "machine": f"{platform.machine()}, {torch.get_num_threads()} threads, "
                               f"{'GPU ' + torch.cuda.get_device_name() if model.device == 'cuda' else 'CPU'}"}
    if "nll" not in args.skip:
        report["nll"] = nll_table(model, encoded)
        print("  nll done", file=sys.stderr)
    if "descriptors" not in args.skip:
        report["descriptors"], speed = descriptor_table(model, encoded, args.per_style, args.bars, args.seed)
        report["speed"] = {"tokens_per_s": round(speed["tokens"] / speed["seconds"], 1),
                           "ms_per_bar": round(1000 * speed["seconds"] / speed["bars"], 1), "bars": speed["bars"]}
        single = {"tokens": 0, "seconds": 0.0, "bars": 0}
        for i, (style, voices, meter) in enumerate([("chorale", 4, 48), ("irish", 1, 36)] * 5):
            g = model.generate(T.Header(style=style, key_tonic=i, meter_ticks=meter, voices=voices, density=2),
                               bars=args.bars, seed=i)
            single["tokens"] += g.steps
            single["seconds"] += g.seconds
            single["bars"] += args.bars
        report["speed_single"] = {"tokens_per_s": round(single["tokens"] / single["seconds"], 1),
                                  "ms_per_bar": round(1000 * single["seconds"] / single["bars"], 1),
                                  "bars": single["bars"]}
    if "harmonize" not in args.skip:
        report["harmonize"] = harmonization_table(model, encoded, 8, args.harmonize, args.seed)
        print("  harmonize done", file=sys.stderr)
    if "constraints" not in args.skip:
        report["constraints"] = constraint_table(model, encoded, args.constrained, args.seed)
    report["seconds"] = round(time.time() - t_start)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    print(render(report))


def render(r: dict) -> str:
    lines = [f"checkpoint {r['checkpoint']} · {r['parameters'] / 1e6:.2f}M parameters · {r['machine']}", ""]
    if "nll" in r:
        n = r["nll"]
        lines += ["Held-out NLL per token (test split, nats; lower is better)", "",
                  f"| set | tokens | model | {n['ngram_order']}-gram baseline |", "|---|---|---|---|",
                  f"| all test | {n['tokens']:,} | **{n['model_nll']:.3f}** | {n['ngram_nll']:.3f} |"]
        lines += [f"| {s} | {v['tokens']:,} | {v['model']:.3f} | {v['ngram']:.3f} |" for s, v in n["per_style"].items()]
        lines.append("")
    if "descriptors" in r:
        keys = ["pitch_class_entropy", "scale_consistency", "groove_consistency", "empty_beat_rate", "polyphony",
                "notes_per_bar"]
        lines += ["Descriptors, generated (model) next to held-out corpus windows of the same length", "",
                  "| style | pieces | " + " | ".join(keys) + " |", "|---|---|" + "---|" * len(keys)]
        for s, d in r["descriptors"].items():
            cells = [f"{d[k]['model']} / {d[k]['corpus']}" if k in d else "-" for k in keys]
            lines.append(f"| {s} | {d['_pieces']['model']} / {d['_pieces']['corpus']} | " + " | ".join(cells) + " |")
        lines.append("")
    if "harmonize" in r:
        h = r["harmonize"]
        lines += ["Harmonizing held-out chorale melodies (first 8 bars, 4 voices)", "",
                  "| | pieces | notes in SATB range | parallel 5ths/8ves per moving pair | chord tones on strong beats | melody kept |",
                  "|---|---|---|---|---|---|"]
        for name in ("model", "model, avoid_parallels", "bach"):
            v = h[name]
            lines.append(f"| {name} | {v['pieces']} | {v['in_range']:.3f} | {v['parallel_rate']:.4f} | "
                         f"{v['chord_tones']:.3f} | {v['melody_kept']:.3f} |")
        lines.append("")
    if "constraints" in r:
        c = r["constraints"]
        by = ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in c["by_kind"].items())
        lines += [f"Constraints: {c['satisfied']}/{c['requests']} requests satisfied ({by})", ""]
    if "speed" in r:
        s = r["speed"]
        lines += [f"Speed, batches of 20 pieces: {s['tokens_per_s']} tokens/s, {s['ms_per_bar']} ms per generated bar "
                  f"(over {s['bars']} bars, {r['device']})"]
        s = r["speed_single"]
        lines += [f"Speed, one request at a time (4-voice chorale and 1-voice Irish, alternating): "
                  f"{s['tokens_per_s']} tokens/s, {s['ms_per_bar']} ms per generated bar (over {s['bars']} bars)"]
    return "\n".join(lines)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
