"""Chord symbols, roman numerals, voicing and the notations, checked note by note."""

from __future__ import annotations

import pytest

from liveloom.music.errors import NotationError
from liveloom.music.notation import apply_swing, detect_kind, realize
from liveloom.music.theory import chord_name, parse_chord_symbol, parse_key, parse_pitch, parse_roman
from liveloom.music.types import TimeSignature
from liveloom.music.voicing import voice_progression


def pcs(symbol: str) -> set[int]:
    return parse_chord_symbol(symbol).pitch_classes


@pytest.mark.parametrize("symbol,expected,bass", [
    ("Cmaj7", {0, 4, 7, 11}, 0),
    ("F#m7b5", {6, 9, 0, 4}, 6),
    ("Bb/D", {10, 2, 5}, 2),
    ("Csus4", {0, 5, 7}, 0),
    ("Csus2", {0, 2, 7}, 0),
    ("Cadd9", {0, 4, 7, 2}, 0),
    ("G7b9", {7, 11, 2, 5, 8}, 7),
    ("E7#9", {4, 8, 11, 2, 7}, 4),
    ("Am(maj7)", {9, 0, 4, 8}, 9),
    ("C6/9", {0, 4, 7, 9, 2}, 0),
    ("Ebdim7", {3, 6, 9, 0}, 3),
    ("Gaug", {7, 11, 3}, 7),
    ("D7sus4", {2, 7, 9, 0}, 2),
    ("Dm11", {2, 5, 9, 0, 4, 7}, 2),
    ("C13", {0, 4, 7, 10, 2, 9}, 0),
    ("C7#11", {0, 4, 7, 10, 6}, 0),
    ("C5", {0, 7}, 0),
    ("Cm7/Bb", {0, 3, 7, 10}, 10),
])
def test_chord_symbols(symbol, expected, bass):
    spec = parse_chord_symbol(symbol)
    assert spec.pitch_classes == expected
    assert spec.bass == bass


@pytest.mark.parametrize("bad", ["H7", "Cmaj7q", "C/Z", "", "7"])
def test_bad_chord_symbols_say_what_was_expected(bad):
    with pytest.raises(ValueError):
        parse_chord_symbol(bad)


@pytest.mark.parametrize("numeral,key,name", [
    ("ii7", "Bb major", "Cm7"), ("V7", "Bb major", "F7"), ("Imaj7", "Bb major", "Bbmaj7"),
    ("I7", "C major", "Cmaj7"), ("IV7", "C major", "Fmaj7"), ("vi", "C", "Am"),
    ("i", "A minor", "Am"), ("V7", "A minor", "E7"), ("viio7", "A minor", "Abdim7"), ("VII", "A minor", "G"),
    ("iiø7", "A minor", "Bm7b5"), ("V7/V", "C major", "D7"), ("V/iv", "A minor", "A"),
    ("bVII", "C major", "Bb"), ("bVII7", "C major", "Bb7"), ("bVI", "C", "Ab"),
    ("V65", "C major", "G7/B"), ("IV6", "C major", "F/A"), ("I64", "C major", "C/G"), ("V42", "C", "G7/F"),
])
def test_roman_numerals(numeral, key, name):
    assert chord_name(parse_roman(numeral, parse_key(key))) == name


def test_keys_and_pitches():
    assert str(parse_key("Dm")) == "D minor"
    assert str(parse_key("c")) == "C minor"
    assert str(parse_key("F# dorian")) == "F# dorian"
    assert parse_key("Bb").is_minor is False
    with pytest.raises(ValueError, match="unknown mode"):
        parse_key("C funky")
    assert parse_pitch("C4") == 60 and parse_pitch("Bb3") == 58 and parse_pitch("C-1") == 0
    assert parse_pitch("61") == 61
    with pytest.raises(ValueError):
        parse_pitch("G#9")  # 128


