"""The README's "Produce a track in Live" calls, run in order in one MCP session against the simulated Live, and
the set they leave checked in the fake Live Object Model itself."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from helpers import HAS_FLUIDSYNTH, call_ok

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[1]


def readme_calls() -> list[tuple[str, dict]]:
    text = (ROOT / "README.md").read_text()
    block = text.split("### Produce a track in Live", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    calls = []
    for line in block.strip().splitlines():
        m = re.match(r"liveloom call (\w+) --json '(.*?)'", line.strip())
        assert m, line
        calls.append((m.group(1), json.loads(m.group(2))))
    return calls


def fill(value, ids: dict):
    if isinstance(value, str) and value.endswith("_…"):
        return ids[value[:-2]]
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    return value


@pytest.mark.skipif(not HAS_FLUIDSYNTH, reason="render_audio needs FluidSynth (scripts/install.sh installs it)")
async def test_the_readme_flow_produces_a_mixed_set(client, server):
    calls = readme_calls()
    assert len(calls) >= 15
    ids: dict[str, str] = {}
    results = {}
    for tool, args in calls:
        out = await call_ok(client, tool, fill(args, ids))
        if isinstance(out.get("id"), str):
            ids[out["id"].split("_")[0]] = out["id"]
        results[tool] = out
    sim = server.services.live.sim
    song = sim.song

    def state():
        tracks = song.tracks
        return {
            "instruments": [[d.name for d in t.devices if d.type == 1] for t in tracks[1:6]],
            "chords": [d.name for d in tracks[3].devices],
            "envelope": tracks[3].arrangement_clips[0]._envelopes.get(tracks[3].devices[-1].parameters[1]),
            "drums": str(tracks[1].mixer_device.volume), "send": str(tracks[1].mixer_device.sends[0]),
            "decay": str(song.return_tracks[0].devices[0].parameters[1]),
            "scene": (song.scenes[0].name, song.scenes[0].tempo),
            "bounce": [(c.file_path, c.start_time) for c in tracks[6].arrangement_clips],
        }

    got = sim.host.call(state)
    assert all(len(names) == 1 for names in got["instruments"]), got["instruments"]
    assert got["chords"][-1] == "Auto Filter" and got["envelope"] is not None
    assert got["envelope"].value_at_time(0.0) == pytest.approx(60.0)
    assert (got["drums"], got["send"], got["decay"]) == ("-6.0 dB", "-15.0 dB", "1.20 s")
    assert got["scene"] == ("Groove", 104.0)
    assert len(got["bounce"]) == 1 and got["bounce"][0][0].endswith(".wav")  # deleted, then undone
    assert results["read_song"]["tracks"][0]["is_drum"] and Path(results["export_midi"]["path"]).is_file()
