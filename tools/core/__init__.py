"""The shared musical core: data model, MIDI I/O, theory, notation, voicing, rendering."""
