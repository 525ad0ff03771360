"""Live family: read and write the running Ableton Live set, every write verified by read-back."""

import math
from typing import Annotated, Literal

from mcp.server.mcpserver import Context
from pydantic import BaseModel, Field

from liveloom.ableton_bridge.bridge import ClipRef, LiveBridge
from liveloom.ableton_bridge.client import LiveUnavailable
from liveloom.music.automation import MIN_RESOLUTION, points_to_steps, shape_steps
from liveloom.music.errors import LiveloomError
from liveloom.music.limits import LIMITS
from liveloom.music.types import Clip, Note, round_up_to_bar
from liveloom.tools.base import provenance, services, tool
from liveloom.tools.schemas import ArtifactSummary, artifact_summary, store_clip, store_song

TrackIndex = Annotated[int, Field(ge=0, le=999, description="Track index, 0 = first track (see get_session).")]
SlotIndex = Annotated[int, Field(ge=0, le=999, description="Clip slot (scene) index, 0 = first scene.")]


class LiveStatus(BaseModel):
    reachable: bool
    target: str
    live_version: str | None = None
    script: str | None = Field(default=None, description="Which Remote Script answers.")
    companion: bool = False
    needs_companion: list[str] = Field(default_factory=list, description="What the answering script cannot do.")
    tracks: int | None = None
    tempo: float | None = None
    help: str | None = None


class SessionClip(BaseModel):
    slot: int
    name: str
    length: float


class ArrangementClip(BaseModel):
    start: float
    length: float
    name: str


class SessionTrack(BaseModel):
    index: int
    name: str
    kind: str | None = Field(default=None, description="midi or audio (with the companion script).")
    mixer: str | None = Field(default=None, description="Volume, pan, sends in use, mute/solo/arm, as Live shows.")
    devices: list[str]
    parameters: dict[str, list[str]] | None = Field(default=None, description="With parameters=true: per device, "
                                                    "each parameter with its display value.")
    clips: list[SessionClip]
    arrangement: list[ArrangementClip] | None = Field(default=None, description="Arrangement clips (companion).")


class OtherTrack(BaseModel):
    index: int | None = None
    name: str
    mixer: str | None = None
    devices: list[str]
    parameters: dict[str, list[str]] | None = None


class Session(BaseModel):
    live_version: str | None
    script: str
    tempo: float
    time_signature: str
    playing: bool
    scenes: int
    scenes_shown: int
    scene_names: list[str] | None = None
    tracks: list[SessionTrack]
    returns: list[OtherTrack] | None = None
    master: OtherTrack | None = None


class TrackResult(BaseModel):
    index: int
    name: str
    kind: str = "midi"
    instrument: str | None = Field(default=None, description="The instrument loaded on it, read back.")


class WriteClipResult(BaseModel):
    id: str = Field(description="The clip artifact that was written.")
    kind: str = "clip"
    where: str
    track: int
    slot: int | None
    arrangement_index: int | None
    notes_written: int
    notes_verified: int
    created: bool = Field(description="A new clip was created (else an existing one was replaced or merged into).")
    method: str
    datagrams: int
    round_trips: int
    checks: list[str]


class SongReadResult(ArtifactSummary):
    sections: list[str] = Field(description="Scene names, in order, as the song's sections.")
    skipped: list[str] = Field(default_factory=list, description="Clips that could not be read, and why.")


MAX_SONG_BEATS = 1_000_000.0  # beats a transport position may be (Live's own limit is far above any set)


class AutomationPoint(BaseModel):
    beat: float = Field(ge=0, le=LIMITS.max_clip_beats)
    value: float