def test_voice_leading_keeps_voices_close_and_in_range():
    chords = [parse_chord_symbol(s) for s in ["Dm7", "G7", "Cmaj7", "Fmaj7", "Bm7b5", "E7", "Am7"]]
    voicings = voice_progression(chords)
    for spec, v in zip(chords, voicings):
        assert all(53 <= p <= 79 for p in v.upper)
        assert 36 <= v.bass <= 52 and v.bass % 12 == spec.bass
        assert {p % 12 for p in v.upper} <= spec.pitch_classes
    for a, b in zip(voicings, voicings[1:]):
        moves = [abs(x - y) for x, y in zip(a.upper, b.upper)]
        assert max(moves) <= 5, (a, b)  # smooth: no voice leaps more than a fourth


def test_ii_V_I_in_Bb_two_bars_each_swung_eighths():
    """The issue's example: 'ii–V–I in Bb, two bars each, swung eighths'."""
    r = realize("ii7:2bars V7:2bars Imaj7:2bars", key=parse_key("Bb major"), rhythm="swing8", tempo=140)
    assert r.kind == "roman"
    assert [c["chord"] for c in r.chords] == ["Cm7", "F7", "Bbmaj7"]
    assert [(c["start"], c["duration"]) for c in r.chords] == [(0, 8), (8, 8), (16, 8)]
    assert r.clip.length == 24 and r.clip.bars == 6 and r.clip.key == "Bb major" and r.clip.tempo == 140
    for chord in r.chords:
        upper = sorted({n.start for n in r.clip.notes if chord["start"] <= n.start < chord["start"] + 8
                        and n.pitch in chord["pitches"][1:]})
        # sixteen swung eighths per two bars: on-beats on whole beats, off-beats two thirds into the beat
        assert len(upper) == 16
        offs = [round(t - int(t), 3) for t in upper]
        assert offs == [0.0, 0.667] * 8
        sounding = {n.pitch % 12 for n in r.clip.notes if chord["start"] <= n.start < chord["start"] + 8}
        assert sounding == {p % 12 for p in chord["pitches"]}
    # ii-V-I dash form and plain triads
    assert [c["chord"] for c in realize("ii–V–I", key=parse_key("Bb")).chords] == ["Cm", "F", "Bb"]


def test_bars_share_time_and_percent_repeats():
    r = realize("Dm7 G7 | Cmaj7 | % |")
    assert [(c["chord"], c["start"], c["duration"]) for c in r.chords] == [
        ("Dm7", 0, 2), ("G7", 2, 2), ("Cmaj7", 4, 4), ("Cmaj7", 8, 4)]
    r = realize("C | F G", time_signature=TimeSignature(numerator=3, denominator=4))
    assert [(c["start"], c["duration"]) for c in r.chords] == [(0, 3), (3, 1.5), (4.5, 1.5)]


def test_rhythms_place_hits_where_they_say():
    quarters = realize("C", rhythm="quarters", chord_bass=False)
    assert sorted({n.start for n in quarters.clip.notes}) == [0, 1, 2, 3]
    charleston = realize("C", rhythm="charleston", chord_bass=False)
    assert sorted({n.start for n in charleston.clip.notes}) == [0, 1.5]
    stabs = realize("C", rhythm="stabs", chord_bass=False)
    assert sorted({n.start for n in stabs.clip.notes}) == [0, 0.5, 1.5, 2.5, 3.5]
    arp = realize("C", rhythm="arp_up", chord_bass=False)
    starts = [n.start for n in arp.clip.notes]
    assert starts == [i * 0.5 for i in range(8)]
    assert [n.pitch for n in arp.clip.notes][:3] == sorted([n.pitch for n in arp.clip.notes][:3])


def test_note_lists():
    r = realize("C4:1 E4:0.5 r:0.5 [C4 E4 G4]:2@90 | G3:1/3 A3 B3 C4:3 |")
    assert r.kind == "notes"
    got = [(n.pitch, n.start, round(n.duration, 4), n.velocity) for n in r.clip.notes]
    assert got[:2] == [(60, 0, 1, 90), (64, 1, 0.5, 90)]
    assert {(p, s) for p, s, _, _ in got[2:5]} == {(60, 2), (64, 2), (67, 2)}
    assert [p for p, *_ in got[5:]] == [55, 57, 59, 60]
    assert got[6][1] == pytest.approx(4 + 1 / 3)
    assert r.clip.length == 8


