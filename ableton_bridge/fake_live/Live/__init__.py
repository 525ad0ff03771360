"""The fake `Live` module: `Live.Song`, `Live.Clip`, `Live.Track`, ... as in Live's embedded Python."""

from . import Application, Browser, Clip, ClipSlot, Device, DeviceParameter, Envelope, MixerDevice, Scene, Song, Track

__all__ = ["Application", "Browser", "Clip", "ClipSlot", "Device", "DeviceParameter", "Envelope", "MixerDevice", "Scene",
           "Song", "Track"]
