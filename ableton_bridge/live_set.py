"""The Live set beyond notes: tracks of every kind, the mixer, devices from the browser, parameters in their
units, scenes, audio clips, the Arrangement, deleting and duplicating — each write read back.

Mixed into `LiveBridge` (it uses the bridge's client, connection and clip writing). Most of it needs the
companion script (Live's browser, display strings and audio clips are beyond AbletonOSC's protocol); what
stock AbletonOSC can do (delete, duplicate, rename, scenes, mute/solo/arm) goes through its addresses.
"""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

from liveloom.music.errors import LiveloomError

from . import display
from .sounds import BROWSER_KINDS

SCOPE_HELP = "a track index (0 = first), 'return:N' (or a return track's name, e.g. 'A-Reverb') or 'master'"


class WriteFailed(LiveloomError):
    """A write Live did not take, or that did not read back as written (the message says what the set holds)."""


def _version_tuple(text: str | None) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in str(text).split(".")[:3])
    except ValueError:
        return (0,)


class LiveSetOps:
    # ------------------------------------------------------------------ tracks of every kind

    async def resolve_scope(self, track: int | str) -> str:
        """An index, 'master', 'return:N' or a return track's name -> the script's scope text (checked)."""
        text = str(track).strip()
        if text.lstrip("-").isdigit():
            await self.check_track(int(text))
            return str(int(text))
        low = text.lower()
        if low in ("master", "main"):
            return "master"
        await self.require_companion("Return and main tracks")
        n = int((await self.client.query("/live/song/get/num_return_tracks"))[0])
        names = [(await self.track_info(f"return:{i}"))["name"] for i in range(n)]
        if low.startswith("return:") and low[7:].isdigit():
            i = int(low[7:])
            if i < n:
                return f"return:{i}"
        elif low in [x.lower() for x in names]:
            return f"return:{[x.lower() for x in names].index(low)}"
        raise LiveloomError(f"{track!r} is not a track here; give {SCOPE_HELP}. Return tracks: "
                            + (", ".join(f"return:{i} {x}" for i, x in enumerate(names)) or "none"))

    async def track_info(self, scope: int | str) -> dict:
        r = list(await self.client.request("/liveloom/track/info", str(scope)))
        kind, name, mute, solo, arm, volume, pan, n_sends = r[:8]
        pos = 8
        sends = [str(x) for x in r[pos:pos + int(n_sends)]]
        pos += int(n_sends)
        n_dev = int(r[pos])
        pos += 1
        devices = [{"name": str(r[pos + 3 * i]), "class": str(r[pos + 3 * i + 1]), "type": int(r[pos + 3 * i + 2])}
                   for i in range(n_dev)]
        pos += 3 * n_dev
        n_arr = int(r[pos])
        pos += 1
        arrangement = [{"start": float(r[pos + 4 * i]), "length": float(r[pos + 4 * i + 1]),
                        "name": str(r[pos + 4 * i + 2]), "audio": bool(r[pos + 4 * i + 3])} for i in range(n_arr)]
        return {"kind": str(kind), "name": str(name), "mute": bool(mute), "solo": bool(solo), "arm": bool(arm),
                "volume": str(volume), "pan": str(pan), "sends": sends, "devices": devices,
                "arrangement": arrangement}

    async def scenes_info(self) -> list[dict]:
        r = list(await self.client.request("/liveloom/scene/info"))
        n, out = int(r[0]), []
        for i in range(n):
            name, tempo, num, den, empty = r[1 + 5 * i:6 + 5 * i]
            out.append({"index": i, "name": str(name), "tempo": float(tempo) if float(tempo) > 0 else None,
                        "time_signature": f"{int(num)}/{int(den)}" if int(num) > 0 else None, "empty": bool(empty)})
        return out

    async def create_track_of_kind(self, name: str, index: int, kind: str) -> int:
        """A named MIDI or audio track (audio needs the companion); verified by reading the name back."""
        if kind == "midi":
            return await self._create_track(name, index)
        await self.require_companion("Creating an audio track")
        before = await self.track_names()
        if index > len(before):
            raise LiveloomError(f"index {index} is past the end; the set has {len(before)} tracks")
        new, _ = await self.client.request("/liveloom/track/create", index, name[:120], "audio")
        info = await self.track_info(int(new))
        if info["kind"] != "audio" or info["name"] != name[:120]:
            raise WriteFailed(f"the new track {new} reads back as {info['kind']} {info['name']!r}")
        return int(new)

    # ------------------------------------------------------------------ the browser and devices

    async def browse(self, query: str, kind: str = "any", offset: int = 0, limit: int = 20,
                     refresh: bool = False) -> dict:
        await self.require_companion("Searching Live's browser")
        if kind not in BROWSER_KINDS:
            raise LiveloomError(f"kind {kind!r} is not one of {', '.join(BROWSER_KINDS)}")
        r = list(await self.client.request("/liveloom/browser/search", query, kind, int(offset), int(limit),
                                           bool(refresh), timeout=5.0))
        total, complete = int(r[0]), bool(r[1])
        items = [{"name": str(r[k]), "kind": str(r[k + 1]), "uri": str(r[k + 2]), "path": str(r[k + 3]),
                  "device": bool(r[k + 4])} for k in range(2, len(r), 5)]
        return {"total": total, "complete": complete, "items": items}

    async def find_item(self, item: str, kind: str = "any") -> dict:
        """A browser item by URI, or by name (its file name without extension); ambiguous names are an error
        listing the candidates."""
        if item.startswith("query:") or "#" in item:
            return {"name": item, "uri": item, "kind": kind}
        found = await self.browse(item, kind, 0, 50)
        stem = item.strip().lower()
        exact = [i for i in found["items"] if i["name"].rsplit(".", 1)[0].lower() == stem
                 or i["name"].lower() == stem]
        if not exact:
            near = ", ".join(f"{i['name']} ({i['kind']})" for i in found["items"][:8])
            raise LiveloomError(f"Live's browser has no item named {item!r}" + (f" in {kind}" if kind != "any" else "")
                                + (f"; close: {near}" if near else "; try browse_devices with a shorter text"))
        devices = [i for i in exact if i["device"]]
        kinds = {i["kind"] for i in exact}
        if len(exact) > 1 and not devices and len(kinds) > 1:
            raise LiveloomError(f"{item!r} names {len(exact)} browser items ("
                                + ", ".join(f"{i['path']}/{i['name']}" for i in exact[:6])
                                + "); give kind or the item's uri from browse_devices")
        return (devices or exact)[0]

    async def load_device(self, track: int | str, item: str, kind: str = "any", position: int = -1) -> dict:
        async with self._lock:
            return await self._load_device(track, item, kind, position)

    async def _load_device(self, track: int | str, item: str, kind: str = "any", position: int = -1) -> dict:
        await self.require_companion("Loading devices from Live's browser")
        scope = await self.resolve_scope(track)
        found = await self.find_item(item, kind)
        before = [d["name"] for d in (await self.track_info(scope))["devices"]]
        index, name, class_name, _n, replaced = await self.client.request(
            "/liveloom/device/load", scope, found["uri"], int(position), timeout=5.0)
        chain = (await self.track_info(scope))["devices"]
        for _ in range(10):  # Live may finish loading on a later tick
            if int(index) >= 0 or len(chain) != len(before) or [d["name"] for d in chain] != before:
                break
            await asyncio.sleep(0.1)
            chain = (await self.track_info(scope))["devices"]
        names = [d["name"] for d in chain]
        if int(index) < 0:
            new = [i for i, d in enumerate(names) if d not in before]
            if not new:
                raise WriteFailed(f"Live did not load {found['name']} on track {scope}: its devices read back as "
                                     f"{', '.join(names) or 'none'}")
            index, name, class_name = new[0], names[new[0]], chain[new[0]]["class"]
        if int(index) >= len(chain) or chain[int(index)]["name"] != str(name):
            raise WriteFailed(f"after loading {found['name']}, track {scope}'s devices read back as "
                                 f"{', '.join(names)}")
        return {"track": scope, "device": int(index), "name": str(name), "class_name": str(class_name),
                "uri": found["uri"], "chain": names, "replaced": [x for x in str(replaced).split(", ") if x]}

    async def device_info(self, scope: str, device: int) -> dict:
        r = list(await self.client.request("/liveloom/device/info", scope, int(device)))
        params = [{"index": k, "name": str(r[3 + 6 * k]), "value": float(r[4 + 6 * k]), "min": float(r[5 + 6 * k]),
                   "max": float(r[6 + 6 * k]), "quantized": bool(r[7 + 6 * k]), "display": str(r[8 + 6 * k])}
                  for k in range((len(r) - 3) // 6)]
        return {"name": str(r[0]), "class_name": str(r[1]), "type": int(r[2]), "parameters": params}

    # ------------------------------------------------------------------ parameters in their units

    async def parameter_strings(self, scope: str, target: str, values: list[float]) -> list[str]:
        out: list[str] = []
        for k in range(0, len(values), 64):
            out += [str(s) for s in await self.client.request("/liveloom/parameter/strings", scope, target,
                                                              *[float(v) for v in values[k:k + 64]])]
        return out

    async def parameter_info_full(self, scope: str, target: str) -> dict:
        r = await self.client.request("/liveloom/parameter/info", scope, target)
        info = {"name": str(r[0]), "min": float(r[1]), "max": float(r[2]), "value": float(r[3]),
                "quantized": bool(r[4])}
        if len(r) >= 8:
            info.update(display=str(r[5]), min_display=str(r[6]), max_display=str(r[7]))
        return info

    async def display_to_value(self, scope: str, target: str, text: str, info: dict | None = None) -> float:
        """The raw value whose display is `text` ('-6 dB', '2 kHz', '30 %', '25L', 'On'), found by reading
        Live's display strings over the range (three requests of 64), never by assuming a curve."""
        info = info or await self.parameter_info_full(scope, target)
        lo, hi, name = info["min"], info["max"], info["name"]
        if info["quantized"] and hi - lo <= 127:
            values = [float(v) for v in range(int(math.ceil(lo)), int(math.floor(hi)) + 1)]
            shown = await self.parameter_strings(scope, target, values)
            norm = [s.strip().lower() for s in shown]
            if text.strip().lower() in norm:
                return values[norm.index(text.strip().lower())]
            want = display.parse_display(text)
            got = [display.parse_display(s) for s in shown]
            hits = [v for v, g in zip(values, got) if want and g and abs(g[0] - want[0]) < 1e-9]
            if hits:
                return hits[0]
            raise LiveloomError(f"{name} takes one of: {', '.join(shown[:24])}; {text!r} is not among them")
        want = display.parse_display(text)
        if want is None:
            raise LiveloomError(f"{text!r} is not a value liveloom can read: give a number with a unit as Live shows "
                                f"it ('-6 dB', '2 kHz', '35 %', '250 ms', '25L', 'C'), or the raw value")
        target_value, want_unit = want
        values = display.grid(lo, hi, 64)
        shown = await self.parameter_strings(scope, target, values)
        parsed_full = [display.parse_display(s) for s in shown]
        display.check_unit(name, want_unit, shown, parsed_full)
        parsed = [p[0] if p is not None else math.nan for p in parsed_full]
        finite = [p for p in parsed if not math.isnan(p)]
        low_end, high_end = min(finite), max(finite)
        if not low_end - 1e-9 <= target_value <= high_end + 1e-9:
            raise LiveloomError(f"{name} goes from {shown[0]} to {shown[-1]}; {text!r} is outside that")
        for _ in range(2):
            a, b = display.bracket(target_value, values, parsed)
            if a == b:
                break
            values = display.grid(a, b, 64)
            shown = await self.parameter_strings(scope, target, values)
            parsed = [p[0] if p is not None else math.nan for p in (display.parse_display(s) for s in shown)]
        i, _ = display.closest(target_value, values, parsed)
        return values[i]

    async def set_parameter(self, scope: str, target: str, value: float | str) -> dict:
        """Set a mixer or device parameter (raw number, or a display value with its unit) and read it back."""
        info = await self.parameter_info_full(scope, target)
        raw = await self.display_to_value(scope, target, value, info) if isinstance(value, str) else float(value)
        if not info["min"] <= raw <= info["max"]:
            raise LiveloomError(f"{info['name']} takes values from {info['min']:g} to {info['max']:g} "
                                f"({info.get('min_display', '')} to {info.get('max_display', '')}), not {raw:g}")
        got, shown = await self.client.request("/liveloom/parameter/set", scope, target, float(raw))
        back = await self.parameter_info_full(scope, target)
        if abs(back["value"] - float(got)) > 1e-6 or abs(float(got) - raw) > max(1e-4, 1e-4 * (info["max"] -
                                                                                                 info["min"])):
            if not info["quantized"]:
                raise WriteFailed(f"{info['name']} reads back as {back['value']:g} ({back.get('display')}), "
                                     f"not {raw:g}")
        return {"parameter": info["name"], "value": back["value"], "display": back.get("display", str(shown)),
                "min": info["min"], "max": info["max"], "range": f"{info.get('min_display', '')} .. "
                f"{info.get('max_display', '')}"}

    async def set_mixer(self, track: int | str, *, volume: str | float | None = None, pan: str | float | None = None,
                        sends: dict[str, str | float] | None = None, mute: bool | None = None,
                        solo: bool | None = None, arm: bool | None = None) -> dict:
        """Every value is checked and turned into Live's raw value before anything is written; then each is
        written and read back. If one fails, the ones already written are set back to what they were."""
        async with self._lock:
            await self.require_companion("The mixer")
            scope = await self.resolve_scope(track)
            info = await self.track_info(scope)
            for prop, val in (("mute", mute), ("solo", solo), ("arm", arm)):
                if val is not None and (info["kind"] == "master" or (prop == "arm" and info["kind"] == "return")):
                    raise LiveloomError(f"the {info['kind']} track has no {prop} button")
            plan: list[tuple[str, str, float]] = []  # (label, target, raw value)
            asked: list[tuple[str, str, str | float]] = []
            if volume is not None:
                asked.append(("volume", "volume", f"{volume} dB" if isinstance(volume, (int, float)) else volume))
            if pan is not None:
                asked.append(("pan", "pan", pan if isinstance(pan, str) else
                              (f"{abs(pan):g}{'L' if pan < 0 else 'R'}" if pan else "C")))
            for key, val in (sends or {}).items():
                n = await self._send_index(scope, key, len(info["sends"]))
                asked.append((f"send {chr(65 + n)}", f"send:{n}", f"{val} dB" if isinstance(val, (int, float))
                              else val))
            for label, target, text in asked:
                plan.append((label, target, await self.display_to_value(scope, target, str(text))))
            done: list[tuple[str, object]] = []  # (target or prop, previous value) to restore on failure
            changes: list[str] = []
            try:
                for label, target, raw in plan:
                    before = (await self.parameter_info_full(scope, target))["value"]
                    r = await self.set_parameter(scope, target, raw)
                    done.append((target, before))
                    changes.append(f"{label} {r['display']}")
                for prop, val in (("mute", mute), ("solo", solo), ("arm", arm)):
                    if val is None:
                        continue
                    got = (await self.client.request("/liveloom/track/set", scope, prop, bool(val)))[0]
                    done.append((prop, info[prop]))
                    if bool(got) != bool(val):
                        raise WriteFailed(f"{prop} reads back as {bool(got)}")
                    changes.append(f"{prop} {'on' if val else 'off'}")
                after = await self.track_info(scope)
                for prop, val in (("mute", mute), ("solo", solo), ("arm", arm)):
                    if val is not None and after[prop] != bool(val):
                        raise WriteFailed(f"{prop} reads back as {after[prop]}")
            except (LiveloomError, asyncio.TimeoutError) as exc:
                raise WriteFailed(f"setting the mixer of track {scope} failed: {exc}. "
                                     + await self._restore_mixer(scope, done)) from None
            return {"track": scope, "name": after["name"], "changed": changes, "volume": after["volume"],
                    "pan": after["pan"], "sends": after["sends"], "mute": after["mute"], "solo": after["solo"],
                    "arm": after["arm"]}

    async def _restore_mixer(self, scope: str, done: list[tuple[str, object]]) -> str:
        if not done:
            return "Nothing was changed."
        try:
            for what, before in reversed(done):
                if what in ("mute", "solo", "arm"):
                    await self.client.request("/liveloom/track/set", scope, what, bool(before))
                else:
                    await self.client.request("/liveloom/parameter/set", scope, what, float(before))
            now = await self.track_info(scope)
            return (f"Rolled back: {', '.join(w for w, _ in done)} set back; read back, the track shows "
                    f"{now['volume']}, {now['pan']}.")
        except (LiveloomError, asyncio.TimeoutError) as exc:
            return f"Setting back what was changed failed too ({exc}): check {', '.join(w for w, _ in done)} in Live."

    async def _send_index(self, scope: str, key: str, n_sends: int) -> int:
        k = str(key).strip()
        if k.isdigit():
            i = int(k)
        elif len(k) == 1 and k.isalpha():
            i = ord(k.upper()) - 65
        else:
            names = [(await self.track_info(f"return:{j}"))["name"].lower() for j in range(n_sends)]
            i = names.index(k.lower()) if k.lower() in names else -1
        if not 0 <= i < n_sends:
            raise LiveloomError(f"send {key!r} does not exist; the track has {n_sends} sends (A..{chr(64 + n_sends)}"
                                ", or a return track's name)" if n_sends else "the track has no sends")
        return i

    # ------------------------------------------------------------------ scenes

    async def scene(self, *, index: int | None = None, create: bool = False, name: str | None = None,
                    tempo: float | None = None, time_signature: tuple[int, int] | None = None) -> dict:
        async with self._lock:
            await self.connect()
            n = await self.num_scenes()
            if create:
                at = -1 if index is None else index
                if at > n:
                    raise LiveloomError(f"index {at} is past the end; the set has {n} scenes")
                ok = await self._apply_once(("/liveloom/scene/create", at), ("/live/song/create_scene", at),
                                            lambda: self._count_is(self.num_scenes, n + 1))
                if not ok or await self.num_scenes() != n + 1:
                    raise WriteFailed("Live did not create the scene")
                index = n if at == -1 else at
            elif index is None or not 0 <= index < n:
                raise LiveloomError(f"scene {index} does not exist; the set has {n} scenes (0-{n - 1})")
            q = self.client.query
            if name is not None:
                await self._send_until(lambda: self.client.send("/live/scene/set/name", index, name[:120]),
                                       lambda: self._equals(q("/live/scene/get/name", index), name[:120]))
            if tempo is not None:
                await self._send_until(lambda: self.client.send("/live/scene/set/tempo", index, float(tempo)),
                                       lambda: self._close(q("/live/scene/get/tempo", index), tempo))
                self.client.send("/live/scene/set/tempo_enabled", index, True)
            if time_signature is not None:
                num, den = time_signature
                self.client.send("/live/scene/set/time_signature_numerator", index, int(num))
                self.client.send("/live/scene/set/time_signature_denominator", index, int(den))
                self.client.send("/live/scene/set/time_signature_enabled", index, True)
            info = await self._scene_readback(index)
            wrong = []
            if name is not None and info["name"] != name[:120]:
                wrong.append(f"name {info['name']!r}")
            if tempo is not None and (info["tempo"] is None or abs(info["tempo"] - tempo) > 1e-3):
                wrong.append(f"tempo {info['tempo']}")
            if time_signature is not None and info["time_signature"] != f"{time_signature[0]}/{time_signature[1]}":
                wrong.append(f"time signature {info['time_signature']}")
            if wrong:
                raise WriteFailed(f"scene {index} reads back with " + ", ".join(wrong))
            return info

    async def _scene_readback(self, index: int) -> dict:
        q = self.client.query
        name = str((await q("/live/scene/get/name", index))[0])
        tempo_on = bool((await q("/live/scene/get/tempo_enabled", index))[0])
        tempo = float((await q("/live/scene/get/tempo", index))[0])
        ts_on = bool((await q("/live/scene/get/time_signature_enabled", index))[0])
        num = int((await q("/live/scene/get/time_signature_numerator", index))[0])
        den = int((await q("/live/scene/get/time_signature_denominator", index))[0])
        return {"index": index, "name": name, "tempo": tempo if tempo_on else None,
                "time_signature": f"{num}/{den}" if ts_on else None}

    @staticmethod
    async def _equals(reply, value) -> bool:
        return str((await reply)[0]) == str(value)

    @staticmethod
    async def _close(reply, value) -> bool:
        return abs(float((await reply)[0]) - float(value)) < 1e-3

    # ------------------------------------------------------------------ delete, duplicate, rename

    async def delete(self, what: str, *, track: int | None = None, slot: int | None = None,
                     arrangement_index: int | None = None, scene: int | None = None,
                     device: int | None = None) -> str:
        async with self._lock:
            await self.connect()
            if what == "clip":
                await self.check_track(track)
                if slot is not None:
                    if not await self.has_clip(track, slot):
                        raise LiveloomError(f"there is no clip at track {track}, slot {slot} to delete")
                    ok = await self._apply_once(("/liveloom/delete", "clip", track, slot),
                                                ("/live/clip_slot/delete_clip", track, slot),
                                                lambda: self._not(self.has_clip(track, slot)))
                    if not ok:
                        raise WriteFailed(f"the clip at track {track}, slot {slot} is still there")
                    return f"deleted the clip at track {track}, slot {slot}"
                await self.require_companion("Deleting an Arrangement clip")
                clips = (await self.track_info(track))["arrangement"]
                if arrangement_index is None or not 0 <= arrangement_index < len(clips):
                    raise LiveloomError(f"track {track} has {len(clips)} Arrangement clips; give arrangement_index "
                                        f"0-{len(clips) - 1}" if clips else f"track {track} has no Arrangement clips")
                gone = clips[arrangement_index]
                await self.client.request("/liveloom/clip/delete", "arrangement", track, arrangement_index)
                after = (await self.track_info(track))["arrangement"]
                if len(after) != len(clips) - 1:
                    raise WriteFailed(f"track {track} still has {len(after)} Arrangement clips")
                return f"deleted the Arrangement clip {gone['name']!r} at beat {gone['start']:g} of track {track}"
            if what == "track":
                names = await self.check_track(track)
                n = len(names)
                ok = await self._apply_once(("/liveloom/delete", "track", track, 0), ("/live/song/delete_track", track),
                                            lambda: self._count_is(self.track_names, n - 1))
                if not ok:
                    raise WriteFailed(f"track {track} was not deleted (the set still has {n} tracks)")
                return f"deleted track {track} ({names[track]})"
            if what == "scene":
                n = await self.num_scenes()
                if scene is None or not 0 <= scene < n:
                    raise LiveloomError(f"scene {scene} does not exist; the set has {n} scenes")
                if n == 1:
                    raise LiveloomError("a Live set keeps at least one scene; this is the last one")
                ok = await self._apply_once(("/liveloom/delete", "scene", 0, scene), ("/live/song/delete_scene", scene),
                                            lambda: self._count_is(self.num_scenes, n - 1))
                if not ok:
                    raise WriteFailed(f"scene {scene} was not deleted")
                return f"deleted scene {scene}"
            if what == "device":
                await self.check_track(track)
                devices = await self.device_names(track)
                if device is None or not 0 <= device < len(devices):
                    raise LiveloomError(f"track {track} has {len(devices)} devices ({', '.join(devices) or 'none'}); "
                                        f"device {device} does not exist")
                ok = await self._apply_once(("/liveloom/delete", "device", track, device),
                                            ("/live/track/delete_device", track, device),
                                            lambda: self._count_is(lambda: self.device_names(track), len(devices) - 1))
                if not ok:
                    raise WriteFailed(f"device {device} ({devices[device]}) is still on track {track}")
                return f"deleted {devices[device]} (device {device}) from track {track}"
            raise LiveloomError(f"cannot delete {what!r}: give clip, track, scene or device")

    @staticmethod
    async def _not(awaitable) -> bool:
        return not await awaitable

    async def _apply_once(self, ext: tuple, stock: tuple, confirmed) -> bool:
        """A change that must not happen twice (delete, duplicate, a new scene): with the companion one request id
        (applied once however often the datagram arrives); with stock AbletonOSC one datagram, never re-sent,
        then the set is read until the change shows (a lost datagram is reported, not repeated)."""
        caps = await self.connect()
        if caps.companion:
            await self.client.request(*ext)
            return await confirmed()
        self.client.send(*stock)
        for _ in range(30):
            if await confirmed():
                return True
            await asyncio.sleep(0.05)
        return False

    async def duplicate(self, what: str, *, track: int, slot: int | None = None,
                        to_slot: int | None = None) -> dict:
        async with self._lock:
            await self.connect()
            names = await self.check_track(track)
            if what == "track":
                n = len(names)
                ok = await self._apply_once(("/liveloom/duplicate", "track", track, 0, 0),
                                            ("/live/song/duplicate_track", track),
                                            lambda: self._count_is(self.track_names, n + 1))
                if not ok:
                    raise WriteFailed(f"track {track} was not duplicated")
                return {"done": f"duplicated track {track} ({names[track]}) as track {track + 1}", "track": track + 1}
            if slot is None or not await self.has_clip(track, slot):
                raise LiveloomError(f"there is no clip at track {track}, slot {slot} to duplicate")
            scenes = await self.num_scenes()
            if to_slot is None:
                to_slot = None
                for s in range(slot + 1, scenes):
                    if not await self.has_clip(track, s):
                        to_slot = s
                        break
                if to_slot is None:
                    raise LiveloomError(f"track {track} has no empty slot after {slot}; give to_slot or create a scene")
            if not 0 <= to_slot < scenes:
                raise LiveloomError(f"slot {to_slot} does not exist; the set has {scenes} scenes")
            if await self.has_clip(track, to_slot):
                raise LiveloomError(f"slot {to_slot} of track {track} holds a clip; delete it first or pick an "
                                    "empty slot")
            ok = await self._apply_once(("/liveloom/duplicate", "clip", track, slot, to_slot),
                                        ("/live/clip_slot/duplicate_clip_to", track, slot, track, to_slot),
                                        lambda: self.has_clip(track, to_slot))
            if not ok:
                raise WriteFailed(f"the copy did not appear in slot {to_slot}")
            from .bridge import ClipRef

            a = await self.read_clip(ClipRef(track, slot=slot))
            b = await self.read_clip(ClipRef(track, slot=to_slot))
            if [(n.pitch, n.start, n.duration) for n in a.notes] != [(n.pitch, n.start, n.duration) for n in b.notes]:
                raise WriteFailed(f"the copy in slot {to_slot} differs from the clip in slot {slot}")
            return {"done": f"duplicated the clip at track {track}, slot {slot} to slot {to_slot} ({len(b.notes)} "
                            "notes, verified)", "slot": to_slot}

    async def rename(self, what: str, name: str, *, track: int | None = None, slot: int | None = None,
                     scene: int | None = None) -> str:
        async with self._lock:
            await self.connect()
            name = name[:120]
            q = self.client.query
            if what == "track":
                await self.check_track(track)
                ok = await self._send_until(lambda: self.client.send("/live/track/set/name", track, name),
                                            lambda: self._equals(q("/live/track/get/name", track), name))
            elif what == "clip":
                await self.check_track(track)
                if slot is None or not await self.has_clip(track, slot):
                    raise LiveloomError(f"there is no clip at track {track}, slot {slot} to rename")
                ok = await self._send_until(lambda: self.client.send("/live/clip/set/name", track, slot, name),
                                            lambda: self._equals(q("/live/clip/get/name", track, slot), name))
            elif what == "scene":
                n = await self.num_scenes()
                if scene is None or not 0 <= scene < n:
                    raise LiveloomError(f"scene {scene} does not exist; the set has {n} scenes")
                ok = await self._send_until(lambda: self.client.send("/live/scene/set/name", scene, name),
                                            lambda: self._equals(q("/live/scene/get/name", scene), name))
            else:
                raise LiveloomError(f"cannot rename {what!r}: give track, clip or scene")
            if not ok:
                raise WriteFailed(f"the {what} did not take the name {name!r}")
            return f"renamed the {what} to {name!r}"

    # ------------------------------------------------------------------ audio clips

    async def write_audio_clip(self, path: Path, *, track: int, slot: int | None = None,
                               position: float | None = None) -> dict:
        async with self._lock:
            caps = await self.require_companion("Putting audio files into Live")
            if _version_tuple(caps.live_version) < (12,):
                raise LiveloomError(f"Live {caps.live_version} has no API to create audio clips; Live 12 has. "
                                    "Drag the file into Live by hand, or update Live")
            if not self.target.is_loopback:
                raise LiveloomError("Live runs on another machine, which cannot open this machine's files; copy the "
                                    f"file there and drag it in ({path.name})")
            info = await self.track_info(track)
            if info["kind"] != "audio":
                raise LiveloomError(f"track {track} ({info['name']}) is a {info['kind']} track; audio clips go on audio "
                                    "tracks (create_track with kind 'audio')")
            if slot is not None:
                if await self.has_clip(track, slot):
                    raise LiveloomError(f"slot {slot} of track {track} holds a clip; pick an empty slot")
                index, length, name = await self.client.request("/liveloom/clip/create_audio", str(track),
                                                                "session", int(slot), str(path), timeout=5.0)
                where = f"track {track}, slot {slot}"
                back = await self.client.request("/liveloom/clip/info", "session", track, slot)
            else:
                index, length, name = await self.client.request("/liveloom/clip/create_audio", str(track),
                                                                "arrangement", float(position), str(path),
                                                                timeout=5.0)
                where = f"track {track}, Arrangement beat {position:g}"
                back = await self.client.request("/liveloom/clip/info", "arrangement", track, int(index))
            if len(back) < 10 or not back[8] or Path(str(back[9])).resolve() != path.resolve():
                raise WriteFailed(f"the clip at {where} does not read back as {path.name}")
            return {"where": where, "name": str(back[0]), "length": float(back[1]), "file": path.name,
                    "arrangement_index": int(index) if slot is None else None}

    # ------------------------------------------------------------------ instruments for new tracks

    async def fit_instrument(self, track: int, role: str, style: str | None = None) -> dict:
        """Load the first of the role's (and style's) candidate sounds this Live's browser has."""
        from .sounds import candidates

        tried = []
        for name, kind in candidates(role, style):
            found = await self.browse(name, kind, 0, 10)
            match = [i for i in found["items"] if i["name"].rsplit(".", 1)[0].lower() == name.lower()]
            if match:
                loaded = await self._load_device(track, match[0]["uri"], kind)
                return {"track": track, "role": role, "instrument": loaded["name"], "uri": match[0]["uri"]}
            tried.append(name)
        raise LiveloomError(f"Live's browser has none of the {role} sounds liveloom looks for ({', '.join(tried)}); "
                            "load one with load_device")

    # ------------------------------------------------------------------ Arrangement automation

    async def write_arrangement_automation(self, track: int, arrangement_index: int, target: str,
                                           steps: list[tuple[float, float, float]]) -> dict:
        """Live's API writes clip envelopes only in Session clips. So: the Arrangement clip's notes go into a
        Session clip in a free slot, the envelope is written there and read back, the Session clip is copied to
        the Arrangement clip's place (Live copies envelopes with it), the copy's notes and place are checked,
        and the temporary Session clip is deleted. On failure the original clip is put back."""
        from .bridge import ClipRef

        async with self._lock:
            await self.require_companion("Writing Arrangement automation")
            await self.check_track(track)
            clips = (await self.track_info(track))["arrangement"]
            if not 0 <= arrangement_index < len(clips):
                raise LiveloomError(f"track {track} has {len(clips)} Arrangement clips; arrangement_index "
                                    f"{arrangement_index} does not exist" if clips else
                                    f"track {track} has no Arrangement clips; write one with write_clip position=…")
            place = clips[arrangement_index]
            original = await self.read_clip(ClipRef(track, arrangement_index=arrangement_index))
            scenes = await self.num_scenes()
            free = None
            for s in range(scenes):
                if not await self.has_clip(track, s):
                    free = s
                    break
            if free is None:
                raise LiveloomError(f"track {track} needs one empty Session slot for the temporary clip; create a "
                                    "scene or free a slot")
            temp = ClipRef(track, slot=free)
            await self._write_clip(original, track=track, slot=free, position=None, mode="new", name=original.name,
                                   color=None, loop=None)
            deleted = placed = False
            try:
                auto = await self._write_automation(temp, target, steps, replace=True)
                await self.client.request("/liveloom/clip/delete", "arrangement", track, arrangement_index)
                deleted = True
                new_index, _length = await self.client.request("/liveloom/clip/to_arrangement", track, free,
                                                               float(place["start"]))
                placed = True
                copy = await self.read_clip(ClipRef(track, arrangement_index=int(new_index)))
                key = [(n.pitch, round(n.start, 3), round(n.duration, 3)) for n in original.notes]
                if [(n.pitch, round(n.start, 3), round(n.duration, 3)) for n in copy.notes] != key:
                    raise WriteFailed("the Arrangement copy's notes differ from the original clip's")
                now = (await self.track_info(track))["arrangement"][int(new_index)]
                if abs(now["start"] - place["start"]) > 1e-3:
                    raise WriteFailed(f"the copy sits at beat {now['start']:g}, not {place['start']:g}")
            except (LiveloomError, asyncio.TimeoutError) as exc:
                rb = "the original clip is untouched"
                if deleted:
                    try:
                        if placed:
                            clips_now = (await self.track_info(track))["arrangement"]
                            idx = [i for i, c in enumerate(clips_now) if abs(c["start"] - place["start"]) < 1e-3]
                            for i in idx:
                                await self.client.request("/liveloom/clip/delete", "arrangement", track, i)
                        await self._write_clip(original, track=track, slot=None, position=place["start"], mode="new",
                                               name=original.name, color=None, loop=None)
                        rb = "the original clip was written back in its place"
                    except (LiveloomError, asyncio.TimeoutError) as exc2:
                        rb = f"putting the original back failed too ({exc2}); use Undo in Live"
                raise WriteFailed(f"Arrangement automation failed: {exc}; {rb}") from None
            finally:
                try:
                    await self.client.request("/liveloom/clip/delete", "session", track, free)
                except (LiveloomError, asyncio.TimeoutError):
                    pass
            return {**auto, "arrangement_index": int(new_index), "start": place["start"],
                    "route": f"written and read back in a temporary Session clip (slot {free}), copied to beat "
                             f"{place['start']:g} with its envelope, the copy's notes and place checked; Live's API "
                             "cannot read Arrangement envelopes back"}