class AutomationShape(BaseModel):
    kind: Literal["ramp", "exponential", "sine", "steps"]
    start: float = Field(default=0.0, ge=0, description="Beat where the shape starts.")
    end: float = Field(gt=0, le=LIMITS.max_clip_beats, description="Beat where it ends.")
    from_value: float = Field(description="Start value (ramp, exponential) or the LFO's low point (sine).")
    to_value: float = Field(description="End value, or the LFO's high point.")
    rate: float | None = Field(default=None, ge=MIN_RESOLUTION, le=LIMITS.max_clip_beats,
                               description="sine: beats per cycle (4 = one cycle a 4/4 bar).")
    values: list[float] | None = Field(default=None, max_length=1024, description="steps: values, one per step.")


class AutomationResult(BaseModel):
    where: str
    parameter: str
    min: float
    max: float
    range: str | None = Field(default=None, description="The parameter's range as Live shows it.")
    shown: str | None = Field(default=None, description="The first and last value written, as Live shows them.")
    points_written: int
    points_verified: int
    route: str | None = None


class SongWriteResult(BaseModel):
    mode: str
    tracks: list[int]
    clips: list[dict]
    instruments: list[dict] = Field(default_factory=list, description="The instrument loaded on each new track.")
    scenes_created: int
    notes_verified: int
    datagrams: int
    round_trips: int
    script: str


class ParameterResult(BaseModel):
    device: str
    parameter: str
    value: float
    display: str | None = Field(default=None, description="The value as Live shows it (with the companion).")
    min: float
    max: float
    range: str | None = None


class TransportState(BaseModel):
    playing: bool
    tempo: float
    time_signature: str
    loop: bool


class SimpleResult(BaseModel):
    done: str


async def live_bridge(ctx: Context) -> LiveBridge:
    """The Live connection of this server (made on first use)."""
    return await services(ctx).live.bridge()


@tool(family="live", title="Live status", read_only=True, idempotent=True)
async def live_status(ctx: Context) -> LiveStatus:
    """Is Live reachable; which version and Remote Script (AbletonOSC or liveloom's companion); what needs the
    companion. Never fails.

    Example: {}."""
    b = await live_bridge(ctx)
    try:
        caps = await b.connect(refresh=True)
        names = await b.track_names()
        tempo = await b.tempo()
    except LiveUnavailable as exc:
        return LiveStatus(reachable=False, target=str(b.target), help=str(exc))
    return LiveStatus(reachable=True, target=caps.target, live_version=caps.live_version, script=caps.script,
                      companion=caps.companion, needs_companion=caps.needs_companion, tracks=len(names),
                      tempo=tempo)


@tool(family="live", title="Get the Live session", read_only=True, idempotent=True)
async def get_session(
    ctx: Context,
    max_scenes: Annotated[int, Field(ge=1, le=128, description="Scan this many scenes for clips.")] = 16,
    parameters: Annotated[bool, Field(description="Also list every device parameter with its display value "
                                      "(longer).")] = False,
) -> Session:
    """The Live set: tempo, meter, scenes; tracks with kind, mixer, devices, Session and Arrangement clips; returns
    and main (as Live shows them).

    Example: {"max_scenes": 8, "parameters": true}."""
    return Session(**await (await live_bridge(ctx)).session(max_scenes=max_scenes, parameters=parameters))


