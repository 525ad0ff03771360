"""Writes into Live through a relay that loses, duplicates and reorders datagrams: is every success true, and
does every rollback leave what it says?

    .venv/bin/python bench/faults.py [--writes 10] [--check]

For each script (liveloom's companion, stock AbletonOSC) and each fault rate, N writes of each kind — a clip, a
song (3 tracks, sections as scenes), an automation envelope (companion only: stock AbletonOSC cannot), a track —
a Session clip deleted, a clip duplicated into an empty slot, and with the companion a mixer volume in dB and a
device loaded from the browser — go through the real bridge to the fake Live running the real Remote Script,
over UDP on 127.0.0.1. After every
call the fake set is read directly (not through the faulty network): a success must be in the set exactly
(the clip's notes, the song's tracks and notes, the envelope's points, one new track), and a failure that says
"Rolled back" must leave the set as it was. Counted: writes attempted, verified, failed, false successes and
rollback claims that differ from the set read back — the last two must be 0 (--check).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import platform
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from udp_proxy import UdpRelay  # noqa: E402

from liveloom.ableton_bridge.bridge import ClipRef, LiveBridge  # noqa: E402
from liveloom.ableton_bridge.sim import SimulatedLive, free_udp_port  # noqa: E402
from liveloom.ableton_bridge.target import LiveTarget  # noqa: E402
from liveloom.music.automation import shape_steps  # noqa: E402
from liveloom.music.errors import LiveloomError  # noqa: E402
from liveloom.music.types import Clip, Note, PlacedClip, Section, Song, Track  # noqa: E402

RATES = [(0.0, 0.0, 0.0), (0.05, 0.05, 0.05), (0.1, 0.1, 0.1), (0.2, 0.1, 0.1), (0.3, 0.3, 0.1)]


def _clip(rng: random.Random, n: int = 24, name: str = "c") -> Clip:
    notes = [Note(pitch=rng.randint(48, 84), start=round(i * 0.5, 3), duration=0.4, velocity=rng.randint(40, 120))
             for i in range(n)]
    return Clip(name=name, notes=notes, length=16.0)


def _song(rng: random.Random) -> Song:
    tracks = [Track(name=f"t{k}", clips=[PlacedClip(start=0, clip=_clip(rng, 12, f"t{k}a")),
                                          PlacedClip(start=16, clip=_clip(rng, 12, f"t{k}b"))]) for k in range(3)]
    return Song(name="s", tempo=110, tracks=tracks, sections=[Section(name="A", start=0, length=16),
                                                               Section(name="B", start=16, length=16)])


def _state(sim) -> dict:
    """The fake set as it is, read directly."""
    def read():
        song = sim.song
        tracks = []
        for t in song.tracks:
            slots = []
            for s in t.clip_slots:
                c = s.clip
                slots.append(None if c is None else sorted((n.pitch, round(n.start_time, 3))
                                                           for n in c.get_all_notes_extended()))
            tracks.append((t.name, tuple(map(lambda x: None if x is None else tuple(x), slots))))
        return {"tracks": tracks, "scenes": len(song.scenes)}
    return sim.host.call(read)


def _envelope(sim, track: int, slot: int) -> list[tuple[float, float, float]]:
    """The volume envelope's steps in the fake set, read directly: (start, end, value)."""
    def read():
        clip = sim.song.tracks[track].clip_slots[slot].clip
        env = clip.automation_envelope(sim.song.tracks[track].mixer_device.volume) if clip else None
        return list(env._steps) if env is not None else []
    return sim.host.call(read)


async def one_round(extensions: bool, rate: tuple[float, float, float], writes: int, seed: int,
                    counts: collections.Counter, problems: list) -> None:
    drop, dup, reorder = rate
    client_port = free_udp_port()
    to_client = UdpRelay(("127.0.0.1", client_port), drop=drop, duplicate=dup, reorder=reorder, seed=seed)
    sim = SimulatedLive(tick=0.01, extensions=extensions, reply_port=to_client.port).start()
    to_live = UdpRelay(("127.0.0.1", sim.port), drop=drop, duplicate=dup, reorder=reorder, seed=seed + 1)
    bridge = LiveBridge(LiveTarget(False, "127.0.0.1", to_live.port, client_port), timeout=0.3, retries=4)
    rng = random.Random(seed)
    label = f"{'companion' if extensions else 'stock'} {drop:.0%}/{dup:.0%}/{reorder:.0%}"
    kinds = ["clip", "song", "track", "delete", "duplicate"] + (["automation", "mixer", "load"] if extensions else [])
    try:
        for i in range(writes):
            for kind in kinds:
                before = _state(sim)
                counts[(label, "attempted")] += 1
                try:
                    expect = await _write(kind, bridge, sim, rng, before)
                except (LiveloomError, asyncio.TimeoutError) as exc:
                    counts[(label, "failed")] += 1
                    text = str(exc)
                    after = _state(sim)
                    if "Rolled back:" in text and _trimmed(after) != _trimmed(before):
                        counts[(label, "untrue rollback claims")] += 1
                        problems.append((label, kind, "rollback claim", text[:200]))
                    continue
                ok = expect(_state(sim))
                counts[(label, "verified" if ok else "false successes")] += 1
                if not ok:
                    problems.append((label, kind, "false success", ""))
    finally:
        await bridge.close()
        sim.stop()
        to_live.close()
        to_client.close()


def _trimmed(state: dict) -> tuple:
    """A set's tracks and scenes, for comparing before and after a rollback (an empty automation is not a change)."""
    return tuple(state["tracks"]), state["scenes"]


