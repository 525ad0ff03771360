"""`liveloom demo`: a short scripted session through the real tools, over a real MCP client.

It writes a lo-fi sketch in D minor exactly as stated (chords, bass, drums, a melody in ABC), arranges it
into a 16-bar verse and chorus (a counter-melody is composed for the chorus, the parts vary with the
energy, each section and track is checked), exports it as one multi-track MIDI file, draws the piano roll,
renders a WAV, and writes the song into Live — the simulated Live set unless `--live HOST:PORT` names a real
one — and prints where they are.
"""

from __future__ import annotations

import datetime as _dt
import json
from typing import Any

from mcp import Client

from .app import LiveloomServer

STEPS: list[tuple[str, str, dict[str, Any]]] = [
    ("chords", "notation_to_clip", {
        "text": "Dm9 | Gm9 | Bbmaj7 | A7b9", "key": "D minor", "tempo": 82, "rhythm": "charleston", "swing": 0.6,
        "instrument": 4, "repeat": 2, "chord_bass": False, "name": "Keys"}),
    ("bass", "notation_to_clip", {
        "text": "D2:1.5 D2:0.5 r:1 A1:1 | G1:1.5 G1:0.5 r:1 D2:1 | Bb1:1.5 Bb1:0.5 r:1 F2:1 | A1:1.5 A1:0.5 r:1 E2:1 |",
        "tempo": 82, "swing": 0.6, "instrument": 33, "repeat": 2, "name": "Bass"}),
    ("drums", "notation_to_clip", {
        "text": "kick:  x.....x...x.....\nsnare: ....X.......X..o\nhh:    x.x.x.x.x.x.x.x.",
        "tempo": 82, "swing": 0.6, "repeat": 8, "name": "Drums"}),
    ("melody", "notation_to_clip", {
        "text": "X:1\nT:Melody\nM:4/4\nL:1/8\nK:Dm\nA2 F2 E2 D2 | B,2 D2 F4 | A2 G2 F2 E2 | E6 z2 |\n"
                "A2 c2 d2 A2 | B2 A2 G4 | F2 E2 D2 C2 | E6 z2 |",
        "key": "D minor", "tempo": 82, "octave": 1, "instrument": 11, "name": "Vibes"}),
]


def _short(data: dict[str, Any]) -> str:
    keep = {k: data[k] for k in ("id", "bars", "notes", "key", "notation", "path", "seconds", "tracks",
                                 "checks_passed", "checks_total") if k in data}
    if isinstance(keep.get("tracks"), list):
        keep["tracks"] = len(keep["tracks"])
    return json.dumps(keep)


async def run_demo(server: LiveloomServer) -> dict[str, str]:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out: dict[str, str] = {}
    async with Client(server) as client:
        async def call(tool: str, args: dict[str, Any]) -> dict[str, Any]:
            result = await client.call_tool(tool, args)
            if result.is_error:
                text = result.content[0].text if result.content else "no message"
                raise SystemExit(f"liveloom demo: {tool} failed: {text}")
            print(f"  {tool:<17} -> {_short(result.structured_content or {})}", flush=True)
            return result.structured_content or {}

        print("liveloom demo: a lo-fi sketch in D minor at 82 BPM", flush=True)
        ids = {role: (await call(tool, args))["id"] for role, tool, args in STEPS}
        song = await call("arrange", {
            "style": "lofi", "key": "D minor", "tempo": 82, "progression": "Dm9 Gm9 Bbmaj7 A7b9",
            "sections": [{"name": "verse", "bars": 8, "energy": 0.55}, {"name": "chorus", "bars": 8, "energy": 0.9}],
            "seed_clips": {"chords": ids["chords"], "bass": ids["bass"], "drums": ids["drums"], "lead": ids["melody"]},
            "name": "liveloom demo"})
        midi = await call("export_midi", {"ids": [song["id"]], "path": f"demo-{stamp}.mid", "name": "liveloom demo"})
        roll = await call("piano_roll", {"id": song["id"]})
        wav = await call("render_audio", {"id": song["id"], "path": f"demo-{stamp}.wav"})
        status = await call("live_status", {})
        written = await call("write_song", {"id": song["id"]}) if status.get("reachable") else None
        out = {"midi": midi["path"], "png": roll["path"], "wav": wav["path"], "song": song["id"]}
        if written:
            where = ("the simulated Live set (--live sim; --live 127.0.0.1:11000 for your Live)"
                     if server.config.live.simulated else f"Live at {status['target']}")
            loaded = sum(1 for i in written.get("instruments", []) if i.get("track", -1) >= 0)
            out["live"] = (f"{len(written['tracks'])} tracks ({loaded} with instruments), "
                           f"{written['notes_verified']} notes verified in {where}")
        elif not status.get("reachable"):
            out["live"] = f"not written: Live is not answering at {status['target']}"
    print("\nliveloom demo wrote:")
    for k in ("midi", "png", "wav", "live"):
        if k in out:
            print(f"  {k.upper():<4} {out[k]}")
    await server.services.live.close()
    return out