@tool(family="live", title="Create a track", read_only=False, idempotent=False)
async def create_track(
    ctx: Context,
    name: Annotated[str, Field(min_length=1, max_length=120, examples=["Bass"])],
    index: Annotated[int, Field(ge=-1, le=999, description="Where to insert; -1 = at the end.")] = -1,
    kind: Annotated[Literal["midi", "audio"], Field(description="audio tracks hold audio clips "
                                                    "(write_audio_clip).")] = "midi",
    instrument: Annotated[str, Field(max_length=300, description="MIDI tracks: 'auto' loads a fitting instrument "
                                     "for the role (from the name, or role), 'none' leaves the track empty, or a "
                                     "browser item's name or uri (see browse_devices).")] = "auto",
    role: Annotated[str | None, Field(max_length=40, description="drums, bass, chords, lead, pad or strings "
                                      "(default: from the name).")] = None,
    style: Annotated[str | None, Field(max_length=40, description="Pick the sound for a style, e.g. jazz, trap, "
                                       "lofi.")] = None,
) -> TrackResult:
    """Create a named MIDI or audio track; a MIDI track gets a fitting instrument for its role and style. Read
    back.

    Example: {"name": "Bass", "style": "funk"} or {"name": "Vox", "kind": "audio"}."""
    from liveloom.ableton_bridge.sounds import role_of

    b = await live_bridge(ctx)
    if kind == "audio":
        return TrackResult(index=await b.create_track_of_kind(name, index, "audio"), name=name, kind="audio")
    new = await b.create_track(name, index)
    loaded = None
    if instrument != "none":
        caps = await b.connect()
        if not caps.companion:
            loaded = "none (loading instruments needs the companion script)"
        elif instrument == "auto":
            loaded = (await b.fit_instrument(new, role_of(name, role), style))["instrument"]
        else:
            loaded = (await b.load_device(new, instrument))["name"]
    return TrackResult(index=new, name=name, instrument=loaded)


@tool(family="live", title="Write a clip into Live", read_only=False, destructive=True, idempotent=False)
async def write_clip(
    ctx: Context,
    track: TrackIndex,
    id: Annotated[str | None, Field(max_length=64, description="A clip artifact to write.")] = None,
    notes: Annotated[list[Note] | None, Field(max_length=LIMITS.max_notes_per_clip,
                                              description="Or notes given inline (beats).")] = None,
    slot: Annotated[int | None, Field(ge=0, le=999, description="Session clip slot (scene index).")] = None,
    position: Annotated[float | None, Field(ge=0, le=LIMITS.max_clip_beats * 16, description="Or an "
                                            "Arrangement position in beats (needs the companion script).")] = None,
    mode: Annotated[Literal["new", "replace", "merge"], Field(
        description="new: the slot must be empty; replace: overwrite the clip's notes (restored if the write "
                    "fails); merge: add to them.")] = "new",
    name: Annotated[str | None, Field(max_length=120)] = None,
    color: Annotated[int | None, Field(ge=0, le=0xFFFFFF, description="RGB colour, e.g. 16711680 = red.")] = None,
    loop: Annotated[bool | None, Field(description="Loop the clip (default: the clip's own setting).")] = None,
    length: Annotated[float | None, Field(gt=0, le=LIMITS.max_clip_beats, description="Inline notes: clip "
                                          "length in beats (default: whole bars).")] = None,
) -> WriteClipResult:
    """Write a clip (artifact or inline notes) into a Session slot or at an Arrangement position; every note read
    back. A failure leaves nothing half-written.

    Example: {"id": "clip_3f9a2b1c0d", "track": 1, "slot": 0, "name": "Chords"}."""
    ws = services(ctx).workspace
    if (id is None) == (notes is None):
        raise LiveloomError("give either id (a clip artifact) or notes (inline), not both or neither")
    if (slot is None) == (position is None):
        raise LiveloomError("give either slot (Session) or position (Arrangement beats)")
    if id is not None:
        record, clip = ws.load_clip(id)
    else:
        end = max((n.end for n in notes), default=0.0)
        clip = Clip(name=name or "clip", notes=notes, length=length or round_up_to_bar(max(end, 1e-9),
                                                                                    Clip().time_signature))
    await ctx.report_progress(0, 2, "writing")
    report = await (await live_bridge(ctx)).write_clip(clip, track=track, slot=slot, position=position, mode=mode,
                                                   name=name, color=color, loop=loop)
    if id is None:  # inline notes are kept as an artifact once they are in Live (a failed write stores nothing)
        record = store_clip(ws, clip, provenance(params={"inline_notes": len(notes)}))
    await ctx.report_progress(2, 2, "verified")
    return WriteClipResult(id=record.id, where=str(report.ref), track=report.ref.track, slot=report.ref.slot,
                           arrangement_index=report.ref.arrangement_index, notes_written=report.notes_written,
                           notes_verified=report.notes_verified, created=report.created, method=report.method,
                           datagrams=report.datagrams, round_trips=report.round_trips, checks=report.checks)


