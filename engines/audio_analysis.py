"""Audio analysis with librosa: tempo, beats and downbeats, key, chords, loudness, onsets,
structure and a spectral summary. Deterministic signal processing, not a learned model.

Audio is decoded with soundfile (wav, flac, mp3, ogg, aiff), mixed to mono and resampled to
22,050 Hz; files longer than the limit are refused before decoding. `analyze` checks a cancel
flag between stages, so a cancelled request stops within one stage.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from liveloom.music import analysis
from liveloom.music.errors import LiveloomError
from liveloom.music.jobs import NO_JOB, Job
from liveloom.music.theory import chord_name, parse_chord_symbol
from liveloom.music.types import Clip, Note, PlacedClip, Song, TimeSignature, Track

SUPPORTED = (".wav", ".flac", ".mp3", ".ogg", ".oga", ".aif", ".aiff")
SR = 22050
HOP = 512


MIN_RATE, MAX_RATE = 4_000, 384_000
MAX_PEAK = 1_000.0  # 60 dB over full scale: past this, a float file's numbers are not audio


def load(path: Path, max_seconds: float, rate: int = SR):
    """-> (mono float32 samples at `rate` (default SR), info dict). Clear errors for what cannot be read."""
    data, file_rate, info = read(path, max_seconds)
    return mono_at(data, file_rate, rate), info


def mono_at(data, file_rate: int, rate: int = SR):
    """Frames x channels -> mono float32 at `rate`."""
    import numpy as np

    mono = data.mean(axis=1)
    if file_rate != rate:
        import soxr

        mono = soxr.resample(mono, file_rate, rate)
    return mono.astype(np.float32)


def read(path: Path, max_seconds: float):
    """-> (float32 frames x channels at the file's rate, the rate, info dict). Clear errors for what cannot be
    read: an unsupported format, a bad header, a rate or length out of bounds, samples that are not audio."""
    import numpy as np
    import soundfile as sf

    if path.suffix.lower() not in SUPPORTED:
        raise LiveloomError(f"{path.name}: unsupported audio format; use one of {', '.join(SUPPORTED)}")
    try:
        info = sf.info(str(path))
    except Exception as exc:  # soundfile raises its own error types for bad headers
        raise LiveloomError(f"{path.name} is not readable audio ({exc}); is it corrupt or truncated?") from None
    if not MIN_RATE <= info.samplerate <= MAX_RATE:  # checked from the header, before any work
        raise LiveloomError(f"{path.name} says its sample rate is {info.samplerate} Hz; audio tools take "
                            f"{MIN_RATE:,}-{MAX_RATE:,} Hz")
    seconds = info.frames / info.samplerate if info.samplerate else 0.0
    if seconds > max_seconds:
        raise LiveloomError(f"{path.name} lasts {seconds:.0f} s; the audio tools (analyze_audio, transcribe, ...) "
                            f"take at most {max_seconds:.0f} s: cut it into parts")
    try:
        data, file_rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:
        raise LiveloomError(f"{path.name} could not be decoded ({exc}); is it corrupt or truncated?") from None
    if data.size == 0:
        raise LiveloomError(f"{path.name} has no audio frames")
    if not np.isfinite(data).all():
        raise LiveloomError(f"{path.name} holds samples that are not numbers (NaN or infinite); re-export it")
    peak = float(np.abs(data).max())
    if peak > MAX_PEAK:
        raise LiveloomError(f"{path.name} has samples of {peak:.3g} where audio lies within ±1 (float files may go "
                            f"a little over); re-export it at a normal level")
    return data, int(file_rate), {"seconds": round(len(data) / file_rate, 3), "sample_rate": int(file_rate),
                                  "channels": int(data.shape[1]), "format": info.format}


STAGES = 7


SPARSE_LOW_SHARE = 0.15  # under this share of the energy below 200 Hz: no bass or kick to hear the beat in


def analyze(y, *, job: Job = NO_JOB, notes_of: Callable[[object, Job], list] | None = None) -> dict:
    """Everything analyze_audio reports; each of the 7 stages is reported to `job` as it starts (and a cancelled job
    stops there).

    `notes_of(y, job)` -> note events in seconds (start, end, pitch, amplitude attributes: a transcriber). Given, it
    is used for material without a bass or kick (a melody, a lead, a solo instrument), where the beat tracker
    hears eighths as beats and the low band that marks the bar is empty: the pulse and the meter come from the
    notes, as for a MIDI file without a tempo (music.analysis.inferred_clock), and the beats are tracked at that
    pulse."""
    import librosa
    import numpy as np

    def stage(i: int, name: str) -> None:
        job.progress(i, STAGES, name)

    duration = len(y) / SR
    stage(1, "spectrum and loudness")
    peak = float(np.max(np.abs(y))) if len(y) else 0.0
    if peak < 1e-4:  # below -80 dBFS: silence
        return {"duration": round(duration, 3), "silent": True, "peak_dbfs": _db(peak)}
    # one STFT and one mel spectrogram serve every feature below
    mag = np.abs(librosa.stft(y, n_fft=2048, hop_length=HOP))
    mel_freqs = librosa.mel_frequencies(n_mels=128, fmax=SR / 2)
    logmel = librosa.power_to_db(librosa.feature.melspectrogram(S=mag ** 2, sr=SR, n_mels=128))
    rms = librosa.feature.rms(y=y, frame_length=2048, hop_length=HOP)[0]  # time domain: true dBFS
    per = max(1, int(round(0.5 * SR / HOP)))
    loud = [round(_db(float(np.sqrt(np.mean(rms[i:i + per] ** 2)))), 1) for i in range(0, len(rms), per)]
    step = max(1, len(loud) // 600)
    out: dict = {"duration": round(duration, 3), "silent": False, "peak_dbfs": round(_db(peak), 2),
                 "loudness_dbfs_per_half_second": loud[::step]}

    stage(2, "onsets, tempo and beats")
    onset_env = librosa.onset.onset_strength(S=logmel, sr=SR, hop_length=HOP)
    onsets = librosa.onset.onset_detect(onset_envelope=onset_env, sr=SR, hop_length=HOP, units="time")
    out["onset_density_per_second"] = round(len(onsets) / max(duration, 1e-9), 3)
    tempo, beat_frames = librosa.beat.beat_track(onset_envelope=onset_env, sr=SR, hop_length=HOP)
    out["tempo"] = round(float(np.atleast_1d(tempo)[0]), 2)
    out["tempo_source"] = "beats"
    # the transcriber's progress inside this stage's step (progress only ever goes up), its cancellation ours
    within = Job(report=lambda done, total, what: job.report(2 + done / max(total, 1), STAGES, "notes of the line"),
                 cancel=job.cancel)
    clock = line_clock(mag, SR, lambda: notes_of(y, within)) if notes_of is not None else None
    if clock is not None:
        pulse_bpm, quarter_bpm, ts = clock
        _, beat_frames = librosa.beat.beat_track(onset_envelope=onset_env, sr=SR, hop_length=HOP, bpm=pulse_bpm)
        out["tempo"], out["tempo_source"] = round(quarter_bpm, 2), "notes"
    beats = librosa.frames_to_time(beat_frames, sr=SR, hop_length=HOP)
    out["beats"] = [round(float(t), 3) for t in beats]

    stage(3, "meter and downbeats")
    # the bar is marked by the bass and the kick; a line without them by its own accents
    low = librosa.onset.onset_strength(S=logmel[mel_freqs < 200.0], sr=SR, hop_length=HOP) if clock is None \
        else onset_env
    period = float(np.median(np.diff(beat_frames))) if len(beat_frames) >= 8 else 0.0  # frames per beat
    if period > 0 and len(low) > 8 * period:
        # a regular beat grid at the median beat period, each point re-aligned to the nearest low-band peak:
        # a beat the tracker dropped cannot shift the count, and tempo drift is followed
        grid: list[int] = []
        t = float(beat_frames[0])
        while t < len(low) - 1:
            lo, hi = max(0, int(t - period / 4)), min(len(low), int(t + period / 4) + 1)
            peak_at = lo + int(np.argmax(low[lo:hi])) if hi > lo else int(t)
            grid.append(peak_at)
            t = 0.5 * (peak_at + t) + period
        accents = [float(low[g]) for g in grid]
        if clock is not None:  # pulses per bar of the meter the notes gave: 2 for 6/8, 3 for 3/4
            ts = clock[2]
            meter = ts.numerator // 3 if ts.denominator == 8 and ts.numerator % 3 == 0 else ts.numerator
            out["meter"] = str(ts)
        else:
            meter, _ = analysis.estimate_meter([float(i) for i in range(len(accents))], accents)
            out["meter"] = f"{meter}/4"
        phase = int(np.argmax([np.mean(accents[p::meter]) for p in range(meter)]))
        out["downbeats"] = [round(float(x), 3) for x in
                            librosa.frames_to_time(np.array(grid[phase::meter]), sr=SR, hop_length=HOP)]
    else:
        out["meter"], out["downbeats"] = None, []

    stage(4, "key and chords")
    spec = np.abs(librosa.stft(y, n_fft=4096, hop_length=2048))
    band = librosa.fft_frequencies(sr=SR, n_fft=4096) < 5000.0  # chroma needs nothing higher
    harmonic = np.zeros_like(spec)
    # drums out of the harmony: median filters over ~0.8 s and ~50 Hz
    harmonic[band], _ = librosa.decompose.hpss(spec[band], kernel_size=9, margin=2.0)
    chroma = librosa.feature.chroma_stft(S=harmonic ** 2, sr=SR, n_fft=4096, hop_length=2048)
    beat_frames_chroma = librosa.time_to_frames(beats, sr=SR, hop_length=2048) if len(beats) else np.array([], int)
    sync = librosa.util.sync(chroma, beat_frames_chroma, aggregate=np.mean) if len(beats) else chroma
    bounds = [0.0] + [float(t) for t in beats] + [duration] if len(beats) else [0.0, duration]
    chords: list[dict] = []
    for k in range(sync.shape[1]):
        weights = [float(x) for x in sync[:, k]]
        labeled = analysis.label_chord(weights, None, extra_tone_penalty=0.12) if sum(weights) > 0 else None
        name = "N" if labeled is None or labeled[1] < 0.55 else chord_name(labeled[0])
        start = bounds[min(k, len(bounds) - 1)]
        if chords and chords[-1]["chord"] == name:
            continue
        chords.append({"time": round(start, 3), "beat": k, "chord": name})
    out["chords"] = chords
    # the key, from the chords heard (sturdier than raw chroma, which overtones and drums smear)
    hist = [0.0] * 12
    for i, c in enumerate(chords):
        if c["chord"] != "N":
            length = (chords[i + 1]["time"] if i + 1 < len(chords) else duration) - c["time"]
            for pc in parse_chord_symbol(c["chord"].split("(")[0]).pitch_classes:
                hist[pc] += length
    if sum(hist) == 0:
        hist = [float(x) for x in chroma.sum(axis=1)]
    scores = analysis.key_correlations(hist, "aarden")
    best, second = scores[0], scores[1]
    out["key"] = {"key": analysis.key_label(best[1], best[2]), "confidence": round(min(1.0, (best[0] - second[0]) * 5), 3),
                  "runners_up": [analysis.key_label(t, m) for _, t, m in scores[1:4]]}

    stage(5, "structure")
    mfcc = librosa.feature.mfcc(S=logmel, n_mfcc=13)
    if len(beat_frames) >= 16:
        feats = np.vstack([librosa.util.sync(chroma, beat_frames_chroma), librosa.util.sync(
            mfcc, beat_frames, aggregate=np.mean)[:, : sync.shape[1]]])
        feats = librosa.util.normalize(feats, axis=1)
        k = int(min(10, max(2, duration // 20)))
        bound_beats = librosa.segment.agglomerative(feats, k)
        seg_times = [round(bounds[min(b, len(bounds) - 1)], 3) for b in bound_beats]
        segs = []
        centroids: list = []
        for i, b in enumerate(bound_beats):
            end = bound_beats[i + 1] if i + 1 < len(bound_beats) else feats.shape[1]
            c = feats[:, b:end].mean(axis=1)
            label = None
            for j, prev in enumerate(centroids):
                if float(np.dot(c, prev) / (np.linalg.norm(c) * np.linalg.norm(prev) + 1e-9)) > 0.97:
                    label = chr(65 + j)
                    break
            if label is None:
                centroids.append(c)
                label = chr(65 + len(centroids) - 1)
            segs.append({"start": seg_times[i], "beat": int(b), "label": label})
        out["segments"] = segs
    else:
        out["segments"] = [{"start": 0.0, "beat": 0, "label": "A"}]

    stage(6, "spectrum")
    cent = librosa.feature.spectral_centroid(S=mag, sr=SR)[0]
    roll = librosa.feature.spectral_rolloff(S=mag, sr=SR)[0]
    zcr = librosa.feature.zero_crossing_rate(y, hop_length=HOP)[0]
    out["spectral"] = {
        "centroid_hz": {"mean": round(float(cent.mean()), 1), "std": round(float(cent.std()), 1)},
        "rolloff_hz": {"mean": round(float(roll.mean()), 1), "std": round(float(roll.std()), 1)},
        "zero_crossing_rate": {"mean": round(float(zcr.mean()), 4), "std": round(float(zcr.std()), 4)},
        "mfcc_mean": [round(float(x), 2) for x in mfcc.mean(axis=1)],
        "mfcc_std": [round(float(x), 2) for x in mfcc.std(axis=1)],
    }
    out["_chroma"] = chroma  # for the plot; removed before storing
    return out


def line_clock(mag, rate: int, notes: Callable[[], list]) -> tuple[float, float, TimeSignature] | None:
    """For a line without bass or kick — under SPARSE_LOW_SHARE of a magnitude spectrogram's energy (n_fft 2048)
    below 200 Hz, where they would mark the beat and the bar — the clock of its notes (`notes()`, asked for only
    then; clock_from_notes); else None: the beat tracker hears such material better."""
    import librosa

    power = mag ** 2
    share = float(power[librosa.fft_frequencies(sr=rate, n_fft=2048) < 200.0].sum() / (power.sum() + 1e-12))
    return clock_from_notes(notes()) if share < SPARSE_LOW_SHARE else None


def clock_from_notes(events: list) -> tuple[float, float, TimeSignature] | None:
    """(pulse BPM, quarter-note BPM, time signature) of note events in seconds, as a MIDI file without a tempo
    would get them (music.analysis.inferred_clock); None when the notes show no pulse."""
    notes = [Note(pitch=e.pitch, start=e.start * 2.0, duration=max(0.01, (e.end - e.start) * 2.0),
                  velocity=max(1, min(127, int(round(127 * e.amplitude))))) for e in events]  # beats at 120 BPM
    if len(notes) < 8:
        return None
    song = Song(name="heard", tempo=120.0, tempo_known=False, meter_known=False, tracks=[Track(name="notes", clips=[
        PlacedClip(clip=Clip(notes=notes, length=max(n.end for n in notes) + 1.0))])])
    timed, info = analysis.inferred_clock(song)
    if "tempo_estimate" not in info:
        return None
    return float(info["tempo_estimate"]["bpm"]), float(timed.tempo), timed.time_signature


def _db(x: float) -> float:
    import math

    return 20 * math.log10(x) if x > 0 else -120.0


def plot(result: dict, title: str) -> bytes:
    """PNG for a chat (about 100 KB): the chromagram (averaged down to the figure's pixels) with the
    chord changes labelled where there is room for them, the bar grid and the segments."""
    import io

    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    chroma = np.asarray(result["_chroma"])
    duration = result["duration"]
    width_in, dpi = 12.0, 90
    columns = int(width_in * dpi)
    if chroma.shape[1] > columns:  # average blocks of frames: the picture the pixels can show anyway
        k = int(np.ceil(chroma.shape[1] / columns))
        pad = (-chroma.shape[1]) % k
        chroma = np.pad(chroma, ((0, 0), (0, pad)), mode="edge").reshape(12, -1, k).mean(axis=2)
    fig, ax = plt.subplots(figsize=(width_in, 4))
    ax.imshow(chroma, aspect="auto", origin="lower", extent=(0, duration, -0.5, 11.5), cmap="magma")
    ax.set_yticks(range(12))
    ax.set_yticklabels(["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"], fontsize=7)
    for t in result.get("downbeats", []):
        ax.axvline(t, color="white", linewidth=0.5, alpha=0.5)
    for seg in result.get("segments", []):
        ax.axvline(seg["start"], color="cyan", linewidth=1.5)
        ax.text(seg["start"], 11.9, seg["label"], color="cyan", fontsize=9, va="bottom")
    room = duration / 40  # at most about 40 labels across, each clear of the last
    last_t, last_label, row = -1e9, None, 0
    for c in result.get("chords", []):
        if c["chord"] == last_label or c["chord"] == "N" or c["time"] - last_t < room:
            continue
        row = 1 - row  # two rows, so neighbours never overlap
        ax.text(c["time"], -1.2 - 0.9 * row, c["chord"], fontsize=7, ha="left", va="top")
        last_t, last_label = c["time"], c["chord"]
    ax.set_xlim(0, duration)
    ax.set_ylim(-3.2, 12.8)
    ax.set_xlabel("seconds")
    ax.set_title(f"{title} — {result['key']['key']}, {result['tempo']:g} BPM, {result.get('meter') or '?'}",
                 loc="left", fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    # a palette of 128 colours: the colour map and the anti-aliased labels keep their look at a third of the bytes
    from PIL import Image

    image = Image.open(io.BytesIO(buf.getvalue())).convert("RGB").quantize(colors=128)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def groove_onsets(y) -> dict:
    """Onsets of a recording placed on its beat grid, for groove extraction: each onset's position in
    beats from the first downbeat and its accent (peak level, relative to the loudest onset).

    The tempo comes from librosa's beat tracker; the grid's phase is set by the accents, not by the
    tracker (which can lock onto any steady pulse): it is the accent-weighted centre of the most
    accented cluster of onset phases. A finer hop than analyze() (128 samples, 5.8 ms) keeps timing
    offsets of a few milliseconds."""
    import librosa
    import numpy as np

    hop = 128
    if len(y) == 0 or float(np.max(np.abs(y))) < 1e-4:
        raise LiveloomError("the audio is silent: there is no groove to take from it")
    env = librosa.onset.onset_strength(y=y, sr=SR, hop_length=hop, n_mels=64)
    frames = librosa.onset.onset_detect(onset_envelope=env, sr=SR, hop_length=hop, backtrack=True)
    tempo, beat_frames = librosa.beat.beat_track(onset_envelope=env, sr=SR, hop_length=hop)
    if len(beat_frames) < 4 or len(frames) < 4:
        raise LiveloomError("no steady beat could be found in the audio (fewer than 4 beats or onsets): "
                            "there is no groove to take from it")
    beats = librosa.frames_to_time(beat_frames, sr=SR, hop_length=hop)
    times = librosa.frames_to_time(frames, sr=SR, hop_length=hop)
    period = float(np.median(np.diff(beats)))
    # accent: the peak level around the onset (detected onsets can land a few ms either side of the attack)
    before, after = int(0.02 * SR), int(0.03 * SR)
    amp = np.array([float(np.max(np.abs(y[max(0, int(t * SR) - before): int(t * SR) + after]))) for t in times])
    amp = amp / max(1e-9, float(amp.max()))
    # a steady grid: the tracker's median period, refined by a least-squares fit of the accented onsets
    # to whole beats (the tracker's own beats can slide from one pulse to another within a file)
    strong = amp >= max(0.5, float(np.quantile(amp, 0.75)) - 1e-9)
    ts = times[strong] if strong.sum() >= 4 else times
    t0 = float(ts[0])
    for _ in range(3):
        n = np.round((ts - t0) / period)
        if len(np.unique(n)) < 2:
            break
        period, t0 = (float(v) for v in np.polyfit(n, ts, 1))
    pos = (times - t0) / period
    # re-phase the grid onto the accents: the most accented cluster of phases becomes the beat
    frac = pos % 1.0
    weight = amp ** 2
    dist = lambda a, b: np.abs(((a - b) + 0.5) % 1.0 - 0.5)  # noqa: E731  circular distance in beats
    centre = max(frac, key=lambda c: float(weight[dist(frac, c) < 0.06].sum()))
    near = dist(frac, centre) < 0.06
    offsets = ((frac[near] - centre) + 0.5) % 1.0 - 0.5
    phase = (centre + float(np.sum(weight[near] * offsets) / np.sum(weight[near]))) % 1.0
    pos = pos - phase
    # downbeats: the beat (mod the meter) whose onsets are loudest
    n_beats = int(np.floor(pos.max())) + 1
    first = int(np.floor(pos.min()))
    accents = []
    for b in range(first, n_beats):
        close = np.abs(pos - b) < 0.1
        accents.append(float(amp[close].max()) if close.any() else 0.0)
    meter, _ = analysis.estimate_meter([float(i) for i in range(len(accents))], accents)
    down = first + int(np.argmax([np.mean(accents[p::meter]) for p in range(meter)]))
    start = down - meter * int(np.ceil((down - float(pos.min()) + 0.25) / meter))
    return {"tempo": round(60.0 / period, 2), "meter": int(meter), "beats": [round(float(p - start), 4) for p in pos],
            "strength": [round(float(a), 4) for a in amp]}
