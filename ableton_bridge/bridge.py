"""What liveloom does to a Live set, each write verified by reading it back.

`LiveBridge` sits on an `OSCClient` and knows which Remote Script answers: stock AbletonOSC
(notes, clips, tracks, devices, transport) or LiveloomOSC (all of that plus Live 11 note fields,
clip automation, Arrangement clips, request ids and acks). Tools that need the companion say so.

On any failure mid-write, what this call created is removed again (a new clip or track is
deleted; a replaced clip gets its old notes back), and the error names what was written, what
was not, and whether the rollback worked.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from typing import Literal

from liveloom.music.errors import LiveloomError
from liveloom.music.notes import no_overlaps
from liveloom.music.types import Clip, Note

from .client import MAX_DATAGRAM, LiveCommandError, LiveUnavailable, OSCClient, build_message
from .live_set import LiveSetOps, WriteFailed
from .target import LiveTarget

INSTALL_HELP = (
    "Is Live running with a Remote Script selected? Install liveloom's companion with "
    "`liveloom install-remote-script`, restart Live, and choose 'LiveloomOSC' as a Control Surface in "
    "Preferences > Link, Tempo & MIDI (stock AbletonOSC also works, with fewer tools). "
    "Without Live, start liveloom with `--live sim` for the simulated set."
)
COMPANION_TOOLS = ("write_automation", "write_clip at an Arrangement position",
                   "Live 11 note fields (probability, velocity deviation, release velocity)",
                   "browse_devices", "load_device (and instruments on new tracks)", "set_mixer",
                   "values with units in set_device_parameter", "write_audio_clip and audio tracks",
                   "Arrangement clips in get_session and read_song")
TIME_TOLERANCE = 1e-3  # beats; AbletonOSC sends float32 times
STOCK_NOTE_BYTES = 24
STOCK_READ_NOTES = 1500  # notes per read-back window (about 38 KB of reply)
IN_FLIGHT = 8  # datagrams sent before waiting: Live drains its socket only once per ~100 ms tick
EXT_NOTE_BYTES = 60


@dataclass
class Capabilities:
    target: str
    live_version: str | None = None
    companion: bool = False
    companion_version: str | None = None

    @property
    def script(self) -> str:
        return f"LiveloomOSC {self.companion_version}" if self.companion else "AbletonOSC (stock)"

    @property
    def needs_companion(self) -> list[str]:
        return [] if self.companion else list(COMPANION_TOOLS)


@dataclass
class ClipRef:
    """Where a clip lives: a Session slot, or an Arrangement clip by index on its track."""

    track: int
    slot: int | None = None
    arrangement_index: int | None = None

    @property
    def kind(self) -> str:
        return "session" if self.slot is not None else "arrangement"

    @property
    def index(self) -> int:
        return self.slot if self.slot is not None else int(self.arrangement_index or 0)

    def __str__(self) -> str:
        if self.slot is not None:
            return f"track {self.track}, slot {self.slot}"
        return f"track {self.track}, Arrangement clip {self.arrangement_index}"


@dataclass
class WriteReport:
    ref: ClipRef
    notes_written: int
    notes_verified: int
    mode: str
    created: bool
    datagrams: int
    round_trips: int
    method: str
    checks: list[str] = field(default_factory=list)


def _note_key(pitch: int, start: float, duration: float) -> tuple:
    return (int(pitch), round(start / TIME_TOLERANCE), round(duration / TIME_TOLERANCE))


def _f32(value: float) -> float:
    """AbletonOSC sends float32 (17.530000686 for 17.53): keep float32's 7 significant digits."""
    return float(f"{float(value):.7g}")


def _chunks(items: list, per: int) -> list[list]:
    return [items[i:i + per] for i in range(0, len(items), per)] or [[]]


