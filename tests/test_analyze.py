"""analyze_clip through a real MCP client, and the analysis functions on known material."""

from __future__ import annotations

import pytest
from helpers import call_err, call_ok

from liveloom.music import analysis
from liveloom.music.notation import realize
from liveloom.music.theory import parse_chord_symbol, parse_key
from liveloom.music.types import Note, TimeSignature

pytestmark = pytest.mark.anyio


def test_key_profiles_find_clear_keys_and_the_cadence_prior_helps():
    scale = [Note(pitch=60 + s, start=i, duration=1) for i, s in enumerate([0, 2, 4, 5, 7, 9, 11, 12])]
    assert analysis.estimate_key(scale).key == "C major"
    # A natural minor, ending on A: relative of C; the histogram alone leans C, the cadence says A minor
    aminor = [Note(pitch=57 + s, start=i, duration=1) for i, s in enumerate([0, 2, 3, 5, 7, 8, 10, 12, 7, 3, 0])]
    aminor.append(Note(pitch=45, start=11, duration=4))
    assert analysis.estimate_key(aminor).key == "A minor"
    with pytest.raises(ValueError):
        analysis.estimate_key([])


@pytest.mark.parametrize("symbol,roman,key", [("Dm7", "ii7", "C"), ("G7", "V7", "C"), ("Cmaj7", "Imaj7", "C"),
                                              ("Bb", "bVII", "C"), ("E7", "V7", "A minor"), ("G#dim", "viio", "A minor"),
                                              ("F/A", "IV6", "C"), ("Bm7b5", "iiø7", "A minor"),
                                              ("Em7/G", "iii65", "C"), ("G7/D", "V43", "C"), ("G7/F", "V42", "C"),
                                              ("C/G", "I64", "C"), ("Fmaj7/A", "IV65", "C"),
                                              ("G#dim7/B", "viio65", "A minor"), ("Bm7b5/D", "iiø65", "A minor")])
def test_roman_numerals_of_labelled_chords(symbol, roman, key):
    """Inversions as figured bass: 6 and 64 for triads, 65, 43 and 42 for sevenths (never '76' or '742')."""
    assert analysis.roman_numeral(parse_chord_symbol(symbol), parse_key(key)) == roman


@pytest.mark.parametrize("root,intervals,bass,key,name", [
    (4, (0, 4, 7), 8, "E major", "E/G#"), (6, (0, 4, 7, 10), 10, "F# minor", "F#7/A#"),
    (9, (0, 4, 7, 11), 8, "A major", "Amaj7/G#"), (9, (0, 4, 8), 9, "F# minor", "Aaug"),
    (10, (0, 4, 7), 10, "C major", "Bb"), (2, (0, 4, 7, 10), 6, "C major", "D7/F#"),
    (8, (0, 4, 7), 0, "C# minor", "G#/B#"), (3, (0, 4, 7), 3, "Bb major", "Eb")])
def test_chord_names_are_spelled_in_the_key(root, intervals, bass, key, name):
    from liveloom.music.theory import ChordSpec, chord_name

    assert chord_name(ChordSpec(root=root, intervals=intervals, bass=bass, symbol=""), parse_key(key)) == name


def test_chords_swing_structure_and_descriptors_on_known_material():
    r = realize("Dm7 | G7 | Cmaj7 | A7 | Dm7 | G7 | Cmaj7 | Cmaj7", rhythm="swing8")
    chords = analysis.chords_by_span(r.clip.notes, 4.0, r.clip.length)
    assert [c["chord"] for c in chords] == ["Dm7", "G7", "Cmaj7", "A7", "Dm7", "G7", "Cmaj7", "Cmaj7"]
    assert all(c["fit"] == 1.0 for c in chords)
    groove = analysis.rhythm_and_groove(r.clip.notes, TimeSignature(), 120)
    assert groove["swing_ratio"] == pytest.approx(0.667, abs=1e-3)
    sixteenths = [Note(pitch=42, start=b + f, duration=0.1) for b in range(8) for f in (0, 0.31, 0.5, 0.81)]
    swung16 = analysis.rhythm_and_groove(sixteenths, TimeSignature(), 100)
    assert swung16["swing_ratio"] == 0.5 and swung16["swing16_ratio"] == pytest.approx(0.62)
    dotted = [Note(pitch=60, start=b + f, duration=0.25) for b in range(8) for f in (0, 0.75)]  # dotted 8th + 16th
    assert analysis.rhythm_and_groove(dotted + [Note(pitch=60, start=b + 0.5, duration=0.25) for b in range(4)],
                                      TimeSignature(), 100)["swing_ratio"] == 0.5
    st = analysis.structure(r.clip.notes, 4.0, r.clip.length)
    # the second phrase differs from the first in its last bar only (Cmaj7 for A7, sharing E and G over the bass):
    # over 80 % of its (pitch class, place) pairs repeat, so it reads as the first phrase again
    assert st["bars"] == "ABCDABCC" and st["phrases"] == "AA"
    d = analysis.descriptors(r.clip.notes, TimeSignature(), r.clip.length)
    assert d["empty_beat_rate"] == 0.0 and d["groove_consistency"] == 1.0 and 0.9 < d["scale_consistency"] <= 1.0


