"""The style library: what liveloom knows about each genre, authored as data.

One TOML file per genre in `style_library/` holds progressions (roman numerals, per mode and per
section), drum grooves (step grids), bass patterns, comping rhythms, arpeggio patterns, melody
rhythms and range, tempo range, swing, and General MIDI instruments per role. This module reads
and validates them; `composer` and `arranger` realise them. Nothing here is learned — where the
trained model knows a style (`model_style`), compose uses the model for it.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .errors import LiveloomError

LIBRARY = Path(__file__).with_name("style_library")
ROLES = ("melody", "counter", "chords", "pad", "bass", "arpeggio", "drums")


@dataclass(frozen=True)
class Patterns:
    step: float
    main: tuple[str, ...]
    sparse: tuple[str, ...] = ()
    full: tuple[str, ...] = ()
    fill: tuple[str, ...] = ()
    build: tuple[str, ...] = ()


@dataclass(frozen=True)
class Style:
    name: str
    file: str
    aliases: tuple[str, ...]
    description: str
    tempo: tuple[float, float]
    tempo_default: float
    meter: str
    mode: str
    swing: float
    model_style: str | None
    progressions: dict[str, tuple[str, ...]]
    drums: Patterns
    bass: Patterns
    comp: Patterns
    arpeggio: Patterns
    melody_range: tuple[int, int]
    notes_per_bar: tuple[float, float]
    melody_rhythms: tuple[str, ...]
    leap: float
    counter_rhythms: tuple[str, ...]
    instruments: dict[str, int] = field(default_factory=dict)
    # drum feel: milliseconds each family plays off the grid (+ late, laid back; - early, pushing), the spread
    # of a drummer's timing, and the share of bars with a hi-hat roll (32nds or 16th triplets)
    drum_push_ms: dict[str, float] = field(default_factory=dict)
    drum_jitter_ms: float = 3.0
    hat_rolls: float = 0.0
    # reharmonization: the share of chords that become secondary dominants and tritone substitutes, and of chords
    # that carry an extension (9, 11, 13) chosen by their function
    harmony: dict[str, float] = field(default_factory=dict)
    melody_form: str = "ABAC"  # 2-bar ideas per 8 bars: a letter again restates that idea on the chords there
    melody_span: int = 14  # the melody's working range in semitones (an octave and a bit in songs)
    # a style learned from a producer's music (learn_style): the folder of its network, the roles it writes, the
    # drum notes of its kit; everything else (progressions, patterns, instruments) is the library style it is like
    learned: str | None = None
    learned_roles: tuple[str, ...] = ()
    learned_kit: tuple[int, ...] = ()

    def progressions_for(self, mode: str, section: str | None = None) -> tuple[str, ...]:
        """Progressions for a mode (and a section such as 'chorus'), falling back to the mode's family:
        dorian/phrygian/minor-ish modes use the minor list, lydian/mixolydian the major list."""
        family = "minor" if mode in ("minor", "dorian", "phrygian", "locrian", "harmonic minor",
                                     "melodic minor") else "major"
        keys = []
        if section:
            keys += [f"{section}_{mode}", f"{section}_{family}"]
        keys += [mode, family]
        for k in keys:
            if self.progressions.get(k):
                return self.progressions[k]
        raise LiveloomError(f"style {self.name} has no progression for {mode}")  # pragma: no cover - library checked


def _patterns(raw: dict, what: str, file: str) -> Patterns:
    try:
        return Patterns(step=float(raw["step"]), main=tuple(raw.get("main") or raw["patterns"]),
                        sparse=tuple(raw.get("sparse", ())), full=tuple(raw.get("full", ())),
                        fill=tuple(raw.get("fill", ())), build=tuple(raw.get("build", ())))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{file}: [{what}] needs step and patterns (or main): {exc}") from None


def _load(path: Path) -> Style:
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    mel = raw["melody"]
    return Style(
        name=raw["name"], file=path.name, aliases=tuple(a.lower() for a in raw.get("aliases", [raw["name"]])),
        description=raw["description"], tempo=tuple(raw["tempo"]), tempo_default=float(raw["tempo_default"]),
        meter=raw.get("meter", "4/4"), mode=raw["mode"], swing=float(raw.get("swing", 0.5)),
        model_style=raw.get("model_style") or None,
        progressions={k: tuple(v) for k, v in raw["progressions"].items()},
        drums=_patterns(raw["drums"], "drums", path.name), bass=_patterns(raw["bass"], "bass", path.name),
        comp=_patterns(raw["comp"], "comp", path.name), arpeggio=_patterns(raw["arpeggio"], "arpeggio", path.name),
        melody_range=tuple(mel["range"]), notes_per_bar=tuple(mel["notes_per_bar"]),
        melody_rhythms=tuple(mel["rhythms"]), leap=float(mel.get("leap", 0.2)),
        counter_rhythms=tuple(raw.get("counter", {}).get("rhythms", ["x---------------"])),
        instruments={k: int(v) for k, v in raw.get("instruments", {}).items()},
        melody_form=_form(mel.get("form", "ABAC"), path.name), melody_span=int(mel.get("span", 14)),
        harmony={k: float(v) for k, v in raw.get("harmony", {}).items()},
        drum_push_ms={k: float(v) for k, v in raw["drums"].get("push_ms", {}).items()},
        drum_jitter_ms=float(raw["drums"].get("jitter_ms", 3.0)), hat_rolls=float(raw["drums"].get("hat_rolls", 0.0)),
    )


def _form(text: str, file: str) -> str:
    form = text.replace(" ", "").upper()
    if len(form) != 4 or not form.isalpha() or form[0] != "A":
        raise ValueError(f"{file}: [melody] form {text!r} must be four letters starting with A (2-bar ideas per "
                         "8 bars, e.g. 'AABA')")
    return form


@functools.cache
def library() -> dict[str, Style]:
    """Every style in the library, by its file's stem (pop, rock, house, lofi, ...)."""
    return {p.stem: _load(p) for p in sorted(LIBRARY.glob("*.toml"))}


