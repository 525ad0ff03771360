"""Learning a producer's style: learn_style, list_styles, delete_style.

A learned style is the shipped network fine-tuned (LoRA through peft) on the producer's own songs, kept in the
workspace with a card; compose and continue_clip take its name like a library style's.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Annotated, Literal

import anyio
from mcp.server.mcpserver import Context
from pydantic import BaseModel, Field

from liveloom.engines import learning, library_index
from liveloom.music.errors import LiveloomError
from liveloom.music.limits import LIMITS
from liveloom.music.styles import get_style, style_names
from liveloom.music.types import PlacedClip, Song, Track
from liveloom.store.styles import check_name
from liveloom.tools.base import run_job, services, tool

MAX_SOURCES = 2000
MIDI_SUFFIXES = (".mid", ".midi")


class LearnResult(BaseModel):
    name: str
    pieces: int = Field(description="Songs learned from (held-out ones included).")
    held_out: int
    skipped: list[str] = Field(default_factory=list, description="Sources left out, and why (the first 10).")
    knows: str = Field(description="Roles, meters, keys and tempo heard, in words.")
    steps: str = Field(description="Training steps done of those asked for, and why it stopped.")
    seconds: float
    resumed_from: int = Field(description="The step an interrupted run of the same request had reached (0: new).")
    held_out_loss: str = Field(description="Loss on the held-out pieces, before -> after (lower: the network "
                                           "predicts the producer's music better).")
    descriptors: str = Field(description="How far generated parts are from the held-out pieces (0 = the same "
                                         "descriptors), before -> after.")
    use: str


class StyleRow(BaseModel):
    name: str
    kind: Literal["library", "learned"]
    knows: str


class StyleList(BaseModel):
    styles: list[StyleRow]
    learned: int


@tool(title="Learn a style from my music", read_only=False, destructive=False, idempotent=False)
async def learn_style(
    ctx: Context,
    name: Annotated[str, Field(min_length=1, max_length=48, description="What to call the style.",
                               examples=["my lofi"])],
    folder: Annotated[str | None, Field(max_length=4096, description="A folder of MIDI files inside an allowed "
                                        "one (sub-folders included).", examples=["MIDI/my beats"])] = None,
    ids: Annotated[list[str] | None, Field(max_length=500, description="Song or clip artifacts to learn from "
                                           "(e.g. read_song results).")] = None,
    minutes: Annotated[float, Field(gt=0, le=240, description="Time budget: training stops (saved) after this "
                                    "long; a second call goes on.")] = 5.0,
    steps: Annotated[int, Field(ge=10, le=20000, description="Training steps in all (the schedule's length).")] = 300,
    method: Annotated[Literal["lora", "full"], Field(description="lora: a small adapter (default); full: every "
                                                     "weight.")] = "lora",
    like: Annotated[str | None, Field(max_length=40, description="The library style for the parts the music "
                                      "does not hold (and for progressions). Default pop.")] = None,
    replace: Annotated[bool, Field(description="Replace a learned style of the same name.")] = False,
    workers: Annotated[int, Field(ge=1, le=64, description="Data-parallel training processes on this machine "
                                  "(torchrun); 1 trains in the server.")] = 1,
) -> LearnResult:
    """Fine-tune liveloom's model on the producer's own MIDI (every track, drums included; 1 in 10 songs held out
    to measure it). Long job: progress, cancellable; an interrupted or cancelled run resumes when called again with
    the same arguments. The style's name then works in compose and continue_clip. Data stays on this machine.

    Example: {"name": "my lofi", "folder": "MIDI/lofi", "steps": 10}."""
    svc = services(ctx)
    name = check_name(name)
    existing = svc.styles.find(name)
    unfinished = existing is not None and existing["training"]["stopped_by"] == "time"
    if existing is not None and not (replace or unfinished):
        raise LiveloomError(f"a learned style named {name!r} exists; pass replace=true or choose another name")
    if _library_name(name):
        raise LiveloomError(f"{name!r} is a library style's name or alias; choose another (e.g. 'my {name}')")
    like_style = get_style(like).name if like else None
    sources: list[learning.Source] = []
    if folder:
        root = svc.files.folder(folder)
        scan = await anyio.to_thread.run_sync(lambda: library_index.scan(root))
        found = [f for f in scan.files if f.path.lower().endswith(MIDI_SUFFIXES)]
        if len(found) > MAX_SOURCES:
            raise LiveloomError(f"{folder} holds {len(found):,} MIDI files; learn from at most {MAX_SOURCES:,} "
                                "(a sub-folder)")
        sources += [learning.Source(name=os.path.relpath(f.path, root), path=f.path) for f in found]
    for artifact_id in ids or []:
        record = svc.workspace.get(artifact_id)
        if record.kind == "song":
            _, song = svc.workspace.load_song(artifact_id)
        elif record.kind == "clip":
            _, clip = svc.workspace.load_clip(artifact_id)
            song = Song(name=clip.name, tempo=clip.tempo or 120.0, time_signature=clip.time_signature,
                        tracks=[Track(name=clip.name, role=clip.role, is_drum=clip.is_drum,
                                      clips=[PlacedClip(clip=clip)])])
        else:
            raise LiveloomError(f"{artifact_id} is {record.kind}; learn from songs and clips (or a folder of MIDI)")
        sources.append(learning.Source(name=f"{artifact_id} ({record.name})", song=song))
    if not sources:
        raise LiveloomError("give a folder of MIDI files or artifact ids (songs, clips) to learn from")
    if len(sources) > MAX_SOURCES:
        raise LiveloomError(f"{len(sources)} sources; learn from at most {MAX_SOURCES:,}")

    from liveloom.models.finetune import Settings

    settings = Settings(method=method, steps=steps, minutes=minutes, threads=svc.models.threads or None)
    started = time.perf_counter()

    def work(job):
        songs, skipped = learning.read_sources(sources, LIMITS.max_midi_file_bytes, job)
        request = learning.request_key(songs, settings, name)
        run_dir = svc.styles.work_folder(request)
        out = run_dir / "export"
        if out.exists():
            shutil.rmtree(out)
        card = learning.learn(songs, skipped, name, work=run_dir / "checkpoint", out=out, settings=settings,
                              hub=svc.models, like=like_style, workers=workers, job=job)
        return card, skipped, request, out

    card, skipped, request, out = await run_job(ctx, work)
    if card["training"]["stopped_by"] == "steps":
        await anyio.to_thread.run_sync(lambda: svc.styles.save(name, out, card, replace=replace or unfinished))
        svc.styles.forget_work(request)
    else:  # the time budget ended first: the style is usable now and the run goes on when called again
        await anyio.to_thread.run_sync(lambda: svc.styles.save(name, _copy(out), card, replace=True))
    return _result(card, skipped, time.perf_counter() - started)


def _library_name(name: str) -> bool:
    try:
        get_style(name)
        return True
    except LiveloomError:
        return False


def _copy(folder: Path) -> Path:
    dest = folder.with_name(folder.name + "-saved")
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(folder, dest)
    return dest


def _result(card: dict, skipped: dict[str, str], seconds: float) -> LearnResult:
    tr = card["training"]
    d = card.get("descriptors", {})
    if "distance_before" in d:
        desc = (f"{d['part']}: {d['distance_before']} -> {d['distance_after']} over {d['pieces']} held-out pieces "
                f"(held out {_short(d['held_out'])}; before {_short(d['before'])}; after {_short(d['after'])})")
    else:
        desc = d.get("note", "not measured")
    stopped = "done" if tr["stopped_by"] == "steps" else "time budget reached; call again to go on"
    before, after = tr["held_out_loss_before"], tr["held_out_loss_after"]
    return LearnResult(
        name=card["name"], pieces=card["sources"]["count"], held_out=card["sources"]["held_out"],
        skipped=[f"{k}: {v}" for k, v in list(skipped.items())[:10]], knows=knows_text(card),
        steps=f"{tr['steps_done']} of {tr['steps']} ({stopped})", seconds=round(seconds, 1),
        resumed_from=tr["resumed_from"],
        held_out_loss=f"{before} -> {after}" if before is not None else "no held-out pieces (fewer than 5 songs)",
        descriptors=desc,
        use=f"compose(role=..., style={card['name']!r}); it writes "
            f"{', '.join(_roles(card)) or 'no part'} itself, the rest like {card.get('like') or 'pop'}")


def _short(values: dict) -> str:
    names = {"pitch_class_entropy": "pc-entropy", "notes_per_bar": "notes/bar", "mean_interval": "interval",
             "rhythm_repetition": "rhythm-repeat"}
    return ", ".join(f"{names.get(k, k)} {v}" for k, v in values.items())


def _roles(card: dict) -> list[str]:
    return list(card.get("knows", {}).get("roles", {}))


def knows_text(card: dict) -> str:
    k = card.get("knows", {})
    roles = ", ".join(f"{r} ({n})" for r, n in k.get("roles", {}).items())
    meters = ", ".join(k.get("meters", {}))
    modes = ", ".join(f"{m} {n}" for m, n in k.get("modes", {}).items())
    tempo = k.get("tempo") or {}
    t = f"{tempo['low']:g}-{tempo['high']:g} BPM (median {tempo['median']:g})" if tempo else "no tempo"
    return (f"{card['sources']['count']} pieces; tracks: {roles}; meters {meters}; {modes or 'no keys'}; {t}; "
            f"learned {card.get('created', '')[:10]} by {card.get('method', 'lora')}")


@tool(title="List styles", read_only=True, idempotent=True)
async def list_styles(
    ctx: Context,
    learned_only: Annotated[bool, Field(description="Only the styles learned from the producer's music.")] = False,
) -> StyleList:
    """Every style compose accepts: the library's (genres written as data) and the ones learned with learn_style
    (what each heard: roles, meters, keys, tempo, pieces, date).

    Example: {"learned_only": true}."""
    svc = services(ctx)
    cards = await anyio.to_thread.run_sync(svc.styles.all)
    rows = [StyleRow(name=c["name"], kind="learned", knows=knows_text(c)) for c in cards]
    if not learned_only:
        for key in style_names():
            st = get_style(key)
            model = f"; the trained model writes it ({st.model_style})" if st.model_style else ""
            rows.append(StyleRow(name=key, kind="library",
                                 knows=f"{st.tempo[0]:g}-{st.tempo[1]:g} BPM, {st.meter}, {st.mode}{model}"))
    return StyleList(styles=rows, learned=len(cards))


@tool(title="Delete a learned style", read_only=False, destructive=True, idempotent=True)
async def delete_style(
    ctx: Context,
    name: Annotated[str, Field(min_length=1, max_length=48, description="A learned style's name.")],
) -> StyleRow:
    """Delete a learned style (its network and card) from the workspace. Library styles cannot be deleted.

    Example: {"name": "my lofi"}."""
    svc = services(ctx)
    if svc.styles.find(name) is None and _library_name(name):
        raise LiveloomError(f"{name!r} is a library style; only learned styles can be deleted")
    card = await anyio.to_thread.run_sync(lambda: svc.styles.delete(name))
    return StyleRow(name=card["name"], kind="learned", knows="deleted: " + knows_text(card))
