"""`liveloom doctor`: is everything in place to make music in Live, and if not, what to do.

Finds Live installs and their versions (macOS: /Applications/Ableton Live*.app; Windows:
ProgramData/Ableton/Live*/Program), Live's preferences folders and the User Library each points to
(Library.cfg), whether the LiveloomOSC Remote Script is installed there and current (or stock
AbletonOSC is), whether a control surface answers on Live's port and which, and whether FluidSynth
and a soundfont are there for render_audio. Every problem comes with its fix. The file system
root, home folder and platform are parameters, so it is tested against fake installs.
"""

from __future__ import annotations

import asyncio
import plistlib
import re
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from .remote_script_install import SCRIPT_NAME

OK, PROBLEM, NOTE = "ok", "problem", "note"


@dataclass
class Check:
    name: str
    status: str  # ok | problem | note
    detail: str
    fix: str = ""


@dataclass
class LiveInstall:
    name: str
    version: str | None
    path: str


def _version_key(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", text)[:3])


def find_live_installs(platform: str, root: Path, home: Path) -> list[LiveInstall]:
    found: list[LiveInstall] = []
    if platform == "darwin":
        for app in sorted((root / "Applications").glob("Ableton Live*.app")) + sorted(
                (home / "Applications").glob("Ableton Live*.app")):
            version = None
            plist = app / "Contents" / "Info.plist"
            if plist.is_file():
                try:
                    with plist.open("rb") as f:
                        info = plistlib.load(f)
                    version = str(info.get("CFBundleShortVersionString") or "").split(" ")[0] or None
                except (plistlib.InvalidFileException, OSError, ValueError):
                    version = None
            found.append(LiveInstall(app.stem, version, str(app)))
    elif platform == "win32":
        for program in sorted((root / "ProgramData" / "Ableton").glob("Live*/Program")):
            exes = sorted(program.glob("Ableton Live*.exe"))
            if exes:
                found.append(LiveInstall(exes[0].stem, None, str(exes[0])))
    return found


def preferences_dirs(platform: str, home: Path) -> list[Path]:
    """Live's per-version preferences folders ('Live 12.1.5'), newest first."""
    if platform == "darwin":
        base = home / "Library" / "Preferences" / "Ableton"
    elif platform == "win32":
        base = home / "AppData" / "Roaming" / "Ableton"
    else:
        return []
    dirs = [d for d in base.glob("Live *") if d.is_dir() and re.fullmatch(r"Live \d+(\.\d+)*(b\d+)?", d.name)]
    return sorted(dirs, key=lambda d: _version_key(d.name), reverse=True)


def user_library(platform: str, home: Path, prefs: list[Path]) -> Path | None:
    """The User Library the newest Live uses (Library.cfg's UserLibrary ProjectPath), else the default."""
    for d in prefs:
        cfg = d / ("Preferences" if platform == "win32" else "") / "Library.cfg"
        if cfg.is_file():
            text = cfg.read_text(errors="replace")
            block = re.search(r"<UserLibrary>(.*?)</UserLibrary>", text, re.S)
            m = re.search(r'<ProjectPath\s+Value="([^"]+)"', block.group(1) if block else "")
            if m:
                return Path(m.group(1))
    if platform == "darwin":
        return home / "Music" / "Ableton" / "User Library"
    if platform == "win32":
        return home / "Documents" / "Ableton" / "User Library"
    return None


def script_version(folder: Path) -> str | None:
    surface = folder / "surface.py"
    if not surface.is_file():
        return None
    m = re.search(r'SCRIPT_VERSION\s*=\s*"([^"]+)"', surface.read_text(errors="replace"))
    return m.group(1) if m else "unknown"


def shipped_script_version() -> str:
    from .remote_script_install import script_source

    return script_version(script_source()) or "unknown"


async def probe(target, timeout: float = 0.6) -> dict:
    """What answers at Live's address: nothing, stock AbletonOSC, or the companion (and its version)."""
    from liveloom.ableton_bridge.bridge import LiveBridge
    from liveloom.ableton_bridge.client import LiveUnavailable

    bridge = LiveBridge(target, timeout=timeout, retries=1)
    try:
        caps = await bridge.connect()
        return {"answers": True, "companion": caps.companion, "script": caps.script,
                "companion_version": caps.companion_version, "live_version": caps.live_version}
    except LiveUnavailable:
        return {"answers": False}
    except OSError as exc:  # the reply port is taken (a running liveloom or AbletonOSC client)
        return {"answers": False, "error": str(exc)}
    finally:
        await bridge.close()


def check_renderer(settings=None) -> list[Check]:
    import shutil

    from liveloom.engines.render import SOUNDFONT_CANDIDATES, find_renderer
    from liveloom.music.errors import LiveloomError

    program = (settings.fluidsynth if settings else None) or shutil.which("fluidsynth")
    checks = []
    if program and Path(program).exists():
        checks.append(Check("FluidSynth", OK, program))
        try:
            checks.append(Check("soundfont", OK, str(find_renderer(settings).soundfont)))
        except LiveloomError:
            where = (settings.soundfont if settings and settings.soundfont else SOUNDFONT_CANDIDATES[0])
            checks.append(Check("soundfont", PROBLEM, f"no General MIDI soundfont at {where}",
                                "install one (Debian/Ubuntu: apt install fluid-soundfont-gm; macOS: put "
                                "FluidR3_GM.sf2 in ~/.local/share/soundfonts) or set LIVELOOM_SOUNDFONT"))
    else:
        checks.append(Check("FluidSynth", PROBLEM, "not found (render_audio cannot make WAVs)",
                            "install it (macOS: brew install fluid-synth; Debian/Ubuntu: apt install fluidsynth; "
                            "Windows: the release zip on PATH) or set LIVELOOM_FLUIDSYNTH"))
    return checks


def run_doctor(*, target, platform: str | None = None, root: Path | None = None, home: Path | None = None,
               render_settings=None, timeout: float = 0.6) -> list[Check]:
    platform = platform or sys.platform
    root = root or Path(Path.home().anchor or "/")
    home = home or Path.home()
    checks: list[Check] = []
    current = shipped_script_version()

    installs = find_live_installs(platform, root, home)
    prefs = preferences_dirs(platform, home)
    if platform not in ("darwin", "win32"):
        checks.append(Check("Ableton Live", NOTE, f"Live runs on macOS and Windows, not {platform}; liveloom can "
                            f"reach a Live on another machine with --live HOST:PORT, or use --live sim"))
    elif installs or prefs:
        versions = [p.name for p in prefs]
        detail = "; ".join(f"{i.name} ({i.version or 'version in preferences'}) at {i.path}" for i in installs)
        detail = detail or "preferences found, application not in the usual place"
        if versions:
            detail += f"; preferences for {', '.join(versions[:3])}"
        newest = _version_key(versions[0]) if versions else (_version_key(installs[0].version or "")
                                                            if installs else ())
        status = OK if not newest or newest >= (11,) else PROBLEM
        checks.append(Check("Ableton Live", status, detail,
                            "" if status == OK else "liveloom needs Live 11 or later (the note API)"))
    else:
        checks.append(Check("Ableton Live", PROBLEM, "no Live install found",
                            "install Ableton Live 11 or 12 (Live Lite and Intro work), or use --live sim"))

    library = user_library(platform, home, prefs)
    if library is not None:
        scripts = library / "Remote Scripts"
        ours = script_version(scripts / SCRIPT_NAME)
        stock = (scripts / "AbletonOSC").is_dir()
        if ours == current:
            checks.append(Check("Remote Script", OK, f"LiveloomOSC {ours} in {scripts}"))
        elif ours:
            checks.append(Check("Remote Script", PROBLEM, f"LiveloomOSC {ours} in {scripts} is older than this "
                                f"liveloom's {current}", "liveloom install-remote-script, then restart Live"))
        elif stock:
            checks.append(Check("Remote Script", NOTE, f"stock AbletonOSC in {scripts}: notes, clips and transport "
                                "work; the browser, mixer, automation, audio clips and Arrangement need the "
                                "companion", "liveloom install-remote-script, restart Live, choose LiveloomOSC"))
        else:
            checks.append(Check("Remote Script", PROBLEM, f"neither LiveloomOSC nor AbletonOSC in {scripts}",
                                "liveloom install-remote-script, restart Live, and choose LiveloomOSC in "
                                "Preferences > Link, Tempo & MIDI > Control Surface"))

    answer = asyncio.run(probe(target, timeout)) if not target.simulated else {"answers": True, "simulated": True}
    if answer.get("simulated"):
        checks.append(Check("control surface", NOTE, "--live sim: the simulated set answers inside liveloom"))
    elif not answer["answers"]:
        why = f" ({answer['error']})" if answer.get("error") else ""
        checks.append(Check("control surface", PROBLEM, f"nothing answers at {target}{why}",
                            "start Live with LiveloomOSC chosen as a Control Surface (Preferences > Link, Tempo & "
                            "MIDI); check that no other program uses UDP ports 11000/11001"))
    elif answer["companion"] and answer["companion_version"] != current:
        checks.append(Check("control surface", PROBLEM, f"LiveloomOSC {answer['companion_version']} answers at "
                            f"{target} (Live {answer['live_version']}); this liveloom ships {current}",
                            "liveloom install-remote-script, then restart Live"))
    elif answer["companion"]:
        checks.append(Check("control surface", OK, f"{answer['script']} answers at {target} (Live "
                            f"{answer['live_version']})"))
    else:
        checks.append(Check("control surface", NOTE, f"stock AbletonOSC answers at {target} (Live "
                            f"{answer['live_version']}); the companion adds the browser, mixer, automation, audio "
                            "clips and the Arrangement", "liveloom install-remote-script; choose LiveloomOSC instead"))
    checks += check_renderer(render_settings)
    return checks


def report(checks: list[Check]) -> str:
    mark = {OK: "ok  ", PROBLEM: "FIX ", NOTE: "note"}
    lines = []
    for c in checks:
        lines.append(f"{mark[c.status]} {c.name}: {c.detail}")
        if c.fix:
            lines.append(f"     -> {c.fix}")
    problems = sum(c.status == PROBLEM for c in checks)
    lines.append("all good" if not problems else f"{problems} problem{'s' if problems > 1 else ''} to fix")
    return "\n".join(lines)


def as_json(checks: list[Check]) -> list[dict]:
    return [asdict(c) for c in checks]
