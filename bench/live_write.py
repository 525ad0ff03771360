"""Writing to Live: wall time and round trips per verified write, against the fake Live over UDP
with a real Remote Script's ~100 ms main-thread tick.

    .venv/bin/python bench/live_write.py [--runs 3] [--tick 0.1]

Side by side, in the same run, the way peers write notes: one `/live/clip/add/notes` message
per note to stock AbletonOSC, with no read-back — timed until Live has processed them, and
counted afterwards in the fake set (notes that landed). Prints one table.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import time

from liveloom.ableton_bridge.bridge import ClipRef, LiveBridge
from liveloom.ableton_bridge.client import LiveUnavailable, build_message
from liveloom.ableton_bridge.sim import SimulatedLive
from liveloom.music.automation import shape_steps
from liveloom.music.types import Clip, Note, PlacedClip, Section, Song, Track


def make_clip(n: int) -> Clip:
    notes = [Note(pitch=36 + (i * 7) % 60, start=(i // 4) * 0.25 + (i % 4) * 0.01, duration=0.2,
                  velocity=1 + (i * 13) % 127) for i in range(n)]
    length = max(4.0, -(-max(x.end for x in notes) // 4) * 4)
    return Clip(name=f"{n} notes", notes=notes, length=length)


def make_song() -> Song:
    tracks = []
    for t in range(6):
        placed = []
        for section in range(2):
            notes = [Note(pitch=48 + 3 * t + i % 5, start=i * 0.5, duration=0.5, velocity=70 + i % 40)
                     for i in range(64)]
            placed.append(PlacedClip(start=section * 32.0, clip=Clip(name=f"t{t}s{section}", notes=notes, length=32)))
        tracks.append(Track(name=f"Track {t}", clips=placed))
    return Song(name="bench", tempo=120, tracks=tracks,
                sections=[Section(name="A", start=0, length=32), Section(name="B", start=32, length=32)])


async def liveloom_write(n: int, extensions: bool, tick: float) -> tuple[float, int, int, int]:
    sim = SimulatedLive(tick=tick, extensions=extensions).start()
    bridge = LiveBridge(sim.target, timeout=max(1.0, 6 * tick))
    try:
        await bridge.connect()
        clip = make_clip(n)
        t0 = time.perf_counter()
        report = await bridge.write_clip(clip, track=0, slot=0)
        elapsed = time.perf_counter() - t0
        assert report.notes_verified == n
        return elapsed, report.round_trips, report.datagrams, n
    finally:
        await bridge.close()
        sim.stop()


async def per_note_write(n: int, tick: float) -> tuple[float, int, int, int]:
    """A peer's approach: create the clip, then one message per note, no verification."""
    sim = SimulatedLive(tick=tick, extensions=False).start()
    bridge = LiveBridge(sim.target, timeout=max(1.0, 6 * tick))
    try:
        await bridge.connect()
        clip = make_clip(n)
        c = bridge.client
        t0 = time.perf_counter()
        c.send("/live/clip_slot/create_clip", 0, 0, float(clip.length))
        for note in clip.notes:
            c._send_bytes(build_message("/live/clip/add/notes", (0, 0, note.pitch, float(note.start),
                                                                 float(note.duration), note.velocity, False)))
        try:
            await c.query("/live/test", timeout=10.0, retries=0)  # in order: after this Live has seen every note
            elapsed: float | None = time.perf_counter() - t0
        except LiveUnavailable:  # the barrier itself was dropped with the flood
            elapsed = None
            await asyncio.sleep(1.0)
        landed = sim.host.call(lambda: len(sim.song.tracks[0].clip_slots[0].clip.get_all_notes_extended())
                               if sim.song.tracks[0].clip_slots[0].clip else 0)
        return elapsed, 1, n + 1, landed
    finally:
        await bridge.close()
        sim.stop()


async def song_write(tick: float) -> tuple[float, int, int, int]:
    sim = SimulatedLive(tick=tick, extensions=True).start()
    bridge = LiveBridge(sim.target, timeout=max(1.0, 6 * tick))
    try:
        await bridge.connect()
        song = make_song()
        rt0, dg0 = bridge.client.round_trips, bridge.client.datagrams_sent
        t0 = time.perf_counter()
        out = await bridge.write_song(song)
        points = 0
        for t in out["tracks"]:
            steps = shape_steps("sine", start=0, end=32, from_value=0.3, to_value=0.9, rate=8, resolution=0.25)
            res = await bridge.write_automation(ClipRef(t, slot=0), "volume", steps)
            points += res["points_verified"]
        elapsed = time.perf_counter() - t0
        return (elapsed, bridge.client.round_trips - rt0, bridge.client.datagrams_sent - dg0,
                out["notes_verified"] + points)
    finally:
        await bridge.close()
        sim.stop()