@tool(family="live", title="Read a clip from Live", read_only=True, idempotent=False, ui=True)
async def read_clip(
    ctx: Context,
    track: TrackIndex,
    slot: Annotated[int | None, Field(ge=0, le=999)] = None,
    arrangement_index: Annotated[int | None, Field(ge=0, description="Or the track's n-th Arrangement clip "
                                                   "(needs the companion script).")] = None,
) -> ArtifactSummary:
    """Read a Live clip's notes and settings into a clip artifact (so it can be analysed, varied, exported).

    Example: {"track": 1, "slot": 0}."""
    ws = services(ctx).workspace
    if (slot is None) == (arrangement_index is None):
        raise LiveloomError("give either slot or arrangement_index")
    b = await live_bridge(ctx)
    ref = ClipRef(track, slot=slot, arrangement_index=arrangement_index)
    clip = await b.read_clip(ref)
    record = store_clip(ws, clip, provenance(params={"track": track, "slot": slot,
                                                                       "arrangement_index": arrangement_index,
                                                                       "live": str(b.target)}))
    return artifact_summary(record)


@tool(family="live", title="Read the Live set as a song", read_only=True, idempotent=False, ui=True)
async def read_song(
    ctx: Context,
    max_scenes: Annotated[int, Field(ge=1, le=256, description="Read this many scenes.")] = 64,
    view: Annotated[Literal["session", "arrangement"], Field(
        description="session: scenes laid end to end as sections; arrangement: every MIDI clip at its place "
                    "(needs the companion script).")] = "session",
) -> SongReadResult:
    """Read the set's MIDI clips into one song (drum tracks marked): the Session's scenes as sections, or the
    Arrangement. Then export_midi or render_audio.

    Example: {} then {"ids": ["song_…"], "path": "my-set.mid"} for export_midi."""
    ws = services(ctx).workspace
    b = await live_bridge(ctx)
    song, skipped = await b.read_song(max_scenes=max_scenes, view=view)
    if not song.tracks:
        raise LiveloomError(f"the Live set has no MIDI clips in its {'Arrangement' if view == 'arrangement' else 'first scenes'}"
                            "; nothing to read")
    record = store_song(ws, song, provenance(params={"max_scenes": max_scenes, "view": view,
                                                     "live": str(b.target)}))
    return SongReadResult(**artifact_summary(record).model_dump(), sections=[s.name for s in song.sections],
                          skipped=skipped)


