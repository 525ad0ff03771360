"""A cancelled render stops its FluidSynth process, and the server goes on serving."""

from __future__ import annotations

import stat
import sys
import time

import anyio
import pytest
from helpers import call_ok, process_alive
from mcp import Client

from liveloom.ableton_bridge.target import parse_target
from liveloom.engines.render import RenderSettings
from liveloom.server.app import build_server
from liveloom.server.config import Config

pytestmark = pytest.mark.anyio



@pytest.mark.skipif(sys.platform == "win32", reason="uses a shell script as the stand-in FluidSynth")
async def test_cancelling_render_audio_kills_fluidsynth(home, tmp_path):
    pid_file = tmp_path / "pid"
    fake = tmp_path / "fluidsynth"
    fake.write_text(f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 60\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    soundfont = tmp_path / "gm.sf2"
    soundfont.write_bytes(b"RIFF")
    # the settings LIVELOOM_FLUIDSYNTH / LIVELOOM_SOUNDFONT give, read once by the server's config
    server = build_server(Config(home=home, allow=[], live=parse_target("sim"),
                                 render=RenderSettings(fluidsynth=str(fake), soundfont=str(soundfont))))
    async with Client(server) as client:
        await _cancel_a_render(client, pid_file)


async def _cancel_a_render(client, pid_file):
    clip = await call_ok(client, "notation_to_clip", {"text": "C F G C"})

    async with anyio.create_task_group() as tg:
        tg.start_soon(client.call_tool, "render_audio", {"id": clip["id"]})
        with anyio.fail_after(20):
            while not pid_file.exists() or not pid_file.read_text().strip():
                await anyio.sleep(0.05)
        pid = int(pid_file.read_text())
        assert process_alive(pid)
        tg.cancel_scope.cancel()

    deadline = time.monotonic() + 10
    while process_alive(pid) and time.monotonic() < deadline:
        await anyio.sleep(0.05)
    assert not process_alive(pid), "FluidSynth kept running after the request was cancelled"
    listed = await call_ok(client, "list_artifacts", {"kind": "audio"})
    assert listed["total"] == 0  # nothing half-made was stored
    assert (await call_ok(client, "list_artifacts", {}))["total"] == 1
