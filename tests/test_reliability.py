"""Reliability regressions from the campaign (issue 16): non-finite numbers refused at the boundary, any name
survives MIDI and audio export, a failed call stores nothing, over-long paths are a clear error, and a killed
render leaves neither a renderer running nor its scratch folder behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import HAS_FLUIDSYNTH, call_err, call_ok

from liveloom.engines.render import clean_scratch
from liveloom.music.midi_io import midi_to_song, song_to_midi
from liveloom.music.types import Clip, Note, Song

pytestmark = pytest.mark.anyio

UNICODE_NAME = "Café 名前 🎵"


async def _count(client) -> int:
    return (await call_ok(client, "list_artifacts", {}))["total"]


# ------------------------------------------------------------------ non-finite numbers


async def test_nan_in_a_pitch_bend_is_refused_and_nothing_is_stored(client):
    # JSON carries NaN as a literal or a string; pydantic reads both as a float (the in-process client sends
    # strings, as a literal would become null on its way)
    notes = [{"pitch": 60, "start": 0, "duration": 1, "velocity": 90, "pitch_bend": [[0.0, "NaN"]]}]
    text = await call_err(client, "write_clip", {"notes": notes, "track": 0, "slot": 0})
    assert "finite" in text
    assert await _count(client) == 0


@pytest.mark.parametrize("tool,args,where", [
    ("write_automation", {"track": 0, "slot": 0, "parameter": "volume",
                          "points": [{"beat": 0, "value": 0.5}, {"beat": 4, "value": "inf"}]}, "points.1.value"),
    ("transport", {"action": "loop", "loop": True, "loop_start": "Infinity"}, "loop_start"),
    ("set_device_parameter", {"track": 0, "device": 0, "parameter": "Frequency", "value": "NaN"}, "value"),
])
async def test_infinity_and_nan_are_refused_where_they_are(client, tool, args, where):
    text = await call_err(client, tool, args)
    assert where in text and "finite" in text


def test_stored_data_refuses_non_finite_numbers():
    with pytest.raises(ValueError, match="finite"):
        Note(pitch=60, start=0, duration=1, pitch_bend=[(0.0, float("inf"))])
    with pytest.raises(ValueError, match="finite"):
        Clip(notes=[], length=float("nan"))


# ------------------------------------------------------------------ names outside Latin-1


def test_any_name_round_trips_through_midi():
    clip = Clip(name=UNICODE_NAME, notes=[Note(pitch=60, start=0, duration=1)], length=4)
    song = Song.from_clip(clip).model_copy(update={"name": UNICODE_NAME})
    back = midi_to_song(song_to_midi(song).data)
    assert back.tracks[0].name == UNICODE_NAME


async def test_export_midi_of_a_unicode_name(client, home):
    clip = await call_ok(client, "notation_to_clip", {"text": "C F G C", "name": UNICODE_NAME})
    out = await call_ok(client, "export_midi", {"ids": [clip["id"]]})
    assert midi_to_song(Path(out["path"]).read_bytes()).tracks[0].name == UNICODE_NAME


@pytest.mark.skipif(not HAS_FLUIDSYNTH, reason="needs FluidSynth")
async def test_render_audio_of_a_unicode_name(client):
    clip = await call_ok(client, "notation_to_clip", {"text": "C F G C", "name": UNICODE_NAME})
    out = await call_ok(client, "render_audio", {"id": clip["id"], "path": f"{UNICODE_NAME}.wav"})
    assert Path(out["path"]).stat().st_size > 44


# ------------------------------------------------------------------ paths


async def test_a_name_over_255_bytes_is_a_clear_error_in_every_file_tool(client):
    long = "x" * 300
    clip = await call_ok(client, "notation_to_clip", {"text": "C F"})
    before = await _count(client)
    calls = [("import_midi", {"path": f"{long}.mid"}), ("export_midi", {"ids": [clip["id"]], "path": f"{long}.mid"}),
             ("analyze_clip", {"path": f"{long}.mid"}), ("analyze_audio", {"path": f"{long}.wav"}),
             ("transcribe", {"path": f"{long}.wav"}), ("reorchestrate_audio", {"path": f"{long}.wav"}),
             ("groove_transfer", {"id": clip["id"], "reference_audio": f"{long}.wav"}),
             ("render_audio", {"id": clip["id"], "path": f"{long}.wav"})]
    for tool, args in calls:
        text = await call_err(client, tool, args)
        assert "255 bytes" in text or "FluidSynth" in text, (tool, text)
        assert "OSError" not in text and "Errno" not in text
    assert await _count(client) == before


async def test_export_to_a_folder_that_cannot_be_written_stores_nothing(client, home):
    clip = await call_ok(client, "notation_to_clip", {"text": "C F"})
    before = await _count(client)
    blocker = home / "files" / "blocked"
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("a file where a folder should be")
    text = await call_err(client, "export_midi", {"ids": [clip["id"]], "path": "blocked/out.mid"})
    assert "cannot write" in text
    assert await _count(client) == before


# ------------------------------------------------------------------ renders that are killed


def test_old_render_folders_are_cleaned_and_new_ones_kept(tmp_path):
    old, new = tmp_path / "render-old", tmp_path / "render-new"
    old.mkdir()
    new.mkdir()
    (old / "out.wav").write_bytes(b"x" * 1000)
    past = time.time() - 3600
    os.utime(old, (past, past))
    assert clean_scratch(tmp_path) == 1
    assert not old.exists() and new.exists()  # a render of another server sharing the workspace stays


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the renderer dies with its parent on Linux")
def test_a_renderer_dies_with_a_killed_server(tmp_path):
    """A stand-in FluidSynth is started by render_midi in a child process that is then killed with SIGKILL:
    the renderer must not outlive it."""
    pid_file = tmp_path / "pid"
    fake = tmp_path / "fluidsynth"
    fake.write_text(f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 60\n")
    fake.chmod(0o755)
    sf = tmp_path / "gm.sf2"
    sf.write_bytes(b"RIFF")
    code = ("import anyio, sys\n"
            "from liveloom.engines.render import RenderSettings, find_renderer, render_midi\n"
            f"r = find_renderer(RenderSettings(fluidsynth={str(fake)!r}, soundfont={str(sf)!r}, "
            f"scratch={str(tmp_path / 'scratch')!r}))\n"
            "anyio.run(render_midi, b'MThd', r)\n")
    server = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.monotonic() + 30
        while not (pid_file.exists() and pid_file.read_text().strip()) and time.monotonic() < deadline:
            time.sleep(0.05)
        pid = int(pid_file.read_text())
        os.kill(server.pid, signal.SIGKILL)
        server.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(pid), "the renderer kept running after its server was killed"
        assert list((tmp_path / "scratch").glob("render-*"))  # left behind, for the next start to clean
    finally:
        if server.poll() is None:
            server.kill()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return True
