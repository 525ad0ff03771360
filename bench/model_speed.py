"""The symbolic model's generation speed beside its natural peer, idle and beside two busy processes.

    .venv/bin/python bench/model_speed.py [--runs 5] [--bars 8]

The task is compose's model engine for four-part chorale chords (8 bars, SATB ranges, the key's scale, exact
bars). liveloom's decoder (models/generate.py) runs beside a plain Hugging Face `generate()` loop on the same
model with the same constraints, applied by a LogitsProcessor that walks the same grammar state (the natural
peer: what anyone would write with transformers). Each is timed warm, median and range over the runs, idle and
with two CPU-bound processes beside it (a DAW's load on this machine), with liveloom's thread setting (1) for
both. Prints tokens/s, ms per bar and the load ratio; CPU, or the device LIVELOOM_DEVICE names.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import statistics
import sys
import time

from claims import Claim, report, require_defaults


def _hog() -> None:  # pragma: no cover - a busy process
    while True:
        pass


def _task(bars: int):
    from liveloom.models import tokenizer as T
    from liveloom.models.generate import Constraints

    ranges = {0: (60, 81), 1: (53, 74), 2: (48, 69), 3: (40, 62)}
    f_major = frozenset({5, 7, 9, 10, 0, 2, 4})
    header = T.Header(style="chorale", key_tonic=5, key_minor=False, meter_ticks=48, tempo=T.tempo_band(90),
                      voices=4, density=T.density_bin(1.5))
    return header, Constraints(scale=f_major, pitch_range=(40, 81), voice_ranges=ranges, max_polyphony=4)


def liveloom_run(model, bars: int, seed: int) -> tuple[float, int]:
    header, constraints = _task(bars)
    t0 = time.perf_counter()
    gen = model.generate(header, bars, constraints=constraints, seed=seed, temperature=0.8)
    return time.perf_counter() - t0, len(gen.tokens)


def peer_run(model, bars: int, seed: int) -> tuple[float, int]:
    """transformers' generate() with the constraints as a LogitsProcessor over the same grammar state."""
    import torch
    from transformers import LogitsProcessor, LogitsProcessorList, StoppingCriteria, StoppingCriteriaList

    from liveloom.models import generate as G
    from liveloom.models import tokenizer as T

    header, constraints = _task(bars)
    prompt = header.tokens()
    state = G._State(header, bars, constraints, {}, frozenset(), bar_len=header.meter_ticks)

    class Grammar(LogitsProcessor):
        def __call__(self, input_ids, scores):
            if input_ids.shape[1] > len(prompt):  # the token chosen last time moves the grammar on
                G._advance(state, int(input_ids[0, -1]))
            allowed = G._allowed(state) if state.phase != "done" else [T.EOS]
            masked = torch.full_like(scores, float("-inf"))
            masked[:, allowed] = scores[:, allowed]
            return masked

    class Done(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            return state.phase == "done"

    torch.manual_seed(seed)
    ids = torch.tensor([prompt], dtype=torch.long, device=model.device)
    t0 = time.perf_counter()
    out = model.model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=True, temperature=0.8, top_p=0.95,
                               max_new_tokens=bars * (T.N_POS * 2 + 160), logits_processor=LogitsProcessorList(
                                   [Grammar()]), stopping_criteria=StoppingCriteriaList([Done()]),
                               pad_token_id=T.PAD, eos_token_id=T.EOS)
    return time.perf_counter() - t0, out.shape[1] - len(prompt)


def measure(fn, model, bars: int, runs: int) -> list[tuple[float, int]]:
    fn(model, bars, 99)  # warm
    return [fn(model, bars, seed) for seed in range(runs)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--bars", type=int, default=8)
    parser.add_argument("--check", action="store_true", help="exit 1 when a figure the docs claim regresses")
    args = parser.parse_args()
    require_defaults(parser, args, ["runs", "bars"])
    import torch
    import transformers

    from liveloom.models.generate import load

    model = load(device=os.environ.get("LIVELOOM_DEVICE"), threads=1)
    torch.set_num_threads(1)
    results = {}
    for load_label in ("idle", "two busy processes beside it"):
        hogs = [mp.Process(target=_hog, daemon=True) for _ in range(2 if load_label != "idle" else 0)]
        for h in hogs:
            h.start()
        try:
            for name, fn in (("liveloom", liveloom_run), ("HF generate() + LogitsProcessor", peer_run)):
                results[(name, load_label)] = measure(fn, model, args.bars, args.runs)
        finally:
            for h in hogs:
                h.terminate()
    print(f"symbolic model, {args.bars} bars of four-part chorale (model engine) — {platform.system()} "
          f"{platform.machine()}, {os.cpu_count()} CPU cores, {model.device}, torch {torch.__version__}, "
          f"transformers {transformers.__version__}, 1 intra-op thread\n")
    print("| system | load | median s (range) | tokens/s | ms per bar | x the peer | load ratio |")
    print("|---|---|---|---|---|---|---|")
    for (name, load_label), rows in results.items():
        secs = [s for s, _ in rows]
        toks = statistics.median(t / s for s, t in rows)
        med = statistics.median(secs)
        peer = statistics.median(s for s, _ in results[("HF generate() + LogitsProcessor", load_label)])
        idle = statistics.median(s for s, _ in results[(name, "idle")])
        print(f"| {name} | {load_label} | {med:.2f} ({min(secs):.2f}-{max(secs):.2f}) | {toks:.0f} | "
              f"{med / args.bars * 1000:.0f} | {peer / med:.2f} | {med / idle:.2f} |")
    if args.check:
        sys.exit(check(results))


def check(results) -> int:
    """Tokens per second against the peer in the same run (seeds give pieces of different lengths, so the rate
    is the fair ratio), and the load ratio with liveloom's one thread."""
    def rate(name, load_label):
        return statistics.median(t / s for s, t in results[(name, load_label)])

    def secs(name, load_label):
        return statistics.median(s for s, _ in results[(name, load_label)])

    ours, peer, busy = "liveloom", "HF generate() + LogitsProcessor", "two busy processes beside it"
    return report([
        Claim("tokens/s, x the peer, idle (published 3.13)", rate(ours, "idle") / rate(peer, "idle"), 2.7),
        Claim("tokens/s, x the peer, beside two busy processes (published 3.38)", rate(ours, busy) / rate(peer, busy),
              2.7),
        Claim("median time, x the peer's, idle (published 3.36; target 3)", secs(peer, "idle") / secs(ours, "idle"),
              2.8),
        Claim("load ratio, busy / idle (published 1.40; target <= 2)", secs(ours, busy) / secs(ours, "idle"), 2.2,
              False),
    ])


if __name__ == "__main__":
    main()
