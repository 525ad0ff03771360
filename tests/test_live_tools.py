"""The Live tools through a real MCP client, against the simulated Live (real UDP, real script)."""

from __future__ import annotations

import pytest
from helpers import call_err, call_ok
from mcp import Client

from liveloom.ableton_bridge.sim import free_udp_port
from liveloom.ableton_bridge.target import LiveTarget
from liveloom.music.types import Clip, Note, PlacedClip, Section, Song, Track
from liveloom.server.app import build_server
from liveloom.server.config import Config
from liveloom.store.workspace import Provenance
from liveloom.tools.schemas import store_song

pytestmark = pytest.mark.anyio


def sim_of(server):
    return server.services.live.sim


def live_notes(sim, clip):
    return sim.host.call(lambda: sorted((n.pitch, round(n.start_time, 6), round(n.duration, 6), int(n.velocity))
                                        for n in clip.get_all_notes_extended()))


def model_notes(clip: Clip):
    return sorted((n.pitch, round(n.start, 6), round(n.duration, 6), n.velocity) for n in clip.notes)


async def test_status_write_read_and_session(client, server):
    status = await call_ok(client, "live_status", {})
    assert status["reachable"] and status["companion"] and status["script"].startswith("LiveloomOSC")
    made = await call_ok(client, "notation_to_clip", {"text": "ii7 V7 Imaj7 vi7", "key": "Bb", "rhythm": "swing8"})
    out = await call_ok(client, "write_clip", {"id": made["id"], "track": 0, "slot": 2, "name": "Comp",
                                               "color": 255})
    assert out["notes_verified"] == made["notes"] and out["created"] and out["where"] == "track 0, slot 2"
    sim = sim_of(server)
    clip = sim.host.call(lambda: sim.song.tracks[0].clip_slots[2].clip)
    assert clip.name == "Comp" and clip.color == 255
    stored = server.services.workspace.load_clip(made["id"])[1]
    assert live_notes(sim, clip) == model_notes(stored)
    back = await call_ok(client, "read_clip", {"track": 0, "slot": 2})
    assert back["notes"] == made["notes"] and back["name"] == "Comp"
    again = server.services.workspace.load_clip(back["id"])[1]
    assert model_notes(again) == model_notes(stored)
    session = await call_ok(client, "get_session", {"max_scenes": 4})
    assert session["tracks"][0]["clips"] == [{"slot": 2, "name": "Comp", "length": 16.0}]
    assert session["tracks"][0]["devices"] == ["Auto Filter"]


def _song(n_tracks: int = 6) -> Song:
    tracks = []
    for t in range(n_tracks):
        drum = t == 0
        placed = []
        for section in range(2):
            notes = [Note(pitch=(36 if drum else 48 + 5 * t) + (i % 4), start=i * 0.5, duration=0.25 if drum else 0.5,
                          velocity=60 + (i * 7 + t) % 60) for i in range(64)]
            placed.append(PlacedClip(start=section * 32.0, clip=Clip(name=f"T{t} S{section}", notes=notes, length=32,
                                                                     is_drum=drum)))
        tracks.append(Track(name=f"Track {t}", is_drum=drum, clips=placed))
    return Song(name="Sixteen bars", tempo=97, tracks=tracks,
                sections=[Section(name="Verse", start=0, length=32), Section(name="Chorus", start=32, length=32)])


async def test_write_song_lands_with_every_note_and_automation_point_verified(client, server):
    song = _song()
    rec = store_song(server.services.workspace, song, Provenance(tool="test"))
    out = await call_ok(client, "write_song", {"id": rec.id})
    assert out["tracks"] == [1, 2, 3, 4, 5, 6] and out["notes_verified"] == 6 * 2 * 64
    sim = sim_of(server)
    assert sim.host.call(lambda: [s.name for s in sim.song.scenes[:2]]) == ["Verse", "Chorus"]
    assert sim.song.tempo == 97
    for t, track in enumerate(song.tracks):
        live_track = sim.song.tracks[1 + t]
        assert live_track.name == track.name
        for s, placed in enumerate(track.clips):
            clip = sim.host.call(lambda: live_track.clip_slots[s].clip)
            assert live_notes(sim, clip) == model_notes(placed.clip)
    # automation on every track's verse clip: a volume ramp, and a sine on the filter of track 0
    for t in range(1, 7):
        res = await call_ok(client, "write_automation", {
            "track": t, "slot": 0, "parameter": "volume",
            "shape": {"kind": "ramp", "start": 0, "end": 32, "from_value": 0.2, "to_value": 0.9}})
        assert res["points_verified"] == 128
        clip = sim.host.call(lambda: sim.song.tracks[t].clip_slots[0].clip)
        env = sim.host.call(lambda: clip.automation_envelope(sim.song.tracks[t].mixer_device.volume))
        assert env.value_at_time(0.1) == pytest.approx(0.2)
        assert env.value_at_time(31.9) == pytest.approx(0.2 + 0.7 * 127 / 128)
    await call_ok(client, "write_clip", {"notes": [{"pitch": 60, "start": 0, "duration": 4}], "track": 0, "slot": 0})
    lfo = await call_ok(client, "write_automation", {
        "track": 0, "slot": 0, "parameter": "Auto Filter/Frequency", "resolution": 0.125,
        "shape": {"kind": "sine", "start": 0, "end": 4, "from_value": 30, "to_value": 130, "rate": 2}})
    assert lfo["parameter"] == "Frequency" and lfo["points_verified"] == 32


async def test_write_song_to_the_arrangement(client, server):
    rec = store_song(server.services.workspace, _song(2), Provenance(tool="test"))
    out = await call_ok(client, "write_song", {"id": rec.id, "mode": "arrangement"})
    sim = sim_of(server)
    for t in out["tracks"]:
        arr = sim.host.call(lambda: sim.song.tracks[t].arrangement_clips)
        assert [c.start_time for c in arr] == [0.0, 32.0]


