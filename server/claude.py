"""`liveloom install-claude`: add liveloom to Claude Desktop's config, merging, with a backup."""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import sys
from pathlib import Path


def claude_config_path() -> Path:
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "Claude" / "claude_desktop_config.json"
    if sys.platform == "win32":
        base = os.environ.get("APPDATA") or str(Path.home() / "AppData" / "Roaming")
        return Path(base) / "Claude" / "claude_desktop_config.json"
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "Claude" / "claude_desktop_config.json"


def server_entry(home: str | None = None, live: str | None = None) -> dict:
    """How Claude Desktop should start this liveloom: the same Python that runs this command."""
    entry: dict = {"command": sys.executable, "args": ["-m", "liveloom", "serve"]}
    env = {}
    if home:
        env["LIVELOOM_HOME"] = home
    if live:
        env["LIVELOOM_LIVE"] = live
    if env:
        entry["env"] = env
    return entry


def install(config_path: Path, name: str, entry: dict, dry_run: bool = False) -> tuple[str, Path | None]:
    """Merge `entry` into the config under mcpServers[name]. Returns (message, backup path)."""
    config: dict = {}
    if config_path.exists():
        text = config_path.read_text(encoding="utf-8")
        try:
            config = json.loads(text) if text.strip() else {}
        except json.JSONDecodeError as exc:
            raise SystemExit(f"liveloom: {config_path} is not valid JSON ({exc}); fix or move it, then run "
                             "install-claude again. Nothing was changed.") from None
        if not isinstance(config, dict) or not isinstance(config.get("mcpServers", {}), dict):
            raise SystemExit(f"liveloom: {config_path} does not look like a Claude Desktop config (expected an "
                             "object with an 'mcpServers' object). Nothing was changed.")
    servers = config.setdefault("mcpServers", {})
    action = "updated" if name in servers else "added"
    servers[name] = entry
    new_text = json.dumps(config, indent=2) + "\n"
    if dry_run:
        return f"would write {config_path}:\n{new_text}", None
    backup = None
    config_path.parent.mkdir(parents=True, exist_ok=True)
    if config_path.exists():
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        backup = config_path.with_name(f"{config_path.name}.bak-{stamp}")
        shutil.copy2(config_path, backup)
    tmp = config_path.with_name(f".{config_path.name}.tmp")
    tmp.write_text(new_text, encoding="utf-8")
    os.replace(tmp, config_path)
    msg = f"{action} '{name}' in {config_path}" + (f" (backup: {backup})" if backup else "")
    return msg + ". Restart Claude Desktop to load it.", backup
