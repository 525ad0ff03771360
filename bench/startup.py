"""Start-up time, idle memory and warm tool latency of the liveloom server.

    .venv/bin/python bench/startup.py [--runs 5] [--check]

Prints one table: median and range over the runs, and the machine it ran on. Start-up is
measured as a host sees it: from spawning `python -m liveloom serve` to the tools/list answer
over stdio. Idle memory is the server process's resident set after that answer (Linux only).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters


def _rss_of_children(marker: str) -> float | None:
    """Resident memory (MiB) of this process's child whose command line contains `marker`."""
    proc = Path("/proc")
    if not proc.exists():
        return None
    me = str(os.getpid())
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().split()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            if stat[3] == me and marker in cmd:
                for line in (entry / "status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            continue
    return None


async def cold_start(home: str) -> tuple[float, float | None]:
    env = {**os.environ, "LIVELOOM_HOME": home, "LIVELOOM_LIVE": "sim"}
    params = StdioServerParameters(command=sys.executable, args=["-m", "liveloom", "serve"], env=env)
    t0 = time.perf_counter()
    async with Client(params) as client:
        await client.list_tools()
        elapsed = time.perf_counter() - t0
        await anyio.sleep(0.5)
        rss = _rss_of_children("liveloom serve")
    return elapsed, rss


async def warm_calls(home: str, runs: int) -> dict[str, list[float]]:
    from liveloom.ableton_bridge.target import parse_target
    from liveloom.server.app import build_server
    from liveloom.server.config import Config

    server = build_server(Config(home=Path(home), allow=[], live=parse_target("sim")))
    times: dict[str, list[float]] = {}

    async with Client(server) as c:
        async def timed(label: str, tool: str, args: dict) -> dict:
            t0 = time.perf_counter()
            r = await c.call_tool(tool, args)
            times.setdefault(label, []).append(time.perf_counter() - t0)
            assert not r.is_error, r.content[0].text
            return r.structured_content

        # one untimed round to warm imports (matplotlib, music21, numpy)
        for label in ("warm-up",):
            song = await c.call_tool("notation_to_clip", {"text": "X:1\nK:C\nCDEF|"})
            await c.call_tool("piano_roll", {"id": song.structured_content["id"]})
        for _ in range(runs):
            ii_v_i = await timed("notation_to_clip: ii-V-I, 6 bars, swing8", "notation_to_clip",
                                 {"text": "ii7:2bars V7:2bars Imaj7:2bars", "key": "Bb", "rhythm": "swing8"})
            drums = await timed("notation_to_clip: drum grid x16 bars", "notation_to_clip",
                                {"text": "kick: x...x...x...x...\nsnare: ....x.......x...\nhh: x.x.x.x.x.x.x.x.",
                                 "repeat": 16})
            await timed("notation_to_clip: ABC (music21)", "notation_to_clip",
                        {"text": "X:1\nM:4/4\nL:1/8\nK:D\nABcd efga|bagf edcB|ABcd efga|b8|"})
            await timed("export_midi: 2 clips", "export_midi", {"ids": [ii_v_i["id"], drums["id"]]})
            await timed("piano_roll: 16 bars, 2 tracks", "piano_roll", {"id": drums["id"]})
            try:
                t0 = time.perf_counter()
                out = await timed("render_audio: 16 bars of drums", "render_audio", {"id": drums["id"]})
                times.setdefault("render_audio: x real time", []).append(out["seconds"] / (time.perf_counter() - t0))
            except AssertionError as exc:
                times.pop("render_audio: 16 bars of drums", None)
                print(f"(render_audio skipped: {str(exc)[:120]})", file=sys.stderr)
                break
    return times


def _row(label: str, values: list[float], unit: str) -> str:
    scale = 1000.0 if unit == "ms" else 1.0
    med = statistics.median(values) * scale
    lo, hi = min(values) * scale, max(values) * scale
    return f"| {label:<42} | {med:>9.1f} | {lo:>9.1f} – {hi:<9.1f} | {unit:<6} | {len(values):>4} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--check", action="store_true", help="exit 1 when a figure the docs claim regresses")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="liveloom-bench-") as home:
        starts, rss = [], []
        for _ in range(args.runs):
            t, r = anyio.run(cold_start, home)
            starts.append(t)
            if r is not None:
                rss.append(r)
        warm = anyio.run(warm_calls, home, args.runs)

    cpu = platform.processor() or platform.machine()
    print(f"liveloom start-up and latency — {platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores "
          f"({cpu}), Python {platform.python_version()}, CPU only (no GPU used)\n")
    print(f"| {'measure':<42} | {'median':>9} | {'range':^21} | {'unit':<6} | {'runs':>4} |")
    print(f"|{'-' * 44}|{'-' * 11}|{'-' * 23}|{'-' * 8}|{'-' * 6}|")
    print(_row("cold start -> tools/list over stdio", starts, "s"))
    if rss:
        print(_row("idle server memory (RSS) after tools/list", rss, "MiB"))
    for label, values in warm.items():
        print(_row(label, values, "x" if label.endswith("real time") else "ms"))
    if args.check:
        sys.exit(_check(starts, rss, warm))


def _check(starts: list[float], rss: list[float], warm: dict[str, list[float]]) -> int:
    from claims import Claim, report

    med = statistics.median
    claims = [Claim("cold start -> tools/list, s (published 1.0; 2x room)", med(starts), 2.0, False),
              Claim("notation_to_clip ii-V-I, ms (published 9.9; 2x room)",
                    med(warm["notation_to_clip: ii-V-I, 6 bars, swing8"]) * 1000, 20.0, False),
              Claim("export_midi 2 clips, ms (published 31.8; 2x room)", med(warm["export_midi: 2 clips"]) * 1000,
                    64.0, False),
              Claim("piano_roll, ms (published 347; 2x room)", med(warm["piano_roll: 16 bars, 2 tracks"]) * 1000,
                    700.0, False)]
    if rss:
        claims.append(Claim("idle memory, MiB (published 77; +30 %)", med(rss), 100.0, False))
    if "render_audio: x real time" in warm:
        claims.append(Claim("render_audio, x real time (published 61; 2x room)",
                            med(warm["render_audio: x real time"]), 30.0))
    return report(claims)


if __name__ == "__main__":
    main()
