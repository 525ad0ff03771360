"""Property tests: whatever text or bytes arrive, the parsers answer with a clear error, never a crash."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liveloom.music.errors import LiveloomError
from liveloom.music.midi_io import midi_to_song
from liveloom.music.notation import realize
from liveloom.music.theory import parse_key

MUSICAL = st.sampled_from(list("ABCDEFGabcdefgr#b0123456789:/|[]@%xXo.-_ \nmajdimsugaddIViv+ø°Kk,"))
FAST = settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))


@FAST
@given(st.text(MUSICAL, min_size=1, max_size=40), st.sampled_from(["auto", "chords", "roman", "notes", "drums"]),
       st.sampled_from([None, "C", "D minor"]))
def test_notation_never_crashes(text, kind, key):
    try:
        clip = realize(text, kind=kind, key=parse_key(key) if key else None).clip
    except LiveloomError:
        return
    assert clip.length > 0 and all(0 <= n.pitch <= 127 for n in clip.notes)


@FAST
@given(st.binary(max_size=200))
def test_midi_reader_never_crashes(data):
    try:
        midi_to_song(b"MThd\x00\x00\x00\x06" + data)
    except LiveloomError:
        pass
