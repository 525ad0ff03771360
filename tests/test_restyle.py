"""restyle through the MCP client: the melody kept exactly, new voices in range and key, style mixes,
a Live clip in and the result back into (simulated) Live, and bad input."""

from __future__ import annotations

import pytest
from helpers import call_err, call_ok

pytestmark = pytest.mark.anyio

TUNE = "G4:1 G4 A4 B4 | C5:2 B4 | A4:1 A4 G4 F#4 | G4:4"


async def test_restyle_keeps_the_melody_and_writes_voices_in_range(client, server):
    melody = await call_ok(client, "notation_to_clip", {"text": TUNE, "key": "G major", "instrument": 73})
    out = await call_ok(client, "restyle", {"id": melody["id"], "style": "chorale", "voices": 3, "seed": 1})
    assert out["kind"] == "song" and out["melody_kept"] is True and out["key_used"] == "G major"
    assert out["voices_written"] == ["alto", "tenor", "bass"] and "transformer" in out["engine"]
    ws = server.services.workspace
    _, song = ws.load_song(out["id"])
    assert song.tracks[0].clips[0].clip == ws.load_clip(melody["id"])[1]  # note for note, the source itself
    ranges = {"alto": (55, 74), "tenor": (48, 69), "bass": (40, 62)}
    g_major = {7, 9, 11, 0, 2, 4, 6}
    for track in song.tracks[1:]:
        notes = track.clips[0].clip.notes
        assert notes, f"{track.name} is empty"
        lo, hi = ranges[track.name]
        assert all(lo <= n.pitch <= hi for n in notes)
        assert all(n.pitch % 12 in g_major for n in notes)
        assert all(n.start + n.duration <= 16 + 1e-9 for n in notes)
    checks = out["checks"]
    assert checks["new_notes_in_range"] == 1.0 and checks["new_notes_in_scale"] == 1.0
    assert checks["max_polyphony"] <= 4
    assert set(out["style_scores"]["result"]) == {"chorale", "palestrina", "essen", "irish", "quartet"}
    # the source is unchanged and a second run with the same seed gives the same voices
    again = await call_ok(client, "restyle", {"id": melody["id"], "style": "chorale", "voices": 3, "seed": 1})
    _, song2 = ws.load_song(again["id"])
    assert [t.clips[0].clip.notes for t in song2.tracks] == [t.clips[0].clip.notes for t in song.tracks]


@pytest.mark.slow
async def test_restyle_texture_follows_the_style_under_the_melody(client, server):
    """No new voice is ever at or above the melody sounding with it; Palestrina's voices move in quarter notes and
    longer, at most one of them starting with the melody off the bar line (independent rhythm); chorale is
    chordal."""
    melody = await call_ok(client, "notation_to_clip", {"text": TUNE + " | B4:1 B4 C5 D5 | E5:2 D5 | C5:1 B4 A4 B4 "
                                                        "| G4:4", "key": "G major"})
    ws = server.services.workspace
    tune = ws.load_clip(melody["id"])[1].notes
    shared = {}
    for style in ("chorale", "palestrina", "quartet", "irish"):
        out = await call_ok(client, "restyle", {"id": melody["id"], "style": style, "voices": 3, "seed": 3})
        _, song = ws.load_song(out["id"])
        new = [n for t in song.tracks[1:] for n in t.clips[0].clip.notes]
        for n in new:
            over = [m.pitch for m in tune if m.start - 1e-6 <= n.start < m.end - 1e-6]
            assert not over or n.pitch < min(over), (style, n)
        together = [n for n in new if any(abs(m.start - n.start) < 1e-6 for m in tune)]
        shared[style] = len(together) / len(new)
        if style == "palestrina":
            assert all(n.duration >= 1.0 - 1e-6 for n in new)
            for m in tune:
                if m.start % 4:
                    assert sum(abs(n.start - m.start) < 1e-6 for n in new) <= 1, m
    assert shared["palestrina"] < shared["chorale"]


async def test_restyle_a_mix_of_styles_and_fewer_voices(client, server):
    melody = await call_ok(client, "notation_to_clip", {"text": TUNE, "key": "G major"})
    out = await call_ok(client, "restyle", {"id": melody["id"], "voices": 1, "seed": 2,
                                            "mix": [{"style": "quartet", "weight": 0.6}, {"style": "chorale", "weight": 0.4}]})
    assert out["style"] == "quartet 0.60, chorale 0.40" and out["voices_written"] == ["cello"]
    _, song = server.services.workspace.load_song(out["id"])
    assert len(song.tracks) == 2 and all(36 <= n.pitch <= 69 for n in song.tracks[1].clips[0].clip.notes)


async def test_restyle_a_live_clip_and_write_the_result_back(client, server):
    melody = await call_ok(client, "notation_to_clip", {"text": TUNE, "key": "G major"})
    await call_ok(client, "write_clip", {"id": melody["id"], "track": 0, "slot": 0})
    live = await call_ok(client, "read_clip", {"track": 0, "slot": 0})
    out = await call_ok(client, "restyle", {"id": live["id"], "style": "quartet", "seed": 3})
    assert out["melody_kept"] is True
    wrote = await call_ok(client, "write_song", {"id": out["id"]})
    assert wrote["notes_verified"] == out["notes"]


async def test_restyle_bad_input_is_explained_and_nothing_is_stored(client, server):
    drums = await call_ok(client, "notation_to_clip", {"text": "kick: x..."})
    rest = await call_ok(client, "notation_to_clip", {"text": "r:4"})
    tune = await call_ok(client, "notation_to_clip", {"text": "C4 D4 E4 F4"})
    before = len(server.services.workspace.list(limit=100)[0])
    assert "drum clip" in await call_err(client, "restyle", {"id": drums["id"]})
    assert "no sounding notes" in await call_err(client, "restyle", {"id": rest["id"]})
    assert "style" in await call_err(client, "restyle", {"id": tune["id"], "style": "dubstep"})
    assert "weights are all 0" in await call_err(client, "restyle", {
        "id": tune["id"], "mix": [{"style": "irish", "weight": 0}]})
    assert "voices" in await call_err(client, "restyle", {"id": tune["id"], "voices": 5})
    assert len(server.services.workspace.list(limit=100)[0]) == before
