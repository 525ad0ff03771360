"""The Live set around the notes (issue 20), through a real MCP client against the simulated Live (real UDP, the
real companion script on the fake Live Object Model): instruments on new tracks, the browser, the mixer in dB,
scenes, the Arrangement, audio clips, delete and undo — each checked in the fake set itself."""

from __future__ import annotations

import math
import wave
from pathlib import Path

import pytest
from helpers import call_err, call_ok
from mcp import Client
from udp_proxy import UdpRelay

from liveloom.ableton_bridge import display
from liveloom.ableton_bridge.sim import SimulatedLive, free_udp_port
from liveloom.ableton_bridge.target import LiveTarget, parse_target
from liveloom.server.app import build_server
from liveloom.server.config import Config

pytestmark = pytest.mark.anyio


def sim_of(server):
    return server.services.live.sim


def on_live(server, fn):
    sim = sim_of(server)
    return sim.host.call(lambda: fn(sim.song))


def write_wav(path: Path, seconds: float = 2.0, rate: int = 22050) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x00\x00" * int(seconds * rate))
    return path


async def test_an_arranged_song_gets_an_instrument_on_every_track_and_shows_in_the_arrangement(client, server):
    song = await call_ok(client, "arrange", {"style": "funk", "bars": 4, "seed": 3})
    out = await call_ok(client, "write_song", {"id": song["id"], "mode": "arrangement"})
    assert len(out["instruments"]) == len(out["tracks"]) == len(song["tracks"])
    roles = {i["role"] for i in out["instruments"]}
    assert "drums" in roles and "bass" in roles
    # read in the fake set: each new track holds exactly one instrument, and drums a Drum Rack kit
    chains = on_live(server, lambda s: [(t.name, [(d.name, d.type, d.class_name) for d in t.devices])
                                        for t in s.tracks[1:]])
    for name, devices in chains:
        assert sum(1 for _, kind, _ in devices if kind == 1) == 1, (name, devices)
    drums = dict(chains)["drums"]
    assert drums[0][2] == "DrumGroupDevice" and drums[0][0] == "Acoustic Core Kit"  # funk: an acoustic kit
    session = await call_ok(client, "get_session", {"max_scenes": 2})
    placed = {t["name"]: t["arrangement"] for t in session["tracks"]}
    assert placed["drums"] and placed["drums"][0]["start"] == 0.0
    assert sum(len(v) for v in placed.values()) == sum(len(t.arrangement_clips) for t in on_live(
        server, lambda s: list(s.tracks)))
    assert session["returns"][0]["name"] == "A-Reverb" and session["master"]["mixer"].startswith("0.0 dB")
    back = await call_ok(client, "read_song", {"view": "arrangement"})
    assert back["notes"] == song["notes"]
    assert [t["is_drum"] for t in back["tracks"]] == [t["is_drum"] for t in song["tracks"]]


async def test_session_scenes_are_named_after_the_sections(client, server):
    song = await call_ok(client, "arrange", {"style": "pop", "bars": 4, "seed": 1})
    await call_ok(client, "write_song", {"id": song["id"], "instruments": "none"})
    names = on_live(server, lambda s: [sc.name for sc in s.scenes])
    assert names[0].lower().startswith("intro") and any(n.lower().startswith("chorus") for n in names)
    assert on_live(server, lambda s: [len(t.devices) for t in s.tracks[1:]]) == [0] * len(song["tracks"])


