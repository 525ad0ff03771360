"""Standard MIDI files <-> `Song` / `Clip`.

Beats map exactly onto MIDI ticks (ticks / ticks-per-beat), so timing survives a round trip
to the tick. Multi-track files become one `Track` per (MIDI track, channel) pair; channel 10
is drums. Tempo and time-signature changes become the song's maps; a key-signature meta event
sets the key. MIDI cannot carry Live's probability, velocity deviation or muted notes:
`song_to_midi` reports what it had to leave out.
"""

from __future__ import annotations

import io
from collections import defaultdict

import mido

from .errors import LiveloomError
from .limits import LIMITS
from .types import (
    DRUM_CHANNEL,
    Clip,
    Note,
    PlacedClip,
    Song,
    TempoChange,
    TimeSignature,
    TimeSignatureChange,
    Track,
    round_up_to_bar,
)

TICKS_PER_BEAT = 960

# mido key-signature names <-> our key strings
_MAJOR_KEYS = ["C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B", "Gb", "C#", "Cb"]
_MINOR_KEYS = ["A", "Bb", "B", "C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "Eb", "A#", "Ab"]


def _key_to_midi(key: str | None) -> str | None:
    if not key:
        return None
    parts = key.split()
    tonic, mode = parts[0], (parts[1].lower() if len(parts) > 1 else "major")
    if mode == "major" and tonic in _MAJOR_KEYS:
        return tonic
    if mode == "minor" and tonic in _MINOR_KEYS:
        return tonic + "m"
    return None  # modes other than major/minor have no MIDI key signature


def _key_from_midi(name: str) -> str:
    return f"{name[:-1]} minor" if name.endswith("m") else f"{name} major"


class MidiExport:
    """The result of `song_to_midi`: the file's bytes and what MIDI could not carry."""

    def __init__(self, data: bytes, dropped: list[str]):
        self.data = data
        self.dropped = dropped


def song_to_midi(song: Song) -> MidiExport:
    """Write a type-1 MIDI file: a conductor track, then one track per song track."""
    mid = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT, charset="utf-8")  # any name (Café 名前 🎵)

    def tick(beat: float) -> int:
        return int(round(beat * TICKS_PER_BEAT))

    conductor: list[tuple[int, int, mido.MetaMessage]] = []
    conductor.append((0, 0, mido.MetaMessage("track_name", name=song.name[:120])))
    conductor.append((0, 1, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(song.tempo))))
    ts = song.time_signature
    conductor.append((0, 1, mido.MetaMessage("time_signature", numerator=ts.numerator, denominator=ts.denominator)))
    key = _key_to_midi(song.key)
    if key:
        conductor.append((0, 1, mido.MetaMessage("key_signature", key=key)))
    for change in song.tempo_map:
        conductor.append((tick(change.beat), 1, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(change.bpm))))
    for change in song.time_signature_map:
        t = change.time_signature
        conductor.append(
            (tick(change.beat), 1, mido.MetaMessage("time_signature", numerator=t.numerator, denominator=t.denominator))
        )
    mid.tracks.append(_to_track(conductor))

    dropped: dict[str, int] = defaultdict(int)
    melodic_channels = [c for c in range(16) if c != DRUM_CHANNEL]
    next_channel = 0
    for track in song.tracks:
        if track.is_drum:
            channel = DRUM_CHANNEL
        else:
            channel = melodic_channels[next_channel % len(melodic_channels)]
            next_channel += 1
        events: list[tuple[int, int, mido.Message | mido.MetaMessage]] = [
            (0, 0, mido.MetaMessage("track_name", name=track.name[:120]))
        ]
        if not track.is_drum and track.instrument is not None:
            events.append((0, 1, mido.Message("program_change", channel=channel, program=track.instrument)))
        timeline = track.notes_on_timeline()
        for note in timeline:
            if note.pitch_bend and not note.mute:
                if any(o is not note and not o.mute and o.start < note.end and note.start < o.end for o in timeline):
                    dropped["pitch bends on overlapping notes (one channel bends all its notes)"] += 1
                    continue
                for offset, semis in note.pitch_bend:
                    if 0 <= offset < note.duration:
                        value = int(max(-8192, min(8191, round(semis / 2.0 * 8192))))
                        events.append((tick(note.start + offset), 1, mido.Message("pitchwheel", channel=channel,
                                                                                   pitch=value)))
                events.append((max(tick(note.end), tick(note.start) + 1), 1,
                               mido.Message("pitchwheel", channel=channel, pitch=0)))
        for note in timeline:
            if note.mute:
                dropped["muted notes"] += 1
                continue
            if note.probability < 1.0:
                dropped["note probabilities"] += 1
            if note.velocity_deviation:
                dropped["velocity deviations"] += 1
            start, end = tick(note.start), max(tick(note.end), tick(note.start) + 1)
            # note_off sorts before note_on at the same tick, so repeated notes re-strike
            events.append((end, 0, mido.Message("note_off", channel=channel, note=note.pitch,
                                                velocity=note.release_velocity)))
            events.append((start, 2, mido.Message("note_on", channel=channel, note=note.pitch,
                                                  velocity=note.velocity)))
        mid.tracks.append(_to_track(events))

    buf = io.BytesIO()
    mid.save(file=buf)
    return MidiExport(buf.getvalue(), [f"{n} {what}" for what, n in dropped.items()])


