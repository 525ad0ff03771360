"""arrange: a song form (sections with bars and energy) -> a multi-track song; orchestrate: a clip spread over
an ensemble within each instrument's range.

Arranging rules (theory, from the style library — not a learned model):
* each section gets its progression (choruses and drops the style's chorus progressions); a section
  that recurs (verse 2) reuses the first one's material, with its melody varied;
* roles enter by energy: pad alone when calm, then drums (sparse grooves), bass, comped chords, lead in
  verses and choruses, a counter-melody in the fullest sections;
* chords are voice-led across section boundaries; drums play a fill in each section's last bar, a
  crash on each loud downbeat, rising patterns in builds, and nothing in breakdowns;
* the lead is written first and the comping voiced below its lowest note (no unison doubling, no crossing),
  the bass below the comping;
* velocities follow energy; every part stays inside its role's register.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from liveloom.music.checks import Check, check_role
from liveloom.music.errors import LiveloomError
from liveloom.music.harmony import describe_progression, progression_events
from liveloom.music.notes import no_overlaps, one_line
from liveloom.music.styles import Style
from liveloom.music.types import Clip, Note, PlacedClip, Section, Song, TimeSignature, Track

from .composer import REGISTERS, Request, comping_register, compose_role, fit_to_chords
from .generation import MAX_BARS, choose_progression, style_key_meter
from .variation import vary_notes

FORMS: dict[str, list[tuple[str, int, float]]] = {
    "pop": [("intro", 4, 0.3), ("verse", 8, 0.55), ("chorus", 8, 0.85), ("verse", 8, 0.6), ("chorus", 8, 0.9),
            ("bridge", 8, 0.5), ("chorus", 8, 1.0), ("outro", 4, 0.3)],
    "verse-chorus": [("verse", 8, 0.55), ("chorus", 8, 0.85), ("verse", 8, 0.6), ("chorus", 8, 0.9)],
    "edm": [("intro", 8, 0.35), ("build", 8, 0.6), ("drop", 16, 1.0), ("breakdown", 8, 0.2), ("build", 8, 0.7),
            ("drop", 16, 1.0), ("outro", 8, 0.35)],
    "aaba": [("A", 8, 0.5), ("A", 8, 0.6), ("B", 8, 0.75), ("A", 8, 0.65)],
    "loop": [("loop", 8, 0.7)],
}
LEAD_SECTIONS = {"verse", "chorus", "drop", "a", "b", "bridge", "loop", "hook", "refrain"}
CHORUS_LIKE = {"chorus", "drop", "hook", "refrain", "b"}
NO_DRUMS = {"breakdown"}
TRACKS = ("drums", "bass", "chords", "lead", "counter")


@dataclass
class SectionSpec:
    name: str
    bars: int
    energy: float
    progression: str | None = None

    @property
    def kind(self) -> str:
        return self.name.strip().lower().rstrip("0123456789 ").strip()


@dataclass
class Arrangement:
    song: Song
    checks: list[Check]
    sections: list[dict]
    details: list[str] = field(default_factory=list)


def form_sections(form: str | None, sections: list[SectionSpec] | None) -> list[SectionSpec]:
    if sections:
        return sections
    name = (form or "pop").strip().lower()
    if name not in FORMS:
        raise LiveloomError(f"unknown form {form!r}; use one of: {', '.join(FORMS)}, or give sections "
                            "[{name, bars, energy}]")
    return [SectionSpec(n, b, e) for n, b, e in FORMS[name]]


def arrange(*, style: str | None, key: str | None, tempo: float | None, time_signature: str | None,
            form: str | None, sections: list[SectionSpec] | None, seed: int = 0, density: float = 0.5,
            seed_clips: dict[str, Clip] | None = None, progression: str | None = None,
            roles: tuple[str, ...] = TRACKS) -> Arrangement:
    st, k, ts = style_key_meter(style, key, time_signature)
    secs = form_sections(form, sections)
    total_bars = sum(s.bars for s in secs)
    if total_bars > MAX_BARS:
        raise LiveloomError(f"the sections add up to {total_bars} bars; a song can have up to {MAX_BARS}. Shorten "
                            "sections or arrange the song in two parts")
    unknown = [r for r in roles if r not in TRACKS]
    if unknown or not roles:
        raise LiveloomError(f"unknown track roles {unknown}; choose from {', '.join(TRACKS)}")
    for s in secs:
        if s.bars < 1:
            raise LiveloomError(f"section {s.name!r} has {s.bars} bars; every section needs at least 1")
        if not 0 <= s.energy <= 1:
            raise LiveloomError(f"section {s.name!r} has energy {s.energy}; energy runs from 0 to 1")
    bpm = float(tempo) if tempo is not None else st.tempo_default
    if not 20 <= bpm <= 999:
        raise LiveloomError(f"tempo {bpm} is outside 20-999 BPM")
    seed_clips = seed_clips or {}
    bar = ts.beats_per_bar
    parts: dict[str, list[PlacedClip]] = {r: [] for r in roles}
    memory: dict[str, dict] = {}  # first occurrence of each section kind: its chords and melody
    song_sections: list[Section] = []
    described: list[dict] = []
    checks: list[Check] = []
    voicing = None
    pos = 0.0
    count: dict[str, int] = {}
    for idx, s in enumerate(secs):
        kind = s.kind
        count[kind] = count.get(kind, 0) + 1
        label = f"{s.name} {count[kind]}" if sum(x.kind == kind for x in secs) > 1 else s.name
        length = s.bars * bar
        remembered = memory.get(kind)
        text = s.progression or progression
        if text is None:
            text = remembered["text"] if remembered else choose_progression(
                st, k, seed + len(memory), "chorus" if kind in CHORUS_LIKE else None)
        try:
            chords = progression_events(text, k, ts, s.bars, cut=s.progression is None and progression is None)
        except ValueError as exc:
            raise LiveloomError(f"section {s.name!r}, progression {text!r}: {exc}") from None
        e = s.energy
        velocity = int(round(64 + 48 * e))
        plays = {
            "drums": e >= 0.25 and kind not in NO_DRUMS,
            "bass": e >= 0.4,
            "chords": True,
            "lead": kind in LEAD_SECTIONS or "lead" in seed_clips and kind not in ("intro", "outro", "breakdown"),
            "counter": e >= 0.8 and kind in CHORUS_LIKE | {"bridge", "b"},
        }
        made: dict[str, list[Note]] = {}
        for role in sorted(roles, key=lambda r: r != "lead"):  # the lead first: the comping goes under it
            if not plays[role]:
                continue
            compose_as = {"lead": "melody", "chords": "chords" if e >= 0.35 else "pad"}.get(role, role)
            register = REGISTERS[compose_as]
            if role == "lead" and kind in CHORUS_LIKE:
                register = (register[0] + 2, register[1] + 2)  # choruses sit higher
            if role == "chords":  # the comping (chords or pad) under the lead: below its lowest note
                lead = seed_clips.get("lead").notes if "lead" in seed_clips else made.get("lead")
                register = comping_register(min((n.pitch for n in lead), default=None) if lead
                                            else REGISTERS["melody"][0])
            if role in seed_clips:
                notes = _tile(seed_clips[role], length)
                made[role] = notes
                parts[role].append(_placed(notes, length, label, role, st, ts, k, bpm, pos))
                seeded = seed_clips[role]
                for c in check_role("drums" if role == "drums" else "seed", notes, length=length, bars=s.bars, ts=ts,
                                    key=k, chords=None if role == "drums" else chords,
                                    register=(min((n.pitch for n in seeded.notes), default=0),
                                              max((n.pitch for n in seeded.notes), default=127))):
                    checks.append(Check(f"{label} {role} (given clip): {c.name}", c.passed, c.detail))
                continue
            if role == "lead" and remembered and "lead" in remembered:
                notes = vary_notes(remembered["lead"], key=k, length=length, amount=0.15, seed=seed + idx, is_drum=False,
                                   lo=register[0], hi=register[1]) if count[kind] > 1 else remembered["lead"]
                notes = one_line(fit_to_chords([n for n in notes if n.start < length], chords, ts, *register, key=k))
            else:
                req = Request(role=compose_as, key=k, ts=ts, bars=s.bars, style=st, chords=chords, register=register,
                              tempo=bpm,
                              density=min(1.0, density * (0.6 + 0.8 * e)), energy=e, seed=seed + idx * 7,
                              velocity=velocity, fill_every=s.bars, voice_from=voicing,
                              drum_build=kind == "build")
                out = compose_role(req, melody=made.get("lead"))
                notes = out.notes
                if role == "chords":
                    voicing = out.last_voicing
            if role == "drums" and e >= 0.6 and idx > 0:  # a crash on the downbeat of a loud section
                notes = no_overlaps(notes + [Note(pitch=49, start=0.0, duration=0.5, velocity=min(127, velocity + 10))])
            made[role] = notes
            parts[role].append(_placed(notes, length, label, role, st, ts, k, bpm, pos))
            if role != "drums":
                for c in check_role(compose_as, notes, length=length, bars=s.bars, ts=ts, key=k, chords=chords,
                                    register=register):
                    checks.append(Check(f"{label} {role}: {c.name}", c.passed, c.detail))
            else:
                for c in check_role("drums", notes, length=length, bars=s.bars, ts=ts, key=k, chords=None,
                                    register=register):
                    checks.append(Check(f"{label} drums: {c.name}", c.passed, c.detail))
        if remembered is None:
            memory[kind] = {"text": text, **({"lead": made["lead"]} if "lead" in made else {})}
        song_sections.append(Section(name=label, start=pos, length=length, energy=e))
        described.append({"name": label, "start_bar": int(round(pos / bar)) + 1, "bars": s.bars, "energy": e,
                          "progression": text, "tracks": sorted(made), "chords": describe_progression(chords)})
        pos += length
    tracks = []
    for role in roles:
        if not parts[role]:
            continue
        program = None if role == "drums" else st.instruments.get({"lead": "melody"}.get(role, role))
        tracks.append(Track(name=role, role=role, instrument=program, is_drum=role == "drums", clips=parts[role]))
    song = Song(name=f"{st.name} in {k}", tempo=bpm, time_signature=ts, key=str(k), sections=song_sections,
                tracks=tracks)
    checks.append(Check("exact_bars", abs(song.length - total_bars * bar) < 1e-6,
                        f"{song.length / bar:g} bars, asked {total_bars}"))
    return Arrangement(song=song, checks=checks, sections=described)


def _tile(clip: Clip, length: float) -> list[Note]:
    out = []
    offset = 0.0
    while offset < length - 1e-9:
        for n in clip.notes:
            s = n.start + offset
            if s < length - 1e-9:
                out.append(n.model_copy(update={"start": round(s, 6), "duration": round(min(n.duration, length - s), 6)}))
        offset += clip.length
    return no_overlaps(out)


def _placed(notes: list[Note], length: float, label: str, role: str, st: Style, ts: TimeSignature, k, bpm: float,
            pos: float) -> PlacedClip:
    program = None if role == "drums" else st.instruments.get({"lead": "melody"}.get(role, role))
    clip = Clip(name=f"{label} {role}", notes=notes, length=length, tempo=bpm, time_signature=ts,
                key=None if role == "drums" else str(k), role=role, instrument=program, is_drum=role == "drums")
    return PlacedClip(start=pos, clip=clip)


# ------------------------------------------------------------------ orchestrate

# (name, General MIDI program, lowest, highest), top to bottom. Ranges are the instruments' practical ranges.
ENSEMBLES: dict[str, list[tuple[str, int, int, int]]] = {
    "string quartet": [("violin 1", 40, 55, 96), ("violin 2", 40, 55, 88), ("viola", 41, 48, 81), ("cello", 42, 36, 72)],
    "string orchestra": [("violins 1", 48, 55, 96), ("violins 2", 48, 55, 88), ("violas", 48, 48, 81),
                         ("cellos", 48, 36, 72), ("basses", 43, 28, 55)],
    "brass": [("trumpet 1", 56, 55, 82), ("trumpet 2", 56, 55, 79), ("horn", 60, 41, 77), ("trombone", 57, 40, 72),
              ("tuba", 58, 28, 58)],
    "big band": [("trumpets", 56, 58, 84), ("alto sax", 65, 49, 80), ("tenor sax", 66, 44, 75),
                 ("trombones", 57, 40, 72), ("baritone sax", 67, 36, 68), ("piano", 0, 33, 96), ("bass", 32, 28, 55)],
    "woodwind quintet": [("flute", 73, 60, 96), ("oboe", 68, 58, 91), ("clarinet", 71, 50, 89), ("horn", 60, 41, 77),
                         ("bassoon", 70, 34, 75)],
    "synth stack": [("lead", 81, 60, 96), ("pluck", 84, 55, 88), ("pad", 89, 48, 84), ("sub bass", 38, 24, 52)],
}


def orchestrate(clip: Clip, ensemble: str) -> tuple[Song, list[Check], list[str]]:
    """Spread a clip over an ensemble: at each onset the notes sounding are ranked top to bottom; the top line
    goes to the first instrument, the bass line to the last, inner notes to the inner instruments in order;
    an instrument with no note of its own doubles the nearest line an octave away where its range allows.
    Every note is moved by octaves into its instrument's range. Drums are not orchestrated."""
    name = " ".join(ensemble.lower().replace("_", " ").replace("-", " ").split())
    if name not in ENSEMBLES:
        raise LiveloomError(f"unknown ensemble {ensemble!r}; use one of: {', '.join(ENSEMBLES)}")
    if clip.is_drum:
        raise LiveloomError("that is a drum clip; orchestrate spreads pitched music over instruments")
    sounding = [n for n in clip.notes if not n.mute]
    if not sounding:
        raise LiveloomError("the clip has no sounding notes to orchestrate")
    inst = ENSEMBLES[name]
    n_inst = len(inst)
    parts: list[list[Note]] = [[] for _ in inst]
    groups: dict[float, list[Note]] = {}
    for n in sounding:
        groups.setdefault(round(n.start, 6), []).append(n)
    moved = doubled = 0
    onsets = sorted(groups)
    for t in onsets:
        # the chord at this onset: notes starting here plus notes still sounding from before
        here = sorted(groups[t], key=lambda n: -n.pitch)
        k = len(here)
        if k >= n_inst:
            slots = [[] for _ in inst]
            slots[0].append(here[0])
            slots[-1].append(here[-1])
            inner = here[1:-1]
            for i, n in enumerate(inner):
                j = 1 + (i * max(1, n_inst - 2)) // max(1, len(inner)) if n_inst > 2 else (0 if i % 2 == 0 else n_inst - 1)
                slots[min(n_inst - 2, j) if n_inst > 2 else j].append(n)
        else:
            slots = [[] for _ in inst]
            for i, n in enumerate(here):  # spread the k notes over the instruments, top and bottom first
                j = round(i * (n_inst - 1) / (k - 1)) if k > 1 else 0
                slots[j].append(n)
            own = [i for i in range(n_inst) if slots[i]]
            for j in range(n_inst):  # instruments left without a note double their nearest line
                if slots[j]:
                    continue
                nearest = min(own, key=lambda i: (abs(i - j), i))
                src = slots[nearest][0]
                slots[j].append(src)
                doubled += 1
        for j, notes in enumerate(slots):
            _, _, lo, hi = inst[j]
            for n in notes:
                p = n.pitch
                while p > hi:
                    p -= 12
                while p < lo:
                    p += 12
                if p > hi:  # a range narrower than an octave cannot hold it: skip rather than break the range
                    continue
                if p != n.pitch:
                    moved += 1
                parts[j].append(n.model_copy(update={"pitch": p}))
    tracks = []
    checks: list[Check] = []
    for (iname, program, lo, hi), notes in zip(inst, parts):
        notes = no_overlaps(notes)
        part = Clip(name=iname, notes=notes, length=clip.length, tempo=clip.tempo, time_signature=clip.time_signature,
                    key=clip.key, role="orchestra", instrument=program)
        tracks.append(Track(name=iname, role="orchestra", instrument=program, clips=[PlacedClip(clip=part)]))
        out = [x.pitch for x in notes if not lo <= x.pitch <= hi]
        checks.append(Check(f"{iname}: in_range", not out, f"{len(notes)} notes within {lo}-{hi}"
                            + (f"; {len(out)} outside" if out else "")))
    # every pitch class of the source at each onset is still heard
    lost = 0
    for t in onsets:
        src = {n.pitch % 12 for n in groups[t]}
        got = {n.pitch % 12 for tr in tracks for n in tr.clips[0].clip.notes if abs(n.start - t) < 1e-6}
        lost += len(src - got)
    checks.append(Check("harmony_kept", lost == 0, "every pitch class of the source is heard at its onset"
                        if not lost else f"{lost} pitch classes lost at onsets"))
    song = Song(name=f"{clip.name} for {name}", tempo=clip.tempo or 120.0, time_signature=clip.time_signature,
                key=clip.key, tracks=tracks)
    details = [f"{moved} notes moved by octaves into range", f"{doubled} doublings where the music had fewer "
               "lines than the ensemble has instruments"]
    return song, checks, details
