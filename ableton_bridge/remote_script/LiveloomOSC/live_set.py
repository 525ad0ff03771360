"""The companion's handlers for the Live set beyond clips: the browser (search, load), the mixer of every track
(returns and the main track included), device parameters in their display units, scenes, audio clips,
Arrangement listings, duplicating and deleting.

Mixed into LiveloomOSC; the same rules apply: stock addresses behave as AbletonOSC's do, extensions under
`/liveloom/` take a request id and are acknowledged once. A track "scope" is a track index, `return:N` or
`master`. Runs on Python 3.7+ with the standard library only.
"""

from __future__ import annotations

BROWSER_KINDS = ("instruments", "drums", "sounds", "audio_effects", "midi_effects", "samples", "plugins",
                 "user_library")
BROWSER_BUDGET = 60000  # items visited when indexing (Live's sample folders can be large)
SEARCH_PAGE = 50
MAX_STRINGS = 128  # display strings per request


class LiveSetHandlers(object):
    _browser_items = None  # [(name, kind, uri, path, is_loadable, is_device)]
    _browser_by_uri = None

    # ------------------------------------------------------------------ resolving

    def _scope(self, scope):
        """A track index, 'return:N' or 'master' -> the Track."""
        text = str(scope)
        song = self._song
        if text == "master":
            return song.master_track
        if text.startswith("return:"):
            n = int(text.split(":", 1)[1])
            if not 0 <= n < len(song.return_tracks):
                raise IndexError("return track %d does not exist (the set has %d)" % (n, len(song.return_tracks)))
            return song.return_tracks[n]
        return self._track(int(text))

    @staticmethod
    def _kind_of(track, song):
        if track is song.master_track:
            return "master"
        if track in list(song.return_tracks):
            return "return"
        return "midi" if track.has_midi_input else "audio"

    # ------------------------------------------------------------------ stock additions

    def _build_set_stock(self):
        h = self._handlers
        song = lambda: self._song  # noqa: E731
        h["/live/song/create_audio_track"] = lambda a: song().create_audio_track(int(a[0]) if a else -1) and None
        h["/live/song/duplicate_track"] = lambda a: song().duplicate_track(int(a[0]))
        h["/live/song/duplicate_scene"] = lambda a: song().duplicate_scene(int(a[0]))
        h["/live/song/get/num_return_tracks"] = lambda a: (len(song().return_tracks),)
        mixer = lambda a: self._track(a[0]).mixer_device  # noqa: E731
        h["/live/track/get/volume"] = lambda a: (int(a[0]), mixer(a).volume.value)
        h["/live/track/set/volume"] = lambda a: setattr(mixer(a).volume, "value", float(a[1]))
        h["/live/track/get/panning"] = lambda a: (int(a[0]), mixer(a).panning.value)
        h["/live/track/set/panning"] = lambda a: setattr(mixer(a).panning, "value", float(a[1]))
        h["/live/track/get/send"] = lambda a: (int(a[0]), int(a[1]), mixer(a).sends[int(a[1])].value)
        h["/live/track/set/send"] = lambda a: setattr(mixer(a).sends[int(a[1])], "value", float(a[2]))
        h["/live/track/delete_device"] = lambda a: self._track(a[0]).delete_device(int(a[1]))
        h["/live/clip_slot/duplicate_clip_to"] = lambda a: self._slot(a[0], a[1]).duplicate_clip_to(
            self._slot(a[2], a[3]))
        scene = lambda a: self._scene(a[0])  # noqa: E731
        for prop in ["tempo", "tempo_enabled", "time_signature_numerator", "time_signature_denominator",
                     "time_signature_enabled", "color"]:
            h["/live/scene/get/%s" % prop] = self._indexed_getter(scene, prop, 1)
            h["/live/scene/set/%s" % prop] = self._indexed_setter(scene, prop, 1)

    def _scene(self, index):
        scenes = self._song.scenes
        index = int(index)
        if not 0 <= index < len(scenes):
            raise IndexError("scene %d does not exist (the set has %d scenes)" % (index, len(scenes)))
        return scenes[index]

    # ------------------------------------------------------------------ extensions

    def _build_set_extensions(self):
        h = self._handlers
        h["/liveloom/track/info"] = self._ext_track_info
        h["/liveloom/track/set"] = self._ext_track_set
        h["/liveloom/browser/search"] = self._ext_browser_search
        h["/liveloom/device/load"] = self._ext_device_load
        h["/liveloom/device/info"] = self._ext_device_info
        h["/liveloom/parameter/strings"] = self._ext_parameter_strings
        h["/liveloom/parameter/set"] = self._ext_parameter_set
        h["/liveloom/clip/create_audio"] = self._ext_create_audio_clip
        h["/liveloom/clip/to_arrangement"] = self._ext_clip_to_arrangement
        h["/liveloom/scene/info"] = self._ext_scene_info
        h["/liveloom/scene/create"] = lambda a: (self._song.scenes.index(self._song.create_scene(int(a[0]))),)
        h["/liveloom/delete"] = self._ext_delete
        h["/liveloom/duplicate"] = self._ext_duplicate

    def _ext_delete(self, a):
        """clip T S | track T 0 | scene 0 S | device T D: applied once per request id"""
        what, t, i = str(a[0]), a[1], a[2]
        if what == "clip":
            self._slot(t, i).delete_clip()
        elif what == "track":
            self._track(t)  # a clear error for a missing track
            self._song.delete_track(int(t))
        elif what == "scene":
            self._scene(i)
            self._song.delete_scene(int(i))
        elif what == "device":
            self._device(t, i)
            self._track(t).delete_device(int(i))
        else:
            raise ValueError("can delete a clip, track, scene or device, not %r" % what)
        return ()

    def _ext_duplicate(self, a):
        """track T 0 0 | clip T S TO: applied once per request id"""
        what, t, s, to = str(a[0]), a[1], a[2], a[3]
        if what == "track":
            self._track(t)
            self._song.duplicate_track(int(t))
            return (int(t) + 1,)
        if what == "clip":
            self._slot(t, s).duplicate_clip_to(self._slot(t, to))
            return (int(to),)
        raise ValueError("can duplicate a clip or a track, not %r" % what)

    def _ext_track_info(self, a):
        """-> kind name mute solo arm volume pan n_sends [send]* n_devices [name class type]* n_arrangement
        [start length name is_audio]* (display strings for volume, pan and sends)."""
        track = self._scope(a[0])
        song = self._song
        mixer = track.mixer_device
        kind = self._kind_of(track, song)
        out = [kind, track.name, bool(getattr(track, "mute", False)), bool(getattr(track, "solo", False)),
               bool(track.arm) if kind in ("midi", "audio") and track.can_be_armed else False,
               str(mixer.volume.str_for_value(mixer.volume.value)),
               str(mixer.panning.str_for_value(mixer.panning.value))]
        sends = list(mixer.sends)
        out.append(len(sends))
        out += [str(s.str_for_value(s.value)) for s in sends]
        devices = list(track.devices)
        out.append(len(devices))
        for d in devices:
            out += [d.name, d.class_name, int(d.type)]
        clips = list(getattr(track, "arrangement_clips", ()) or ()) if kind in ("midi", "audio") else []
        out.append(len(clips))
        for c in clips:
            out += [float(c.start_time), float(c.length), c.name, bool(c.is_audio_clip)]
        return tuple(out)

    def _ext_track_set(self, a):
        track = self._scope(a[0])
        prop, value = str(a[1]), a[2]
        if prop not in ("name", "mute", "solo", "arm", "color"):
            raise ValueError("track property must be name, mute, solo, arm or color, not %r" % prop)
        if prop == "name":
            track.name = str(value)
        elif prop == "color":
            track.color = int(value)
        else:
            setattr(track, prop, bool(value))
        got = getattr(track, prop)
        return (got if prop == "name" else (int(got) if prop == "color" else bool(got)),)

    # the browser

    def _index_browser(self):
        browser = self._application.browser
        items, by_uri, budget = [], {}, BROWSER_BUDGET
        for kind in BROWSER_KINDS:
            root = getattr(browser, kind, None)
            if root is None:
                continue
            stack = [(child, root.name) for child in reversed(list(root.children))]
            while stack and budget > 0:
                item, path = stack.pop()
                budget -= 1
                items.append((item.name, kind, item.uri, path, bool(item.is_loadable), bool(item.is_device)))
                by_uri[item.uri] = item
                if item.is_folder or (item.is_device and not kind == "samples"):
                    stack.extend((c, path + "/" + item.name) for c in reversed(list(item.children)))
        self._browser_items, self._browser_by_uri = items, by_uri
        return budget > 0

    def _ext_browser_search(self, a):
        """query kind offset limit refresh -> total complete [name kind uri path is_device]*"""
        query, kind, offset, limit, refresh = str(a[0]), str(a[1]), int(a[2]), int(a[3]), bool(a[4])
        complete = True
        if self._browser_items is None or refresh:
            complete = self._index_browser()
        words = query.lower().split()

        def stem(name):
            return name.rsplit(".", 1)[0].lower() if "." in name[-5:] else name.lower()

        hits = []
        for name, k, uri, path, loadable, is_device in self._browser_items:
            if not loadable or (kind != "any" and k != kind):
                continue
            hay = (name + " " + path).lower()
            if all(w in hay for w in words):
                exact = stem(name) == query.lower().strip()
                starts = stem(name).startswith(query.lower().strip())
                hits.append(((not exact, not starts, not is_device, len(name)), name, k, uri, path, is_device))
        hits.sort(key=lambda h: h[0])
        out = [len(hits), complete]
        for _, name, k, uri, path, is_device in hits[offset:offset + min(limit, SEARCH_PAGE)]:
            out += [name, k, uri, path, is_device]
        return tuple(out)

    def _ext_device_load(self, a):
        """scope uri position(-1: where Live puts it) -> index name class_name n_devices replaced"""
        track, uri, position = self._scope(a[0]), str(a[1]), int(a[2])
        if self._browser_by_uri is None or uri not in self._browser_by_uri:
            self._index_browser()
        item = self._browser_by_uri.get(uri)
        if item is None:
            raise ValueError("no browser item has the URI %r (search again: the browser may have changed)" % uri)
        if not item.is_loadable:
            raise ValueError("%r is a folder, not something to load" % item.name)
        before = list(track.devices)
        self._song.view.selected_track = track
        self._application.browser.load_item(item)
        after = list(track.devices)
        new = [d for d in after if not any(d is b for b in before)]
        if not new:
            return (-1, "", "", len(after), "")
        device = new[0]
        replaced = [b.name for b in before if not any(b is d for d in after)]
        if position >= 0 and list(track.devices).index(device) != position:
            self._song.move_device(device, track, position)
        index = [i for i, d in enumerate(track.devices) if d is device][0]
        return (index, device.name, device.class_name, len(track.devices), ", ".join(replaced))

    def _ext_device_info(self, a):
        """scope device -> name class_name type [name value min max quantized display]*"""
        track = self._scope(a[0])
        devices = list(track.devices)
        d = int(a[1])
        if not 0 <= d < len(devices):
            raise IndexError("the track has no device %d (it has %d)" % (d, len(devices)))
        device = devices[d]
        out = [device.name, device.class_name, int(device.type)]
        for p in device.parameters:
            out += [p.name, float(p.value), float(p.min), float(p.max), bool(p.is_quantized),
                    str(p.str_for_value(p.value))]
        return tuple(out)

    def _ext_parameter_strings(self, a):
        """scope target value... -> the display string of each value (Live's str_for_value)"""
        param = self._parameter(a[0], a[1])
        values = a[2:2 + MAX_STRINGS]
        return tuple(str(param.str_for_value(float(v))) for v in values)

    def _ext_parameter_set(self, a):
        """scope target value -> value display (as read back)"""
        param = self._parameter(a[0], a[1])
        value = float(a[2])
        if not param.min <= value <= param.max:
            raise ValueError("value %g is outside %s's range %g..%g" % (value, param.name, param.min, param.max))
        param.value = value
        return (float(param.value), str(param.str_for_value(param.value)))

    # clips

    def _ext_create_audio_clip(self, a):
        """scope 'session' slot path | scope 'arrangement' position path -> index length name"""
        track, kind, where, path = self._scope(a[0]), str(a[1]), a[2], str(a[3])
        if kind == "session":
            slot = self._slot(a[0], where)
            create = getattr(slot, "create_audio_clip", None)
            if create is None:
                raise RuntimeError("this Live has no API to create audio clips (Live 12 has)")
            clip = create(path)
            if clip is None:
                clip = slot.clip
            return (int(where), float(clip.length), clip.name)
        create = getattr(track, "create_audio_clip", None)
        if create is None:
            raise RuntimeError("this Live has no API to create audio clips (Live 12 has)")
        clip = create(path, float(where))
        clips = list(track.arrangement_clips)
        index = [i for i, c in enumerate(clips) if c is clip] or [
            i for i, c in enumerate(clips) if abs(c.start_time - float(where)) < 1e-6]
        return (index[0], float(clip.length), clip.name)

    def _ext_clip_to_arrangement(self, a):
        """track slot position -> the Arrangement index of the copy (Live copies the clip with its envelopes)"""
        track = self._track(a[0])
        clip = self._session_clip(a[0], a[1])
        position = float(a[2])
        track.duplicate_clip_to_arrangement(clip, position)
        clips = list(track.arrangement_clips)
        index = [i for i, c in enumerate(clips) if abs(c.start_time - position) < 1e-6]
        if not index:
            raise RuntimeError("the copy did not appear in the Arrangement")
        return (index[0], float(clips[index[0]].length))

    def _ext_scene_info(self, a):
        """-> per scene: name tempo(-1 if none) numerator denominator (-1 if none) is_empty"""
        out = [len(self._song.scenes)]
        for scene in self._song.scenes:
            tempo_on = bool(getattr(scene, "tempo_enabled", getattr(scene, "tempo", -1) > 0))
            ts_on = bool(getattr(scene, "time_signature_enabled", False))
            out += [scene.name, float(scene.tempo) if tempo_on else -1.0,
                    int(scene.time_signature_numerator) if ts_on else -1,
                    int(scene.time_signature_denominator) if ts_on else -1, bool(scene.is_empty)]
        return tuple(out)
