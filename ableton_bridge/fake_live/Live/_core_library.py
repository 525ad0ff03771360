"""What the fake Live's browser holds: a small Core Library with Live 12's real category, device and
preset names, each device with the parameters (range and unit) the real one shows for them.

Not Live API: data the fake `Live.Browser` and `Song` build their objects from. URIs follow Live's
form (`query:AudioFx#Auto%20Filter`); the real browser's URIs are opaque to liveloom, which only
passes back what a search returned.
"""

from __future__ import annotations

from urllib.parse import quote

INSTRUMENT, AUDIO_EFFECT, MIDI_EFFECT = 1, 2, 4

# device name -> (class name, device type, parameters: (name, min, max, default[, quantized, display]))
DEVICES: dict[str, tuple[str, int, list[tuple]]] = {
    # instruments
    "Drift": ("Drift", INSTRUMENT, [("Volume", -36.0, 0.0, -6.0, False, "db"),
                                    ("LP Freq", 20.0, 135.0, 110.0, False, "pitch_hz"),
                                    ("LP Reso", 0.0, 1.0, 0.2, False, "percent")]),
    "Operator": ("Operator", INSTRUMENT, [("Volume", -36.0, 0.0, -12.0, False, "db"),
                                          ("Filter Freq", 20.0, 135.0, 120.0, False, "pitch_hz"),
                                          ("Algorithm", 0, 10, 0, True, "int")]),
    "Analog": ("UltraAnalog", INSTRUMENT, [("Volume", -36.0, 0.0, -12.0, False, "db"),
                                           ("F1 Freq", 20.0, 135.0, 100.0, False, "pitch_hz")]),
    "Wavetable": ("InstrumentVector", INSTRUMENT, [("Volume", -36.0, 0.0, -12.0, False, "db"),
                                                   ("Filter 1 Freq", 20.0, 135.0, 110.0, False, "pitch_hz")]),
    "Meld": ("InstrumentMeld", INSTRUMENT, [("Volume", -36.0, 0.0, -12.0, False, "db")]),
    "Electric": ("LoungeLizard", INSTRUMENT, [("Volume", -36.0, 0.0, -12.0, False, "db")]),
    "Tension": ("StringStudio", INSTRUMENT, [("Volume", -36.0, 0.0, -12.0, False, "db")]),
    "Collision": ("Collision", INSTRUMENT, [("Volume", -36.0, 0.0, -12.0, False, "db")]),
    "Simpler": ("OriginalSimpler", INSTRUMENT, [("Volume", -36.0, 0.0, -12.0, False, "db")]),
    "Sampler": ("MultiSampler", INSTRUMENT, [("Volume", -36.0, 0.0, -12.0, False, "db")]),
    "Impulse": ("InstrumentImpulse", INSTRUMENT, [("Global Volume", -36.0, 0.0, 0.0, False, "db")]),
    "Drum Rack": ("DrumGroupDevice", INSTRUMENT, [("Macro 1", 0.0, 127.0, 0.0, False, "int")]),
    "Instrument Rack": ("InstrumentGroupDevice", INSTRUMENT, [("Macro 1", 0.0, 127.0, 0.0, False, "int")]),
    # audio effects
    "Auto Filter": ("AutoFilter", AUDIO_EFFECT, [("Frequency", 20.0, 135.0, 135.0, False, "pitch_hz"),
                                                 ("Resonance", 0.0, 1.25, 0.1, False, "percent"),
                                                 ("Dry/Wet", 0.0, 1.0, 1.0, False, "percent")]),
    "Reverb": ("Reverb", AUDIO_EFFECT, [("Decay Time", 200.0, 60000.0, 2000.0, False, "ms"),
                                        ("Dry/Wet", 0.0, 1.0, 0.5, False, "percent")]),
    "Delay": ("Delay", AUDIO_EFFECT, [("Feedback", 0.0, 0.95, 0.5, False, "percent"),
                                      ("Dry/Wet", 0.0, 1.0, 0.5, False, "percent")]),
    "Echo": ("Echo", AUDIO_EFFECT, [("Feedback", 0.0, 1.5, 0.5, False, "percent"),
                                    ("Dry Wet", 0.0, 1.0, 0.5, False, "percent")]),
    "Compressor": ("Compressor2", AUDIO_EFFECT, [("Threshold", -70.0, 6.0, 0.0, False, "db"),
                                                 ("Ratio", 1.0, 100.0, 4.0),
                                                 ("Output Gain", -36.0, 36.0, 0.0, False, "db")]),
    "Glue Compressor": ("GlueCompressor", AUDIO_EFFECT, [("Threshold", -40.0, 0.0, 0.0, False, "db"),
                                                         ("Makeup", 0.0, 20.0, 0.0, False, "db")]),
    "EQ Eight": ("Eq8", AUDIO_EFFECT, [("1 Frequency A", 20.0, 135.0, 40.0, False, "pitch_hz"),
                                       ("1 Gain A", -15.0, 15.0, 0.0, False, "db")]),
    "Limiter": ("Limiter", AUDIO_EFFECT, [("Gain", -24.0, 24.0, 0.0, False, "db"),
                                          ("Ceiling", -24.0, 0.0, -0.3, False, "db")]),
    "Saturator": ("Saturator", AUDIO_EFFECT, [("Drive", -36.0, 36.0, 0.0, False, "db"),
                                              ("Dry/Wet", 0.0, 1.0, 1.0, False, "percent")]),
    "Utility": ("StereoGain", AUDIO_EFFECT, [("Gain", -35.0, 35.0, 0.0, False, "db"),
                                             ("Width", 0.0, 4.0, 1.0, False, "percent")]),
    "Chorus-Ensemble": ("Chorus2", AUDIO_EFFECT, [("Dry/Wet", 0.0, 1.0, 0.5, False, "percent")]),
    "Auto Pan": ("AutoPan", AUDIO_EFFECT, [("Amount", 0.0, 1.0, 0.5, False, "percent")]),
    "Drum Buss": ("DrumBuss", AUDIO_EFFECT, [("Drive", 0.0, 1.0, 0.2, False, "percent")]),
    "Hybrid Reverb": ("HybridReverb", AUDIO_EFFECT, [("Dry/Wet", 0.0, 1.0, 0.5, False, "percent")]),
    # MIDI effects
    "Arpeggiator": ("MidiArpeggiator", MIDI_EFFECT, [("Rate", 0, 20, 8, True, "int")]),
    "Chord": ("MidiChord", MIDI_EFFECT, [("Shift1", -36, 36, 0, True, "int")]),
    "Scale": ("MidiScale", MIDI_EFFECT, [("Base", 0, 11, 0, True, "int")]),
    "Velocity": ("MidiVelocity", MIDI_EFFECT, [("Random", 0.0, 64.0, 0.0, False, "int")]),
    "Note Length": ("MidiNoteLength", MIDI_EFFECT, [("Length", 0.0, 1.0, 0.5, False, "percent")]),
    "Random": ("MidiRandom", MIDI_EFFECT, [("Chance", 0.0, 1.0, 0.0, False, "percent")]),
}

