"""Tool schemas as a model reads them: what pydantic generates, without what a model does not need.

pydantic gives every property a "title" that repeats its name and spells an optional field as
`anyOf: [X, {"type": "null"}]` with `default: null`; length limits that guard against abuse (64 KB of
text, 20,000 notes) guide no one. A model reads every character of `tools/list` on every turn, so the
listed schemas drop titles, string length limits, item limits of 1,000 and more, maxima of 999 and more,
`additionalProperties: false`, and the null branches of optional fields (an optional field is simply not
required; sending null is still accepted); descriptions lose their docstring indentation. Numeric ranges
that say what makes musical sense (velocity 1-127, density 0-1) stay. Arguments are validated against the full pydantic
models, never against these compact copies, so nothing a caller may send changes.
"""

from __future__ import annotations

from typing import Any

_MAP_KEYS = {"properties", "$defs", "definitions", "patternProperties"}


def compact_schema(schema: Any) -> Any:
    """A copy of an input schema without property titles and abuse guards, and with `anyOf [X, null]` optional
    fields as X."""
    return _walk(schema, in_map=False, inputs=True)


def compact_output_schema(schema: Any) -> Any:
    """An output schema without titles only: hosts validate results against it, and results do carry nulls."""
    return _walk(schema, in_map=False, inputs=False)


def _walk(node: Any, in_map: bool, inputs: bool) -> Any:
    if isinstance(node, list):
        return [_walk(x, False, inputs) for x in node]
    if not isinstance(node, dict):
        return node
    if in_map:  # a map of names to schemas: keep every name
        return {k: _walk(v, False, inputs) for k, v in node.items()}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "title" and isinstance(value, str):
            continue
        if inputs and (key == "maxLength" or (key == "maxItems" and isinstance(value, int) and value >= 1000)):
            continue  # guards against abuse, not guidance: a too-long value gets a clear error
        if inputs and key == "additionalProperties" and value is False:
            continue
        if inputs and key == "maximum" and isinstance(value, (int, float)) and value >= 999:
            continue  # a guard (track 999, 4096 beats), not a range that means something
        out[key] = _walk(value, key in _MAP_KEYS, inputs)
    branches = out.get("anyOf")
    if inputs and isinstance(branches, list) and out.get("default", 0) is None:
        rest = [b for b in branches if b != {"type": "null"}]
        if len(rest) == 1 and len(rest) < len(branches) and isinstance(rest[0], dict):
            merged = {k: v for k, v in out.items() if k not in ("anyOf", "default")}
            for k, v in rest[0].items():
                merged.setdefault(k, v)
            return merged
    return out


def compact_description(text: str | None) -> str | None:
    """A docstring as prose: paragraphs kept, the lines of each joined, the indentation gone."""
    if not text:
        return text
    import inspect

    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(" ".join(p.split()) for p in paragraphs)


def schema_chars(tools: list) -> int:
    """Characters of what a model reads of `tools/list`: names, descriptions, input schemas."""
    import json

    return len(json.dumps([{"name": t.name, "description": t.description, "input_schema": t.input_schema}
                           for t in tools]))