async def _write(kind, bridge, sim, rng, before):
    """Do one write; return a check of the set afterwards that says whether the write is really there."""
    n_tracks = len(before["tracks"])
    if kind == "clip":
        track = rng.randrange(n_tracks)
        slot = next((i for i, c in enumerate(before["tracks"][track][1]) if c is None), None)
        if slot is None:
            await bridge.create_track("spare")
            return lambda after: len(after["tracks"]) == n_tracks + 1
        clip = _clip(rng)
        await bridge.write_clip(clip, track=track, slot=slot)
        want = tuple(sorted((n.pitch, round(n.start, 3)) for n in clip.notes))
        return lambda after: after["tracks"][track][1][slot] == want
    if kind == "song":
        song = _song(rng)
        result = await bridge.write_song(song)
        new = result["tracks"]
        return lambda after: (len(after["tracks"]) == n_tracks + 3
                              and all(after["tracks"][t][0] == f"t{k}" for k, t in enumerate(new))
                              and all(sum(len(s or ()) for s in after["tracks"][t][1]) == 24 for t in new))
    if kind == "track":
        new = await bridge.create_track(f"tr{rng.randrange(1000)}")
        return lambda after: len(after["tracks"]) == n_tracks + 1 and after["tracks"][new][0].startswith("tr")
    filled = [(t, s) for t, (_, slots) in enumerate(before["tracks"]) for s, c in enumerate(slots) if c]
    if kind in ("delete", "duplicate") and filled:
        t, s = rng.choice(filled)
        if kind == "delete":
            await bridge.delete("clip", track=t, slot=s)
            want = [list(slots) for _, slots in before["tracks"]]
            want[t][s] = None
            return lambda after: [list(slots) for _, slots in after["tracks"]] == want
        free = [k for k, c in enumerate(before["tracks"][t][1]) if c is None and k > s]
        if free:
            await bridge.duplicate("clip", track=t, slot=s, to_slot=free[0])
            return lambda after: (after["tracks"][t][1][free[0]] == before["tracks"][t][1][s]
                                  and sum(c is not None for _, sl in after["tracks"] for c in sl)
                                  == len(filled) + 1)
    if kind == "mixer":
        t, db = rng.randrange(n_tracks), rng.randint(-30, 4)
        await bridge.set_mixer(t, volume=db)
        return lambda after: sim.host.call(lambda: str(sim.song.tracks[t].mixer_device.volume)) == f"{db:.1f} dB"
    if kind == "load":
        t, item = rng.randrange(n_tracks), rng.choice(["Reverb", "Utility", "Compressor", "Saturator"])
        count = sim.host.call(lambda: len(sim.song.tracks[t].devices))
        await bridge.load_device(t, item)
        names = lambda: sim.host.call(lambda: [d.name for d in sim.song.tracks[t].devices])  # noqa: E731
        return lambda after: names()[-1:] == [item] and len(names()) == count + 1
    # automation on a clip that is there (also a delete or duplicate with nothing to act on)
    where = [(t, s) for t, (_, slots) in enumerate(before["tracks"]) for s, c in enumerate(slots) if c]
    if not where:
        clip = _clip(rng)
        await bridge.write_clip(clip, track=0, slot=0)
        return lambda after: after["tracks"][0][1][0] is not None
    t, s = rng.choice(where)
    if kind != "automation":
        return lambda after: after == before  # nothing to delete or duplicate here: nothing done
    steps = shape_steps("ramp", start=0, end=8, from_value=0.2, to_value=0.9, resolution=0.5)
    await bridge.write_automation(ClipRef(t, slot=s), "volume", steps)
    want = [(round(a, 6), round(v, 4)) for a, _, v in steps]
    return lambda after: [(round(a, 6), round(v, 4)) for a, _, v in _envelope(sim, t, s)] == want


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=10, help="writes of each kind per script and fault rate")
    parser.add_argument("--check", action="store_true", help="exit 1 on a false success or an untrue rollback claim")
    args = parser.parse_args()
    counts: collections.Counter = collections.Counter()
    problems: list = []
    t0 = time.perf_counter()
    for extensions in (True, False):
        for k, rate in enumerate(RATES):
            asyncio.run(one_round(extensions, rate, args.writes, 100 + k, counts, problems))
    print(f"writes through a faulty network (loss / duplication / reordering, both ways) — {platform.system()} "
          f"{platform.machine()}, {os.cpu_count()} CPU cores; fake Live with the real Remote Script over UDP on "
          f"127.0.0.1; {time.perf_counter() - t0:.0f} s\n")
    print("| script, loss/dup/reorder | attempted | verified | failed (said so) | false successes | untrue rollbacks |")
    print("|---|---|---|---|---|---|")
    labels = list(dict.fromkeys(label for label, _ in counts))
    for label in labels:
        c = {what: counts[(label, what)] for what in ("attempted", "verified", "failed", "false successes",
                                                      "untrue rollback claims")}
        print(f"| {label} | {c['attempted']} | {c['verified']} | {c['failed']} | {c['false successes']} | "
              f"{c['untrue rollback claims']} |")
    total = {w: sum(v for (_, what), v in counts.items() if what == w)
             for w in ("attempted", "verified", "failed", "false successes", "untrue rollback claims")}
    print(f"| all | {total['attempted']} | {total['verified']} | {total['failed']} | {total['false successes']} | "
          f"{total['untrue rollback claims']} |")
    for p in problems[:20]:
        print("PROBLEM", p)
    if args.check:
        sys.exit(1 if total["false successes"] or total["untrue rollback claims"] else 0)


if __name__ == "__main__":
    main()