async def test_analyze_clip_through_mcp(client, home):
    made = await call_ok(client, "notation_to_clip", {"text": "ii7 V7 Imaj7 Imaj7", "key": "Bb", "tempo": 96})
    out = await call_ok(client, "analyze_clip", {"id": made["id"]})
    assert out["key"]["key"] == "Bb major" and out["kind"] == "analysis"
    assert [c["roman"] for c in out["chords"]] == ["ii7", "V7", "Imaj7", "Imaj7"]
    assert out["tempo"] == 96 and out["tempo_source"] == "clip" and out["bars"] == 4
    stored = await call_ok(client, "list_artifacts", {"kind": "analysis"})
    assert stored["items"][0]["id"] == out["id"]
    # from a MIDI file, per beat, with a given key
    await call_ok(client, "export_midi", {"ids": [made["id"]], "path": "prog.mid"})
    per_beat = await call_ok(client, "analyze_clip", {"path": "prog.mid", "chords_per": "beat", "key": "G minor"})
    assert len(per_beat["chords"]) == 16 and per_beat["chords"][0]["roman"] == "iv7"
    assert per_beat["key"]["method"] == "given" and per_beat["tempo_source"] == "file"
    drums = await call_ok(client, "notation_to_clip", {"text": "kick: x...\nhh: x.x.", "repeat": 2})
    beat = await call_ok(client, "analyze_clip", {"id": drums["id"]})
    assert beat["key"]["key"] == "none (drums only)" and beat["chords"] == [] and beat["structure"]["bars"] == "AA"


@pytest.mark.parametrize("text,key", [("I V IV IV", "G major"), ("i7 VImaj7 III VII", "F minor"),
                                      ("I bVII IV I", "D major"), ("i iv VII III", "E minor")])
async def test_loops_that_do_not_end_on_the_tonic_are_keyed_by_their_chords(client, home, text, key):
    """Loops voiced as the chords engine voices them, four bars twice: a rock I–V–IV–IV in G (its IV held for half
    the loop and last once read C major at confidence 1.0 — only G's scale holds every chord), a house i–VI–III–VII
    (all of it also A♭ major's: the first chord says F minor), a mixolydian ♭VII and a minor loop ending on III."""
    made = await call_ok(client, "compose", {"role": "chords", "key": key, "bars": 8, "progression": text,
                                             "style": "rock", "seed": 1, "engine": "theory"})
    out = await call_ok(client, "analyze_clip", {"id": made["id"]})
    assert out["key"]["key"] == key and "chords (harmonic material)" in out["key"]["method"], out["key"]


async def test_analyze_clip_names_a_lines_mode_through_mcp(client, home):
    """A dorian line written in C major's notes is reported by analyze_clip as D dorian, by the mode classifier."""
    line = "D4:1 F4 A4 B4 | C5 B4 A4 F4 | G4 A4 B4 A4 | F4 E4 D4:2 | D4:1 E4 F4 G4 | A4 B4 C5 B4 | A4 G4 F4 E4 | D4:4"
    made = await call_ok(client, "notation_to_clip", {"text": line, "kind": "notes", "key": "C"})
    out = await call_ok(client, "analyze_clip", {"id": made["id"]})
    assert out["key"]["key"] == "D dorian" and out["key"]["method"] == "mode classifier (a line)"
    assert 0 < out["key"]["confidence"] <= 1