def _to_track(events: list[tuple[int, int, mido.Message | mido.MetaMessage]]) -> mido.MidiTrack:
    events.sort(key=lambda e: (e[0], e[1]))
    track = mido.MidiTrack()
    now = 0
    for t, _, msg in events:
        track.append(msg.copy(time=t - now))
        now = t
    track.append(mido.MetaMessage("end_of_track", time=0))
    return track


def _text(latin1: str) -> str:
    """A MIDI text as mido read it (Latin-1, which never fails), as UTF-8 where it is (as liveloom and most DAWs
    write names), else as it came."""
    try:
        return latin1.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return latin1


_DATA_BYTES = {0x80: 2, 0x90: 2, 0xA0: 2, 0xB0: 2, 0xC0: 1, 0xD0: 1, 0xE0: 2}


def count_note_ons(data: bytes, limit: int) -> int:
    """Note-ons in a standard MIDI file, counted from the bytes without building messages, stopping with a clear
    error as soon as there are more than `limit` (a million-note file is refused in well under a second instead
    of being parsed into gigabytes). Structure it cannot follow is left for the real parser to report."""
    count, pos, n = 0, 14, len(data)
    while pos + 8 <= n:
        if data[pos:pos + 4] != b"MTrk":
            break
        end = min(n, pos + 8 + int.from_bytes(data[pos + 4:pos + 8], "big"))
        i, status = pos + 8, 0
        while i < end:
            while i < end and data[i] & 0x80:  # delta time
                i += 1
            i += 1
            if i >= end:
                break
            b = data[i]
            if b == 0xFF or b in (0xF0, 0xF7):  # meta (type byte first) or sysex: a length, then that many bytes
                i += 2 if b == 0xFF else 1
                length = 0
                while i < end:
                    length = (length << 7) | (data[i] & 0x7F)
                    i += 1
                    if not data[i - 1] & 0x80:
                        break
                i += length
                continue
            if b & 0x80:
                status, i = b, i + 1
            kind = status & 0xF0
            if kind not in _DATA_BYTES:
                break
            if kind == 0x90 and i + 1 < end and data[i + 1] > 0:
                count += 1
                if count > limit:
                    raise LiveloomError(f"the MIDI file has more than {limit:,} notes; liveloom takes at most "
                                        f"{limit:,} per song. Split it, or export only the parts you need.")
            i += _DATA_BYTES[kind]
        pos = end
    return count


MIN_BPM, MAX_BPM = 20.0, 999.0  # the tempi a clip and Live take; a file's tempo outside them is clamped


BAR_LINE_SLACK = 1 / 32  # beats past a bar line still read as ending on it


