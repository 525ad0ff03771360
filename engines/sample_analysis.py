"""One file of a sample library, analysed: what kind of sample it is, its length, tempo and bars (loops), key and
mode, root note (tonal one-shots), chords (MIDI), loudness, onset density and the numbers that describe its sound.

`analyze_file` is what a worker runs — in a local process pool or on a Dask cluster — so it takes and returns
plain data and never raises: a file that cannot be read comes back as {"ok": False, "reason": ...}. Signal
processing with librosa (not learned) for tempo, key and features; the kind from the trained classifier in
`models.sample_kind`; MIDI through liveloom's own analysis.
"""

from __future__ import annotations

import math
import os
import re
import sys
from pathlib import Path

from liveloom.engines import audio_analysis as aa
from liveloom.music.errors import LiveloomError

VERSION = 1  # bump when the analysis changes: rows of older versions are analysed again
MIDI_SUFFIXES = (".mid", ".midi")
SUFFIXES = aa.SUPPORTED + MIDI_SUFFIXES
NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MIN_BPM, MAX_BPM = 50.0, 210.0

_threads_limited = False


def limit_threads() -> None:
    """Set a worker process up once: one BLAS/OpenMP thread (a pool of N workers uses N cores, not N x cores; a DAW
    is running beside us), and glibc's allocator free to keep big arrays on its heap. Dask's nanny starts workers
    with MALLOC_TRIM_THRESHOLD_=65536, which also pins glibc's mmap threshold at 128 KiB: every spectrogram is
    then fresh pages from the kernel, and the analysis took 2.3x the CPU time (measured here). mallopt puts the
    thresholds where the arrays fit (64 MiB)."""
    global _threads_limited
    if not _threads_limited:
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        try:
            from threadpoolctl import threadpool_limits

            threadpool_limits(1)
        except Exception:  # noqa: BLE001 - a missing or odd BLAS only costs speed
            pass
        if sys.platform.startswith("linux") and os.environ.get("MALLOC_TRIM_THRESHOLD_"):
            try:
                import ctypes

                libc = ctypes.CDLL("libc.so.6")
                libc.mallopt(-3, 64 << 20)  # M_MMAP_THRESHOLD
                libc.mallopt(-1, 128 << 20)  # M_TRIM_THRESHOLD
            except (OSError, AttributeError):  # not glibc: nothing to undo
                pass
        _threads_limited = True


def analyze_file(path: str, max_seconds: float = 600.0, max_midi_bytes: int = 16 * 1024 * 1024) -> dict:
    """-> {"ok": True, **record} or {"ok": False, "reason": why}. Never raises (a worker must keep working)."""
    limit_threads()
    p = Path(path)
    try:
        if p.suffix.lower() in MIDI_SUFFIXES:
            record = _midi(p, max_midi_bytes)
        else:
            record = _audio(p, max_seconds)
        record.update(name_hints(p.stem, record))
        return {"ok": True, **record}
    except LiveloomError as exc:
        return {"ok": False, "reason": str(exc)[:300]}
    except MemoryError:
        return {"ok": False, "reason": "too large to analyse in memory"}
    except Exception as exc:  # noqa: BLE001 - a library's failure on one odd file must not stop the run
        return {"ok": False, "reason": f"could not be analysed: {str(exc)[:240] or 'unknown decoder failure'}"}


def index_one(path: str, max_seconds: float = 600.0, max_midi_bytes: int = 16 * 1024 * 1024) -> dict:
    """What an index worker returns for one file: its analysis (as `analyze_file`) and its content hash."""
    result = analyze_file(path, max_seconds, max_midi_bytes)
    try:
        result["hash"] = content_hash(path)
    except OSError as exc:
        return {"ok": False, "reason": f"cannot be read ({exc.strerror or exc})"}
    return result


def content_hash(path: str) -> str:
    """BLAKE2b (128 bits) of the file's bytes: the same content under another name is the same sample."""
    import hashlib

    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


