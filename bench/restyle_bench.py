"""restyle through the real MCP tool on held-out folk melodies: is the melody kept, do the new voices fit,
and does the style classifier hear the target style afterwards?

    .venv/bin/python -m liveloom.models.corpus        # once: parse music21's corpus (~35 CPU-minutes)
    .venv/bin/python bench/restyle_bench.py [--melodies 30] [--bars 8]

Melodies: the first bars of Essen and Irish tunes from the test split (never trained on). For each
target style: melody kept note for note (must be 100 %), chord tones on strong beats, parallel
fifths/octaves per moving voice pair, new notes in key and range, the classifier's P(target) for the
melody alone and for the result, how often the target is the classifier's top style, and seconds
per call (median and range). Prints one table.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio


async def run(args) -> list[dict]:
    from mcp import Client

    from liveloom.ableton_bridge.target import parse_target
    from liveloom.models import data
    from liveloom.models import tokenizer as T
    from liveloom.models.convert import piece_notes, time_signature
    from liveloom.music.types import Clip
    from liveloom.server.app import build_server
    from liveloom.server.config import Config
    from liveloom.store.workspace import Provenance
    from liveloom.tools.schemas import store_clip

    encoded = data.tokenized(args.cache) if args.cache else data.tokenized()
    picks = []
    for style in ("essen", "irish"):
        works = [e for e in encoded if e.style == style and e.split == "test" and len(e.bar_at) - 1 >= args.bars
                 and int(e.bar_ticks[0]) in (24, 36, 48) and all(int(b) == int(e.bar_ticks[0]) for b in e.bar_ticks[:args.bars])]
        picks += works[: args.melodies // 2]
    home = Path(tempfile.mkdtemp(prefix="liveloom-bench-"))
    server = build_server(Config(home=home, allow=[], live=parse_target("127.0.0.1:1")))
    ids = []
    for e in picks:
        piece = T.decode_bars(e.body[: e.bar_at[args.bars]].tolist(), int(e.bar_ticks[0]))
        notes = [n for _, n in piece_notes(piece)]
        ts = time_signature(int(e.bar_ticks[0]))
        clip = Clip(name=e.name, notes=notes, length=args.bars * ts.beats_per_bar, tempo=100.0, time_signature=ts)
        ids.append(store_clip(server.services.workspace, clip, Provenance(tool="bench")).id)
    rows = []
    targets = [("chorale", None), ("palestrina", None), ("quartet", None),
               ("chorale 0.5 + quartet 0.5", [{"style": "chorale", "weight": 0.5}, {"style": "quartet", "weight": 0.5}])]
    async with Client(server) as client:
        first = True
        for name, mix in targets:
            res = []
            for i, cid in enumerate(ids):
                call = {"id": cid, "seed": i, "voices": 3}
                call.update({"mix": mix} if mix else {"style": name})
                t0 = time.perf_counter()
                out = await client.call_tool("restyle", call)
                dt = time.perf_counter() - t0
                if out.is_error:
                    raise SystemExit(f"restyle failed on {cid}: {out.content[0].text}")
                if first:
                    first = False
                    cold = dt
                    continue  # the first call loads the model: reported apart
                res.append((out.structured_content, dt))
            target = mix[0]["style"] if mix else name
            second = mix[1]["style"] if mix else None
            def p(r, which, s):
                return r["style_scores"][which].get(s, 0.0)
            rows.append({
                "target": name, "n": len(res),
                "kept": statistics.mean(1.0 if r["melody_kept"] else 0.0 for r, _ in res),
                "chord_tones": statistics.mean(r["checks"]["chord_tones_on_strong_beats"] for r, _ in res),
                "parallels": sum(r["checks"]["parallel_fifths_octaves"] for r, _ in res)
                / max(1, sum(r["checks"]["voice_pair_motions"] for r, _ in res)),
                "in_key": statistics.mean(r["checks"]["new_notes_in_scale"] for r, _ in res),
                "in_range": statistics.mean(r["checks"]["new_notes_in_range"] for r, _ in res),
                "p_before": statistics.mean(p(r, "source", target) for r, _ in res),
                "p_after": statistics.mean(p(r, "result", target) for r, _ in res),
                "p2_after": statistics.mean(p(r, "result", second) for r, _ in res) if second else None,
                "top": statistics.mean(1.0 if max(r["style_scores"]["result"], key=r["style_scores"]["result"].get)
                                       == target else 0.0 for r, _ in res),
                "secs": [dt for _, dt in res]})
    await server.services.live.close()
    rows.append({"cold": cold})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--melodies", type=int, default=30)
    parser.add_argument("--bars", type=int, default=8)
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--check", action="store_true", help="exit 1 when a figure the docs claim regresses")
    args = parser.parse_args()
    from claims import require_defaults

    require_defaults(parser, args, ['melodies', 'bars'])
    import torch

    rows = anyio.run(run, args)
    cold = rows.pop()["cold"]
    print(f"restyle on {rows[0]['n']} held-out Essen/Irish melodies ({args.bars} bars, 3 new voices) · "
          f"{platform.machine()}, {torch.get_num_threads()} threads, {'GPU' if torch.cuda.is_available() else 'CPU'}")
    print()
    print("| target | melody kept | chord tones, strong beats | parallel 5ths/8ves | new notes in key / range | "
          "P(target) melody → result | target is top style | s per call, median (range) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        p_after = f"{r['p_after']:.2f}" + (f" (+ quartet {r['p2_after']:.2f})" if r["p2_after"] is not None else "")
        s = r["secs"]
        print(f"| {r['target']} | {r['kept']:.0%} | {r['chord_tones']:.3f} | {r['parallels']:.4f} | "
              f"{r['in_key']:.3f} / {r['in_range']:.3f} | {r['p_before']:.2f} → {p_after} | {r['top']:.0%} | "
              f"{statistics.median(s):.2f} ({min(s):.2f}–{max(s):.2f}) |")
    print(f"\nfirst call (loads the model and classifier): {cold:.2f} s", file=sys.stderr)
    if args.check:
        from claims import Claim, report

        by = {r["target"]: r for r in rows}
        claims = []
        for r in rows:
            claims += [Claim(f"{r['target']}: melody kept, share (published 100 %)", r["kept"], 1.0),
                       Claim(f"{r['target']}: chord tones on strong beats (published >= 0.971)", r["chord_tones"], 0.95),
                       Claim(f"{r['target']}: parallel 5ths/8ves per motion (published 0)", r["parallels"], 0.0, False),
                       Claim(f"{r['target']}: new notes in key (published 1.000)", r["in_key"], 1.0),
                       Claim(f"{r['target']}: new notes in range (published 1.000)", r["in_range"], 1.0),
                       Claim(f"{r['target']}: s per call, median (published <= 2.97; 2x room)",
                             statistics.median(r["secs"]), 6.0, False)]
        if "chorale" in by:
            claims.append(Claim("chorale: the classifier's top style, share (published 100 %)", by["chorale"]["top"],
                                0.9))
        sys.exit(report(claims))


if __name__ == "__main__":
    main()
