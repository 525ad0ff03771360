"""Pitch names, keys, chord symbols and roman numerals — small pure functions.

Every parser raises `ValueError` with a message that says what was expected; callers add the
token's position. A parsed chord is a `ChordSpec`: root and bass pitch classes, the chord's
intervals above the root, and the symbol it was read from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import NotationError

_LETTER_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_ACCIDENTAL = {"#": 1, "♯": 1, "b": -1, "♭": -1, "x": 2, "##": 2, "bb": -2}

SCALES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "locrian": (0, 1, 3, 5, 6, 8, 10),
    "harmonic minor": (0, 2, 3, 5, 7, 8, 11),
    "melodic minor": (0, 2, 3, 5, 7, 9, 11),
}
_MODE_ALIASES = {
    "": "major", "maj": "major", "major": "major", "ionian": "major", "m": "minor", "min": "minor",
    "minor": "minor", "aeolian": "minor", "dorian": "dorian", "phrygian": "phrygian", "lydian": "lydian",
    "mixolydian": "mixolydian", "locrian": "locrian", "harmonic minor": "harmonic minor",
    "melodic minor": "melodic minor",
}


def parse_pitch_class(text: str) -> int:
    """'C' -> 0, 'F#' -> 6, 'Bb' -> 10."""
    m = re.fullmatch(r"([A-Ga-g])(##|bb|#|b|♯|♭|x)?", text.strip())
    if not m:
        raise NotationError(f"{text!r} is not a note name like C, F# or Bb")
    return (_LETTER_PC[m.group(1).upper()] + _ACCIDENTAL.get(m.group(2) or "", 0)) % 12


_PITCH_RE = re.compile(r"([A-Ga-g])(##|bb|#|b|♯|♭)?(-?\d{1,2})")


def parse_pitch(text: str) -> int:
    """Scientific pitch name or MIDI number: 'C4' -> 60, 'Bb3' -> 58, '61' -> 61."""
    t = text.strip()
    if re.fullmatch(r"\d{1,3}", t):
        value = int(t)
    else:
        m = _PITCH_RE.fullmatch(t)
        if not m:
            raise NotationError(f"{text!r} is not a pitch like C4, F#3, Bb5 or a MIDI number 0-127")
        pc = _LETTER_PC[m.group(1).upper()] + _ACCIDENTAL.get(m.group(2) or "", 0)
        value = (int(m.group(3)) + 1) * 12 + pc
    if not 0 <= value <= 127:
        raise NotationError(f"{text!r} is outside the MIDI range C-1..G9 (0-127)")
    return value


@dataclass(frozen=True)
class Key:
    tonic: int  # pitch class
    mode: str  # a name in SCALES
    tonic_name: str

    @property
    def scale(self) -> tuple[int, ...]:
        return SCALES[self.mode]

    @property
    def is_minor(self) -> bool:
        return self.scale[2] == 3

    def pitch_classes(self) -> set[int]:
        return {(self.tonic + s) % 12 for s in self.scale}

    def written_pitch_classes(self) -> set[int]:
        """The pitch classes music in this key is written with: the scale, and in minor also the raised 6th and
        7th (melodic and harmonic minor)."""
        pcs = self.pitch_classes()
        if self.mode == "minor":
            pcs |= {(self.tonic + 9) % 12, (self.tonic + 11) % 12}
        return pcs

    def __str__(self) -> str:
        return f"{self.tonic_name} {self.mode}"


def parse_key(text: str) -> Key:
    """'Bb' / 'Bb major' / 'D minor' / 'Dm' / 'F# dorian' / 'c' (lower case = minor)."""
    t = text.strip().replace("♭", "b").replace("♯", "#")
    m = re.fullmatch(r"([A-Ga-g])(#|b)?\s*(.*)", t)
    if not m:
        raise NotationError(f"key {text!r} is not like 'Bb major', 'D minor', 'Dm' or 'F# dorian'")
    mode_text = m.group(3).strip().lower()
    if mode_text not in _MODE_ALIASES:
        raise NotationError(f"unknown mode {m.group(3)!r} in key {text!r}; use one of: {', '.join(SCALES)}")
    mode = _MODE_ALIASES[mode_text]
    if not mode_text and m.group(1).islower():
        mode = "minor"
    name = m.group(1).upper() + (m.group(2) or "")
    return Key(tonic=parse_pitch_class(name), mode=mode, tonic_name=name)


# ---------------------------------------------------------------- chord symbols

# quality suffix -> intervals above the root. Longest match wins.
_QUALITIES: dict[str, tuple[int, ...]] = {
    "": (0, 4, 7), "maj": (0, 4, 7), "M": (0, 4, 7),
    "m": (0, 3, 7), "min": (0, 3, 7), "-": (0, 3, 7),
    "dim": (0, 3, 6), "o": (0, 3, 6), "°": (0, 3, 6),
    "aug": (0, 4, 8), "+": (0, 4, 8),
    "sus2": (0, 2, 7), "sus4": (0, 5, 7), "sus": (0, 5, 7),
    "5": (0, 7),
    "6": (0, 4, 7, 9), "m6": (0, 3, 7, 9), "min6": (0, 3, 7, 9), "69": (0, 4, 7, 9, 14), "6/9": (0, 4, 7, 9, 14),
    "m69": (0, 3, 7, 9, 14),
    "7": (0, 4, 7, 10), "dom7": (0, 4, 7, 10),
    "maj7": (0, 4, 7, 11), "M7": (0, 4, 7, 11), "Δ": (0, 4, 7, 11), "Δ7": (0, 4, 7, 11), "ma7": (0, 4, 7, 11),
    "m7": (0, 3, 7, 10), "min7": (0, 3, 7, 10), "-7": (0, 3, 7, 10),
    "mmaj7": (0, 3, 7, 11), "mMaj7": (0, 3, 7, 11), "m(maj7)": (0, 3, 7, 11), "mM7": (0, 3, 7, 11),
    "m7b5": (0, 3, 6, 10), "ø": (0, 3, 6, 10), "ø7": (0, 3, 6, 10), "min7b5": (0, 3, 6, 10),
    "dim7": (0, 3, 6, 9), "o7": (0, 3, 6, 9), "°7": (0, 3, 6, 9),
    "aug7": (0, 4, 8, 10), "+7": (0, 4, 8, 10), "7#5": (0, 4, 8, 10), "7+5": (0, 4, 8, 10),
    "7sus4": (0, 5, 7, 10), "7sus": (0, 5, 7, 10), "7sus2": (0, 2, 7, 10),
    "9": (0, 4, 7, 10, 14), "maj9": (0, 4, 7, 11, 14), "M9": (0, 4, 7, 11, 14), "m9": (0, 3, 7, 10, 14),
    "min9": (0, 3, 7, 10, 14), "9sus4": (0, 5, 7, 10, 14),
    "add9": (0, 4, 7, 14), "add2": (0, 2, 4, 7), "madd9": (0, 3, 7, 14), "add4": (0, 4, 5, 7), "add11": (0, 4, 7, 17),
    "11": (0, 4, 7, 10, 14, 17), "m11": (0, 3, 7, 10, 14, 17), "maj11": (0, 4, 7, 11, 14, 17),
    "13": (0, 4, 7, 10, 14, 21), "maj13": (0, 4, 7, 11, 14, 21), "m13": (0, 3, 7, 10, 14, 21),
    "7alt": (0, 4, 10, 13, 15, 20),
}
_QUALITY_KEYS = sorted(_QUALITIES, key=len, reverse=True)
_ALTERATION_RE = re.compile(r"\(?(b|#|add|no)(2|3|4|5|6|9|11|13)\)?")
_DEGREE_INTERVAL = {2: 2, 3: 4, 4: 5, 5: 7, 6: 9, 9: 14, 11: 17, 13: 21}


@dataclass(frozen=True)
class ChordSpec:
    root: int  # pitch class
    intervals: tuple[int, ...]  # above the root, sorted, may exceed 12 for extensions
    bass: int  # pitch class of the lowest note
    symbol: str

    @property
    def pitch_classes(self) -> set[int]:
        return {(self.root + i) % 12 for i in self.intervals} | {self.bass}


_ROOT_RE = re.compile(r"([A-G])(#|b|♯|♭)?")


def parse_chord_symbol(text: str) -> ChordSpec:
    """Cmaj7, F#m7b5, Bb/D, Csus4, Cadd9, G7b9, E7#9, Am(maj7), C6/9, Dm11 ..."""
    t = text.strip()
    m = _ROOT_RE.match(t)
    if not m:
        raise NotationError(f"{text!r} does not start with a chord root A-G (with # or b)")
    root = parse_pitch_class(m.group(0))
    rest = t[m.end():]
    bass = root
    if "/" in rest and not rest.endswith("6/9") and rest.rsplit("/", 1)[1][:1].isalpha():
        rest, bass_text = rest.rsplit("/", 1)
        try:
            bass = parse_pitch_class(bass_text)
        except ValueError:
            raise NotationError(f"bass note {bass_text!r} after '/' in {text!r} is not a note name") from None
    quality = next((q for q in _QUALITY_KEYS if rest.startswith(q)), "")
    intervals = set(_QUALITIES[quality])
    tail = rest[len(quality):]
    pos = 0
    while pos < len(tail):
        am = _ALTERATION_RE.match(tail, pos)
        if not am:
            raise NotationError(
                f"cannot read {tail[pos:]!r} in chord {text!r}; qualities look like m, 7, maj7, m7b5, dim7, sus4, "
                "add9, 9, 13, with alterations b9 #9 #11 b13 b5 #5"
            )
        op, degree = am.group(1), int(am.group(2))
        base = _DEGREE_INTERVAL.get(degree)
        if base is None:
            raise NotationError(f"no chord degree {degree} in {text!r}")
        if op == "no":
            intervals -= {base, base - 1, base + 1} if degree in (3, 5) else {base}
        elif op == "add":
            intervals.add(base)
        else:
            delta = -1 if op == "b" else 1
            if degree == 5:
                intervals.discard(7)
            if degree in (9, 11, 13) and 10 not in intervals and 11 not in intervals:
                intervals.add(10)  # an altered tension implies the dominant seventh
            intervals.add(base + delta)
        pos = am.end()
    return ChordSpec(root=root, intervals=tuple(sorted(intervals)), bass=bass, symbol=t)


