"""Drums from audio: the drum model's hits as a General MIDI drum clip, and for a full mix the pitched parts too.

A full mix (said by the sample-kind classifier, or asked for) is split with librosa's harmonic/percussive
separation: the percussive part goes to the drum model, the harmonic part to basic-pitch. A drum loop or a
drum recording goes to the drum model whole. The tempo of a loop comes from its length (see
`sample_analysis.loop_tempo`); progress per chunk; a cancelled job stops between chunks.
"""

from __future__ import annotations

from dataclasses import dataclass

from liveloom.engines import sample_analysis
from liveloom.engines import transcription as tr
from liveloom.music.jobs import NO_JOB, Job
from liveloom.music.types import Note

SPLITS = ("auto", "always", "never")


@dataclass
class DrumTranscription:
    hits: list  # models.drum_transcriber.Hit, seconds
    pitched: list | None  # basic-pitch note events of the harmonic part, when the audio was split
    engine: str
    detected_bpm: float | None
    silent: bool
    split: bool
    kind: str | None  # what the sample-kind classifier heard (auto split)


def transcribe_drums(hub, y, *, split: str = "auto", detect_tempo: bool = True, job: Job = NO_JOB
                     ) -> DrumTranscription:
    """Mono samples at 22,050 Hz (the drum model's and basic-pitch's rate) -> hits, and pitched notes of a mix."""
    import numpy as np

    from liveloom.models import drum_transcriber as dt
    from liveloom.models import sample_kind

    silent = not tr.check_audio_not_silent(y)
    model = hub.drums()
    engine = (f"liveloom drum model ({model.parameters / 1e3:.0f} K parameters, trained here; {model.source}) in "
              f"PyTorch on {model.device}")
    if silent:
        return DrumTranscription([], None, engine, None, True, False, None)
    job.progress(0, 4, "listening")
    kind = None
    if split == "auto":  # what it sounds like, from its first 30 s (a second or less of work)
        feats, _ = sample_analysis.audio_features(y[: 30 * dt.SR])
        kind, _ = sample_kind.load().classify(np.array([feats[f] for f in sample_kind.FEATURES]))
        job.check()
    do_split = split == "always" or (split == "auto" and kind == "full_mix")
    drums_in, pitched = y, None
    if do_split:
        import librosa

        job.progress(1, 4, "separating drums from the rest")
        harmonic, percussive = librosa.effects.hpss(y, margin=(1.0, 2.0))
        drums_in = percussive
    job.progress(2, 4, "drums")
    hits = model.transcribe(drums_in, progress=lambda d, t: job.check(), cancel=job.cancel)
    if do_split:
        job.progress(3, 4, "pitched parts")
        bp, device = hub.transcriber()
        out = tr.infer(harmonic, bp, device, cancel=job.cancel)
        pitched = tr.general_notes(out, harmonic, pitch_bends=False, cancel=job.cancel)
        engine += " + basic-pitch on the harmonic part (HPSS)"
    bpm = None
    if detect_tempo:
        import librosa

        env = librosa.onset.onset_strength(y=y, sr=dt.SR, hop_length=512)
        rms = librosa.feature.rms(y=y, frame_length=2048, hop_length=512)[0]
        bpm, _, _ = sample_analysis.loop_tempo(env, len(y) / dt.SR, sample_analysis.starts_loud(rms ** 2))
    job.progress(4, 4, "done")
    return DrumTranscription(hits, pitched, engine, bpm, False, do_split, kind)


def hits_to_notes(hits, bpm: float) -> list[Note]:
    """Hits in seconds -> drum notes in beats on the General MIDI keys (a 16th note long each)."""
    from liveloom.models.drum_transcriber import OUT_PITCH

    beat = 60.0 / bpm
    return [Note(pitch=OUT_PITCH[h.cls], start=round(max(0.0, h.time / beat), 6), duration=0.25,
                 velocity=h.velocity) for h in hits]


def class_counts(hits) -> dict[str, int]:
    from liveloom.models.drum_transcriber import CLASSES

    counts: dict[str, int] = {}
    for h in hits:
        counts[CLASSES[h.cls]] = counts.get(CLASSES[h.cls], 0) + 1
    return counts
