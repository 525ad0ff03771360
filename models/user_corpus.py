"""A producer's own songs as training material for the symbolic model: every track, the drums included.

    works, report = encode_songs([("groove.mid", song, content_hash), ...])

Each song (a `Song` from a MIDI file, an artifact or a Live set) gives several token sequences that share its
split (a song is held out whole, never split between training and evaluation):
  * the arrangement: every pitched track a voice, ordered by mean pitch from the top (at most seven; the
    thinnest beyond that are left out and counted), and the drum tracks together as the kit (V_KIT);
  * each track alone (one voice, its chords as chord tones, or the kit alone): what `compose` asks the model
    for, one role at a time.
The header's key is the song's (estimated from its notes when the file does not say), its tempo band the
tempo where the window starts (a song is cut where its tempo band or meter changes, so each piece has one of
each), the style token STYLE_other — a learned style is its own network, not a label.

Programs are not tokens: a track's role is heard from its register and texture, so a non-GM or missing
program costs nothing. Held out: about a tenth of the songs (at least one when there are five or more), chosen
by each song's content hash so that the same folder always splits the same way.
"""

from __future__ import annotations

import hashlib
import statistics
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from liveloom.music.types import Note, Song, TimeSignature

from . import tokenizer as T
from .convert import notes_to_piece
from .data import Encoded, _bar_index


@dataclass(frozen=True)
class _Key:
    tonic: int
    minor: bool


_NO_KEY = _Key(0, False)  # the header of drums-only material (C major, as the corpus's unkeyed works)
MIN_NOTES = 8  # a track with fewer notes is left out (a count-in, a stray hit)


@dataclass
class SongReport:
    """What was learned from, for the style's card and the tool's result."""
    songs: int = 0
    held_out: int = 0
    skipped: dict[str, str] = field(default_factory=dict)  # source -> why
    roles: Counter = field(default_factory=Counter)  # melody/chords/bass/drums/... tracks seen
    meters: Counter = field(default_factory=Counter)
    modes: Counter = field(default_factory=Counter)
    tempos: list[float] = field(default_factory=list)
    kit: Counter = field(default_factory=Counter)  # GM drum notes played
    melody_pitches: list[int] = field(default_factory=list)
    melody_notes_per_bar: list[float] = field(default_factory=list)
    tracks_dropped: int = 0
    tokens: int = 0


def held_out_hashes(hashes: list[str]) -> set[str]:
    """The songs held out for evaluation: a tenth (at least one when there are five or more), those whose hashed
    content hash is smallest — the same folder always splits the same way."""
    if len(set(hashes)) < 5:
        return set()
    ranked = sorted(set(hashes), key=lambda h: hashlib.sha1(h.encode()).hexdigest())
    return set(ranked[:max(1, round(len(ranked) / 10))])


def _timeline(track) -> list[Note]:
    return [n for n in track.notes_on_timeline() if not n.mute]


def track_role(notes: list[Note], is_drum: bool) -> str:
    """drums, bass, chords or melody, from the notes (register and how many sound at once)."""
    if is_drum:
        return "drums"
    starts = Counter(round(n.start, 3) for n in notes)
    stacked = sum(c for c in starts.values() if c >= 2) / max(1, len(notes))
    mean = statistics.fmean(n.pitch for n in notes)
    if mean < 52 and stacked < 0.5:
        return "bass"
    if stacked >= 0.5:
        return "chords"
    return "melody"


def _segments(song: Song, end: float) -> list[tuple[float, float, float, TimeSignature]]:
    """(start, end, bpm, meter) spans of one tempo band and one meter, from the song's maps."""
    cuts = {0.0, end}
    tempo_at = [(0.0, song.tempo)] + [(c.beat, c.bpm) for c in song.tempo_map]
    meter_at = [(0.0, song.time_signature)] + [(c.beat, c.time_signature) for c in song.time_signature_map]
    band = T.tempo_band(song.tempo)
    for beat, bpm in tempo_at[1:]:
        if T.tempo_band(bpm) != band and beat < end:
            cuts.add(beat)
            band = T.tempo_band(bpm)
    cuts.update(b for b, _ in meter_at[1:] if b < end)
    edges = sorted(cuts)
    out = []
    for a, b in zip(edges, edges[1:]):
        bpm = [v for x, v in tempo_at if x <= a + 1e-9][-1]
        ts = [v for x, v in meter_at if x <= a + 1e-9][-1]
        if b - a >= ts.beats_per_bar:
            out.append((a, b, bpm, ts))
    return out