# ---------------------------------------------------------------- roman numerals

_ROMAN_RE = re.compile(
    r"(?P<acc>b|#|♭|♯)?(?P<num>VII|VI|IV|V|III|II|I|vii|vi|iv|v|iii|ii|i)"
    r"(?P<qual>°|o|ø|\+)?(?P<fig>maj7|M7|add9|7|9|11|13|6/4|64|65|6/5|43|4/3|42|4/2|2|6)?"
    r"(?P<sus>sus4|sus2)?$"
)
_ROMAN_DEGREE = {"i": 0, "ii": 1, "iii": 2, "iv": 3, "v": 4, "vi": 5, "vii": 6}
_ROMAN_TOKEN_RE = re.compile(r"^(b|#|♭|♯)?(VII|VI|IV|V|III|II|I|vii|vi|iv|v|iii|ii|i)(?![a-hj-uw-z])")


def looks_like_roman(token: str) -> bool:
    return bool(_ROMAN_TOKEN_RE.match(token.split("/")[0]))


def _parse_one_roman(text: str, key: Key) -> tuple[int, tuple[int, ...], int, str]:
    """-> (root pc, intervals, inversion index, figure) for a roman numeral without '/'."""
    m = _ROMAN_RE.match(text)
    if not m:
        raise NotationError(
            f"{text!r} is not a roman numeral like I, ii7, V7, viio7, iiø7, bVII, V65, IV6, Imaj7"
        )
    num, qual, fig = m.group("num"), m.group("qual") or "", m.group("fig") or ""
    degree = _ROMAN_DEGREE[num.lower()]
    scale = key.scale
    root = key.tonic + scale[degree]
    if key.is_minor and degree == 6 and (num.islower() or qual in ("o", "°", "ø")):
        root = key.tonic + 11  # leading-tone chord in minor
    acc = m.group("acc")
    if acc in ("b", "♭"):
        root -= 1
    elif acc in ("#", "♯"):
        root += 1
    root %= 12

    if qual in ("o", "°", "ø"):
        triad = (0, 3, 6)
    elif qual == "+":
        triad = (0, 4, 8)
    else:
        triad = (0, 4, 7) if num.isupper() else (0, 3, 7)
    intervals = list(triad)
    seventh_figs = {"7", "65", "6/5", "43", "4/3", "42", "4/2", "2", "9", "11", "13"}
    if fig == "maj7":
        intervals.append(11)
    elif fig in seventh_figs or qual == "ø":
        if qual in ("o", "°") and fig:
            intervals.append(9)  # fully diminished seventh
        elif qual == "ø":
            intervals.append(10)
        else:
            # the seventh the key's scale gives above this root (V7 -> dominant, IV7 in major -> maj7)
            scale_pcs = key.pitch_classes()
            if acc in ("b", "♭"):  # borrowed chords take their seventh from the parallel minor
                scale_pcs = {(key.tonic + i) % 12 for i in SCALES["minor"]}
            if key.is_minor:
                scale_pcs |= {(key.tonic + 11) % 12}
            minor7, major7 = (root + 10) % 12, (root + 11) % 12
            if num.isupper() and triad == (0, 4, 7) and degree == 4:
                intervals.append(10)  # V7 is dominant in major and (harmonic) minor
            elif major7 in scale_pcs and minor7 not in scale_pcs:
                intervals.append(11)
            else:
                intervals.append(10)
        if fig == "9":
            intervals.append(14)
        elif fig == "11":
            intervals += [14, 17]
        elif fig == "13":
            intervals += [14, 21]
    elif fig == "add9":
        intervals.append(14)
    sus = m.group("sus")
    if sus:
        intervals = [i for i in intervals if i not in (3, 4)] + [5 if sus == "sus4" else 2]
    inversion = {"6": 1, "64": 2, "6/4": 2, "65": 1, "6/5": 1, "43": 2, "4/3": 2, "42": 3, "4/2": 3, "2": 3}.get(fig, 0)
    return root, tuple(sorted(intervals)), inversion, fig