@tool(family="live", title="Write clip automation", read_only=False, destructive=True, idempotent=True)
async def write_automation(
    ctx: Context,
    track: TrackIndex,
    slot: Annotated[int | None, Field(ge=0, le=999, description="Session clip slot.")] = None,
    arrangement_index: Annotated[int | None, Field(ge=0, description="Or the track's n-th Arrangement clip: the "
                                                   "envelope is written in a Session clip and copied there (the "
                                                   "clip is replaced by the copy).")] = None,
    parameter: Annotated[str, Field(max_length=200, description="'volume', 'pan', 'send:0', 'device:D:P' "
                                    "(device and parameter indices) or 'Device name/Parameter name'.",
                                    examples=["volume", "Auto Filter/Frequency"])] = "volume",
    points: Annotated[list[AutomationPoint] | None, Field(max_length=20_000, description="Breakpoints, "
                                                          "joined by straight lines.")] = None,
    shape: Annotated[AutomationShape | None, Field(description="Or a shape: ramp, exponential, sine LFO, "
                                                   "steps.")] = None,
    resolution: Annotated[float, Field(ge=MIN_RESOLUTION, le=16, description="Beats per automation step.")] = 0.25,
    replace: Annotated[bool, Field(description="Clear the parameter's envelope in this clip first.")] = True,
) -> AutomationResult:
    """Write a clip envelope for a mixer or device parameter (raw range; the result shows it as Live does, e.g.
    Hz), every step read back. Arrangement clips go through a Session copy. Needs the companion.

    Example: {"track": 0, "slot": 0, "parameter": "Auto Filter/Frequency",
              "shape": {"kind": "ramp", "start": 0, "end": 16, "from_value": 40, "to_value": 130}}."""
    if (points is None) == (shape is None):
        raise LiveloomError("give either points or shape")
    if (slot is None) == (arrangement_index is None):
        raise LiveloomError("give either slot (a Session clip) or arrangement_index (an Arrangement clip)")
    if points is not None:
        steps = points_to_steps([(p.beat, p.value) for p in points], resolution)
    else:
        steps = shape_steps(shape.kind, start=shape.start, end=shape.end, from_value=shape.from_value,
                            to_value=shape.to_value, resolution=resolution, rate=shape.rate, values=shape.values)
    b = await live_bridge(ctx)
    await b.require_companion("Writing automation")
    target = await b.resolve_parameter(track, parameter)
    if arrangement_index is not None:
        await ctx.report_progress(0, 1, "writing through a Session copy")
        result = await b.write_arrangement_automation(track, arrangement_index, target, steps)
        where = str(ClipRef(track, arrangement_index=result.pop("arrangement_index")))
        result.pop("start", None)
        return AutomationResult(where=where, **result)
    result = await b.write_automation(ClipRef(track, slot=slot), target, steps, replace=replace)
    return AutomationResult(where=str(ClipRef(track, slot=slot)), **result)


@tool(family="live", title="Write a song into Live", read_only=False, destructive=True, idempotent=False)
async def write_song(
    ctx: Context,
    id: Annotated[str, Field(max_length=64, description="A song (or clip) artifact.")],
    mode: Annotated[Literal["session", "arrangement"], Field(
        description="session: one new track per song track, sections as named scenes; arrangement: clips at "
                    "their positions (needs the companion script).")] = "session",
    first_scene: Annotated[int, Field(ge=0, le=999)] = 0,
    instruments: Annotated[str | dict[str, str], Field(
        description="'auto': each new track gets a fitting instrument for its role and the style; 'none': "
                    "empty tracks; or per track name a browser item (or 'auto'/'none'), e.g. "
                    "{\"Bass\": \"Sub Bass\", \"Drums\": \"909 Core Kit\"}.")] = "auto",
    style: Annotated[str | None, Field(max_length=40, description="Choose sounds for this style (default: the "
                                       "style the song was composed in, when known).")] = None,
) -> SongWriteResult:
    """Put a song into Live in one call: new tracks with instruments, clips in scenes named after sections or in
    the Arrangement, the song's tempo; all verified, or rolled back.

    Example: {"id": "song_3f9a2b1c0d", "instruments": {"drums": "909 Core Kit"}}."""
    ws = services(ctx).workspace
    record, song = ws.load_song(id)
    style = style or _style_of(record)
    await ctx.report_progress(0, 1, f"writing {len(song.tracks)} tracks")
    result = await (await live_bridge(ctx)).write_song(song, mode=mode, first_scene=first_scene,
                                                   instruments=instruments, style=style)
    await ctx.report_progress(1, 1, "verified")
    return SongWriteResult(**result)


