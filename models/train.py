"""Train the symbolic model: one resumable command.

    python -m liveloom.models.train --run /path/to/run [--minutes 60] [--steps 4000]

Checkpoints (model, optimizer, step, sampler state) go to RUN/last.pt every --save-every steps and
on a clean stop (Ctrl-C or --minutes reached); running the same command again resumes from there.
Losses go to RUN/log.jsonl, validation loss every --eval-every steps; the best validation checkpoint
is exported as safetensors to RUN/best/ (the layout models/checkpoints/ ships). Runs on CUDA when
present, else the CPU's cores.
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import time
from pathlib import Path

from .corpus import DEFAULT_CACHE


def model_config(size: str = "small"):
    from transformers import LlamaConfig

    from . import tokenizer as T

    sizes = {
        "small": dict(hidden_size=256, num_hidden_layers=6, num_attention_heads=8, intermediate_size=768),
        "tiny": dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128),
    }
    return LlamaConfig(vocab_size=len(T.VOCAB), max_position_embeddings=1024, rms_norm_eps=1e-5,
                       rope_theta=10000.0, tie_word_embeddings=True, bos_token_id=T.BOS, eos_token_id=T.EOS,
                       pad_token_id=T.PAD, attention_dropout=0.0, **sizes[size])


def lr_at(step: int, total: int, peak: float, warmup: int = 200, floor: float = 0.1) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    frac = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * frac)))


def export(model, out: Path, meta: dict) -> None:
    """model.safetensors (float16) + config.json + vocab.json + training.json."""
    import torch
    from safetensors.torch import save_file

    from . import tokenizer as T

    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items()
             if k != "lm_head.weight"}  # tied to the embeddings
    save_file(state, str(out / "model.safetensors"), metadata={"format": "pt"})
    model.config.to_json_file(str(out / "config.json"))
    (out / "vocab.json").write_text(T.vocab_json())
    (out / "training.json").write_text(json.dumps(meta, indent=2))


def validation_loss(model, windows, device, batch: int = 16) -> float:
    import torch

    from . import tokenizer as T

    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(windows), batch):
            chunk = windows[i:i + batch]
            width = max(len(w) for w in chunk)
            ids = torch.full((len(chunk), width), T.PAD, dtype=torch.long)
            for j, w in enumerate(chunk):
                ids[j, :len(w)] = torch.tensor(w)
            ids = ids.to(device)
            logits = model(input_ids=ids, attention_mask=(ids != T.PAD).long()).logits[:, :-1]
            target = ids[:, 1:]
            mask = (target != T.PAD)
            mask[:, : T.HEADER_LEN - 1] = False  # controls are given, not predicted
            nll = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), target.reshape(-1),
                                                    reduction="none").view_as(target)
            total += float(nll[mask].sum())
            count += int(mask.sum())
    model.train()
    return total / max(1, count)


def main() -> None:
    import torch
    from transformers import LlamaForCausalLM

    from . import tokenizer as T
    from .data import Sampler, eval_windows, tokenized

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--size", default="small", choices=["small", "tiny"])
    parser.add_argument("--steps", type=int, default=3000, help="total optimizer steps (the LR schedule's length)")
    parser.add_argument("--minutes", type=float, default=None, help="stop cleanly (and save) after this long")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--length", type=int, default=512)
    parser.add_argument("--lr", type=float, default=1.5e-3)
    parser.add_argument("--save-every", type=int, default=50)
    parser.add_argument("--eval-every", type=int, default=250)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()

    if args.threads:
        torch.set_num_threads(args.threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(args.seed)
    args.run.mkdir(parents=True, exist_ok=True)
    encoded = tokenized(args.cache)
    train = [e for e in encoded if e.split == "train"]
    valid = eval_windows(encoded, "valid", args.length)
    valid = valid[:: max(1, len(valid) // 200)]  # ~200 fixed windows
    model = LlamaForCausalLM(model_config(args.size)).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.05)
    step, best, tokens_seen, elapsed_before = 0, float("inf"), 0, 0.0
    ckpt = args.run / "last.pt"
    if ckpt.exists():
        state = torch.load(ckpt, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        step, best, tokens_seen = state["step"], state["best"], state["tokens"]
        elapsed_before = state.get("elapsed", 0.0)
        print(f"resumed at step {step} (best validation loss {best:.4f})", file=sys.stderr)
    sampler = Sampler(train, args.length, seed=args.seed * 100003 + step)
    print(f"{n_params / 1e6:.2f}M parameters on {device}; {len(train)} training works, "
          f"{len(valid)} validation windows", file=sys.stderr)

    stop = {"now": False}
    signal.signal(signal.SIGINT, lambda *_: stop.__setitem__("now", True))
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__("now", True))
    t0 = time.time()
    log = (args.run / "log.jsonl").open("a")

    def save() -> None:
        tmp = ckpt.with_suffix(".tmp")
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "best": best,
                    "tokens": tokens_seen, "elapsed": elapsed_before + time.time() - t0,
                    "size": args.size, "args": vars(args) | {"run": str(args.run), "cache": str(args.cache)}}, tmp)
        tmp.replace(ckpt)

    model.train()
    window_t, window_tok = time.time(), 0
    while step < args.steps and not stop["now"]:
        if args.minutes is not None and time.time() - t0 > args.minutes * 60:
            break
        for g in opt.param_groups:
            g["lr"] = lr_at(step, args.steps, args.lr)
        ids = torch.from_numpy(sampler.batch(args.batch)).to(device)
        labels = ids.clone()
        labels[labels == T.PAD] = -100
        labels[:, : T.HEADER_LEN] = -100  # controls are given, not predicted (also after BOS in packed rows)
        starts = (ids == T.BOS).nonzero()
        for off in range(1, T.HEADER_LEN):
            labels[starts[:, 0], (starts[:, 1] + off).clamp(max=ids.size(1) - 1)] = -100
        out = model(input_ids=ids, attention_mask=(ids != T.PAD).long(), labels=labels)
        opt.zero_grad(set_to_none=True)
        out.loss.backward()
        loss = float(out.loss.detach())
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        n_tok = int((ids != T.PAD).sum())
        tokens_seen += n_tok
        window_tok += n_tok
        if step % 10 == 0:
            rate = window_tok / (time.time() - window_t)
            window_t, window_tok = time.time(), 0
            rec = {"step": step, "loss": round(loss, 4), "lr": round(lr_at(step, args.steps, args.lr), 6),
                   "tokens": tokens_seen, "tok_per_s": round(rate), "time_s": round(elapsed_before + time.time() - t0)}
            log.write(json.dumps(rec) + "\n")
            log.flush()
            bar = "#" * int(30 * step / args.steps)
            print(f"\r[{bar:<30}] step {step}/{args.steps} loss {loss:.3f} {rate:,.0f} tok/s",
                  end="", file=sys.stderr, flush=True)
        if step % args.eval_every == 0 or step == args.steps:
            v = validation_loss(model, valid, device)
            log.write(json.dumps({"step": step, "valid_loss": round(v, 4)}) + "\n")
            log.flush()
            print(f"\n  step {step}: validation loss {v:.4f}", file=sys.stderr)
            if v < best:
                best = v
                export(model, args.run / "best", {"step": step, "valid_loss": round(v, 4), "tokens": tokens_seen,
                                                  "params": n_params, "device": device,
                                                  "train_seconds": round(elapsed_before + time.time() - t0),
                                                  "seed": args.seed, "length": args.length, "batch": args.batch})
        if step % args.save_every == 0:
            save()
    save()
    print(f"\nstopped at step {step}; checkpoint {ckpt}", file=sys.stderr)


if __name__ == "__main__":
    main()