def midi_to_song(data: bytes, name: str = "song") -> Song:
    """Parse a standard MIDI file (type 0 or 1) into a `Song`. Raises LiveloomError if corrupt. Times stay in
    beats; a tempo outside 20-999 BPM is clamped into it (the notes keep their beats)."""
    count_note_ons(data, LIMITS.max_notes_per_song)  # before any parsing: a limit is checked before work
    try:
        mid = mido.MidiFile(file=io.BytesIO(data), clip=True)
    except Exception as exc:  # mido raises many kinds (a key of 127 sharps: KeySignatureError) for a bad file
        raise LiveloomError(
            f"this is not a readable standard MIDI file ({exc}). Check that it is a .mid/.midi file "
            "and that it was not truncated."
        ) from None
    if mid.type == 2:
        raise LiveloomError("MIDI type 2 (independent sequences) is not supported; save it as type 0 or 1.")
    tpb = mid.ticks_per_beat
    if not tpb or tpb <= 0:
        raise LiveloomError("the MIDI file uses SMPTE time division, which has no beats; re-export it with PPQ timing.")

    tempos: list[tuple[int, float]] = []
    signatures: list[tuple[int, TimeSignature]] = []
    key: str | None = None
    song_name = name
    # (track index, channel) -> notes; program and name per pair
    notes: dict[tuple[int, int], list[Note]] = defaultdict(list)
    programs: dict[tuple[int, int], int] = {}
    track_names: dict[int, str] = {}
    end_tick = 0

    for ti, mtrack in enumerate(mid.tracks):
        now = 0
        open_notes: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
        for msg in mtrack:
            now += msg.time
            if msg.is_meta:
                if msg.type == "set_tempo":  # kept within 20-999 BPM (a tempo of 0 µs per beat is the fastest)
                    bpm = mido.tempo2bpm(msg.tempo) if msg.tempo > 0 else MAX_BPM
                    tempos.append((now, min(MAX_BPM, max(MIN_BPM, round(bpm, 3)))))  # undo µs rounding
                elif msg.type == "time_signature":
                    try:
                        signatures.append((now, TimeSignature(numerator=msg.numerator, denominator=msg.denominator)))
                    except ValueError:
                        pass  # a malformed signature falls back to the previous one
                elif msg.type == "key_signature" and key is None:
                    key = _key_from_midi(msg.key)
                elif msg.type == "track_name" and msg.name.strip():
                    track_names.setdefault(ti, _text(msg.name).strip())
                continue
            if msg.type == "program_change":
                programs.setdefault((ti, msg.channel), msg.program)
            elif msg.type == "note_on" and msg.velocity > 0:
                open_notes[(msg.channel, msg.note)].append((now, msg.velocity))
            elif msg.type in ("note_off", "note_on"):
                stack = open_notes.get((msg.channel, msg.note))
                if stack:
                    start, vel = stack.pop(0)
                    release = msg.velocity if msg.type == "note_off" else 64
                    _add_note(notes[(ti, msg.channel)], msg.note, start, now, vel, release, tpb)
        for (channel, pitch), stack in open_notes.items():  # notes never released end with the track
            for start, vel in stack:
                _add_note(notes[(ti, channel)], pitch, start, max(now, start + 1), vel, 64, tpb)
        end_tick = max(end_tick, now)

    tempos.sort(key=lambda t: t[0])
    signatures.sort(key=lambda s: s[0])
    initial_tempo = tempos[0][1] if tempos and tempos[0][0] == 0 else 120.0
    initial_ts = signatures[0][1] if signatures and signatures[0][0] == 0 else TimeSignature()
    tempo_map = [TempoChange(beat=t / tpb, bpm=bpm) for t, bpm in tempos if t > 0]
    ts_map = [TimeSignatureChange(beat=t / tpb, time_signature=s) for t, s in signatures if t > 0]
    if len(mid.tracks) == 1 and mid.tracks[0] and 0 in track_names:
        song_name = track_names[0]
    elif 0 in track_names and not any(k[0] == 0 for k in notes):
        song_name = track_names[0]  # conductor track name is the song's name

    # bars from the notes and the end-of-track, forgiving a few ticks past a bar line (pretty_midi and many
    # sequencers write the end one tick late, or release the last note a hair after the bar): those are trimmed
    raw_end = max(end_tick / tpb, max((n.end for v in notes.values() for n in v), default=0))
    last_start = max((n.start for v in notes.values() for n in v), default=0.0)
    song_end = round_up_to_bar(max(raw_end - BAR_LINE_SLACK, last_start + 1e-6), initial_ts)
    if raw_end > song_end:  # every note starts inside; the few that end a hair late end on the bar line
        for track_notes in notes.values():
            track_notes[:] = [n if n.end <= song_end else n.model_copy(update={"duration": song_end - n.start})
                              for n in track_notes]
    tracks: list[Track] = []
    for (ti, channel), track_notes in sorted(notes.items()):
        is_drum = channel == DRUM_CHANNEL
        tname = track_names.get(ti) or ("Drums" if is_drum else f"Track {len(tracks) + 1}")
        if sum(1 for k in notes if k[0] == ti) > 1:
            tname = f"{tname} (ch {channel + 1})"
        program = None if is_drum else programs.get((ti, channel))
        clip = Clip(
            name=tname,
            notes=track_notes,
            length=song_end,
            tempo=initial_tempo,
            time_signature=initial_ts,
            key=key,
            instrument=program,
            is_drum=is_drum,
        )
        tracks.append(Track(name=tname, instrument=program, is_drum=is_drum, clips=[PlacedClip(start=0, clip=clip)]))
    return Song(
        name=song_name,
        tempo=initial_tempo,
        time_signature=initial_ts,
        key=key,
        tempo_map=tempo_map,
        time_signature_map=ts_map,
        tempo_known=bool(tempos),
        meter_known=bool(signatures),
        tracks=tracks,
    )


def _add_note(out: list[Note], pitch: int, start: int, end: int, velocity: int, release: int, tpb: int) -> None:
    out.append(
        Note(
            pitch=pitch,
            start=start / tpb,
            duration=max(end - start, 1) / tpb,
            velocity=max(1, min(127, velocity)),
            release_velocity=release,
        )
    )
