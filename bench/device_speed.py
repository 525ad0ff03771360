"""Transcription on a GPU (or any device LIVELOOM_DEVICE names) beside this machine's CPU, on the same audio.

    .venv/bin/python bench/device_speed.py prepare DIR     # here: render, CPU notes and timings (FluidSynth)
    python bench/device_speed.py run DIR [--check]         # on the device machine: time, compare, print

A device machine has torch but neither FluidSynth nor the basic-pitch wheel, and it takes at most 64 MB of
files. So `prepare` renders the solo-piano files of bench/transcribe_bench.py (4 pieces, dry and with reverb
plus noise, 12 s each), keeps them as 16-bit samples at each model's rate, writes basic-pitch's weights as a
.pt state_dict and Transkun 2.0's weights rounded to bfloat16 (28 MB instead of 56; both sides load the
same rounded file, so the comparison is exact), and transcribes everything on this CPU (fp32, and bf16 where
native), timing each file. `run` loads the same files and weights on the device, transcribes each file and all
of them joined into one 96-s recording, and prints speed (x real time, median and range), note F1 against the
rendered MIDI (mir_eval, onsets within 50 ms) and how many files give note for note the CPU's result. --check
fails when a system's F1 on the device is more than 0.005 below its F1 on the CPU.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
PIECES, SECONDS = 4, 12.0


def _notes(events) -> list[tuple[float, float, int]]:
    return [(round(float(e.start), 4), round(float(e.end), 4), int(e.pitch)) for e in events]


def _systems(folder: Path, device: str | None):
    """{label: (function samples -> notes, the key of its samples)} for each model and native precision."""
    import torch

    from liveloom.engines import transcription as tr
    from liveloom.models import basic_pitch_torch as bp
    from liveloom.models import transkun_piano

    out = {}
    for precision in ("fp32", "bf16"):
        net, dev = bp.load(folder / "basic_pitch.pt", device=device, precision=precision)
        if precision == "bf16" and not bp.bf16_is_fast(dev):
            break
        out[f"basic-pitch (general), {precision}"] = (
            lambda y, net=net, dev=dev: _notes(tr.decode(tr.infer(y, net, dev))), "y22")
        piano = transkun_piano.load(folder / "site" / "transkun" / "pretrained" / "2.0.pt", device=device,
                                    precision=precision)
        out[f"Transkun 2.0 (piano), {precision}"] = (
            lambda y, m=piano: _notes(tr.piano_notes(m.transcribe(y))[0]), "y44")
    sync = torch.cuda.synchronize if torch.cuda.is_available() and (device or "cuda").startswith("cuda") else None
    return out, sync


def _timed(fn, y, sync) -> tuple[float, list]:
    t0 = time.perf_counter()
    notes = fn(y)
    if sync:
        sync()
    return time.perf_counter() - t0, notes


def _audio(folder: Path) -> tuple[list[dict], dict]:
    meta = json.loads((folder / "meta.json").read_text())
    data = np.load(folder / "audio.npz")
    files = [{**f, "y22": data[f"{i}_22"].astype(np.float32) / 32767, "y44": data[f"{i}_44"].astype(np.float32) / 32767}
             for i, f in enumerate(meta["files"])]
    return files, meta


def _machine(device: str) -> str:
    import torch

    where = f"GPU {torch.cuda.get_device_name(0)}" if device.startswith("cuda") else f"CPU {platform.processor() or platform.machine()}"
    return f"{where}, {os.cpu_count()} cores, torch {torch.__version__}"


def transcribe_all(folder: Path, device: str | None, repeats: int) -> dict:
    """Each system on each file (the first run of each system is a warm-up, reported apart), then on all files
    joined, `repeats` times."""
    import torch
    from transcribe_bench import f1

    files, meta = _audio(folder)
    systems, sync = _systems(folder, device)
    dev = device or ("cuda" if torch.cuda.is_available() else "cpu")
    result = {"machine": _machine(dev), "threads": torch.get_num_threads(), "systems": {}}
    for label, (fn, key) in systems.items():
        cold, _ = _timed(fn, files[0][key], sync)
        rows = []
        for f in files:
            dt, notes = _timed(fn, f[key], sync)
            rows.append({"speed": f["seconds"] / dt, "notes": notes, "f1": f1([tuple(n) for n in f["truth"]], notes)[0]})
        joined = np.concatenate([f[key] for f in files])
        long = [sum(f["seconds"] for f in files) / _timed(fn, joined, sync)[0] for _ in range(repeats)]
        result["systems"][label] = {"cold_s": cold, "files": rows, "joined": long}
    return result


def prepare(folder: Path) -> None:
    import torch
    from transcribe_bench import INSTRUMENTS, corpus_pieces, render, to_midi

    from liveloom.engines import audio_analysis as aa
    from liveloom.models import basic_pitch_torch as bp
    from liveloom.models import transkun_piano

    folder.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="liveloom-devspeed-"))
    arrays, files = {}, []
    for i, (name, poly, notes) in enumerate(corpus_pieces(PIECES, SECONDS)):
        for wet in (False, True):
            path = tmp / f"{i}_{'wet' if wet else 'dry'}.wav"
            render(to_midi(notes, INSTRUMENTS["piano"]), wet, path)
            k = len(files)
            for rate, key in ((bp.SAMPLE_RATE, "22"), (transkun_piano.SAMPLE_RATE, "44")):
                y, _ = aa.load(path, 1200, rate)
                arrays[f"{k}_{key}"] = np.clip(np.round(y * 32767), -32767, 32767).astype(np.int16)
            files.append({"name": name, "wet": wet, "seconds": len(arrays[f"{k}_22"]) / bp.SAMPLE_RATE,
                          "truth": [list(n) for n in notes]})
    np.savez_compressed(folder / "audio.npz", **arrays)
    net, _ = bp.load(device="cpu")
    torch.save(net.state_dict(), folder / "basic_pitch.pt")
    weights, conf = transkun_piano.wheel_files()
    package = Path(weights).parents[1]
    site = folder / "site" / "transkun"
    shutil.rmtree(site, ignore_errors=True)
    shutil.copytree(package, site, ignore=shutil.ignore_patterns("__pycache__", "*.pt"))
    state = torch.load(weights, map_location="cpu", weights_only=True)
    inner = state.get("best_state_dict", state.get("state_dict", state))
    rounded = {k: v.to(torch.bfloat16) if v.is_floating_point() else v for k, v in inner.items()}
    torch.save({"state_dict": rounded}, site / "pretrained" / "2.0.pt")
    (folder / "meta.json").write_text(json.dumps({"files": files}))
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    (folder / "cpu.json").write_text(json.dumps(transcribe_all(folder, "cpu", 1)))
    print(f"prepared {len(files)} files in {folder} ({sum(p.stat().st_size for p in folder.rglob('*') if p.is_file()) / 1e6:.1f} MB)")


def run(folder: Path, check: bool = False) -> int:
    device = os.environ.get("LIVELOOM_DEVICE") or "cuda"
    here = transcribe_all(folder, device, 3)
    cpu = json.loads((folder / "cpu.json").read_text())
    seconds = sum(f["seconds"] for f in _audio(folder)[1]["files"])
    print(f"transcription, {len(cpu['systems'][next(iter(cpu['systems']))]['files'])} solo-piano files "
          f"({seconds:.0f} s) and the same joined into one recording\n")
    print("| system | where | note F1 (onsets) | x real time per 12-s file, median (range) | x real time, 96-s recording | "
          "first call s | same notes as the CPU |")
    print("|---|---|---|---|---|---|---|")
    for label in here["systems"]:
        for where, res in (("cpu", cpu), ("device", here)):
            s = res["systems"].get(label)
            if s is None:
                continue
            sp = [r["speed"] for r in s["files"]]
            same = sum(1 for a, b in zip(s["files"], cpu["systems"][label]["files"]) if a["notes"] == b["notes"]) \
                if label in cpu["systems"] else 0
            print(f"| {label} | {res['machine']}, {res['threads']} threads | "
                  f"{statistics.mean(r['f1'] for r in s['files']):.3f} | {statistics.median(sp):.1f}x "
                  f"({min(sp):.1f}-{max(sp):.1f}x) | {statistics.median(s['joined']):.1f}x | {s['cold_s']:.2f} | "
                  f"{same}/{len(s['files'])} |")
    print("\n(Transkun's weights are rounded to bfloat16 on both sides to fit the device's 64-MB transfer; "
          "the CPU rows are from `prepare` on this project's machine)")
    if not check:
        return 0
    from claims import Claim, report

    mean_f1 = lambda res, label: statistics.mean(r["f1"] for r in res["systems"][label]["files"])  # noqa: E731
    return report([Claim(f"{label}: note F1 on the device minus on the CPU", mean_f1(here, label) - mean_f1(cpu, label),
                         -0.005) for label in here["systems"] if label in cpu["systems"]])


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4) or sys.argv[1] not in ("prepare", "run") or sys.argv[3:] not in ([], ["--check"]):
        raise SystemExit(__doc__)
    if sys.argv[1] == "prepare":
        prepare(Path(sys.argv[2]))
    else:
        sys.exit(run(Path(sys.argv[2]), check=sys.argv[3:] == ["--check"]))