def parse_roman(text: str, key: Key) -> ChordSpec:
    """Roman numeral in a key: 'ii7' in Bb -> Cm7; 'V7/V' -> secondary dominant; 'V65' -> first inversion."""
    t = text.strip()
    parts = t.split("/")
    if len(parts) > 1 and looks_like_roman(parts[-1]) and parts[-1] not in ("4", "5", "3", "2"):
        # secondary function: interpret the left part in the key of the right part's root (major or minor)
        target_text = parts[-1]
        primary = "/".join(parts[:-1])
        t_root, t_iv, _, _ = _parse_one_roman(target_text, key)
        target_mode = "minor" if 3 in t_iv and 4 not in t_iv else "major"
        local = Key(tonic=t_root, mode=target_mode, tonic_name="")
        root, intervals, inversion, _ = _parse_one_roman(primary, local)
    else:
        root, intervals, inversion, _ = _parse_one_roman(t, key)
    chord_tones = [i for i in intervals if i < 12]
    bass = (root + chord_tones[min(inversion, len(chord_tones) - 1)]) % 12 if inversion else root
    return ChordSpec(root=root, intervals=intervals, bass=bass, symbol=t)


_CANONICAL = (
    "", "m", "dim", "aug", "sus2", "sus4", "5", "6", "m6", "69", "7", "maj7", "m7", "mMaj7", "m7b5", "dim7",
    "aug7", "7sus4", "9", "maj9", "m9", "add9", "madd9", "11", "m11", "13", "maj13", "m13", "7alt",
)
_TENSION_NAMES = {13: "b9", 14: "9", 15: "#9", 17: "11", 18: "#11", 20: "b13", 21: "13"}
_NAME_OF_INTERVALS = {_QUALITIES[q]: q for q in _CANONICAL}


