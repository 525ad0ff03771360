"""Unit tests of the layers under the tools — music (checks, note-list operations, automation) and engines
(variation, arranger, reharmonize) — called as plain functions; and tool functions called directly, without
a server, with a context of their own."""

from __future__ import annotations

import math

import pytest
from helpers import DirectContext
from mcp.server.mcpserver.exceptions import ToolError

from liveloom.ableton_bridge.service import LiveService
from liveloom.ableton_bridge.target import parse_target
from liveloom.engines.arranger import FORMS, SectionSpec, arrange, form_sections, orchestrate
from liveloom.engines.reharmonize import STYLES, reharmonize
from liveloom.engines.render import RenderSettings
from liveloom.engines.variation import continue_groove, interpolate_notes, similarity, vary_notes
from liveloom.models.hub import ModelHub
from liveloom.music import Clip, LiveloomError, Note, TimeSignature
from liveloom.music.automation import MAX_STEPS, points_to_steps, shape_steps
from liveloom.music.checks import (
    changed_in_key,
    check_no_overlaps,
    check_role,
    chord_tones,
    drum_map,
    exact_bars,
    in_key,
    in_range,
    monophonic,
)
from liveloom.music.harmony import progression_events
from liveloom.music.notes import fit_to_length, is_one_line, no_overlaps, one_line, shift, skyline, whole_bars
from liveloom.music.theory import parse_key
from liveloom.store.files import FilePolicy
from liveloom.store.workspace import Workspace
from liveloom.tools import compose as compose_tools
from liveloom.tools import notation as notation_tools
from liveloom.tools import style as style_tools
from liveloom.tools.base import Services, tools_of

C_MAJOR = parse_key("C major")
TS = TimeSignature()


def n(pitch: int, start: float, duration: float = 1.0, velocity: int = 90) -> Note:
    return Note(pitch=pitch, start=start, duration=duration, velocity=velocity)


# ------------------------------------------------------------------ music.notes


def test_fit_to_length_drops_late_notes_and_shortens_long_ones():
    notes = [n(60, 0, 2), n(62, 3, 2), n(64, 4, 1)]
    fitted = fit_to_length(notes, 4.0)
    assert [(x.pitch, x.start, x.duration) for x in fitted] == [(60, 0, 2), (62, 3, 1)]


def test_whole_bars_counts_a_partial_bar_and_at_least_one():
    assert whole_bars(16.0, TS) == 4
    assert whole_bars(16.5, TS) == 5  # the partial bar counts: one answer for the same clip everywhere
    assert whole_bars(0.0, TS) == 1
    assert whole_bars(9.0, TimeSignature(numerator=3, denominator=4)) == 3


def test_no_overlaps_cuts_same_pitch_and_keeps_first_or_last_at_one_onset():
    notes = [n(60, 0, 2, 80), n(60, 1, 1, 90), n(60, 1, 3, 100), n(62, 0, 4)]
    first = no_overlaps(notes)
    assert [(x.pitch, x.start, x.duration, x.velocity) for x in first] == [
        (60, 0, 1, 80), (62, 0, 4, 90), (60, 1, 1, 90)]
    last = no_overlaps(notes, same_start="keep_last")  # Live's rule: the note added last wins
    assert [(x.pitch, x.start, x.duration, x.velocity) for x in last] == [
        (60, 0, 1, 80), (62, 0, 4, 90), (60, 1, 3, 100)]
    assert check_no_overlaps(first).passed and not check_no_overlaps(notes).passed


def test_one_line_skyline_and_shift():
    chordal = [n(60, 0, 2), n(64, 0, 2), n(67, 1, 1)]
    line = one_line(chordal)
    assert [(x.pitch, x.start, x.duration) for x in line] == [(64, 0, 1), (67, 1, 1)]
    assert is_one_line(line) and not is_one_line(chordal)
    assert [x.pitch for x in skyline(chordal)] == [64, 67]
    assert [x.start for x in shift(line, 4)] == [4, 5]


# ------------------------------------------------------------------ music.checks