def test_note_list_bar_check_names_the_bar():
    with pytest.raises(NotationError, match="bar 1 holds 3 beats"):
        realize("C4 D4 E4 | F4 G4 A4 B4 |")


def test_drum_grid_with_gm_names_accents_and_repeating_rows():
    r = realize("kick: x...x...x...x...\nsnare: ....X.......o...\nhh: x.", step=0.25)
    assert r.kind == "drums" and r.clip.is_drum
    kick = [n.start for n in r.clip.notes if n.pitch == 36]
    assert kick == [0, 1, 2, 3]
    snare = {n.start: n.velocity for n in r.clip.notes if n.pitch == 38}
    assert snare == {1.0: 127, 3.0: 60}
    assert [n.start for n in r.clip.notes if n.pitch == 42] == [i * 0.5 for i in range(8)]


def test_swing_moves_only_offbeats():
    r = realize("hh: xxxxxxxx", step=0.25, swing=0.75)
    assert [n.start for n in r.clip.notes] == [0, 0.375, 0.5, 0.875, 1.0, 1.375, 1.5, 1.875]
    with pytest.raises(NotationError):
        apply_swing(r.clip.notes, pair=1.0, ratio=0.9)


def test_abc_without_unit_length_uses_the_standard_default():
    r = realize("X:1\nK:C\nCDEF|")
    assert [n.duration for n in r.clip.notes] == [0.5] * 4
    r = realize("X:1\nM:2/4\nK:C\nCDEF|")
    assert [n.duration for n in r.clip.notes] == [0.25] * 4


def test_abc_through_music21():
    r = realize("X:1\nT:Tune\nM:3/4\nL:1/4\nK:G\nG A B | d2 c |")
    assert r.kind == "abc"
    assert [n.pitch for n in r.clip.notes] == [67, 69, 71, 74, 72]
    assert [n.start for n in r.clip.notes] == [0, 1, 2, 3, 5]
    assert str(r.clip.time_signature) == "3/4" and r.clip.key == "G major"


@pytest.mark.parametrize("text,kind", [
    ("Dm7 G7 Cmaj7", "chords"), ("ii V I", "roman"), ("C4 E4 G4", "notes"), ("r:1 C4", "notes"),
    ("kick: x...\nsnare: ..x.", "drums"), ("X:1\nK:C\nCDE", "abc"), ("60:1 62:1", "notes"),
])
def test_detect_kind(text, kind):
    assert detect_kind(text) == kind


@pytest.mark.parametrize("text,kwargs,token,message", [
    ("Dm7 G7 Xmaj7 C", {}, "Xmaj7", "#3 at character 8"),
    ("C4:1 E4:x", {}, "E4:x", "duration 'x'"),
    ("kick: x...\nsnarf: x...", {}, "snarf", "unknown drum"),
    ("kick: x.q.", {}, "q", "step 3"),
    ("ii V I", {}, None, "need a key"),
    ("ii7 V7 Q7", {"key": parse_key("C")}, "Q7", "not a roman numeral"),
    ("C4 [C4 Z9]", {}, "[C4 Z9]", "not a pitch"),
    ("C | D:3 E:3", {}, None, "the bar holds 6 beats"),
])
def test_errors_name_the_bad_token_and_where(text, kwargs, token, message):
    with pytest.raises(NotationError) as info:
        realize(text, **kwargs)
    assert message in str(info.value)
    if token:
        assert repr(token) in str(info.value)


def test_limits_hold():
    with pytest.raises(NotationError, match="at most 4096 beats"):
        realize("C:4000bars")
    with pytest.raises(NotationError, match="limit"):
        realize("hh: x", repeat=100000)