class LiveBridge(LiveSetOps):
    def __init__(self, target: LiveTarget, *, timeout: float = 1.0, retries: int = 2):
        self.target = target
        self.client = OSCClient(target.host, target.port, target.reply_port, timeout=timeout, retries=retries)
        self.caps: Capabilities | None = None
        self._companion_known = False  # only an answer settles it: a lost datagram is asked again
        self._lock = asyncio.Lock()

    async def close(self) -> None:
        await self.client.close()

    # ------------------------------------------------------------------ connection

    async def connect(self, refresh: bool = False) -> Capabilities:
        await self.client.start()
        if self.caps is None or refresh:
            try:
                await self.client.query("/live/test", retries=1)
            except LiveUnavailable:
                self.caps = None
                raise LiveUnavailable(f"Live is not answering at {self.target}. {INSTALL_HELP}") from None
            caps = Capabilities(target=str(self.target))
            major, minor = (await self.client.query("/live/application/get/version"))[:2]
            caps.live_version = f"{int(major)}.{int(minor)}"
            self.caps, self._companion_known = caps, False
        if not self._companion_known:
            await self._probe_companion(self.caps)
        return self.caps

    async def _probe_companion(self, caps: Capabilities) -> None:
        """Is the companion script there? Its reply says yes; stock AbletonOSC's /live/error for the unknown
        address says no. Silence settles nothing (a datagram may have been lost): it counts as no for now and is
        asked again on the next call, rather than switching the companion off for the session."""
        try:
            script_version, full = await self.client.request("/liveloom/test", retries=2, timeout=0.5)
            caps.companion, caps.companion_version, caps.live_version = True, str(script_version), str(full)
            self._companion_known = True
        except LiveCommandError:
            caps.companion, self._companion_known = False, True
        except LiveUnavailable:
            caps.companion = False

    async def require_companion(self, what: str) -> Capabilities:
        caps = await self.connect()
        if not caps.companion:
            raise LiveloomError(
                f"{what} needs liveloom's companion Remote Script; Live is running stock AbletonOSC, whose "
                "protocol has no way to do it. Install it with `liveloom install-remote-script` and select "
                "'LiveloomOSC' in Live's Control Surface preferences."
            )
        return caps

    # ------------------------------------------------------------------ reading the set

    async def track_names(self) -> list[str]:
        return [str(n) for n in await self.client.query("/live/song/get/track_names")]

    async def check_track(self, track: int, names: list[str] | None = None) -> list[str]:
        """The set's track names, after checking that `track` is one of them (fetched unless given)."""
        if track is None:
            raise LiveloomError("give track (a track index, 0 = first; see get_session)")
        names = names if names is not None else await self.track_names()
        if not 0 <= track < len(names):
            raise LiveloomError(f"track {track} does not exist; the set has {len(names)} tracks "
                                f"(0-{len(names) - 1}: {', '.join(names[:12])}). Use get_session or create_track.")
        return names

    async def num_scenes(self) -> int:
        return int((await self.client.query("/live/song/get/num_scenes"))[0])

    async def session(self, max_scenes: int = 16, parameters: bool = False) -> dict:
        """The set as an agent needs it: tempo, meter, scenes; per track its kind, mixer, devices, Session clips and
        (with the companion) Arrangement clips; return tracks and the main track."""
        caps = await self.connect()
        names = await self.track_names()
        scenes = await self.num_scenes()
        tempo = float((await self.client.query("/live/song/get/tempo"))[0])
        num = int((await self.client.query("/live/song/get/signature_numerator"))[0])
        den = int((await self.client.query("/live/song/get/signature_denominator"))[0])
        playing = bool((await self.client.query("/live/song/get/is_playing"))[0])
        shown = min(scenes, max_scenes)
        has = await asyncio.gather(*[self.client.query("/live/clip_slot/get/has_clip", t, s)
                                     for t in range(len(names)) for s in range(shown)])
        if caps.companion:
            infos = await asyncio.gather(*[self.track_info(t) for t in range(len(names))])
        else:
            devices = await asyncio.gather(*[self.client.query("/live/track/get/devices/name", t)
                                             for t in range(len(names))])
            infos = [{"devices": [{"name": str(d)} for d in devices[t]]} for t in range(len(names))]
        tracks = []
        for t, name in enumerate(names):
            flags = [bool(has[t * shown + s][0]) for s in range(shown)]
            clips = []
            for s, full in enumerate(flags):
                if full:
                    clip_name = (await self.client.query("/live/clip/get/name", t, s))[0]
                    length = (await self.client.query("/live/clip/get/length", t, s))[0]
                    clips.append({"slot": s, "name": str(clip_name), "length": float(length)})
            entry = {"index": t, "name": name, "devices": [d["name"] for d in infos[t]["devices"]], "clips": clips}
            if caps.companion:
                entry.update(self._mixer_summary(infos[t]), kind=infos[t]["kind"],
                             arrangement=[{"start": c["start"], "length": c["length"], "name": c["name"]}
                                          for c in infos[t]["arrangement"]])
                if parameters:
                    entry["parameters"] = await self._parameter_summary(str(t), infos[t])
            tracks.append(entry)
        out = {"live_version": caps.live_version, "script": caps.script, "tempo": tempo,
               "time_signature": f"{num}/{den}", "playing": playing, "scenes": scenes,
               "scenes_shown": shown, "tracks": tracks}
        if caps.companion:
            n_returns = int((await self.client.query("/live/song/get/num_return_tracks"))[0])
            returns = []
            for i in range(n_returns):
                info = await self.track_info(f"return:{i}")
                entry = {"index": i, "name": info["name"], "devices": [d["name"] for d in info["devices"]],
                         **self._mixer_summary(info)}
                if parameters:
                    entry["parameters"] = await self._parameter_summary(f"return:{i}", info)
                returns.append(entry)
            master = await self.track_info("master")
            out["returns"] = returns
            out["master"] = {"name": master["name"], "devices": [d["name"] for d in master["devices"]],
                             **self._mixer_summary(master)}
            named = [s["name"] + (f" ({s['tempo']:g} BPM)" if s["tempo"] else "")
                     for s in (await self.scenes_info())[:shown]]
            out["scene_names"] = named if any(named) else None
        return out

    @staticmethod
    def _mixer_summary(info: dict) -> dict:
        parts = [info["volume"], info["pan"]]
        parts += [f"send {chr(65 + i)} {v}" for i, v in enumerate(info["sends"]) if not v.startswith("-inf")]
        parts += [flag for flag in ("mute", "solo", "arm") if info.get(flag)]
        return {"mixer": ", ".join(parts)}

    async def _parameter_summary(self, scope: str, info: dict) -> dict[str, list[str]]:
        out = {}
        for d, dev in enumerate(info["devices"]):
            detail = await self.device_info(scope, d)
            out[f"{d}:{dev['name']}"] = [f"{p['name']} {p['display']}" for p in detail["parameters"]]
        return out

    async def has_clip(self, track: int, slot: int) -> bool:
        return bool((await self.client.query("/live/clip_slot/get/has_clip", track, slot))[0])

    async def read_notes(self, ref: ClipRef, length_hint: float | None = None,
                         expected_starts: list[float] | None = None) -> list[Note]:
        caps = await self.connect()
        if caps.companion:
            page = 256

            async def fetch(offset: int) -> list:
                return await self.client.request("/liveloom/clip/get/notes", ref.kind, ref.track, ref.index,
                                                 offset, page)

            first = await fetch(0)
            total = int(first[0])
            gate = asyncio.Semaphore(IN_FLIGHT)

            async def gated(offset: int) -> list:
                async with gate:
                    return await fetch(offset)

            # pages carry request ids, so they can all be in flight at once
            rest = await asyncio.gather(*[gated(o) for o in range(page, total, page)])
            out: list[Note] = []
            for reply in [first, *rest]:
                fields = reply[1:]
                for k in range(0, len(fields), 8):
                    p, st, du, ve, mu, pr, vd, rv = fields[k:k + 8]
                    out.append(Note(pitch=int(p), start=max(0.0, float(st)), duration=float(du),
                                    velocity=max(1, min(127, round(ve))), mute=bool(mu),
                                    probability=min(1.0, max(0.0, float(pr))),
                                    velocity_deviation=round(vd), release_velocity=round(rv)))
            if len(out) != total:
                raise WriteFailed(f"read {len(out)} notes but Live reports {total}; the clip changed while reading")
            return out
        if ref.slot is None:
            raise LiveloomError("reading Arrangement clips needs the companion Remote Script")
        length = length_hint or _f32((await self.client.query("/live/clip/get/length", ref.track, ref.slot))[0])
        return await self._stock_read_notes(ref, length, expected_starts)

    async def _stock_read_notes(self, ref: ClipRef, length: float, expected_starts: list[float] | None) -> list[Note]:
        """AbletonOSC's reply names neither the range nor a request, so windows are read one at a time, each reply
        checked against its window; windows are sized to stay well inside one datagram."""
        if expected_starts:
            starts = sorted(expected_starts)
            edges = [0.0] + [starts[i] for i in range(STOCK_READ_NOTES, len(starts), STOCK_READ_NOTES)]
            edges = sorted(set(edges))
            windows = [(a, b - a) for a, b in zip(edges, edges[1:] + [max(length, starts[-1]) + 1.0])]
        else:
            step = 16.0
            windows = [(w * step, step) for w in range(int(math.ceil(max(length, 1e-9) / step)))]
        out: list[Note] = []
        for w0, span in windows:
            def inside(values, w0=w0, span=span):
                return len(values) % 5 == 0 and all(w0 - 1e-4 <= values[k + 1] < w0 + span + 1e-4
                                                    for k in range(0, len(values), 5))

            fields = await self.client.query("/live/clip/get/notes", ref.track, ref.slot, 0, 128, float(w0),
                                             float(span), index_count=2, accept=inside)
            await asyncio.sleep(0.002)  # let a duplicated reply arrive before the next query of the same key
            for k in range(0, len(fields), 5):
                p, st, du, ve, mu = fields[k:k + 5]
                out.append(Note(pitch=int(p), start=max(0.0, _f32(st)), duration=max(_f32(du), 1e-6),
                                velocity=max(1, min(127, round(ve))), mute=bool(mu)))
        out.sort(key=lambda n: (n.start, n.pitch))
        return out

    async def read_clip(self, ref: ClipRef) -> Clip:
        caps = await self.connect()
        await self.check_track(ref.track)
        if caps.companion:
            info = await self.client.request("/liveloom/clip/info", ref.kind, ref.track, ref.index)
            name, length, looping, loop_start, loop_end = info[:5]
            if len(info) > 8 and info[8]:
                raise LiveloomError(f"the clip at {ref} is an audio clip ({info[9] or name}); only MIDI clips "
                                    "can be read as notes (transcribe the file for that)")
        else:
            if ref.slot is None:
                raise LiveloomError("reading Arrangement clips needs the companion Remote Script")
            if not await self.has_clip(ref.track, ref.slot):
                raise LiveloomError(f"there is no clip at {ref}")
            q = self.client.query
            name = (await q("/live/clip/get/name", ref.track, ref.slot))[0]
            length = _f32((await q("/live/clip/get/length", ref.track, ref.slot))[0])
            looping = (await q("/live/clip/get/looping", ref.track, ref.slot))[0]
            loop_start = _f32((await q("/live/clip/get/loop_start", ref.track, ref.slot))[0])
            loop_end = _f32((await q("/live/clip/get/loop_end", ref.track, ref.slot))[0])
        notes = await self.read_notes(ref, float(length))
        end = max([float(length)] + [n.end for n in notes])
        tempo = float((await self.client.query("/live/song/get/tempo"))[0])
        return Clip(name=str(name) or "clip", notes=notes, length=end, loop=bool(looping),
                    loop_start=float(loop_start), loop_end=min(float(loop_end), end) if loop_end else None,
                    tempo=tempo)

    # ------------------------------------------------------------------ writing notes

    def _note_datagrams(self, ref: ClipRef, notes: list[Note], companion: bool) -> list[tuple[int | None, bytes]]:
        if companion:
            per = max(1, (MAX_DATAGRAM - 96) // EXT_NOTE_BYTES)
            out = []
            for chunk in _chunks(notes, per):
                args = []
                for n in chunk:
                    args += [n.pitch, float(n.start), float(n.duration), float(n.velocity), n.mute,
                             float(n.probability), float(n.velocity_deviation), float(n.release_velocity)]
                out.append(self.client.prepare("/liveloom/clip/add/notes", ref.kind, ref.track, ref.index, *args))
            return out
        per = max(1, (MAX_DATAGRAM - 64) // STOCK_NOTE_BYTES)
        out = []
        for chunk in _chunks(notes, per):
            args = []
            for n in chunk:
                args += [n.pitch, float(n.start), float(n.duration), n.velocity, n.mute]
            out.append((None, build_message("/live/clip/add/notes", (ref.track, ref.index, *args))))
        return out

    async def _send_notes(self, ref: ClipRef, notes: list[Note], companion: bool) -> tuple[int, int]:
        """Send notes; -> (datagrams, notes acknowledged or sent). Raises WriteFailed with counts."""
        if not notes:
            return 0, 0
        grams = self._note_datagrams(ref, notes, companion)
        per = math.ceil(len(notes) / len(grams))
        if not companion:
            for i in range(0, len(grams), IN_FLIGHT):  # a window of datagrams, then a barrier round trip
                for _, data in grams[i:i + IN_FLIGHT]:
                    self.client._send_bytes(data)
                await self.client.query("/live/test")
            return len(grams), len(notes)
        gate = asyncio.Semaphore(IN_FLIGHT)

        async def one(req: int, data: bytes):
            async with gate:
                return await self.client.await_ack(req, data)

        results = await asyncio.gather(*[one(req, data) for req, data in grams], return_exceptions=True)
        done = sum(min(per, len(notes) - i * per) for i, r in enumerate(results) if not isinstance(r, BaseException))
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise WriteFailed(f"{done} of {len(notes)} notes acknowledged; {errors[0]}")
        return len(grams), len(notes)

    def _verify(self, expected: list[Note], got: list[Note], companion: bool) -> list[str]:
        """Differences between what was meant and what Live holds, in words (empty when identical)."""
        def key(n: Note):
            return _note_key(n.pitch, n.start, n.duration)

        want: dict[tuple, list[Note]] = {}
        for n in expected:
            want.setdefault(key(n), []).append(n)
        problems = []
        seen = set()
        for n in got:
            k = key(n)
            if k not in want or not want[k]:
                problems.append(f"unexpected note {n.pitch} at beat {n.start:g} (length {n.duration:g})")
                continue
            w = want[k].pop()
            seen.add(id(w))
            if w.velocity != n.velocity or w.mute != n.mute:
                problems.append(f"note {n.pitch} at beat {n.start:g}: velocity/mute {n.velocity}/{n.mute}, "
                                f"meant {w.velocity}/{w.mute}")
            if companion and (abs(w.probability - n.probability) > 1e-3 or w.velocity_deviation !=
                              n.velocity_deviation or w.release_velocity != n.release_velocity):
                problems.append(f"note {n.pitch} at beat {n.start:g}: Live 11 fields differ")
        missing = [n for ns in want.values() for n in ns]
        problems += [f"missing note {n.pitch} at beat {n.start:g}" for n in missing[:5]]
        if len(missing) > 5:
            problems.append(f"... {len(missing) - 5} more missing notes")
        return problems

    @staticmethod
    def _live_notes(notes: list[Note]) -> list[Note]:
        """What Live will hold after its overlap rule: no two overlapping notes of one pitch (the later one wins)."""
        return no_overlaps(notes, same_start="keep_last")

    async def write_clip(self, clip: Clip, *, track: int, slot: int | None = None, position: float | None = None,
                         mode: Literal["new", "replace", "merge"] = "new", name: str | None = None,
                         color: int | None = None, loop: bool | None = None) -> WriteReport:
        async with self._lock:
            return await self._write_clip(clip, track=track, slot=slot, position=position, mode=mode, name=name,
                                          color=color, loop=loop)

    async def _write_clip(self, clip, *, track, slot, position, mode, name, color, loop) -> WriteReport:
        caps = await self.connect()
        if position is not None:
            await self.require_companion("Writing to the Arrangement")
        uses_live11 = any(n.probability < 1 or n.velocity_deviation or n.release_velocity != 64 for n in clip.notes)
        if uses_live11 and not caps.companion:
            raise LiveloomError("this clip uses Live 11 note fields (probability, velocity deviation or release "
                                "velocity) that stock AbletonOSC cannot write; install the companion Remote Script "
                                "(`liveloom install-remote-script`) or strip those fields")
        rt0, dg0 = self.client.round_trips, self.client.datagrams_sent
        names, scenes = await asyncio.gather(self.track_names(), self.num_scenes())
        await self.check_track(track, names)
        created = False
        old_notes: list[Note] | None = None
        method = "LiveloomOSC extensions" if caps.companion else "AbletonOSC"
        if position is not None:
            idx, how = await self.client.request("/liveloom/arrangement/create_midi_clip", track,
                                                 float(position), float(clip.length))
            ref, created, method = ClipRef(track, arrangement_index=int(idx)), True, f"{method} ({how})"
        else:
            assert slot is not None
            if not 0 <= slot < scenes:
                raise LiveloomError(f"slot {slot} does not exist; the set has {scenes} scenes (0-{scenes - 1})")
            ref = ClipRef(track, slot=slot)
            occupied = await self.has_clip(track, slot)
            if occupied and mode == "new":
                raise LiveloomError(f"{ref} already holds a clip; pass mode='replace' to overwrite its notes "
                                    "(the old notes are kept in case of failure) or mode='merge' to add to them")
            if not occupied:
                await self._create_clip(ref, clip.length, caps.companion)
                created = True
            elif mode == "replace":
                old_notes = await self.read_notes(ref)
        expected = list(clip.notes)
        try:
            if old_notes is not None:
                await self._remove_all_notes(ref, caps.companion)
            elif mode == "merge" and not created:
                expected = (await self.read_notes(ref)) + expected
            datagrams, _ = await self._send_notes(ref, clip.notes, caps.companion)
            expected = self._live_notes(expected)
            starts = [n.start for n in expected]
            _, got = await asyncio.gather(  # different reply keys: safe to run side by side
                self._set_clip_props(ref, caps.companion, name or clip.name, color, clip, loop),
                self.read_notes(ref, clip.length, starts))
            problems = self._verify(expected, got, caps.companion)
            for _ in range(2):
                if not problems:
                    break
                if not caps.companion:
                    # stock: a lost datagram means missing notes; re-send only those (adding a note Live already
                    # holds replaces it, so this cannot duplicate), then read everything again
                    have = {_note_key(n.pitch, n.start, n.duration) for n in got}
                    resend = [n for n in expected if _note_key(n.pitch, n.start, n.duration) not in have]
                    if resend:
                        await self._send_notes(ref, resend, False)
                got = await self.read_notes(ref, clip.length, starts)
                problems = self._verify(expected, got, caps.companion)
            if problems:
                raise WriteFailed("read-back differs from what was written: " + "; ".join(problems[:6]))
        except (LiveloomError, asyncio.TimeoutError) as exc:
            rollback = await self._rollback_clip(ref, created, old_notes, caps.companion)
            raise WriteFailed(f"writing {len(clip.notes)} notes to {ref} failed: {exc}. {rollback}") from None
        return WriteReport(ref=ref, notes_written=len(clip.notes), notes_verified=len(got), mode=mode,
                           created=created, datagrams=self.client.datagrams_sent - dg0,
                           round_trips=self.client.round_trips - rt0, method=method,
                           checks=[f"read back {len(got)} notes from Live: every pitch, start, length, velocity and "
                                   f"mute{' and Live 11 field' if caps.companion else ''} matches"])

    async def _create_clip(self, ref: ClipRef, length: float, companion: bool) -> None:
        """Create an empty clip in a slot and confirm it. When creation cannot be confirmed (a reply lost), the slot
        may still hold the clip Live made: it is deleted again like any failed write's, and the error says what the
        slot holds now."""
        try:
            # safe to re-send: creating a clip in a filled slot fails instead of making a second clip
            if await self._send_until(lambda: self.client.send("/live/clip_slot/create_clip", ref.track, ref.index,
                                                               float(length)),
                                      lambda: self.has_clip(ref.track, ref.index)):
                return
            reason = (self.client.errors_since(0)[-1:] or ["no error message"])[0]
        except (LiveloomError, asyncio.TimeoutError) as exc:
            reason = str(exc)
        try:  # what does the slot hold now? (read back, not assumed)
            present: bool | None = await self.has_clip(ref.track, ref.index)
        except (LiveloomError, asyncio.TimeoutError):
            present = None
        state = (f"{ref} is empty, as it was." if present is False
                 else await self._rollback_clip(ref, True, None, companion))
        raise WriteFailed(f"Live did not confirm a new clip at {ref} ({reason}); nothing was written. {state}")

    async def _send_until(self, send, confirmed, attempts: int = 4) -> bool:
        """Fire-and-forget `send` (only for idempotent messages), until the read-back `confirmed()` holds."""
        for _ in range(attempts):
            send()
            if await confirmed():
                return True
        return False

    async def _remove_all_notes(self, ref: ClipRef, companion: bool) -> None:
        if companion:
            await self.client.request("/liveloom/clip/remove/notes", ref.kind, ref.track, ref.index)
        else:
            self.client.send("/live/clip/remove/notes", ref.track, ref.index)

    async def _set_clip_props(self, ref: ClipRef, companion: bool, name: str, color: int | None, clip: Clip,
                              loop: bool | None) -> None:
        looping = clip.loop if loop is None else loop
        loop_end = clip.loop_end if clip.loop_end is not None else clip.length
        if companion:
            await self.client.request("/liveloom/clip/set", ref.kind, ref.track, ref.index, name[:120],
                                      -1 if color is None else int(color), bool(looping), float(clip.loop_start),
                                      float(loop_end))
            return
        t, s = ref.track, ref.index

        def send_all():
            self.client.send("/live/clip/set/name", t, s, name[:120])
            self.client.send("/live/clip/set/looping", t, s, bool(looping))
            self.client.send("/live/clip/set/loop_end", t, s, float(loop_end))
            self.client.send("/live/clip/set/loop_start", t, s, float(clip.loop_start))
            if color is not None:
                self.client.send("/live/clip/set/color", t, s, int(color))

        async def check():
            got_name = (await self.client.query("/live/clip/get/name", t, s))[0]
            got_loop = bool((await self.client.query("/live/clip/get/looping", t, s))[0])
            got_end = _f32((await self.client.query("/live/clip/get/loop_end", t, s))[0])
            return got_name == name[:120] and got_loop == bool(looping) and abs(got_end - loop_end) < 1e-3

        if not await self._send_until(send_all, check):  # setting a property twice is harmless
            raise WriteFailed(f"the clip's name and loop did not read back as set at {ref}")

    async def _rollback_clip(self, ref: ClipRef, created: bool, old_notes: list[Note] | None,
                             companion: bool) -> str:
        try:
            if created:
                if companion:
                    await self.client.request("/liveloom/clip/delete", ref.kind, ref.track, ref.index, retries=1)
                else:
                    self.client.send("/live/clip_slot/delete_clip", ref.track, ref.index)
                    if await self.has_clip(ref.track, ref.index):
                        raise LiveCommandError("the clip is still there")
                return f"Rolled back: the new clip at {ref} was deleted; the set is as it was."
            if old_notes is not None:
                await self._remove_all_notes(ref, companion)
                await self._send_notes(ref, old_notes, companion)
                if self._verify(self._live_notes(old_notes), await self.read_notes(ref), companion):
                    raise LiveCommandError("the old notes did not read back")
                return f"Rolled back: the clip at {ref} has its {len(old_notes)} original notes again."
            return f"Notes merged into the existing clip at {ref} may be partly written; use undo in Live to remove them."
        except (LiveloomError, asyncio.TimeoutError) as exc:
            what = (f"delete the clip at {ref}" if created else f"restore the clip at {ref} with Live's Undo")
            return f"Rollback failed too ({exc}): {what} by hand."

    # ------------------------------------------------------------------ tracks, devices, transport

    async def create_track(self, name: str, index: int = -1) -> int:
        async with self._lock:
            return await self._create_track(name, index)

    async def _create_track(self, name: str, index: int = -1) -> int:
        caps = await self.connect()
        before = await self.track_names()
        if index > len(before):
            raise LiveloomError(f"index {index} is past the end; the set has {len(before)} tracks")
        if caps.companion:  # one request id: however often the datagram arrives, one track
            new, _ = await self.client.request("/liveloom/track/create", index, name[:120])
            return int(new)
        # Stock AbletonOSC has no request ids: re-sent only when the read-back shows it never arrived, and a
        # track that arrives twice anyway (a duplicated or delayed datagram) is deleted again
        for _ in range(3):
            self.client.send("/live/song/create_midi_track", index)
            after = await self.track_names()
            if len(after) != len(before):
                break
        new = len(before) if index == -1 else index
        await asyncio.sleep(0.2)  # let a late duplicate land before counting
        after = await self.track_names()
        for _ in range(len(after) - len(before) - 1):  # surplus empty tracks, beside the new one
            self.client.send("/live/song/delete_track", new + 1 if index != -1 else len(after) - 1)
            after = await self.track_names()
        if len(after) != len(before) + 1:
            raise WriteFailed(f"Live did not create the track (the set has {len(after)} tracks, had "
                              f"{len(before)}) " + "; ".join(self.client.errors_since(0)[-1:]))

        async def named():
            return (await self.client.query("/live/track/get/name", new))[0] == name[:120]

        if not await self._send_until(lambda: self.client.send("/live/track/set/name", new, name[:120]), named):
            raise WriteFailed(f"the new track {new} did not take the name {name[:120]!r}")
        return new

    async def tempo(self) -> float:
        return float((await self.client.query("/live/song/get/tempo"))[0])

    async def device_names(self, track: int) -> list[str]:
        return [str(d) for d in await self.client.query("/live/track/get/devices/name", track, index_count=1)]

    async def resolve_parameter(self, track: int, parameter: str) -> str:
        """'volume' | 'pan' | 'send:N' | 'device:D:P' | 'Device name/Parameter name' -> the script's target form,
        with a clear error naming what the track has when a device or parameter is not there."""
        p = parameter.strip()
        low = p.lower()
        if low in ("volume", "pan") or low.startswith("send:") or low.startswith("device:"):
            return low
        if "/" not in p:
            raise LiveloomError(f"parameter {parameter!r} is not 'volume', 'pan', 'send:N', 'device:D:P' or "
                                "'Device name/Parameter name'")
        dev_name, par_name = (x.strip() for x in p.split("/", 1))
        await self.check_track(track)
        devices = await self.device_names(track)
        if dev_name.lower() not in [d.lower() for d in devices]:
            raise LiveloomError(f"track {track} has no device {dev_name!r}; it has: {', '.join(devices) or 'none'}")
        d = [x.lower() for x in devices].index(dev_name.lower())
        return f"device:{d}:{_parameter_of(devices[d], await self.parameters(track, d), par_name)['index']}"

    async def fire_scene(self, scene: int) -> None:
        """Launch a scene (Live starts it at its next launch quantization)."""
        await self.connect()
        n = await self.num_scenes()
        if scene >= n:
            raise LiveloomError(f"scene {scene} does not exist; the set has {n} scenes")
        self.client.send("/live/scene/fire", scene)
        await self.client.query("/live/test")  # Live has handled the fire once it answers this

    async def fire_clip(self, track: int, slot: int) -> None:
        """Launch the clip in a slot; an empty slot is an error, not a silent stop."""
        await self.connect()
        await self.check_track(track)
        if not await self.has_clip(track, slot):
            raise LiveloomError(f"there is no clip at track {track}, slot {slot} to fire")
        self.client.send("/live/clip_slot/fire", track, slot)
        await self.client.query("/live/test")

    async def undo(self) -> str:
        """Live's own undo of the last change; says what changed in the set's outline, as read back."""
        async with self._lock:
            await self.connect()
            if not (await self.client.query("/live/song/get/can_undo"))[0]:
                raise LiveloomError("Live has nothing to undo")
            before = await self._outline()
            self.client.send("/live/song/undo")  # never re-sent: a second undo would undo more
            await self.client.query("/live/test")
            after = await self._outline()
        diff = [f"{k} {before[k]} -> {after[k]}" for k in before if before[k] != after[k]]
        return "undid the last change in Live" + (": " + "; ".join(diff) if diff else
                                                  " (inside a clip, device or mixer: tracks, clips, scenes and tempo "
                                                  "read back as before)")

    async def _outline(self) -> dict:
        names = await self.track_names()
        scenes = await self.num_scenes()
        has = await asyncio.gather(*[self.client.query("/live/clip_slot/get/has_clip", t, s)
                                     for t in range(len(names)) for s in range(min(scenes, 64))])
        return {"tracks": len(names), "scenes": scenes, "session clips": sum(bool(h[0]) for h in has),
                "tempo": round(await self.tempo(), 3)}

    async def parameters(self, track: int, device: int) -> list[dict]:
        names = (await self.client.query("/live/device/get/parameters/name", track, device))
        values = (await self.client.query("/live/device/get/parameters/value", track, device))
        mins = (await self.client.query("/live/device/get/parameters/min", track, device))
        maxs = (await self.client.query("/live/device/get/parameters/max", track, device))
        return [{"index": i, "name": str(n), "value": _f32(v), "min": _f32(lo), "max": _f32(hi)}
                for i, (n, v, lo, hi) in enumerate(zip(names, values, mins, maxs))]

    async def set_device_parameter(self, track: int | str, device: int, parameter: int | str,
                                   value: float | str) -> dict:
        caps = await self.connect()
        if caps.companion:
            return await self._set_device_parameter_companion(track, device, parameter, value)
        if isinstance(value, str) or not str(track).strip().isdigit():
            await self.require_companion("Values with units, and return or main tracks,")
        track = int(track)
        await self.check_track(track)
        devices = await self.client.query("/live/track/get/devices/name", track, index_count=1)
        if not 0 <= device < len(devices):
            raise LiveloomError(f"track {track} has {len(devices)} devices ({', '.join(map(str, devices)) or 'none'})"
                                f"; device {device} does not exist")
        p = _parameter_of(str(devices[device]), await self.parameters(track, device), parameter)
        if not p["min"] <= value <= p["max"]:
            raise LiveloomError(f"{p['name']} takes values from {p['min']:g} to {p['max']:g}, not {value:g}")
        self.client.send("/live/device/set/parameter/value", track, device, p["index"], float(value))
        got = _f32((await self.client.query("/live/device/get/parameter/value", track, device, p["index"]))[0])
        if abs(got - value) > max(1e-4, 1e-4 * abs(p["max"] - p["min"])):
            raise WriteFailed(f"{p['name']} reads back as {got:g}, not {value:g}")
        return {"device": str(devices[device]), "parameter": p["name"], "value": got, "min": p["min"],
                "max": p["max"]}

    async def _set_device_parameter_companion(self, track: int | str, device: int, parameter: int | str,
                                              value: float | str) -> dict:
        scope = await self.resolve_scope(track)
        devices = (await self.track_info(scope))["devices"]
        if not 0 <= device < len(devices):
            raise LiveloomError(f"track {scope} has {len(devices)} devices ({', '.join(d['name'] for d in devices) or 'none'}"
                                f"); device {device} does not exist")
        params = (await self.device_info(scope, device))["parameters"]
        index = _parameter_of(devices[device]["name"], params, parameter)["index"]
        r = await self.set_parameter(scope, f"device:{device}:{index}", value)
        return {"device": devices[device]["name"], "parameter": r["parameter"], "value": _f32(r["value"]),
                "display": r["display"], "min": _f32(r["min"]), "max": _f32(r["max"]), "range": r["range"]}

    async def parameter_info(self, track: int, target: str) -> dict:
        return await self.parameter_info_full(str(track), target)

    async def write_automation(self, ref: ClipRef, target: str, steps: list[tuple[float, float, float]],
                               replace: bool = True) -> dict:
        async with self._lock:
            return await self._write_automation(ref, target, steps, replace)

    async def _write_automation(self, ref: ClipRef, target: str, steps: list[tuple[float, float, float]],
                                replace: bool = True) -> dict:
        await self.require_companion("Writing automation")
        await self.check_track(ref.track)
        info = await self.parameter_info(ref.track, target)
        bad = [v for _, _, v in steps if not info["min"] <= v <= info["max"]]
        if bad:
            raise LiveloomError(f"{info['name']} takes values from {info['min']:g} to {info['max']:g}; "
                                f"{len(bad)} points are outside (e.g. {bad[0]:g})")
        if replace:
            await self.client.request("/liveloom/automation/clear", ref.kind, ref.track, ref.index, target)
        written = 0
        per = max(1, (MAX_DATAGRAM - 128) // 27)
        try:
            for chunk in _chunks(steps, per):
                args = [x for step in chunk for x in (float(step[0]), float(step[1]), float(step[2]))]
                written += int((await self.client.request("/liveloom/automation/write", ref.kind, ref.track,
                                                          ref.index, target, *args))[0])
            probe = [s + min(d / 2, 1e-3) for s, d, _ in steps]
            values: list[float] = []
            for chunk in _chunks(probe, 400):
                reply = await self.client.request("/liveloom/automation/read", ref.kind, ref.track, ref.index,
                                                  target, *chunk)
                if not reply[0]:
                    raise WriteFailed("the envelope is missing after writing it")
                values += [float(v) for v in reply[1:]]
            wrong = [(s, v, got) for (s, _, v), got in zip(steps, values) if abs(v - got) > 1e-4 * max(
                1.0, info["max"] - info["min"])]
            if wrong:
                s, v, got = wrong[0]
                raise WriteFailed(f"{len(wrong)} automation points read back wrong (beat {s:g}: {got:g}, "
                                  f"meant {v:g})")
        except (LiveloomError, asyncio.TimeoutError) as exc:
            try:
                await self.client.request("/liveloom/automation/clear", ref.kind, ref.track, ref.index, target,
                                          retries=1)
                rb = "Rolled back: the envelope was cleared."
            except LiveloomError as exc2:
                rb = f"Rollback failed too ({exc2}): clear the envelope of {info['name']} in Live by hand."
            raise WriteFailed(f"writing automation of {info['name']} at {ref} failed after {written} of "
                              f"{len(steps)} points: {exc}. {rb}") from None
        first, last = await self.parameter_strings(str(ref.track), target, [steps[0][2], steps[-1][2]])
        return {"parameter": info["name"], "min": info["min"], "max": info["max"], "points_written": written,
                "points_verified": len(values), "range": f"{info.get('min_display', '')} .. "
                f"{info.get('max_display', '')}", "shown": f"{first} .. {last}"}

    async def transport(self, action: str, value: float | None = None, numerator: int | None = None,
                        denominator: int | None = None, loop_start: float | None = None,
                        loop_length: float | None = None) -> dict:
        await self.connect()
        c = self.client
        if action == "play":
            c.send("/live/song/start_playing")
        elif action == "stop":
            c.send("/live/song/stop_playing")
        elif action == "tempo":
            c.send("/live/song/set/tempo", float(value))
        elif action == "time_signature":
            c.send("/live/song/set/signature_numerator", int(numerator))
            c.send("/live/song/set/signature_denominator", int(denominator))
        elif action == "loop":
            c.send("/live/song/set/loop", bool(value))
            if loop_start is not None:
                c.send("/live/song/set/loop_start", float(loop_start))
            if loop_length is not None:
                c.send("/live/song/set/loop_length", float(loop_length))
        state = {
            "playing": bool((await c.query("/live/song/get/is_playing"))[0]),
            "tempo": float((await c.query("/live/song/get/tempo"))[0]),
            "time_signature": f"{int((await c.query('/live/song/get/signature_numerator'))[0])}/"
                              f"{int((await c.query('/live/song/get/signature_denominator'))[0])}",
            "loop": bool((await c.query("/live/song/get/loop"))[0]),
        }
        checks = {"status": True, "play": state["playing"], "stop": not state["playing"],
                  "tempo": value is not None and abs(state["tempo"] - float(value)) < 1e-3,
                  "time_signature": state["time_signature"] == f"{numerator}/{denominator}",
                  "loop": value is not None and state["loop"] == bool(value)}
        if not checks[action]:
            errs = c.errors_since(0)[-1:]
            raise WriteFailed(f"Live did not take the {action} change (now: {state})" + (f": {errs[0]}" if errs else ""))
        return state

    # ------------------------------------------------------------------ whole songs

    async def write_song(self, song, *, mode: Literal["session", "arrangement"] = "session",
                         first_scene: int = 0, instruments: str | dict[str, str] = "auto",
                         style: str | None = None) -> dict:
        """Every track of `song` becomes a new MIDI track with a fitting instrument (by role and style, unless
        `instruments` is "none" or names one per track). Session: sections become named scenes (clips go to the
        scene of the section they start in); Arrangement: clips at their positions. All or nothing."""
        async with self._lock:
            return await self._write_song(song, mode=mode, first_scene=first_scene, instruments=instruments,
                                          style=style)

    async def _load_instruments(self, song, live_tracks: list[int], instruments, style) -> list[dict]:
        from .sounds import role_of

        loaded = []
        for t_index, track in enumerate(song.tracks):
            choice = instruments.get(track.name, "auto") if isinstance(instruments, dict) else instruments
            if choice == "none":
                continue
            if choice == "auto":
                role = role_of(track.name, track.role or next((pc.clip.role for pc in track.clips if pc.clip.role),
                                                              None), track.is_drum, track.instrument)
                got = await self.fit_instrument(live_tracks[t_index], role, style)
                loaded.append({"track": live_tracks[t_index], "role": role, "instrument": got["instrument"]})
            else:
                got = await self._load_device(live_tracks[t_index], choice)
                loaded.append({"track": live_tracks[t_index], "role": "given", "instrument": got["name"]})
        return loaded

    async def _write_song(self, song, *, mode, first_scene: int, instruments="auto", style=None) -> dict:
        caps = await self.connect()
        if mode == "arrangement":
            await self.require_companion("Writing a song to the Arrangement")
        placements = _scene_plan(song) if mode == "session" else []
        if mode == "session":  # checked before anything is written
            scenes = await self.num_scenes()
            if first_scene > scenes:
                raise LiveloomError(f"first_scene {first_scene} is past the end of the set, which has {scenes} scenes; "
                                    f"start at {scenes} or before (the song's scenes are added after the last one)")
        created_tracks: list[int] = []
        created_scenes = 0
        written: list[dict] = []
        tracks_before, scenes_before = len(await self.track_names()), await self.num_scenes()
        rt0, dg0 = self.client.round_trips, self.client.datagrams_sent
        try:
            if mode == "session":
                needed = first_scene + max((p["scene"] for p in placements), default=-1) + 1
                scenes = await self.num_scenes()
                for _ in range(max(0, needed - scenes)):
                    self.client.send("/live/song/create_scene", -1)
                    created_scenes += 1
                if created_scenes and await self.num_scenes() < needed:
                    raise WriteFailed("Live did not create the scenes the song needs")
                for k, name in enumerate(_scene_names(song, placements)):
                    if name:  # renaming is idempotent: re-sent until it reads back
                        index = first_scene + k
                        if not await self._send_until(
                                lambda i=index, n=name: self.client.send("/live/scene/set/name", i, n[:120]),
                                lambda i=index, n=name: self._equals(self.client.query("/live/scene/get/name", i),
                                                                     n[:120])):
                            raise WriteFailed(f"scene {index} did not take the name {name[:120]!r}")
            live_tracks = []
            for track in song.tracks:  # in order: each new track's index depends on the ones before
                live_tracks.append(await self._create_track(track.name))
                created_tracks.append(live_tracks[-1])
            gate = asyncio.Semaphore(4)

            async def put(t_index: int, c_index: int, placed) -> None:
                clip = placed.clip.model_copy(update={"tempo": song.tempo})
                live_track = live_tracks[t_index]
                async with gate:
                    if mode == "session":
                        scene = next(p["scene"] for p in placements if p["track"] == t_index and p["clip"] == c_index)
                        report = await self._write_clip(clip, track=live_track, slot=first_scene + scene, position=None,
                                                        mode="new", name=None, color=None, loop=None)
                    else:
                        report = await self._write_clip(clip, track=live_track, slot=None, position=placed.start,
                                                        mode="new", name=None, color=None, loop=None)
                written.append({"track": live_track, "name": song.tracks[t_index].name, "where": str(report.ref),
                                "notes": report.notes_verified})

            jobs = [put(t, c, placed) for t, track in enumerate(song.tracks) for c, placed in enumerate(track.clips)]
            if mode == "arrangement":  # Arrangement clips are indexed by position on their track: one at a time
                for job in jobs:
                    await job
            else:
                results = await asyncio.gather(*jobs, return_exceptions=True)
                failures = [r for r in results if isinstance(r, BaseException)]
                if failures:
                    raise failures[0]
            written.sort(key=lambda w: (w["track"], w["where"]))
            loaded = []
            if instruments != "none" and caps.companion:
                loaded = await self._load_instruments(song, live_tracks, instruments, style)
            self.client.send("/live/song/set/tempo", float(song.tempo))
            if abs(float((await self.client.query("/live/song/get/tempo"))[0]) - song.tempo) > 1e-3:
                raise WriteFailed("Live did not take the song's tempo")
        except (LiveloomError, asyncio.TimeoutError) as exc:
            rollback = await self._rollback_song(created_tracks, created_scenes, tracks_before, scenes_before)
            done = ", ".join(f"{w['name']} ({w['notes']} notes)" for w in written) or "no clips"
            raise WriteFailed(f"writing the song failed: {exc}. Written and verified before the failure: {done}. "
                              f"{rollback}") from None
        if instruments != "none" and not caps.companion:
            loaded = [{"track": -1, "role": "", "instrument": "none: loading instruments needs the companion script"}]
        return {"tracks": created_tracks, "clips": written, "scenes_created": created_scenes, "mode": mode,
                "instruments": loaded,
                "notes_verified": sum(w["notes"] for w in written), "round_trips": self.client.round_trips - rt0,
                "datagrams": self.client.datagrams_sent - dg0, "script": caps.script}

    async def _rollback_song(self, tracks: list[int], scenes: int, tracks_before: int, scenes_before: int) -> str:
        """Delete what the failed write made — each deletion confirmed by reading the set back, re-sent if it was
        lost — and say what the set holds afterwards, as read back (never what was only intended)."""
        try:
            # the song's tracks are appended, so every track from index tracks_before on is one of them (also one
            # whose creation was not confirmed when the write failed)
            for _ in range(len(tracks) + 2):
                n = len(await self.track_names())
                if n <= tracks_before:
                    break
                await self._send_until(lambda n=n: self.client.send("/live/song/delete_track", n - 1),
                                       lambda n=n: self._count_is(self.track_names, n - 1))
            for _ in range(scenes):
                n = await self.num_scenes()
                if n <= scenes_before:
                    break
                await self._send_until(lambda n=n: self.client.send("/live/song/delete_scene", n - 1),
                                       lambda n=n: self._count_is(self.num_scenes, n - 1))
            now_tracks, now_scenes = len(await self.track_names()), await self.num_scenes()
        except (LiveloomError, asyncio.TimeoutError) as exc:
            return (f"Rollback could not be checked ({exc}): the set may still hold new tracks (from index "
                    f"{tracks_before}) and scenes (from {scenes_before}); delete them in Live by hand, or use Undo.")
        if now_tracks == tracks_before and now_scenes == scenes_before:
            return (f"Rolled back: the {len(tracks)} new tracks" + (f" and {scenes} new scenes" if scenes else "")
                    + f" were deleted; read back, the set has its {tracks_before} tracks and {scenes_before} scenes "
                    "as before.")
        return (f"Rolled back only partly: read back, the set has {now_tracks} tracks (had {tracks_before}) and "
                f"{now_scenes} scenes (had {scenes_before}); delete the tracks from index {tracks_before} and the "
                f"scenes from {scenes_before} in Live by hand, or use Undo.")

    async def _count_is(self, read, n: int) -> bool:
        value = await read()
        return (len(value) if isinstance(value, list) else value) == n

    async def read_song(self, max_scenes: int = 64, view: str = "session") -> tuple[object, list[str]]:
        """The set as a song. Session: every clip read back, scenes laid end to end as sections (each as long as its
        longest clip). Arrangement: every MIDI clip at its position (needs the companion). Drum tracks (a Drum Rack,
        or notes that read as a kit) are marked. -> (Song, notes on what could not be read)."""
        from liveloom.music.types import Section, Song, TimeSignature

        caps = await self.connect()
        names = await self.track_names()
        clips, skipped = {}, []
        if view == "arrangement":
            await self.require_companion("Reading the Arrangement")
            infos = await asyncio.gather(*[self.track_info(t) for t in range(len(names))])
            for t, info in enumerate(infos):
                for i, c in enumerate(info["arrangement"]):
                    if c["audio"]:
                        skipped.append(f"track {t}, Arrangement clip {i} ({c['name']}): an audio clip")
                        continue
                    try:
                        clips[(t, i)] = (c["start"], await self.read_clip(ClipRef(t, arrangement_index=i)))
                    except LiveloomError as exc:
                        skipped.append(f"track {t}, Arrangement clip {i}: {exc}")
            sections = []
        else:
            infos = await asyncio.gather(*[self.track_info(t) for t in range(len(names))]) if caps.companion else []
            scenes = min(await self.num_scenes(), max_scenes)
            has = await asyncio.gather(*[self.client.query("/live/clip_slot/get/has_clip", t, s)
                                         for t in range(len(names)) for s in range(scenes)])
            occupied = [(t, s) for t in range(len(names)) for s in range(scenes) if has[t * scenes + s][0]]
            read = {}
            for t, s in occupied:
                try:
                    read[(t, s)] = await self.read_clip(ClipRef(t, slot=s))
                except LiveloomError as exc:
                    skipped.append(f"track {t}, slot {s}: {exc}")
            scene_names = [str((await self.client.query("/live/scene/get/name", s))[0]) for s in range(scenes)]
            starts, sections, pos = {}, [], 0.0
            for s in range(scenes):
                lengths = [c.length for (t, s2), c in read.items() if s2 == s]
                if not lengths:
                    continue
                starts[s] = pos
                sections.append(Section(name=scene_names[s] or f"Scene {s + 1}", start=pos, length=max(lengths)))
                pos += max(lengths)
            clips = {(t, s): (starts[s], c) for (t, s), c in read.items()}
        tempo = float((await self.client.query("/live/song/get/tempo"))[0])
        num = int((await self.client.query("/live/song/get/signature_numerator"))[0])
        den = int((await self.client.query("/live/song/get/signature_denominator"))[0])
        tracks = []
        for t, name in enumerate(names):
            drum_rack = bool(infos) and any(d.get("class") == "DrumGroupDevice" for d in infos[t]["devices"])
            track = _song_track(name, [v for (t2, _), v in sorted(clips.items()) if t2 == t], drum_rack)
            if track is not None:
                tracks.append(track)
        song = Song(name="Live set", tempo=tempo, time_signature=TimeSignature(numerator=num, denominator=den),
                    sections=sections, tracks=tracks)
        return song, skipped


def _song_track(name: str, placed: list[tuple[float, object]], drum_rack: bool):
    """A song track of clips read from Live; a drum track when it holds a Drum Rack or its notes read as a kit."""
    from liveloom.music.analysis import KIT_PITCHES, looks_like_drums
    from liveloom.music.types import PlacedClip, Track

    if not placed:
        return None
    notes = [n for _, c in placed for n in c.notes]
    named = any(w in name.lower() for w in ("drum", "kit", "beat", "perc"))
    on_kit = sum(n.pitch in KIT_PITCHES for n in notes) / len(notes) if notes else 0.0
    is_drum = drum_rack or (bool(notes) and (looks_like_drums(notes) or (named and on_kit >= 0.8)))
    clips = [PlacedClip(start=start, clip=c.model_copy(update={"is_drum": is_drum})) for start, c in placed]
    return Track(name=name, clips=clips, is_drum=is_drum, role="drums" if is_drum else None)


def _parameter_of(device: str, params: list[dict], parameter: int | str) -> dict:
    """A device's parameter by name (any case) or index, or an error naming what the device has."""
    if isinstance(parameter, str):
        match = [p for p in params if p["name"].lower() == parameter.strip().lower()]
        if not match:
            raise LiveloomError(f"device {device!r} has no parameter {parameter!r}; it has: "
                                + ", ".join(p["name"] for p in params))
        return match[0]
    if not 0 <= parameter < len(params):
        raise LiveloomError(f"device {device!r} has parameters 0-{len(params) - 1}")
    return params[parameter]


def _scene_plan(song) -> list[dict]:
    """Which scene each placed clip goes to: the index of the section it starts in, else of its distinct start."""
    placements = []
    if song.sections:
        sections = sorted(song.sections, key=lambda s: s.start)
        for t, track in enumerate(song.tracks):
            for c, placed in enumerate(track.clips):
                idx = max((i for i, s in enumerate(sections) if s.start <= placed.start + 1e-9), default=0)
                placements.append({"track": t, "clip": c, "scene": idx})
    else:
        starts = sorted({round(pc.start, 6) for track in song.tracks for pc in track.clips})
        for t, track in enumerate(song.tracks):
            for c, placed in enumerate(track.clips):
                placements.append({"track": t, "clip": c, "scene": starts.index(round(placed.start, 6))})
    seen = set()
    for p in placements:
        key = (p["track"], p["scene"])
        if key in seen:
            raise LiveloomError(f"track {p['track']} has two clips in one scene; give the song sections that "
                                "separate them, or write it to the Arrangement")
        seen.add(key)
    return placements


def _scene_names(song, placements: list[dict]) -> list[str]:
    if song.sections:
        return [s.name for s in sorted(song.sections, key=lambda s: s.start)]
    count = max((p["scene"] for p in placements), default=-1) + 1
    return [""] * count
