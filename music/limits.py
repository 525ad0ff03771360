"""Bounds that keep one bad request from exhausting memory, disk or Live."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    max_notes_per_clip: int = 20_000
    max_notes_per_song: int = 200_000
    max_clip_beats: float = 4096.0  # 1,024 bars of 4/4
    max_tracks: int = 128
    max_midi_file_bytes: int = 16 * 1024 * 1024
    max_notation_chars: int = 100_000
    max_render_seconds: float = 20 * 60.0
    max_page_size: int = 2_000
    max_audio_bytes: int = 300 * 1024 * 1024
    max_audio_seconds: float = 20 * 60.0


LIMITS = Limits()