def row(label: str, samples: list[tuple[float | None, int, int, int]], total: int | None = None) -> str:
    times = [s[0] for s in samples if s[0] is not None]
    landed = statistics.median([s[3] for s in samples])
    landed_text = f"{landed:,.0f}" + (f" of {total:,}" if total else "")
    if not times:
        return (f"| {label:<46} | {'no reply':>8} | {'(its last message was lost)':^15} | {'-':>5} | "
                f"{samples[0][2]:>6} | {landed_text:>16} |")
    med = statistics.median(times)
    return (f"| {label:<46} | {med:>8.2f} | {min(times):>6.2f} – {max(times):<6.2f} | {samples[0][1]:>5} | "
            f"{samples[0][2]:>6} | {landed_text:>16} |")


async def main_async(runs: int, tick: float) -> dict[str, tuple[float | None, int]]:
    """Prints the table; returns each row's median time (None: no reply) and what landed, for --check."""
    print(f"liveloom → Live writes — fake Live over UDP on 127.0.0.1, {tick * 1000:.0f} ms Remote Script tick; "
          f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores, Python "
          f"{platform.python_version()}, CPU only; {runs} runs each\n")
    print(f"| {'write (verified by read-back unless noted)':<46} | {'median s':>8} | {'range s':^15} | {'trips':>5} | "
          f"{'grams':>6} | {'notes in Live':>16} |")
    print(f"|{'-' * 48}|{'-' * 10}|{'-' * 17}|{'-' * 7}|{'-' * 8}|{'-' * 18}|")
    found: dict[str, tuple[float | None, int]] = {}

    def keep(key: str, samples) -> None:
        times = [s[0] for s in samples if s[0] is not None]
        found[key] = (statistics.median(times) if times else None, min(s[3] for s in samples))

    for n in (10, 100, 1000, 5000):
        for label, fn in ((f"{n:>5} notes, liveloom + LiveloomOSC", lambda: liveloom_write(n, True, tick)),
                          (f"{n:>5} notes, liveloom + stock AbletonOSC", lambda: liveloom_write(n, False, tick)),
                          (f"{n:>5} notes, one message per note, unverified", lambda: per_note_write(n, tick))):
            samples = [await fn() for _ in range(runs)]
            print(row(label, samples, n), flush=True)
            keep(" ".join(label.split()), samples)
    samples = [await song_write(tick) for _ in range(runs)]
    print(row("16-bar 6-track song + 6 volume envelopes", samples, 6 * 2 * 64 + 6 * 128), flush=True)
    keep("song", samples)
    print("\ntrips = request/reply round trips; grams = datagrams sent; notes in Live counts what the fake set "
          "holds afterwards (the song row counts notes plus automation points).")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tick", type=float, default=0.1, help="Remote Script tick in seconds (Live: ~0.1)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a figure the docs claim regresses")
    args = parser.parse_args()
    from claims import require_defaults

    require_defaults(parser, args, ['tick'])
    found = asyncio.run(main_async(args.runs, args.tick))
    if args.check:
        from claims import Claim, report

        claims = []
        for n in (10, 100, 1000, 5000):
            for script in ("LiveloomOSC", "stock AbletonOSC"):
                secs, landed = found[f"{n} notes, liveloom + {script}"]
                claims.append(Claim(f"{n} notes through {script}: notes verified in Live (published all)", landed, n))
        claims.append(Claim("5000 notes through LiveloomOSC, s (published 0.84; 2x room)",
                            found["5000 notes, liveloom + LiveloomOSC"][0] or float("inf"), 1.7, False))
        claims.append(Claim("song: notes + automation points verified (published 1,536 of 1,536)", found["song"][1],
                            6 * 2 * 64 + 6 * 128))
        claims.append(Claim("song, s (published 6.45; 2x room)", found["song"][0] or float("inf"), 13.0, False))
        sys.exit(report(claims))


if __name__ == "__main__":
    main()
