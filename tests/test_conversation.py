"""The README's scripted conversation runs end to end through `liveloom call` (examples/conversation.sh):
chords, bass, drums, melody, arrange, write_song into the simulated Live set, export MIDI, render WAV."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import mido
import pytest
from helpers import HAS_FLUIDSYNTH

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.skipif(not HAS_FLUIDSYNTH, reason="render_audio needs FluidSynth (scripts/install.sh installs it)")
def test_readme_conversation_runs_from_liveloom_call(tmp_path: Path):
    env = {**os.environ, "LIVELOOM_HOME": str(tmp_path / "home"),
           "LIVELOOM": str(Path(sys.executable).parent / "liveloom")}
    env.pop("LIVELOOM_LIVE", None)
    run = subprocess.run(["bash", str(ROOT / "examples" / "conversation.sh"), "sim"], env=env, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    assert "checks passed: True" in out
    written = int(out.split("clips written and verified: ")[1].split()[0])
    assert written >= 10  # 5 tracks over the song's sections
    midi = tmp_path / "home" / "files" / "lofi-song.mid"
    wav = tmp_path / "home" / "files" / "lofi-song.wav"
    song = mido.MidiFile(str(midi))
    assert len([t for t in song.tracks if any(m.type == "note_on" for m in t)]) == 5
    assert wav.stat().st_size > 100_000
    checks = out.split("checks ")[-1].split()[0]
    passed, total = map(int, checks.split("/"))
    assert passed == total > 0
