"""API gating by Live version: a method added in Live X does not exist on an older Live."""

from __future__ import annotations


class since:
    """Descriptor: the wrapped method exists only when the object's Live is at least `version`."""

    def __init__(self, *version: int):
        self.version = version

    def __call__(self, fn):
        self.fn = fn
        self.name = fn.__name__
        return self

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, obj, owner=None):
        if obj is None:
            return self.fn
        if obj._live_version < self.version:
            raise AttributeError(
                f"'{type(obj).__name__}' object has no attribute '{self.name}' "
                f"(added in Live {'.'.join(map(str, self.version))})"
            )
        return self.fn.__get__(obj, owner)


class LomObject:
    """Base of fake LOM objects: carries the Live version of the set it belongs to."""

    _live_version: tuple[int, int, int] = (12, 2, 0)

    def __init__(self, live_version: tuple[int, int, int]):
        self._live_version = live_version


def _song_of(obj):
    """The Song an object belongs to, by walking `canonical_parent` (None for a loose object)."""
    seen = 0
    while obj is not None and seen < 12:
        if hasattr(obj, "_checkpoint"):
            return obj
        obj = getattr(obj, "canonical_parent", None)
        seen += 1
    return None


def changed(obj) -> None:
    """Record an undo step before `obj` (or something in it) changes; see Song._checkpoint."""
    song = _song_of(obj)
    if song is not None:
        song._checkpoint()


def keep_track(track) -> dict:
    """A deepcopy memo that keeps a track, its song and its parameters as they are (so a copied clip's envelopes
    still point at the track's real parameters)."""
    memo = {id(track): track, id(track._song): track._song}
    mixer = track.mixer_device
    for p in [mixer.volume, mixer.panning, *mixer.sends] + [p for d in track.devices for p in d.parameters]:
        memo[id(p)] = p
    return memo
