"""A fake Live Object Model, so Remote Script code runs outside Ableton Live.

Put this folder on `sys.path` (see `install_fake_live`) and `import Live`,
`ableton.v2.control_surface` and `_Framework` resolve here. The surface is checked against the
`ableton-live-stubs` package by a test, so it cannot invent API. It is faithful where writes
can go wrong: note specifications and Live's overlap rule, envelope rules, and APIs gated by
Live version (simulate 11.3 or 12.2).
"""

from __future__ import annotations

import sys
from pathlib import Path

FAKE_ROOT = Path(__file__).resolve().parent


def install_fake_live() -> None:
    """Make `import Live` (and the control-surface frameworks) resolve to the fake."""
    if str(FAKE_ROOT) not in sys.path:
        sys.path.insert(0, str(FAKE_ROOT))