def test_checks_pass_good_material_and_name_what_is_wrong():
    chords = progression_events("C F G C", C_MAJOR, TS, 4)
    good = [n(60, 0), n(64, 1), n(65, 4), n(69, 5), n(67, 8), n(71, 9), n(72, 12, 4)]
    assert exact_bars(good, 16.0, 4, TS).passed
    late = exact_bars(good + [n(60, 15, 2)], 16.0, 4, TS)
    assert not late.passed and "run past the end" in late.detail
    assert in_range(good, 60, 72).passed and not in_range(good, 62, 72).passed
    assert in_key(good, C_MAJOR, chords).passed
    stray = in_key(good + [n(61, 2, 0.5), n(66, 14, 0.5)], C_MAJOR, chords)
    assert not stray.passed and "stray" in stray.detail  # C# then D is an approach; F# then nothing is not
    assert chord_tones(good, chords, TS, strong_only=True).passed
    clash = chord_tones([n(62, 0)], chords, TS, strong_only=True)
    assert not clash.passed and "62@0 over C" in clash.detail
    assert monophonic(good).passed and not monophonic([n(60, 0, 2), n(64, 1)]).passed
    assert drum_map([n(36, 0), n(38, 1)]).passed and not drum_map([n(20, 0)]).passed
    assert changed_in_key(good, good[:-1] + [n(74, 12, 4)], C_MAJOR).passed
    assert not changed_in_key(good, good[:-1] + [n(73, 12, 4)], C_MAJOR).passed


def test_check_role_applies_the_role_s_checks():
    chords = progression_events("C", C_MAJOR, TS, 1)
    names = {c.name for c in check_role("melody", [n(60, 0, 4)], length=4, bars=1, ts=TS, key=C_MAJOR,
                                        chords=chords, register=(55, 80))}
    assert {"exact_bars", "no_overlapping_same_pitch", "in_range", "in_key", "chord_tones_on_strong_beats",
            "one_note_at_a_time"} <= names
    drums = {c.name for c in check_role("drums", [n(36, 0)], length=4, bars=1, ts=TS, key=C_MAJOR, chords=None,
                                        register=(0, 127))}
    assert drums == {"exact_bars", "no_overlapping_same_pitch", "general_midi_drums"}


# ------------------------------------------------------------------ music.automation


def test_points_are_joined_by_lines_and_shapes_sampled():
    steps = points_to_steps([(0, 0.0), (2, 1.0)], resolution=0.5)
    assert [round(v, 3) for _, _, v in steps] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert steps[0][:2] == (0, 0.5)
    ramp = shape_steps("ramp", start=0, end=4, from_value=10, to_value=20, resolution=1)
    assert len(ramp) == 4 and ramp[0][2] == 10 and ramp[-1][2] < 20 and all(
        a[2] < b[2] for a, b in zip(ramp, ramp[1:]))
    sine = shape_steps("sine", start=0, end=4, from_value=0, to_value=1, resolution=0.125, rate=1)
    assert min(v for *_, v in sine) >= -1e-9 and max(v for *_, v in sine) <= 1 + 1e-9
    with pytest.raises(LiveloomError, match="same beat"):
        points_to_steps([(1, 0.0), (1, 1.0)])
    with pytest.raises(LiveloomError, match="limit"):
        shape_steps("ramp", start=0, end=MAX_STEPS, from_value=0, to_value=1, resolution=0.5)


# ------------------------------------------------------------------ engines.variation


def test_variation_amount_controls_similarity_and_seeds_reproduce():
    melody = [n(60 + (i * 2) % 12, i * 0.5, 0.5) for i in range(32)]
    same = vary_notes(melody, key=C_MAJOR, length=16, amount=0.0, seed=1, is_drum=False)
    assert similarity(melody, same) == 1.0
    light = vary_notes(melody, key=C_MAJOR, length=16, amount=0.2, seed=1, is_drum=False)
    heavy = vary_notes(melody, key=C_MAJOR, length=16, amount=0.9, seed=1, is_drum=False)
    assert similarity(melody, light) > similarity(melody, heavy)
    assert light == vary_notes(melody, key=C_MAJOR, length=16, amount=0.2, seed=1, is_drum=False)
    assert all(x.end <= 16 + 1e-9 for x in heavy)


