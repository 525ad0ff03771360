"""Piano transcription: Transkun 2.0 (Yujia Yan and Zhiyao Duan; MIT licence), with the weights in its wheel.

A transformer over a mel spectrogram with a neural semi-CRF that decodes notes as intervals (onset,
offset, velocity) — trained on MAESTRO (solo piano), where it is far more accurate than a general
model. Its wheel carries the checkpoint (`transkun/pretrained/2.0.pt`, 14.1 M parameters) and the
configuration; `scripts/install.sh` installs it with `--no-deps`, because it declares torchaudio (no
build exists for every torch; transkun uses it only for a mel filterbank, computed here instead by
`mel_filterbank`, and checked against the filterbank stored in the checkpoint) and training tools
(tensorboard, seaborn, ncls) that inference does not need.

transkun's own code runs the network and the decoding; this module loads it without torchaudio,
reports progress per 16-second segment, honours cancellation between segments, and returns plain
note events. A user's own checkpoint (.pt with a `state_dict`, and the .conf beside it) loads the same way.
"""

from __future__ import annotations

import importlib.util
import json
import math
import threading
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from liveloom.music.errors import Cancelled, ModelFailure

SAMPLE_RATE = 44100
SUSTAIN_PEDAL, SOFT_PEDAL = -64, -67  # how transkun marks pedal events among its "pitches"


class PianoModelError(ModelFailure, ValueError):
    """The piano model cannot be found or loaded, said in words."""


@dataclass
class PianoEvent:
    start: float  # seconds
    end: float
    pitch: int  # MIDI pitch, or SUSTAIN_PEDAL / SOFT_PEDAL
    velocity: int  # 1..127


def wheel_files() -> tuple[Path, Path]:
    """(checkpoint, configuration) inside the installed transkun wheel, found without importing it."""
    spec = importlib.util.find_spec("transkun")
    if spec is None or not spec.submodule_search_locations:
        raise PianoModelError("the piano model is not installed: pip install --no-deps transkun==2.0.1 "
                              "(scripts/install.sh does this)")
    folder = Path(list(spec.submodule_search_locations)[0]) / "pretrained"
    weights, conf = folder / "2.0.pt", folder / "2.0.conf"
    if not weights.exists() or not conf.exists():
        raise PianoModelError(f"the transkun package has no pretrained/2.0.pt and 2.0.conf at {folder}; "
                              "reinstall transkun==2.0.1")
    return weights, conf


