"""Server configuration: every LIVELOOM_* setting is read here, from the environment and the command line, and
passed down to the parts that use it (nothing below the server reads the environment)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from liveloom.ableton_bridge.target import LiveTarget, parse_target
from liveloom.engines.render import RenderSettings


def default_home() -> Path:
    """LIVELOOM_HOME, else the per-OS application data folder."""
    env = os.environ.get("LIVELOOM_HOME")
    if env:
        return Path(env).expanduser()
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "liveloom"
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "liveloom"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "liveloom"


def allowed_from_env() -> list[Path]:
    """LIVELOOM_ALLOW: extra folders tools may read and write (os.pathsep-separated)."""
    raw = os.environ.get("LIVELOOM_ALLOW", "")
    return [Path(p).expanduser() for p in raw.split(os.pathsep) if p.strip()]


def target_from_env(text: str | None = None) -> LiveTarget:
    """The Live target given (or LIVELOOM_LIVE, default 127.0.0.1:11000), replies on LIVELOOM_LIVE_REPLY_PORT."""
    return parse_target(text if text is not None else os.environ.get("LIVELOOM_LIVE"),
                        os.environ.get("LIVELOOM_LIVE_REPLY_PORT") or None)


def _env(name: str) -> str | None:
    return os.environ.get(name) or None


def _threads(text: str | None) -> int:
    if text is None:
        return 1
    if not text.strip().isdigit() or int(text) > 256:
        raise ValueError(f"LIVELOOM_THREADS={text!r}: give a number of threads, 1-256, or 0 for torch's default")
    return int(text)


@dataclass
class Config:
    home: Path = field(default_factory=default_home)
    allow: list[Path] = field(default_factory=allowed_from_env)
    live: LiveTarget = field(default_factory=target_from_env)
    # a local symbolic-model checkpoint (default: LIVELOOM_MODEL, else the shipped one)
    model_path: Path | None = field(default_factory=lambda: Path(p) if (p := _env("LIVELOOM_MODEL")) else None)
    device: str | None = field(default_factory=lambda: _env("LIVELOOM_DEVICE"))
    # basic-pitch and Transkun arithmetic: fp32 (default; the reference's notes), bf16, or auto
    transcribe_precision: str = field(default_factory=lambda: _env("LIVELOOM_TRANSCRIBE_PRECISION") or "fp32")
    piano_checkpoint: str | None = field(default_factory=lambda: _env("LIVELOOM_PIANO_CHECKPOINT"))
    # a drum transcription checkpoint folder (drums.safetensors + drums.json), else the shipped one
    drum_checkpoint: str | None = field(default_factory=lambda: _env("LIVELOOM_DRUM_CHECKPOINT"))
    render: RenderSettings = field(default_factory=lambda: RenderSettings(
        fluidsynth=_env("LIVELOOM_FLUIDSYNTH"), soundfont=_env("LIVELOOM_SOUNDFONT")))
    token: str | None = field(default_factory=lambda: _env("LIVELOOM_TOKEN"))
    # intra-op threads for the symbolic model beside a DAW (1: fastest when the machine is busy); 0: torch's default
    threads: int = field(default_factory=lambda: _threads(_env("LIVELOOM_THREADS")))
    # Dask schedulers index_library may send work to besides loopback ones (comma-separated tcp://host:port)
    clusters: tuple[str, ...] = field(default_factory=lambda: tuple(
        a.strip() for a in (_env("LIVELOOM_CLUSTERS") or "").split(",") if a.strip()))