async def test_browse_then_load_auto_filter_then_the_documented_automation_example_lands(client, server):
    new = await call_ok(client, "create_track", {"name": "Pad", "instrument": "none"})
    err = await call_err(client, "write_automation", {
        "track": new["index"], "slot": 0, "parameter": "Auto Filter/Frequency",
        "shape": {"kind": "ramp", "start": 0, "end": 16, "from_value": 40, "to_value": 130}})
    assert "has no device 'Auto Filter'" in err
    found = await call_ok(client, "browse_devices", {"text": "Auto Filter"})
    assert found["items"][0]["name"] == "Auto Filter" and found["items"][0]["kind"] == "audio_effects"
    loaded = await call_ok(client, "load_device", {"track": new["index"], "item": found["items"][0]["uri"]})
    assert loaded["chain"] == ["Auto Filter"] and loaded["device"] == 0
    clip = await call_ok(client, "notation_to_clip", {"text": "Am F C G"})
    await call_ok(client, "write_clip", {"id": clip["id"], "track": new["index"], "slot": 0})
    auto = await call_ok(client, "write_automation", {
        "track": new["index"], "slot": 0, "parameter": "Auto Filter/Frequency",
        "shape": {"kind": "ramp", "start": 0, "end": 16, "from_value": 40, "to_value": 130}})
    assert auto["points_verified"] == auto["points_written"] > 0
    assert auto["range"] == "26.0 Hz .. 19.9 kHz" and auto["shown"].endswith("kHz")

    def envelope_at(song, beat):
        track = song.tracks[new["index"]]
        param = track.devices[0].parameters[1]
        return track.clip_slots[0].clip.automation_envelope(param).value_at_time(beat)

    assert on_live(server, lambda s: envelope_at(s, 0.1)) == pytest.approx(40, abs=1e-6)


async def test_load_device_places_instruments_and_effects_like_live(client, server):
    t = (await call_ok(client, "create_track", {"name": "Keys", "style": "jazz"}))["index"]
    assert on_live(server, lambda s: [d.name for d in s.tracks[t].devices]) == ["Suitcase Classic"]
    await call_ok(client, "load_device", {"track": t, "item": "Reverb"})
    swapped = await call_ok(client, "load_device", {"track": t, "item": "Grand Piano"})
    assert swapped["replaced"] == ["Suitcase Classic"] and swapped["chain"] == ["Grand Piano", "Reverb"]
    first = await call_ok(client, "load_device", {"track": t, "item": "Utility", "position": 1})
    assert first["chain"] == ["Grand Piano", "Utility", "Reverb"]
    on_return = await call_ok(client, "load_device", {"track": "B-Delay", "item": "Auto Filter"})
    assert on_return["track"] == "return:1" and on_return["chain"] == ["Delay", "Auto Filter"]
    err = await call_err(client, "load_device", {"track": t, "item": "Hyperspace Reverb 9000"})
    assert "no item named" in err
    err = await call_err(client, "load_device", {"track": "return:7", "item": "Reverb"})
    assert "return:0 A-Reverb" in err


async def test_set_mixer_reads_back_minus_six_db_and_takes_display_values(client, server):
    out = await call_ok(client, "set_mixer", {"track": 0, "volume": -6, "pan": "25L", "sends": {"B": "-12 dB"},
                                              "mute": True})
    assert out["volume"] == "-6.0 dB" and out["pan"] == "25L" and out["sends"][1] == "-12.0 dB" and out["mute"]
    shown = on_live(server, lambda s: (str(s.tracks[0].mixer_device.volume), s.tracks[0].mute))
    assert shown == ("-6.0 dB", True)
    master = await call_ok(client, "set_mixer", {"track": "master", "volume": "-1.5 dB"})
    assert master["volume"] == "-1.5 dB"
    assert "kHz" in (await call_ok(client, "set_device_parameter", {"track": 0, "device": 0,
                                                                     "parameter": "Frequency",
                                                                     "value": "2 kHz"}))["display"]
    err = await call_err(client, "set_mixer", {"track": 0, "volume": "50 %"})
    assert "dB" in err and "not in %" in err
    err = await call_err(client, "set_mixer", {"track": 0, "volume": "+9 dB"})
    assert "goes from -inf dB to 6.0 dB" in err
    err = await call_err(client, "set_mixer", {"track": "master", "solo": True})
    assert "no solo" in err
    assert "at least one" in await call_err(client, "set_mixer", {"track": 0})


async def test_delete_removes_a_clip_and_undo_brings_it_back(client, server):
    clip = await call_ok(client, "notation_to_clip", {"text": "Dm7 G7 Cmaj7"})
    await call_ok(client, "write_clip", {"id": clip["id"], "track": 0, "slot": 1})
    await call_ok(client, "transport", {"action": "tempo", "tempo": 97})
    await call_ok(client, "write_clip", {"id": clip["id"], "track": 0, "slot": 0})
    gone = await call_ok(client, "delete", {"what": "clip", "track": 0, "slot": 1})
    assert "deleted" in gone["done"]
    assert on_live(server, lambda s: s.tracks[0].clip_slots[1].clip) is None
    undone = await call_ok(client, "undo", {})
    assert "session clips 1 -> 2" in undone["done"]
    notes = on_live(server, lambda s: len(s.tracks[0].clip_slots[1].clip.get_all_notes_extended()))
    assert notes == clip["notes"]
    assert on_live(server, lambda s: s.tempo) == 97.0  # the undo took the delete back, not the tempo