LETTERS = "CDEFGAB"
_NATURALS = (0, 2, 4, 5, 7, 9, 11)
# letter steps above a chord's root for each interval (a third two letters up, a fifth four, a seventh six)
_STEPS = {0: 0, 1: 1, 2: 1, 3: 2, 4: 2, 5: 3, 6: 4, 7: 4, 8: 4, 9: 5, 10: 6, 11: 6}


def spell(pc: int, letter: int) -> str | None:
    """Pitch class `pc` written on letter index `letter` (0 = C): 'F#', 'Gb', 'E#', 'Bbb'; None beyond a double
    accidental."""
    diff = (pc - _NATURALS[letter % 7]) % 12
    diff = diff - 12 if diff > 6 else diff
    acc = {0: "", 1: "#", 2: "##", -1: "b", -2: "bb"}.get(diff)
    return None if acc is None else LETTERS[letter % 7] + acc


def root_letter(pc: int, key: Key) -> int:
    """The letter a chord root is written with in `key`: its scale degree's letter; a lowered degree (bII, bIII,
    bVI, bVII) on the degree above, a raised one (#IV, the raised 6th and 7th of minor) on the degree below."""
    tonic_letter = LETTERS.index(key.tonic_name[0])
    scale = key.scale if len(key.scale) == 7 else SCALES["minor" if key.is_minor else "major"]
    rel = (pc - key.tonic) % 12
    if rel in scale:
        degree = scale.index(rel)
    elif (rel - 1) % 12 in scale and (key.is_minor and rel in (9, 11) or rel == 6):
        degree = scale.index((rel - 1) % 12)  # raised: the minor key's 6th and 7th, #4
    elif (rel + 1) % 12 in scale:
        degree = scale.index((rel + 1) % 12)  # lowered
    else:
        degree = scale.index((rel - 1) % 12)
    return (tonic_letter + degree) % 7


