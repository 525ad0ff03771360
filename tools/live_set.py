"""Live family, the set around the notes: sounds from Live's browser, the mixer, scenes, audio clips, and
deleting, duplicating and renaming — every change read back from Live."""

from typing import Annotated, Literal

from mcp.server.mcpserver import Context
from pydantic import BaseModel, Field

from liveloom.ableton_bridge.sounds import BROWSER_KINDS
from liveloom.music.errors import LiveloomError
from liveloom.music.limits import LIMITS
from liveloom.tools.base import services, tool
from liveloom.tools.live import SimpleResult, TrackIndex, live_bridge

TrackScope = Annotated[int | str, Field(description="A track index (0 = first), 'return:N' or a return track's "
                                        "name (e.g. 'A-Reverb'), or 'master'.", examples=[0, "return:0", "master"])]
AUDIO_SUFFIXES = (".wav", ".aif", ".aiff", ".flac", ".mp3", ".ogg")


class BrowserItem(BaseModel):
    name: str
    kind: str
    path: str
    uri: str


class BrowseResult(BaseModel):
    total: int = Field(description="Items matching, of which this page shows some.")
    offset: int
    items: list[BrowserItem]
    next_offset: int | None = None
    note: str | None = None


class LoadResult(BaseModel):
    track: str
    device: int = Field(description="Where it sits in the track's device chain (0 = first).")
    name: str
    chain: list[str] = Field(description="The track's devices, read back after loading.")
    replaced: list[str] = Field(default_factory=list, description="An instrument Live replaced (one per track).")


class MixerResult(BaseModel):
    track: str
    name: str
    changed: list[str]
    volume: str
    pan: str
    sends: list[str]
    mute: bool
    solo: bool
    arm: bool


class SceneResult(BaseModel):
    index: int
    name: str
    tempo: float | None = None
    time_signature: str | None = None


class AudioClipResult(BaseModel):
    where: str
    name: str
    file: str
    length: float = Field(description="Beats, at the set's tempo (Live warps the file).")
    arrangement_index: int | None = None


class DuplicateResult(BaseModel):
    done: str
    track: int | None = None
    slot: int | None = None


@tool(family="live", title="Search Live's browser", read_only=True, idempotent=True)
async def browse_devices(
    ctx: Context,
    text: Annotated[str, Field(max_length=120, description="Words to find in item names and folders; empty lists "
                               "everything of the kind.", examples=["Auto Filter", "808", "bass"])] = "",
    kind: Annotated[Literal[BROWSER_KINDS], Field(description="Browser category to search.")] = "any",
    offset: Annotated[int, Field(ge=0, le=100_000)] = 0,
    limit: Annotated[int, Field(ge=1, le=50)] = 20,
    refresh: Annotated[bool, Field(description="Re-read the browser (after installing packs or presets).")] = False,
) -> BrowseResult:
    """Search Live's browser (instruments, kits, presets, effects, samples, plug-ins, User Library) for loadable
    items: names, kinds, URIs, a page at a time. Needs the companion.

    Example: {"text": "Auto Filter", "kind": "audio_effects"}."""
    found = await (await live_bridge(ctx)).browse(text, kind, offset, limit, refresh)
    shown = found["items"]
    nxt = offset + len(shown) if offset + len(shown) < found["total"] else None
    note = None if found["complete"] else "the browser is larger than liveloom indexes at once; narrow the kind"
    return BrowseResult(total=found["total"], offset=offset, next_offset=nxt, note=note,
                        items=[BrowserItem(name=i["name"], kind=i["kind"], path=i["path"], uri=i["uri"])
                               for i in shown])


@tool(family="live", title="Load a device onto a track", read_only=False, destructive=True, idempotent=False)
async def load_device(
    ctx: Context,
    track: TrackScope,
    item: Annotated[str, Field(min_length=1, max_length=300, description="A browser item's name (e.g. 'Auto "
                               "Filter', '808 Core Kit', 'Grand Piano') or its uri from browse_devices.")],
    kind: Annotated[Literal[BROWSER_KINDS], Field(description="Where to look for the name.")] = "any",
    position: Annotated[int, Field(ge=-1, le=128, description="Place in the device chain; -1 = where Live puts "
                                   "it (effects at the end, an instrument replaces the track's instrument).")] = -1,
) -> LoadResult:
    """Load a browser item (instrument, kit, preset, effect, sample) onto a track, return or the main track; read
    back from the device chain. Needs the companion.

    Example: {"track": 0, "item": "Auto Filter"} then write_automation with parameter "Auto Filter/Frequency"."""
    got = await (await live_bridge(ctx)).load_device(track, item, kind, position)
    return LoadResult(track=got["track"], device=got["device"], name=got["name"], chain=got["chain"],
                      replaced=got["replaced"])


