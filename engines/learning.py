"""Learning a producer's style: their songs -> a fine-tuned network, measured against what it had not seen.

    card = learn(sources, name="my lofi", work=..., out=..., settings=Settings(minutes=5), hub=hub, job=job)

The steps, each a stage of the job (progress, cancellable within a training step):
  1. read: MIDI files (size-checked, unreadable ones listed and skipped) and songs given as data;
  2. encode: every track, drums as the kit, a tenth of the songs held out (models/user_corpus.py);
  3. train: LoRA (or every weight) from the shipped network, resumable (models/finetune.py);
  4. measure: held-out loss before and after, and descriptors of melodies (or the most common part) written by
     the network before and after, beside the held-out pieces' own: pitch-class entropy, notes per bar, mean
     interval, 1-bar rhythm repetition.
The card says what the style knows (roles, meters, modes, tempo, kit, melody register and density), where it
came from (file count and content hashes — never the music), and those figures.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path

from liveloom.music.errors import LiveloomError
from liveloom.music.jobs import NO_JOB, Job
from liveloom.music.types import Note, Song

MIN_SONGS = 2
DESCRIBED_BARS = 8
SAMPLES_PER_PIECE = 2


@dataclass
class Source:
    """One piece to learn from: a MIDI file (path) or a song (data), with the name shown for it."""
    name: str
    path: str | None = None
    song: Song | None = None


def read_sources(sources: list[Source], max_bytes: int, job: Job = NO_JOB) -> tuple[list[tuple[str, Song, str]],
                                                                                       dict[str, str]]:
    """(name, song, content hash) for each readable source, and why each other one was skipped."""
    from liveloom.music.midi_io import midi_to_song

    out, skipped = [], {}
    for i, src in enumerate(sources):
        job.progress(i, len(sources), "reading the pieces")
        if src.song is not None:
            digest = hashlib.blake2b(src.song.model_dump_json().encode(), digest_size=16).hexdigest()
            out.append((src.name, src.song, digest))
            continue
        try:
            data = Path(src.path).read_bytes()
            if len(data) > max_bytes:
                skipped[src.name] = f"larger than {max_bytes // 1_000_000} MB"
                continue
            song = midi_to_song(data, name=Path(src.path).stem)
        except (OSError, ValueError, LiveloomError) as exc:
            skipped[src.name] = f"not a readable MIDI file ({str(exc)[:80]})"
            continue
        out.append((src.name, song, hashlib.blake2b(data, digest_size=16).hexdigest()))
    return out, skipped


def request_key(songs: list[tuple[str, Song, str]], settings, name: str) -> str:
    """What a run learns and how, as a folder name: the same request resumes the same checkpoint."""
    h = hashlib.blake2b(digest_size=10)
    for digest in sorted(d for _, _, d in songs):
        h.update(digest.encode())
    h.update(f"{settings.method}:{settings.steps}:{settings.batch}:{settings.length}:{settings.lr}:{settings.rank}:"
             f"{settings.seed}:{name.lower()}".encode())
    return h.hexdigest()


def learn(songs: list[tuple[str, Song, str]], skipped: dict[str, str], name: str, *, work: Path, out: Path,
          settings, hub, like: str | None = None, workers: int = 1, job: Job = NO_JOB) -> dict:
    """Train and measure; the exported network lands in `out`, the card is returned (not yet stored). `workers` > 1:
    data-parallel worker processes on this machine (torchrun, see train_distributed)."""
    from liveloom.models.finetune import export, finetune
    from liveloom.models.user_corpus import encode_songs

    works, report = encode_songs(songs)
    skipped = {**skipped, **report.skipped}
    if report.songs < MIN_SONGS:
        raise LiveloomError(f"{report.songs} usable piece(s); a style needs at least {MIN_SONGS} with notes in a "
                            f"meter of 1 to 8 quarter notes" + (f" (skipped: {_first(skipped)})" if skipped else ""))
    train = [e for e in works if e.split == "train"]
    held = [e for e in works if e.split == "valid"]
    job.progress(0, settings.steps, "training steps")
    if workers > 1:
        outcome = train_distributed(train, held, work, out, settings, workers, base=hub.symbolic_path,
                                    device=hub.device, job=job)
    else:
        model, outcome = finetune(train, held, work, settings, base=hub.symbolic_path, device=hub.device, job=job)
        job.check()
        export(model, out, settings, {"outcome": asdict(outcome), "settings": asdict(settings)})
    job.progress(0, 1, "measuring the result")
    descriptors = describe_before_after(songs, report, held, hub, out, job)
    tempos = sorted(report.tempos)
    mel = report.melody_pitches
    card = {
        "name": name,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "like": like,
        "method": settings.method,
        "base": {"checkpoint": str(hub.symbolic_path) if hub.symbolic_path else "shipped liveloom-small"},
        "sources": {"count": report.songs, "held_out": report.held_out,
                    "hashes": sorted(d for _, _, d in songs), "skipped": len(skipped),
                    "tokens": report.tokens, "tracks_left_out": report.tracks_dropped},
        "knows": {
            "roles": dict(report.roles.most_common()), "meters": dict(report.meters.most_common()),
            "modes": dict(report.modes), "kit": {str(k): v for k, v in report.kit.most_common()},
            "tempo": {"median": round(statistics.median(tempos), 1), "low": tempos[0], "high": tempos[-1]}
            if tempos else {},
            "melody": {"range": [_pct(mel, 0.05), _pct(mel, 0.95)],
                       "notes_per_bar": [round(x, 2) for x in report.melody_notes_per_bar]} if mel else {},
        },
        "training": {"workers": outcome.world, "steps_done": outcome.steps_done, "steps": outcome.steps,
                     "stopped_by": outcome.stopped_by,
                     "seconds": outcome.seconds, "resumed_from": outcome.resumed_from,
                     "held_out_loss_before": outcome.held_out_before, "held_out_loss_after": outcome.held_out_after,
                     "trainable_parameters": outcome.trainable, "device": outcome.device,
                     "last_loss": outcome.losses[-1][1] if outcome.losses else None},
        "descriptors": descriptors,
        "privacy": "trained and stored on this machine; the card keeps content hashes, not the music",
    }
    return card


def train_distributed(train, held, work: Path, out: Path, settings, workers: int, *, base=None, device=None,
                      job: Job = NO_JOB):
    """The same training as finetune(), data-parallel in `workers` processes on this machine (torchrun; gloo on
    loopback on CPU, NCCL on GPUs): progress from rank 0's log lines, cancellation by stopping the processes (the
    checkpoint they saved last, at most `save_every_s` old, is where the next call resumes)."""
    import pickle
    import subprocess
    import tempfile

    from liveloom.models.finetune import Outcome, launch

    work.mkdir(parents=True, exist_ok=True)
    data = work / "data.pkl"
    data.write_bytes(pickle.dumps({"train": train, "held_out": held}))
    threads = max(1, (settings.threads or 1))
    args = ["--data", str(data), "--work", str(work), "--out", str(out), "--method", settings.method,
            "--steps", str(settings.steps), "--batch", str(settings.batch), "--length", str(settings.length),
            "--seed", str(settings.seed), "--threads", str(threads), "--save-every", str(settings.save_every_s)]
    if settings.minutes is not None:
        args += ["--minutes", str(settings.minutes)]
    if settings.lr is not None:
        args += ["--lr", str(settings.lr)]
    if base:
        args += ["--base", str(base)]
    if device:
        args += ["--device", str(device)]
    cmd, env = launch(workers, args, threads)
    errors = tempfile.TemporaryFile(mode="w+")  # a file, not a pipe: a full pipe would stall the workers
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errors, text=True, env=env)
    done = None
    try:
        for line in proc.stdout:
            job.check()
            if line.startswith('{"step"'):
                job.progress(json.loads(line)["step"], settings.steps, "training steps")
            elif line.startswith('{"done"'):
                done = json.loads(line)["done"]
        proc.wait()
    except BaseException:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        raise
    if proc.returncode != 0 or done is None:
        errors.seek(0)
        err = errors.read().strip().splitlines()
        raise LiveloomError(f"the {workers} training processes failed: {(err or ['no message'])[-1][:300]}")
    done["losses"] = [tuple(x) for x in done["losses"]]
    return Outcome(**done)


def _first(skipped: dict[str, str]) -> str:
    k = next(iter(skipped))
    return f"{k}: {skipped[k]}" + (f" and {len(skipped) - 1} more" if len(skipped) > 1 else "")


def _pct(values: list[int], q: float) -> int:
    s = sorted(values)
    return int(s[min(len(s) - 1, int(q * len(s)))])


# ------------------------------------------------------------------ descriptors


def line_descriptors(notes: list[Note], bar: float) -> dict[str, float]:
    """Pitch-class entropy (bits), notes per bar, mean absolute interval (semitones, top line), and the share of
    bars whose onset rhythm repeats the bar before."""
    import math
    from collections import Counter

    from liveloom.music.measures import rhythm_repeat_rate
    from liveloom.music.notes import skyline

    notes = [n for n in notes if not n.mute]
    if not notes:
        return {}
    counts = Counter(n.pitch % 12 for n in notes)
    total = sum(counts.values())
    entropy = -sum(c / total * math.log2(c / total) for c in counts.values())
    top = skyline(notes)
    steps = [abs(b.pitch - a.pitch) for a, b in zip(top, top[1:])]
    bars = max(1, math.ceil(max(n.start + n.duration for n in notes) / bar - 1e-9))
    out = {"pitch_class_entropy": round(entropy, 3), "notes_per_bar": round(len(notes) / bars, 2),
           "mean_interval": round(statistics.fmean(steps), 2) if steps else 0.0}
    repeat = rhythm_repeat_rate(notes, bar, bars)
    if not math.isnan(repeat):
        out["rhythm_repetition"] = round(repeat, 3)
    return out


def _mean(rows: list[dict]) -> dict[str, float]:
    keys = sorted({k for r in rows for k in r})
    return {k: round(statistics.fmean(r[k] for r in rows if k in r), 3) for k in keys}


def _distance(a: dict, b: dict, scale: dict) -> float:
    """Mean of |a - b| / scale over the descriptors both have (scale: the held-out pieces' spread)."""
    keys = [k for k in a if k in b]
    return round(statistics.fmean(abs(a[k] - b[k]) / scale[k] for k in keys), 3) if keys else float("nan")


def describe_before_after(songs, report, held, hub, out: Path, job: Job) -> dict:
    """Descriptors of held-out material and of what the base and the learned network write in its place (the
    same headers, keys, registers and bar counts), and each one's distance from the held-out material."""
    from liveloom.models import tokenizer as T
    from liveloom.models.convert import piece_notes
    from liveloom.models.finetune import load_learned
    from liveloom.models.generate import Constraints

    pieces = [e for e in held if e.header.voices == 1] or []
    role_of = {e.name: e.name.rsplit("(", 1)[-1].rstrip(")") for e in pieces}
    if not pieces:
        return {"note": "no held-out piece (fewer than 5 songs): descriptors not measured"}
    wanted = "melody" if any(r == "melody" for r in role_of.values()) else max(
        set(role_of.values()), key=list(role_of.values()).count)
    pieces = [e for e in pieces if role_of[e.name] == wanted][:6]
    learned = load_learned(out, hub.symbolic_path, hub.device, threads=hub.threads)
    base = hub.symbolic()
    rows: dict[str, list[dict]] = {"held_out": [], "before": [], "after": []}
    total = len(pieces) * (1 + 2 * SAMPLES_PER_PIECE)
    done = 0
    for e in pieces:
        piece = T.decode_bars(e.body.tolist(), e.header.meter_ticks)
        bars = min(DESCRIBED_BARS, len(piece.bar_ticks))
        bar = e.header.meter_ticks / T.TICKS_PER_QUARTER
        voice = T.KIT if wanted == "drums" else 0
        real = [n for v, n in piece_notes(piece) if n.start < bars * bar]
        if not real:
            continue
        rows["held_out"].append(line_descriptors(real, bar))
        pitches = [n.pitch for n in real]
        if voice == T.KIT:
            c = Constraints(kit=frozenset(pitches), max_polyphony=4)
        else:
            scale = frozenset(((e.header.key_tonic + s) % 12) for s in ((0, 2, 3, 5, 7, 8, 10) if e.header.key_minor
                                                                         else (0, 2, 4, 5, 7, 9, 11)))
            c = Constraints(scale=scale, pitch_range=(min(pitches), max(pitches)),
                            max_polyphony=max(1, _stack(real)))
        for which, model in (("before", base), ("after", learned)):
            for seed in range(SAMPLES_PER_PIECE):
                job.progress(done, total, "measuring the result")
                gen = model.generate(e.header, bars, c, seed=seed, temperature=1.0, job=job.check_only())
                rows[which].append(line_descriptors([n for _, n in piece_notes(gen.piece)], bar))
                done += 1
    held_mean = _mean(rows["held_out"])
    spread = {k: max(0.05, statistics.pstdev([r[k] for r in rows["held_out"] if k in r]) or abs(held_mean[k]) * 0.1
                     or 0.05) for k in held_mean}
    before, after = _mean(rows["before"]), _mean(rows["after"])
    return {"part": wanted, "pieces": len(rows["held_out"]), "held_out": held_mean, "before": before, "after": after,
            "distance_before": _distance(before, held_mean, spread),
            "distance_after": _distance(after, held_mean, spread)}


def _stack(notes: list[Note]) -> int:
    from collections import Counter

    return max(Counter(round(n.start, 3) for n in notes).values())
