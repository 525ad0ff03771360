"""liveloom.engines — what makes and hears music: the theory composer, the arranger, variation, reharmonization,
harmonizing, restyling and continuation with the trained model, audio analysis, transcription, rendering and
the piano roll. Imports `music` and `models`; knows nothing of MCP, the workspace or Live."""