def chord_name(spec: ChordSpec, key: Key | None = None) -> str:
    """A readable chord symbol for a parsed chord. With a key, the root and bass are spelled as the key writes
    them (E/G# not E/Ab, Amaj7/G# not Amaj7/Ab); without one, with the usual sharps and flats."""
    from .types import PITCH_CLASS_NAMES

    suffix = _NAME_OF_INTERVALS.get(spec.intervals)
    if suffix is None:
        base = tuple(i for i in spec.intervals if i < 12)
        tensions = [_TENSION_NAMES.get(i, str(i)) for i in spec.intervals if i >= 12]
        suffix = _NAME_OF_INTERVALS.get(base, "(" + ",".join(str(i) for i in base) + ")")
        if tensions:
            suffix += "(" + ",".join(tensions) + ")"
    root = bass = None
    if key is not None:
        letter = root_letter(spec.root, key)
        root = spell(spec.root, letter)
        iv = (spec.bass - spec.root) % 12
        step = 6 if iv == 9 and {3, 6, 9} <= set(spec.intervals) else _STEPS[iv]  # a dim7's bb7
        bass = spell(spec.bass, letter + step)
    text = (root or PITCH_CLASS_NAMES[spec.root]) + suffix
    if spec.bass != spec.root:
        text += "/" + (bass or PITCH_CLASS_NAMES[spec.bass])
    return text