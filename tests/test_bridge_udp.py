"""The real client and the real LiveloomOSC script against the fake Live, over UDP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
from contextlib import asynccontextmanager

import pytest
from udp_proxy import UdpRelay

from liveloom.ableton_bridge.bridge import ClipRef, LiveBridge
from liveloom.ableton_bridge.client import LiveUnavailable
from liveloom.ableton_bridge.sim import SimulatedLive, free_udp_port
from liveloom.ableton_bridge.target import LiveTarget
from liveloom.music.errors import LiveloomError
from liveloom.music.types import Clip, Note

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def live(extensions=True, version=(12, 2, 0), drop=0.0, duplicate=False, reply_drop=0.0, timeout=0.3):
    """A fake Live with the script, and a bridge talking to it through fault-injecting relays both ways."""
    client_port = free_udp_port()
    to_client = UdpRelay(("127.0.0.1", client_port), drop=reply_drop, duplicate=duplicate, seed=11)
    sim = SimulatedLive(version=version, tick=0.01, extensions=extensions, reply_port=to_client.port).start()
    to_live = UdpRelay(("127.0.0.1", sim.port), drop=drop, duplicate=duplicate, seed=3)
    bridge = LiveBridge(LiveTarget(False, "127.0.0.1", to_live.port, client_port), timeout=timeout, retries=4)
    try:
        yield bridge, sim, to_live, to_client
    finally:
        await bridge.close()
        sim.stop()
        to_live.close()
        to_client.close()


def notes_in_live(sim, track=0, slot=0):
    """The notes Live holds, times to 1e-4 beats (stock AbletonOSC sends times as float32)."""
    clip = sim.host.call(lambda: sim.song.tracks[track].clip_slots[slot].clip)
    if clip is None:
        return None
    return sim.host.call(lambda: sorted((n.pitch, round(n.start_time, 4), round(n.duration, 4), int(n.velocity),
                                   n.mute, round(n.probability, 6), int(n.velocity_deviation),
                                   int(n.release_velocity)) for n in clip.get_all_notes_extended()))


def expected(clip: Clip):
    return sorted((n.pitch, round(n.start, 4), round(n.duration, 4), n.velocity, n.mute, round(n.probability, 6),
                   n.velocity_deviation, n.release_velocity) for n in clip.notes)


def big_clip(n: int, live11: bool = False) -> Clip:
    notes = []
    for i in range(n):
        notes.append(Note(pitch=36 + (i * 7) % 60, start=round((i // 4) * 0.25 + (i % 4) * 0.01, 6),
                          duration=0.2, velocity=1 + (i * 13) % 127,
                          probability=0.5 if live11 and i % 3 == 0 else 1.0,
                          velocity_deviation=5 if live11 and i % 5 == 0 else 0))
    length = max(4.0, -(-max(x.end for x in notes) // 4) * 4)
    return Clip(name=f"{n} notes", notes=notes, length=length)


async def test_capabilities_stock_and_companion():
    async with live(extensions=False) as (b, *_):
        caps = await b.connect()
        assert caps.companion is False and caps.live_version == "12.2" and caps.script == "AbletonOSC (stock)"
        assert "write_automation" in caps.needs_companion
    async with live(extensions=True, version=(11, 3, 0)) as (b, *_):
        caps = await b.connect()
        assert caps.companion is True and caps.live_version == "11.3.0" and caps.needs_companion == []


async def test_live_not_running_says_how_to_fix_it():
    bridge = LiveBridge(LiveTarget(False, "127.0.0.1", free_udp_port(), free_udp_port()), timeout=0.2, retries=0)
    with pytest.raises(LiveUnavailable, match="install-remote-script"):
        await bridge.connect()
    await bridge.close()


@pytest.mark.parametrize("extensions", [True, False], ids=["companion", "stock"])
@pytest.mark.parametrize("n", [10, 1000, 5000])
async def test_write_and_verify_clips(extensions, n):
    async with live(extensions=extensions) as (b, sim, *_):
        clip = big_clip(n, live11=extensions)
        report = await b.write_clip(clip, track=0, slot=0)
        assert report.notes_verified == n and report.created
        assert notes_in_live(sim) == expected(clip)
        back = await b.read_clip(ClipRef(0, slot=0))
        assert sorted((x.pitch, x.start, x.duration, x.velocity) for x in back.notes) == sorted(
            (x.pitch, x.start, x.duration, x.velocity) for x in clip.notes)


async def test_stock_refuses_live11_fields_and_arrangement_and_automation():
    async with live(extensions=False) as (b, sim, *_):
        with pytest.raises(LiveloomError, match="Live 11 note fields"):
            await b.write_clip(big_clip(10, live11=True), track=0, slot=0)
        with pytest.raises(LiveloomError, match="companion"):
            await b.write_clip(big_clip(10), track=0, position=0.0)
        with pytest.raises(LiveloomError, match="companion"):
            await b.write_automation(ClipRef(0, slot=0), "volume", [(0, 1, 0.5)])
        assert notes_in_live(sim) is None  # nothing was created


@pytest.mark.parametrize("version,method", [((12, 2, 0), "create_midi_clip"),
                                            ((11, 3, 0), "duplicate_clip_to_arrangement")])
async def test_arrangement_clips_by_version(version, method):
    async with live(version=version) as (b, sim, *_):
        clip = big_clip(40)
        report = await b.write_clip(clip, track=0, position=16.0)
        assert method in report.method and report.notes_verified == 40
        arr = sim.host.call(lambda: sim.song.tracks[0].arrangement_clips)
        assert len(arr) == 1 and arr[0].start_time == 16.0
        assert len(sim.host.call(lambda: arr[0].get_all_notes_extended())) == 40
        assert sim.host.call(lambda: [s.has_clip for s in sim.song.tracks[0].clip_slots]) == [False] * 8
        with pytest.raises(LiveloomError, match="no clip envelopes for Arrangement clips"):
            await b.write_automation(ClipRef(0, arrangement_index=0), "volume", [(0, 1, 0.5)])


async def test_automation_lands_in_the_envelope_with_real_ranges():
    async with live() as (b, sim, *_):
        await b.write_clip(big_clip(8), track=0, slot=0)
        steps = [(i * 0.25, 0.25, 20 + i) for i in range(64)]
        out = await b.write_automation(ClipRef(0, slot=0), "device:0:1", steps)
        assert out["parameter"] == "Frequency" and out["points_verified"] == 64
        clip = sim.host.call(lambda: sim.song.tracks[0].clip_slots[0].clip)
        param = sim.song.tracks[0].devices[0].parameters[1]
        env = sim.host.call(lambda: clip.automation_envelope(param))
        assert [env.value_at_time(i * 0.25 + 0.1) for i in range(64)] == [20.0 + i for i in range(64)]
        pan = await b.write_automation(ClipRef(0, slot=0), "pan", [(0, 2, -1.0), (2, 2, 1.0)])
        send = await b.write_automation(ClipRef(0, slot=0), "send:1", [(0, 4, 0.75)])
        assert (pan["parameter"], send["parameter"]) == ("Track Panning", "B-Send")
        mixer = sim.song.tracks[0].mixer_device
        assert sim.host.call(lambda: clip.automation_envelope(mixer.panning).value_at_time(3.0)) == 1.0
        assert sim.host.call(lambda: clip.automation_envelope(mixer.sends[1]).value_at_time(1.0)) == 0.75
        again = await b.write_automation(ClipRef(0, slot=0), "device:0:1", [(0, 1, 135.0)])  # envelope exists
        assert again["points_verified"] == 1
        with pytest.raises(LiveloomError, match="takes values from 0 to 1"):
            await b.write_automation(ClipRef(0, slot=0), "volume", [(0, 1, 1.5)])


@pytest.mark.parametrize("extensions", [True, False], ids=["companion", "stock"])
async def test_lost_and_duplicated_datagrams_never_duplicate_notes(extensions):
    clip = big_clip(600, live11=extensions)
    async with live(extensions=extensions, drop=0.15, reply_drop=0.15) as (b, sim, to_live, to_client):
        await b.write_clip(clip, track=0, slot=0)
        assert to_live.dropped + to_client.dropped > 0
        assert notes_in_live(sim) == expected(clip)
    async with live(extensions=extensions, duplicate=True) as (b, sim, *_):
        await b.write_clip(clip, track=0, slot=0)
        assert notes_in_live(sim) == expected(clip)


async def test_live_going_away_mid_write_is_reported_honestly():
    async with live(timeout=0.2) as (b, sim, to_live, _):
        await b.connect()
        send_notes = b._send_notes

        async def vanish(*args, **kwargs):  # the clip exists; Live goes away as the notes are sent
            sim.host.pause()
            to_live.blackhole = True
            return await send_notes(*args, **kwargs)

        b._send_notes = vanish
        with pytest.raises(LiveloomError) as info:
            await b.write_clip(big_clip(300), track=0, slot=0)
        text = str(info.value)
        assert "0 of 300 notes acknowledged" in text
        assert "Rollback failed too" in text and "delete the clip at track 0, slot 0 by hand" in text


async def test_a_hiccup_in_live_is_ridden_out_without_duplicates():
    async with live(timeout=0.2) as (b, sim, *_):
        await b.connect()
        send_notes = b._send_notes

        async def hiccup(*args, **kwargs):
            sim.host.pause()  # Live stalls for half a second mid-write (a dialog, a heavy load)
            asyncio.get_running_loop().call_later(0.5, sim.host.resume)
            return await send_notes(*args, **kwargs)

        b._send_notes = hiccup
        clip = big_clip(700, live11=True)
        report = await b.write_clip(clip, track=0, slot=0)
        assert report.notes_verified == 700
        assert notes_in_live(sim) == expected(clip)


async def test_a_rejected_batch_rolls_back_the_new_clip():
    async with live() as (b, sim, *_):
        clip = big_clip(500)
        # sneak an invalid note into the last batch: the script rejects that batch
        bad = clip.model_copy(update={"notes": clip.notes + [Note(pitch=60, start=0, duration=0.5)]})
        object.__setattr__(bad.notes[-1], "pitch", 200)
        with pytest.raises(LiveloomError) as info:
            await b.write_clip(bad, track=0, slot=0)
        assert "Rolled back: the new clip" in str(info.value)
        assert "notes acknowledged" in str(info.value)
        assert notes_in_live(sim) is None


async def test_replace_restores_the_old_notes_when_the_write_fails():
    async with live() as (b, sim, *_):
        original = big_clip(30)
        await b.write_clip(original, track=0, slot=0)
        bad = big_clip(100)
        object.__setattr__(bad.notes[-1], "pitch", 200)
        with pytest.raises(LiveloomError, match="original notes again"):
            await b.write_clip(bad, track=0, slot=0, mode="replace")
        assert notes_in_live(sim) == expected(original)


async def test_merge_and_occupied_slot():
    async with live() as (b, sim, *_):
        await b.write_clip(Clip(length=4, notes=[Note(pitch=60, start=0, duration=1)]), track=0, slot=0)
        with pytest.raises(LiveloomError, match="already holds a clip"):
            await b.write_clip(Clip(length=4, notes=[Note(pitch=64, start=0, duration=1)]), track=0, slot=0)
        await b.write_clip(Clip(length=4, notes=[Note(pitch=64, start=0, duration=1)]), track=0, slot=0, mode="merge")
        assert [n[0] for n in notes_in_live(sim)] == [60, 64]


async def test_stock_errors_come_back_fast_and_clear():
    async with live(extensions=False) as (b, *_):
        await b.connect()
        with pytest.raises(LiveloomError, match="track 5 does not exist"):
            await b.client.query("/live/clip/get/notes", 5, 0)


async def test_reply_port_in_use_is_explained():
    taken = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    taken.bind(("127.0.0.1", 0))
    port = taken.getsockname()[1]
    bridge = LiveBridge(LiveTarget(False, "127.0.0.1", free_udp_port(), port))
    with pytest.raises(LiveUnavailable, match="holds that port"):
        await bridge.connect()
    taken.close()


async def test_garbage_datagrams_do_not_stop_the_script():
    async with live() as (b, sim, *_):
        await b.connect()
        junk = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for data in (b"", b"nope", b"/x\0\0,i\0\0", b"#bundle\0" + b"\0" * 12, b"/live/clip/add/notes\0\0\0\0,s\0\0"):
            junk.sendto(data, ("127.0.0.1", sim.port))
        junk.close()
        caps = await b.connect(refresh=True)
        assert caps.companion
        report = await b.write_clip(big_clip(20), track=0, slot=0)
        assert report.notes_verified == 20