def _piece(voiced: list[tuple[int, Note]], start: float, end: float, meter: int) -> T.Piece:
    """Notes from `start` to `end` (beats) onto the grid, bars of `meter` ticks (convert.notes_to_piece on the
    window)."""
    tq = T.TICKS_PER_QUARTER
    window = [(v, n.model_copy(update={"start": n.start - start})) for v, n in voiced
              if round((n.start - start) * tq) >= 0]
    return notes_to_piece(window, meter, bars=max(1, round((end - start) * tq) // meter))


def _encoded(name: str, split: str, piece: T.Piece, key, bpm: float, voices: int) -> Encoded | None:
    if not piece.notes:
        return None
    bars = range(len(piece.bar_ticks))
    counts = np.bincount([n.bar for n in piece.notes], minlength=len(bars)).astype(np.int32)
    header = T.Header(style="other", key_tonic=key.tonic, key_minor=key.minor, meter_ticks=piece.bar_ticks[0],
                      tempo=T.tempo_band(bpm), density=T.density_bin(float(counts.sum()) / len(bars) / voices),
                      voices=voices)
    body = T.encode_bars(piece, bars, first_meter=header.meter_ticks)
    mel = mel_at = None
    pitched = {n.voice for n in piece.notes if n.voice != T.KIT}
    if voices >= 2 and 0 in pitched and len(pitched) >= 2:
        m = T.encode_bars(piece, bars, with_voices=False, voices={0}, first_meter=header.meter_ticks)
        mel, mel_at = np.array(m, dtype=np.int16), _bar_index(m)
    return Encoded(name, "other", split, header, np.array(body, dtype=np.int16), _bar_index(body), mel, mel_at,
                   np.array(piece.bar_ticks, dtype=np.int16), counts)


def encode_songs(songs: list[tuple[str, Song, str]]) -> tuple[list[Encoded], SongReport]:
    """(source name, song, content hash) -> token sequences (each with its split) and what they held."""
    from liveloom.music.analysis import estimate_key

    report = SongReport()
    out: list[Encoded] = []
    held = held_out_hashes([d for _, _, d in songs])
    for source, song, digest in songs:
        split = "valid" if digest in held else "train"
        tracks = []
        for tr in song.tracks:
            notes = _timeline(tr)
            if len(notes) >= MIN_NOTES:
                tracks.append((track_role(notes, tr.is_drum), notes))
        if not tracks:
            report.skipped[source] = f"no track with {MIN_NOTES} or more notes"
            continue
        pitched = sorted((t for t in tracks if t[0] != "drums"), key=lambda t: -statistics.fmean(n.pitch for n in t[1]))
        if len(pitched) > T.MAX_VOICES - 1:
            by_size = sorted(pitched, key=lambda t: -len(t[1]))[: T.MAX_VOICES - 1]
            report.tracks_dropped += len(pitched) - len(by_size)
            pitched = [t for t in pitched if t in by_size]
        kit = [n for role, notes in tracks if role == "drums" for n in notes]
        flat = [[n.pitch, n.start, n.duration] for _, notes in pitched for n in notes]
        key = estimate_key(flat) if flat else None  # drums only: a kit has no key
        end = max(n.start + n.duration for _, notes in tracks for n in notes)
        made = 0
        for a, b, bpm, ts in _segments(song, end):
            meter = round(ts.beats_per_bar * T.TICKS_PER_QUARTER)
            if meter not in T.METERS:
                report.skipped.setdefault(source, f"a bar of {ts} is longer than 8 quarter notes")
                continue
            k = key if key is not None else _NO_KEY
            arrangement = [(v, n) for v, (_, notes) in enumerate(pitched) for n in notes] + [(T.KIT, n) for n in kit]
            n_voices = len(pitched) + (1 if kit else 0)
            if n_voices >= 2:
                e = _encoded(f"{source} (all)", split, _piece(arrangement, a, b, meter), k, bpm, n_voices)
                if e is not None:
                    out.append(e)
                    made += 1
            for role, notes in pitched + ([("drums", kit)] if kit else []):
                voice = T.KIT if role == "drums" else 0
                e = _encoded(f"{source} ({role})", split, _piece([(voice, n) for n in notes], a, b, meter), k, bpm, 1)
                if e is not None:
                    out.append(e)
                    made += 1
            report.meters[str(ts)] += 1
            report.tempos.append(round(bpm, 2))
        if not made:
            report.skipped.setdefault(source, "no bars in a meter the model writes")
            continue
        report.songs += 1
        report.held_out += split == "valid"
        if key is not None:
            report.modes["minor" if key.minor else "major"] += 1
        report.roles.update(role for role, _ in tracks)
        report.kit.update(n.pitch for n in kit)
        melody = next((notes for role, notes in pitched if role == "melody"), None)
        if melody is not None and split == "train":
            report.melody_pitches += [n.pitch for n in melody]
            bar = song.time_signature.beats_per_bar
            span = max(n.start + n.duration for n in melody) - min(n.start for n in melody)
            report.melody_notes_per_bar.append(len(melody) / max(1.0, span / bar))
    report.tokens = sum(len(e.body) + T.HEADER_LEN for e in out)
    return out, report
