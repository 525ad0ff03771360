"""Live.Browser: Live's browser (instruments, drums, sounds, effects, samples) and loading an item onto the
selected track, as `Application.browser.load_item(item)` does in Live."""

from __future__ import annotations

from ._version import LomObject, changed
from .Device import Device


class BrowserItem:
    def __init__(self, spec: dict):
        self.name = spec["name"]
        self.uri = spec["uri"]
        self.is_device = bool(spec["is_device"])
        self._device = spec["device"]
        self.is_loadable = self._device is not None or self.name.lower().endswith((".wav", ".aif", ".aiff"))
        self.is_folder = bool(spec["children"]) and not self.is_loadable
        self.is_selected = False
        self.source = "Live"
        self.children = [BrowserItem(c) for c in spec["children"]]

    @property
    def iter_children(self):
        return iter(self.children)


class Browser(LomObject):
    def __init__(self, live_version, application):
        super().__init__(live_version)
        from ._core_library import tree

        t = tree()
        self._application = application
        self.instruments = self._root("Instruments", t["instruments"])
        self.drums = self._root("Drums", t["drums"])
        self.sounds = self._root("Sounds", t["sounds"])
        self.audio_effects = self._root("Audio Effects", t["audio_effects"])
        self.midi_effects = self._root("MIDI Effects", t["midi_effects"])
        self.samples = self._root("Samples", t["samples"])
        self.plugins = self._root("Plug-Ins", [])
        self.user_library = self._root("User Library", [])
        self.hotswap_target = None

    @staticmethod
    def _root(name: str, children: list[dict]) -> BrowserItem:
        return BrowserItem({"name": name, "uri": f"query:{name.replace(' ', '')}", "is_device": False,
                            "device": None, "children": children})

    def load_item(self, item: BrowserItem) -> None:
        """Load onto the selected track: an instrument replaces the track's instrument (Live keeps one per
        chain); a MIDI effect goes before it, an audio effect at the end; a sample becomes a Simpler."""
        from ._core_library import DEVICES

        if not item.is_loadable:
            raise RuntimeError("Browser item is not loadable")
        song = self._application._song
        track = song.view.selected_track
        if track is None:
            raise RuntimeError("No track selected")
        if item._device is not None:
            base, name = item._device
        else:  # a sample
            base, name = "Simpler", item.name.rsplit(".", 1)[0]
        class_name, dtype, params = DEVICES[base]
        if dtype == 1 and not track.has_midi_input:
            raise RuntimeError("Instruments can only be loaded onto MIDI tracks")
        changed(track)
        device = Device(self._live_version, name, class_name, params, device_type=dtype, parent=track)
        devices = track.devices
        if dtype == 1:
            old = [i for i, d in enumerate(devices) if d.type == 1]
            if old:
                devices[old[0]] = device
            else:
                at = sum(1 for d in devices if d.type == 4)
                devices.insert(at, device)
        elif dtype == 4:
            devices.insert(sum(1 for d in devices if d.type == 4), device)
        else:
            devices.append(device)
