"""compose, as a function: read and validate a request, choose the engine, generate, check.

The MCP tool, the arranger and the benchmark all call `compose`. The engine is the trained
symbolic model (models/) where it knows the style and role — folk melodies (Essen, Irish tunes)
and four-part chorale harmony — and the theory composer (`composer`) everywhere else; `auto`
picks, and the result says which ran.

Every result carries one harmonic plan that the other parts follow: the progression given or chosen from the
style (the model writes over it with chord tones required on strong beats), or — for the model's own chords —
the progression read back from its notes.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Literal

from liveloom.music.analysis import progression_from_notes, progression_text
from liveloom.music.checks import Check, check_role
from liveloom.music.errors import LiveloomError
from liveloom.music.harmony import ChordEvent, closing_tones, progression_events
from liveloom.music.jobs import NO_JOB, Job
from liveloom.music.notes import fit_to_length, no_overlaps
from liveloom.music.styles import ROLES, Style, get_style
from liveloom.music.theory import Key, parse_key, parse_pitch
from liveloom.music.types import Clip, Note, TimeSignature

from .composer import MIN_SPAN, REGISTER_NAMES, REGISTERS, Request, compose_role, strong_beat

Engine = Literal["auto", "model", "theory"]
MAX_BARS = 256
# What the trained model knows: (library style, role) -> the model's style token.
MODEL_ROLES = {("folk", "melody"): "essen", ("chorale", "chords"): "chorale", ("chorale", "melody"): "chorale"}
# Four-part ranges below the top of the chords register (soprano, alto, tenor, bass): the textbook spacing, the
# soprano under the melody's register by default so that a lead written next sits above the chorale.
SATB_BELOW_TOP = {0: (-12, 0), 1: (-16, -4), 2: (-21, -9), 3: (-31, -14)}


def satb_ranges(top: int) -> dict[int, tuple[int, int]]:
    return {v: (top + a, top + b) for v, (a, b) in SATB_BELOW_TOP.items()}


@dataclass
class Composition:
    clip: Clip
    engine: str
    style: Style
    key: Key
    chords: list[ChordEvent]
    progression_text: str | None
    checks: list[Check]
    details: list[str] = field(default_factory=list)
    register: tuple[int, int] = (0, 127)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)


def parse_register(text: str | None, role: str) -> tuple[int, int]:
    """'low' / 'middle' / 'high' (an octave either way of the role's default) or a range 'C4-G5' / '60-79'."""
    lo, hi = REGISTERS[role]
    if text is None or not text.strip():
        return lo, hi
    t = text.strip().lower()
    if t in REGISTER_NAMES:
        shift = REGISTER_NAMES[t]
        return max(0, lo + shift), min(127, hi + shift)
    m = re.fullmatch(r"\s*([A-Ga-g][#b]?-?\d{1,2}|\d{1,3})\s*(?:-|\.\.|to)\s*([A-Ga-g][#b]?-?\d{1,2}|\d{1,3})\s*",
                     text)
    if not m:
        raise LiveloomError(f"register {text!r} is not 'low', 'middle', 'high' or a range like 'C4-G5' or '60-79'")
    try:
        a, b = parse_pitch(m.group(1)), parse_pitch(m.group(2))
    except ValueError as exc:
        raise LiveloomError(f"register {text!r}: {exc}") from None
    if b < a:
        raise LiveloomError(f"register {text!r} goes downward; write the low end first, e.g. 'C3-C5'")
    if b - a < MIN_SPAN[role]:
        raise LiveloomError(f"register {text!r} spans {b - a} semitones; {role} needs at least {MIN_SPAN[role]} "
                            f"(its voices cannot fit). Widen it, e.g. {_name(a)}-{_name(a + MIN_SPAN[role] + 3)}")
    return a, b


def _name(p: int) -> str:
    from liveloom.music.types import pitch_name

    return pitch_name(max(0, min(127, p)))


def resolve_key(key: str | None, style: Style) -> Key:
    return parse_key(key) if key else parse_key(f"C {style.mode}" if style.mode != "major" else "C major")


def style_key_meter(style: str | None, key: str | None, time_signature: str | None) -> tuple[Style, Key,
                                                                                           TimeSignature]:
    """The style, key and metre of a request (defaults from the style), or a clear error."""
    st = get_style(style)
    k = resolve_key(key, st)
    ts = TimeSignature.parse(time_signature or st.meter)
    return st, k, ts


def check_bars(bars: int) -> None:
    if not 1 <= bars <= MAX_BARS:
        raise LiveloomError(f"bars={bars}: ask for 1 to {MAX_BARS} bars (longer pieces: arrange sections)")


def choose_progression(style: Style, key: Key, seed: int, section: str | None = None) -> str:
    return random.Random(f"{seed}:progression:{style.name}:{section}").choice(style.progressions_for(key.mode, section))


def compose(role: str, *, key: str | None = None, bars: int = 8, tempo: float | None = None,
            time_signature: str | None = None, style: str | None = None, progression: str | None = None,
            density: float = 0.5, energy: float = 0.6, register: str | None = None, seed: int = 0,
            temperature: float = 0.8, engine: Engine = "auto", melody: list[Note] | None = None,
            models=None, name: str | None = None, job: Job = NO_JOB) -> Composition:
    if role not in ROLES:
        raise LiveloomError(f"unknown role {role!r}; use one of: {', '.join(ROLES)}")
    check_bars(bars)
    st, k, ts = style_key_meter(style, key, time_signature)
    lo_hi = parse_register(register, role)
    bpm = float(tempo) if tempo is not None else st.tempo_default
    model_style = MODEL_ROLES.get((_file_key(st), role))
    if st.learned:  # a learned style: its own network for the roles it heard, the library style it is like for others
        model_style = st.model_style if role in st.learned_roles else None
        if engine == "model" and model_style is None:
            raise LiveloomError(f"the learned style {st.name!r} heard no {role} part (it knows "
                                f"{', '.join(st.learned_roles) or 'no roles'}); use engine 'auto' to write it like "
                                "the library style it is like, or learn from music with that part")
    if engine == "model" and model_style is None:
        known = ", ".join(f"{r} in {s}" for s, r in MODEL_ROLES)
        raise LiveloomError(f"the trained model has no knowledge of {role} in {st.name}; it knows: {known}. "
                            "Use engine 'theory' or 'auto'")
    # auto: the model where it knows the style and role; a given progression conditions it (never a silent switch)
    use_model = model_style is not None and engine != "theory"
    text = progression or choose_progression(st, k, seed)
    try:
        chords = progression_events(text, k, ts, bars, cut=progression is None)
    except ValueError as exc:
        raise LiveloomError(f"progression {text!r}: {exc}") from None
    if use_model:
        # the model's chords without a progression are its own harmony, read back from the notes; a melody
        # (or chords over a given progression) follows the plan
        plan = None if role == "chords" and not progression else chords
        return _compose_with_model(role, st, k, ts, bars, bpm, lo_hi, density, seed, temperature, model_style,
                                   models, name, job, plan=plan, plan_text=text if plan else None)
    req = Request(role=role, key=k, ts=ts, bars=bars, style=st, chords=chords, register=lo_hi, density=density,
                  tempo=bpm,
                  energy=energy, seed=seed, temperature=temperature)
    out = compose_role(req, melody=melody)
    clip = Clip(name=name or f"{st.name} {role}", notes=out.notes, length=req.length, tempo=bpm, time_signature=ts,
                key=None if role == "drums" else str(k), role=role, is_drum=role == "drums",
                instrument=None if role == "drums" else st.instruments.get(role))
    checks = check_role(role, clip.notes, length=clip.length, bars=bars, ts=ts, key=k,
                        chords=None if role == "drums" else chords, register=lo_hi)
    return Composition(clip=clip, engine="theory: liveloom style library + rules (not a learned model)", style=st,
                       key=k, chords=chords, progression_text=text, checks=checks, details=out.details,
                       register=lo_hi)


def _file_key(st: Style) -> str:
    return st.file.removesuffix(".toml")


def harmony_constraint(chords: list[ChordEvent], ts: TimeSignature) -> dict:
    """A progression as the model's harmony constraint: each chord's span in ticks, its tones and bass, and the
    ticks where a note must be a chord tone — each chord's first tick and the strong beats (`strong_beat`) — and
    where one must start (each chord's first tick)."""
    from liveloom.models import tokenizer as T

    tq = T.TICKS_PER_QUARTER
    spans = tuple((round(c.start * tq), round(c.end * tq), frozenset(c.pcs), c.spec.bass) for c in chords)
    strong = {a for a, _, _, _ in spans}
    end = max((b for _, b, _, _ in spans), default=0)
    beat = 0.5 if ts.denominator == 8 else 4.0 / ts.denominator
    t = 0.0
    while round(t * tq) < end:
        if strong_beat(t, ts):
            strong.add(round(t * tq))
        t += beat
    return {"harmony": spans, "harmony_strong": frozenset(strong), "onsets": frozenset(a for a, _, _, _ in spans)}


def melody_anchors(chords: list[ChordEvent], key: Key) -> dict:
    """The model's melody held to the notes a tune is heard by (as the theory composer writes them), as
    Constraints fields: on the tonic chord its first note is the tonic, and its last note starts where the last
    chord does, on the tone it comes to rest on (closing_tones)."""
    from liveloom.models import tokenizer as T

    tq = T.TICKS_PER_QUARTER
    closing = round(chords[-1].start * tq)
    at = {closing: frozenset(closing_tones(key, chords[-1]))}
    if chords[0].spec.root == key.tonic:
        at[round(chords[0].start * tq)] = frozenset({key.tonic})
    return {"pitch_classes_at": at, "last_onset": closing}


def _compose_with_model(role: str, st: Style, k: Key, ts: TimeSignature, bars: int, bpm: float,
                        register: tuple[int, int], density: float, seed: int, temperature: float, model_style: str,
                        models, name: str | None, job: Job = NO_JOB, plan: list[ChordEvent] | None = None,
                        plan_text: str | None = None) -> Composition:
    from liveloom.models import tokenizer as T
    from liveloom.models.convert import meter_ticks, piece_notes
    from liveloom.models.generate import Constraints

    if models is None:  # pragma: no cover - the server always passes its hub
        raise LiveloomError("no model hub available")
    meter = meter_ticks(ts)
    if meter not in T.METERS:
        raise LiveloomError(f"the model writes bars of 1 to 8 quarter notes; {ts} is not one — use engine 'theory'")
    if bars > 32:
        raise LiveloomError("the model writes up to 32 bars at a time; ask for fewer bars or use engine 'theory'")
    scale = frozenset(k.written_pitch_classes())
    voices = 4 if role == "chords" and not st.learned else 1
    if voices == 4:
        ranges = satb_ranges(register[1])
        register = (min(lo for lo, _ in ranges.values()), max(hi for _, hi in ranges.values()))
    else:
        ranges = {0: register}
    if st.learned and role == "drums":  # the kit the producer's drums used, on one voice
        if not st.learned_kit:
            raise LiveloomError(f"the learned style {st.name!r} has no drum notes to write with")
        constraints = Constraints(kit=frozenset(st.learned_kit), max_polyphony=4)
        plan = None
    elif st.learned and role in ("chords", "pad"):  # comping as the producer's tracks hold it: chord stacks, one voice
        plan_rules = harmony_constraint(plan, ts) if plan else {}
        if plan_rules:  # comping plays the chord: every note a chord tone, not only those on strong beats
            plan_rules["harmony_strong"] = frozenset(range(bars * meter))
        constraints = Constraints(scale=scale, pitch_range=register, max_polyphony=5, **plan_rules)
    else:
        rules = harmony_constraint(plan, ts) if plan else {}
        if plan and role == "melody":  # the tune starts at home and closes on its resting tone (closing_tones)
            rules |= melody_anchors(plan, k)
        constraints = Constraints(scale=scale, pitch_range=register, voice_ranges=ranges, max_polyphony=voices,
                                  **rules)
    lo_n, hi_n = st.notes_per_bar  # density within the style's range, as the theory engine reads it
    per_bar = lo_n + density * (hi_n - lo_n)  # notes per bar per voice
    header = T.Header(style=model_style, key_tonic=k.tonic, key_minor=k.is_minor, meter_ticks=meter,
                      tempo=T.tempo_band(bpm), voices=voices, density=T.density_bin(per_bar))
    model = models.for_style(st.learned)
    gen = model.generate(header, bars, constraints=constraints, seed=seed, temperature=max(0.1, temperature), job=job)
    drums = role == "drums"
    notes = [n.model_copy(update={"velocity": 96 if v == 0 else 80}) for v, n in piece_notes(gen.piece)]
    length = bars * ts.beats_per_bar
    notes = no_overlaps(fit_to_length(notes, length))
    if constraints.last_onset is not None and notes:  # the closing note held through the last chord
        last = max(range(len(notes)), key=lambda i: notes[i].start)
        notes[last] = notes[last].model_copy(update={"duration": round(plan[-1].end - notes[last].start, 6)})
    clip = Clip(name=name or f"{st.name} {role}", notes=notes, length=length, tempo=bpm, time_signature=ts,
                key=None if drums else str(k), role=role, is_drum=drums,
                instrument=None if drums else st.instruments.get(role))
    if drums:
        checks = check_role("drums", notes, length=length, bars=bars, ts=ts, key=k, chords=None, register=register)
        return Composition(clip=clip, engine=_engine_name(model, st, model_style), style=st, key=k, chords=[],
                           progression_text=None, checks=checks, register=register,
                           details=[f"{len(gen.tokens)} tokens in {gen.seconds:.2f} s",
                                    f"the learned kit: {len(st.learned_kit)} drum notes, up to 4 at once"])
    if plan:
        chords, text = plan, plan_text
        how = f"written over the progression {text} (" + ("every note a chord tone" if constraints.harmony_strong
                                                          and len(constraints.harmony_strong) == bars * meter
                                                          else "chord tones required on strong beats")
        how += ", the chord's bass in the lowest voice at each change)" if voices > 1 else ")"
    else:
        chords = progression_from_notes(notes, ts, length)
        text = progression_text(chords, ts)
        how = f"the model's own harmony, read back from its notes beat by beat: {text} (pass it on so the parts fit)"
    checks = check_role(role if voices == 1 else "model chords", notes, length=length, bars=bars, ts=ts,
                        key=k, chords=plan, register=register)
    engine = _engine_name(model, st, model_style)
    details = [f"{len(gen.tokens)} tokens in {gen.seconds:.2f} s", "constraints applied while sampling: scale, register"
               + (f", SATB ranges under {_name(register[1])}, 4 voices" if voices == 4 else ", one note at a time"
                  if constraints.max_polyphony == 1 else f", up to {constraints.max_polyphony} notes at once"), how]
    return Composition(clip=clip, engine=engine, style=st, key=k, chords=chords, progression_text=text, checks=checks,
                       details=details, register=register)


def _engine_name(model, st: Style, model_style: str) -> str:
    if st.learned:
        return (f"model: liveloom symbolic transformer ({model.parameters / 1e6:.1f}M parameters) fine-tuned on "
                f"the producer's music as learned style '{st.name}', on {model.device}")
    return (f"model: liveloom symbolic transformer ({model.parameters / 1e6:.1f}M parameters, "
            f"{model.folder.name}) on {model.device}, style '{model_style}'")
