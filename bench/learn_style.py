"""learn_style's benchmark: does fine-tuning on a producer's folder teach the model their music?

    python bench/learn_style.py [--songs 60] [--steps 300] [--check]

The folder: 60 multi-track lo-fi songs (drums, bass, chords, lead; liveloom's own arrangements, each in its own key,
tempo, form and seed — bench/learn_data.py), a genre the shipped network never saw. Six songs (one in ten, by
content hash) are held out. One run prints, side by side:
  * held-out loss (nats per token) of the shipped network (before), after LoRA and after a full fine-tune with the
    same steps, and of a 4-gram model fitted on the same training songs (the reference a plain count model gives);
  * descriptors of melodies each network writes for the held-out songs' headers (key, metre, tempo band, register),
    and their distance from the held-out melodies (mean of |difference| / the held-out spread);
  * minutes on this machine, steps per second;
  * two data-parallel workers (torchrun, gloo on loopback) against one process: the loss curves' largest difference
    and steps per second.
--check fails when a claimed figure regresses (CLAIMS below).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

# claims (this machine, 2 CPU cores, defaults): what --check holds the run to
CLAIMS = {
    "lora_loss_drop": 1.5,  # held-out loss falls by at least this much (nats/token) with LoRA
    "lora_beats_ngram": True,  # and ends below the 4-gram reference's
    "lora_descriptor_gain": 0.3,  # the descriptor distance falls by at least this share
    "ddp_max_loss_diff": 2e-3,  # two workers follow one process's loss curve
}


def machine() -> str:
    import torch

    return (f"{platform.machine()} {os.cpu_count()} cores, {platform.system()}, torch {torch.__version__}, "
            f"{'CUDA ' + torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'CPU only'}")


def ngram_loss(train, held, length: int) -> float:
    from liveloom.models.data import eval_windows
    from liveloom.models.ngram import NGram

    train_seqs = [e.header.tokens() + e.body.tolist() for e in train]
    model = NGram(4).fit(train_seqs)
    nll, count = model.nll(eval_windows(held, "valid", length))
    return nll / max(1, count)


def run_method(method: str, train, held, songs, report, steps: int, threads: int, work: Path) -> dict:
    from liveloom.engines.learning import describe_before_after
    from liveloom.models.finetune import Settings, export, finetune
    from liveloom.models.hub import ModelHub

    settings = Settings(method=method, steps=steps, threads=threads)
    t0 = time.perf_counter()
    model, out = finetune(train, held, work / method, settings)
    seconds = time.perf_counter() - t0
    export(model, work / f"{method}-model", settings, {"outcome": asdict(out), "settings": asdict(settings)})
    desc = describe_before_after(songs, report, held, ModelHub(threads=threads), work / f"{method}-model",
                                 job=_NoJob())
    size = sum(f.stat().st_size for f in (work / f"{method}-model").rglob("*") if f.is_file())
    return {"method": method, "before": out.held_out_before, "after": out.held_out_after, "seconds": seconds,
            "steps_per_s": out.steps_done / seconds, "trainable": out.trainable, "bytes": size, "desc": desc}


class _NoJob:
    def progress(self, *a):
        pass

    def check(self):
        pass

    def check_only(self):
        from liveloom.music.jobs import NO_JOB

        return NO_JOB


def ddp_compare(data: Path, work: Path, steps: int) -> dict:
    def run(workers: int, threads: int) -> tuple[list[float], float]:
        from liveloom.models.finetune import launch

        cmd, env = launch(workers, ["--data", str(data), "--work", str(work / f"ddp{workers}x{threads}"),
                                    "--steps", str(steps), "--batch", "8", "--length", "384",
                                    "--threads", str(threads)], threads)
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
        lines = [json.loads(x) for x in done.stdout.splitlines() if x.startswith("{")]
        losses = [r["loss"] for r in lines if "step" in r]
        train_s = next(r["done"]["seconds"] for r in lines if "done" in r)
        return losses, steps / train_s

    one, rate1 = run(1, 1)
    _, rate1b = run(1, 2)
    two, rate2 = run(2, 1)
    diff = max(abs(a - b) for a, b in zip(one, two))
    return {"one_1thread": rate1, "one_2threads": rate1b, "two_workers": rate2, "max_loss_diff": diff,
            "speedup_vs_1thread": rate2 / rate1, "speedup_vs_2threads": rate2 / rate1b, "steps": steps}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, default=60)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--ddp-steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--methods", default="lora,full")
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--json", type=Path, default=HERE / "out" / "learn_style.json")
    args = parser.parse_args()

    import pickle

    from learn_data import write_song_folder

    from liveloom.engines.learning import Source, read_sources
    from liveloom.models.user_corpus import encode_songs

    work = Path(tempfile.mkdtemp(prefix="learn-bench-"))
    files = write_song_folder(work / "songs", "lofi", args.songs)
    songs, _ = read_sources([Source(p.name, str(p)) for p in files], 1 << 24)
    works, report = encode_songs(songs)
    train = [e for e in works if e.split == "train"]
    held = [e for e in works if e.split == "valid"]
    print(f"{report.songs} songs ({report.held_out} held out), {len(works)} sequences, {report.tokens:,} tokens; "
          f"tracks {dict(report.roles)}", file=sys.stderr)
    rows = [run_method(m, train, held, songs, report, args.steps, args.threads, work)
            for m in args.methods.split(",")]
    ngram = ngram_loss(train, held, 384)
    data = work / "data.pkl"
    data.write_bytes(pickle.dumps({"train": train, "held_out": held}))
    ddp = ddp_compare(data, work, args.ddp_steps)

    print(f"\nlearn_style on {args.songs} lo-fi songs ({report.held_out} held out), {args.steps} steps — {machine()}\n")
    print("| model | held-out loss (nats/token) | melody descriptor distance | minutes | steps/s | trainable | stored |")
    print("|---|---|---|---|---|---|---|")
    base = rows[0]
    print(f"| shipped network (before) | {base['before']:.3f} | {base['desc']['distance_before']:.2f} | – | – | – | – |")
    print(f"| 4-gram on the training songs (reference) | {ngram:.3f} | – | – | – | – | – |")
    for r in rows:
        print(f"| {r['method']} fine-tune | {r['after']:.3f} | {r['desc']['distance_after']:.2f} | "
              f"{r['seconds'] / 60:.1f} | {r['steps_per_s']:.2f} | {r['trainable']:,} | {r['bytes'] / 1e6:.1f} MB |")
    d = base["desc"]
    print(f"\nmelody descriptors ({d['pieces']} held-out songs; generated: 2 per song, 8 bars):")
    print("| | " + " | ".join(d["held_out"]) + " |")
    print("|---|" + "---|" * len(d["held_out"]))
    for label, vals in [("held out", d["held_out"]), ("before", d["before"])] + [
            (f"after ({r['method']})", r["desc"]["after"]) for r in rows]:
        print(f"| {label} | " + " | ".join(f"{vals.get(k, float('nan')):.2f}" for k in d["held_out"]) + " |")
    print(f"\ndata-parallel ({ddp['steps']} steps, batch 8 x 384 tokens): one process 1 thread "
          f"{ddp['one_1thread']:.2f} steps/s, 2 threads {ddp['one_2threads']:.2f}; two workers x 1 thread "
          f"{ddp['two_workers']:.2f} steps/s (x{ddp['speedup_vs_1thread']:.2f} vs 1 thread, "
          f"x{ddp['speedup_vs_2threads']:.2f} vs 2 threads); largest loss difference {ddp['max_loss_diff']:.2e}")

    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"machine": machine(), "rows": rows, "ngram": ngram, "ddp": ddp,
                                     "songs": args.songs, "steps": args.steps}, indent=1, default=str))
    if not args.check:
        return 0
    lora = next((r for r in rows if r["method"] == "lora"), None)
    failures = []
    if lora is None:
        failures.append("--check needs the lora method")
    else:
        if lora["before"] - lora["after"] < CLAIMS["lora_loss_drop"]:
            failures.append(f"LoRA held-out loss fell {lora['before'] - lora['after']:.3f} < {CLAIMS['lora_loss_drop']}")
        if CLAIMS["lora_beats_ngram"] and lora["after"] >= ngram:
            failures.append(f"LoRA held-out loss {lora['after']:.3f} not below the 4-gram's {ngram:.3f}")
        gain = 1 - lora["desc"]["distance_after"] / lora["desc"]["distance_before"]
        if gain < CLAIMS["lora_descriptor_gain"]:
            failures.append(f"descriptor distance fell {gain:.0%} < {CLAIMS['lora_descriptor_gain']:.0%}")
    if ddp["max_loss_diff"] > CLAIMS["ddp_max_loss_diff"]:
        failures.append(f"two workers' loss differs by {ddp['max_loss_diff']:.2e}")
    for f in failures:
        print(f"CHECK FAILED: {f}", file=sys.stderr)
    print(f"\n{len(CLAIMS) - len(failures)}/{len(CLAIMS)} claims hold", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
