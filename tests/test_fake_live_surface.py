"""The fake Live Object Model may not invent API: every public name it has must exist in
`ableton-live-stubs` (Live 12.3's API), as the same kind of thing (method or property)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from liveloom.ableton_bridge.fake_live import install_fake_live

install_fake_live()
import Live  # noqa: E402


def _stubs_dir() -> Path:
    import site
    import sysconfig

    for base in [*site.getsitepackages(), sysconfig.get_paths()["purelib"]]:
        d = Path(base) / "Live-stubs"
        if d.is_dir():
            return d
    pytest.skip("ableton-live-stubs is not installed")


def _stub_members(module: str) -> dict[str, dict[str, str]]:
    """class name -> {member: 'method' | 'property' | 'attribute'} from Live-stubs/<module>.pyi"""
    tree = ast.parse((_stubs_dir() / f"{module}.pyi").read_text())
    out: dict[str, dict[str, str]] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            members: dict[str, str] = {}
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    decorators = {getattr(d, "id", getattr(d, "attr", "")) for d in item.decorator_list}
                    if "property" in decorators or "setter" in decorators:
                        members[item.name] = "property"
                    else:
                        members.setdefault(item.name, "method")
                elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    members[item.target.id] = "attribute"
            out[node.name] = members
        elif isinstance(node, ast.FunctionDef):
            out.setdefault("<module>", {})[node.name] = "method"
    return out


def _sample_objects():
    song = Live.Song.Song((12, 2, 0))
    track = song.create_midi_track(-1)
    slot = track.clip_slots[0]
    slot.create_clip(4.0)
    clip = slot.clip
    clip.add_new_notes([Live.Clip.MidiNoteSpecification(60, 0.0, 1.0)])
    note = clip.get_all_notes_extended()[0]
    device = song._load_device(track, "Auto Filter", "AutoFilter", [("Frequency", 20.0, 135.0, 100.0)])
    envelope = clip.create_automation_envelope(device.parameters[1])
    browser = Live.Application.Application((12, 2, 0)).browser
    return {
        ("Song", "Song"): song, ("Track", "Track"): track, ("ClipSlot", "ClipSlot"): slot, ("Clip", "Clip"): clip,
        ("Clip", "MidiNote"): note, ("Clip", "MidiNoteSpecification"): Live.Clip.MidiNoteSpecification(60, 0, 1),
        ("Device", "Device"): device, ("DeviceParameter", "DeviceParameter"): device.parameters[0],
        ("MixerDevice", "MixerDevice"): track.mixer_device, ("Envelope", "Envelope"): envelope,
        ("Scene", "Scene"): song.scenes[0], ("Application", "Application"): Live.Application.Application((12, 2, 0)),
        ("Browser", "Browser"): browser, ("Browser", "BrowserItem"): browser.audio_effects.children[0],
    }


def _fake_members(obj) -> dict[str, str]:
    members: dict[str, str] = {}
    for name in set(dir(type(obj))) | set(vars(obj)):
        if name.startswith("_"):
            continue
        static = inspect.getattr_static(obj, name)
        if isinstance(static, property):
            members[name] = "property"
        elif callable(static) or type(static).__name__ == "since":
            members[name] = "method"
        else:
            members[name] = "attribute"
    return members


@pytest.mark.parametrize("key", list(_sample_objects().keys()), ids=lambda k: f"{k[0]}.{k[1]}")
def test_fake_class_surface_exists_in_the_stubs(key):
    module, cls = key
    obj = _sample_objects()[key]
    stub = _stub_members(module)
    assert cls in stub, f"Live.{module}.{cls} is not in the stubs"
    real = stub[cls]
    invented = {n: k for n, k in _fake_members(obj).items() if n not in real}
    assert not invented, f"the fake Live.{module}.{cls} invents {invented}"
    wrong_kind = {n: (k, real[n]) for n, k in _fake_members(obj).items()
                  if n in real and (k == "method") != (real[n] == "method")}
    assert not wrong_kind, f"Live.{module}.{cls}: (fake, real) kinds differ: {wrong_kind}"


def test_fake_module_functions_exist_in_the_stubs():
    stub = _stub_members("Application").get("<module>", {})
    public = [n for n, v in vars(Live.Application).items() if callable(v) and not n.startswith("_")
              and getattr(v, "__module__", "") == Live.Application.__name__ and not inspect.isclass(v)]
    assert public and all(n in stub for n in public), public


def test_version_gating_hides_newer_api():
    old = Live.Song.Song((11, 3, 0))
    track = old.create_midi_track(-1)
    assert not hasattr(track, "create_midi_clip")  # 12.1.10+
    assert hasattr(track, "duplicate_clip_to_arrangement")
    new = Live.Song.Song((12, 2, 0)).create_midi_track(-1)
    assert hasattr(new, "create_midi_clip")
    clip_10 = Live.Song.Song((10, 1, 30)).create_midi_track(-1).clip_slots[0]
    clip_10.create_clip(4.0)
    assert not hasattr(clip_10.clip, "add_new_notes")  # the note API came with Live 11


def test_overlap_rule_and_envelope_rules():
    song = Live.Song.Song((12, 2, 0))
    track = song.create_midi_track(-1)
    track.clip_slots[0].create_clip(8.0)
    clip = track.clip_slots[0].clip
    spec = Live.Clip.MidiNoteSpecification
    clip.add_new_notes([spec(60, 0.0, 2.0), spec(62, 0.0, 1.0)])
    clip.add_new_notes([spec(60, 1.0, 1.0)])  # cuts the earlier C at beat 1
    clip.add_new_notes([spec(62, 0.0, 0.5, velocity=50)])  # same start: replaces
    got = [(n.pitch, n.start_time, n.duration, n.velocity) for n in clip.get_all_notes_extended()]
    assert got == [(60, 0.0, 1.0, 100.0), (62, 0.0, 0.5, 50.0), (60, 1.0, 1.0, 100.0)]
    with pytest.raises(RuntimeError):
        clip.add_new_notes([spec(128, 0.0, 1.0)])
    param = track.mixer_device.volume
    env = clip.create_automation_envelope(param)
    with pytest.raises(RuntimeError, match="already exists"):
        clip.create_automation_envelope(param)
    with pytest.raises(RuntimeError, match="range"):
        env.insert_step(0.0, 1.0, 1.5)
    env.insert_step(0.0, 1.0, 0.25)
    assert env.value_at_time(0.5) == 0.25
    arr = track.create_midi_clip(0.0, 4.0)
    assert arr.automation_envelope(param) is None
    with pytest.raises(RuntimeError):
        arr.create_automation_envelope(param)


def test_undo_takes_back_the_last_change_of_any_kind():
    song = Live.Song.Song((12, 2, 0))
    track = song.create_midi_track(-1)
    song.tempo = 100.0
    track.clip_slots[0].create_clip(4.0)
    clip = track.clip_slots[0].clip
    clip.add_new_notes([Live.Clip.MidiNoteSpecification(60, 0.0, 1.0)])
    track.clip_slots[0].delete_clip()
    song.undo()  # the delete
    assert song.tracks[0].clip_slots[0].clip is not None and song.tempo == 100.0
    song.undo()  # the note
    assert song.tracks[0].clip_slots[0].clip.get_all_notes_extended() == []
    song.begin_undo_step()
    song.tracks[0].clip_slots[1].create_clip(4.0)
    song.tempo = 90.0
    song.end_undo_step()
    song.undo()  # one step for both changes
    assert song.tempo == 100.0 and song.tracks[0].clip_slots[1].clip is None


def test_the_browser_loads_onto_the_selected_track_like_live():
    app = Live.Application.Application((12, 2, 0))
    song = Live.Song.Song((12, 2, 0))
    app._song = song
    midi, audio = song.create_midi_track(-1), song.create_audio_track(-1)
    kit = next(i for i in app.browser.drums.children if i.name == "808 Core Kit.adg")
    song.view.selected_track = midi
    app.browser.load_item(kit)
    assert [(d.name, d.class_name, d.type) for d in midi.devices] == [("808 Core Kit", "DrumGroupDevice", 1)]
    song.view.selected_track = audio
    with pytest.raises(RuntimeError, match="MIDI tracks"):
        app.browser.load_item(kit)
    assert not app.browser.sounds.is_loadable and app.browser.sounds.children[0].is_folder
    volume = midi.mixer_device.volume
    assert volume.str_for_value(0.85) == "0.0 dB" and volume.str_for_value(0.0) == "-inf dB"
    assert midi.mixer_device.panning.str_for_value(-0.5) == "25L"
