"""transpose, quantize, humanize and groove_transfer: known answers, exact preservation, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import call_err, call_ok

from liveloom.music import transform
from liveloom.music.theory import parse_key
from liveloom.music.types import Note, TimeSignature

pytestmark = pytest.mark.anyio


def notes_of(server, cid):
    return server.services.workspace.load_clip(cid)[1].notes


def test_transpositions_know_their_answers():
    c_scale = [Note(pitch=p, start=i, duration=1) for i, p in enumerate([60, 62, 64, 65, 67, 69, 71, 72])]
    c = parse_key("C major")
    assert [n.pitch for n in transform.transpose_diatonic(c_scale, 2, c)] == [64, 65, 67, 69, 71, 72, 74, 76]
    assert [n.pitch for n in transform.transpose_diatonic(c_scale, -1, c)] == [59, 60, 62, 64, 65, 67, 69, 71]
    assert [n.pitch for n in transform.change_mode(c_scale, c, "minor")] == [60, 62, 63, 65, 67, 68, 70, 72]
    assert [n.pitch for n in transform.change_mode(c_scale, c, "dorian")] == [60, 62, 63, 65, 67, 69, 70, 72]
    chromatic = [Note(pitch=61, start=0, duration=1)]  # C# in C: a raised tonic stays a raised degree
    assert transform.transpose_diatonic(chromatic, 1, c)[0].pitch == 63


def test_quantize_and_groove_arithmetic():
    late = [Note(pitch=60, start=0.06, duration=0.2), Note(pitch=60, start=0.52, duration=0.2)]
    assert [n.start for n in transform.quantize(late, 0.25)] == [0.0, 0.5]
    assert [n.start for n in transform.quantize(late, 0.25, strength=0.5)] == [0.03, 0.51]
    swung = transform.quantize([Note(pitch=60, start=0.5, duration=0.2)], 0.5, swing=2 / 3)
    assert swung[0].start == pytest.approx(2 / 3, abs=1e-6)
    straight = [Note(pitch=42, start=i * 0.25, duration=0.2, velocity=100) for i in range(16)]
    g = transform.TEMPLATES["mpc_swing_62"]
    applied = transform.apply_groove(straight, g, 1.0)
    assert [round(n.start - i * 0.25, 4) for i, n in enumerate(applied)][:4] == [0.0, 0.06, 0.0, 0.06]
    half = transform.apply_groove(straight, g, 0.5)
    assert round(half[1].start - 0.25, 4) == 0.03
    # extract the groove back from its own application: the same offsets and accents
    extracted = transform.extract_groove(applied, TimeSignature())
    assert [round(x, 4) for x in extracted.timing[:4]] == [0.0, 0.06, 0.0, 0.06]
    with pytest.raises(Exception, match="no groove"):
        transform.extract_groove(straight, TimeSignature())


async def test_tools_keep_notes_and_order_and_never_touch_the_source(client, server):
    made = await call_ok(client, "notation_to_clip", {"text": "C4:0.5 E4 G4 B4 C5 B4 G4 E4", "key": "C major",
                                                      "tempo": 120})
    source = list(notes_of(server, made["id"]))
    outs = [
        await call_ok(client, "transpose", {"id": made["id"], "semitones": -5}),
        await call_ok(client, "transpose", {"id": made["id"], "steps": 1}),
        await call_ok(client, "transpose", {"id": made["id"], "mode": "mixolydian"}),
        await call_ok(client, "quantize", {"id": made["id"], "grid": "1/8", "swing": 0.6}),
        await call_ok(client, "humanize", {"id": made["id"], "timing_ms": 12, "velocity": 10, "seed": 3}),
        await call_ok(client, "groove_transfer", {"id": made["id"], "template": "laid_back", "strength": 0.5}),
    ]
    for out in outs:
        new = notes_of(server, out["id"])
        assert out["source"] == made["id"] and out["notes_kept"] == len(source) == len(new)
        record = server.services.workspace.get(out["id"])
        assert record.provenance.parents == [made["id"]]
    assert notes_of(server, made["id"]) == source  # the source is exactly as it was
    t = notes_of(server, outs[0]["id"])
    assert [n.pitch for n in t] == [n.pitch - 5 for n in source] and [n.start for n in t] == [n.start for n in source]
    assert outs[0]["key"] == "G major"
    assert [n.pitch for n in notes_of(server, outs[2]["id"])][3] == 70  # B -> Bb in C mixolydian
    humanized = notes_of(server, outs[4]["id"])
    again = await call_ok(client, "humanize", {"id": made["id"], "timing_ms": 12, "velocity": 10, "seed": 3})
    assert notes_of(server, again["id"]) == humanized  # same seed, same result
    assert all(abs(h.start - s.start) < 4 * 0.012 * 2 + 1e-9 for h, s in zip(humanized, source))
    assert [n.pitch for n in humanized] == [n.pitch for n in source]


async def test_groove_from_a_reference_clip(client, server):
    ref = await call_ok(client, "notation_to_clip", {"text": "hh: xXxX xXxX xXxX xXxX", "swing": 0.62, "step": 0.25})
    target = await call_ok(client, "notation_to_clip", {"text": "kick: x.x.x.x.x.x.x.x.\nhh: xxxxxxxxxxxxxxxx"})
    out = await call_ok(client, "groove_transfer", {"id": target["id"], "reference_id": ref["id"]})
    moved = notes_of(server, out["id"])
    offsets = sorted({round(n.start % 0.5, 3) for n in moved})
    assert offsets == [0.0, 0.31]  # the off 16ths now land where the reference's do (0.62 of the 8th)
    vel = {round(n.start, 3): n.velocity for n in moved if n.pitch == 42}
    assert vel[0.0] < vel[0.31]  # the reference accents its off-beats (X); so does the result


async def test_style_tool_bad_input(client, server):
    made = await call_ok(client, "notation_to_clip", {"text": "C4 D4 E4 F4"})
    drums = await call_ok(client, "notation_to_clip", {"text": "kick: x..."})
    flat = await call_ok(client, "notation_to_clip", {"text": "hh: xxxxxxxx"})
    high = await call_ok(client, "notation_to_clip", {"text": "C6 G7"})
    for tool, args, needle in [
        ("transpose", {"id": made["id"]}, "exactly one of"),
        ("transpose", {"id": made["id"], "semitones": 2, "mode": "minor"}, "exactly one of"),
        ("transpose", {"id": made["id"], "mode": "bebop"}, "unknown mode"),
        ("transpose", {"id": drums["id"], "semitones": 2}, "drum clip"),
        ("transpose", {"id": made["id"], "semitones": 70}, "less than or equal to 48"),
        ("transpose", {"id": high["id"], "semitones": 48}, "would move C6 at beat 0 out of the MIDI range"),
        ("quantize", {"id": made["id"], "strength": 1.5}, "less than or equal to 1"),
        ("quantize", {"id": made["id"], "grid": "1/5"}, "grid"),
        ("groove_transfer", {"id": made["id"]}, "exactly one of reference_id"),
        ("groove_transfer", {"id": made["id"], "template": "polka"}, "unknown groove template"),
        ("groove_transfer", {"id": made["id"], "reference_id": flat["id"]}, "no groove to transfer"),
        ("groove_transfer", {"id": made["id"], "reference_id": "clip_nope", "strength": 0.5}, "no artifact"),
        ("humanize", {"id": "clip_nope"}, "no artifact"),
    ]:
        assert needle in await call_err(client, tool, args), (tool, args)
    assert (await call_ok(client, "list_artifacts", {}))["total"] == 4  # nothing half-made was stored


def test_a_shuffled_reference_is_read_on_the_right_16ths():
    straight = [Note(pitch=42, start=i * 0.25, duration=0.2, velocity=90) for i in range(32)]
    shuffled = transform.apply_groove(straight, transform.TEMPLATES["shuffle"], 1.0)
    assert [n.start for n in shuffled][:4] == [0.0, 0.25, pytest.approx(2 / 3, abs=1e-5), 0.75]
    groove = transform.extract_groove(shuffled, TimeSignature())
    assert [round(x, 3) for x in groove.timing[:4]] == [0.0, 0.0, 0.167, 0.0]  # not filed under the 4th 16th
    again = transform.apply_groove(straight, groove, 1.0)
    assert [round(a.start, 4) for a in again] == [round(s.start, 4) for s in shuffled]


def test_drumify_keeps_the_rhythm_and_places_kick_snare_hats():
    melody = [Note(pitch=p, start=t, duration=d, velocity=v) for p, t, d, v in [
        (48, 0.0, 1.0, 110), (60, 1.0, 0.5, 90), (62, 1.5, 0.5, 70), (64, 2.0, 0.5, 100), (65, 3.0, 0.25, 95),
        (67, 3.5, 0.25, 60)]]
    drums = transform.drumify(melody, TimeSignature())
    by_time = {}
    for n in drums:
        by_time.setdefault(n.start, set()).add(n.pitch)
    assert sorted(by_time) == [0.0, 1.0, 1.5, 2.0, 3.0, 3.5]  # every onset kept, nothing added
    assert by_time[0.0] == {36, 46} and by_time[1.0] == {38} and by_time[1.5] == {42}
    assert by_time[2.0] == {36} and by_time[3.0] == {38} and by_time[3.5] == {42}
    assert next(n.velocity for n in drums if n.start == 0.0 and n.pitch == 36) == 110  # accents kept
    filled = transform.drumify(melody, TimeSignature(), hats="eighths")
    assert sorted({n.start for n in filled if n.pitch == 42}) == [0.5, 1.5, 2.5, 3.5]


async def test_drumify_through_mcp(client, server):
    made = await call_ok(client, "notation_to_clip", {"text": "C3:1 E4:0.5 F4:0.5 G4:1 A4:0.5 B4:0.5"})
    out = await call_ok(client, "drumify", {"id": made["id"], "hats": "eighths"})
    record, clip = server.services.workspace.load_clip(out["id"])
    assert clip.is_drum and clip.role == "drums" and record.provenance.parents == [made["id"]]
    source_onsets = {n.start for n in notes_of(server, made["id"])}
    assert source_onsets <= {n.start for n in clip.notes} and out["notes_kept"] == len(source_onsets)
    empty = await call_ok(client, "notation_to_clip", {"text": "r:4"})
    assert "no sounding notes" in await call_err(client, "drumify", {"id": empty["id"]})


@pytest.mark.parametrize("style", ["pop", "jazz", "modal_interchange", "chorale"])
async def test_reharmonize_keeps_the_melody_and_fits_it(client, server, style):
    melody = await call_ok(client, "notation_to_clip", {
        "text": "C4:1 C4 G4 G4 | A4 A4 G4:2 | F4:1 F4 E4 E4 | D4 D4 C4:2", "key": "C major", "instrument": 73})
    out = await call_ok(client, "reharmonize", {"id": melody["id"], "style": style, "per": "half_bar"})
    assert out["kind"] == "song" and out["melody_kept"] is True and out["key_used"] == "C major"
    assert len(out["chords"]) == 8 and out["strong_beat_fit"] >= 0.75
    _, song = server.services.workspace.load_song(out["id"])
    mel_track, chord_track = song.tracks
    assert mel_track.clips[0].clip == server.services.workspace.load_clip(melody["id"])[1]  # note for note
    tune = mel_track.notes_on_timeline()
    from liveloom.music.theory import parse_chord_symbol

    for i, name in enumerate(out["chords"]):
        pcs = parse_chord_symbol(name).pitch_classes
        sounding = [n for n in chord_track.notes_on_timeline() if i * 2 <= n.start < (i + 1) * 2]
        assert sounding and all(n.pitch % 12 in pcs for n in sounding)
        over = [m.pitch for m in tune if m.start < (i + 1) * 2 and m.end > i * 2]
        assert all(n.pitch < min(over) for n in sounding)  # voiced below the melody sounding with it


async def test_jazz_reharmonization_is_idiomatic(client, server):
    """Jazz: half or more of the chords carry a 9th/11th/13th, secondary dominants and tritone substitutes at
    about the style file's rate (0.3 of the chords), rootless voicings (the bass's pitch class not doubled
    above it), the low-interval limits kept, everything under the tune."""
    from liveloom.music.theory import parse_chord_symbol
    from liveloom.music.voicing import low_interval_violations

    melody = await call_ok(client, "notation_to_clip", {
        "text": "E5:1 D5 C5 D5 | E5 E5 E5:2 | D5:1 D5 D5:2 | E5:1 G5 G5:2 | E5:1 D5 C5 D5 | E5 E5 E5 E5 | D5 D5 E5 D5 "
                "| C5:4", "key": "C major"})
    out = await call_ok(client, "reharmonize", {"id": melody["id"], "style": "jazz", "per": "half_bar"})
    assert out["melody_kept"] and out["strong_beat_fit"] >= 0.75
    specs = [parse_chord_symbol(c) for c in out["chords"]]
    assert sum(any(i >= 12 for i in s.intervals) for s in specs) >= 0.5 * len(specs), out["chords"]
    subs = sum(r.startswith(("V7/", "subV7/")) for r in out["romans"])
    assert 2 <= subs <= 7, out["romans"]
    _, song = server.services.workspace.load_song(out["id"])
    chords = song.tracks[1].notes_on_timeline()
    for i in range(len(specs)):
        here = sorted(n.pitch for n in chords if i * 2 <= n.start < (i + 1) * 2)
        assert low_interval_violations(here) == 0, (out["chords"][i], here)
        assert here[0] % 12 not in {p % 12 for p in here[1:]}, (out["chords"][i], here)  # rootless over the bass
    assert "low-interval" in out["voicing"] and "rootless" in out["voicing"]


async def test_reharmonize_bad_input(client):
    drums = await call_ok(client, "notation_to_clip", {"text": "kick: x..."})
    rest = await call_ok(client, "notation_to_clip", {"text": "r:4"})
    tune = await call_ok(client, "notation_to_clip", {"text": "C4 D4 E4 F4"})
    assert "drum clip" in await call_err(client, "reharmonize", {"id": drums["id"]})
    assert "no sounding notes" in await call_err(client, "reharmonize", {"id": rest["id"]})
    assert "style" in await call_err(client, "reharmonize", {"id": tune["id"], "style": "bebop"})
    assert "key" in await call_err(client, "reharmonize", {"id": tune["id"], "key": "Q major"})


def _click_track(swing: float, bpm: float = 110.0, bars: int = 8, sr: int = 44100):
    """16th-note clicks (noise bursts) with the off 16ths late by `swing` of the 8th and accents on the
    downbeats and beats, after 0.25 s of silence: exact ground truth for groove extraction from audio."""
    beat = 60.0 / bpm
    out = np.zeros(int(sr * (bars * 4 * beat + 1.0)), dtype=np.float32)
    rng = np.random.default_rng(0)
    click = (rng.standard_normal(int(0.03 * sr)) * np.exp(-np.arange(int(0.03 * sr)) / (0.004 * sr))).astype(np.float32)
    for k in range(bars * 16):
        t = (k // 2) * beat / 2 + (swing * beat / 2 if k % 2 else 0.0)
        amp = 0.9 if k % 16 == 0 else 0.6 if k % 4 == 0 else 0.3
        i = int(round((0.25 + t) * sr))
        out[i:i + len(click)] += amp * click[: len(out) - i]
    return out, sr


async def test_groove_from_a_recordings_onsets(client, server, home):
    import soundfile as sf

    (home / "files").mkdir(parents=True, exist_ok=True)
    y, sr = _click_track(swing=0.66)
    sf.write(home / "files" / "swung.wav", y, sr)
    target = await call_ok(client, "notation_to_clip", {"text": "hh: xxxxxxxxxxxxxxxx"})
    out = await call_ok(client, "groove_transfer", {"id": target["id"], "reference_audio": "swung.wav"})
    moved = notes_of(server, out["id"])
    off = [n.start % 0.5 for n in moved if round(n.start % 0.5, 1) != 0.0 and n.start % 0.5 < 0.45]
    assert len(off) == 8
    # the off 16ths land at 0.66 of the 8th (0.33 beats), within 10 ms at 110 BPM (0.018 beats)
    assert all(abs(x - 0.33) < 0.018 for x in off), off
    vel = {round(n.start, 2): n.velocity for n in moved}
    assert vel[0.0] >= vel[1.0] > vel[0.33] and vel[0.0] > vel[0.5]  # accents as recorded (127 is the ceiling)
    silent = home / "files" / "silent.wav"
    sf.write(silent, np.zeros(sr * 2, dtype=np.float32), sr)
    assert "silent" in await call_err(client, "groove_transfer", {"id": target["id"], "reference_audio": "silent.wav"})
    assert "exactly one of" in await call_err(client, "groove_transfer", {
        "id": target["id"], "reference_audio": "swung.wav", "template": "shuffle"})


@pytest.mark.anyio
async def test_each_style_tool_on_a_live_clip_and_back(client, server):
    """read_clip -> tool -> write_clip / write_song, on the simulated Live set; the Live clip is unchanged."""
    made = await call_ok(client, "notation_to_clip", {"text": "C4:1 E4 G4 E4 | F4 A4 G4:2", "key": "C major"})
    await call_ok(client, "write_clip", {"id": made["id"], "track": 0, "slot": 0})
    live = await call_ok(client, "read_clip", {"track": 0, "slot": 0})
    source_notes = notes_of(server, live["id"])
    slot = 1
    for tool, args in [("transpose", {"semitones": 3}), ("quantize", {"grid": "1/8", "swing": 0.6}),
                       ("humanize", {"timing_ms": 8, "velocity": 5, "seed": 1}),
                       ("groove_transfer", {"template": "shuffle"}), ("drumify", {}),
                       ("reharmonize", {"style": "jazz"})]:
        out = await call_ok(client, tool, {"id": live["id"], **args})
        if out["kind"] == "song":
            wrote = await call_ok(client, "write_song", {"id": out["id"]})
        else:
            wrote = await call_ok(client, "write_clip", {"id": out["id"], "track": 0, "slot": slot})
            slot += 1
        assert wrote["notes_verified"] == out["notes"], tool
        assert notes_of(server, live["id"]) == source_notes  # the source artifact is never modified
    back = await call_ok(client, "read_clip", {"track": 0, "slot": 0})
    assert notes_of(server, back["id"]) == source_notes  # nor the clip in Live


async def test_groove_transfer_finds_the_references_grid_8th_and_triplet_swing(client, server):
    """An 8th-note swing (the off-beat at 2/3, a triplet feel) moves straight 8ths onto it (within 5 ms at the
    clip's tempo); straight 16ths under it stretch to the triplet grid; an MPC template swings the 8ths of a clip
    written in 8ths; the result names the groove and the grid, and the new clip is named for it."""
    ref = await call_ok(client, "notation_to_clip", {"text": "hh: XxXxXxXx", "swing": 2 / 3, "step": 0.5})
    eighths = await call_ok(client, "notation_to_clip", {"text": "hh: xxxxxxxx", "step": 0.5})
    out = await call_ok(client, "groove_transfer", {"id": eighths["id"], "reference_id": ref["id"]})
    moved = notes_of(server, out["id"])
    ms_per_beat = 60000 / 120
    offs = sorted(n.start for n in moved if n.start % 1 > 0.1)
    assert all(abs((t % 1) - 2 / 3) * ms_per_beat < 5 for t in offs) and len(offs) == 4
    assert "on 8ths" in out["changed"] and "+83 ms" in out["changed"]
    assert server.services.workspace.load_clip(out["id"])[1].name.endswith("(groove)")

    sixteenths = await call_ok(client, "notation_to_clip", {"text": "hh: xxxxxxxxxxxxxxxx", "step": 0.25})
    out = await call_ok(client, "groove_transfer", {"id": sixteenths["id"], "reference_id": ref["id"]})
    firsts = [round(n.start, 3) for n in notes_of(server, out["id"])][:4]
    assert firsts == [0.0, 0.333, 0.667, 0.833]

    out = await call_ok(client, "groove_transfer", {"id": eighths["id"], "template": "mpc_swing_66"})
    offs = sorted(n.start % 1 for n in notes_of(server, out["id"]) if n.start % 1 > 0.1)
    assert offs and all(abs(t - 0.66) < 1e-3 for t in offs)
    assert "mpc_swing_66 groove on 8ths" in out["changed"]


def test_grid_detection():
    assert transform.detect_grid([0, 2 / 3, 1, 1 + 2 / 3]) == 0.5
    assert transform.detect_grid([0, 1 / 3, 2 / 3, 1]) == pytest.approx(1 / 3)
    assert transform.detect_grid([0, 0.31, 0.5, 0.81]) == 0.25
    assert transform.detect_grid([i / 6 for i in range(6)]) == pytest.approx(1 / 6)
