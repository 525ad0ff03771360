"""Server configuration, from the command line and the environment."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from liveloom.ableton_bridge.target import LiveTarget, parse_target

from .files import allowed_from_env
from .workspace import default_home


@dataclass
class Config:
    home: Path = field(default_factory=default_home)
    allow: list[Path] = field(default_factory=allowed_from_env)
    live: LiveTarget = field(default_factory=parse_target)
    model_path: Path | None = None  # a local symbolic-model checkpoint (default: LIVELOOM_MODEL, else the shipped one)
