"""LiveloomOSC: AbletonOSC's address space (the part liveloom uses) plus liveloom's extensions.

Why one script that is a superset, not an add-on beside AbletonOSC: one UDP socket and one
main-thread tick, so stock and extension messages are processed in the order they were sent;
request ids and acknowledgements apply to every write; and a user installs one thing. It
listens where AbletonOSC does (11000, replies to the sender's host on 11001), so select either
AbletonOSC or LiveloomOSC in Live's Control Surface list; liveloom works with both and reports
which tools need the companion.

Stock addresses behave as AbletonOSC's do: getters reply on their own address with the index
arguments first; setters and methods send nothing back; a handler exception or an unknown
address is sent as `/live/error "<message>"`.

Extensions live under `/liveloom/`. Their first argument is a request id; every one is answered
with `/liveloom/ack <id> "ok" ...` or `/liveloom/ack <id> "error" "<message>"`. A repeated id
is answered from a cache without being applied again, so a retried or duplicated datagram
never writes twice. A datagram may be an OSC bundle: its messages run in order in one tick.

All Live Object Model access happens in `update_display`, which Live calls on its main thread.
Runs on Python 3.7+ (Live 11) and uses only the standard library.
"""

from __future__ import annotations

import errno
import socket
from collections import OrderedDict

import Live

from .live_set import LiveSetHandlers
from .osc import OSCError, decode_packet, encode_message

try:
    from ableton.v2.control_surface import ControlSurface
except ImportError:  # pragma: no cover - older Live
    from _Framework.ControlSurface import ControlSurface

SCRIPT_VERSION = "1.1.0"
MAX_REPLY_BYTES = 60000
NOTE_FIELDS = 8  # pitch start duration velocity mute probability velocity_deviation release_velocity