async def test_analyze_clip_bad_input(client, home):
    for args, needle in [({}, "either id"), ({"id": "clip_nope"}, "no artifact"), ({"path": "none.mid"}, "no file"),
                         ({"path": "/etc/passwd"}, "outside the folders"), ({"id": "x", "chords_per": "bar2"}, "chords_per")]:
        assert needle in await call_err(client, "analyze_clip", args)
    (home / "files" / "bad.mid").write_bytes(b"MThd garbage")
    assert "not a readable standard MIDI file" in await call_err(client, "analyze_clip", {"path": "bad.mid"})


def _performance(bpm: float, meter: int) -> bytes:
    """A played, unquantised part saved with no tempo or meter: the file's clock is MIDI's default 120 BPM."""
    import io
    import random

    import mido

    rng = random.Random(3)
    mid = mido.MidiFile(type=0, ticks_per_beat=480)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    events = []
    for b in range(48):
        t = max(0.0, b * 60 / bpm + rng.uniform(-0.01, 0.01))
        strong = b % meter == 0
        pitch = 43 if strong else 67
        events += [(t, 1, pitch, 100 if strong else 60), (t + 0.3, 0, pitch, 0)]
    now = 0
    for t, on, pitch, vel in sorted(events):
        tick = int(round(t / 0.5 * 480))
        track.append(mido.Message("note_on" if on else "note_off", note=pitch, velocity=vel, time=tick - now))
        now = tick
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()


@pytest.mark.parametrize("bpm,meter", [(100, 3), (140, 4), (72, 4)])
async def test_tempo_and_meter_are_estimated_when_the_file_has_none(client, home, bpm, meter):
    (home / "files").mkdir(parents=True, exist_ok=True)
    (home / "files" / "played.mid").write_bytes(_performance(bpm, meter))
    out = await call_ok(client, "analyze_clip", {"path": "played.mid"})
    assert out["tempo_source"] == "estimated" and out["meter_source"] == "estimated"
    assert out["tempo_estimate"]["bpm"] == pytest.approx(bpm, rel=0.02)
    assert out["tempo"] == pytest.approx(bpm, rel=0.02)  # applied: the bars are counted in the found pulse
    assert out["time_signature"] == f"{meter}/4" and out["bars"] == pytest.approx(48 / meter, abs=1)


def test_each_clip_field_on_constructed_input():
    from liveloom.music.analysis import analyze_song as _analyze
    from liveloom.music.types import Clip, Song

    # two bars of C major triads plus the octave on every beat; bar 2's notes 25 ms late on the beat
    notes = []
    for beat in range(8):
        late = 0.05 if beat >= 4 else 0.0  # 0.05 beats at 120 BPM = 25 ms
        for p in (60, 64, 67, 72):
            notes.append(Note(pitch=p, start=beat + late, duration=0.5, velocity=90))
    d = _analyze(Song.from_clip(Clip(notes=notes, length=8, tempo=120)), "bar", "aarden", True, None)
    assert d["notes"] == 32 and d["notes_per_bar"] == 16 and d["range"] == ["C4", "C5"]
    assert d["polyphony"] == 4.0 and d["syncopation"] == 0.0
    assert d["microtiming_ms"] == {"16th 1": 12.5}  # half the onsets on time, half 25 ms late
    assert d["descriptors"]["pitch_class_entropy"] == pytest.approx(1.5, abs=1e-3)  # C twice as often as E, G
    assert d["pitch_class_histogram"]["C"] == 0.5 and d["pitch_class_histogram"]["D"] == 0.0
    assert d["descriptors"]["empty_beat_rate"] == 0.0
    assert d["structure"]["bars"] == "AA"  # 25 ms late is the same bar on the 16th grid


def test_syncopation_and_modulation_on_constructed_input():
    from liveloom.music.analysis import analyze_song as _analyze
    from liveloom.music.types import Clip, Song

    # off-beat pushes not followed by an on-beat onset: every onset syncopated
    pushes = [Note(pitch=60, start=b + 0.5, duration=0.4) for b in range(0, 8, 2)]
    d = _analyze(Song.from_clip(Clip(notes=pushes, length=8)), "bar", "aarden", False, None)
    assert d["syncopation"] == 1.0
    # 8 bars of I-IV-V-I in C, then the same in F#: the windows over the second half say F# major
    first = realize("C | F | G | C | C | F | G | C").clip.notes
    second = realize("F# | B | C# | F# | F# | B | C# | F#").clip.notes
    notes = first + [n.model_copy(update={"start": n.start + 32}) for n in second]
    d = _analyze(Song.from_clip(Clip(notes=notes, length=64)), "bar", "aarden", False, None)
    assert d["key_windows"][0]["key"] == "C major" and d["key_windows"][-1]["key"] == "F# major"
    other = "C major" if d["key"]["key"] == "F# major" else "F# major"
    assert d["modulations"] and all(m.endswith(other) for m in d["modulations"])


