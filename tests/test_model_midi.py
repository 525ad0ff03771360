"""The data model and its MIDI round trip."""

from __future__ import annotations

import mido
import pytest
from pydantic import ValidationError

from liveloom.music.errors import LiveloomError
from liveloom.music.midi_io import midi_to_song, song_to_midi
from liveloom.music.types import (
    Clip,
    Note,
    PlacedClip,
    Song,
    TempoChange,
    TimeSignature,
    TimeSignatureChange,
    Track,
    pitch_name,
    round_up_to_bar,
)


def test_note_bounds_are_enforced():
    with pytest.raises(ValidationError):
        Note(pitch=128, start=0, duration=1)
    with pytest.raises(ValidationError):
        Note(pitch=60, start=-1, duration=1)
    with pytest.raises(ValidationError):
        Note(pitch=60, start=0, duration=0)
    with pytest.raises(ValidationError):
        Note(pitch=60, start=0, duration=1, probability=1.5)


def test_clip_rejects_notes_past_its_length_and_sorts_notes():
    with pytest.raises(ValidationError, match="after the clip's length"):
        Clip(notes=[Note(pitch=60, start=3.5, duration=1)], length=4)
    clip = Clip(notes=[Note(pitch=64, start=1, duration=1), Note(pitch=60, start=0, duration=1)], length=4)
    assert [n.pitch for n in clip.notes] == [60, 64]


def test_time_signature_and_bars():
    assert TimeSignature.parse("6/8").beats_per_bar == 3.0
    with pytest.raises(ValueError):
        TimeSignature(numerator=4, denominator=3)
    assert round_up_to_bar(4.1, TimeSignature()) == 8.0
    assert round_up_to_bar(0, TimeSignature()) == 4.0
    assert pitch_name(60) == "C4" and pitch_name(70) == "Bb4" and pitch_name(21) == "A0"


def test_beats_to_seconds_follows_tempo_map():
    song = Song(tempo=120, tempo_map=[TempoChange(beat=4, bpm=60)])
    assert song.beats_to_seconds(4) == pytest.approx(2.0)
    assert song.beats_to_seconds(6) == pytest.approx(4.0)
    assert song.tempo_at(5) == 60


def _song() -> Song:
    keys = Clip(name="Keys", length=8, notes=[
        Note(pitch=60, start=0, duration=1.5, velocity=80, release_velocity=30),
        Note(pitch=64, start=0, duration=1.5, velocity=81),
        Note(pitch=67, start=1.75, duration=0.25, velocity=127),
        Note(pitch=60, start=2, duration=1, velocity=1),  # re-strike of the same pitch later
        Note(pitch=60, start=3, duration=5, velocity=90),
    ])
    drums = Clip(name="Drums", length=4, is_drum=True, notes=[
        Note(pitch=36, start=0, duration=0.25), Note(pitch=38, start=1, duration=0.25, velocity=110),
        Note(pitch=42, start=0.5, duration=0.125, velocity=70),
    ])
    bass = Clip(name="Bass", length=4, notes=[Note(pitch=36, start=1 / 960, duration=3.5 + 1 / 480)])
    return Song(
        name="Round trip", tempo=96.5, time_signature=TimeSignature(numerator=3, denominator=4), key="E minor",
        tempo_map=[TempoChange(beat=6, bpm=140)],
        time_signature_map=[TimeSignatureChange(beat=9, time_signature=TimeSignature(numerator=4, denominator=4))],
        tracks=[
            Track(name="Keys", instrument=4, clips=[PlacedClip(start=0, clip=keys)]),
            Track(name="Drums", is_drum=True, clips=[PlacedClip(start=0, clip=drums), PlacedClip(start=4, clip=drums)]),
            Track(name="Bass", instrument=33, clips=[PlacedClip(start=2, clip=bass)]),
        ],
    )


def _triples(track: Track) -> list[tuple]:
    return [(n.pitch, round(n.start, 6), round(n.duration, 6), n.velocity) for n in track.notes_on_timeline()]


def test_multitrack_midi_round_trip_keeps_notes_tempo_map_meter_key_programs_and_drums():
    song = _song()
    export = song_to_midi(song)
    assert export.dropped == []
    back = midi_to_song(export.data)
    assert back.name == "Round trip"
    assert back.tempo == pytest.approx(96.5, abs=1e-3)
    assert [(t.beat, round(t.bpm, 3)) for t in back.tempo_map] == [(6.0, 140.0)]
    assert str(back.time_signature) == "3/4"
    assert [(c.beat, str(c.time_signature)) for c in back.time_signature_map] == [(9.0, "4/4")]
    assert back.key == "E minor"
    assert [t.name for t in back.tracks] == ["Keys", "Drums", "Bass"]
    assert [t.is_drum for t in back.tracks] == [False, True, False]
    assert [t.instrument for t in back.tracks] == [4, None, 33]
    for original, returned in zip(song.tracks, back.tracks):
        assert _triples(returned) == _triples(original)
    assert back.tracks[0].notes_on_timeline()[0].release_velocity == 30


