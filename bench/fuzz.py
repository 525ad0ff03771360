"""Fuzz every tool through a real MCP client: thousands of hostile and careless calls, and the counts.

    .venv/bin/python bench/fuzz.py [--cases 5000] [--seed 1] [--check]

Arguments come from each tool's own input schema (tests/fuzz_cases.py: values that fit, edges, values just
outside, wrong types, NaN and infinity, huge numbers, megabyte strings, paths outside the allowed folders, names in
any script, unknown ids), against the simulated Live set. Counted: calls, results, clean errors, leaked
exceptions (an exception name or a traceback in what the agent reads), error messages over 5,000 characters,
errors that still changed the workspace, server deaths, and calls whose arguments were under 100 KB that took
over 2 s to be refused (work that succeeds may take longer: a model, a render); and unexpected failures (liveloom bugs, reported cleanly with a reference into the server's log).
--check exits 1 unless each of those is 0.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio
from mcp import Client

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from fuzz_cases import arguments, call_and_check  # noqa: E402

from liveloom.ableton_bridge.target import parse_target  # noqa: E402
from liveloom.server.app import build_server  # noqa: E402
from liveloom.server.config import Config  # noqa: E402


async def run(cases: int, seed: int) -> tuple[collections.Counter, dict, list]:
    server = build_server(Config(home=Path(tempfile.mkdtemp(prefix="liveloom-fuzz-")), allow=[],
                                 live=parse_target("sim")))
    counts: collections.Counter = collections.Counter()
    per_tool: dict[str, list[float]] = collections.defaultdict(list)
    bad = []
    async with Client(server) as client:
        tools = (await client.list_tools()).tools
        made = await client.call_tool("notation_to_clip", {"text": "Dm7 G7 | Cmaj7", "tempo": 96})
        ids = [made.structured_content["id"], "clip_0000000000"]
        rng = random.Random(seed)
        for i in range(cases):
            tool = rng.choice(tools)
            args = arguments(tool.input_schema, rng, ids)
            out = await call_and_check(client, tool.name, args)
            counts["calls"] += 1
            counts["clean errors" if out.is_error else "results"] += 1
            per_tool[tool.name].append(out.seconds)
            small = len(json.dumps(args, default=str)) < 100_000
            problems = {"leaked exceptions": out.leaked, "messages over 5,000 characters": out.too_long,
                        "errors that changed the workspace": out.stored_on_error, "server deaths": not out.alive,
                        "unexpected failures (bugs, said cleanly)": out.unexpected,
                        "inputs under 100 KB refused after over 2 s": small and out.is_error and out.seconds > 2.0}
            for what, hit in problems.items():
                counts[what] += int(hit)
            if any(problems.values()):
                bad.append((tool.name, round(out.seconds, 2), [w for w, h in problems.items() if h], out.message,
                            json.dumps(args, default=str)[:300]))
            if not out.alive:
                break
            if not out.is_error and rng.random() < 0.2:  # new artifacts become ids to pass to later calls
                listed = await client.call_tool("list_artifacts", {"limit": 5})
                ids[2:] = [x["id"] for x in listed.structured_content["items"]][:5]
    await server.services.live.close()
    return counts, per_tool, bad


PROBLEMS = ("leaked exceptions", "messages over 5,000 characters", "errors that changed the workspace",
            "server deaths", "unexpected failures (bugs, said cleanly)", "inputs under 100 KB refused after over 2 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--check", action="store_true", help="exit 1 unless every problem count is 0")
    args = parser.parse_args()
    t0 = time.perf_counter()
    counts, per_tool, bad = anyio.run(run, args.cases, args.seed)
    print(f"fuzzing every tool through an MCP client — {platform.system()} {platform.machine()}, "
          f"{os.cpu_count()} CPU cores, CPU only; seed {args.seed}; {time.perf_counter() - t0:.0f} s\n")
    print("| count | calls |\n|---|---|")
    for what in ("calls", "results", "clean errors", *PROBLEMS):
        print(f"| {what} | {counts[what]:,} |")
    print("\n| tool | calls | median ms | slowest ms |\n|---|---|---|---|")
    for name, times in sorted(per_tool.items()):
        print(f"| {name} | {len(times)} | {statistics.median(times) * 1000:.1f} | {max(times) * 1000:.0f} |")
    for row in bad[:20]:
        print("PROBLEM", row)
    if args.check:
        sys.exit(1 if any(counts[p] for p in PROBLEMS) else 0)


if __name__ == "__main__":
    main()