def mel_filterbank(n_freqs: int, f_min: float, f_max: float, n_mels: int, sample_rate: int):
    """Triangular filters on the HTK mel scale, unnormalised: (n_freqs, n_mels), as torchaudio's
    melscale_fbanks computes them with its defaults (which is what transkun was trained with)."""
    import torch

    def to_mel(f):
        return 2595.0 * torch.log10(torch.tensor(1.0 + f / 700.0))

    freqs = torch.linspace(0, sample_rate // 2, n_freqs)
    mels = torch.linspace(float(to_mel(f_min)), float(to_mel(f_max)), n_mels + 2)
    edges = 700.0 * (10 ** (mels / 2595.0) - 1.0)
    width = edges[1:] - edges[:-1]
    slopes = edges[None, :] - freqs[:, None]
    down = -slopes[:, :-2] / width[:-1]
    up = slopes[:, 2:] / width[1:]
    return torch.clamp(torch.minimum(down, up), min=0.0)


def _mel_spectrum_class():
    """transkun's MelSpectrum with its filterbank made by mel_filterbank rather than by torchaudio (the
    checkpoint then loads the stored filterbank over it; a test checks the two are the same)."""
    from torch import nn
    from transkun import Util

    class MelSpectrum(Util.MelSpectrum):
        def __init__(self, windowSize, f_min, f_max, n_mels, fs, nExtraWins=0, log=False, eps=1e-5,  # noqa: N803
                     toMono=False):  # noqa: N803 (transkun's argument names)
            nn.Module.__init__(self)
            self.outputDim = n_mels
            self.nChannel = nExtraWins + 1
            self.register_buffer("freq2mels", mel_filterbank(windowSize // 2 + 1, f_min, f_max, n_mels, fs))
            self.log = log
            self.eps = eps
            self.spectrogramExtractor = Util.Spectrum(windowSize, nExtraWins)
            self.toMono = toMono

    return MelSpectrum


class PianoTranscriber:
    """The network, loaded once; one transcription at a time (it uses the free cores).

    transkun's transcribe() runs 16-s segments 8 s apart one at a time: the network, then the semi-CRF
    decoding, which needs the previous segment's last note ends. Here the network (most of the time) runs
    `batch` segments at once (on a GPU; on a CPU one at a time measured fastest) and the decoding stays in
    order, inside transkun's own loop: the notes are the same as transkun's (a test compares them). The interval
    scorer runs in place of transkun's with the same arithmetic in fewer passes over its large score matrix
    (measured: 1.6 s -> 0.7 s of a 16-s segment's 7 s on 2 cores, bit-for-bit the same scores). Cancellation is
    checked before every transformer layer (under a second on 2 CPU cores)."""

    def __init__(self, model, device: str, source: str, precision: str = "fp32", batch: int | None = None):
        self.model, self.device, self.source, self.precision = model, device, source, precision
        self.batch = batch or (4 if device == "cuda" else 1)
        self._lock = threading.Lock()
        model.backbone.useGradientCheckpoint = False  # training-time memory saving; at inference it only adds work
        model.scorer.forward = types.MethodType(_interval_scores, model.scorer)

    @property
    def parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def _geometry(self) -> tuple[int, int, int]:
        """(padding at each end, hop between segments, segment length) in samples, as transkun's transcribe()
        computes them."""
        m = self.model
        pad = math.ceil((m.segmentSizeInSecond - m.segmentHopSizeInSecond) * m.fs)
        step = math.ceil(m.segmentHopSizeInSecond * m.fs / m.hopSize) * m.hopSize
        return pad, step, math.ceil(m.segmentSizeInSecond * m.fs)

    def segments(self, n_samples: int) -> int:
        """How many segments transkun's transcribe() runs for this many samples."""
        pad, step, _ = self._geometry()
        return math.ceil((n_samples + 2 * pad) / step)

    def transcribe(self, y, progress: Callable[[int, int], None] = lambda d, t: None,
                   cancel: threading.Event | None = None) -> list[PianoEvent]:
        """Mono float32 samples at 44,100 Hz -> note and pedal events, in time order."""
        import warnings

        import numpy as np
        import torch
        import torch.nn.functional as F
        from transkun.ModelTransformer import makeFrame

        m = self.model
        total = self.segments(len(y))
        x = torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32)[:, None]).to(self.device)
        pad, step, size = self._geometry()
        padded = F.pad(x.T, (pad, pad))

        def frames(k: int):
            piece = padded[:, k * step: k * step + size]
            return makeFrame(F.pad(piece, (0, size - piece.shape[-1])), m.hopSize, m.windowSize)

        def stop_if_cancelled(*_):
            if cancel is not None and cancel.is_set():
                raise Cancelled()

        ready: list = []
        done = [0]

        def network(frames_batch):  # transkun's loop asks for one segment at a time, in order
            stop_if_cancelled()
            progress(done[0], total)
            if not ready:
                first = done[0]
                ready.extend(_network(m, torch.stack([frames(k) for k in range(first, min(total, first + self.batch))])))
            done[0] += 1
            return ready.pop(0)

        with self._lock:
            hooks = [layer.register_forward_pre_hook(stop_if_cancelled) for layer in m.backbone.encoderLayers]
            hooks.append(m.scorer.register_forward_pre_hook(stop_if_cancelled))
            m.processFramesBatch = network
            try:
                with torch.inference_mode(), warnings.catch_warnings(), torch.autocast(
                        "cuda" if self.device == "cuda" else "cpu", dtype=torch.bfloat16,
                        enabled=self.precision == "bf16"):
                    warnings.simplefilter("ignore")
                    events = m.transcribe(x)
            finally:
                del m.processFramesBatch
                for h in hooks:
                    h.remove()
        progress(total, total)
        out = [PianoEvent(float(e.start), float(max(e.end, e.start)), int(e.pitch),
                          int(min(127, max(1, round(e.velocity))))) for e in events]
        return sorted(out, key=lambda e: (e.start, e.pitch))


def _network(m, frames_batch) -> list:
    """transkun's processFramesBatch (the inner-product scorer's path) for a batch of segments, returned per
    segment as the (semi-CRF, context) pair it returns for a batch of one."""
    import torch
    from transkun import CRF

    mean = torch.mean(frames_batch, dim=[1, 2, 3], keepdim=True)
    std = torch.std(frames_batch, dim=[1, 2, 3], keepdim=True)
    features = m.framewiseFeatureExtractor((frames_batch - mean) / (std + 1e-8)).contiguous()
    features = features.view(features.shape[0], *features.shape[-3:])
    ctx = m.backbone(features, outputIndices=torch.tensor(m.targetMIDIPitch, device=features.device))
    scores, skips = m.scorer(ctx)  # [step, step, batch, symbol], [step - 1, batch, symbol]
    return [(CRF.NeuralSemiCRFInterval(scores[:, :, i].contiguous(), skips[:, i].contiguous()), ctx[i:i + 1])
            for i in range(ctx.shape[0])]


def _interval_scores(self, ctx):
    """transkun's ScaledInnerProductIntervalScorer.forward with the same operations in the same order on each
    element, in place where transkun allocates: the length scaling multiplies the product matrix in place and the
    diagonal term is added to the diagonal alone (transkun builds a full diagonal matrix and adds it)."""
    import torch

    q, k, diag = self.map(ctx).split([self.size * self.expansionFactor, self.size * self.expansionFactor, 1], dim=-1)
    q = q / math.sqrt(q.shape[-1])
    scores = torch.einsum("iped, ipbd-> ipeb", q, k)
    idx = torch.arange(scores.shape[-1], device=scores.device)
    length = (idx[:, None] - idx[None, :]).abs()
    if self.lengthScaling == "linear":
        scores.mul_(length)
    elif self.lengthScaling == "sqrt":
        scores.mul_(length.float().sqrt())
    elif self.lengthScaling != "none":
        raise PianoModelError(f"the piano checkpoint's scorer uses length scaling {self.lengthScaling!r}, "
                              "which this loader does not know")
    scores.diagonal(dim1=-2, dim2=-1).add_(diag.squeeze(-1))
    skip = (diag * 0.0)[..., 1:, 0]
    return scores.permute(2, 3, 0, 1).contiguous(), skip.permute(2, 0, 1).contiguous()


def load(path: str | Path | None = None, device: str | None = None, precision: str = "fp32") -> PianoTranscriber:
    """Transkun 2.0 from the installed wheel, or a local checkpoint: a .pt holding `state_dict` (or
    `best_state_dict`) with its .conf beside it (the same name), as transkun's training writes them.
    `precision`: fp32 (transkun's arithmetic), bf16 (autocast to bfloat16: ~1.5x faster in the benchmark on CPUs with
    native bfloat16), or auto (bf16 where it is native)."""
    import torch

    from .basic_pitch_torch import WeightsError, resolve_precision
    from .generate import pick_device

    if path is None:
        weights, conf_path = wheel_files()
    else:
        weights = Path(path).expanduser()
        conf_path = weights.with_suffix(".conf")
        if not weights.exists():
            raise PianoModelError(f"no piano checkpoint at {weights}")
        if not conf_path.exists():
            raise PianoModelError(f"{weights.name} needs its configuration beside it: {conf_path} was not found")
        wheel_files()  # the code is transkun's: it must be installed
    try:
        conf = json.loads(conf_path.read_text())["Model"]
    except (OSError, ValueError, KeyError) as exc:
        raise PianoModelError(f"{conf_path} is not a transkun configuration ({exc})") from None
    if conf.get("module") != "transkun.ModelTransformer":
        raise PianoModelError(f"{conf_path} is for {conf.get('module')!r}; this loader runs transkun.ModelTransformer")
    import warnings
    from unittest import mock

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # transkun's modules use torch.jit.script
        import transkun.ModelTransformer as transformer

    config = transformer.Config()
    config.__dict__.update(conf.get("config", {}))
    with mock.patch.object(transformer, "MelSpectrum", _mel_spectrum_class()):  # only while it is built
        model = transformer.TransKun(conf=config)
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
        state = state.get("best_state_dict", state.get("state_dict", state))
        model.load_state_dict(state)
    except Exception as exc:
        raise PianoModelError(f"{weights} is not a checkpoint of this configuration ({exc})") from None
    dev = pick_device(device)
    if dev == "mps":  # transkun is tested on CUDA and CPU
        dev = "cpu"
    try:
        precision = resolve_precision(precision, dev)
    except WeightsError as exc:
        raise PianoModelError(str(exc)) from None
    source = "the transkun 2.0.1 wheel" if path is None else str(weights)
    return PianoTranscriber(model.to(dev).eval(), dev, source, precision)