async def test_delete_duplicate_rename_tracks_scenes_devices(client, server):
    clip = await call_ok(client, "notation_to_clip", {"text": "C G Am F"})
    await call_ok(client, "write_clip", {"id": clip["id"], "track": 0, "slot": 0})
    dup = await call_ok(client, "duplicate", {"what": "clip", "track": 0, "slot": 0})
    assert dup["slot"] == 1 and on_live(server, lambda s: s.tracks[0].clip_slots[1].clip is not None)
    assert "holds a clip" in await call_err(client, "duplicate", {"what": "clip", "track": 0, "slot": 0,
                                                                   "to_slot": 1})
    await call_ok(client, "duplicate", {"what": "track", "track": 0})
    assert on_live(server, lambda s: len(s.tracks)) == 2
    await call_ok(client, "rename", {"what": "track", "track": 1, "name": "Copy"})
    await call_ok(client, "rename", {"what": "clip", "track": 1, "slot": 0, "name": "Verse"})
    sc = await call_ok(client, "scene", {"create": True, "name": "Bridge", "tempo": 96, "numerator": 3,
                                         "denominator": 4})
    assert sc == {"index": 8, "name": "Bridge", "tempo": 96.0, "time_signature": "3/4"}
    assert on_live(server, lambda s: (s.scenes[8].name, s.scenes[8].tempo)) == ("Bridge", 96.0)
    await call_ok(client, "delete", {"what": "device", "track": 1, "device": 0})
    await call_ok(client, "delete", {"what": "scene", "scene": 8})
    await call_ok(client, "delete", {"what": "track", "track": 1})
    state = on_live(server, lambda s: ([t.name for t in s.tracks], len(s.scenes), [d.name for d in s.tracks[0].devices]))
    assert state == (["1-MIDI"], 8, ["Auto Filter"])
    assert "needs scene" in await call_err(client, "delete", {"what": "scene"})
    assert "no clip at track 0, slot 5" in await call_err(client, "delete", {"what": "clip", "track": 0, "slot": 5})


async def test_a_wav_lands_as_an_audio_clip_in_a_slot_and_in_the_arrangement(tmp_path):
    allowed = tmp_path / "music"
    allowed.mkdir()
    wav = write_wav(allowed / "loop.wav", seconds=2.0)
    server = build_server(Config(home=tmp_path / "home", allow=[allowed], live=parse_target("sim")))
    try:
        async with Client(server) as client:
            audio = await call_ok(client, "create_track", {"name": "Loops", "kind": "audio"})
            assert audio["kind"] == "audio" and audio["instrument"] is None
            out = await call_ok(client, "write_audio_clip", {"path": str(wav), "track": audio["index"], "slot": 0})
            assert out["file"] == "loop.wav" and out["length"] == pytest.approx(4.0)  # 2 s at 120 BPM
            arr = await call_ok(client, "write_audio_clip", {"path": str(wav), "track": audio["index"],
                                                             "position": 8})
            assert arr["arrangement_index"] == 0
            files = on_live(server, lambda s: (s.tracks[1].clip_slots[0].clip.file_path,
                                               s.tracks[1].arrangement_clips[0].start_time))
            assert files == (str(wav.resolve()), 8.0)
            assert "audio tracks" in await call_err(client, "write_audio_clip", {"path": str(wav), "track": 0,
                                                                                  "slot": 3})
            assert "outside the folders" in (await call_err(client, "write_audio_clip", {"path": "/etc/hosts", "track": 1,
                                                                                         "slot": 4}))
            bad = allowed / "broken.wav"
            bad.write_bytes(b"RIFF0000WAVEjunk")
            assert "valid audio file" in await call_err(client, "write_audio_clip", {"path": str(bad), "track": 1,
                                                                                      "slot": 5})
            session = await call_ok(client, "get_session", {"max_scenes": 1})
            assert session["tracks"][1]["kind"] == "audio"
            assert session["tracks"][1]["arrangement"][0]["name"] == "loop"
    finally:
        await server.services.live.close()


