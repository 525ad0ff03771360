"""LiveloomOSC — liveloom's companion Remote Script for Ableton Live 11 and 12.

Install with `liveloom install-remote-script`, then choose "LiveloomOSC" as a Control Surface
in Live's Preferences > Link, Tempo & MIDI. See surface.py for the protocol.
"""

from .surface import LiveloomOSC


def create_instance(c_instance, **options):
    """Live calls this with its c_instance; tests and the simulator pass ports and the profile."""
    return LiveloomOSC(c_instance, **options)
