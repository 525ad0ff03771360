"""Compact musical text -> `Clip`, so an agent can say exactly what it means.

Five notations (auto-detected, or chosen with `kind`):

* **chords** — chord symbols: ``Dm7 G7 | Cmaj7 %`` or ``Cmaj7:2 F#m7b5:2 Bb/D:4bars``
* **roman** — roman numerals in a key: ``ii7 V7 Imaj7`` or ``ii–V–I`` (needs ``key``)
* **notes** — note lists: ``C4:1 E4:0.5 r:0.5 [C4 E4 G4]:2@90 | G3:1/3 A3 B3``
* **drums** — step grids: ``kick: x...x...`` one line per drum (GM names or note numbers)
* **abc** — ABC notation (read through music21), recognised by its ``K:`` line

Durations are in beats (``:2``), or in bars with a ``bar``/``bars`` suffix (``:2bars``).
With bar lines (``|``) each bar's chords share the bar, ``%`` repeats the previous bar, and
note-list bars are checked to hold exactly one bar. Errors name the bad token and where it is.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal

from .errors import NotationError
from .limits import LIMITS
from .theory import ChordSpec, Key, chord_name, looks_like_roman, parse_chord_symbol, parse_pitch, parse_roman
from .types import Clip, Note, TimeSignature, round_up_to_bar
from .voicing import voice_progression

NotationKind = Literal["auto", "chords", "roman", "notes", "drums", "abc"]
ChordRhythm = Literal[
    "sustain", "halves", "quarters", "eighths", "swing8", "charleston", "stabs", "arp_up", "arp_down", "arp_updown"
]

GM_DRUMS: dict[str, int] = {
    "kick": 36, "bd": 36, "bass drum": 36, "kick2": 35, "snare": 38, "sd": 38, "snare2": 40, "rim": 37,
    "rimshot": 37, "sidestick": 37, "side stick": 37, "clap": 39, "cp": 39, "hh": 42, "hat": 42, "chh": 42,
    "closed hat": 42, "closed hihat": 42, "hihat": 42, "hi-hat": 42, "ch": 42, "pedal hat": 44, "phh": 44,
    "oh": 46, "ohh": 46, "open hat": 46, "open hihat": 46, "crash": 49, "cr": 49, "crash2": 57, "ride": 51,
    "rd": 51, "ride bell": 53, "bell": 53, "china": 52, "splash": 55, "low tom": 45, "lt": 45, "mid tom": 47,
    "mt": 47, "high tom": 50, "ht": 50, "tom": 47, "floor tom": 41, "ft": 41, "low floor tom": 41,
    "high floor tom": 43, "cowbell": 56, "cb": 56, "tambourine": 54, "tamb": 54, "shaker": 70, "maracas": 70,
    "cabasa": 69, "claves": 75, "woodblock": 76, "hi bongo": 60, "lo bongo": 61, "conga": 63, "hi conga": 62,
    "lo conga": 64, "timbale": 65, "agogo": 67, "guiro": 73, "triangle": 81, "vibraslap": 58,
}
_STEP_VELOCITY = {"x": 100, "X": 127, "o": 60, "O": 80}
_STEP_REST = set(".-_")


@dataclass
class Realization:
    """What `realize` made: the clip, the kind it read, and (for chords) what each chord became."""

    clip: Clip
    kind: str
    chords: list[dict] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)


@dataclass
class _Token:
    text: str
    index: int
    column: int


def _tokens(text: str) -> list[_Token]:
    out = []
    for i, m in enumerate(re.finditer(r"\[[^\]]*\](?::[^\s|]*)?(?:@\d+)?|[^\s,]+", text)):
        out.append(_Token(m.group(0), i, m.start()))
    return out


def _parse_duration(text: str, beats_per_bar: float, tok: _Token) -> float:
    t = text.strip().lower()
    unit = 1.0
    for suffix in ("bars", "bar", "b"):
        if t.endswith(suffix) and t[: -len(suffix)]:
            t, unit = t[: -len(suffix)], beats_per_bar
            break
    try:
        value = float(Fraction(t)) * unit
    except (ValueError, ZeroDivisionError, OverflowError):
        raise NotationError(
            f"duration {text!r} is not a number of beats like 1, 0.5, 1/3, or bars like 2bars",
            tok.text, tok.index, tok.column,
        ) from None
    if not 0 < value <= LIMITS.max_clip_beats:
        raise NotationError(f"duration {text!r} must be more than 0 and at most {LIMITS.max_clip_beats:g} beats",
                            tok.text, tok.index, tok.column)
    return value


def detect_kind(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    if not lines:
        raise NotationError("the text is empty; write chords (Dm7 G7 Cmaj7), notes (C4:1 E4:1), "
                            "a drum grid (kick: x...x...) or ABC")
    heads = [re.match(r"\s*([A-Za-z0-9][A-Za-z0-9 #_\-]*?)\s*:", ln) for ln in lines]
    if all(re.fullmatch(r"\s*[A-Za-z0-9][A-Za-z0-9 #_\-]*\s*:\s*[xXoO.\-_| ]+\s*", ln) for ln in lines):
        return "drums"
    if all(heads) and any(not h.group(1).isdigit() and _is_drum_name(h.group(1)) for h in heads if h):
        return "drums"  # a drum grid with a typo: let the drum reader name it
    if re.search(r"^\s*K:", text, re.M):
        return "abc"
    first = next((t.text for t in _tokens(text) if t.text not in ("|", "||")), "")
    head = first.lstrip("|[").split(":")[0].split("@")[0]
    if head.lower() == "r" or re.fullmatch(r"[A-Ga-g](#|b)?-?\d{1,2}", head) or re.fullmatch(r"\d{1,3}", head):
        return "notes"
    if looks_like_roman(head):
        return "roman"
    return "chords"


def realize(
    text: str,
    *,
    kind: NotationKind = "auto",
    key: Key | None = None,
    tempo: float | None = None,
    time_signature: TimeSignature | None = None,
    rhythm: ChordRhythm = "sustain",
    swing: float | None = None,
    step: float = 0.25,
    octave: int = 0,
    velocity: int = 90,
    repeat: int = 1,
    chord_bass: bool = True,
    name: str | None = None,
) -> Realization:
    """Read `text` and realise it as a clip. Raises NotationError naming the bad token."""
    if len(text) > LIMITS.max_notation_chars:
        raise NotationError(f"the text has {len(text)} characters; the limit is {LIMITS.max_notation_chars}")
    if not text.strip():
        raise NotationError("the text is empty; write chords (Dm7 G7 Cmaj7), notes (C4:1 E4:1), "
                            "a drum grid (kick: x...x...) or ABC")
    ts = time_signature or TimeSignature()
    chosen = detect_kind(text) if kind == "auto" else kind
    if rhythm == "swing8":
        rhythm, swing = "eighths", (swing if swing is not None else 2 / 3)
    if chosen in ("chords", "roman"):
        if chosen == "roman" and key is None:
            raise NotationError("roman numerals need a key: pass key, e.g. key='Bb major'")
        result = _realize_chords(text, chosen, key, ts, rhythm, octave, velocity, chord_bass)
    elif chosen == "notes":
        result = _realize_notes(text, ts, octave, velocity)
    elif chosen == "drums":
        result = _realize_drums(text, ts, step)
    else:
        result = _realize_abc(text)
        if time_signature is None:
            ts = result.clip.time_signature
    notes = result.clip.notes
    if swing is not None:
        pair = 2 * step if chosen == "drums" else 1.0
        notes = apply_swing(notes, pair=pair, ratio=swing)
    length = round_up_to_bar(max((n.end for n in notes), default=ts.beats_per_bar), ts)
    if repeat > 1:
        if length * repeat > LIMITS.max_clip_beats or len(notes) * repeat > LIMITS.max_notes_per_clip:
            raise NotationError(f"repeating {repeat} times exceeds the clip limits ({LIMITS.max_clip_beats:g} beats, "
                                f"{LIMITS.max_notes_per_clip} notes)")
        notes = [n.model_copy(update={"start": n.start + k * length}) for k in range(repeat) for n in notes]
        length *= repeat
    clip = Clip(
        name=name or result.clip.name,
        notes=notes,
        length=length,
        tempo=tempo if tempo is not None else result.clip.tempo,
        time_signature=ts,
        key=str(key) if key else result.clip.key,
        role=result.clip.role,
        is_drum=result.clip.is_drum,
        instrument=result.clip.instrument,
    )
    return Realization(clip=clip, kind=chosen, chords=result.chords, checks=result.checks)


# ---------------------------------------------------------------- swing

def apply_swing(notes: list[Note], *, pair: float, ratio: float) -> list[Note]:
    """Delay the off-beat of each `pair` (two grid steps) to `ratio` of the pair; 0.5 is straight."""
    if not 0.5 <= ratio <= 0.75:
        raise NotationError(f"swing must be between 0.5 (straight) and 0.75 (hard swing), not {ratio}")
    half = pair / 2
    out = []
    for n in notes:
        pos = n.start % pair
        start, dur = n.start, n.duration
        if abs(pos - half) < 1e-6:
            start = n.start - half + pair * ratio
            if abs(dur - half) < 1e-6:
                dur = pair * (1 - ratio)
            elif dur < half:
                dur = min(dur, pair * (1 - ratio))
        elif abs(pos) < 1e-6 and abs(dur - half) < 1e-6:
            dur = pair * ratio
        elif abs(pos) < 1e-6 and dur < half:
            dur = min(dur, pair * ratio * 0.95)
        out.append(n.model_copy(update={"start": round(start, 6), "duration": round(dur, 6)}))
    return out


# ---------------------------------------------------------------- chords and roman numerals

def _split_roman_dashes(tok: _Token) -> list[_Token]:
    parts = re.split(r"[–—-]", tok.text)
    if len(parts) > 1 and all(p and looks_like_roman(p.split(":")[0]) for p in parts):
        out, col = [], tok.column
        for p in parts:
            out.append(_Token(p, tok.index, col))
            col += len(p) + 1
        return out
    return [tok]


def parse_progression(
    text: str, kind: str, key: Key | None, ts: TimeSignature
) -> list[tuple[ChordSpec, float, float, _Token]]:
    """-> [(chord, start, duration, token)] in beats."""
    bar_len = ts.beats_per_bar
    raw = [t for tok in _tokens(text) for t in _split_roman_dashes(tok)]
    has_bars = any(t.text.strip("|") == "" for t in raw)

    def parse_one(tok: _Token) -> tuple[ChordSpec, float | None]:
        if tok.text == "%":
            raise NotationError("'%' repeats a whole bar: write it alone between bar lines, e.g. | C | % |",
                                tok.text, tok.index, tok.column)
        body, _, dur_text = tok.text.partition(":")
        dur = _parse_duration(dur_text, bar_len, tok) if dur_text else None
        try:
            spec = parse_roman(body, key) if kind == "roman" else parse_chord_symbol(body)
        except ValueError as exc:
            hint = "" if kind == "roman" else " (for roman numerals pass kind='roman' and a key)"
            raise NotationError(f"{exc}{hint}", tok.text, tok.index, tok.column) from None
        return spec, dur

    out: list[tuple[ChordSpec, float, float, _Token]] = []
    pos = 0.0
    if has_bars:
        bars: list[list[_Token]] = [[]]
        for t in raw:
            if t.text.strip("|") == "":
                if bars[-1]:
                    bars.append([])
                continue
            pieces = [p for p in re.split(r"(\|+)", t.text) if p]  # "Dm7|G7" written without spaces
            for p in pieces:
                if p.strip("|") == "":
                    if bars[-1]:
                        bars.append([])
                else:
                    bars[-1].append(_Token(p, t.index, t.column))
        bars = [b for b in bars if b]
        previous: list[tuple[ChordSpec, float, float, _Token]] = []
        for bar in bars:
            if len(bar) == 1 and bar[0].text == "%":
                if not previous:
                    raise NotationError("'%' repeats the previous bar, but there is none", "%", bar[0].index,
                                        bar[0].column)
                current = [(c, s - previous[0][1] + pos, d, tk) for c, s, d, tk in previous]
                out += current
                previous = current
                pos += bar_len
                continue
            parsed = [parse_one(t) for t in bar]
            fixed = sum(d for _, d in parsed if d is not None)
            free = [d for _, d in parsed if d is None]
            share = (bar_len - fixed) / len(free) if free else 0.0
            if (free and share <= 0) or (not free and abs(fixed - bar_len) > 1e-6):
                raise NotationError(
                    f"the bar holds {fixed:g} beats of chords; a {ts} bar holds {bar_len:g}",
                    bar[0].text, bar[0].index, bar[0].column,
                )
            current = []
            for (spec, d), tk in zip(parsed, bar):
                dur = d if d is not None else share
                current.append((spec, pos, dur, tk))
                pos += dur
            out += current
            previous = current
    else:
        for t in raw:
            if t.text == "%":
                if not out:
                    raise NotationError("'%' repeats the previous chord, but there is none", "%", t.index, t.column)
                spec, _, dur, _tk = out[-1]
            else:
                spec, d = parse_one(t)
                dur = d if d is not None else bar_len
            out.append((spec, pos, dur, t))
            pos += dur
    if not out:
        raise NotationError("no chords found in the text")
    if pos > LIMITS.max_clip_beats:
        raise NotationError(f"the progression lasts {pos:g} beats; the limit is {LIMITS.max_clip_beats:g}")
    return out


def _hits(rhythm: str, start: float, end: float, bar_len: float) -> list[tuple[float, float, int]]:
    """(start, duration, accent) hits of a comping rhythm inside [start, end)."""
    if rhythm == "sustain":
        return [(start, end - start, 0)]
    step = {"halves": 2.0, "quarters": 1.0, "eighths": 0.5}.get(rhythm)
    hits: list[tuple[float, float, int]] = []
    if step is not None:
        t = start
        while t < end - 1e-9:
            dur = min(step, end - t)
            accent = 6 if abs(t % 1.0) < 1e-6 else -6
            hits.append((t, dur * 0.92, accent))
            t += step
        return hits
    if rhythm == "charleston":
        pattern = [(0.0, 1.0), (1.5, 0.5)]
        period = bar_len
    elif rhythm == "stabs":
        pattern = [(0.5, 0.25)]
        period = 1.0
    else:
        raise NotationError(rhythm)
    first_period = (start // period) * period
    t0 = first_period
    while t0 < end - 1e-9:
        for off, dur in pattern:
            t = t0 + off
            if start - 1e-9 <= t < end - 1e-9:
                hits.append((t, min(dur, end - t), 0))
        t0 += period
    if not hits or hits[0][0] > start + 1e-9:
        hits.insert(0, (start, min(pattern[0][1], end - start), 4))
    return hits


def _realize_chords(text: str, kind: str, key: Key | None, ts: TimeSignature, rhythm: str, octave: int,
                    velocity: int, with_bass: bool) -> Realization:
    prog = parse_progression(text, kind, key, ts)
    specs = [c for c, _, _, _ in prog]
    shift = 12 * octave
    voicings = voice_progression(specs, low=53 + shift, high=79 + shift, bass_low=36 + shift, bass_high=52 + shift,
                                 with_bass=with_bass)
    notes: list[Note] = []
    chords: list[dict] = []
    bar_len = ts.beats_per_bar
    for (spec, start, dur, tok), voicing in zip(prog, voicings):
        end = start + dur
        if voicing.bass is not None:
            notes.append(Note(pitch=voicing.bass, start=start, duration=dur * 0.98, velocity=min(127, velocity + 4)))
        if rhythm.startswith("arp_"):
            seq = _arpeggio_tones(list(voicing.upper), spec, steps=math.ceil((end - start) / 0.5 - 1e-9))
            if rhythm == "arp_down":
                seq = seq[::-1]
            elif rhythm == "arp_updown" and len(seq) > 2:
                seq = seq + seq[-2:0:-1]
            t, i = start, 0
            while t < end - 1e-9:
                d = min(0.5, end - t)
                accent = 6 if abs(t % 1.0) < 1e-6 else 0
                notes.append(Note(pitch=seq[i % len(seq)], start=t, duration=d * 0.95,
                                  velocity=max(1, min(127, velocity - 8 + accent))))
                t += 0.5
                i += 1
        else:
            for h_start, h_dur, accent in _hits(rhythm, start, end, bar_len):
                for p in voicing.upper:
                    notes.append(Note(pitch=p, start=h_start, duration=max(h_dur, 1e-3),
                                      velocity=max(1, min(127, velocity + accent))))
        chords.append({
            "symbol": tok.text.split(":")[0],
            "chord": chord_name(spec),
            "start": start,
            "duration": dur,
            "pitches": list(voicing.pitches),
        })
    checks = _check_chord_tones(notes, prog)
    if len(notes) > LIMITS.max_notes_per_clip:
        raise NotationError(f"this realisation has {len(notes)} notes; the limit is {LIMITS.max_notes_per_clip}")
    clip = Clip(name="chords", notes=notes, length=round_up_to_bar(prog[-1][1] + prog[-1][2], ts),
                time_signature=ts, key=str(key) if key else None, role="chords", instrument=0)
    return Realization(clip=clip, kind=kind, chords=chords, checks=checks)


def _arpeggio_tones(upper: list[int], spec: ChordSpec, steps: int) -> list[int]:
    """The voices an arpeggio walks through, low to high: all of them when the span has room, else the ones that
    say the chord first — third, root, seventh, then the rest — so that a short chord keeps its quality."""
    if steps >= len(upper):
        return upper

    def rank(p: int) -> int:
        interval = (p - spec.root) % 12
        return {3: 0, 4: 0, 0: 1, 10: 2, 11: 2, 9: 3}.get(interval, 4)

    keep = sorted(upper, key=lambda p: (rank(p), p))[:max(1, steps)]
    return sorted(keep)


def _check_chord_tones(notes: list[Note], prog: list[tuple[ChordSpec, float, float, _Token]]) -> list[str]:
    """Verify the realisation: every note sounding in a chord's span is a tone of that chord."""
    for spec, start, dur, tok in prog:
        pcs = spec.pitch_classes
        span = [n for n in notes if start - 1e-9 <= n.start < start + dur - 1e-9]
        stray = sorted({n.pitch for n in span if n.pitch % 12 not in pcs})
        if stray:  # pragma: no cover - would be a bug in the voicer
            raise AssertionError(f"chord {tok.text} was realised with non-chord pitches {stray}")
        sounding = {n.pitch % 12 for n in span}
        third = [i for i in spec.intervals if i in (3, 4)]
        if third and (spec.root + third[0]) % 12 not in sounding:  # pragma: no cover
            raise AssertionError(f"chord {tok.text} lost its third")
    return [f"{len(prog)} chords: every note is a chord tone of its chord; every third is voiced"]