async def test_arrangement_automation_through_a_session_copy(client, server):
    clip = await call_ok(client, "notation_to_clip", {"text": "Am F C G"})
    await call_ok(client, "write_clip", {"id": clip["id"], "track": 0, "position": 16})
    out = await call_ok(client, "write_automation", {
        "track": 0, "arrangement_index": 0, "parameter": "Auto Filter/Frequency",
        "shape": {"kind": "ramp", "start": 0, "end": 16, "from_value": 40, "to_value": 130}})
    assert out["where"] == "track 0, Arrangement clip 0" and out["points_verified"] > 0 and "Session" in out["route"]

    def check(song):
        track = song.tracks[0]
        (copy,) = track.arrangement_clips
        env = copy._envelopes.get(track.devices[0].parameters[1])  # the fake can look inside; Live's API cannot
        slots = [s.clip for s in track.clip_slots]
        return copy.start_time, len(copy.get_all_notes_extended()), env.value_at_time(15.9), slots

    start, n, late, slots = on_live(server, check)
    assert start == 16.0 and n == clip["notes"] and late > 120 and slots == [None] * 8  # the temporary clip went


async def test_stock_abletonosc_can_delete_rename_and_name_scenes_but_not_browse(home):
    sim = SimulatedLive(tick=0.01, extensions=False).start()
    server = build_server(Config(home=home, allow=[], live=sim.target))
    try:
        async with Client(server) as client:
            clip = await call_ok(client, "notation_to_clip", {"text": "C F"})
            await call_ok(client, "write_clip", {"id": clip["id"], "track": 0, "slot": 0})
            await call_ok(client, "rename", {"what": "clip", "track": 0, "slot": 0, "name": "Hook"})
            await call_ok(client, "scene", {"index": 0, "name": "Intro"})
            await call_ok(client, "delete", {"what": "clip", "track": 0, "slot": 0})
            assert sim.host.call(lambda: (sim.song.tracks[0].clip_slots[0].clip, sim.song.scenes[0].name)) == (
                None, "Intro")
            assert "companion" in await call_err(client, "browse_devices", {"text": "bass"})
            assert "companion" in await call_err(client, "set_mixer", {"track": 0, "volume": -6})
            made = await call_ok(client, "create_track", {"name": "Bass"})
            assert "companion" in made["instrument"]
    finally:
        await server.services.live.close()
        sim.stop()


async def test_live_11_says_audio_clips_need_live_12(home, tmp_path):
    sim = SimulatedLive(version=(11, 3, 0), tick=0.01).start()
    wav = write_wav(tmp_path / "x.wav")
    server = build_server(Config(home=home, allow=[tmp_path], live=sim.target))
    try:
        async with Client(server) as client:
            t = await call_ok(client, "create_track", {"name": "A", "kind": "audio"})
            err = await call_err(client, "write_audio_clip", {"path": str(wav), "track": t["index"], "slot": 0})
            assert "Live 11.3" in err and "Live 12" in err
    finally:
        await server.services.live.close()
        sim.stop()


async def test_the_new_writes_hold_through_lost_and_duplicated_datagrams():
    """Loads, mixer, duplicates, deletes and a new scene through a relay that loses 15 % and doubles 30 % of
    datagrams both ways (the bridge as the fault tests drive it: 0.3 s timeout, 4 retries): each applied exactly
    once, as the fake set shows."""
    from liveloom.ableton_bridge.bridge import LiveBridge
    from liveloom.music.types import Clip, Note

    client_port = free_udp_port()
    to_client = UdpRelay(("127.0.0.1", client_port), drop=0.15, duplicate=0.3, seed=11)
    sim = SimulatedLive(tick=0.01, extensions=True, reply_port=to_client.port).start()
    to_live = UdpRelay(("127.0.0.1", sim.port), drop=0.15, duplicate=0.3, seed=12)
    b = LiveBridge(LiveTarget(False, "127.0.0.1", to_live.port, client_port), timeout=0.3, retries=4)
    try:
        t = await b.create_track("Bass")
        await b.fit_instrument(t, "bass", "jazz")
        await b.load_device(t, "Compressor")
        await b.set_mixer(t, volume=-6, pan=-20)
        await b.write_clip(Clip(notes=[Note(pitch=40, start=0, duration=1)], length=4), track=t, slot=0)
        await b.duplicate("clip", track=t, slot=0)
        await b.delete("clip", track=t, slot=0)
        await b.scene(create=True, name="Outro")
        state = sim.host.call(lambda: (len(sim.song.tracks), [d.name for d in sim.song.tracks[t].devices],
                                       str(sim.song.tracks[t].mixer_device.volume),
                                       str(sim.song.tracks[t].mixer_device.panning),
                                       [s.clip is not None for s in sim.song.tracks[t].clip_slots],
                                       [s.name for s in sim.song.scenes]))
        assert state[0] == 2 and state[1] == ["Upright Bass", "Compressor"]
        assert state[2:4] == ("-6.0 dB", "20L")
        assert state[4][:3] == [False, True, False] and state[5].count("Outro") == 1 and len(state[5]) == 9
        assert to_live.dropped > 0 and to_client.dropped > 0
    finally:
        await b.close()
        sim.stop()
        to_live.close()
        to_client.close()