class LiveloomOSC(LiveSetHandlers, ControlSurface):
    def __init__(self, c_instance, port=11000, reply_port=11001, host="127.0.0.1", extensions=True):
        ControlSurface.__init__(self, c_instance)
        self._live = c_instance
        self._application = Live.Application.get_application()
        self._reply_port = reply_port
        self._extensions = extensions
        self._handlers = {}
        self._acks = OrderedDict()
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.setblocking(False)
        self._socket.bind((host, port))
        self._build_stock_tables()
        if extensions:
            self._build_extensions()
        self.log_message("LiveloomOSC %s listening on %s:%d (extensions %s)" % (
            SCRIPT_VERSION, host, port, "on" if extensions else "off"))

    # ------------------------------------------------------------------ the tick

    def update_display(self):
        ControlSurface.update_display(self)
        self._drain()

    def _drain(self):
        while True:
            try:
                data, sender = self._socket.recvfrom(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                    return
                if exc.errno == errno.ECONNRESET:
                    continue
                self.log_message("LiveloomOSC socket error: %s" % exc)
                return
            try:
                messages = decode_packet(data)
            except OSCError as exc:
                self.log_message("LiveloomOSC: bad datagram (%s)" % exc)
                continue
            for address, args in messages:
                try:
                    self._dispatch(address, args, (sender[0], self._reply_port))
                except Exception as exc:  # one bad message must never stop the script
                    self.log_message("LiveloomOSC: error handling %s: %s" % (address, exc))

    def _send(self, address, args, remote, doubles=False):
        try:
            data = encode_message(address, tuple(args), doubles=doubles)
        except OSCError as exc:
            data = encode_message("/live/error", ("Error handling OSC message %s: %s" % (address, exc),))
        if len(data) > MAX_REPLY_BYTES:
            self.log_message("LiveloomOSC: reply to %s too large (%d bytes), not sent" % (address, len(data)))
            return
        try:
            self._socket.sendto(data, remote)
        except OSError as exc:
            self.log_message("LiveloomOSC: could not reply to %s: %s" % (remote, exc))

    def _dispatch(self, address, args, remote):
        handler = self._handlers.get(address)
        if handler is None:
            self._send("/live/error", ("Unknown OSC address: %s" % address,), remote)
            return
        if address.startswith("/liveloom/"):
            self._dispatch_extension(handler, address, args, remote)
            return
        try:
            rv = handler(args)
        except Exception as exc:
            self._send("/live/error", ("Error handling OSC message %s: %s" % (address, exc),), remote)
            return
        if rv is not None:
            self._send(address, rv, remote)

    def _dispatch_extension(self, handler, address, args, remote):
        if not args or not isinstance(args[0], int):
            self._send("/live/error", ("%s needs a request id (int) as its first argument" % address,), remote)
            return
        req = args[0]
        if req in self._acks:  # a retry or a duplicated datagram: answer again, apply nothing
            self._send("/liveloom/ack", self._acks[req], remote, doubles=True)
            return
        song = self._song  # one request, one undo step in Live's history
        begin, end = getattr(song, "begin_undo_step", None), getattr(song, "end_undo_step", None)
        if begin is not None:
            begin()
        try:
            ack = (req, "ok") + tuple(handler(args[1:]) or ())
        except Exception as exc:
            ack = (req, "error", "%s: %s" % (address, exc))
        finally:
            if end is not None:
                end()
        self._acks[req] = ack
        while len(self._acks) > 4096:
            self._acks.popitem(last=False)
        self._send("/liveloom/ack", ack, remote, doubles=True)

    def disconnect(self):
        self._socket.close()
        ControlSurface.disconnect(self)

    # ------------------------------------------------------------------ helpers

    @property
    def _song(self):
        return self._live.song()

    def _track(self, index):
        tracks = self._song.tracks
        index = int(index)
        if not 0 <= index < len(tracks):
            raise IndexError("track %d does not exist (the set has %d tracks)" % (index, len(tracks)))
        return tracks[index]

    def _slot(self, t, s):
        slots = self._track(t).clip_slots
        s = int(s)
        if not 0 <= s < len(slots):
            raise IndexError("clip slot %d does not exist (the set has %d scenes)" % (s, len(slots)))
        return slots[s]

    def _session_clip(self, t, s):
        clip = self._slot(t, s).clip
        if clip is None:
            raise ValueError("no clip in track %d slot %d" % (int(t), int(s)))
        return clip

    def _clip(self, kind, t, i):
        if kind == "session":
            return self._session_clip(t, i)
        if kind == "arrangement":
            clips = self._track(t).arrangement_clips
            i = int(i)
            if not 0 <= i < len(clips):
                raise IndexError("track %d has no arrangement clip %d" % (int(t), i))
            return clips[i]
        raise ValueError("clip kind must be 'session' or 'arrangement', not %r" % (kind,))

    def _device(self, t, d):
        devices = self._track(t).devices
        d = int(d)
        if not 0 <= d < len(devices):
            raise IndexError("track %d has no device %d" % (int(t), d))
        return devices[d]

    def _parameter(self, t, target):
        """'volume', 'pan', 'send:N' or 'device:D:P' -> a DeviceParameter of track scope t."""
        track = self._scope(t)
        mixer = track.mixer_device
        parts = str(target).split(":")
        if parts[0] == "volume":
            return mixer.volume
        if parts[0] == "pan":
            return mixer.panning
        if parts[0] == "send" and len(parts) == 2:
            sends = mixer.sends
            n = int(parts[1])
            if not 0 <= n < len(sends):
                raise IndexError("track %d has no send %d" % (int(t), n))
            return sends[n]
        if parts[0] == "device" and len(parts) == 3:
            devices = list(track.devices)
            d = int(parts[1])
            if not 0 <= d < len(devices):
                raise IndexError("track %s has no device %d" % (t, d))
            params = devices[d].parameters
            p = int(parts[2])
            if not 0 <= p < len(params):
                raise IndexError("device %s has no parameter %d" % (parts[1], p))
            return params[p]
        raise ValueError("parameter target %r is not volume, pan, send:N or device:D:P" % (target,))

    # ------------------------------------------------------------------ AbletonOSC's addresses

    def _build_stock_tables(self):
        h = self._handlers
        h["/live/test"] = lambda a: ("ok",)
        app = Live.Application.get_application()
        h["/live/application/get/version"] = lambda a: (app.get_major_version(), app.get_minor_version())

        song_rw = ["tempo", "signature_numerator", "signature_denominator", "loop", "loop_start", "loop_length",
                   "current_song_time"]
        song_r = ["is_playing", "can_undo"]
        song_methods = ["start_playing", "stop_playing", "continue_playing", "undo"]
        for prop in song_rw + song_r:
            h["/live/song/get/%s" % prop] = self._song_getter(prop)
        for prop in song_rw:
            h["/live/song/set/%s" % prop] = self._song_setter(prop)
        for method in song_methods:
            h["/live/song/%s" % method] = self._song_method(method)
        h["/live/song/get/num_tracks"] = lambda a: (len(self._song.tracks),)
        h["/live/song/get/num_scenes"] = lambda a: (len(self._song.scenes),)
        h["/live/song/get/track_names"] = lambda a: tuple(t.name for t in self._song.tracks)
        h["/live/song/create_midi_track"] = lambda a: self._song.create_midi_track(int(a[0]) if a else -1) and None
        h["/live/song/delete_track"] = lambda a: self._song.delete_track(int(a[0]))
        h["/live/song/create_scene"] = lambda a: self._song.create_scene(int(a[0]) if a else -1) and None
        h["/live/song/delete_scene"] = lambda a: self._song.delete_scene(int(a[0]))

        for prop in ["name", "color", "mute", "solo", "arm"]:
            h["/live/track/get/%s" % prop] = self._indexed_getter(lambda a: self._track(a[0]), prop, 1)
            h["/live/track/set/%s" % prop] = self._indexed_setter(lambda a: self._track(a[0]), prop, 1)
        h["/live/track/get/num_devices"] = lambda a: (int(a[0]), len(self._track(a[0]).devices))
        h["/live/track/get/devices/name"] = lambda a: (int(a[0]),) + tuple(d.name for d in self._track(a[0]).devices)

        h["/live/clip_slot/get/has_clip"] = lambda a: (int(a[0]), int(a[1]), self._slot(a[0], a[1]).has_clip)
        h["/live/clip_slot/create_clip"] = lambda a: self._slot(a[0], a[1]).create_clip(float(a[2]))
        h["/live/clip_slot/delete_clip"] = lambda a: self._slot(a[0], a[1]).delete_clip()
        h["/live/clip_slot/fire"] = lambda a: self._slot(a[0], a[1]).fire()

        clip_of = lambda a: self._session_clip(a[0], a[1])  # noqa: E731
        for prop in ["name", "color", "looping", "loop_start", "loop_end"]:
            h["/live/clip/get/%s" % prop] = self._indexed_getter(clip_of, prop, 2)
            h["/live/clip/set/%s" % prop] = self._indexed_setter(clip_of, prop, 2)
        for prop in ["length", "is_playing", "is_midi_clip"]:
            h["/live/clip/get/%s" % prop] = self._indexed_getter(clip_of, prop, 2)
        h["/live/clip/fire"] = lambda a: clip_of(a).fire()
        h["/live/clip/stop"] = lambda a: clip_of(a).stop()
        h["/live/clip/get/notes"] = self._stock_get_notes
        h["/live/clip/add/notes"] = self._stock_add_notes
        h["/live/clip/remove/notes"] = self._stock_remove_notes

        dev = lambda a: self._device(a[0], a[1])  # noqa: E731
        h["/live/device/get/name"] = lambda a: (int(a[0]), int(a[1]), dev(a).name)
        h["/live/device/get/class_name"] = lambda a: (int(a[0]), int(a[1]), dev(a).class_name)
        h["/live/device/get/num_parameters"] = lambda a: (int(a[0]), int(a[1]), len(dev(a).parameters))
        for field in ["name", "value", "min", "max"]:
            h["/live/device/get/parameters/%s" % field] = self._device_params(field)
        h["/live/device/get/parameter/value"] = lambda a: (int(a[0]), int(a[1]), int(a[2]),
                                                           dev(a).parameters[int(a[2])].value)
        h["/live/device/set/parameter/value"] = self._set_device_parameter

        h["/live/scene/fire"] = lambda a: self._song.scenes[int(a[0])].fire()
        h["/live/scene/get/name"] = lambda a: (int(a[0]), self._song.scenes[int(a[0])].name)
        h["/live/scene/set/name"] = lambda a: setattr(self._song.scenes[int(a[0])], "name", str(a[1]))
        self._build_set_stock()

    def _song_getter(self, prop):
        return lambda a: (getattr(self._song, prop),)

    def _song_setter(self, prop):
        return lambda a: setattr(self._song, prop, a[0])

    def _song_method(self, method):
        return lambda a: getattr(self._song, method)() and None

    @staticmethod
    def _indexed_getter(resolve, prop, n_index):
        return lambda a: tuple(int(x) for x in a[:n_index]) + (getattr(resolve(a), prop),)

    @staticmethod
    def _indexed_setter(resolve, prop, n_index):
        return lambda a: setattr(resolve(a), prop, a[n_index])

    def _device_params(self, field):
        def handler(a):
            params = self._device(a[0], a[1]).parameters
            return (int(a[0]), int(a[1])) + tuple(getattr(p, field) for p in params)
        return handler

    def _set_device_parameter(self, a):
        self._device(a[0], a[1]).parameters[int(a[2])].value = float(a[3])

    def _stock_get_notes(self, a):
        clip = self._session_clip(a[0], a[1])
        if len(a) >= 6:
            notes = clip.get_notes_extended(int(a[2]), int(a[3]), float(a[4]), float(a[5]))
        else:
            notes = clip.get_notes_extended(0, 128, 0.0, max(clip.length, 1e6))
        out = [int(a[0]), int(a[1])]
        for n in notes:
            out += [n.pitch, n.start_time, n.duration, n.velocity, n.mute]
        return tuple(out)

    def _stock_add_notes(self, a):
        clip = self._session_clip(a[0], a[1])
        rest = a[2:]
        if len(rest) % 5:
            raise ValueError("notes come in fives: pitch start duration velocity mute")
        specs = []
        for i in range(0, len(rest), 5):
            pitch, start, duration, velocity, mute = rest[i:i + 5]
            specs.append(Live.Clip.MidiNoteSpecification(pitch=int(pitch), start_time=float(start),
                                                         duration=float(duration), velocity=float(velocity),
                                                         mute=bool(mute)))
        clip.add_new_notes(tuple(specs))

    def _stock_remove_notes(self, a):
        clip = self._session_clip(a[0], a[1])
        if len(a) >= 6:
            clip.remove_notes_extended(int(a[2]), int(a[3]), float(a[4]), float(a[5]))
        else:
            clip.remove_notes_extended(0, 128, 0.0, max(clip.length, 1e6))

    # ------------------------------------------------------------------ liveloom extensions

    def _build_extensions(self):
        h = self._handlers
        app = Live.Application.get_application()
        version = "%d.%d.%d" % (app.get_major_version(), app.get_minor_version(), app.get_bugfix_version())
        h["/liveloom/test"] = lambda a: (SCRIPT_VERSION, version)
        h["/liveloom/clip/add/notes"] = self._ext_add_notes
        h["/liveloom/clip/get/notes"] = self._ext_get_notes
        h["/liveloom/clip/remove/notes"] = self._ext_remove_notes
        h["/liveloom/clip/info"] = self._ext_clip_info
        h["/liveloom/clip/set"] = self._ext_clip_set
        h["/liveloom/clip/delete"] = self._ext_clip_delete
        h["/liveloom/track/create"] = self._ext_track_create
        h["/liveloom/arrangement/create_midi_clip"] = self._ext_create_arrangement_clip
        h["/liveloom/automation/write"] = self._ext_automation_write
        h["/liveloom/automation/read"] = self._ext_automation_read
        h["/liveloom/automation/clear"] = self._ext_automation_clear
        h["/liveloom/parameter/info"] = self._ext_parameter_info
        self._build_set_extensions()

    def _ext_add_notes(self, a):
        kind, t, i = a[0], a[1], a[2]
        clip = self._clip(kind, t, i)
        rest = a[3:]
        if len(rest) % NOTE_FIELDS:
            raise ValueError("notes come in eights: pitch start duration velocity mute probability "
                             "velocity_deviation release_velocity")
        specs = []
        for k in range(0, len(rest), NOTE_FIELDS):
            p, st, du, ve, mu, pr, vd, rv = rest[k:k + NOTE_FIELDS]
            specs.append(Live.Clip.MidiNoteSpecification(
                pitch=int(p), start_time=float(st), duration=float(du), velocity=float(ve), mute=bool(mu),
                probability=float(pr), velocity_deviation=float(vd), release_velocity=float(rv)))
        ids = clip.add_new_notes(tuple(specs))
        return (len(ids),)

    def _all_notes(self, clip):
        try:
            notes = clip.get_all_notes_extended()
        except AttributeError:  # Live 11.0
            notes = clip.get_notes_extended(0, 128, 0.0, max(clip.length, 1e6))
        return sorted(notes, key=lambda n: (n.start_time, n.pitch))

    def _ext_get_notes(self, a):
        kind, t, i, offset, limit = a[0], a[1], a[2], int(a[3]), int(a[4])
        notes = self._all_notes(self._clip(kind, t, i))
        page = notes[offset:offset + min(limit, 512)]
        out = [len(notes)]
        for n in page:
            out += [n.pitch, float(n.start_time), float(n.duration), float(n.velocity), bool(n.mute),
                    float(n.probability), float(n.velocity_deviation), float(n.release_velocity)]
        return tuple(out)

    def _ext_remove_notes(self, a):
        clip = self._clip(a[0], a[1], a[2])
        n = len(self._all_notes(clip))
        clip.remove_notes_extended(0, 128, 0.0, max(clip.length, 1e6) + 1e6)
        return (n,)

    def _ext_clip_info(self, a):
        c = self._clip(a[0], a[1], a[2])
        audio = bool(getattr(c, "is_audio_clip", False))
        return (c.name, float(c.length), bool(c.looping), float(c.loop_start), float(c.loop_end), int(c.color),
                float(getattr(c, "start_time", 0.0)), 0 if audio else len(self._all_notes(c)), audio,
                str(getattr(c, "file_path", "") or "") if audio else "")

    def _ext_clip_set(self, a):
        c = self._clip(a[0], a[1], a[2])
        name, color, looping, loop_start, loop_end = a[3:8]
        c.name = str(name)
        if int(color) >= 0:
            c.color = int(color)
        c.looping = bool(looping)
        if float(loop_end) > float(c.loop_start):
            c.loop_end = float(loop_end)
            c.loop_start = float(loop_start)
        else:
            c.loop_start = float(loop_start)
            c.loop_end = float(loop_end)
        return ()

    def _ext_clip_delete(self, a):
        kind, t, i = a[0], a[1], a[2]
        if kind == "session":
            self._slot(t, i).delete_clip()
        else:
            track = self._track(t)
            track.delete_clip(self._clip(kind, t, i))
        return ()

    def _ext_track_create(self, a):
        # a MIDI (or audio) track at index (-1: at the end), named; applied once per request id, however often
        # it arrives
        index, name = int(a[0]), str(a[1])
        kind = str(a[2]) if len(a) > 2 else "midi"
        if kind not in ("midi", "audio"):
            raise ValueError("track kind must be 'midi' or 'audio', not %r" % kind)
        (self._song.create_audio_track if kind == "audio" else self._song.create_midi_track)(index)
        new = len(self._song.tracks) - 1 if index == -1 else index
        self._song.tracks[new].name = name
        return (new, name)

    def _ext_create_arrangement_clip(self, a):
        t, start, length = a[0], float(a[1]), float(a[2])
        track = self._track(t)
        try:
            create = track.create_midi_clip  # Live 12.1.10+
        except AttributeError:
            create = None
        if create is not None:
            clip = create(start, length)
            method = "create_midi_clip"
        else:  # before 12.1.10: a temporary session clip, duplicated into the Arrangement
            slot = next((s for s in track.clip_slots if not s.has_clip), None)
            if slot is None:
                raise RuntimeError("no free clip slot on track %d for the temporary clip" % int(t))
            slot.create_clip(length)
            try:
                track.duplicate_clip_to_arrangement(slot.clip, start)
            finally:
                slot.delete_clip()
            clip = next(c for c in track.arrangement_clips if abs(c.start_time - start) < 1e-6)
            method = "duplicate_clip_to_arrangement"
        return (list(track.arrangement_clips).index(clip), method)

    def _ext_automation_write(self, a):
        kind, t, i, target = a[0], a[1], a[2], a[3]
        clip = self._clip(kind, t, i)
        param = self._parameter(t, target)
        steps = a[4:]
        if len(steps) % 3:
            raise ValueError("automation steps come in threes: start length value")
        for k in range(0, len(steps), 3):
            v = float(steps[k + 2])
            if not param.min <= v <= param.max:
                raise ValueError("value %g is outside %s's range %g..%g" % (v, param.name, param.min, param.max))
        envelope = clip.automation_envelope(param)
        if envelope is None:
            if getattr(clip, "is_arrangement_clip", False):
                raise RuntimeError("Live's API has no clip envelopes for Arrangement clips")
            envelope = clip.create_automation_envelope(param)
        for k in range(0, len(steps), 3):
            envelope.insert_step(float(steps[k]), float(steps[k + 1]), float(steps[k + 2]))
        return (len(steps) // 3,)

    def _ext_automation_read(self, a):
        kind, t, i, target = a[0], a[1], a[2], a[3]
        clip = self._clip(kind, t, i)
        envelope = clip.automation_envelope(self._parameter(t, target))
        if envelope is None:
            return (False,)
        return (True,) + tuple(float(envelope.value_at_time(float(x))) for x in a[4:])

    def _ext_automation_clear(self, a):
        clip = self._clip(a[0], a[1], a[2])
        clip.clear_envelope(self._parameter(a[1], a[3]))
        return ()

    def _ext_parameter_info(self, a):
        p = self._parameter(a[0], a[1])
        return (p.name, float(p.min), float(p.max), float(p.value), bool(getattr(p, "is_quantized", False)),
                str(p.str_for_value(p.value)), str(p.str_for_value(p.min)), str(p.str_for_value(p.max)))