def test_interpolation_moves_from_a_to_b_and_grooves_continue():
    a = [n(60, i, 1) for i in range(8)]
    b = [n(67, i, 1) for i in range(8)]
    steps = [interpolate_notes(a, b, t, seed=3, is_drum=False) for t in (0.25, 0.5, 0.75)]
    to_b = [similarity(b, s) for s in steps]
    assert to_b == sorted(to_b) and to_b[0] < to_b[-1]
    groove = [n(36, 0, 0.25), n(38, 1, 0.25), n(42, 0.5, 0.25), n(36, 2, 0.25), n(38, 3, 0.25)]
    more = continue_groove(groove, bar_len=4, source_bars=1, new_bars=2, seed=0)
    assert all(0 <= x.start < 8 for x in more) and sum(x.pitch == 38 and x.start >= 7 for x in more) == 4


# ------------------------------------------------------------------ engines.arranger, engines.reharmonize


def test_forms_and_an_arrangement_that_passes_its_checks():
    assert [s.name for s in form_sections("aaba", None)] == ["A", "A", "B", "A"]
    with pytest.raises(LiveloomError, match="unknown form"):
        form_sections("sonata", None)
    assert set(FORMS) >= {"pop", "edm", "loop"}
    out = arrange(style="lofi", key="D minor", tempo=82, time_signature=None, form=None,
                  sections=[SectionSpec("verse", 4, 0.5), SectionSpec("chorus", 4, 0.9)], seed=2)
    assert math.isclose(out.song.length, 32.0) and [s.name for s in out.song.sections] == ["verse", "chorus"]
    assert {t.role for t in out.song.tracks} >= {"drums", "bass", "chords", "lead"}
    failed = [c for c in out.checks if not c.passed]
    assert not failed, failed[:3]


def test_orchestrate_keeps_the_harmony_within_ranges():
    clip = Clip(notes=[n(48, 0, 4), n(60, 0, 4), n(64, 0, 4), n(67, 0, 4)], length=4)
    song, checks, _ = orchestrate(clip, "string_quartet")
    assert len(song.tracks) == 4 and all(c.passed for c in checks)
    pcs = {x.pitch % 12 for t in song.tracks for x in t.notes_on_timeline()}
    assert pcs == {0, 4, 7}


def test_reharmonize_fits_the_melody_in_every_style():
    melody = [n(64, 0, 2), n(62, 2, 2), n(60, 4, 4), n(67, 8, 2), n(65, 10, 2), n(64, 12, 4)]
    for style in STYLES:
        r = reharmonize(melody, C_MAJOR, style, 4.0, 16.0)
        assert len(r.chords) == 4 and r.strong_beat_fit >= 0.75, (style, r.strong_beat_fit)
        assert all(x.pitch < 64 for x in r.accompaniment)  # voiced below the melody
    with pytest.raises(LiveloomError, match="unknown style"):
        reharmonize(melody, C_MAJOR, "polka", 4.0, 16.0)


# ------------------------------------------------------------------ tools without a server


@pytest.fixture
def services(tmp_path):
    ws = Workspace(tmp_path / "home")
    return Services(workspace=ws, files=FilePolicy(workspace_home=ws.home, files_dir=ws.files_dir, extra=[]),
                    live=LiveService(parse_target("sim")), models=ModelHub(), render=RenderSettings())


def test_every_family_lists_its_tools():
    assert [f.__name__ for f in tools_of(compose_tools)] == ["compose", "continue_clip", "harmonize", "vary",
                                                             "interpolate"]
    assert tools_of(notation_tools)[0].tool_info.annotations.read_only_hint is False


