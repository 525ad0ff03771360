"""Mastering for renders: bring a mix to a loudness target (ITU-R BS.1770 integrated loudness, measured with
pyloudnorm) under a sample-peak ceiling, so a render neither clips nor sits 15 dB below a reference track.

    wav, level = master(float_samples, rate, target_lufs=-14.0, ceiling_dbfs=-1.0)

One gain for the whole file (a normaliser, not a compressor: the dynamics stay as written). When reaching the
target would push a peak over the ceiling, the ceiling wins and the result says the loudness it reached.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

MIN_SECONDS = 0.4  # BS.1770 gates 400-ms blocks: shorter audio has no integrated loudness


@dataclass(frozen=True)
class Level:
    lufs: float | None  # integrated loudness after mastering (None: shorter than one 400-ms block, or silent)
    peak_dbfs: float  # sample peak after mastering
    gain_db: float  # the gain applied
    limited_by: str  # what set the gain: "target" (the loudness target), "ceiling" (a peak), "as rendered" (no
    #                  target, no peak over the ceiling), "silence", "short" (no loudness: the ceiling set it)


def _db(x: float) -> float:
    return 20 * math.log10(x) if x > 0 else -200.0


def master(samples, rate: int, target_lufs: float | None = -14.0, ceiling_dbfs: float = -1.0) -> tuple[bytes, Level]:
    """Float samples (frames x channels, any level, unclipped) -> 16-bit WAV bytes at the target loudness (None:
    the level as rendered), never above the ceiling, and what was done."""
    import numpy as np
    import soundfile as sf

    y = np.asarray(samples, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    ceiling = 10 ** (ceiling_dbfs / 20)
    if peak <= 0:
        gain, why, lufs = 1.0, "silence", None
    else:
        loudness = None
        if len(y) >= MIN_SECONDS * rate:
            import pyloudnorm

            measured = pyloudnorm.Meter(rate).integrated_loudness(y)
            loudness = measured if math.isfinite(measured) else None
        if target_lufs is None:
            want = 1.0
        else:
            want = 10 ** ((target_lufs - loudness) / 20) if loudness is not None else math.inf
        gain = min(want, ceiling / peak)
        if want <= ceiling / peak:
            why = "as rendered" if target_lufs is None else "target"
        else:
            why = "short" if loudness is None and target_lufs is not None else "ceiling"
        lufs = None if loudness is None else loudness + _db(gain)
    out = io.BytesIO()
    sf.write(out, np.clip(y * gain, -1.0, 1.0), rate, format="WAV", subtype="PCM_16")
    quantised_peak = min(peak * gain, 1.0)
    return out.getvalue(), Level(None if lufs is None else round(lufs, 2), round(_db(quantised_peak), 2),
                                 round(_db(gain), 2), why)
