"""The `liveloom` command line, run as a user would run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import HAS_FLUIDSYNTH


def run(home: Path, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "LIVELOOM_HOME": str(home), "LIVELOOM_LIVE": "sim"}
    return subprocess.run([sys.executable, "-m", "liveloom", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_call_notation_to_clip_ii_V_I_in_Bb_two_bars_each_swung_eighths(home):
    args = {"text": "ii7:2bars V7:2bars Imaj7:2bars", "key": "Bb major", "rhythm": "swing8", "tempo": 140}
    proc = run(home, "call", "notation_to_clip", "--json", json.dumps(args))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert [c["chord"] for c in out["chords"]] == ["Cm7", "F7", "Bbmaj7"]
    assert out["bars"] == 6 and out["key"] == "Bb major" and out["tempo"] == 140
    listed = json.loads(run(home, "call", "list_artifacts").stdout)
    assert listed["items"][0]["id"] == out["id"]


@pytest.mark.slow
def test_call_errors_have_exit_codes_and_messages(home):
    proc = run(home, "call", "get_clip", "--json", '{"id": "clip_nope"}')
    assert proc.returncode == 1 and "no artifact" in proc.stderr and "Traceback" not in proc.stderr
    proc = run(home, "call", "no_such_tool")
    assert proc.returncode == 2 and "liveloom tools" in proc.stderr
    proc = run(home, "call", "get_clip", "--json", "{broken")
    assert proc.returncode == 2 and "not valid JSON" in proc.stderr
    proc = run(home, "call", "get_clip", "--json", "[1, 2]")
    assert proc.returncode == 2 and "JSON object" in proc.stderr


def test_tools_and_version(home):
    proc = run(home, "tools")
    assert proc.returncode == 0 and "notation_to_clip" in proc.stdout and "[read-only]" in proc.stdout
    schemas = json.loads(run(home, "tools", "--json").stdout)
    assert {t["name"] for t in schemas} >= {"get_clip", "render_audio"}
    assert all("inputSchema" in t and "outputSchema" in t for t in schemas)
    assert run(home, "--version").stdout.startswith("liveloom ")


def test_bad_live_target_is_a_clear_error(home):
    proc = run(home, "tools", "--live", "nonsense")
    assert proc.returncode != 0 and "HOST:PORT" in proc.stderr


@pytest.mark.slow
@pytest.mark.skipif(not HAS_FLUIDSYNTH, reason="FluidSynth is not installed")
def test_demo_leaves_a_midi_a_png_and_a_wav(home):
    proc = run(home, "demo")
    assert proc.returncode == 0, proc.stderr
    report = proc.stdout.split("liveloom demo wrote:")[1]  # one ordered report on stdout: steps, then files
    assert proc.stdout.startswith("liveloom demo:") and "  arrange" in proc.stdout.split("liveloom demo wrote:")[0]
    paths = dict(line.split(None, 1) for line in report.strip().splitlines())

    midi, png, wav = Path(paths["MIDI"]), Path(paths["PNG"]), Path(paths["WAV"])
    assert midi.read_bytes().startswith(b"MThd")
    assert png.read_bytes().startswith(b"\x89PNG")
    assert wav.read_bytes()[:4] == b"RIFF" and wav.stat().st_size > 1_000_000
    for p in (midi, png, wav):
        assert p.resolve().is_relative_to(home.resolve())
    from liveloom.music.midi_io import midi_to_song

    song = midi_to_song(midi.read_bytes())
    assert len(song.tracks) == 5 and sum(t.is_drum for t in song.tracks) == 1  # the sketch + a counter-melody
    total = sum(len(t.notes_on_timeline()) for t in song.tracks)
    assert paths["LIVE"] == (f"5 tracks (5 with instruments), {total} notes verified in the simulated Live set "
                             "(--live sim; --live 127.0.0.1:11000 for your Live)")


def test_install_claude_merges_with_a_backup(tmp_path, home):
    config = tmp_path / "claude_desktop_config.json"
    config.write_text(json.dumps({"mcpServers": {"other": {"command": "x"}}, "theme": "dark"}))
    proc = run(home, "install-claude", "--config", str(config), "--live", "sim")
    assert proc.returncode == 0, proc.stderr
    merged = json.loads(config.read_text())
    assert merged["theme"] == "dark" and merged["mcpServers"]["other"] == {"command": "x"}
    entry = merged["mcpServers"]["liveloom"]
    assert entry["args"] == ["-m", "liveloom", "serve"] and entry["env"] == {"LIVELOOM_LIVE": "sim"}
    backups = list(tmp_path.glob("claude_desktop_config.json.bak-*"))
    assert len(backups) == 1 and "liveloom" not in backups[0].read_text()
    # the entry it wrote really starts the server
    check = subprocess.run([entry["command"], *entry["args"][:2], "tools"], capture_output=True, text=True,
                           env={**os.environ, "LIVELOOM_HOME": str(home)}, timeout=120)
    assert "notation_to_clip" in check.stdout


def test_install_claude_leaves_a_broken_config_alone(tmp_path, home):
    config = tmp_path / "c.json"
    config.write_text("{ not json")
    proc = run(home, "install-claude", "--config", str(config))
    assert proc.returncode != 0 and "not valid JSON" in proc.stderr
    assert config.read_text() == "{ not json"
    dry = tmp_path / "new.json"
    proc = run(home, "install-claude", "--config", str(dry), "--dry-run")
    assert proc.returncode == 0 and "would write" in proc.stdout and not dry.exists()


def test_start_up_imports_no_heavy_library(home):
    code = (
        "import sys, anyio\n"
        "from liveloom.server.app import build_server\n"
        "from liveloom.server.config import Config\n"
        "s = build_server(Config())\n"
        "tools = anyio.run(s.list_tools)\n"
        "heavy = [m for m in ('torch', 'librosa', 'music21', 'matplotlib', 'numpy', 'transformers') "
        "if m in sys.modules]\n"
        "print(len(tools), heavy)\n"
    )
    env = {**os.environ, "LIVELOOM_HOME": str(home)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("[]"), proc.stdout


def test_install_remote_script_copies_the_script_and_says_how_to_select_it(tmp_path, home):
    dest = tmp_path / "Remote Scripts"
    proc = run(home, "install-remote-script", "--path", str(dest))
    assert proc.returncode == 0, proc.stderr
    assert "choose \"LiveloomOSC\"" in proc.stdout and "Preferences" in proc.stdout
    installed = sorted(p.name for p in (dest / "LiveloomOSC").iterdir())
    assert installed == ["__init__.py", "live_set.py", "osc.py", "surface.py"]
    again = run(home, "install-remote-script", "--path", str(dest))
    assert again.returncode == 0 and "previous version was moved" in again.stdout
    assert len(list(dest.glob("LiveloomOSC.bak-*"))) == 1
    # the installed copy is stdlib-only apart from Live's own modules
    import ast

    for f in (dest / "LiveloomOSC").glob("*.py"):
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and not getattr(node, "level", 0):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
                for n in names:
                    assert n.split(".")[0] in {"Live", "ableton", "_Framework", "errno", "socket", "struct",
                                               "collections", "__future__"}, (f.name, n)


def test_every_subcommand_has_help_with_examples():
    from liveloom.server.cli import build_parser

    parser = build_parser()
    subs = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, sub in subs.choices.items():
        text = sub.format_help()
        assert "examples:" in text and f"liveloom {name}" in text.split("examples:", 1)[1], name


def test_tools_lists_whole_first_sentences():
    from liveloom.server.cli import first_sentence

    assert first_sentence("Write a clip (an artifact id, or inline notes) into a Session slot.\nThen read it "
                          "back.\n\nExample: {}") == "Write a clip (an artifact id, or inline notes) into a Session slot."
    assert first_sentence("Tempo e.g. 82 BPM, or 1.5x. Next") == "Tempo e.g. 82 BPM, or 1.5x."