# ---------------------------------------------------------------- note lists

_NOTE_TOKEN_RE = re.compile(r"^(?P<body>\[[^\]]*\]|[^:@\[\]]+)(?::(?P<dur>[^@]+))?(?:@(?P<vel>\d+))?$")


def _realize_notes(text: str, ts: TimeSignature, octave: int, velocity: int) -> Realization:
    bar_len = ts.beats_per_bar
    notes: list[Note] = []
    pos, dur, bar_start, bar_no = 0.0, 1.0, 0.0, 1
    has_bars = False
    for tok in _tokens(text):
        if tok.text.strip("|") == "":
            has_bars = True
            if abs((pos - bar_start) - bar_len) > 1e-6 and pos > bar_start:
                raise NotationError(
                    f"bar {bar_no} holds {pos - bar_start:g} beats; a {ts} bar holds {bar_len:g}",
                    tok.text, tok.index, tok.column,
                )
            if pos > bar_start:
                bar_start, bar_no = pos, bar_no + 1
            continue
        m = _NOTE_TOKEN_RE.match(tok.text)
        if not m:
            raise NotationError("a note looks like C4, C4:0.5, C4:1@100, r:1 (rest) or [C4 E4 G4]:2",
                                tok.text, tok.index, tok.column)
        if m.group("dur"):
            dur = _parse_duration(m.group("dur"), bar_len, tok)
        vel = int(m.group("vel")) if m.group("vel") else velocity
        if not 1 <= vel <= 127:
            raise NotationError(f"velocity {vel} must be 1-127", tok.text, tok.index, tok.column)
        body = m.group("body")
        names = body[1:-1].split() if body.startswith("[") else [body]
        if body.startswith("[") and not names:
            raise NotationError("an empty chord '[]'", tok.text, tok.index, tok.column)
        if not (len(names) == 1 and names[0].lower() == "r"):
            for nm in names:
                try:
                    pitch = parse_pitch(nm) + 12 * octave
                except ValueError as exc:
                    raise NotationError(str(exc), tok.text, tok.index, tok.column) from None
                if not 0 <= pitch <= 127:
                    raise NotationError(f"{nm} shifted by {octave} octaves leaves the MIDI range",
                                        tok.text, tok.index, tok.column)
                notes.append(Note(pitch=pitch, start=pos, duration=dur, velocity=vel))
        pos += dur
        if pos > LIMITS.max_clip_beats:
            raise NotationError(f"the notes run past {LIMITS.max_clip_beats:g} beats", tok.text, tok.index, tok.column)
        if len(notes) > LIMITS.max_notes_per_clip:
            raise NotationError(f"more than {LIMITS.max_notes_per_clip} notes", tok.text, tok.index, tok.column)
    if has_bars and pos > bar_start and abs((pos - bar_start) - bar_len) > 1e-6:
        raise NotationError(f"the last bar (bar {bar_no}) holds {pos - bar_start:g} beats; a {ts} bar holds "
                            f"{bar_len:g}")
    if pos == 0:
        raise NotationError("no notes or rests found in the text")
    clip = Clip(name="notes", notes=notes, length=round_up_to_bar(pos, ts), time_signature=ts)
    checks = [f"{len(notes)} notes over {pos:g} beats"] + (["every bar holds exactly one bar"] if has_bars else [])
    return Realization(clip=clip, kind="notes", checks=checks)