@pytest.mark.anyio
async def test_tools_are_callable_without_a_server(services):
    ctx = DirectContext(services)
    made = await notation_tools.notation_to_clip(ctx, text="Dm7 G7 | Cmaj7", key=None, tempo=96)
    assert made.kind == "clip" and made.bars == 2
    up = await style_tools.transpose(ctx, id=made.id, semitones=2)
    record, clip = services.workspace.load_clip(up.id)
    assert record.provenance.tool == "transpose" and record.provenance.parents == [made.id]
    assert clip.notes[0].pitch == services.workspace.load_clip(made.id)[1].notes[0].pitch + 2
    bass = await compose_tools.compose(ctx, role="bass", key="D minor", bars=4, style="lofi", seed=3)
    assert bass.all_checks_passed and services.workspace.get(bass.id).provenance.engine == bass.engine
    with pytest.raises(ToolError, match="unknown id|not found|no artifact"):
        await style_tools.transpose(ctx, id="clip_0000000000", semitones=1)


def test_provenance_engine_is_stored_under_its_old_name(tmp_path):
    import json
    import sqlite3

    from liveloom.store.workspace import Provenance

    ws = Workspace(tmp_path / "home")
    record = ws.put_clip(Clip(notes=[n(60, 0)], length=4), Provenance(tool="compose", engine="theory"), {})
    row = sqlite3.connect(ws.index_path).execute("SELECT provenance FROM artifacts").fetchone()[0]
    assert json.loads(row)["model"] == "theory" and "engine" not in json.loads(row)  # the format is unchanged
    assert ws.get(record.id).provenance.engine == "theory"
    assert Provenance.model_validate({"tool": "x", "model": "y"}).engine == "y"  # records written before


def test_reharmonize_a_melody_too_low_for_chords_below_is_a_clear_error():
    low = [n(40, 0, 2), n(43, 2, 2)]  # found by bench/fuzz.py: min() of an empty bass range
    with pytest.raises(LiveloomError, match="Transpose it up"):
        reharmonize(low, C_MAJOR, "pop", 4.0, 4.0)
    assert reharmonize([x.model_copy(update={"pitch": x.pitch + 12}) for x in low], C_MAJOR, "pop", 4.0, 4.0).chords


def test_measures_of_fit_and_line():
    """The listening panel's measures on hand-made parts whose answers are known."""
    from liveloom.music import measures as M
    from liveloom.music.types import Note

    c_major = [Note(pitch=p, start=0.0, duration=4.0) for p in (60, 64, 67)]
    g_major = [Note(pitch=p, start=4.0, duration=4.0) for p in (59, 62, 67)]
    comp = c_major + g_major
    bass = [Note(pitch=36, start=0.0, duration=4.0), Note(pitch=38, start=4.0, duration=4.0)]  # C, then D under G
    assert M.bass_root_agreement(bass, comp, 4.0) == 0.5
    assert M.bass_root_agreement(bass, comp, 4.0, planned=lambda t: {7, 2} if t >= 4 else {0}) == 1.0
    lead = [Note(pitch=72, start=0.0, duration=2.0), Note(pitch=67, start=4.0, duration=2.0)]
    assert M.lead_above(lead, comp) == (0.5, 0.5)  # the second note doubles the chord's G
    assert M.strong_beat_clash([Note(pitch=61, start=0.0, duration=1.0)], comp, 4.0) == 1.0
    idea = [Note(pitch=p, start=t, duration=1.0) for p, t in ((60, 0), (62, 1), (64, 2), (65, 4))]
    again = [n.model_copy(update={"start": n.start + 8, "pitch": n.pitch + 2}) for n in idea]  # a sequence
    other = [Note(pitch=70, start=16.0, duration=4.0)]
    assert M.idea_repeat_rate(idea + again + other, 4.0, 6) == 0.5
    assert M.rhythm_repeat_rate(idea + again, 4.0, 4) == 2 / 3  # bars 3 and 4 repeat bars 1 and 2
    assert math.isnan(M.lead_above([], comp)[0]) and math.isnan(M.idea_repeat_rate([], 4.0, 1))
    hats = [Note(pitch=42, start=t, duration=0.1) for t in (0, 0.125, 0.25, 0.5, 0.5 + 1 / 6)]
    assert M.rolls(hats, {42}) == 3 and M.off_grid_share(hats) == 0.4
