"""`liveloom install-remote-script`: copy LiveloomOSC into Live's User Library."""

from __future__ import annotations

import datetime as _dt
import os
import shutil
import sys
from pathlib import Path

SCRIPT_NAME = "LiveloomOSC"

SELECT_HELP = """\
Next, in Ableton Live:
  1. Restart Live (it reads Remote Scripts at start).
  2. Open Preferences > Link, Tempo & MIDI.
  3. In an empty Control Surface row choose "LiveloomOSC" (Input and Output: None).
LiveloomOSC answers AbletonOSC's addresses too and listens on the same port (11000), so
choose it instead of AbletonOSC, not beside it. Check with: liveloom call live_status"""


def script_source() -> Path:
    from liveloom.ableton_bridge import remote_script

    return Path(remote_script.__file__).resolve().parent / SCRIPT_NAME


def default_remote_scripts_dir() -> Path | None:
    """Live's User Library 'Remote Scripts' folder on macOS and Windows (None elsewhere: pass --path)."""
    if sys.platform == "darwin":
        return Path.home() / "Music" / "Ableton" / "User Library" / "Remote Scripts"
    if sys.platform == "win32":
        base = Path(os.environ.get("USERPROFILE") or Path.home())
        return base / "Documents" / "Ableton" / "User Library" / "Remote Scripts"
    return None


def install(dest_dir: Path, dry_run: bool = False) -> str:
    src = script_source()
    target = dest_dir / SCRIPT_NAME
    files = sorted(p for p in src.glob("*.py"))
    lines = [f"{'would copy' if dry_run else 'copied'} {len(files)} files to {target}"]
    if dry_run:
        return "\n".join(lines + [SELECT_HELP])
    dest_dir.mkdir(parents=True, exist_ok=True)
    if target.exists():
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        backup = dest_dir / f"{SCRIPT_NAME}.bak-{stamp}"
        shutil.move(str(target), str(backup))
        lines.append(f"the previous version was moved to {backup}")
    target.mkdir()
    for f in files:
        shutil.copy2(f, target / f.name)
    return "\n".join(lines + [SELECT_HELP])
