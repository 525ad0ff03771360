"""Compose and arrange: speed, musical descriptors beside the corpus's, and the constraint checks.

    python bench/compose_bench.py [--repeats 15] [--requests 220] [--cache DIR]

Prints four tables:
1. speed — an 8-bar 4-role compose (chords, bass, drums, melody: four `compose` calls through an
   in-process MCP client) and a 64-bar 5-track `arrange`, warm (median and range), plus cold (a fresh
   process: start, first call); the model engine's 8-bar folk melody and chorale for reference;
2. descriptors of generated melodies per style (pitch-class entropy, scale consistency, groove
   consistency, notes per bar, mean melodic interval) — beside held-out corpus material for the
   styles the corpus has (chorale soprano lines, Essen folk tunes; needs the corpus cache, see
   models/DATA_CARD.md) and the style library's own target for notes per bar;
3. the constraint checks over N varied requests (roles, styles, keys, modes, metres, bars, densities,
   energies, registers): every check must pass;
4. the same checks for arrange over every style and form.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio


def _table(rows: list[list], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths))
    out = [line, "-" * len(line)]
    out += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join(out)


def _stats(xs: list[float]) -> str:
    return f"{statistics.median(xs) * 1000:.1f} ms ({min(xs) * 1000:.1f}-{max(xs) * 1000:.1f})"


async def speed(repeats: int) -> tuple[list[list], dict[str, float]]:
    """The table's rows, and the median seconds of each timed task (for --check)."""
    from mcp import Client

    from liveloom.ableton_bridge.target import parse_target
    from liveloom.server.app import build_server
    from liveloom.server.config import Config

    server = build_server(Config(home=Path(tempfile.mkdtemp()), allow=[], live=parse_target("sim")))
    rows, medians = [], {}
    async with Client(server) as c:
        async def call(tool: str, args: dict) -> dict:
            r = await c.call_tool(tool, args)
            if r.is_error:
                raise SystemExit(f"{tool} failed: {r.content[0].text}")
            return r.structured_content

        four = []
        for i in range(repeats + 1):
            t0 = time.perf_counter()
            ch = await call("compose", {"role": "chords", "key": "D minor", "bars": 8, "tempo": 82, "style": "lofi",
                                        "seed": i})
            for role in ("bass", "drums", "melody"):
                await call("compose", {"role": role, "key": "D minor", "bars": 8, "style": "lofi", "seed": i,
                                       "progression": ch["progression"]})
            if i:
                four.append(time.perf_counter() - t0)
        rows.append(["compose 8 bars x 4 roles (theory, MCP)", _stats(four), "< 1 s", "yes" if statistics.median(four) < 1 else "no"])
        sections = [{"name": n, "bars": 8, "energy": e} for n, e in (("intro", 0.3), ("verse", 0.55), ("chorus", 0.85),
                                                                     ("verse", 0.6), ("chorus", 0.9), ("bridge", 0.5),
                                                                     ("chorus", 1.0), ("outro", 0.3))]
        arr = []
        for i in range(repeats + 1):
            t0 = time.perf_counter()
            r = await call("arrange", {"style": "pop", "key": "E minor", "sections": sections, "seed": i})
            if i:
                arr.append(time.perf_counter() - t0)
        rows.append([f"arrange 64 bars x 5 tracks ({r['notes']} notes, MCP)", _stats(arr), "< 5 s",
                     "yes" if statistics.median(arr) < 5 else "no"])
        for label, args in (("model: folk melody 8 bars", {"role": "melody", "style": "folk", "key": "G major", "bars": 8}),
                            ("model: chorale SATB 8 bars", {"role": "chords", "style": "chorale", "key": "F major",
                                                            "bars": 8})):
            await call("compose", {**args, "seed": 99})  # load the model
            ts = []
            for i in range(max(3, repeats // 3)):
                t0 = time.perf_counter()
                await call("compose", {**args, "seed": i})
                ts.append(time.perf_counter() - t0)
            rows.append([label, _stats(ts), "-", "-"])
            medians[label] = statistics.median(ts)
        medians["compose x 4"], medians["arrange"] = statistics.median(four), statistics.median(arr)
    await server.services.live.close()
    cold = subprocess.run([sys.executable, "-c", (
        "import time; t0=time.perf_counter();"
        "from liveloom.engines.generation import compose;"
        "t1=time.perf_counter(); c=compose('chords', key='D minor', bars=8, style='lofi');"
        "t2=time.perf_counter(); print(t1-t0, t2-t1)")], capture_output=True, text=True, check=True)
    imp, first = map(float, cold.stdout.split())
    rows.append(["cold: import + first compose (fresh process)", f"{imp * 1000:.0f} ms + {first * 1000:.0f} ms", "-", "-"])
    return rows, medians


def _melody_descr(notes, bar: float, length: float) -> dict:
    from liveloom.music.analysis import descriptors
    from liveloom.music.types import TimeSignature

    d = descriptors(notes, TimeSignature(numerator=round(bar), denominator=4), length)
    ordered = sorted(notes, key=lambda n: n.start)
    steps = [abs(b.pitch - a.pitch) for a, b in zip(ordered, ordered[1:])]
    return {"pc_entropy": d["pitch_class_entropy"], "scale": d["scale_consistency"],
            "groove": d["groove_consistency"], "notes/bar": len(notes) / max(1, length / bar),
            "interval": sum(steps) / max(1, len(steps))}


def _corpus_melodies(cache: Path, style: str, n: int, bars: int) -> list[dict]:
    """Held-out 8-bar top lines (voice 0) from the corpus cache, 4/4 only."""
    from liveloom.models import data
    from liveloom.models import tokenizer as T
    from liveloom.models.convert import piece_notes

    encoded = data.tokenized(cache)
    rng = random.Random(0)
    out = []
    held = [e for e in encoded if e.style == style and e.split in ("test", "valid") and len(e.bar_at) > bars + 1]
    rng.shuffle(held)
    for e in held:
        if len(out) >= n:
            break
        b0 = rng.randrange(len(e.bar_at) - 1 - bars + 1)
        if int(e.bar_ticks[b0]) != 48:
            continue
        piece = T.decode_bars(e.body[e.bar_at[b0]:e.bar_at[b0 + bars]].tolist(), 48)
        top = [n for v, n in piece_notes(piece) if v == 0]
        if len(top) >= 4:
            out.append(_melody_descr(top, 4.0, bars * 4.0))
    return out


def descriptors_table(cache: Path | None, per_style: int) -> list[list]:
    from liveloom.engines.generation import compose
    from liveloom.models.hub import ModelHub
    from liveloom.music.styles import library

    hub = ModelHub()

    corpus = {"chorale": "chorale", "folk": "essen"}
    rows = []
    for name, st in library().items():
        made = []
        for i in range(per_style):
            mode = "minor" if i % 2 else "major"
            c = compose("melody", key=f"{'CDEFGAB'[i % 7]} {mode}", bars=8, style=name, seed=i, engine="theory",
                        density=(i % 5) / 4)
            made.append(_melody_descr(c.clip.notes, 4.0, 32.0))
        mean = {k: statistics.mean(d[k] for d in made) for k in made[0]}
        ref = "-"
        if cache is not None and name in corpus:
            real = _corpus_melodies(cache, corpus[name], per_style, 8)
            if real:
                r = {k: statistics.mean(d[k] for d in real) for k in real[0]}
                ref = (f"{r['pc_entropy']:.2f} / {r['scale']:.2f} / {r['groove']:.2f} / {r['notes/bar']:.1f} / "
                       f"{r['interval']:.1f}  (n={len(real)})")
        lo, hi = st.notes_per_bar
        rows.append([name, f"{mean['pc_entropy']:.2f} / {mean['scale']:.2f} / {mean['groove']:.2f} / "
                           f"{mean['notes/bar']:.1f} / {mean['interval']:.1f}", f"{lo:g}-{hi:g}", ref])
        if name in corpus:  # a naive peer: random scale tones on an eighth-note grid at the same density
            made = []
            for i in range(per_style):
                mode = "minor" if i % 2 else "major"
                made.append(_melody_descr(_naive_melody(f"{'CDEFGAB'[i % 7]} {mode}", mean["notes/bar"], i), 4.0,
                                          32.0))
            m = {k: statistics.mean(d[k] for d in made) for k in made[0]}
            rows.append([f"{name} (naive: random scale tones)", f"{m['pc_entropy']:.2f} / {m['scale']:.2f} / "
                         f"{m['groove']:.2f} / {m['notes/bar']:.1f} / {m['interval']:.1f}", "", ""])
        if name in corpus:  # the trained model writes these styles' melodies when engine is auto
            made = []
            for i in range(per_style):
                mode = "minor" if i % 2 else "major"
                c = compose("melody", key=f"{'CDEFGAB'[i % 7]} {mode}", bars=8, style=name, seed=i, engine="model",
                            density=(i % 5) / 4, models=hub)
                made.append(_melody_descr(c.clip.notes, 4.0, 32.0))
            m = {k: statistics.mean(d[k] for d in made) for k in made[0]}
            rows.append([f"{name} (model engine)", f"{m['pc_entropy']:.2f} / {m['scale']:.2f} / {m['groove']:.2f} / "
                                                   f"{m['notes/bar']:.1f} / {m['interval']:.1f}", "", ""])
    return rows


def _naive_melody(key: str, notes_per_bar: float, seed: int):
    """The baseline many generators ship: random tones of the scale in a fixed range, random onsets on an
    eighth-note grid, each note held to the next onset."""
    from liveloom.music.theory import parse_key
    from liveloom.music.types import Note

    rng = random.Random(seed)
    k = parse_key(key)
    pool = [p for p in range(62, 82) if p % 12 in k.pitch_classes()]
    slots = sorted(rng.sample(range(64), min(64, max(1, round(notes_per_bar * 8)))))
    out = []
    for i, s in enumerate(slots):
        end = slots[i + 1] if i + 1 < len(slots) else 64
        out.append(Note(pitch=rng.choice(pool), start=s * 0.5, duration=(end - s) * 0.5))
    return out


def constraint_requests(n: int, seed: int = 0) -> list[dict]:
    from liveloom.music.styles import library

    rng = random.Random(seed)
    styles = sorted(library())
    roles = ["melody", "counter", "chords", "pad", "bass", "arpeggio", "drums"]
    tonics = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]
    modes = ["major", "minor", "dorian", "mixolydian", "lydian", "phrygian", "harmonic minor"]
    out = []
    for i in range(n):
        role = roles[i % len(roles)]
        req = {"role": role, "style": rng.choice(styles), "key": f"{rng.choice(tonics)} {rng.choice(modes)}",
               "bars": rng.choice([1, 2, 4, 8, 12, 16, 32]), "density": round(rng.random(), 2),
               "energy": round(rng.random(), 2), "seed": i, "engine": "theory",
               "time_signature": rng.choice(["4/4", "4/4", "4/4", "3/4", "6/8", "5/4"]),
               "register": rng.choice([None, "low", "middle", "high"])}
        if rng.random() < 0.35:
            req["progression"] = rng.choice(["ii7 V7 Imaj7", "Dm7 G7 Cmaj7 A7", "i iv V", "I bVII IV I", "vi IV I V",
                                             "Am F C G", "Cmaj7:2 F#m7b5:2 B7:4"])
            req["bars"] = max(req["bars"], 4)
        out.append(req)
    return out


def constraint_table(n: int) -> tuple[list[list], int, int, list]:
    from liveloom.engines.generation import compose

    by_name: dict[str, list[int]] = {}
    failures = []
    passed_requests = 0
    for req in constraint_requests(n):
        args = dict(req)
        role = args.pop("role")
        c = compose(role, **args)
        ok = True
        for chk in c.checks:
            s = by_name.setdefault(chk.name, [0, 0])
            s[1] += 1
            s[0] += chk.passed
            if not chk.passed:
                ok = False
                failures.append((req, chk.detail))
        passed_requests += ok
    rows = [[name, f"{p}/{t}", f"{100 * p / t:.1f} %"] for name, (p, t) in sorted(by_name.items())]
    return rows, passed_requests, n, failures


def arrange_table() -> list[list]:
    from liveloom.engines.arranger import FORMS, arrange
    from liveloom.music.styles import library

    rows = []
    for form in FORMS:
        passed = total = songs = 0
        t = []
        for name in library():
            t0 = time.perf_counter()
            a = arrange(style=name, key="A minor" if songs % 2 else "E major", tempo=None, time_signature=None,
                        form=form, sections=None, seed=songs)
            t.append(time.perf_counter() - t0)
            songs += 1
            passed += sum(c.passed for c in a.checks)
            total += len(a.checks)
        rows.append([form, songs, f"{passed}/{total}", _stats(t)])
    return rows


def main() -> None:
    import torch

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--requests", type=int, default=220)
    ap.add_argument("--per-style", type=int, default=30)
    ap.add_argument("--cache", type=Path, default=None, help="corpus cache for the corpus column "
                                                               "(python -m liveloom.models.corpus --cache DIR)")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--check", action="store_true", help="exit 1 when a figure the docs claim regresses")
    args = ap.parse_args()
    from claims import require_defaults

    require_defaults(ap, args, ['requests'])
    machine = f"{platform.machine()}, {platform.system()}, {torch.get_num_threads()} threads, CPU " \
              f"({'a GPU is present but the theory engine does not use it' if torch.cuda.is_available() else 'no GPU'})"
    print(f"machine: {machine}\n")
    rows, medians = anyio.run(speed, args.repeats)
    print(_table(rows, ["task", "median (range)", "target", "met"]))
    print("\ndescriptors of 8-bar generated melodies (pc entropy / scale consistency / groove consistency / "
          "notes per bar / mean interval in semitones)")
    drows = descriptors_table(args.cache, args.per_style)
    print(_table(drows, ["style", "generated (theory engine)", "library notes/bar", "corpus, held out"]))
    crows, ok, n, failures = constraint_table(args.requests)
    print(f"\nconstraint checks over {n} varied requests: {ok}/{n} requests with every check passed")
    print(_table(crows, ["check", "passed", "share"]))
    for req, detail in failures[:10]:
        print("  FAILED", json.dumps(req), detail)
    arows = arrange_table()
    print("\narrange, every style in every form: checks per section and track")
    print(_table(arows, ["form", "songs", "checks passed", "time per song"]))
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "speed": rows, "descriptors": drows,
                                         "constraints": crows, "requests_ok": ok, "requests": n,
                                         "arrange": arows}, indent=2))
    if args.check:
        from claims import Claim, report

        arrange_passed = sum(int(r[2].split("/")[0]) for r in arows)
        arrange_total = sum(int(r[2].split("/")[1]) for r in arows)
        sys.exit(report([
            Claim("compose 8 bars x 4 roles, s (published 0.026; target 1)", medians["compose x 4"], 1.0, False),
            Claim("arrange 64 bars x 5 tracks, s (published 0.081; target 5)", medians["arrange"], 5.0, False),
            Claim("model folk melody 8 bars, s (published 0.97; 2x room)", medians["model: folk melody 8 bars"], 2.0,
                  False),
            Claim("model chorale SATB 8 bars, s (published 3.51; 2x room)", medians["model: chorale SATB 8 bars"],
                  7.0, False),
            Claim("requests with every check passed, share (published 220/220)", ok / n, 1.0),
            Claim("arrange checks passed, share (published 4,763/4,763)", arrange_passed / arrange_total, 1.0),
        ]))
    if ok != n or math.isnan(ok):
        sys.exit(1)


if __name__ == "__main__":
    main()