@tool(family="live", title="Set a device parameter", read_only=False, destructive=True, idempotent=True)
async def set_device_parameter(
    ctx: Context,
    track: Annotated[int | str, Field(description="A track index, 'return:N' or 'master'.")],
    device: Annotated[int, Field(ge=0, le=999, description="Device index on the track.")],
    parameter: Annotated[str, Field(max_length=120, description="Parameter name, or its index as text.")],
    value: Annotated[float | str, Field(description="A raw number in the parameter's own range, or a value as "
                                        "Live shows it with its unit: '2 kHz', '-6 dB', '35 %', '250 ms' "
                                        "(needs the companion script).", examples=["2 kHz", 0.5])],
) -> ParameterResult:
    """Set one device parameter and read it back (with the value as Live displays it, e.g. '1.99 kHz').

    Example: {"track": 0, "device": 0, "parameter": "Frequency", "value": "800 Hz"}."""
    p: int | str = int(parameter) if parameter.strip().isdigit() else parameter
    text = value.strip() if isinstance(value, str) else None
    if text is not None and _plain_number(text):
        value, text = float(text), None
        if not math.isfinite(value):
            raise LiveloomError("value must be a finite number, not NaN or infinity")
    return ParameterResult(**await (await live_bridge(ctx)).set_device_parameter(track, device, p, text or value))


@tool(family="live", title="Transport", read_only=False, destructive=True, idempotent=True)
async def transport(
    ctx: Context,
    action: Annotated[Literal["play", "stop", "tempo", "time_signature", "loop", "status"],
                      Field(description="What to do.")],
    tempo: Annotated[float | None, Field(ge=20, le=999)] = None,
    numerator: Annotated[int | None, Field(ge=1, le=99)] = None,
    denominator: Annotated[Literal[1, 2, 4, 8, 16] | None, Field()] = None,
    loop: bool | None = None,
    loop_start: Annotated[float | None, Field(ge=0, le=MAX_SONG_BEATS)] = None,
    loop_length: Annotated[float | None, Field(gt=0, le=MAX_SONG_BEATS)] = None,
) -> TransportState:
    """Play, stop, set tempo, time signature or the loop; returns the transport as read back from Live.

    Example: {"action": "tempo", "tempo": 92}."""
    b = await live_bridge(ctx)
    if action == "tempo" and tempo is None:
        raise LiveloomError("action 'tempo' needs tempo")
    if action == "time_signature" and (numerator is None or denominator is None):
        raise LiveloomError("action 'time_signature' needs numerator and denominator")
    if action == "loop" and loop is None:
        raise LiveloomError("action 'loop' needs loop (true or false)")
    value = tempo if action == "tempo" else (float(loop) if action == "loop" else None)
    state = await b.transport(action, value, numerator, denominator, loop_start, loop_length)
    return TransportState(**state)


@tool(family="live", title="Fire a clip or scene", read_only=False, idempotent=False)
async def fire(
    ctx: Context,
    track: Annotated[int | None, Field(ge=0, le=999)] = None,
    slot: Annotated[int | None, Field(ge=0, le=999)] = None,
    scene: Annotated[int | None, Field(ge=0, le=999, description="Fire a whole scene instead.")] = None,
) -> SimpleResult:
    """Launch a clip (track and slot) or a scene. Live starts it at its next launch quantization.

    Example: {"scene": 0}."""
    b = await live_bridge(ctx)
    if scene is not None and track is None and slot is None:
        await b.fire_scene(scene)
        return SimpleResult(done=f"fired scene {scene}")
    if track is None or slot is None or scene is not None:
        raise LiveloomError("give track and slot (a clip), or scene alone")
    await b.fire_clip(track, slot)
    return SimpleResult(done=f"fired the clip at track {track}, slot {slot}")


@tool(family="live", title="Undo in Live", read_only=False, destructive=True, idempotent=False)
async def undo(ctx: Context) -> SimpleResult:
    """Undo Live's last change (one liveloom request is one step: after delete, undo brings it back). Says what
    changed.

    Example: {}."""
    return SimpleResult(done=await (await live_bridge(ctx)).undo())


def _plain_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _style_of(record) -> str | None:
    """The style an artifact was made in, when its provenance says (compose, arrange, restyle)."""
    params = getattr(getattr(record, "provenance", None), "params", None) or {}
    style = params.get("style") or params.get("target_style")
    return str(style) if isinstance(style, str) else None
