"""Drums from audio: a small convolutional network trained here that hears, frame by frame (11.6 ms), where a
kick, snare, closed or open hi-hat, tom, crash or ride is struck and how hard.

Front end: a log-mel spectrogram (80 bands, 30 Hz-11 kHz, 22,050 Hz, hop 256), normalized to the file's loudest
bin so the level of a recording does not matter. Network: two 2-D convolution blocks over time and frequency,
then 1-D convolutions over time (a context of about ±90 ms), giving per class an onset probability and a
velocity. Peaks above the class's threshold (tuned on validation grooves) are the hits.

Trained by `bench/drum_transcriber_train.py` on grooves rendered through two soundfonts and tested on others
(card: `checkpoints/drums/MODEL_CARD.md`). The checkpoint is safetensors weights and a JSON of settings; a user's
checkpoint of the same form loads with `load(path)`.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from liveloom.music.errors import Cancelled, ModelFailure

CLASSES = ("kick", "snare", "closed_hat", "open_hat", "tom", "crash", "ride")
OUT_PITCH = (36, 38, 42, 46, 45, 49, 51)  # the General MIDI key each class is written on
GM_TO_CLASS = {35: 0, 36: 0, 37: 1, 38: 1, 39: 1, 40: 1, 42: 2, 44: 2, 46: 3, 41: 4, 43: 4, 45: 4, 47: 4, 48: 4,
               50: 4, 49: 5, 52: 5, 55: 5, 57: 5, 51: 6, 53: 6, 59: 6}
SR, HOP, N_FFT, N_MELS, FMIN, FMAX = 22050, 256, 1024, 80, 30.0, 11025.0
FPS = SR / HOP
SHIPPED = Path(__file__).resolve().parent / "checkpoints" / "drums"
CHUNK_FRAMES = 2048  # ~24 s per forward pass (with context on both sides)
CONTEXT = 32


def logmel(y: np.ndarray) -> np.ndarray:
    """(frames, N_MELS) float32 in 0..1: dB under the file's loudest bin, 80 dB of range."""
    import librosa

    mel = librosa.feature.melspectrogram(y=y, sr=SR, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS, fmin=FMIN,
                                         fmax=FMAX, power=2.0)
    db = librosa.power_to_db(mel, ref=float(mel.max()) if mel.max() > 0 else 1.0, top_db=80.0)
    return ((db + 80.0) / 80.0).T.astype(np.float32)


