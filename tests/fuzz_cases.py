"""Hostile and careless arguments for every tool, made from the tool's own input schema, and the invariants each
call must keep. Shared by tests/test_fuzz_tools.py (Hypothesis drives the random choices, a few hundred calls in
CI) and bench/fuzz.py (thousands of calls, with counts).

Each argument is, by chance, a value that fits the schema, an edge of its range, a value just outside it, a
wrong type, or one of the inputs the reliability campaign found: NaN and infinity as JSON strings, huge numbers,
5e-324, empty and megabyte strings, paths outside the allowed folders, /etc/passwd, names in any script, unknown
ids. Required arguments are sometimes left out, unknown ones sometimes added.
"""

from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass

EXCEPTION_NAME = re.compile(r"\b[A-Za-z_]\w*(?:Error|Exception)\b|Traceback")
MAX_MESSAGE = 5_000

HOSTILE_STRINGS = [
    "", " ", "x" * 5_000, "/etc/passwd", "../../../../etc/hosts", "/proc/self/environ", "C:\\Windows\\win.ini",
    "Café 名前 🎵", "\u202eevil", "NaN", "Infinity", "-1e309", "C4:1e309", "X:1\nM:1000/1\nK:C\nC", "Em7:1",
    "kick: x...x...", "ii7 V7 Imaj7", "clip_0000000000", "song_ffffffffff", "%", "|", "[[", "{", "'; DROP TABLE",
    "a" * 300 + ".mid", "file:///etc/passwd", "http://127.0.0.1:1/x",
]
HOSTILE_NUMBERS = [0, -1, 1, 0.5, -0.0, 1e308, -1e308, 5e-324, 2**31, 2**63, -(2**63), 10**30, "NaN", "Infinity",
                   "-Infinity", "1e309"]
WRONG_TYPES = [None, True, [], {}, "x", 1, 1.5, [1, 2], {"a": 1}]


@dataclass
class Outcome:
    tool: str
    args: dict
    is_error: bool
    seconds: float
    message: str
    leaked: bool  # an exception name or a traceback reached the agent
    too_long: bool  # the error message is over MAX_MESSAGE characters
    stored_on_error: bool  # an error, yet the workspace changed
    alive: bool  # the server answered the next call
    unexpected: bool  # a liveloom bug, said cleanly ("failed unexpectedly", a ref into the log)


def _value(schema: dict, rng: random.Random, ids: list[str], defs: dict, depth: int = 0):
    """One argument value for a property schema."""
    if "anyOf" in schema:
        options = [s for s in schema["anyOf"] if s.get("type") != "null"] or schema["anyOf"]
        if rng.random() < 0.1:
            return None
        return _value(rng.choice(options), rng, ids, defs, depth)
    roll = rng.random()
    if roll < 0.12:
        return rng.choice(WRONG_TYPES)
    if roll < 0.30:
        return rng.choice(HOSTILE_STRINGS + HOSTILE_NUMBERS)
    if "enum" in schema:
        return rng.choice(schema["enum"] + ["not-a-choice"])
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "integer":
        lo = schema.get("minimum", -1000)
        hi = schema.get("maximum", max(1000, lo + 1000))  # listed schemas leave out guard maxima (compact.py)
        return rng.choice([lo, hi, lo - 1, hi + 1, rng.randint(int(lo), int(min(hi, lo + 10_000)))])
    if kind == "number":
        lo = schema.get("minimum", schema.get("exclusiveMinimum", -1000.0))
        hi = schema.get("maximum", schema.get("exclusiveMaximum", max(1000.0, lo + 1000.0)))
        return rng.choice([lo, hi, rng.uniform(float(lo), float(min(hi, lo + 1e4))), hi * 10 + 1, "NaN", 1e308])
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "string":
        if ids and rng.random() < 0.4:
            return rng.choice(ids)
        if "examples" in schema and rng.random() < 0.5:
            return rng.choice(schema["examples"])
        top = schema.get("maxLength", 200)
        return rng.choice(["", "a" * (top + 1), "C F G C", "D minor", "4/4", "1/16", "volume", "riff.wav",
                           "song.mid", "x" * min(top, 64)])
    if kind == "array":
        if depth > 2:
            return []
        n = rng.choice([0, 1, 3, schema.get("maxItems", 8) + 1 if schema.get("maxItems", 0) < 200 else 8])
        items = schema.get("items", {})
        return [_value(_deref(items, defs), rng, ids, defs, depth + 1) for _ in range(min(n, 300))]
    if kind == "object" or "properties" in schema:
        return _object(schema, rng, ids, defs, depth + 1)
    return rng.choice(WRONG_TYPES + HOSTILE_STRINGS[:5])


def _object(schema: dict, rng: random.Random, ids: list[str], defs: dict, depth: int) -> dict:
    props = schema.get("properties", {})
    required = set(schema.get("required", []))
    out = {}
    for name, prop in props.items():
        prop = _deref(prop, defs)
        if name in required and rng.random() < 0.95 or rng.random() < 0.5:
            out[name] = _value(prop, rng, ids, defs, depth)
    if rng.random() < 0.05:
        out["unexpected_argument"] = "x"
    return out


def _deref(schema: dict, defs: dict) -> dict:
    ref = schema.get("$ref")
    if ref and ref.startswith("#/$defs/"):
        return defs.get(ref.split("/")[-1], {})
    if "anyOf" in schema:
        return {**schema, "anyOf": [_deref(s, defs) for s in schema["anyOf"]]}
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        return {**schema, "items": _deref(schema["items"], defs)}
    return schema


def arguments(input_schema: dict, rng: random.Random, ids: list[str]) -> dict:
    """Arguments for a tool, from its input schema."""
    return _object(input_schema, rng, ids, input_schema.get("$defs", {}), 0)


async def call_and_check(client, tool: str, args: dict) -> Outcome:
    """Call a tool and check what the campaign checked: a result or a clean error, a short message naming no
    Python exception, nothing stored on error, and a server that still answers."""
    before = (await client.call_tool("list_artifacts", {"limit": 1})).structured_content["total"]
    t0 = time.perf_counter()
    result = await client.call_tool(tool, args)
    seconds = time.perf_counter() - t0
    text = " ".join(c.text for c in result.content if getattr(c, "type", "") == "text") if result.is_error else ""
    after_call = await client.call_tool("list_artifacts", {"limit": 1})
    alive = not after_call.is_error
    after = after_call.structured_content["total"] if alive else before
    return Outcome(tool=tool, args=args, is_error=bool(result.is_error), seconds=seconds, message=text[:300],
                   leaked=bool(EXCEPTION_NAME.search(text)), too_long=len(text) > MAX_MESSAGE,
                   stored_on_error=bool(result.is_error) and after != before, alive=alive,
                   unexpected="failed unexpectedly" in text)