# -- audio --------------------------------------------------------------------------------------------------------
def _audio(p: Path, max_seconds: float) -> dict:
    import numpy as np

    data, rate, info = aa.read(p, max_seconds)
    y = aa.mono_at(data, rate)
    duration = len(y) / aa.SR
    peak = float(np.abs(data).max())
    out: dict = {"format": "audio", "duration": round(duration, 3), "sample_rate": rate, "channels": info["channels"],
                 "peak_dbfs": round(20 * math.log10(peak), 1) if peak > 0 else None, "lufs": loudness(data, rate)}
    if peak < 1e-4:
        return {**out, "kind": None, "silent": True}
    feats, extra = audio_features(y)
    from liveloom.models import sample_kind

    model = sample_kind.load()
    kind, confidence = model.classify(np.array([feats[f] for f in sample_kind.FEATURES]))
    out.update(kind=kind, kind_confidence=round(confidence, 3), onset_density=round(feats["onset_density"], 2),
               centroid_hz=round(float(math.exp(feats["log_centroid"])), 1),
               features=[round(float(feats[f]), 4) for f in sample_kind.FEATURES])
    if kind != "one_shot" and duration >= 1.0:
        bpm, beats, source = loop_tempo(extra["onset_env"], duration, extra["starts_loud"])
        if bpm:
            out.update(tempo=bpm, beats=beats, bars=round(beats / 4, 2) if beats else None, tempo_from=source)
    if kind == "one_shot":
        note = root_note(y, feats["percussive_share"])
        if note:
            out["note"] = note
    elif kind != "drum_loop":
        key = audio_key(y)
        if key:
            out.update(key=key[0], key_confidence=key[1], key_from="audio")
    return out


def loudness(data, rate: int) -> float | None:
    """Integrated loudness in LUFS (ITU-R BS.1770, pyloudnorm) of the file's own channels; None under 0.4 s
    (too short to gate) or for silence."""
    import numpy as np
    import pyloudnorm

    if len(data) < int(0.4 * rate) or data.shape[1] > 5:
        return None
    value = pyloudnorm.Meter(rate).integrated_loudness(np.asarray(data, dtype=np.float64))
    return round(float(value), 1) if math.isfinite(value) else None