def _tempo_less_midi(events: list[tuple[int, float, float]], bpm: float, bar: float) -> bytes:
    """A MIDI file with no tempo event, its notes placed so that at MIDI's default 120 BPM they sound at `bpm`
    (a performance recorded against no click): (pitch, start beat, beats) at the real tempo, accented on each
    bar's first note."""
    import io

    import mido

    tpb, ratio = 480, 120.0 / bpm
    msgs = []
    for pitch, start, dur in events:
        msgs.append((round(start * ratio * tpb), mido.Message("note_on", note=pitch, velocity=110 if start % bar == 0
                                                                else 70)))
        msgs.append((round((start + dur) * ratio * tpb) - 1, mido.Message("note_off", note=pitch, velocity=0)))
    msgs.sort(key=lambda m: (m[0], m[1].type == "note_on"))
    track, now = mido.MidiTrack(), 0
    for t, m in msgs:
        track.append(m.copy(time=t - now))
        now = t
    mid = mido.MidiFile(ticks_per_beat=tpb)
    mid.tracks.append(track)
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()


def test_tempo_and_meter_of_a_tempo_less_midi_file_are_found_and_applied():
    """No tempo event: the pulse found in the onsets is the tempo (within 3 %), the bars are counted in it, and a
    jig's triple subdivision makes it 6/8."""
    from liveloom.music.midi_io import midi_to_song

    melody = [(60 + (i * 7) % 12, i * 1.0, 1.0) for i in range(32)]  # 8 bars of quarters, accent on the bar
    melody = [(p + (12 if s % 4 == 0 else 0), s, d) for p, s, d in melody]
    out = analysis.analyze_song(midi_to_song(_tempo_less_midi(melody, 100.0, 4.0)))
    assert abs(out["tempo"] - 100) <= 3 and out["tempo_applied"]
    assert out["time_signature"] == "4/4" and out["bars"] == 8
    jig = [(62 + (i * 5) % 9, i * 0.5, 0.5) for i in range(48)]  # 8 bars of 6/8 eighths at a dotted quarter of 112
    out = analysis.analyze_song(midi_to_song(_tempo_less_midi(jig, 168.0, 3.0)))
    assert out["time_signature"] == "6/8", out["time_signature"]
    assert abs(out["tempo"] - 168) <= 168 * 0.03 and out["bars"] == 8, (out["tempo"], out["bars"])


def test_church_modes_are_named_where_the_notes_say_so():
    """The mode classifier names a dorian tune (the raised 6th heard, ending on its tonic) and a mixolydian one
    (the flat 7th) with their mode; a plain minor tune stays minor."""
    from liveloom.models import mode_classifier

    def tune(text: str, key: str):
        from liveloom.music.types import Song

        return analysis.analyze_song(Song.from_clip(realize(text, kind="notes", key=key).clip),
                                     mode_of=mode_classifier.load().predict)

    dorian = "D4:1 F4 A4 B4 | C5 B4 A4 F4 | G4 A4 B4 A4 | F4 E4 D4:2 | D4:1 E4 F4 G4 | A4 B4 C5 B4 | A4 G4 F4 E4 | D4:4"
    mixo = "G4:1 B4 D5 F5 | E5 D5 B4 G4 | A4 B4 C5 B4 | A4 F4 G4:2 | G4:1 A4 B4 C5 | D5 F5 E5 D5 | C5 B4 A4 F4 | G4:4"
    aeolian = "A4:1 C5 E5 F5 | E5 D5 C5 B4 | C5 D5 E5 C5 | B4 G4 A4:2 | A4:1 B4 C5 D5 | E5 F5 E5 D5 | C5 B4 G4 B4 | A4:4"
    assert tune(dorian, "C major")["key"]["key"] == "D dorian"
    assert tune(mixo, "C major")["key"]["key"] == "G mixolydian"
    assert tune(aeolian, "C major")["key"]["key"] == "A minor"


