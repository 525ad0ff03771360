"""Fine-tune the symbolic model on a producer's own music: LoRA through peft (the default) or every weight.

    result = finetune(train, held_out, work=Path(...), settings=Settings(steps=300, minutes=10), job=job)
    model = load_learned(folder)          # the shipped network + the learned adapter, merged, ready to generate

One process by default. Data-parallel on CPU (gloo) or GPU (NCCL) with torch.distributed, launched by torchrun:

    torchrun --nproc-per-node 2 -m liveloom.models.finetune --data prepared.pkl --work RUN --steps 300
    # several machines: the same command on each with --nnodes N --node-rank K --rdzv-endpoint HOST:29400

Every process draws the same global batch (the sampler is seeded by the step) and takes its own rows of it; the
loss is each process's token losses over the whole batch's token count, times the world size (DDP averages the
gradients), so the update is the one a single process would make with the whole batch — the loss curve matches
one process's to float rounding and the checkpoint is the same file. Only rank 0 writes.

Resumable: RUN/train.pt (trainable weights, optimizer, step, the held-out loss before training, elapsed time) is
written every `save_every_s` seconds, when the time budget ends and when a job is cancelled; the same call again
goes on from there. `export` writes what `load_learned` reads: the peft adapter (adapter_config.json +
adapter_model.safetensors, ~1 MB; the new token rows included) or, for a full fine-tune, model.safetensors.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pickle
import sys
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

from liveloom.music.errors import Cancelled
from liveloom.music.jobs import NO_JOB, Job

from . import tokenizer as T

LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
# the token rows a producer's material gives meaning to: the drum kit (new) and the style token it is written under
TRAINED_TOKENS = [T.V_KIT, T.STYLE0 + T.STYLES.index("other")]


@dataclass
class Settings:
    method: str = "lora"  # lora | full
    steps: int = 300  # the schedule's length (optimizer steps)
    minutes: float | None = None  # stop (saved, resumable) after this long in one call
    batch: int = 8  # windows per step (the global batch, split between processes)
    length: int = 384  # tokens per window
    lr: float | None = None  # peak learning rate (lora 2e-3, full 3e-4)
    rank: int = 16  # LoRA rank
    seed: int = 0
    save_every_s: float = 15.0
    threads: int | None = None  # intra-op threads (None: torch's default)

    def peak_lr(self) -> float:
        return self.lr if self.lr is not None else (2e-3 if self.method == "lora" else 3e-4)

    def check(self) -> None:
        if self.method not in ("lora", "full"):
            raise ValueError(f"method {self.method!r}: use 'lora' or 'full'")
        if not 1 <= self.steps <= 100_000:
            raise ValueError("steps must be 1 to 100000")
        if self.batch < 1 or not 64 <= self.length <= 1024:
            raise ValueError("batch must be at least 1 and length 64 to 1024 tokens")


@dataclass
class Outcome:
    steps_done: int
    steps: int
    held_out_before: float | None
    held_out_after: float | None
    losses: list[tuple[int, float]]  # (step, training loss)
    seconds: float  # this call's
    resumed_from: int  # the step a checkpoint gave (0: a fresh start)
    stopped_by: str  # "steps" | "time"
    trainable: int
    parameters: int
    world: int
    device: str


def base_network(base: str | os.PathLike | None = None, device: str = "cpu"):
    """The shipped network (or a local checkpoint) as a trainable transformers model with the full vocabulary."""
    from .generate import SHIPPED, load

    return load(base or SHIPPED, device, threads=None).model


def trainable(model, settings: Settings):
    """The model to optimize: peft's LoRA around it (new token rows trained beside), or the model itself."""
    model.train()
    if settings.method == "full":
        for p in model.parameters():
            p.requires_grad_(True)
        return model
    from peft import LoraConfig, get_peft_model

    cfg = LoraConfig(r=settings.rank, lora_alpha=2 * settings.rank, lora_dropout=0.0, target_modules=LORA_TARGETS,
                     trainable_token_indices={"embed_tokens": TRAINED_TOKENS})
    with _quiet():
        return get_peft_model(model, cfg)


@contextlib.contextmanager
def _quiet():
    """peft calls transformers APIs that warn of their own deprecation (is_gradient_checkpointing) and copies a
    tensor that asks for detach(): nothing a user can act on, so not printed beside every learning run."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, module="transformers")
        warnings.filterwarnings("ignore", message=".*detach.*", category=UserWarning)
        yield


def _rows_loss(model, ids, global_tokens: int, world: int):
    """Summed token losses of these rows over the whole batch's token count, times the world size."""
    import torch

    logits = model(input_ids=ids, attention_mask=(ids != T.PAD).long()).logits[:, :-1]
    target = ids[:, 1:]
    mask = _predicted(ids)[:, 1:]
    nll = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), target.reshape(-1),
                                            reduction="none").view_as(target)
    return (nll * mask).sum() / max(1, global_tokens) * world


