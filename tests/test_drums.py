"""Drum transcription (issue 24) through a real MCP client: a rendered groove comes back as a GM drum clip whose
kick, snare and hat onsets match; a full mix is split into drums and a pitched track; the drum clip serves as a
groove reference; bad requests, silence and cancellation."""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from helpers import HAS_FLUIDSYNTH, call_err, call_ok, note_rows

from liveloom.engines import drum_transcription as dtr
from liveloom.models import drum_transcriber as dt
from liveloom.models.hub import ModelHub
from liveloom.music.errors import Cancelled
from liveloom.music.jobs import Job

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import drum_data  # noqa: E402
import library_data as data  # noqa: E402

pytestmark = [pytest.mark.anyio, pytest.mark.skipif(not HAS_FLUIDSYNTH or not data.available_soundfonts(),
                                                    reason="needs FluidSynth and a GM soundfont to render grooves")]
FONT = "timgm6mb" if "timgm6mb" in data.available_soundfonts() else next(iter(data.available_soundfonts()))


def rock_groove(bpm: float = 100.0, bars: int = 2):
    """Kick on 1 and 3, snare on 2 and 4, closed hats on the eighths: (item, events)."""
    spb = 60.0 / bpm
    events = []
    for b in range(bars):
        for e in range(8):
            t = (b * 4 + e / 2) * spb
            events.append((t, 0.1, 9, 42, 80 if e % 2 else 100))
            if e in (0, 4):
                events.append((t, 0.1, 9, 36, 110))
            if e in (2, 6):
                events.append((t, 0.1, 9, 38, 105))
    item = data.Item("rock", "drum_loop", None, bpm, bars, "rock", round(bars * 4 * spb + 0.8, 4))
    return item, events


def f1(ref: list[float], est: list[float], tol: float = 0.05) -> float:
    import mir_eval

    if not ref or not est:
        return 0.0
    m = len(mir_eval.util.match_events(np.array(sorted(ref)), np.array(sorted(est)), tol))
    return 2 * m / (len(ref) + len(est))


async def test_a_groove_comes_back_as_a_drum_clip(client, server):
    item, events = rock_groove()
    audio = data.render_items([(item, events, {})], data.SOUNDFONTS[FONT], rate=22050)[0]
    sf.write(server.services.workspace.files_dir / "break.wav", audio, 22050)
    seen = []

    async def on_progress(progress, total, message):
        seen.append((progress, total))

    result = await client.call_tool("transcribe", {"path": "break.wav", "drums": True, "tempo": 100},
                                    progress_callback=on_progress)
    assert not result.is_error, result.content[0].text
    r = result.structured_content
    assert len(seen) >= 3 and seen[-1][0] == seen[-1][1]
    assert r["drum_hits"]["kick"] >= 3 and r["drum_hits"]["snare"] >= 3 and r["heard_as"] != "full_mix"
    assert "drum model" in r["engine"] and r["clips"] == []
    clip = await call_ok(client, "get_clip", {"id": r["id"], "notes": True})
    assert server.services.workspace.load_clip(r["id"])[1].is_drum  # channel 10 on export
    notes = note_rows(clip["notes"])
    beat = 60.0 / 100
    for pitch in (36, 38, 42):
        ref = [t for t, _, _, p, _ in events if p == pitch]
        est = [n["start"] * beat for n in notes if n["pitch"] == pitch]
        assert f1(ref, est) >= 0.85, (pitch, sorted(ref)[:6], sorted(est)[:6])
    # louder kicks than hats, as played
    vel = {p: np.mean([n["velocity"] for n in notes if n["pitch"] == p]) for p in (36, 42)}
    assert vel[36] > vel[42]
    # the drum clip is a groove reference for groove_transfer
    straight = await call_ok(client, "notation_to_clip", {"text": "C4:1 E4:1 G4:1 C5:1 C4:1 E4:1 G4:1 C5:1"})
    moved = await call_ok(client, "groove_transfer", {"id": straight["id"], "reference_id": r["id"]})
    assert moved["id"] != straight["id"]


@pytest.mark.slow
async def test_a_full_mix_is_split_into_drums_and_a_pitched_track(client, server):
    rng = random.Random(4)
    g = None
    while g is None or g.backing is None:
        g = drum_data.groove(rng, "mix")
    y = drum_data.render([g], FONT)[0]
    sf.write(server.services.workspace.files_dir / "mix.wav", y, 22050)
    r = await call_ok(client, "transcribe", {"path": "mix.wav", "drums": True, "split": "always"})
    assert r["kind"] == "song" and r["clips"] == ["drums", "pitched"]
    assert "basic-pitch on the harmonic part" in r["engine"]
    assert sum(r["drum_hits"].values()) >= 4


async def test_bad_requests_and_silence(client, server):
    files = server.services.workspace.files_dir
    sf.write(files / "quiet.wav", np.zeros(22050 * 2, np.float32), 22050)
    r = await call_ok(client, "transcribe", {"path": "quiet.wav", "drums": True})
    assert r["silent"] is True and r["drum_hits"] == {}
    assert "leave out piano" in await call_err(client, "transcribe", {"path": "quiet.wav", "drums": True,
                                                                      "piano": True})
    (files / "junk.wav").write_bytes(b"RIFF....WAVEjunk")
    msg = await call_err(client, "transcribe", {"path": "junk.wav", "drums": True})
    assert "not readable audio" in msg or "corrupt" in msg


@pytest.mark.parametrize("split", ["auto", "never"])
def test_cancel_stops_within_a_second(split):
    hub = ModelHub()
    hub.drums()  # loaded before the clock starts
    y = (np.random.default_rng(0).standard_normal(dt.SR * 120) * 0.1).astype(np.float32)  # 2 minutes: 6 chunks
    job = Job()
    cancelled_at = []

    def report(done, total, what):
        if not cancelled_at:  # cancelled as soon as the work reports its first step
            cancelled_at.append(time.perf_counter())
            job.cancel.set()

    job.report = report
    with pytest.raises(Cancelled):
        dtr.transcribe_drums(hub, y, split=split, detect_tempo=True, job=job)
    assert time.perf_counter() - cancelled_at[0] < 1.5  # a second of work at most after the flag (room for load)


def test_a_users_checkpoint_loads_and_a_bad_one_is_refused(tmp_path):
    shipped = dt.load()
    dt.save(shipped.net, shipped.thresholds, {"note": "a copy"}, tmp_path / "mine")
    mine = dt.load(tmp_path / "mine")
    assert mine.card == {"note": "a copy"} and mine.parameters == shipped.parameters
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "drums.json").write_text('{"classes": ["kick"]}')
    with pytest.raises(Exception) as err:
        dt.load(tmp_path / "bad")
    assert "could not be read" in str(err.value) or "other classes" in str(err.value)
