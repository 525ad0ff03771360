"""Every model-backed call reports progress and honours cancellation (issue 17): a cancelled call stops its
computation within about a second and stores nothing."""

from __future__ import annotations

import time

import anyio
import pytest
from helpers import call_ok
from mcp import Client

pytestmark = pytest.mark.anyio

CHORALE = {"role": "chords", "style": "chorale", "key": "F major", "bars": 8, "engine": "model", "seed": 1}


async def _melody(client) -> str:
    made = await call_ok(client, "notation_to_clip", {
        "text": "F4:1 G4:1 A4:1 Bb4:1 | C5:2 A4:2 | Bb4:1 A4:1 G4:2 | F4:4 | A4:1 Bb4:1 C5:1 D5:1 | C5:2 A4:2 | "
                "G4:1 A4:1 G4:2 | F4:4 |", "key": "F major"})
    return made["id"]


async def test_model_calls_report_progress(server):
    async with Client(server) as client:
        melody = await _melody(client)
        for tool, args in (("compose", CHORALE), ("harmonize", {"id": melody, "style": "chorale"}),
                           ("restyle", {"id": melody, "style": "quartet", "voices": 2}),
                           ("continue_clip", {"id": melody, "bars": 2}),
                           ("vary", {"id": melody, "n": 2, "engine": "model"})):
            seen = []

            async def on_progress(progress, total, message, seen=seen):
                seen.append((progress, total, message))

            result = await client.call_tool(tool, args, progress_callback=on_progress)
            assert not result.is_error, (tool, result.content[0].text)
            assert len(seen) >= 2 and seen[-1][0] == seen[-1][1], (tool, seen)
    await server.services.live.close()


async def test_a_cancelled_model_call_stops_and_stores_nothing(server):
    async with Client(server) as client:
        await call_ok(client, "compose", {**CHORALE, "bars": 1})  # the model is loaded before the clock starts
        before = (await call_ok(client, "list_artifacts", {}))["total"]
        started = anyio.Event()

        async def on_progress(progress, total, message):
            if progress >= 1:
                started.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: client.call_tool("compose", {**CHORALE, "bars": 32}, progress_callback=on_progress))
            with anyio.fail_after(60):
                await started.wait()
            tg.cancel_scope.cancel()
        await anyio.sleep(1.0)  # within a second the computation has stopped: the process is idle again
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await anyio.sleep(1.0)
        busy = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
        assert busy < 0.3, f"still computing after the cancel ({busy:.0%} of a core)"
        assert (await call_ok(client, "list_artifacts", {}))["total"] == before  # nothing stored
        again = await call_ok(client, "compose", {**CHORALE, "bars": 2})  # and the server goes on
        assert again["all_checks_passed"]
    await server.services.live.close()