def style_names() -> list[str]:
    return sorted(library())


def get_style(name: str | Style | None) -> Style:
    """A style by name or alias ('lo-fi', 'hip hop', 'bossa nova', 'techno' ...); None means pop; a Style (a learned
    one, see learned_style) is itself."""
    if isinstance(name, Style):
        return name
    if name is None:
        return library()["pop"]
    wanted = " ".join(name.strip().lower().replace("_", " ").split())
    for key, style in library().items():
        if wanted == key or wanted in style.aliases or wanted == style.name:
            return style
    raise LiveloomError(f"unknown style {name!r}; the style library has: {', '.join(style_names())} "
                        "(aliases such as 'lo-fi', 'hip-hop', 'techno', 'bossa nova', 'irish' work too)")


ROLE_OF_TRACK = {"melody": ("melody",), "chords": ("chords", "pad"), "bass": ("bass",), "drums": ("drums",)}


def learned_style(card: dict, model_folder: str) -> Style:
    """A learned style (its card as learn_style writes it) as a Style: the library style it is like, with the
    tempo, metre, mode, melody range and density of the producer's music, and its network for the roles it heard."""
    import dataclasses
    import statistics

    base = get_style(card.get("like") or "pop")
    knows = card.get("knows", {})
    tempos = knows.get("tempo") or {}
    lo, hi = tempos.get("low"), tempos.get("high")
    mel = knows.get("melody") or {}
    modes = knows.get("modes") or {}
    meters = knows.get("meters") or {}
    roles: list[str] = []
    for track_role in knows.get("roles", {}):
        roles += ROLE_OF_TRACK.get(track_role, ())
    return dataclasses.replace(
        base, name=card["name"], file=f"learned:{card['name']}", aliases=(card["name"].lower(),),
        description=f"learned from {card.get('sources', {}).get('count', '?')} pieces; otherwise like {base.name}",
        tempo=(float(lo), float(hi)) if lo and hi else base.tempo,
        tempo_default=float(tempos.get("median") or base.tempo_default),
        meter=max(meters, key=meters.get) if meters else base.meter,
        mode=("minor" if modes.get("minor", 0) > modes.get("major", 0) else "major") if modes else base.mode,
        model_style="other",
        melody_range=tuple(mel["range"]) if mel.get("range") else base.melody_range,
        notes_per_bar=(max(0.5, statistics.fmean(mel["notes_per_bar"]) * 0.7),
                       statistics.fmean(mel["notes_per_bar"]) * 1.3) if mel.get("notes_per_bar") else base.notes_per_bar,
        learned=model_folder, learned_roles=tuple(dict.fromkeys(roles)),
        learned_kit=tuple(sorted(int(p) for p in knows.get("kit", {}))))
