"""The small classifiers' weights as JSON (sample kind, repeated notes): read a file, say clearly what is wrong."""

from __future__ import annotations

import json
from pathlib import Path

from liveloom.music.errors import ModelFailure


def read(path: Path, what: str, features: tuple[str, ...], retrain: str) -> dict:
    """The JSON at `path` for `what` (e.g. "the sample-kind classifier"), refused unless it was trained on
    `features`; `retrain`: the command that makes a new one."""
    try:
        weights = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ModelFailure(f"{what}'s weights at {path} could not be read ({exc})") from None
    if not isinstance(weights, dict) or weights.get("features") != list(features):
        raise ModelFailure(f"{path} was trained on other features than this liveloom computes; retrain it with "
                           f"{retrain}")
    return weights
