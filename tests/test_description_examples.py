"""Every "Example:" in every tool's description runs and succeeds (issue 21): a model copies these first. The
placeholder ids become real artifacts of their kind, the files they name exist, and the Live examples run in
order against the simulated set (they build on each other as a session would)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from helpers import HAS_FLUIDSYNTH, call_ok

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import learn_data  # noqa: E402

pytestmark = pytest.mark.anyio
NEEDS_RENDERER = {"render_audio", "reorchestrate_audio", "write_audio_clip"}


def examples_of(description: str) -> list[dict]:
    """The JSON objects after 'Example:' (alternatives joined by 'or' or ';'; what follows 'then' is another
    tool's step)."""
    text = description.split("Example:", 1)[1].split(" then ", 1)[0]
    out, depth, start = [], 0, None
    for i, ch in enumerate(text):
        if ch == "{":
            depth += 1
            start = i if depth == 1 else start
        elif ch == "}":
            depth -= 1
            if depth == 0:
                out.append(json.loads(text[start:i + 1]))
    return out


def tones(seconds: float = 2.0, rate: int = 22050) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    out = np.zeros_like(t)
    for k, f in enumerate((261.63, 329.63, 392.0, 523.25)):
        seg = (t >= k * seconds / 4) & (t < (k + 1) * seconds / 4)
        out[seg] = 0.3 * np.sin(2 * np.pi * f * t[seg]) * np.exp(-3 * (t[seg] - k * seconds / 4))
    return out.astype(np.float32)


async def test_every_description_example_runs(client, server):
    ws = server.services.workspace
    for name in ("riff.wav", "bounce.wav", "piano_sketch.wav", "break.wav", "synth_line.wav"):
        sf.write(ws.files_dir / name, tones(), 22050)
    sf.write(ws.files_dir / "etude.flac", tones(), 22050)
    (ws.files_dir / "Samples" / "Loops").mkdir(parents=True)  # index_library's folder, then find_samples
    sf.write(ws.files_dir / "Samples" / "Loops" / "keys.wav", np.tile(tones(), 2), 22050)
    learn_data.write_song_folder(ws.files_dir / "MIDI" / "lofi", "lofi", 3, forms=["loop"])  # learn_style's folder
    melody = await call_ok(client, "notation_to_clip", {"text": "C5:1 E5:1 G5:1 E5:1 F5:1 A5:1 G5:2 E5:1 D5:1 C5:2 "
                                                                "D5:1 E5:1 C5:2", "key": "C major"})
    other = await call_ok(client, "notation_to_clip", {"text": "E5:2 D5:2 C5:2 G4:2 A4:2 B4:2 C5:4",
                                                       "key": "C major"})
    song = await call_ok(client, "arrange", {"style": "pop", "bars": 4, "seed": 2})
    await call_ok(client, "export_midi", {"ids": [song["id"]], "path": "song.mid"})
    ids = {"clip_3f9a2b1c0d": melody["id"], "clip_77aa00bb11": other["id"], "song_3f9a2b1c0d": song["id"]}
    if HAS_FLUIDSYNTH:
        ids["audio_4c1d2e3f4a"] = (await call_ok(client, "render_audio", {"id": melody["id"]}))["id"]
    # the Live set as a session would have it by then: clips at track 0, slots 0 and 2
    await call_ok(client, "write_clip", {"id": other["id"], "track": 0, "slot": 0})
    await call_ok(client, "write_clip", {"id": other["id"], "track": 0, "slot": 2})

    def fill(value):
        if isinstance(value, str):
            return ids.get(value, value)
        if isinstance(value, list):
            return [fill(v) for v in value]
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return value

    ran, missing = [], []
    for tool in (await client.list_tools()).tools:
        if "Example:" not in (tool.description or ""):
            missing.append(tool.name)
            continue
        if tool.name in NEEDS_RENDERER and not HAS_FLUIDSYNTH:
            continue
        for example in examples_of(tool.description):
            await call_ok(client, tool.name, fill(example))
            ran.append(tool.name)
    assert not missing, f"tools without an example: {missing}"
    assert len(set(ran)) >= 45 if HAS_FLUIDSYNTH else 42


async def test_the_notation_descriptions_own_snippets_parse(client):
    """The snippets quoted in notation_to_clip's text description (the '%' example used to fail)."""
    tool = next(t for t in (await client.list_tools()).tools if t.name == "notation_to_clip")
    desc = tool.input_schema["properties"]["text"]["description"]
    snippets = [x.replace("\\n", "\n") for x in re.findall(r"(?<![A-Za-z])'([^']+)'", desc)]
    assert "Dm7 G7 | Cmaj7 | % |" in snippets
    tried = 0
    for snippet in snippets:
        if snippet in ("|", "%") or snippet.startswith(":"):
            continue  # fragments named in the prose, not whole texts
        await call_ok(client, "notation_to_clip", {"text": snippet, "key": "C major"})
        tried += 1
    assert tried >= 6