# ---------------------------------------------------------------- drum grids

def _is_drum_name(name: str) -> bool:
    try:
        drum_pitch(name)
        return True
    except ValueError:
        return False


def drum_pitch(name: str) -> int:
    n = name.strip().lower().replace("_", " ")
    if re.fullmatch(r"\d{1,3}", n):
        value = int(n)
        if not 0 <= value <= 127:
            raise NotationError(f"drum note {value} is outside 0-127")
        return value
    if n in GM_DRUMS:
        return GM_DRUMS[n]
    raise NotationError(f"unknown drum {name!r}; use a GM name ({', '.join(sorted(set(GM_DRUMS))[:24])}, ...) "
                     "or a MIDI note number")


def _realize_drums(text: str, ts: TimeSignature, step: float) -> Realization:
    if not 0 < step <= 4:
        raise NotationError(f"step {step} must be a grid step in beats, e.g. 0.25 for sixteenths")
    rows: list[tuple[int, str, str]] = []
    column = 0
    for line_no, line in enumerate(text.splitlines()):
        if not line.strip():
            column += len(line) + 1
            continue
        name, _, pattern = line.partition(":")
        try:
            pitch = drum_pitch(name)
        except ValueError as exc:
            raise NotationError(str(exc), name.strip(), line_no, column) from None
        steps = re.sub(r"[\s|]", "", pattern)
        for i, ch in enumerate(steps):
            if ch not in _STEP_VELOCITY and ch not in _STEP_REST:
                raise NotationError(f"step {i + 1} of {name.strip()!r} is {ch!r}; use x (hit), X (accent), "
                                    "o (ghost) or . (rest)", ch, line_no, column + len(name) + 1 + pattern.find(ch))
        rows.append((pitch, name.strip(), steps))
        column += len(line) + 1
    if not rows:
        raise NotationError("no drum rows found; write one line per drum, like 'kick: x...x...'")
    longest = max(len(s) for _, _, s in rows)
    notes: list[Note] = []
    for pitch, name, steps in rows:
        if not steps:
            raise NotationError(f"{name!r} has no steps", name)
        if longest % len(steps):
            raise NotationError(f"{name!r} has {len(steps)} steps; a shorter row repeats, so it must divide the "
                                f"longest row's {longest} steps", name)
        full = steps * (longest // len(steps))
        for i, ch in enumerate(full):
            if ch in _STEP_VELOCITY:
                notes.append(Note(pitch=pitch, start=round(i * step, 6), duration=round(min(step, 0.25), 6),
                                  velocity=_STEP_VELOCITY[ch]))
    if len(notes) > LIMITS.max_notes_per_clip:
        raise NotationError(f"more than {LIMITS.max_notes_per_clip} hits")
    clip = Clip(name="drums", notes=notes, length=round_up_to_bar(longest * step, ts), time_signature=ts,
                role="drums", is_drum=True)
    return Realization(clip=clip, kind="drums",
                       checks=[f"{len(rows)} drum rows, {longest} steps of {step:g} beats, {len(notes)} hits"])


# ---------------------------------------------------------------- ABC (through music21)

ABC_MAX_LENGTH_FACTOR = 64  # a note of 64 units (8 whole notes at L:1/8) is the longest taken


def _check_abc_limits(text: str) -> None:
    """What music21 would take minutes over, refused from the text first: metres beyond 32 beats or with an odd
    denominator, more notes or bars than a clip holds, note lengths in the millions."""
    for num, den in re.findall(r"^\s*M:\s*(\d+)\s*/\s*(\d+)", text, re.M):
        if not 1 <= int(num) <= 32 or int(den) not in (1, 2, 4, 8, 16, 32):
            raise NotationError(f"ABC metre M:{num}/{den}: liveloom takes 1 to 32 beats of 1, 2, 4, 8, 16 or 32")
    body = "\n".join(line for line in text.splitlines() if not re.match(r"^\s*[A-Za-z]:", line))
    body = re.sub(r'"[^"]*"|![^!]*!|%[^\n]*', "", body)  # chord symbols, decorations, comments
    notes = len(re.findall(r"[A-Ga-g]", body))
    if notes > LIMITS.max_notes_per_clip:
        raise NotationError(f"the ABC has about {notes:,} notes; a clip holds at most {LIMITS.max_notes_per_clip:,}")
    bars = body.count("|")
    if bars > LIMITS.max_clip_beats:
        raise NotationError(f"the ABC has {bars:,} bar lines; a clip holds at most {LIMITS.max_clip_beats:g} beats")
    for length in re.findall(r"[A-Ga-gzx][,']*(\d+)", body):
        if int(length[:9]) > ABC_MAX_LENGTH_FACTOR or len(length) > 9:
            raise NotationError(f"ABC note length {length[:12]} is longer than {ABC_MAX_LENGTH_FACTOR} units")


def _realize_abc(text: str) -> Realization:
    _check_abc_limits(text)
    try:
        from music21 import converter, meter
        from music21 import key as m21key
        from music21 import tempo as m21tempo
    except ImportError as exc:  # pragma: no cover - music21 is a dependency
        raise NotationError(f"ABC needs music21, which is not installed ({exc})") from None
    if not re.search(r"^\s*L:", text, re.M):
        # the ABC standard's default unit note length: 1/16 below 3/4 metre, else 1/8
        m = re.search(r"^\s*M:\s*(\d+)\s*/\s*(\d+)", text, re.M)
        unit = "1/16" if m and int(m.group(1)) / int(m.group(2)) < 0.75 else "1/8"
        text = re.sub(r"^(\s*K:)", f"L:{unit}\n\\1", text, count=1, flags=re.M)
    try:  # the text as data only: converter.parse would open it as a path (and cache a pickle) if it were one
        score = converter.parseData(text, format="abc")
    except Exception as exc:  # music21 raises many types for bad ABC
        raise NotationError(f"music21 could not read this ABC: {exc}") from None
    flat = score.stripTies().flatten()
    notes: list[Note] = []
    for el in flat.notes:
        start = float(el.offset)
        dur = float(el.quarterLength)
        if dur <= 0:
            continue  # grace notes have no length
        pitches = el.pitches if el.isChord else [el.pitch]
        for p in pitches:
            notes.append(Note(pitch=int(p.midi), start=start, duration=dur, velocity=90))
    if not notes:
        raise NotationError("the ABC has no notes; check the body after the K: line")
    ts = TimeSignature()
    sigs = flat.getElementsByClass(meter.TimeSignature)
    if sigs:
        ts = TimeSignature(numerator=sigs[0].numerator, denominator=sigs[0].denominator)
    keys = flat.getElementsByClass(m21key.KeySignature)
    key_text = None
    if keys:
        k = keys[0].asKey() if not isinstance(keys[0], m21key.Key) else keys[0]
        key_text = f"{k.tonic.name.replace('-', 'b')} {k.mode}"
    tempo_marks = flat.getElementsByClass(m21tempo.MetronomeMark)
    bpm = float(tempo_marks[0].getQuarterBPM()) if tempo_marks and tempo_marks[0].number else None
    title = score.metadata.title if score.metadata and score.metadata.title else "abc"
    end = max(n.end for n in notes)
    clip = Clip(name=title, notes=notes, length=round_up_to_bar(end, ts), time_signature=ts, key=key_text, tempo=bpm)
    return Realization(clip=clip, kind="abc", checks=[f"{len(notes)} notes read from ABC"])


DRUM_PITCHES = frozenset(GM_DRUMS.values())
