"""MIDI -> WAV through the FluidSynth program and a General MIDI soundfont.

FluidSynth and a GM soundfont are found on PATH and in the usual places, or where the settings say
(the server reads LIVELOOM_FLUIDSYNTH / LIVELOOM_SOUNDFONT into them). Where either is missing, `find_renderer` says what
to install instead of pretending. Rendering runs FluidSynth as a subprocess, so a cancelled
request kills it.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
import tempfile
import time
import wave
from dataclasses import dataclass
from pathlib import Path

import anyio

from liveloom.music.errors import LiveloomError

SOUNDFONT_CANDIDATES = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/soundfonts/default.sf2",
    "/opt/homebrew/share/soundfonts/default.sf2",
    "/opt/homebrew/share/fluid-synth/sf2/VintageDreamsWaves-v2.sf2",
    "/usr/local/share/soundfonts/default.sf2",
    "~/.local/share/soundfonts/FluidR3_GM.sf2",
    "C:/soundfonts/FluidR3_GM.sf2",
)

INSTALL_HINT = (
    "Install FluidSynth and a GM soundfont: Debian/Ubuntu `sudo apt install fluidsynth fluid-soundfont-gm`, "
    "macOS `brew install fluid-synth` plus a .sf2 file, Windows `choco install fluidsynth`; "
    "or point LIVELOOM_FLUIDSYNTH and LIVELOOM_SOUNDFONT at them."
)


@dataclass(frozen=True)
class RenderSettings:
    """Where to look: a FluidSynth program and a soundfont given by the user, else PATH and the usual places;
    and where to render (the workspace's scratch folder, which the server cleans; else the system's)."""

    fluidsynth: str | None = None
    soundfont: str | None = None
    scratch: str | None = None


@dataclass(frozen=True)
class Renderer:
    program: str
    soundfont: Path
    scratch: Path | None = None


def find_renderer(settings: RenderSettings | None = None) -> Renderer:
    settings = settings or RenderSettings()
    program = settings.fluidsynth or shutil.which("fluidsynth")
    if not program or not Path(program).exists():
        raise LiveloomError(f"render_audio needs the FluidSynth program, which was not found. {INSTALL_HINT}")
    env_sf = settings.soundfont
    candidates = [env_sf] if env_sf else list(SOUNDFONT_CANDIDATES)
    for c in candidates:
        p = Path(c).expanduser()
        if p.is_file():
            return Renderer(program=program, soundfont=p.resolve(),
                            scratch=Path(settings.scratch) if settings.scratch else None)
    where = env_sf if env_sf else ", ".join(SOUNDFONT_CANDIDATES[:4])
    raise LiveloomError(f"render_audio needs a General MIDI soundfont (.sf2); none found at {where}. {INSTALL_HINT}")


# Linux: FluidSynth gets SIGKILL when the server dies (prctl PR_SET_PDEATHSIG survives exec), so a killed
# server leaves no renderer writing on. The launcher checks that its parent is still this process first.
_LAUNCHER = ("import ctypes, os, sys\n"
             "ctypes.CDLL(None, use_errno=True).prctl(1, 9)\n"
             "if os.getppid() != int(sys.argv[1]): sys.exit(70)\n"
             "os.execv(sys.argv[2], sys.argv[2:])\n")


def dying_with_this_process(cmd: list[str]) -> list[str]:
    """The command, run so that it dies with this process where the OS allows (Linux); else as it is."""
    if not sys.platform.startswith("linux"):
        return cmd
    return [sys.executable, "-c", _LAUNCHER, str(os.getpid()), *cmd]


def clean_scratch(folder: Path, older_than_s: float = 900.0) -> int:
    """Remove render folders left by a server that was killed mid-render (older than any render may run, so a
    render of another server sharing the workspace is left alone). Returns how many were removed."""
    removed = 0
    if not folder.is_dir():
        return 0
    for d in folder.glob("render-*"):
        try:
            if d.is_dir() and time.time() - d.stat().st_mtime > older_than_s:
                shutil.rmtree(d, ignore_errors=True)
                removed += 1
        except OSError:
            continue
    return removed


@dataclass(frozen=True)
class WavInfo:
    seconds: float
    sample_rate: int
    channels: int
    peak_dbfs: float


def wav_info(data: bytes) -> WavInfo:
    import numpy as np

    with wave.open(io.BytesIO(data)) as w:
        frames = w.readframes(w.getnframes())
        rate, channels, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
        n = w.getnframes()
    if width != 2:
        raise LiveloomError(f"unexpected WAV sample width {width}")
    samples = np.frombuffer(frames, dtype="<i2")
    peak = int(np.max(np.abs(samples.astype(np.int32)))) if samples.size else 0
    peak_db = 20 * float(np.log10(peak / 32768.0)) if peak else float("-inf")
    return WavInfo(seconds=n / rate if rate else 0.0, sample_rate=rate, channels=channels, peak_dbfs=peak_db)


async def render_midi(midi: bytes, renderer: Renderer | None = None, *, sample_rate: int = 44100, gain: float = 0.6,
                      timeout: float = 600.0, sample_format: str = "s16") -> bytes:
    """Render MIDI bytes to stereo WAV bytes: 16-bit, or 32-bit float (`sample_format="float"`: nothing clips, for
    mastering). Raises LiveloomError with FluidSynth's message."""
    renderer = renderer or find_renderer()
    if renderer.scratch is not None:
        renderer.scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="render-", dir=renderer.scratch) as tmp:
        mid_path = Path(tmp) / "in.mid"
        wav_path = Path(tmp) / "out.wav"
        mid_path.write_bytes(midi)
        cmd = [renderer.program, "-ni", "-q", "-g", f"{gain:.3f}", "-r", str(sample_rate), "-O", sample_format,
               "-T", "wav", "-F", str(wav_path), str(renderer.soundfont), str(mid_path)]
        with anyio.fail_after(timeout):
            result = await anyio.run_process(dying_with_this_process(cmd), check=False, stdin=None)
        if result.returncode != 0 or not wav_path.exists() or wav_path.stat().st_size <= 44:
            msg = (result.stderr or result.stdout or b"").decode(errors="replace").strip()[-400:]
            raise LiveloomError(f"FluidSynth failed (exit {result.returncode}): {msg or 'no output'}")
        return wav_path.read_bytes()