async def test_live_tool_bad_input_is_explained_and_nothing_changes(client, server):
    made = await call_ok(client, "notation_to_clip", {"text": "C F G C"})
    await call_ok(client, "write_clip", {"id": made["id"], "track": 0, "slot": 0})
    cases = [
        ("write_clip", {"track": 0, "slot": 1}, "either id"),
        ("write_clip", {"id": made["id"], "track": 0}, "either slot"),
        ("write_clip", {"id": made["id"], "track": 0, "slot": 0}, "already holds a clip"),
        ("write_clip", {"id": made["id"], "track": 7, "slot": 1}, "track 7 does not exist"),
        ("write_clip", {"id": made["id"], "track": 0, "slot": 99}, "slot 99 does not exist"),
        ("write_clip", {"id": "clip_nope", "track": 0, "slot": 1}, "no artifact"),
        ("write_clip", {"notes": [{"pitch": 200, "start": 0, "duration": 1}], "track": 0, "slot": 1}, "127"),
        ("write_automation", {"track": 0, "slot": 0, "parameter": "Reverb/Decay", "points": [{"beat": 0, "value": 1}]},
         "has no device 'Reverb'; it has: Auto Filter"),
        ("write_automation", {"track": 0, "slot": 0, "parameter": "volume"}, "either points or shape"),
        ("write_automation", {"track": 0, "slot": 0, "parameter": "volume",
                              "shape": {"kind": "sine", "end": 4, "from_value": 0, "to_value": 1}}, "rate"),
        ("set_device_parameter", {"track": 0, "device": 0, "parameter": "Frequency", "value": 500},
         "takes values from 20 to 135"),
        ("set_device_parameter", {"track": 0, "device": 3, "parameter": "x", "value": 1}, "device 3 does not exist"),
        ("transport", {"action": "tempo"}, "needs tempo"),
        ("transport", {"action": "dance"}, "action"),
        ("fire", {"track": 0, "slot": 5}, "no clip"),
        ("fire", {}, "give track and slot"),
        ("read_clip", {"track": 0, "slot": 4}, "no clip"),
    ]
    sim = sim_of(server)
    before = live_notes(sim, sim.host.call(lambda: sim.song.tracks[0].clip_slots[0].clip))
    for tool, args, needle in cases:
        text = await call_err(client, tool, args)
        assert needle in text, (tool, text)
    after = live_notes(sim, sim.host.call(lambda: sim.song.tracks[0].clip_slots[0].clip))
    assert before == after
    assert len(sim.song.tracks) == 1
    assert (await call_ok(client, "live_status", {}))["reachable"]


async def test_transport_fire_and_undo(client, server):
    state = await call_ok(client, "transport", {"action": "tempo", "tempo": 84})
    assert state["tempo"] == 84
    state = await call_ok(client, "transport", {"action": "time_signature", "numerator": 7, "denominator": 8})
    assert state["time_signature"] == "7/8"
    assert (await call_ok(client, "transport", {"action": "play"}))["playing"] is True
    assert (await call_ok(client, "transport", {"action": "stop"}))["playing"] is False
    assert (await call_ok(client, "transport", {"action": "loop", "loop": True, "loop_start": 8,
                                                 "loop_length": 16}))["loop"] is True
    sim = sim_of(server)
    assert (sim.song.loop_start, sim.song.loop_length) == (8.0, 16.0)
    made = await call_ok(client, "notation_to_clip", {"text": "C F"})
    await call_ok(client, "write_clip", {"id": made["id"], "track": 0, "slot": 0})
    await call_ok(client, "fire", {"track": 0, "slot": 0})
    assert sim.host.call(lambda: sim.song.tracks[0].clip_slots[0].clip.is_playing)
    await call_ok(client, "create_track", {"name": "Extra", "instrument": "none"})  # one step: the new track
    assert len(sim.song.tracks) == 2
    await call_ok(client, "undo", {})
    assert len(sim.song.tracks) == 1


@pytest.mark.slow
async def test_live_not_running_is_reported_with_how_to_fix_it(home):
    target = LiveTarget(False, "127.0.0.1", free_udp_port(), free_udp_port())
    server = build_server(Config(home=home, allow=[], live=target))
    async with Client(server) as c:
        status = await call_ok(c, "live_status", {})
        assert status["reachable"] is False and "install-remote-script" in status["help"]
        made = await call_ok(c, "notation_to_clip", {"text": "C"})
        text = await call_err(c, "write_clip", {"id": made["id"], "track": 0, "slot": 0})
        assert "not answering" in text and "--live sim" in text
        assert (await call_ok(c, "list_artifacts", {}))["total"] == 1


async def test_read_song_exports_the_whole_set_as_midi(client, server):
    rec = store_song(server.services.workspace, _song(3), Provenance(tool="test"))
    await call_ok(client, "write_song", {"id": rec.id})
    read = await call_ok(client, "read_song", {})
    assert read["kind"] == "song" and read["sections"] == ["Verse", "Chorus"] and read["skipped"] == []
    assert [t["name"] for t in read["tracks"]] == ["Track 0", "Track 1", "Track 2"]
    assert read["notes"] == 3 * 2 * 64 and read["bars"] == 16
    out = await call_ok(client, "export_midi", {"ids": [read["id"]], "path": "my-set.mid"})
    from liveloom.music.midi_io import midi_to_song

    back = midi_to_song(open(out["path"], "rb").read())
    assert len(back.tracks) == 3 and sum(len(t.notes_on_timeline()) for t in back.tracks) == 3 * 2 * 64