def test_times_off_the_tick_grid_move_by_at_most_half_a_tick():
    clip = Clip(length=4, notes=[Note(pitch=60, start=0.0013, duration=1.23456)])
    back = midi_to_song(song_to_midi(Song.from_clip(clip)).data).tracks[0].notes_on_timeline()[0]
    assert abs(back.start - 0.0013) <= 0.5 / 960
    assert abs(back.end - clip.notes[0].end) <= 0.5 / 960


def test_drums_are_written_on_channel_10():
    data = song_to_midi(_song()).data
    mid = mido.MidiFile(file=__import__("io").BytesIO(data))
    channels = {m.channel for m in mid.tracks[2] if m.type == "note_on"}
    assert channels == {9}
    assert {m.channel for m in mid.tracks[1] if m.type == "note_on"} != {9}


def test_what_midi_cannot_carry_is_reported():
    clip = Clip(length=4, notes=[Note(pitch=60, start=0, duration=1, mute=True),
                                 Note(pitch=62, start=1, duration=1, probability=0.5, velocity_deviation=10)])
    export = song_to_midi(Song.from_clip(clip))
    assert sorted(export.dropped) == ["1 muted notes", "1 note probabilities", "1 velocity deviations"]
    back = midi_to_song(export.data)
    assert [n.pitch for n in back.tracks[0].notes_on_timeline()] == [62]


def test_type0_file_is_split_by_channel():
    mid = mido.MidiFile(type=0, ticks_per_beat=480)
    tr = mido.MidiTrack()
    tr += [mido.Message("program_change", program=40, channel=0),
           mido.Message("note_on", note=60, velocity=90, channel=0, time=0),
           mido.Message("note_on", note=36, velocity=100, channel=9, time=0),
           mido.Message("note_off", note=36, channel=9, time=120),
           mido.Message("note_on", note=60, velocity=0, channel=0, time=360)]
    mid.tracks.append(tr)
    import io
    buf = io.BytesIO()
    mid.save(file=buf)
    song = midi_to_song(buf.getvalue())
    assert len(song.tracks) == 2
    melodic, drums = song.tracks
    assert melodic.instrument == 40 and not melodic.is_drum
    assert drums.is_drum
    assert melodic.notes_on_timeline()[0].duration == 1.0
    assert drums.notes_on_timeline()[0].duration == 0.25


@pytest.mark.parametrize("data", [b"", b"MThd", b"not a midi file at all", b"MThd\x00\x00\x00\x06\x00\x01\x00\x02"])
def test_corrupt_midi_raises_a_clear_error(data):
    with pytest.raises(LiveloomError, match="not a readable standard MIDI file"):
        midi_to_song(data)


def test_truncated_midi_is_refused_or_read_partially_never_crashes():
    data = song_to_midi(_song()).data
    for cut in (20, 60, len(data) // 2, len(data) - 3):
        try:
            song = midi_to_song(data[:cut])
        except LiveloomError as exc:
            assert "MIDI" in str(exc)
        else:
            assert isinstance(song, Song)


def test_a_file_whose_end_sits_a_tick_past_the_bar_line_keeps_its_bars():
    """pretty_midi (like many sequencers) writes the end of track one tick after the last note: an 8-bar file
    imports as 8 bars, and a note released a hair late ends on the bar line; a real extra bar of silence stays."""
    import io

    import pretty_midi

    from liveloom.music.midi_io import midi_to_song

    def file_with(last_end: float, extra: float = 0.0) -> bytes:
        pm = pretty_midi.PrettyMIDI(initial_tempo=120)
        inst = pretty_midi.Instrument(program=0)
        for i in range(16):  # 8 bars of half notes at 120 BPM: 0.5 s a beat
            inst.notes.append(pretty_midi.Note(velocity=90, pitch=60 + i % 5, start=i, end=i + 1))
        inst.notes[-1].end = last_end
        if extra:
            inst.control_changes.append(pretty_midi.ControlChange(number=64, value=0, time=16 + extra))
        pm.instruments.append(inst)
        buf = io.BytesIO()
        pm.write(buf)
        return buf.getvalue()

    song = midi_to_song(file_with(16.0))
    assert song.tracks[0].clips[0].clip.length == 32.0
    late = midi_to_song(file_with(16.005)).tracks[0].clips[0].clip  # 0.01 beat late
    assert late.length == 32.0 and max(n.end for n in late.notes) == 32.0
    assert len(late.notes) == 16
    longer = midi_to_song(file_with(16.0, extra=2.0)).tracks[0].clips[0].clip  # the track runs on a bar
    assert longer.length == 36.0
