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
from helpers import HAS_FLUIDSYNTH, call_err, call_ok, process_alive

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
    assert where in text and ("finite" in text or "less than or equal" in text)  # bounded fields: the schema


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
        while process_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not process_alive(pid), "the renderer kept running after its server was killed"
        assert list((tmp_path / "scratch").glob("render-*"))  # left behind, for the next start to clean
    finally:
        if server.poll() is None:
            server.kill()



# ------------------------------------------------------------------ leaked exceptions and long messages


async def test_ordinary_and_odd_inputs_are_clear_errors_or_work(client, home):
    files = home / "files"
    files.mkdir(parents=True, exist_ok=True)
    note = b"\x00\x90\x3c\x40\x83\x60\x80\x3c\x00"

    def midi(meta: bytes) -> bytes:
        import struct

        track = meta + note + b"\x00\xff\x2f\x00"
        return b"MThd" + struct.pack(">IHHH", 6, 0, 1, 480) + b"MTrk" + struct.pack(">I", len(track)) + track

    (files / "sharps.mid").write_bytes(midi(b"\x00\xff\x59\x02\x7f\x00"))  # a key of 127 sharps
    (files / "tempo0.mid").write_bytes(midi(b"\x00\xff\x51\x03\x00\x00\x00"))  # 0 µs per beat
    (files / "fast.mid").write_bytes(midi(b"\x00\xff\x51\x03\x00\x00\x10"))  # 3.75 million BPM
    text = await call_err(client, "import_midi", {"path": "sharps.mid"})
    assert "not a readable standard MIDI file" in text and "Error:" not in text
    for name in ("tempo0.mid", "fast.mid"):  # tempi outside 20-999 BPM are kept in range, the beats as written
        out = await call_ok(client, "import_midi", {"path": name})
        assert out["tempo"] == 999.0 and out["notes"] == 1
        assert not (await client.call_tool("analyze_clip", {"path": name})).is_error
    # a short chord arpeggiated keeps its third (the voicing is fixed, not only the message)
    em7 = await call_ok(client, "notation_to_clip", {"text": "Em7:1", "rhythm": "arp_up"})
    assert em7["notes"] >= 2
    text = await call_err(client, "notation_to_clip", {"text": "C4:1e309"})
    assert "duration" in text and "Overflow" not in text


@pytest.mark.parametrize("samples", ["nan", "huge"])
async def test_audio_that_is_not_audio_is_a_clear_error(client, home, samples):
    import numpy as np
    import soundfile as sf

    files = home / "files"
    files.mkdir(parents=True, exist_ok=True)
    y = np.full(22050, np.nan if samples == "nan" else 3e38, dtype=np.float32)
    sf.write(files / "odd.wav", y, 22050, subtype="FLOAT")
    clip = await call_ok(client, "notation_to_clip", {"text": "C F"})
    for tool, args in (("analyze_audio", {"path": "odd.wav"}), ("transcribe", {"path": "odd.wav"}),
                       ("groove_transfer", {"id": clip["id"], "reference_audio": "odd.wav"})):
        text = await call_err(client, tool, args)  # transcribe no longer returns an empty clip for it
        assert "odd.wav" in text and "ParameterError" not in text


async def test_a_wav_at_1_hz_is_refused_from_its_header(client, home):
    import wave

    files = home / "files"
    files.mkdir(parents=True, exist_ok=True)
    with wave.open(str(files / "slow.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(1)
        w.writeframes(b"\x00\x01" * 1000)
    t0 = time.perf_counter()
    text = await call_err(client, "analyze_audio", {"path": "slow.wav"})
    assert "sample rate" in text and time.perf_counter() - t0 < 2


async def test_automation_and_transport_numbers_out_of_range_are_refused(client):
    for args in ({"track": 0, "slot": 0, "parameter": "volume", "resolution": 5e-324,
                  "points": [{"beat": 0, "value": 0}, {"beat": 4, "value": 1}]},
                 {"track": 0, "slot": 0, "parameter": "volume",
                  "shape": {"kind": "sine", "end": 4, "from_value": 0, "to_value": 1, "rate": 5e-324}}):
        text = await call_err(client, "write_automation", args)
        assert "greater than or equal" in text and "math domain" not in text
    text = await call_err(client, "transport", {"action": "loop", "loop": True, "loop_length": 1e308})
    assert "loop_length" in text and "Overflow" not in text
    text = await call_err(client, "list_artifacts", {"offset": 9223372036854775808})
    assert "offset" in text


async def test_error_messages_are_short(client):
    text = await call_err(client, "transcribe", {"path": "x.wav", "quantize": "x" * 1_000_000})
    assert len(text) < 2_500 and "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" not in text
    wrong = [{"pitch": "high", "start": "soon", "duration": None}] * 10_000
    text = await call_err(client, "write_clip", {"notes": wrong, "track": 0, "slot": 0})
    assert len(text) < 2_500 and "more" in text and "errors.pydantic.dev" not in text


async def test_a_million_note_midi_is_refused_before_it_is_parsed(client, home):
    track = bytearray(b"\x00\x90\x3c\x40")
    for i in range(999_999):  # running status: two bytes of data a note
        track += b"\x00\x3c\x40"
    track += b"\x00\xff\x2f\x00"
    data = b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x01\xe0MTrk" + len(track).to_bytes(4, "big") + bytes(track)
    (home / "files").mkdir(parents=True, exist_ok=True)
    (home / "files" / "million.mid").write_bytes(data)
    text = await call_err(client, "import_midi", {"path": "million.mid"})
    assert "more than 200,000 notes" in text


@pytest.mark.skipif(not HAS_FLUIDSYNTH, reason="needs FluidSynth")
async def test_reorchestrate_a_recording_with_a_unicode_name(client, home):
    import numpy as np
    import soundfile as sf

    files = home / "files"
    files.mkdir(parents=True, exist_ok=True)
    sr = 22050
    t = np.arange(int(sr * 2.0)) / sr
    tone = np.concatenate([0.4 * np.sin(2 * np.pi * f * t[: sr // 2]) for f in (261.63, 329.63, 392.0, 523.25)])
    sf.write(files / f"{UNICODE_NAME}.wav", tone.astype(np.float32), sr)
    before = await _count(client)
    out = await call_ok(client, "reorchestrate_audio", {"path": f"{UNICODE_NAME}.wav", "ensemble": "brass"})
    assert UNICODE_NAME in out["name"] and Path(out["wav"]).stat().st_size > 44
    assert await _count(client) == before + 2  # the song and its audio, stored once both were made
