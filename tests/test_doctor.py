"""`liveloom doctor` against fake Live installs on a fake file system, and the fake Live over real UDP."""

from __future__ import annotations

import plistlib
import subprocess
import sys
from pathlib import Path

from liveloom.ableton_bridge.sim import SimulatedLive, free_udp_port
from liveloom.ableton_bridge.target import LiveTarget
from liveloom.engines.render import RenderSettings
from liveloom.server.doctor import OK, PROBLEM, report, run_doctor, shipped_script_version
from liveloom.server.remote_script_install import install


def by_name(checks):
    return {c.name: c for c in checks}


def fake_mac(tmp: Path, library: Path) -> tuple[Path, Path]:
    root, home = tmp / "root", tmp / "home"
    app = root / "Applications" / "Ableton Live 12 Suite.app" / "Contents"
    app.mkdir(parents=True)
    with (app / "Info.plist").open("wb") as f:
        plistlib.dump({"CFBundleShortVersionString": "12.1.5 (2024-12-10_5e6ae7ef34)"}, f)
    prefs = home / "Library" / "Preferences" / "Ableton" / "Live 12.1.5"
    prefs.mkdir(parents=True)
    (home / "Library" / "Preferences" / "Ableton" / "Live 11.3.25").mkdir()
    (prefs / "Library.cfg").write_text(f'<?xml version="1.0"?>\n<Ableton><ContentLibrary><UserLibrary>'
                                       f'<LibraryProject><ProjectPath Value="{library}" /></LibraryProject>'
                                       f"</UserLibrary></ContentLibrary></Ableton>")
    return root, home


def renderer(tmp: Path, soundfont: bool = True) -> RenderSettings:
    program = tmp / "bin" / "fluidsynth"
    program.parent.mkdir(parents=True, exist_ok=True)
    program.write_text("#!/bin/sh\n")
    sf = tmp / "GM.sf2"
    if soundfont:
        sf.write_bytes(b"sfbk")
    return RenderSettings(fluidsynth=str(program), soundfont=str(sf))


def test_a_healthy_mac_setup(tmp_path):
    library = tmp_path / "Custom Library"
    install(library / "Remote Scripts")
    root, home = fake_mac(tmp_path, library)
    sim = SimulatedLive(tick=0.01).start()
    try:
        checks = run_doctor(target=sim.target, platform="darwin", root=root, home=home,
                            render_settings=renderer(tmp_path))
    finally:
        sim.stop()
    got = by_name(checks)
    assert all(c.status == OK for c in checks), report(checks)
    assert "Ableton Live 12 Suite (12.1.5)" in got["Ableton Live"].detail
    assert "Live 12.1.5, Live 11.3.25" in got["Ableton Live"].detail  # newest preferences first
    assert str(library / "Remote Scripts") in got["Remote Script"].detail  # Library.cfg's User Library
    assert f"LiveloomOSC {shipped_script_version()} answers" in got["control surface"].detail
    assert report(checks).endswith("all good")


def test_a_broken_windows_setup_says_what_to_fix(tmp_path):
    root, home = tmp_path / "C", tmp_path / "Users" / "me"
    old = home / "Documents" / "Ableton" / "User Library" / "Remote Scripts" / "LiveloomOSC"
    old.mkdir(parents=True)
    (old / "surface.py").write_text('SCRIPT_VERSION = "0.9.0"\n')
    silent = LiveTarget(False, "127.0.0.1", free_udp_port(), free_udp_port())
    checks = run_doctor(target=silent, platform="win32", root=root, home=home, timeout=0.2,
                        render_settings=renderer(tmp_path, soundfont=False))
    got = by_name(checks)
    assert got["Ableton Live"].status == PROBLEM and "no Live install" in got["Ableton Live"].detail
    assert got["Remote Script"].status == PROBLEM and "0.9.0" in got["Remote Script"].detail
    assert "install-remote-script" in got["Remote Script"].fix
    assert got["control surface"].status == PROBLEM and "nothing answers" in got["control surface"].detail
    assert got["soundfont"].status == PROBLEM and "LIVELOOM_SOUNDFONT" in got["soundfont"].fix
    assert report(checks).endswith("4 problems to fix")


def test_a_windows_install_and_an_outdated_companion_answering(tmp_path):
    root, home = tmp_path / "C", tmp_path / "Users" / "me"
    exe = root / "ProgramData" / "Ableton" / "Live 12 Suite" / "Program"
    exe.mkdir(parents=True)
    (exe / "Ableton Live 12 Suite.exe").write_bytes(b"MZ")
    (home / "AppData" / "Roaming" / "Ableton" / "Live 12.2" / "Preferences").mkdir(parents=True)
    sim = SimulatedLive(tick=0.01).start()
    sim.host.surface._handlers["/liveloom/test"] = lambda a: ("0.9.0", "12.2.0")  # an old companion answers
    try:
        checks = run_doctor(target=sim.target, platform="win32", root=root, home=home,
                            render_settings=renderer(tmp_path))
    finally:
        sim.stop()
    got = by_name(checks)
    assert got["Ableton Live"].status == OK and "Ableton Live 12 Suite" in got["Ableton Live"].detail
    assert got["control surface"].status == PROBLEM and "LiveloomOSC 0.9.0 answers" in got["control surface"].detail
    assert got["Remote Script"].status == PROBLEM and "neither" in got["Remote Script"].detail


def test_the_doctor_command_exits_1_when_something_needs_fixing(tmp_path):
    port = free_udp_port()
    run = subprocess.run([sys.executable, "-m", "liveloom", "doctor", "--live", f"127.0.0.1:{port}", "--timeout",
                          "0.2"], capture_output=True, text=True, timeout=120,
                         env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LIVELOOM_LIVE_REPLY_PORT":
                              str(free_udp_port())})
    assert run.returncode == 1, run.stderr
    assert "nothing answers at 127.0.0.1" in run.stdout and "->" in run.stdout