# presets: name -> (file name, the device it loads)
PRESETS = {
    "instruments": {
        "Drift": ["Analog Bass.adv", "Soft Pad.adv", "Mono Lead.adv"],
        "Operator": ["FM Electric Piano.adv", "Sub Bass.adv"],
        "Wavetable": ["Wide Pad.adv", "Pluck Lead.adv"],
        "Electric": ["Suitcase Classic.adv"],
    },
    "drums": {"Drum Rack": ["808 Core Kit.adg", "909 Core Kit.adg", "Boom Bap Kit.adg", "Acoustic Core Kit.adg",
                            "Brush Kit.adg"]},
    "sounds": {
        "Bass": [("Sub Bass.adv", "Operator"), ("Picked Bass.adg", "Instrument Rack"),
                 ("Analog Bass.adv", "Drift"), ("Upright Bass.adg", "Instrument Rack")],
        "Piano & Keys": [("Grand Piano.adg", "Instrument Rack"), ("Suitcase Classic.adv", "Electric"),
                         ("FM Electric Piano.adv", "Operator"), ("Jazz Organ.adg", "Instrument Rack")],
        "Pad": [("Soft Pad.adv", "Drift"), ("Wide Pad.adv", "Wavetable"), ("String Pad.adg", "Instrument Rack")],
        "Synth Lead": [("Mono Lead.adv", "Drift"), ("Pluck Lead.adv", "Wavetable")],
        "Strings": [("Chamber Strings.adg", "Instrument Rack")],
        "Brass": [("Brass Section.adg", "Instrument Rack")],
        "Guitar & Plucked": [("Nylon Guitar.adg", "Instrument Rack")],
        "Voices": [("Choir Aahs.adg", "Instrument Rack")],
    },
}

SAMPLES = {"Drums": ["Kick 808.wav", "Snare Core.wav", "Hihat Closed.wav"], "Loops": ["Break 90 bpm.wav"]}

CATEGORIES = {"instruments": "Instruments", "drums": "Drums", "sounds": "Sounds", "audio_effects": "AudioFx",
              "midi_effects": "MidiFx", "samples": "Samples"}


def uri(category: str, *path: str) -> str:
    return f"query:{CATEGORIES[category]}#" + ":".join(quote(p) for p in path)


def tree() -> dict[str, list[dict]]:
    """category -> nested items: {"name", "uri", "device" (the device it loads, or None), "children",
    "is_device"}."""

    def item(name, category, path, device=None, is_device=False, children=None):
        return {"name": name, "uri": uri(category, *path), "device": device, "is_device": is_device,
                "children": children or []}

    out: dict[str, list[dict]] = {}
    for category, kind in (("instruments", INSTRUMENT), ("audio_effects", AUDIO_EFFECT),
                           ("midi_effects", MIDI_EFFECT)):
        items = []
        for name, (_, dtype, _) in DEVICES.items():
            if dtype != kind or (category == "instruments" and name == "Drum Rack"):
                continue
            presets = PRESETS.get(category, {}).get(name, [])
            kids = [item(p, category, (name, p), device=(name, p.rsplit(".", 1)[0])) for p in presets]
            items.append(item(name, category, (name,), device=(name, name), is_device=True, children=kids))
        out[category] = items
    drums = [item("Drum Rack", "drums", ("Drum Rack",), device=("Drum Rack", "Drum Rack"), is_device=True)]
    drums += [item(k, "drums", (k,), device=("Drum Rack", k.rsplit(".", 1)[0])) for k in PRESETS["drums"]["Drum Rack"]]
    out["drums"] = drums
    out["sounds"] = [item(folder, "sounds", (folder,), children=[
        item(p, "sounds", (folder, p), device=(dev, p.rsplit(".", 1)[0])) for p, dev in presets])
        for folder, presets in PRESETS["sounds"].items()]
    out["samples"] = [item(folder, "samples", (folder,), children=[item(f, "samples", (folder, f)) for f in files])
                      for folder, files in SAMPLES.items()]
    return out
