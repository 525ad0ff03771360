"""Which sound a new track gets: per role (drums, bass, chords/keys, lead, pad, strings) and style, the Live
Core Library presets a producer would reach for first, then a native instrument every Live 12 edition has.

The candidates are names searched in Live's browser; the first one the user's Live has wins, so a
smaller edition (Intro, Lite) or a differently stocked library still gets a fitting instrument, and the
result says what was loaded.
"""

from __future__ import annotations

BROWSER_KINDS = ("any", "instruments", "drums", "sounds", "audio_effects", "midi_effects", "samples", "plugins",
                 "user_library")

# role -> {style or "*": [preset or device names, best first]}
SOUNDS: dict[str, dict[str, list[str]]] = {
    "drums": {"trap": ["808 Core Kit"], "lofi": ["Boom Bap Kit"], "jazz": ["Brush Kit"], "bossa": ["Brush Kit"],
              "house": ["909 Core Kit"], "rock": ["Acoustic Core Kit"], "funk": ["Acoustic Core Kit"],
              "folk": ["Acoustic Core Kit"], "pop": ["909 Core Kit"], "*": ["808 Core Kit", "909 Core Kit"]},
    "bass": {"jazz": ["Upright Bass"], "bossa": ["Upright Bass"], "folk": ["Upright Bass"],
             "rock": ["Picked Bass"], "funk": ["Picked Bass"], "*": ["Sub Bass", "Analog Bass"]},
    "chords": {"jazz": ["Suitcase Classic", "Grand Piano"], "lofi": ["Suitcase Classic"],
               "bossa": ["Nylon Guitar", "Grand Piano"], "funk": ["Suitcase Classic"], "rock": ["Jazz Organ"],
               "chorale": ["Choir Aahs", "String Pad"], "ambient": ["Wide Pad"],
               "*": ["Grand Piano", "FM Electric Piano"]},
    "lead": {"jazz": ["Brass Section"], "folk": ["Nylon Guitar"], "chorale": ["Chamber Strings"],
             "*": ["Mono Lead", "Pluck Lead"]},
    "pad": {"chorale": ["String Pad"], "*": ["Soft Pad", "Wide Pad", "String Pad"]},
    "strings": {"*": ["Chamber Strings", "String Pad"]},
}
FALLBACK = {"drums": ["Drum Rack"], "*": ["Drift", "Operator", "Simpler"]}
ROLE_WORDS = [("drums", ("drum", "kit", "kick", "snare", "hat", "perc", "beat")), ("bass", ("bass", "808")),
              ("pad", ("pad", "atmos")), ("strings", ("string", "violin", "cello")),
              ("chords", ("chord", "keys", "piano", "comp", "organ", "rhodes", "guitar")),
              ("lead", ("lead", "melody", "vocal", "hook", "arp", "topline", "soprano"))]
ROLE_ALIASES = {"melody": "lead", "keys": "chords", "harmony": "chords", "comping": "chords", "drum": "drums",
                "percussion": "drums", "alto": "chords", "tenor": "chords", "countermelody": "lead"}


def role_of(name: str, role: str | None = None, is_drum: bool = False, program: int | None = None) -> str:
    """A track's role from what is known: the drum flag, the role given, its name, its GM program."""
    if is_drum:
        return "drums"
    if role:
        r = role.lower()
        r = ROLE_ALIASES.get(r, r)
        if r in SOUNDS:
            return r
    low = name.lower()
    for r, words in ROLE_WORDS:
        if any(w in low for w in words):
            return r
    if program is not None:
        if 32 <= program <= 39:
            return "bass"
        if 40 <= program <= 51:
            return "strings"
        if 80 <= program <= 87 or 56 <= program <= 79:
            return "lead"
        if 88 <= program <= 95:
            return "pad"
    return "chords"


def candidates(role: str, style: str | None = None) -> list[tuple[str, str]]:
    """(name, browser kind) to try in order for a role and style."""
    table = SOUNDS.get(role, SOUNDS["chords"])
    names = list(table.get((style or "").lower(), [])) + [n for n in table["*"] if n not in table.get(
        (style or "").lower(), [])]
    kind = "drums" if role == "drums" else "sounds"
    out = [(n, kind) for n in names]
    out += [(n, "drums" if role == "drums" else "instruments") for n in FALLBACK.get(role, FALLBACK["*"])]
    return out
