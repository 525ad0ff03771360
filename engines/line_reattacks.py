"""Melody mode's repeated notes, decided by ear: where the network ends a note and starts another of the same pitch
(within 30 ms), a small trained classifier (models/line_reattacks.py) hears whether the note was played again — a
dip and a new rise in the note's harmonics, a burst in the spectrum, a fresh onset — or is one held note the
network split (vibrato, a bow change, a breath). Split notes are joined; repeated notes stay apart.

On the transcription bench's rendered melodies (a soundfont the classifier never heard) melody mode goes from
0.870 onset F1 with the fixed rule (merge_reattacks: a weak onset and no rise in level) to 0.883: a legato
clarinet's repeated notes stay apart (0.81 -> 0.87), a saw lead's too (0.90 -> 0.92); see the model card.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from liveloom.engines.transcription import HOP, MIDI_OFFSET, SR, NoteEvent, frames_to_time, joined
from liveloom.music.errors import Cancelled

if TYPE_CHECKING:
    import numpy as np

    from liveloom.models.line_reattacks import ReattackModel

N_FFT = 2048
JOIN_GAP_S = 0.03  # a note of the same pitch starting at most this long after the previous one ended
CHUNK_FRAMES = 4096  # frames per STFT chunk: a 20-minute file never holds its whole spectrogram (~420 MB)


class Spectrum:
    """Magnitude STFT frames of mono audio at 22,050 Hz (2048-point Hann, hop 256: the network's frame rate;
    frame k centred on sample k * 256, zeros beyond the ends — librosa.stft's framing), made where asked, and (with
    `flux`) the spectral flux of every frame against the file's median, computed chunk by chunk."""

    def __init__(self, y, cancel: threading.Event | None = None, flux: bool = True):
        import numpy as np

        self.padded = np.pad(np.asarray(y, dtype=np.float32), N_FFT // 2)
        self.n = 1 + (len(self.padded) - N_FFT) // HOP if len(self.padded) >= N_FFT else 0
        self.flux = None
        if flux:
            self.flux = self._flux(cancel)

    def _flux(self, cancel: threading.Event | None):
        import numpy as np

        flux = np.zeros(self.n, dtype=np.float32)
        previous = None
        for a in range(0, self.n, CHUNK_FRAMES):
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            log = np.log1p(100 * self.frames(a, min(self.n, a + CHUNK_FRAMES)))
            first = log[:, :1] if previous is None else previous
            rise = np.diff(log, axis=1, prepend=first)
            rise[rise < 0] = 0
            flux[a:a + log.shape[1]] = rise.sum(axis=0)
            previous = log[:, -1:]
        return flux / (float(np.median(flux)) + 1e-6) if self.n else flux

    def frames(self, a: int, b: int):
        """Magnitudes of frames a..b-1 (clipped to the file), (1025, frames)."""
        import librosa
        import numpy as np

        a, b = max(0, a), min(self.n, b)
        if b <= a:
            return np.zeros((N_FFT // 2 + 1, 0), dtype=np.float32)
        segment = self.padded[a * HOP:(b - 1) * HOP + N_FFT]
        return np.abs(librosa.stft(segment, n_fft=N_FFT, hop_length=HOP, center=False)).astype(np.float32)


def harmonic_envelope(mag, pitch: int):
    """The level of a pitch's first four harmonics per frame of `mag` (each the strongest of its three nearest
    bins)."""
    import numpy as np

    f0 = 440.0 * 2 ** ((pitch - 69) / 12)
    env = np.zeros(mag.shape[1], dtype=np.float32)
    for h in (1, 2, 3, 4):
        b = int(round(f0 * h * N_FFT / SR))
        if b + 1 < mag.shape[0]:
            env += mag[max(0, b - 1):b + 2].max(axis=0)
    return env


def join_features(before: NoteEvent, after: NoteEvent, spectrum: Spectrum, output: dict, times) -> np.ndarray:
    """The classifier's features (models.line_reattacks.FEATURES) for the join where `after` starts."""
    import numpy as np

    from liveloom.models.line_reattacks import ENVELOPE_OFFSETS

    c = int(round(after.start * SR / HOP))
    first = max(0, c - 20)
    env = harmonic_envelope(spectrum.frames(first, c + 21), after.pitch)  # frames first .. c+20
    flux = spectrum.flux

    def level(a: int, b: int, fn=np.max) -> float:
        a, b = max(0, a - first), min(len(env), b - first)
        return float(fn(env[a:b])) if b > a else 0.0

    loudest = level(c - 20, c + 21) + 1e-9
    shape = [np.log10(level(c + k, c + k + 1) / loudest + 1e-3) for k in ENVELOPE_OFFSETS]
    low = level(c - 4, c + 2, np.min)
    dip = np.log10(low / (level(c - 15, c - 2) + 1e-9) + 1e-3)
    rise = np.log10(level(c, c + 10) / (low + 1e-9) + 1e-3)
    burst = float(np.log1p(flux[max(0, c - 2):c + 4].max())) if c < len(flux) else 0.0
    frames = output["note"].shape[0]
    f = min(max(int(np.searchsorted(times, after.start)), 4), frames - 5)
    p = after.pitch - MIDI_OFFSET
    inside = 0 <= p < output["note"].shape[1]
    onset = float(output["onset"][f - 3:f + 4, p].max()) if inside else 0.0
    note_before = float(output["note"][f - 4:f, p].mean()) if inside else 0.0
    note_after = float(output["note"][f:f + 4, p].mean()) if inside else 0.0
    return np.array([*shape, dip, rise, burst, onset, note_before, note_after, note_after / (note_before + 1e-3),
                     min(before.end - before.start, 1.0), min(after.end - after.start, 1.0)], dtype=np.float64)


def joins(line: list[NoteEvent]) -> list[int]:
    """Indices of the line's notes that start where a note of their pitch ends (within JOIN_GAP_S)."""
    return [i for i in range(1, len(line))
            if line[i].pitch == line[i - 1].pitch and line[i].start - line[i - 1].end <= JOIN_GAP_S]


def join_split_notes(line: list[NoteEvent], output: dict, y, model: ReattackModel | None = None,
                     cancel: threading.Event | None = None) -> list[NoteEvent]:
    """A melody line (one note at a time) with the notes the network split joined again, where the classifier
    hears no new attack; `y`: the audio the line was transcribed from (mono, 22,050 Hz). Raises Cancelled soon
    after `cancel` is set (the spectrum of a long file takes a few seconds)."""
    import numpy as np

    from liveloom.models import line_reattacks

    at = joins(line)
    if not at:
        return line
    model = model or line_reattacks.load()
    spectrum = Spectrum(y, cancel)
    times = np.asarray(frames_to_time(output["note"].shape[0]))
    x = np.stack([join_features(line[i - 1], line[i], spectrum, output, times) for i in at])
    again = dict(zip(at, model.probabilities(x) >= model.threshold))
    out: list[NoteEvent] = []
    for i, ev in enumerate(line):
        if i in again and not again[i]:
            out[-1] = joined(out[-1], ev)
        else:
            out.append(ev)
    return out