def test_display_values_parse_and_choose():
    assert display.parse_display("1.99 kHz") == (1990.0, "hz")
    assert display.parse_display("-6.0 dB") == (-6.0, "db")
    assert display.parse_display("\u22126dB") == (-6.0, "db")
    assert display.parse_display("-inf dB") == (-math.inf, "db")
    assert display.parse_display("25L") == (-25.0, "pan") and display.parse_display("C") == (0.0, "pan")
    assert display.parse_display("250 ms") == (250.0, "ms") and display.parse_display("1.5 s") == (1500.0, "ms")
    assert display.parse_display("35 %") == (35.0, "%") and display.parse_display("loud") is None
    values = [0.0, 0.25, 0.5, 0.75, 1.0]
    assert display.closest(-6.0, values, [-math.inf, -20.0, -6.0, -6.0, 6.0]) == (3, 0.0)  # the plateau's middle
    assert display.bracket(-10.0, values, [-math.inf, -20.0, -6.0, 0.0, 6.0]) == (0.25, 0.5)


async def test_live_tool_annotations_say_what_each_does(client):
    notes = {t.name: t.annotations for t in (await client.list_tools()).tools}
    for name in ("live_status", "get_session", "read_clip", "read_song", "browse_devices"):
        assert notes[name].read_only_hint, name
    for name in ("write_clip", "write_song", "transport", "set_mixer", "delete", "rename", "load_device", "undo",
                 "set_device_parameter", "scene", "write_automation"):  # they overwrite or remove something
        assert notes[name].destructive_hint and not notes[name].read_only_hint, name
    for name in ("create_track", "duplicate", "write_audio_clip", "fire"):  # they only add (or launch)
        assert not notes[name].read_only_hint and not notes[name].destructive_hint, name
    assert notes["set_mixer"].idempotent_hint and notes["rename"].idempotent_hint
    assert not notes["delete"].idempotent_hint and not notes["duplicate"].idempotent_hint


async def test_a_mixer_change_that_fails_half_way_is_set_back():
    from liveloom.ableton_bridge.bridge import LiveBridge
    from liveloom.music.errors import LiveloomError

    sim = SimulatedLive(tick=0.01).start()
    b = LiveBridge(sim.target, timeout=0.3)
    real = b.client.request

    async def refuse_mute(address, *args, **kw):
        if address == "/liveloom/track/set":
            raise LiveloomError("Live reported: the track is frozen")
        return await real(address, *args, **kw)

    try:
        with pytest.raises(LiveloomError, match="send 'Z' does not exist"):  # checked before any write
            await b.set_mixer(0, volume=-6, sends={"Z": -3})
        assert sim.host.call(lambda: str(sim.song.tracks[0].mixer_device.volume)) == "0.0 dB"
        b.client.request = refuse_mute
        with pytest.raises(LiveloomError) as failed:
            await b.set_mixer(0, volume=-6, pan=30, mute=True)
        assert "Rolled back" in str(failed.value) and "0.0 dB, C" in str(failed.value)
        state = sim.host.call(lambda: (str(sim.song.tracks[0].mixer_device.volume),
                                       str(sim.song.tracks[0].mixer_device.panning), sim.song.tracks[0].mute))
        assert state == ("0.0 dB", "C", False)
    finally:
        await b.close()
        sim.stop()