def test_the_mode_classifier_takes_a_users_weights_and_refuses_broken_ones(tmp_path):
    """A copy of the shipped weights loads and names the same mode; a file that is not JSON, or holds weights for
    other modes, is refused with a message that says how to make a new one."""
    import json

    from liveloom.models import mode_classifier
    from liveloom.music.errors import ModelFailure

    shipped = json.loads(mode_classifier.SHIPPED.read_text())
    mine = tmp_path / "mine.json"
    mine.write_text(json.dumps(shipped))
    line = [(62, 0, 1), (65, 1, 1), (69, 2, 1), (71, 3, 1), (72, 4, 1), (71, 5, 1), (69, 6, 1), (65, 7, 1),
            (67, 8, 1), (69, 9, 1), (71, 10, 1), (69, 11, 1), (65, 12, 1), (64, 13, 1), (62, 14, 2)]
    assert mode_classifier.load(mine).predict(line, 4.0) == mode_classifier.load().predict(line, 4.0)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ModelFailure, match="could not be read"):
        mode_classifier.load(broken)
    other = tmp_path / "other.json"
    other.write_text(json.dumps(shipped | {"modes": ["major", "minor"]}))
    with pytest.raises(ModelFailure, match="bench/mode_train.py"):
        mode_classifier.load(other)
    with pytest.raises(ValueError, match="no sounding notes"):
        mode_classifier.load().predict([], 4.0)


def test_loops_and_songs_are_keyed_by_their_harmony_not_their_last_chord():
    """liveloom's own material ends wherever its loop ends: a pop arrangement in D major (its last chord not the
    tonic) and a lofi chord loop in A minor are read in their keys, from the chords and the bass."""
    from liveloom.engines.arranger import arrange
    from liveloom.engines.generation import compose
    from liveloom.music.types import Song

    song = arrange(style="pop", key="D major", tempo=None, time_signature=None, form="pop", sections=None, seed=0).song
    assert analysis.analyze_song(song)["key"]["key"] == "D major"
    loop = compose("chords", key="A minor", bars=8, style="lofi", seed=3).clip
    out = analysis.analyze_song(Song.from_clip(loop))
    assert out["key"]["key"] == "A minor" and "chords (harmonic material)" in out["key"]["method"]


def test_a_kit_on_a_pitched_track_has_no_key():
    """Drums that arrive on an ordinary track (a drum rack, a file's drums off channel 10) are read as drums —
    no key from kick and snare pitches — while a bass line on the same low notes keeps its key."""
    from liveloom.engines.generation import compose
    from liveloom.music.types import Note, Song

    for style in ("pop", "trap", "rock"):
        kit = compose("drums", bars=4, style=style).clip.model_copy(update={"is_drum": False})
        assert analysis.analyze_song(Song.from_clip(kit))["key"]["key"].startswith("none")
    bass = [Note(pitch=p, start=i * 0.5, duration=0.4) for i, p in enumerate([36, 40, 38, 36, 43, 40, 38, 36] * 4)]
    assert not analysis.looks_like_drums(bass)


@pytest.mark.parametrize("bpm,meter", [(100, 3), (140, 4)])
async def test_import_midi_applies_the_tempo_and_meter_the_notes_imply(client, home, bpm, meter):
    (home / "files").mkdir(parents=True, exist_ok=True)
    (home / "files" / "played.mid").write_bytes(_performance(bpm, meter))
    out = await call_ok(client, "import_midi", {"path": "played.mid"})
    assert out["tempo"] == pytest.approx(bpm, rel=0.02) and out["time_signature"] == f"{meter}/4"
    assert out["bars"] == pytest.approx(48 / meter, abs=1) and "found in the notes" in out["clock"]
    page = await call_ok(client, "get_clip", {"id": out["id"], "notes": True, "limit": 4})
    assert page["notes"]["start"][:4] == pytest.approx([0, 1, 2, 3], abs=0.05)  # one beat per played beat
    raw = await call_ok(client, "import_midi", {"path": "played.mid", "infer_clock": False})
    assert raw["tempo"] in (None, 120.0) and raw["clock"] is None
    assert raw["time_signature"] == "4/4"
