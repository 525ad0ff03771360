"""The MCP tool layer: one module per family, each tool a top-level async function (see `base`)."""

from . import analyze, arrange, artifacts, compose, learn, library, live, live_set, notation, restyle, style, transcribe

# Registration order is the order `tools/list` shows them in.
FAMILIES = (artifacts, notation, compose, arrange, analyze, transcribe, style, restyle, learn, live, live_set, library)
