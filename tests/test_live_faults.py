"""The Live bridge under lost datagrams, through the MCP client (issue 16): a companion probe whose datagrams are
all lost is asked again, not cached as "no companion" for the session."""

from __future__ import annotations

import pytest
from helpers import call_ok
from mcp import Client
from udp_proxy import UdpRelay

from liveloom.ableton_bridge.sim import SimulatedLive, free_udp_port
from liveloom.ableton_bridge.target import LiveTarget
from liveloom.server.app import build_server
from liveloom.server.config import Config

pytestmark = pytest.mark.anyio


async def test_a_lost_companion_probe_is_asked_again(home):
    client_port = free_udp_port()
    to_client = UdpRelay(("127.0.0.1", client_port))
    sim = SimulatedLive(tick=0.01, extensions=True, reply_port=to_client.port).start()
    to_live = UdpRelay(("127.0.0.1", sim.port))
    to_live.swallow[b"/liveloom/test"] = 3  # the probe and both of its retries are lost
    server = build_server(Config(home=home, allow=[], live=LiveTarget(False, "127.0.0.1", to_live.port,
                                                                       client_port)))
    try:
        async with Client(server) as client:
            status = await call_ok(client, "live_status", {})
            assert status["reachable"] and status["companion"] is False  # nothing answered: not known yet
            clip = await call_ok(client, "notation_to_clip", {"text": "C F G C"})
            written = await call_ok(client, "write_clip", {"id": clip["id"], "track": 0, "slot": 0})
            assert written["method"] == "LiveloomOSC extensions"  # asked again, and it answered
            env = await call_ok(client, "write_automation", {"track": 0, "slot": 0, "parameter": "volume",
                                                             "points": [{"beat": 0, "value": 0.2},
                                                                        {"beat": 4, "value": 0.8}]})
            assert env["points_verified"] > 0
            assert (await call_ok(client, "live_status", {}))["companion"] is True
    finally:
        await server.services.live.close()
        sim.stop()
        to_live.close()
        to_client.close()


async def test_a_new_clip_whose_creation_is_not_confirmed_is_removed_again():
    """write_clip into an empty slot: Live makes the clip, but every reply confirming it is lost. The clip that
    Live made is deleted again (it used to stay behind, empty), and the error says what the slot holds."""
    from liveloom.ableton_bridge.bridge import LiveBridge, WriteFailed
    from liveloom.ableton_bridge.client import LiveUnavailable
    from liveloom.music.types import Clip, Note

    sim = SimulatedLive(tick=0.01, extensions=True).start()
    bridge = LiveBridge(sim.target, timeout=0.3, retries=1)
    real_has_clip = bridge.has_clip
    calls = {"n": 0}

    async def lossy_has_clip(track: int, slot: int) -> bool:
        calls["n"] += 1
        if 2 <= calls["n"] <= 5:  # the first answer (the slot is empty) arrives; the confirmations do not
            raise LiveUnavailable("no reply from Live to /live/clip_slot/get/has_clip after 2 tries")
        return await real_has_clip(track, slot)

    bridge.has_clip = lossy_has_clip
    try:
        with pytest.raises(WriteFailed) as failed:
            await bridge.write_clip(Clip(notes=[Note(pitch=60, start=0, duration=1)], length=4), track=0, slot=0)
        assert "nothing was written" in str(failed.value) and "deleted" in str(failed.value)
        assert sim.host.call(lambda: sim.song.tracks[0].clip_slots[0].clip) is None  # no empty clip left behind
    finally:
        await bridge.close()
        sim.stop()
