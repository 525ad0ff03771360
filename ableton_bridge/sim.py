"""`--live sim`: a simulated Live set in this process — the fake Live Object Model running the real
LiveloomOSC Remote Script on a loopback UDP port, ticking like Live's main thread."""

from __future__ import annotations

import socket
import types

from .fake_live import install_fake_live
from .target import LiveTarget


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def demo_set(song) -> None:
    """The simulated set starts like Live's default set — returns A-Reverb and B-Delay — with one MIDI track
    holding an Auto Filter."""
    from Live._core_library import DEVICES  # the fake Live, installed by SimulatedLive

    for name, device in (("A-Reverb", "Reverb"), ("B-Delay", "Delay")):
        ret = song.create_return_track()
        ret.name = name
        class_name, kind, params = DEVICES[device]
        song._load_device(ret, device, class_name, params, device_type=kind)
    track = song.create_midi_track(-1)
    track.name = "1-MIDI"
    class_name, kind, params = DEVICES["Auto Filter"]
    song._load_device(track, "Auto Filter", class_name, params, device_type=kind)
    song._undo.clear()


class SimulatedLive:
    """Start with `start()`; `target` is where the client should send. `extensions=False` plays stock AbletonOSC."""

    def __init__(self, version: tuple[int, int, int] = (12, 2, 0), tick: float = 0.01, extensions: bool = True,
                 setup=demo_set, port: int | None = None, reply_port: int | None = None):
        install_fake_live()
        from .fake_live.host import FakeLiveHost
        from .remote_script import LiveloomOSC

        self.reply_port = reply_port or free_udp_port()
        options = {"port": port or 0, "reply_port": self.reply_port, "host": "127.0.0.1", "extensions": extensions}
        script = types.SimpleNamespace(create_instance=lambda c: LiveloomOSC.create_instance(c, **options))
        self.host = FakeLiveHost(script, version=version, tick=tick, setup=setup)
        self.port = self.host.surface._socket.getsockname()[1]

    @property
    def target(self) -> LiveTarget:
        return LiveTarget(simulated=False, host="127.0.0.1", port=self.port, reply_port=self.reply_port)

    @property
    def song(self):
        return self.host.song

    def start(self) -> SimulatedLive:
        self.host.start()
        return self

    def stop(self) -> None:
        self.host.stop()