@tool(family="live", title="Set the mixer", read_only=False, destructive=True, idempotent=True)
async def set_mixer(
    ctx: Context,
    track: TrackScope,
    volume: Annotated[float | str | None, Field(description="dB as a number (-6) or as Live shows it ('-6 dB', "
                                                "'-inf dB'); 0 dB is unity, +6 dB the top.")] = None,
    pan: Annotated[float | str | None, Field(description="-50 (left) .. 50 (right), or '25L', 'C', '40R'.")] = None,
    sends: Annotated[dict[str, float | str] | None, Field(description="Send level per return, by letter (A, B), "
                                                          "index or return name: dB or '-12 dB'.",
                                                          examples=[{"A": -12}])] = None,
    mute: bool | None = None,
    solo: bool | None = None,
    arm: bool | None = None,
) -> MixerResult:
    """Set volume (dB), pan, sends, mute, solo, arm of a track, return or the main track; read back as Live shows
    them. Needs the companion.

    Example: {"track": 1, "volume": -6, "pan": "20L", "sends": {"A": -12}}."""
    if all(v is None for v in (volume, pan, sends, mute, solo, arm)):
        raise LiveloomError("give at least one of volume, pan, sends, mute, solo, arm")
    if isinstance(pan, (int, float)) and not -50 <= pan <= 50:
        raise LiveloomError(f"pan {pan:g} is outside -50 (left) .. 50 (right)")
    return MixerResult(**await (await live_bridge(ctx)).set_mixer(track, volume=volume, pan=pan, sends=sends, mute=mute,
                                                              solo=solo, arm=arm))


@tool(family="live", title="Create or change a scene", read_only=False, destructive=True, idempotent=False)
async def scene(
    ctx: Context,
    index: Annotated[int | None, Field(ge=-1, le=999, description="The scene to change; with create, where to "
                                       "insert it (-1 or empty = at the end).")] = None,
    create: Annotated[bool, Field(description="Make a new scene.")] = False,
    name: Annotated[str | None, Field(max_length=120, examples=["Chorus"])] = None,
    tempo: Annotated[float | None, Field(ge=20, le=999, description="Launching the scene sets this tempo.")] = None,
    numerator: Annotated[int | None, Field(ge=1, le=99)] = None,
    denominator: Annotated[Literal[1, 2, 4, 8, 16] | None, Field()] = None,
) -> SceneResult:
    """Create a scene, or name one and give it its own tempo or time signature (launching it switches Live to
    them); read back.

    Example: {"create": true, "name": "Bridge", "tempo": 96}."""
    if (numerator is None) != (denominator is None):
        raise LiveloomError("a time signature needs numerator and denominator")
    if not create and index is None:
        raise LiveloomError("give index (a scene to change) or create: true")
    sig = (numerator, denominator) if numerator is not None else None
    at = None if index == -1 else index
    return SceneResult(**await (await live_bridge(ctx)).scene(index=at, create=create, name=name, tempo=tempo,
                                                          time_signature=sig))


@tool(family="live", title="Delete from the Live set", read_only=False, destructive=True, idempotent=False)
async def delete(
    ctx: Context,
    what: Annotated[Literal["clip", "track", "scene", "device"], Field(description="What to delete.")],
    track: Annotated[int | None, Field(ge=0, le=999, description="The track (clip, track, device).")] = None,
    slot: Annotated[int | None, Field(ge=0, le=999, description="A Session clip's slot.")] = None,
    arrangement_index: Annotated[int | None, Field(ge=0, description="Or an Arrangement clip (companion).")] = None,
    scene: Annotated[int | None, Field(ge=0, le=999, description="The scene (what=scene).")] = None,
    device: Annotated[int | None, Field(ge=0, le=128, description="The device index (what=device).")] = None,
) -> SimpleResult:
    """Delete a clip, a track, a scene or a device, checked by reading the set back. One step in Live's undo
    history: `undo` brings it back.

    Example: {"what": "clip", "track": 0, "slot": 2}."""
    needs = {"clip": ("track",), "track": ("track",), "scene": ("scene",), "device": ("track", "device")}[what]
    given = {"track": track, "scene": scene, "device": device}
    missing = [k for k in needs if given[k] is None]
    if missing:
        raise LiveloomError(f"deleting a {what} needs {' and '.join(missing)}")
    if what == "clip" and (slot is None) == (arrangement_index is None):
        raise LiveloomError("deleting a clip needs slot (Session) or arrangement_index (Arrangement)")
    done = await (await live_bridge(ctx)).delete(what, track=track, slot=slot, arrangement_index=arrangement_index,
                                             scene=scene, device=device)
    return SimpleResult(done=done)


