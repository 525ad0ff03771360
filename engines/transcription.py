"""Polyphonic transcription: audio -> note events, with basic-pitch's network running in PyTorch.

Windowing, unwrapping and note decoding follow basic-pitch 0.4.0 (Spotify, Apache-2.0;
basic_pitch/inference.py and note_creation.py) step for step — windows of 43,844 samples overlapping
by 30 frames, onsets from the onset head and from jumps in the note head, notes followed until their
energy stays under the frame threshold for 11 frames, the "melodia trick" for notes without onsets,
pitch bends from the contour head — so that results can be compared with the reference. What is
ours: windows run in batches, long files in bounded chunks with progress and cancellation, and the
options a producer needs (pitch range, one note at a time, minimum length, tempo-grid quantising,
splitting by register).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from liveloom.engines import audio_analysis as aa
from liveloom.music.errors import Cancelled
from liveloom.music.jobs import NO_JOB, Job
from liveloom.music.types import Note, TimeSignature

if TYPE_CHECKING:
    from liveloom.models.hub import ModelHub


SR = 22050
HOP = 256
WINDOW = 2 * SR - HOP
N_OVERLAP = 30
OVERLAP = N_OVERLAP * HOP
WINDOW_HOP = WINDOW - OVERLAP
FRAMES = 172
MIDI_OFFSET = 21
MAX_FREQ_IDX = 87
ENERGY_TOL = 11
BASE_HZ = 27.5
CONTOUR_BINS = 264


MIN_NOTE_FRAMES = 11  # basic-pitch's default shortest note: 11 frames of 256 samples at 22,050 Hz (127.7 ms)


@dataclass
class NoteEvent:
    start: float  # seconds
    end: float
    pitch: int
    amplitude: float  # 0..1
    bends: list[int] | None  # per frame, in thirds of a semitone


def infer(y, model, device: str, batch: int = 16, progress: Callable[[int, int], None] = lambda d, t: None,
          cancel: threading.Event | None = None) -> dict:
    """Model outputs for mono audio at 22,050 Hz: {'note', 'onset', 'contour'} as (frames, bins) arrays.
    Windows are made and run `batch` at a time, so memory stays bounded however long the file."""
    import numpy as np
    import torch

    original = len(y)
    padded = np.concatenate([np.zeros(OVERLAP // 2, dtype=np.float32), y.astype(np.float32)])
    starts = list(range(0, len(padded), WINDOW_HOP))
    out: dict[str, list] = {"note": [], "onset": [], "contour": []}
    n_olap = N_OVERLAP // 2
    for i in range(0, len(starts), batch):
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        chunk = np.zeros((len(starts[i:i + batch]), WINDOW), dtype=np.float32)
        for j, s in enumerate(starts[i:i + batch]):
            w = padded[s:s + WINDOW]
            chunk[j, :len(w)] = w
        with torch.inference_mode():
            res = model(torch.from_numpy(chunk).to(device))
        for k in out:
            out[k].append(res[k][:, n_olap:-n_olap, :].float().cpu().numpy().reshape(-1, res[k].shape[-1]))
        progress(min(i + batch, len(starts)), len(starts))
    n_frames = int(np.floor(original * (SR / HOP) / SR))
    return {k: np.concatenate(v)[:n_frames] for k, v in out.items()}


def frames_to_time(n: int):
    """Frame times in seconds, with basic-pitch's per-window correction."""
    import numpy as np

    annot_frames = (SR // HOP) * 2
    original = np.arange(n) * HOP / SR
    window_numbers = np.floor(np.arange(n) / annot_frames)
    window_offset = (HOP / SR) * (annot_frames - (WINDOW / HOP)) + 0.0018
    return original - window_offset * window_numbers


def _inferred_onsets(onsets, frames, n_diff: int = 2):
    import numpy as np

    diffs = []
    for n in range(1, n_diff + 1):
        appended = np.concatenate([np.zeros((n, frames.shape[1])), frames])
        diffs.append(appended[n:, :] - appended[:-n, :])
    diff = np.min(diffs, axis=0)
    diff[diff < 0] = 0
    diff[:n_diff, :] = 0
    peak = np.max(diff)
    diff = np.max(onsets) * diff / peak if peak > 0 else diff
    return np.max([onsets, diff], axis=0)


def decode(output: dict, onset_threshold: float = 0.5, frame_threshold: float = 0.3,
           min_note_frames: int = MIN_NOTE_FRAMES,
           min_pitch: int | None = None, max_pitch: int | None = None, melodia_trick: bool = True,
           pitch_bends: bool = True, cut_short: list[NoteEvent] | None = None) -> list[NoteEvent]:
    """Note events from the model's outputs (basic-pitch's output_to_notes_polyphonic and get_pitch_bends).
    `cut_short`, when given, receives the attacks dropped for being too short (start, end, pitch; no bends): an
    onset peak whose frames ran into a later note of its pitch within `min_note_frames` — melody mode starts
    that note there (started_at_cut_attacks)."""
    import numpy as np
    import scipy.signal

    frames = output["note"].astype(np.float64).copy()
    onsets = output["onset"].astype(np.float64).copy()
    n_frames = frames.shape[0]
    if n_frames == 0:
        return []
    if max_pitch is not None:
        onsets[:, max(0, max_pitch + 1 - MIDI_OFFSET):] = 0
        frames[:, max(0, max_pitch + 1 - MIDI_OFFSET):] = 0
    if min_pitch is not None:
        onsets[:, :max(0, min_pitch - MIDI_OFFSET)] = 0
        frames[:, :max(0, min_pitch - MIDI_OFFSET)] = 0
    onsets = _inferred_onsets(onsets, frames)
    peaks = np.zeros(onsets.shape)
    arg = scipy.signal.argrelmax(onsets, axis=0)
    peaks[arg] = onsets[arg]
    t_idx, f_idx = np.where(peaks >= onset_threshold)
    remaining = frames.copy()
    events: list[tuple[int, int, int, float]] = []
    short: list[tuple[int, int, int, float]] = []
    for start, f in zip(t_idx[::-1], f_idx[::-1]):
        if start >= n_frames - 1:
            continue
        i, k = start + 1, 0
        col = remaining[:, f]
        while i < n_frames - 1 and k < ENERGY_TOL:
            k = k + 1 if col[i] < frame_threshold else 0
            i += 1
        i -= k
        if i - start <= min_note_frames:
            if cut_short is not None and i > start:
                short.append((int(start), int(i), int(f) + MIDI_OFFSET, float(np.mean(frames[start:i, f]))))
            continue
        remaining[start:i, f] = 0
        if f < MAX_FREQ_IDX:
            remaining[start:i, f + 1] = 0
        if f > 0:
            remaining[start:i, f - 1] = 0
        events.append((int(start), int(i), int(f) + MIDI_OFFSET, float(np.mean(frames[start:i, f]))))
    if melodia_trick:
        shape = remaining.shape
        while np.max(remaining) > frame_threshold:
            i_mid, f = np.unravel_index(np.argmax(remaining), shape)
            remaining[i_mid, f] = 0
            i, k = _clear_while_sounding(remaining, i_mid + 1, +1, f, frame_threshold)
            i_end = i - 1 - k
            i, k = _clear_while_sounding(remaining, i_mid - 1, -1, f, frame_threshold)
            i_start = i + 1 + k
            if i_start < 0 or i_end >= n_frames:
                raise AssertionError("note limits out of range")  # basic-pitch asserts the same
            if i_end - i_start <= min_note_frames:
                continue
            events.append((int(i_start), int(i_end), int(f) + MIDI_OFFSET, float(np.mean(frames[i_start:i_end, f]))))
    times = frames_to_time(n_frames)
    contours = output.get("contour")
    out = []
    for s, e, p, a in events:
        bends = _bends(contours, s, e, p) if pitch_bends and contours is not None else None
        out.append(NoteEvent(float(times[s]), float(times[e]), p, a, bends))
    if cut_short is not None:
        cut_short.extend(NoteEvent(float(times[s]), float(times[e]), p, a, None) for s, e, p, a in short)
    return out


REATTACK_GAP_S = 0.03  # a note re-struck at most this long after one of its pitch ended
REATTACK_ONSET = 0.7  # ... with an onset weaker than this (the onset head's peak near it)
REATTACK_JUMP = 1.2  # ... and no jump in the note's level (the 4 frames after / the 4 before) above this
REATTACK_LOWEST = 48  # from C3 up: below it is a bass's register, where repeated notes are the idiom (pumping eighths)


def merge_reattacks(events: list[NoteEvent], output: dict) -> list[NoteEvent]:
    """One sustained note where the network split it: a note of the same pitch, from C3 up, that starts within
    30 ms of the previous one's end, with a weak onset and no rise in level, continues that note (vibrato, a bow
    change, a breath on a held wind note). transcribe's default (`reattacks: "keep"` leaves such notes apart).
    Below C3 repeated notes stay apart: merged there, a band's bass lost 0.77 -> 0.71 of its notes. With slow
    attacks started where they begin (attack_starts), on the transcription bench: 70 files 0.624 -> 0.69 onset F1
    (strings and flute most), band mixes 0.667 -> 0.688; it joins some real repeated notes that have no attack of
    their own (a legato clarinet or saw-lead tune: `keep` is for those)."""
    import numpy as np

    onsets, frames = output["onset"], output["note"]
    times = np.asarray(frames_to_time(frames.shape[0]))  # a note's frame: its time through the windows' correction
    out: list[NoteEvent] = []
    last: dict[int, int] = {}  # pitch -> index in out of its latest note
    for e in sorted(events, key=lambda e: (e.start, e.pitch)):
        k = last.get(e.pitch) if e.pitch >= REATTACK_LOWEST else None
        f, row = int(np.searchsorted(times, e.start - 1e-6)), e.pitch - MIDI_OFFSET
        if k is not None and e.start - out[k].end <= REATTACK_GAP_S and f >= 4 and 0 <= row < onsets.shape[1]:
            strength = float(onsets[max(0, f - 2):f + 3, row].max())
            before, after = float(frames[f - 4:f, row].mean()), float(frames[f:f + 4, row].mean())
            if strength < REATTACK_ONSET and after < REATTACK_JUMP * max(before, 1e-3):
                out[k] = joined(out[k], e)
                continue
        last[e.pitch] = len(out)
        out.append(e)
    return out


def joined(prev: NoteEvent, ev: NoteEvent) -> NoteEvent:
    """One note from a note and the next of its pitch that the network split off it: the louder amplitude, and
    the pitch bends held at the last value across the gap, frame by frame."""
    bends = None
    if prev.bends is not None and ev.bends is not None:
        gap = max(0, int(round((ev.start - prev.end) * SR / HOP)))
        bends = prev.bends + prev.bends[-1:] * gap + ev.bends
    return dataclasses.replace(prev, end=max(prev.end, ev.end), amplitude=max(prev.amplitude, ev.amplitude),
                               bends=bends)


def _clear_while_sounding(remaining, i: int, step: int, f: int, frame_threshold: float) -> tuple[int, int]:
    """From frame i, walk in `step` direction clearing bin f (and its neighbours) until the energy has stayed
    under the threshold for ENERGY_TOL frames or the edge is reached; -> (frame stopped at, frames under)."""
    n_frames = remaining.shape[0]
    k = 0
    while (i < n_frames - 1 if step > 0 else i > 0) and k < ENERGY_TOL:
        k = k + 1 if remaining[i, f] < frame_threshold else 0
        remaining[i, f] = 0
        if f < MAX_FREQ_IDX:
            remaining[i, f + 1] = 0
        if f > 0:
            remaining[i, f - 1] = 0
        i += step
    return i, k


def _bends(contours, s: int, e: int, pitch: int, tol: int = 25) -> list[int]:
    import numpy as np
    import scipy.signal

    window = tol * 2 + 1
    gauss = scipy.signal.windows.gaussian(window, std=5)
    hz = 440.0 * 2 ** ((pitch - 69) / 12)
    f = int(np.round(36.0 * np.log2(hz / BASE_HZ)))
    lo, hi = max(f - tol, 0), min(CONTOUR_BINS, f + tol + 1)
    sub = contours[s:e, lo:hi] * gauss[max(0, tol - f): window - max(0, f - (CONTOUR_BINS - tol - 1))]
    shift = tol - max(0, tol - f)
    return [int(x) for x in np.argmax(sub, axis=1) - shift]


TOGETHER_S = 0.05  # onsets this close are one attack (a note and its overtones, its octave ghost)


def one_at_a_time(events: list[NoteEvent]) -> list[NoteEvent]:
    """Melody mode: one note at a time, keeping every attack of the line. Onsets within 50 ms are one attack:
    the strongest (amplitude x length) stays, its overtones and octave ghosts go. A note that enters while
    another still sounds is the next note of the line — the earlier one is cut where it begins — unless it is
    much weaker than the note sounding (under half its amplitude) and that note goes on past it: a ghost."""
    groups: list[list[NoteEvent]] = []
    for ev in sorted(events, key=lambda e: e.start):
        if groups and ev.start - groups[-1][0].start < TOGETHER_S:
            groups[-1].append(ev)
        else:
            groups.append([ev])
    line: list[NoteEvent] = []
    for group in groups:
        ev = max(group, key=lambda e: e.amplitude * (e.end - e.start))
        if line and ev.start < line[-1].end:
            held = line[-1]
            if ev.amplitude < 0.5 * held.amplitude and held.end > ev.end:
                continue  # a ghost inside a stronger note
            line[-1] = ended_at(held, ev.start)
        line.append(ev)
    return [e for e in line if e.end - e.start > 1e-3]


def ended_at(ev: NoteEvent, t: float) -> NoteEvent:
    """The note ending at `t`, earlier or later (its pitch bends cut to match, or its last one held on)."""
    if t > ev.end:
        k = int(round((t - ev.end) * SR / HOP))
        return dataclasses.replace(ev, end=t, bends=ev.bends + [ev.bends[-1]] * k if ev.bends and k > 0 else ev.bends)
    return dataclasses.replace(ev, end=t, bends=ev.bends[:max(1, int((t - ev.start) * SR / HOP))] if ev.bends
                               else ev.bends)


def started_at(ev: NoteEvent, t: float) -> NoteEvent:
    """The note starting earlier, at `t` (its first pitch bend held over the frames added)."""
    k = int(round((ev.start - t) * SR / HOP))
    return dataclasses.replace(ev, start=t, bends=[ev.bends[0]] * k + ev.bends if ev.bends and k > 0 else ev.bends)


CUT_ATTACK_GAP_FRAMES = 1.5  # a cut-short attack ends where the note it starts begins (within this many frames)


def started_at_cut_attacks(line: list[NoteEvent], cut_short: list[NoteEvent] | None) -> list[NoteEvent]:
    """Melody mode: a note of the line starts at its pitch's earlier attack that the decoder dropped as too short
    (decode's `cut_short`: the onset head peaked there, but its frames ran into this note within 11 frames) — a
    bowed or blown note's true start, where the onset head peaked once before peaking again as the note took hold
    (the decoder makes the note from the later peak, backwards in time); the note before ends there. Not where the note before has the same pitch and is still sounding (a repeated note: melody mode's
    classifier judges those), nor before that note's third frame. On the rendered melodies of the transcription
    bench: violin onset F1 0.76 -> 0.87, all 0.883 -> 0.903 (bench/transcribe_bench.py)."""
    if not cut_short:
        return line
    by_pitch: dict[int, list[NoteEvent]] = {}
    for c in cut_short:
        by_pitch.setdefault(c.pitch, []).append(c)
    gap = CUT_ATTACK_GAP_FRAMES * HOP / SR
    out: list[NoteEvent] = []
    for ev in line:
        floor = out[-1].start + 2 * HOP / SR if out else float("-inf")
        found = [c.start for c in by_pitch.get(ev.pitch, ()) if 0 <= ev.start - c.end <= gap and floor <= c.start
                 < ev.start]
        attack = min(found, default=None)
        if attack is not None and not (out and out[-1].pitch == ev.pitch and out[-1].end > attack):
            ev = started_at(ev, attack)
            if out and out[-1].end > ev.start:
                out[-1] = ended_at(out[-1], ev.start)
        out.append(ev)
    return [e for e in out if e.end - e.start > 1e-3]


BASS_HIGHEST = 47  # B2: the bass pass looks at attacks this low or lower
BASS_MIN_FRAMES = 5  # ... at least this long (58 ms: a muted sixteenth, a staccato eighth)
BASS_MIN_LEVEL = 0.3  # ... and this loud (the note head's mean over its frames)
BASS_LINE_NOTES = 3  # ... in a bass line: at least this many notes at or under BASS_HIGHEST within BASS_LINE_S
BASS_LINE_S = 2.0


def with_bass_attacks(events: list[NoteEvent], cut_short: list[NoteEvent] | None) -> list[NoteEvent]:
    """The bass pass: `events` with the short low notes the decoder dropped as under its 11-frame minimum (decode's
    `cut_short`: the onset head peaked, the frames ran under 128 ms) — a bass's muted sixteenths and staccato
    eighths, which the network hears (onset peak >= 0.5) but the decoder's minimum, set for sustained instruments,
    throws away. Kept: an attack at or under BASS_HIGHEST, at least BASS_MIN_FRAMES long and BASS_MIN_LEVEL loud,
    the lowest note sounding when it starts, in a bass line (BASS_LINE_NOTES other low notes within BASS_LINE_S:
    not a lone low blip under a melody in a reverberant, noisy room), and not touching a note of its pitch (inside
    it, or ending or starting within CUT_ATTACK_GAP_FRAMES of it: the same note's onset head peaking twice). The
    octave-ghost classifier judges the notes kept as it judges the rest. Measured when it came (with the first
    octave-ghost classifier): on the transcription bench's band mixes bass recall 0.739 -> 0.759, onset F1 0.722 ->
    0.726; on 48 other arrangements through two other soundfonts, where its bounds were chosen, bass recall 0.667 ->
    0.680, F1 unchanged (bench/transcribe_bench.py; docs/benchmarks.md)."""
    if not cut_short or not events:
        return events
    import numpy as np

    gap = CUT_ATTACK_GAP_FRAMES * HOP / SR
    shortest = BASS_MIN_FRAMES * HOP / SR - 1e-6
    starts = np.array([e.start for e in events])
    ends = np.array([e.end for e in events])
    pitches = np.array([e.pitch for e in events])
    low_starts = np.sort(starts[pitches <= BASS_HIGHEST])
    kept = []
    for c in cut_short:
        if c.pitch > BASS_HIGHEST or c.amplitude < BASS_MIN_LEVEL or c.end - c.start < shortest:
            continue
        line = np.searchsorted(low_starts, c.start + BASS_LINE_S, "right") - np.searchsorted(low_starts,
                                                                                         c.start - BASS_LINE_S)
        if line < BASS_LINE_NOTES:
            continue
        t = c.start + 0.03  # what sounds once it has begun
        if np.any((starts <= t) & (ends > t) & (pitches < c.pitch)):
            continue  # not the lowest: a partial or a chord's inner voice, not a bass
        same = pitches == c.pitch
        if np.any(same & (((starts - 0.05 < c.start) & (c.start < ends)) | (np.abs(starts - c.end) <= gap)
                          | (np.abs(c.start - ends) <= gap))):
            continue
        kept.append(c)
    return sorted(events + kept, key=lambda e: e.start) if kept else events


SLOW_ATTACK_ONSET = 0.8  # an onset peak under this is a slow attack (bowed, blown): its start is looked for earlier
ATTACK_LOOKBACK_S = 0.15
ATTACK_HALF = 0.5  # back no further than the activation's half of its level at the onset peak


def attack_starts(events: list[NoteEvent], output: dict, frame_threshold: float = 0.3,
                  line: bool = False) -> list[NoteEvent]:
    """The general model's notes started where they begin: basic-pitch's onset head peaks 20-100 ms after a bowed or
    blown note begins (violin: median 22 ms, a quarter over 94 ms; piano 7 ms). A note whose onset peak is under
    SLOW_ATTACK_ONSET starts earlier for as long as its pitch's frame activation falls going back and stays at or
    above `frame_threshold` and half its level at the peak (a piano under reverb rises slowly from a raised floor),
    at most ATTACK_LOOKBACK_S, and never before the same pitch's previous note has ended —
    or, for a `line` (melody mode: one note at a time), before the previous note's start, which then ends there.
    Sharp attacks (piano, plucked strings) keep theirs. On the transcription bench's 70 files, alone: onset F1
    0.558 -> 0.624 (strings 0.22 -> 0.38, flute 0.47 -> 0.64, piano unchanged); rendered melodies in melody mode
    0.836 -> 0.873 (bench/transcribe_bench.py)."""
    import numpy as np

    frames, onsets = output["note"], output["onset"]
    if not events or frames.shape[0] == 0:
        return events
    times = np.asarray(frames_to_time(frames.shape[0]))
    out: list[NoteEvent] = []
    floor = 0  # a line's: two frames after the previous note's start
    ended: dict[int, float] = {}  # otherwise: per pitch, where its previous note ended
    for ev in sorted(events, key=lambda e: e.start):
        f = ev.pitch - MIDI_OFFSET
        t = min(int(np.searchsorted(times, ev.start)), frames.shape[0] - 1)
        i = t
        if 0 <= f < frames.shape[1] and onsets[max(0, t - 1):t + 2, f].max() < SLOW_ATTACK_ONSET:
            after = floor if line else int(np.searchsorted(times, ended.get(ev.pitch, -1.0))) + 1
            lowest = max(after, int(np.searchsorted(times, ev.start - ATTACK_LOOKBACK_S)))
            stop = max(frame_threshold, ATTACK_HALF * frames[t, f])  # where the rise was half done, at the latest
            while i - 1 >= lowest and stop <= frames[i - 1, f] <= frames[i, f]:
                i -= 1
        if i < t:
            bends = [ev.bends[0]] * (t - i) + ev.bends if ev.bends else ev.bends
            ev = dataclasses.replace(ev, start=float(times[i]), bends=bends)
            if line and out and out[-1].end > ev.start:  # still one note at a time: the one before ends here
                out[-1] = ended_at(out[-1], ev.start)
        out.append(ev)
        floor = i + 2
        ended[ev.pitch] = max(ended.get(ev.pitch, -1.0), ev.end)
    return out


def shaped(events: list[NoteEvent], output: dict, *, reattacks: str = "merge", melody: bool = False,
           frame_threshold: float = 0.3, audio=None, cut_short: list[NoteEvent] | None = None,
           cancel: threading.Event | None = None) -> list[NoteEvent]:
    """The general model's decoded notes as transcribe returns them: held notes the network split joined again
    (reattacks "merge", the default; "keep" leaves them), then one note at a time for a melody, and slow attacks
    started where they begin. A melody with its `audio` (mono, 22,050 Hz) has its split notes judged by ear
    (engines/line_reattacks: a trained classifier) instead of by merge_reattacks' fixed rule; other material with
    its audio loses the notes that are only a partial of another an octave, a twelfth or two octaves away
    (engines/octave_ghosts: a trained classifier). The attacks decode cut short, when given (`cut_short`), start a
    melody's notes (started_at_cut_attacks) and give other material back its short bass notes (with_bass_attacks)."""
    if melody and audio is not None and reattacks == "merge":
        from liveloom.engines.line_reattacks import join_split_notes

        line = started_at_cut_attacks(one_at_a_time(events), cut_short)
        return join_split_notes(attack_starts(line, output, frame_threshold, line=True), output, audio, cancel=cancel)
    if reattacks == "merge":
        events = merge_reattacks(events, output)
    if melody:
        line = started_at_cut_attacks(one_at_a_time(events), cut_short)
        return attack_starts(line, output, frame_threshold, line=True)
    events = with_bass_attacks(attack_starts(events, output, frame_threshold), cut_short)
    if audio is None:
        return events
    from liveloom.engines.octave_ghosts import drop_ghosts

    return drop_ghosts(events, output, audio, cancel=cancel)


def general_notes(output: dict, audio=None, *, onset_threshold: float = 0.5, frame_threshold: float = 0.3,
                  min_note_ms: float | None = None, lowest: int | None = None, highest: int | None = None,
                  melody: bool = False, pitch_bends: bool = True, reattacks: str = "merge",
                  cancel: threading.Event | None = None) -> list[NoteEvent]:
    """The general model's output -> transcribe's notes: decoded, then shaped (`audio`, mono at 22,050 Hz, for the
    steps that listen; None leaves them out), with the attacks the decoder cut short handed on — a melody's true
    starts, a band's short bass notes — unless a producer's own `min_note_ms` is to stand."""
    frames = MIN_NOTE_FRAMES if min_note_ms is None else max(1, int(round(min_note_ms / 1000 * SR / HOP)))
    cut_short: list[NoteEvent] | None = [] if melody or min_note_ms is None else None
    events = decode(output, onset_threshold, frame_threshold, frames, lowest, highest, pitch_bends=pitch_bends,
                    cut_short=cut_short)
    return shaped(events, output, reattacks=reattacks, melody=melody, frame_threshold=frame_threshold, audio=audio,
                  cut_short=cut_short, cancel=cancel)


def check_audio_not_silent(y) -> bool:
    import numpy as np

    return len(y) > 0 and float(np.max(np.abs(y))) >= 1e-4


def piano_notes(events, min_seconds: float = 0.0, lowest: int | None = None, highest: int | None = None,
                hold_with_pedal: bool = False) -> tuple[list[NoteEvent], int]:
    """The piano model's events (start, end, pitch, velocity; pedals as negative pitches) -> (notes, how
    many times the sustain pedal went down). With hold_with_pedal, a key released while the pedal is down
    sounds on until the pedal comes up (or the same key is struck again) — the note lengths you hear
    rather than the keys' lengths, for clips, which carry no pedal."""
    from liveloom.models.transkun_piano import SUSTAIN_PEDAL

    pedal = sorted((e.start, e.end) for e in events if e.pitch == SUSTAIN_PEDAL)
    keys = sorted((e for e in events if e.pitch >= 0), key=lambda e: (e.start, e.pitch))
    next_strike: dict[int, list[float]] = {}
    for e in keys:
        next_strike.setdefault(e.pitch, []).append(e.start)
    out = []
    for e in keys:
        end = e.end
        if hold_with_pedal:
            for down, up in pedal:
                if down <= end < up:
                    later = [s for s in next_strike[e.pitch] if s > e.start]
                    end = max(e.end, min([up] + later))
                    break
        if end - e.start < min_seconds:
            continue
        if (lowest is not None and e.pitch < lowest) or (highest is not None and e.pitch > highest):
            continue
        out.append(NoteEvent(start=e.start, end=end, pitch=e.pitch,
                             amplitude=e.velocity / 127, bends=None))
    return out, len(pedal)


def sample_rate(piano: bool) -> int:
    """The rate the model hears: basic-pitch's 22,050 Hz, or the piano model's own."""
    if piano:
        from liveloom.models.transkun_piano import SAMPLE_RATE

        return SAMPLE_RATE
    return SR


@dataclass
class Transcription:
    events: list
    engine: str
    detected_bpm: float | None
    silent: bool  # no sound above -80 dBFS
    pedal_presses: int | None  # the piano model's sustain-pedal presses; None for the general model
    meter: TimeSignature | None = None  # found in the notes of a line without bass (else not known)


def transcribe_audio(hub: ModelHub, y, rate: int, *, piano: bool = False, onset_threshold: float = 0.5,
                     frame_threshold: float = 0.3, min_note_ms: float | None = None, lowest: int | None = None,
                     highest: int | None = None, melody: bool = False, pitch_bends: bool = True,
                     hold_with_pedal: bool = False, detect_tempo: bool = True, reattacks: str = "merge",
                     job: Job = NO_JOB) -> Transcription:
    """Samples at `rate` (the model's) -> note events in seconds: basic-pitch's network (any instrument), or the
    Transkun piano model. Progress per window or segment to `job`; raises Cancelled soon after it is cancelled."""
    silent = not check_audio_not_silent(y)
    if piano:
        model = hub.piano()
        engine = (f"Transkun 2.0 piano model ({model.parameters / 1e6:.1f} M parameters, from {model.source}) "
                  f"in PyTorch on {model.device}, {'bfloat16' if model.precision == 'bf16' else 'float32'}")
        events, presses = [], 0
        if not silent:
            raw = model.transcribe(y, progress=lambda d, t: job.progress(d, t, "segment"), cancel=job.cancel)
            events, presses = piano_notes(raw, (min_note_ms or 0.0) / 1000, lowest, highest, hold_with_pedal)
    else:
        model, device = hub.transcriber()
        engine = (f"basic-pitch ICASSP 2022 network (weights from the basic-pitch 0.4.0 wheel) in PyTorch on "
                  f"{device}, {'bfloat16' if model.precision == 'bf16' else 'float32'} convolutions")
        events, presses = [], None
        if not silent:
            out = infer(y, model, device, progress=lambda d, t: job.progress(d, t, "window"), cancel=job.cancel)
            events = general_notes(out, y, onset_threshold=onset_threshold, frame_threshold=frame_threshold,
                                   min_note_ms=min_note_ms, lowest=lowest, highest=highest, melody=melody,
                                   pitch_bends=pitch_bends, reattacks=reattacks, cancel=job.cancel)
    if melody and piano:
        events = one_at_a_time(events)
    found, meter = None, None
    if detect_tempo and not silent and len(y) > rate * 3:
        import librosa
        import numpy as np

        # a line without bass or kick: the beat tracker hears its eighths as beats; its notes give the pulse and
        # the meter (as analyze_audio does)
        clock = aa.line_clock(np.abs(librosa.stft(y, n_fft=2048, hop_length=512)), rate, lambda: events)
        if clock is not None:
            found, meter = clock[1], clock[2]
        else:
            bpm, _ = librosa.beat.beat_track(y=y, sr=rate, hop_length=512 * rate // SR)
            found = float(np.atleast_1d(bpm)[0]) or None
    return Transcription(events, engine, found, silent, presses, meter)


def events_to_notes(events, bpm: float) -> list[Note]:
    """Note events in seconds -> notes in beats at `bpm`, velocities from amplitude, pitch bends (in semitones,
    one point per change, at most 4,096) from the contour."""
    beat = 60.0 / bpm
    notes = []
    for ev in events:
        start = ev.start / beat
        dur = max(1e-3, (ev.end - ev.start) / beat)
        bend = None
        if ev.bends and any(ev.bends):
            pts, last = [], None
            for i, b in enumerate(ev.bends):  # contour frames are 256 samples apart
                if b != last:
                    pts.append((round(i * HOP / SR / beat, 4), round(b / 3.0, 3)))
                    last = b
            bend = pts[:4096]
        notes.append(Note(pitch=ev.pitch, start=round(max(0.0, start), 6), duration=round(dur, 6),
                          velocity=max(1, min(127, int(round(127 * ev.amplitude)))), pitch_bend=bend))
    return notes
