"""A band's octave ghosts: is a note found an octave, a twelfth or two octaves from another sounding note a real
note, or only a partial of its partner (a bass's second harmonic, an organ's sub-octave)? A binary logistic
regression on the two notes' levels and timing in the network's outputs and on the spectrum's harmonics at the
note's start (`engines/octave_ghosts.py` computes the features, in FEATURES' order).

Trained on liveloom's own arrangements rendered here through two General MIDI soundfonts with random patches and
evaluated on the transcription bench's band mixes through a third it never heard (`python
bench/octave_ghosts_train.py` makes the data, trains, evaluates and writes the weights; see
`checkpoints/octave-ghosts/MODEL_CARD.md`). The weights are a kilobyte of JSON.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from .binary_logistic import BinaryLogistic, fit, read

FEATURES = (
    "above_octave", "above_twelfth", "above_two_octaves",  # the note lies this far above its partner
    "below_octave", "below_twelfth", "below_two_octaves",  # ... or below it
    "pitch", "partner_pitch",  # (MIDI - 60) / 12
    "amplitude", "partner_amplitude", "amplitude_ratio",  # the decoded notes' mean levels, and their log ratio
    "level_ratio",  # the note head at the two pitches over the note's first quarter second (log ratio)
    "onset_gap", "same_onset", "same_end",  # the note's start minus its partner's (s); together within 50 / 60 ms
    "length", "partner_length",  # log seconds
    "onset", "partner_onset",  # the onset head's strongest output at each pitch around the note's start
    "shared_harmonics",  # the lower note's harmonics where the upper one's fall, over its others (log10)
    "upper_fundamental",  # the spectrum at the upper note's fundamental over the lower one's (log10)
    "polyphony",  # log(1 + notes sounding at the note's start)
)
SHIPPED = Path(__file__).resolve().parent / "checkpoints" / "octave-ghosts" / "octave_ghosts.json"
GhostModel = BinaryLogistic  # P(the note is a ghost)


def load(path: Path | None = None) -> GhostModel:
    """The shipped weights, or a user's file of the same form. Loaded once per process."""
    return _load(str(Path(path or SHIPPED)))


@functools.cache
def _load(key: str) -> GhostModel:
    return read(Path(key), "the octave-ghost classifier", FEATURES, "bench/octave_ghosts_train.py")


def train(x: np.ndarray, ghost: np.ndarray, card: dict, c: float = 1.0, threshold: float = 0.5) -> GhostModel:
    """Fit the classifier on feature rows `x` (in FEATURES' order), labelled True where the note was a ghost."""
    return fit(x, ghost, FEATURES, card, c, threshold)