@tool(family="live", title="Duplicate a clip or track", read_only=False, idempotent=False)
async def duplicate(
    ctx: Context,
    what: Annotated[Literal["clip", "track"], Field()],
    track: TrackIndex,
    slot: Annotated[int | None, Field(ge=0, le=999, description="The clip's slot (what=clip).")] = None,
    to_slot: Annotated[int | None, Field(ge=0, le=999, description="An empty slot for the copy (default: the next "
                                         "empty one below).")] = None,
) -> DuplicateResult:
    """Duplicate a Session clip into an empty slot (notes compared) or a whole track.

    Example: {"what": "clip", "track": 1, "slot": 0}."""
    if what == "clip" and slot is None:
        raise LiveloomError("duplicating a clip needs slot (the clip's Session slot)")
    got = await (await live_bridge(ctx)).duplicate(what, track=track, slot=slot, to_slot=to_slot)
    return DuplicateResult(**got)


@tool(family="live", title="Rename a clip, track or scene", read_only=False, destructive=True, idempotent=True)
async def rename(
    ctx: Context,
    what: Annotated[Literal["clip", "track", "scene"], Field()],
    name: Annotated[str, Field(min_length=1, max_length=120)],
    track: Annotated[int | None, Field(ge=0, le=999)] = None,
    slot: Annotated[int | None, Field(ge=0, le=999)] = None,
    scene: Annotated[int | None, Field(ge=0, le=999)] = None,
) -> SimpleResult:
    """Rename a Session clip (track and slot), a track, or a scene; read back.

    Example: {"what": "track", "track": 2, "name": "Keys"}."""
    needs = {"clip": ("track", "slot"), "track": ("track",), "scene": ("scene",)}[what]
    missing = [k for k in needs if {"track": track, "slot": slot, "scene": scene}[k] is None]
    if missing:
        raise LiveloomError(f"renaming a {what} needs {' and '.join(missing)}")
    return SimpleResult(done=await (await live_bridge(ctx)).rename(what, name, track=track, slot=slot, scene=scene))


@tool(family="live", title="Put an audio file into Live", read_only=False, idempotent=False)
async def write_audio_clip(
    ctx: Context,
    track: TrackIndex,
    id: Annotated[str | None, Field(max_length=64, description="An audio artifact (render_audio, "
                                    "reorchestrate_audio).")] = None,
    path: Annotated[str | None, Field(max_length=4096, description="Or an audio file in an allowed folder.")] = None,
    slot: Annotated[int | None, Field(ge=0, le=999, description="A Session slot of an audio track.")] = None,
    position: Annotated[float | None, Field(ge=0, le=LIMITS.max_clip_beats * 16, description="Or an Arrangement "
                                            "position in beats.")] = None,
) -> AudioClipResult:
    """Put a WAV (artifact or allowed file) into an audio track's slot or the Arrangement as an audio clip (Live
    12, companion); read back.

    Example: {"id": "audio_4c1d2e3f4a", "track": 2, "slot": 0}."""
    svc = services(ctx)
    if (id is None) == (path is None):
        raise LiveloomError("give either id (an audio artifact) or path (a file in an allowed folder)")
    if (slot is None) == (position is None):
        raise LiveloomError("give either slot (Session) or position (Arrangement beats)")
    if id is not None:
        record = svc.workspace.get(id)
        if record.kind != "audio":
            raise LiveloomError(f"{id} is a {record.kind} artifact, not audio; render_audio makes one")
        file = svc.workspace.path_of(record)
    else:
        file = svc.files.readable(path, max_bytes=LIMITS.max_audio_bytes, suffixes=AUDIO_SUFFIXES)
    got = await (await live_bridge(ctx)).write_audio_clip(file, track=track, slot=slot, position=position)
    return AudioClipResult(**got)