def audio_features(y) -> tuple[dict, dict]:
    """The numbers `models.sample_kind` reads (by name), and what the tempo and key readers need."""
    import librosa
    import numpy as np

    sr, hop = aa.SR, aa.HOP
    duration = len(y) / sr
    stft = np.abs(librosa.stft(y, n_fft=2048, hop_length=hop))
    power = stft ** 2
    harm, perc = librosa.decompose.hpss(stft, kernel_size=17)
    freqs = librosa.fft_frequencies(sr=sr, n_fft=2048)
    frame_energy = power.sum(axis=0)
    peak_energy = float(frame_energy.max()) + 1e-12
    active = frame_energy > peak_energy * 1e-4  # within 40 dB of the loudest frame
    if not active.any():
        active[:] = True
    total = float(power[:, active].sum()) + 1e-12
    edges = (0, 120, 500, 2000, 6000, sr)
    bands = [float(power[(freqs >= lo) & (freqs < hi)][:, active].sum()) / total for lo, hi in zip(edges, edges[1:])]
    w = frame_energy[active] / frame_energy[active].sum()
    centroid = librosa.feature.spectral_centroid(S=stft, sr=sr)[0][active]
    bandwidth = librosa.feature.spectral_bandwidth(S=stft, sr=sr)[0][active]
    rolloff = librosa.feature.spectral_rolloff(S=stft, sr=sr)[0][active]
    flatness = librosa.feature.spectral_flatness(S=stft)[0][active]
    zcr = librosa.feature.zero_crossing_rate(y, hop_length=hop)[0][: len(active)][active[: len(y) // hop + 1]]
    mel = librosa.feature.melspectrogram(S=power, sr=sr, n_mels=96)
    logmel = librosa.power_to_db(mel, ref=np.max)
    onset_env = librosa.onset.onset_strength(S=logmel, sr=sr, hop_length=hop)
    onsets = librosa.onset.onset_detect(onset_envelope=onset_env, sr=sr, hop_length=hop, units="time")
    mfcc = librosa.feature.mfcc(S=librosa.power_to_db(mel), n_mfcc=13)[:, active]
    rms = np.sqrt(frame_energy)
    n = len(rms)
    tail = rms[int(n * 0.8):] if n >= 5 else rms
    chroma = librosa.feature.chroma_stft(S=harm ** 2, sr=sr, n_fft=2048, hop_length=hop, tuning=0.0)
    chroma_active = active[: chroma.shape[1]]
    c = chroma[:, chroma_active].mean(axis=1) if chroma_active.any() else chroma.mean(axis=1)
    cn = c / (c.sum() + 1e-12)
    low = harm[freqs < 300.0]
    low_chroma = librosa.feature.chroma_stft(S=np.vstack([low ** 2, np.zeros((len(freqs) - len(low), harm.shape[1]))]),
                                             sr=sr, n_fft=2048, hop_length=hop, tuning=0.0)
    lc = low_chroma[:, chroma_active].mean(axis=1) if chroma_active.any() else low_chroma.mean(axis=1)
    at_once = (chroma[:, chroma_active] > 0.6).sum(axis=0) if chroma_active.any() else np.array([0.0])
    feats = {
        "log_duration": math.log(max(duration, 0.01)),
        "onset_density": len(onsets) / max(duration, 0.05),
        "pulse_clarity": pulse_clarity(onset_env),
        "percussive_share": float((perc ** 2).sum() / ((perc ** 2).sum() + (harm ** 2).sum() + 1e-12)),
        "log_centroid": math.log(float(np.sum(centroid * w)) + 1.0),
        "centroid_spread": float(np.std(np.log(centroid + 1.0))),
        "log_bandwidth": math.log(float(np.sum(bandwidth * w)) + 1.0),
        "log_rolloff": math.log(float(np.sum(rolloff * w)) + 1.0),
        "flatness": float(np.mean(flatness)),
        "zero_crossings": float(np.mean(zcr)) if len(zcr) else 0.0,
        "band_sub": bands[0], "band_low": bands[1], "band_mid": bands[2], "band_high": bands[3], "band_air": bands[4],
        "attack_place": float(np.argmax(rms)) / max(1, n - 1),
        "tail_db": 20 * math.log10((float(tail.mean()) + 1e-9) / (float(rms.max()) + 1e-9)),
        "active_share": float(active.mean()),
        "chroma_peak": float(cn.max()),
        "chroma_entropy": float(-(cn * np.log(cn + 1e-12)).sum() / math.log(12)),
        "pitch_classes_at_once": float(np.mean(at_once)),
        "low_chroma_peak": float(lc.max() / (lc.sum() + 1e-12)),
    }
    for i in range(13):
        feats[f"mfcc{i}"] = float(mfcc[i].mean()) if mfcc.size else 0.0
        feats[f"mfcc{i}_sd"] = float(mfcc[i].std()) if mfcc.size else 0.0
    return feats, {"onset_env": onset_env, "starts_loud": starts_loud(frame_energy)}


def starts_loud(frame_energy) -> bool:
    """Whether audio starts as a loop does, on its downbeat: sound within the first three frames (~70 ms) no more
    than 20 dB under the file's typical level (the median of the frames within 40 dB of the loudest)."""
    import numpy as np

    sounding = frame_energy[frame_energy > frame_energy.max() * 1e-4]
    return bool(len(sounding)) and bool(frame_energy[:3].max() >= 0.01 * float(np.median(sounding)))


def pulse_clarity(onset_env) -> float:
    """How periodic the onsets are: the highest normalised autocorrelation at a lag of 0.25-2 s (0-1)."""
    import numpy as np

    env = onset_env - onset_env.mean()
    if len(env) < 16 or not env.any():
        return 0.0
    ac = np.correlate(env, env, mode="full")[len(env) - 1:]
    ac /= ac[0] + 1e-12
    fps = aa.SR / aa.HOP
    lo, hi = int(0.25 * fps), min(len(ac), int(2.0 * fps) + 1)
    return float(max(0.0, ac[lo:hi].max())) if hi > lo else 0.0


def loop_tempo(onset_env, duration: float, starts_loud: bool = True) -> tuple[float | None, int | None, str]:
    """-> (BPM, beats in the file, how it was found). A loop starts on its downbeat and lasts 1, 2, 4, 8, ... bars
    of 4/4, so its length names one exact tempo per octave; the pulse heard in the onsets picks the octave ("loop
    length"). The pulse tracker's usual slips — a dotted 3+3+2 feel heard 4/3 fast — land nearer the right
    candidate than any other. A file that starts with silence must agree within 8 %; one whose pulse is nowhere
    near a candidate is not taken for a loop: the pulse heard is reported ("beats")."""
    import librosa
    import numpy as np

    if len(onset_env) < 16 or not np.any(onset_env > 0):
        return None, None, ""
    heard = float(np.atleast_1d(librosa.feature.tempo(onset_envelope=onset_env, sr=aa.SR, hop_length=aa.HOP))[0])
    if not heard or not math.isfinite(heard):
        return None, None, ""
    candidates = [(60.0 * 4 * bars / duration, 4 * bars) for bars in (1, 2, 4, 8, 16, 32, 64)]
    candidates = [(bpm, beats) for bpm, beats in candidates if MIN_BPM <= bpm <= MAX_BPM]
    if candidates:
        bpm, beats = min(candidates, key=lambda c: abs(math.log(c[0] / heard)))
        # a file that starts with a rest may still be a loop, if the pulse heard agrees closely
        if abs(math.log(bpm / heard)) < math.log(1.45 if starts_loud else 1.08):
            return round(bpm, 2), beats, "loop length"
    while heard < MIN_BPM:
        heard *= 2
    while heard > MAX_BPM:
        heard /= 2
    beats = duration * heard / 60.0
    return round(heard, 1), (int(round(beats)) if abs(beats - round(beats)) < 0.1 else None), "beats"


def audio_key(y) -> tuple[str, float] | None:
    """Key and mode (major/minor) from the constant-Q chroma summed over the file, by Temperley's key profiles; the
    margin over the runner-up as confidence. None where nothing tonal sounds. (On the bench's rendered loops this
    plain reading did as well as or better than weighing in chords per bar and the bass: loops are short, and
    their chords and bass often sit off the tonic — a ii-V vamp, a turnaround.)"""
    import librosa
    import numpy as np

    from liveloom.music import analysis

    hist = librosa.feature.chroma_cqt(y=y, sr=aa.SR, hop_length=2048).sum(axis=1)
    if not np.isfinite(hist).all() or hist.sum() <= 0:
        return None
    scores = analysis.key_correlations([float(x) for x in hist], "temperley")
    (s1, tonic, minor), (s2, _, _) = scores[0], scores[1]
    return analysis.key_label(tonic, minor), round(min(1.0, (s1 - s2) * 5), 3)


def root_note(y, percussive_share: float = 0.0) -> str | None:
    """A tonal one-shot's root as a note name (e.g. "C3"): pYIN's median pitch over its voiced frames for a single
    note; for a chord (pYIN hears no single pitch) the lowest strong peak of the constant-Q spectrum, the bass of
    the chord. None for noise and drums."""
    import librosa
    import numpy as np

    seg = y[: int(aa.SR * 2.0)]
    if len(seg) < 2048:
        return None
    f0, voiced, prob = librosa.pyin(seg, fmin=30.0, fmax=2000.0, sr=aa.SR, frame_length=2048, hop_length=512)
    good = voiced & np.isfinite(f0)
    if good.sum() >= 4 and float(np.mean(prob[good])) >= 0.5:
        midi = int(round(float(librosa.hz_to_midi(np.median(f0[good])))))
    elif percussive_share < 0.5:
        prof = np.abs(librosa.cqt(seg, sr=aa.SR, fmin=librosa.note_to_hz("C1"), n_bins=84)).mean(axis=1)
        strong = [i for i in range(1, len(prof) - 1) if prof[i] >= 0.25 * prof.max() and
                  prof[i] >= prof[i - 1] and prof[i] >= prof[i + 1] and prof[i] >= 4 * float(np.median(prof))]
        if not strong:
            return None
        midi = 24 + strong[0]
    else:
        return None
    return f"{NOTE_NAMES[midi % 12]}{midi // 12 - 1}"


# -- MIDI ---------------------------------------------------------------------------------------------------------
def _midi(p: Path, max_bytes: int) -> dict:
    from liveloom.music.midi_io import midi_to_song

    size = p.stat().st_size
    if size > max_bytes:
        raise LiveloomError(f"{size:,} bytes; MIDI files are read up to {max_bytes:,} bytes")
    try:
        song = midi_to_song(p.read_bytes(), name=p.stem)
    except LiveloomError:
        raise
    except Exception as exc:  # noqa: BLE001 - mido's errors for malformed files
        raise LiveloomError(f"not a readable MIDI file ({str(exc)[:160]})") from None
    return song_record(song)


def song_record(song) -> dict:
    """A catalogue record of a Song (a MIDI file, or a clip given as an example): tempo (the file's, else found in
    the notes), meter, bars, kind by rule, key and mode, chords, and a short vector of its notes for "like"."""
    from liveloom.music import analysis

    song, clock = analysis.inferred_clock(song)
    parts = []
    for t in song.tracks:
        notes = [n for n in t.notes_on_timeline() if not n.mute]
        if notes:
            parts.append((t.is_drum or analysis.looks_like_drums(notes), notes))
    if not parts:
        raise LiveloomError("no notes in the file")
    pitched = [n for drum, notes in parts if not drum for n in notes]
    everything = [n for _, notes in parts for n in notes]
    ts = song.time_signature
    end = max(max(n.end for n in everything), song.length)
    whole = round(end / ts.beats_per_bar)
    if whole and abs(end / ts.beats_per_bar - whole) < 0.1:  # a last note short of the bar line, or a tick past it
        end = whole * ts.beats_per_bar
    seconds = song.beats_to_seconds(end)
    out: dict = {"format": "midi", "duration": round(seconds, 3), "tempo": round(song.tempo, 2),
                 "tempo_from": "notes" if clock.get("tempo_applied") else "file",
                 "meter": str(ts), "bars": round(end / ts.beats_per_bar, 2), "tracks": len(parts),
                 "notes": len(everything), "kind": midi_kind(parts)}
    out["onset_density"] = round(len({round(n.start, 3) for n in everything}) / max(seconds, 0.05), 2)
    if pitched:
        # a loop need not end on its tonic: its chords say more than a cadence would
        from liveloom.models import mode_classifier

        est = analysis.estimate_key_of_loop(pitched, ts.beats_per_bar)
        tonic, mode, _ = mode_classifier.load().predict(pitched, ts.beats_per_bar)
        if tonic != est.tonic or whole < 8 or mode in ("major", "minor"):  # a church mode on the same tonic,
            # with 8 bars to tell (the mode classifier knows lines; a loop's major or minor is the key estimate's)
            tonic, mode = est.tonic, "minor" if est.minor else "major"
        out.update(key=f"{NOTE_NAMES[tonic]} {mode}", key_confidence=round(est.confidence, 3), key_from="notes")
        chords = analysis.progression_from_notes(pitched, ts, round(end / ts.beats_per_bar + 0.4999) * ts.beats_per_bar)
        text = analysis.progression_text(chords, ts) if chords else ""
        out["chords"] = text if len(text) <= 160 else text[:157].rsplit(" ", 1)[0] + " …"
        hist = analysis.pc_histogram(pitched)
        total = sum(hist) or 1.0
        out["symbolic"] = [round(h / total, 4) for h in hist] + [
            round(sum(n.pitch for n in pitched) / len(pitched) / 127, 4), round(analysis.polyphony_of(pitched) / 6, 4),
            round(min(1.0, out["onset_density"] / 16), 4), round(1 - len(pitched) / len(everything), 4)]
    return out


def midi_kind(parts: list[tuple[bool, list]]) -> str:
    """The kind of a MIDI file from its parts, by rule (what the notes say, not a learned guess): drums only ->
    drum_loop; two or more parts with pitched ones -> full_mix; one pitched part: a single short event ->
    one_shot, chords sounding together -> chords, a line mostly under C3 -> bass, else melodic."""
    from liveloom.music import analysis

    pitched = [notes for drum, notes in parts if not drum]
    if not pitched:
        return "drum_loop"
    if len(parts) >= 2:
        return "full_mix"
    notes = pitched[0]
    if len({round(n.start, 3) for n in notes}) == 1 and max(n.end for n in notes) <= 4.0:
        return "one_shot"
    if analysis.polyphony_of(notes) >= 2.0:
        return "chords"
    pitches = sorted(n.pitch for n in notes)
    return "bass" if pitches[len(pitches) // 2] < 48 else "melodic"


# -- what a producer's file name says ------------------------------------------------------------------------------
_BPM = re.compile(r"(?<![0-9])([4-9][0-9]|1[0-9][0-9]|2[0-4][0-9])(?:\.[0-9]+)?\s*_?(?:bpm)(?![a-z])", re.I)
_KEY = re.compile(r"^([A-G])(#|b|sharp|flat)?(m|min|minor|maj|major|dor|dorian|mix|mixolydian)?$", re.I)
_MODES = {"m": "minor", "min": "minor", "minor": "minor", "maj": "major", "major": "major", "dor": "dorian",
          "dorian": "dorian", "mix": "mixolydian", "mixolydian": "mixolydian"}


def name_hints(stem: str, record: dict) -> dict:
    """What sample packs write in a file name — "Bass_Loop_92bpm_F#min" — taken over where the audio agrees (a
    tempo within 4 %, or half or double) or says nothing; the audio's own reading is kept beside it."""
    out: dict = {}
    m = _BPM.search(stem)
    if m:
        named = float(m.group(1))
        heard = record.get("tempo")
        if heard is None or any(abs(math.log(named / (heard * o))) < math.log(1.04) for o in (1.0, 2.0, 0.5)):
            if heard is not None and abs(heard - named) > 0.05:
                out["tempo_heard"] = heard
            out["tempo"], out["tempo_from"] = named, "file name"
            if record.get("duration") and record.get("format") == "audio":
                beats = record["duration"] * named / 60.0
                out["beats"] = int(round(beats)) if abs(beats - round(beats)) < 0.1 else None
                out["bars"] = round(out["beats"] / 4, 2) if out["beats"] else None
    for token in re.split(r"[\s_\-.,()\[\]]+", stem):
        k = _KEY.match(token)
        if not k or not (k.group(2) or k.group(3)):  # a bare letter ("Loop_A") is not a key
            continue
        accidental = {"sharp": "#", "flat": "b"}.get((k.group(2) or "").lower(), k.group(2) or "")
        if accidental == "B":
            accidental = "b"
        mode = _MODES[(k.group(3) or "maj").lower()]
        named = f"{k.group(1).upper()}{accidental} {mode}"
        if record.get("kind") == "drum_loop":
            break
        if record.get("key") and record["key"] != named:
            out["key_heard"] = record["key"]
        out["key"], out["key_from"] = named, "file name"
        break
    return out
