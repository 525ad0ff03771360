"""Searching the catalogue: filters and a ranking that says why each file matched.

Keys match the asked key first, then keys a producer would layer with it — the relative major or minor, a fifth
either way, the parallel mode — each named in `why`. Tempos match within a tolerance, and at half or double time
(a 90 BPM loop plays in a 180 BPM track). "Like" ranks by how near a file's sound (or, for MIDI, its notes) is
to an example, in the classifier's standardized feature space.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from liveloom.music.errors import NotationError
from liveloom.music.theory import parse_key

KEY_RELATIONS = (("same key", 1.0), ("a fifth up", 0.7), ("a fifth down", 0.7))  # relative 0.85, parallel 0.6


@dataclass
class Query:
    key: str | None = None
    compatible_keys: bool = True
    tempo: float | None = None
    tolerance: float = 0.05  # a fraction of the tempo
    half_double: bool = True
    kinds: tuple[str, ...] = ()
    min_seconds: float | None = None
    max_seconds: float | None = None
    min_lufs: float | None = None
    max_lufs: float | None = None
    text: str | None = None
    like: dict | None = None  # {"features": [...]} (a sound: audio rows only) or {"symbolic": [...]} (notes)
    formats: tuple[str, ...] = ()


@dataclass
class Hit:
    row: dict
    score: float
    why: list[str] = field(default_factory=list)


def key_family(text: str) -> tuple[int, bool]:
    """(tonic pitch class, minor?) of a key; church modes count with the major or minor they sound nearest."""
    k = parse_key(text)
    return k.tonic, k.is_minor


def key_relation(asked: tuple[int, bool], found: tuple[int, bool]) -> tuple[str, float] | None:
    (t1, m1), (t2, m2) = asked, found
    if (t1, m1) == (t2, m2):
        return KEY_RELATIONS[0]
    if m1 != m2 and (t2 - t1) % 12 == (3 if m1 else 9):
        return f"relative {'minor' if m2 else 'major'}", 0.85
    if m1 == m2 and (t2 - t1) % 12 == 7:
        return KEY_RELATIONS[1]
    if m1 == m2 and (t2 - t1) % 12 == 5:
        return KEY_RELATIONS[2]
    if m1 != m2 and t1 == t2:
        return f"parallel {'minor' if m2 else 'major'}", 0.6
    return None


def tempo_match(asked: float, found: float, tolerance: float, half_double: bool) -> tuple[str, float] | None:
    best = None
    for octave, label in ((1.0, ""), (2.0, " at double time"), (0.5, " at half time")):
        if octave != 1.0 and not half_double:
            continue
        off = found * octave / asked - 1.0
        if abs(off) <= tolerance:
            score = (1.0 - 0.3 * abs(off) / max(tolerance, 1e-9)) * (1.0 if octave == 1.0 else 0.85)
            if best is None or score > best[1]:
                stretch = f", warp {-off * 100:+.1f} %" if abs(off) >= 0.005 else ""
                best = (f"{found:g} BPM{label}{stretch}", score)
    return best


def _similarity(a: list[float], b: list[float], scale: list[float] | None) -> float:
    if len(a) != len(b) or not a:
        return 0.0
    if scale:
        d = math.sqrt(sum(((x - y) / s) ** 2 for x, y, s in zip(a, b, scale)) / len(a))
    else:
        d = math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)) / len(a)) * 10
    return 1.0 / (1.0 + d)


def search(rows: list[dict], q: Query, scale: list[float] | None = None) -> list[Hit]:
    """Every row that passes the filters, best first. `scale`: the feature standard deviations (so that each
    sound feature weighs alike in "like")."""
    try:
        asked_key = key_family(q.key) if q.key else None
    except (NotationError, ValueError) as exc:
        raise NotationError(f"key {q.key!r}: {exc}") from None
    words = [w for w in (q.text or "").lower().split() if w]
    hits = []
    for row in rows:
        if q.kinds and row.get("kind") not in q.kinds or q.formats and row.get("format") not in q.formats:
            continue
        seconds, lufs = row.get("duration"), row.get("lufs")
        if q.min_seconds is not None and (seconds is None or seconds < q.min_seconds):
            continue
        if q.max_seconds is not None and (seconds is None or seconds > q.max_seconds):
            continue
        if q.min_lufs is not None and (lufs is None or lufs < q.min_lufs):
            continue
        if q.max_lufs is not None and (lufs is None or lufs > q.max_lufs):
            continue
        if words and not all(w in row["path"].lower() for w in words):
            continue
        parts, why = [], [row.get("kind") or "unknown kind"]
        if asked_key is not None:
            if not row.get("key"):
                continue
            try:
                rel = key_relation(asked_key, key_family(row["key"]))
            except (NotationError, ValueError):
                rel = None
            if rel is None or (not q.compatible_keys and rel[1] < 1.0):
                continue
            parts.append(rel[1])
            why.append(f"{row['key']} ({rel[0]})")
        if q.tempo is not None:
            if not row.get("tempo"):
                continue
            m = tempo_match(q.tempo, float(row["tempo"]), q.tolerance, q.half_double)
            if m is None:
                continue
            parts.append(m[1])
            why.append(m[0])
        if q.like:
            # a sound compares with sounds; notes with notes, and a clip's key and tempo already chose the audio
            if q.like.get("features") and row.get("features"):
                sim = _similarity(q.like["features"], row["features"], scale)
                why.append(f"sounds {sim:.2f} alike")
                parts.append(sim)
            elif q.like.get("symbolic") and row.get("symbolic"):
                sim = _similarity(q.like["symbolic"], row["symbolic"], None)
                why.append(f"notes {sim:.2f} alike")
                parts.append(sim)
            elif q.like.get("features"):
                continue
        if words:
            why.append("name has " + " ".join(f"'{w}'" for w in words))
        score = sum(parts) / len(parts) if parts else 1.0
        hits.append(Hit(row, round(score, 3), why))
    hits.sort(key=lambda h: (-h.score, -(h.row.get("kind_confidence") or 1.0), h.row["path"]))
    return hits