def build_network():
    import torch
    from torch import nn

    class DrumNet(nn.Module):
        def __init__(self):
            super().__init__()

            def block(cin, cout):
                return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(),
                                     nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(),
                                     nn.MaxPool2d((1, 4)))

            self.conv = nn.Sequential(block(1, 16), block(16, 32))
            width = 32 * (N_MELS // 16)
            self.time = nn.Sequential(nn.Conv1d(width, 128, 7, padding=3), nn.ReLU(), nn.Dropout(0.2),
                                      nn.Conv1d(128, 128, 3, padding=1), nn.ReLU())
            self.onset = nn.Conv1d(128, len(CLASSES), 1)
            self.velocity = nn.Conv1d(128, len(CLASSES), 1)

        def forward(self, x):  # x: (batch, frames, mels) -> onset logits, velocities (batch, classes, frames)
            h = self.conv(x.unsqueeze(1))  # (b, c, t, f)
            b, c, t, f = h.shape
            h = self.time(h.permute(0, 1, 3, 2).reshape(b, c * f, t))
            return self.onset(h), torch.sigmoid(self.velocity(h))

    return DrumNet()


@dataclass
class Hit:
    time: float  # seconds
    cls: int
    velocity: int
    strength: float


class DrumTranscriber:
    def __init__(self, net, thresholds: list[float], card: dict, device: str, source: str):
        self.net, self.thresholds, self.card, self.device, self.source = net, thresholds, card, device, source
        self.parameters = sum(p.numel() for p in net.parameters())
        self._lock = threading.Lock()

    def activations(self, mel: np.ndarray, progress=lambda d, t: None, cancel: threading.Event | None = None):
        """(frames, mels) -> onset probabilities and velocities (classes, frames), in chunks with context."""
        import torch

        n = len(mel)
        probs = np.zeros((len(CLASSES), n), np.float32)
        vels = np.zeros((len(CLASSES), n), np.float32)
        chunks = range(0, n, CHUNK_FRAMES)
        with self._lock, torch.inference_mode():
            for i, start in enumerate(chunks):
                if cancel is not None and cancel.is_set():
                    raise Cancelled("drum transcription was cancelled")
                a, b = max(0, start - CONTEXT), min(n, start + CHUNK_FRAMES + CONTEXT)
                x = torch.from_numpy(mel[a:b]).unsqueeze(0).to(self.device)
                logits, vel = self.net(x)
                keep = slice(start - a, start - a + min(CHUNK_FRAMES, n - start))
                probs[:, start:start + CHUNK_FRAMES] = torch.sigmoid(logits[0, :, keep]).float().cpu().numpy()
                vels[:, start:start + CHUNK_FRAMES] = vel[0, :, keep].float().cpu().numpy()
                progress(i + 1, len(chunks))
        return probs, vels

    def hits(self, probs: np.ndarray, vels: np.ndarray, thresholds: list[float] | None = None) -> list[Hit]:
        return peaks(probs, vels, thresholds or self.thresholds)

    def transcribe(self, y: np.ndarray, progress=lambda d, t: None, cancel=None) -> list[Hit]:
        """Mono samples at SR -> hits, in time order."""
        if len(y) < N_FFT:
            return []
        probs, vels = self.activations(logmel(y), progress, cancel)
        return self.hits(probs, vels)


def peaks(probs: np.ndarray, vels: np.ndarray, thresholds: list[float], gap: int = 2) -> list[Hit]:
    """Local maxima (within ±`gap` frames) above each class's threshold."""
    out = []
    for c in range(probs.shape[0]):
        p = probs[c]
        above = np.flatnonzero(p >= thresholds[c])
        last = -10
        for i in above:
            lo, hi = max(0, i - gap), min(len(p), i + gap + 1)
            if p[i] < p[lo:hi].max() or i - last <= gap:
                continue
            last = i
            out.append(Hit(i / FPS, c, max(1, min(127, int(round(vels[c, i] * 127)))), float(p[i])))
    out.sort(key=lambda h: (h.time, h.cls))
    return out


def save(net, thresholds: list[float], card: dict, folder: Path) -> None:
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}, str(folder / "drums.safetensors"))
    (folder / "drums.json").write_text(json.dumps({"classes": list(CLASSES), "sr": SR, "hop": HOP, "n_mels": N_MELS,
                                                   "thresholds": [round(t, 3) for t in thresholds], "card": card},
                                                  indent=1))


def load(folder: str | Path | None = None, device: str | None = None, threads: int | None = 1) -> DrumTranscriber:
    """The shipped checkpoint, or a folder with drums.safetensors and drums.json of the same form."""
    import torch
    from safetensors.torch import load_file

    folder = Path(folder or SHIPPED)
    try:
        settings = json.loads((folder / "drums.json").read_text())
        state = load_file(str(folder / "drums.safetensors"))
    except (OSError, ValueError) as exc:
        raise ModelFailure(f"the drum transcription checkpoint at {folder} could not be read ({exc})") from None
    if settings.get("classes") != list(CLASSES) or settings.get("n_mels") != N_MELS or settings.get("hop") != HOP:
        raise ModelFailure(f"{folder} holds a drum model with other classes or another front end than this "
                           "liveloom's; retrain it with bench/drum_transcriber_train.py")
    if threads:
        torch.set_num_threads(threads)
    net = build_network()
    try:
        net.load_state_dict(state)
    except RuntimeError as exc:
        raise ModelFailure(f"{folder}: the weights do not fit the drum network ({str(exc)[:200]})") from None
    device = device or "cpu"
    net.to(device).eval()
    return DrumTranscriber(net, list(settings["thresholds"]), settings.get("card", {}), device, str(folder))