def _predicted(ids):
    """Which tokens count in the loss: not padding, not the controls after each BOS (given, not predicted)."""
    mask = ids != T.PAD
    starts = (ids == T.BOS).nonzero()
    for off in range(T.HEADER_LEN):
        mask[starts[:, 0], (starts[:, 1] + off).clamp(max=ids.size(1) - 1)] = False
    return mask


def held_out_loss(model, windows, device) -> float | None:
    from .train import validation_loss

    return round(validation_loss(model, windows, device, batch=8), 4) if windows else None


def finetune(train, held_out, work: Path, settings: Settings, *, base: str | os.PathLike | None = None,
             device: str | None = None, job: Job = NO_JOB, log=None) -> tuple[object, Outcome]:
    """Train on `train` (data.Encoded works) and measure on `held_out`; returns (the trained model, what happened).
    Raises Cancelled (after saving the checkpoint) when the job is cancelled."""
    import torch

    from .data import Sampler, eval_windows
    from .generate import pick_device
    from .train import lr_at

    settings.check()
    dist = torch.distributed.is_available() and torch.distributed.is_initialized()
    rank, world = (torch.distributed.get_rank(), torch.distributed.get_world_size()) if dist else (0, 1)
    if settings.batch % world:
        raise ValueError(f"a batch of {settings.batch} windows does not split evenly between {world} processes")
    dev = pick_device(device)
    if dev == "cuda" and dist:
        dev = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
    if settings.threads:
        torch.set_num_threads(settings.threads)
    torch.manual_seed(settings.seed)
    works = [e for e in train if len(e.bar_at) > 1]
    if not works:
        raise ValueError("nothing to train on: no piece has a bar of notes")
    windows = eval_windows(held_out, "valid", settings.length)
    model = trainable(base_network(base, dev), settings)
    params = [p for p in model.parameters() if p.requires_grad]
    n_train = sum(p.numel() for p in params)
    n_all = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(params, lr=settings.peak_lr(), betas=(0.9, 0.98), weight_decay=0.01)
    work.mkdir(parents=True, exist_ok=True)
    ckpt = work / "train.pt"
    step, before, losses, elapsed_before = 0, None, [], 0.0
    if ckpt.exists():
        state = torch.load(ckpt, map_location=dev, weights_only=False)
        if state.get("settings", {}).get("method") == settings.method:
            named = dict(model.named_parameters())
            for k, v in state["weights"].items():
                named[k].data.copy_(v)
            opt.load_state_dict(state["opt"])
            step, before, losses = state["step"], state["before"], state["losses"]
            elapsed_before = state["elapsed"]
    resumed_from = step
    if before is None and step == 0:
        before = held_out_loss(model, windows, dev)
    ddp = torch.nn.parallel.DistributedDataParallel(model) if dist else model
    t0 = time.time()
    last_save = t0

    def save() -> None:
        if rank != 0:
            return
        tmp = ckpt.with_suffix(".tmp")
        torch.save({"weights": {k: p.detach().cpu() for k, p in model.named_parameters() if p.requires_grad},
                    "opt": opt.state_dict(), "step": step, "before": before, "losses": losses,
                    "elapsed": elapsed_before + time.time() - t0, "settings": asdict(settings)}, tmp)
        tmp.replace(ckpt)

    warmup = max(1, min(30, settings.steps // 10))
    sampler = Sampler(works, settings.length, seed=settings.seed * 100003 + step)
    stopped_by = "steps"
    job.progress(step, settings.steps, "training steps")
    try:
        while step < settings.steps:
            if settings.minutes is not None and time.time() - t0 > settings.minutes * 60:
                stopped_by = "time"
                break
            job.check()
            for g in opt.param_groups:
                g["lr"] = lr_at(step, settings.steps, settings.peak_lr(), warmup=warmup)
            batch = torch.from_numpy(sampler.batch(settings.batch))
            tokens = int(_predicted(batch)[:, 1:].sum())
            mine = batch[rank::world].to(dev)
            loss = _rows_loss(ddp, mine, tokens, world)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            step += 1
            value = float(loss.detach()) / world
            if dist:
                t = torch.tensor([value], device=dev)
                torch.distributed.all_reduce(t)
                value = float(t[0])
            losses.append((step, round(value, 5)))
            if log is not None and rank == 0:
                log(step, value)
            job.progress(step, settings.steps, "training steps")
            if time.time() - last_save >= settings.save_every_s:
                save()
                last_save = time.time()
    except Cancelled:
        save()
        raise
    save()
    after = held_out_loss(model, windows, dev)
    model.eval()
    return model, Outcome(step, settings.steps, before, after, losses, round(time.time() - t0, 2), resumed_from,
                          stopped_by, n_train, n_all, world, dev)


def export(model, folder: Path, settings: Settings, meta: dict) -> None:
    """What load_learned reads: the adapter (LoRA) or the whole network (full), and training.json."""
    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    if settings.method == "lora":
        model.save_pretrained(str(folder / "adapter"))
    else:
        state = {k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items()
                 if k != "lm_head.weight"}
        save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
        model.config.to_json_file(str(folder / "config.json"))
        (folder / "vocab.json").write_text(T.vocab_json())
    (folder / "training.json").write_text(json.dumps(meta, indent=1))


def load_learned(folder: str | os.PathLike, base: str | os.PathLike | None = None, device: str | None = None,
                 threads: int | None = None):
    """A learned style's network, ready to generate (generate.SymbolicModel): the base with the adapter merged
    in, or the fully fine-tuned weights."""
    from .generate import ModelError, SymbolicModel, load, pick_device

    folder = Path(folder)
    if (folder / "model.safetensors").exists():
        return load(folder, device, threads=threads)
    if not (folder / "adapter" / "adapter_config.json").exists():
        raise ModelError(f"{folder} holds neither a LoRA adapter nor a network: learn the style again")
    from peft import PeftModel

    dev = pick_device(device)
    net = base_network(base, dev)
    with _quiet():
        merged = PeftModel.from_pretrained(net, str(folder / "adapter")).merge_and_unload()
    merged.eval()
    meta = json.loads((folder / "training.json").read_text()) if (folder / "training.json").exists() else {}
    return SymbolicModel.of_network(merged, dev, folder, meta, threads=threads)


# ------------------------------------------------------------------ torchrun entry point


def launch(workers: int, args: list[str], threads: int = 1) -> tuple[list[str], dict[str, str]]:
    """The command and environment that run main() with `args` in one process, or in `workers` data-parallel
    processes on this machine (torchrun, rendezvous on a free loopback port; gloo bound to loopback)."""
    import socket

    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MASTER_ADDR": "127.0.0.1"}
    if sys.platform.startswith("linux"):
        env.setdefault("GLOO_SOCKET_IFNAME", "lo")
    if workers == 1:
        return [sys.executable, "-m", "liveloom.models.finetune", *args], env
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return [sys.executable, "-m", "torch.distributed.run", f"--nproc-per-node={workers}", "--nnodes=1",
            "--master-addr=127.0.0.1", f"--master-port={port}", "-m", "liveloom.models.finetune", *args], env




def main() -> None:
    parser = argparse.ArgumentParser(description="Fine-tune on prepared pieces (one process, or one of torchrun's).")
    parser.add_argument("--data", type=Path, required=True, help="a pickle of {'train': [...], 'held_out': [...]}")
    parser.add_argument("--work", type=Path, required=True, help="checkpoint folder (resumes from train.pt)")
    parser.add_argument("--out", type=Path, default=None, help="export the result here (rank 0)")
    parser.add_argument("--base", default=None)
    parser.add_argument("--method", default="lora", choices=["lora", "full"])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--minutes", type=float, default=None)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--length", type=int, default=384)
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default=None)
    parser.add_argument("--save-every", type=float, default=15.0)
    args = parser.parse_args()

    import torch

    if "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1:
        use_nccl = torch.cuda.is_available() and (args.device or "cuda").startswith("cuda")
        torch.distributed.init_process_group("nccl" if use_nccl else "gloo")
    with args.data.open("rb") as f:
        data = pickle.load(f)
    settings = Settings(method=args.method, steps=args.steps, minutes=args.minutes, batch=args.batch,
                        length=args.length, lr=args.lr, seed=args.seed, save_every_s=args.save_every,
                        threads=args.threads)
    rank = torch.distributed.get_rank() if torch.distributed.is_initialized() else 0

    def log(step: int, loss: float) -> None:
        print(json.dumps({"step": step, "loss": round(loss, 5)}), flush=True)

    model, out = finetune(data["train"], data["held_out"], args.work, settings, base=args.base, device=args.device,
                          log=log)
    if rank == 0:
        print(json.dumps({"done": asdict(out)}), flush=True)
        if args.out is not None:
            export(model, args.out, settings, {"outcome": asdict(out), "settings": asdict(settings)})
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
    sys.exit(0)


if __name__ == "__main__":
    main()
