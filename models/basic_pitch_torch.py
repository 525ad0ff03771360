"""Basic Pitch (Spotify, ICASSP 2022, Apache-2.0) in PyTorch, with the weights that ship in its wheel.

The network as basic_pitch/models.py defines it: a constant-Q transform (nnAudio's CQT2010v2: a
top-octave kernel applied to the signal halved octave by octave), log-normalised, batch-normalised,
harmonically stacked (harmonics 0.5, 1..7), then three small convolutional heads — contours
(264 bins, 3 per semitone), notes and onsets (88 keys). Weights are read from the ONNX file inside
the installed `basic-pitch` wheel (`onnx` parses it; TensorFlow is never needed): the learned
convolutions with their batch norms folded in, and the CQT's kernels, low-pass filter and length
normalisation exactly as exported. A user's own ONNX export of the same architecture, or a
state_dict saved from this module (.pt), loads the same way.

Input: windows of 43,844 samples at 22,050 Hz (2 s less one hop), batched. Output per window:
172 frames of note, onset (88) and contour (264) probabilities.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from liveloom.music.errors import ModelFailure

SAMPLE_RATE = 22050
HOP = 256
WINDOW = 2 * SAMPLE_RATE - HOP  # 43,844 samples
FRAMES = 172
N_BINS = 309  # CQT bins: 103 semitones x 3
OCTAVES = 9
HARMONIC_SHIFTS = (-36, 0, 36, 57, 72, 84, 93, 101)  # round(36 * log2(h)) for h = 0.5, 1, ..., 7
CONTOUR_BINS = 264
CONTOUR_BLOCK = 2  # bins per block in the contour convolutions (blocked_weight)
LOWPASS_BLOCK = 32  # output samples per block in the CQT's low-pass filter


class WeightsError(ModelFailure, ValueError):
    """Weights that cannot be found or do not fit, said in words."""


def wheel_onnx_path() -> Path:
    """The ONNX model inside the installed basic-pitch wheel (found without importing the package,
    whose __init__ probes for TensorFlow, CoreML and TFLite)."""
    spec = importlib.util.find_spec("basic_pitch")
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError("basic-pitch is not installed; its wheel carries the transcription weights: "
                           "pip install --no-deps basic-pitch==0.4.0 (scripts/install.sh does this)")
    path = Path(list(spec.submodule_search_locations)[0]) / "saved_models" / "icassp_2022" / "nmp.onnx"
    if not path.exists():
        raise WeightsError(f"the basic-pitch package has no {path.name} at {path.parent}; reinstall basic-pitch==0.4.0")
    return path


def weights_from_onnx(path: Path) -> dict:
    """The tensors the network needs, found in the ONNX graph by the operations that use them."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    try:
        graph = onnx.load(str(path)).graph
    except Exception as exc:
        raise WeightsError(f"{path} is not a readable ONNX model ({exc})") from None
    init = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    convs = {}
    cqt_kernels = []
    lowpass = None
    for node in graph.node:
        if node.op_type != "Conv" or node.input[1] not in init:
            continue
        w = init[node.input[1]]
        b = init[node.input[2]] if len(node.input) > 2 and node.input[2] in init else None
        if w.shape == (36, 1, 1, 256):
            if not any(np.array_equal(w, k) for k in cqt_kernels):
                cqt_kernels.append(w)
        elif w.shape == (1, 1, 1, 256):
            lowpass = w
        else:
            convs[w.shape] = (w, b)
    names = {"onset_conv": (32, 8, 5, 5), "contour_conv": (8, 8, 3, 39), "contour_out": (1, 8, 5, 5),
             "note_conv": (32, 1, 7, 7), "note_out": (1, 32, 7, 3), "onset_out": (1, 33, 3, 3)}
    missing = [n for n, s in names.items() if s not in convs]
    if missing or len(cqt_kernels) != 2 or lowpass is None:
        raise WeightsError(f"{path} does not hold basic-pitch's architecture (missing {missing or 'CQT kernels'})")
    lengths = [v for v in init.values() if v.shape == (N_BINS, 1, 1)]
    # the batch norm after the log-CQT: the only scalar Mul and Add on the (batch, time, bins, 1) tensor
    bn = {}
    for node in graph.node:
        if node.op_type in ("Mul", "Add") and len(node.input) == 2 and node.input[1] in init and \
                init[node.input[1]].shape == (1,) and "batch_normalization/" in node.input[0] + node.output[0]:
            bn[node.op_type] = float(init[node.input[1]][0])
        elif node.op_type == "Mul" and node.input[1] in init and init[node.input[1]].shape == (1,) and \
                "expand_dims" in node.input[0]:
            bn["Mul"] = float(init[node.input[1]][0])
    if len(lengths) != 1 or set(bn) != {"Mul", "Add"}:
        raise WeightsError(f"{path}: could not find the CQT normalisation or the batch norm after it")
    out = {"cqt_a": cqt_kernels[0][:, :, 0, :], "cqt_b": cqt_kernels[1][:, :, 0, :], "lowpass": lowpass[:, :, 0, :],
           "cqt_scale": lengths[0][:, 0, 0], "bn": np.array([bn["Mul"], bn["Add"]], dtype=np.float32)}
    for name, shape in names.items():
        w, b = convs[shape]
        out[f"{name}.weight"] = w
        out[f"{name}.bias"] = b if b is not None else np.zeros(shape[0], dtype=np.float32)
    return out


def blocked_weight(w, stride: int, pad: int, block: int):
    """A convolution over frequency rewritten on blocks of bins: the same sums, in the same order, for
    `block` output bins (and `stride * block` input bins) carried as channels.

    oneDNN runs convolutions with few channels and wide kernels poorly (8 channels, 39 taps: a fraction
    of the CPU's vector width); seen as blocks of 2 bins the contour convolution has 16 channels and
    21 taps and runs twice as fast, and the 256-tap low-pass filter of the CQT, seen as blocks of 32
    samples, ~15x as fast. The extra weights are zeros, so each output is the same sum of the same
    products: the results are bit-identical on CPU (tests/test_transcribe.py checks this).

    w: (out, in, kh, kw) with padding `pad` and stride `stride` along the last axis. Returns the block
    weight (block*out, stride*block*in, kh, 2K+1) in channels-last memory and K, its padding in blocks."""
    import torch

    o_ch, i_ch, kh, kw = w.shape
    span = stride * block
    r = torch.arange(block, device=w.device)[:, None]  # output bin in the block
    d = torch.arange(kw, device=w.device)[None, :]  # tap
    u = stride * r - pad + d  # input bin, relative to the block's first
    m, q = torch.div(u, span, rounding_mode="floor"), u % span  # block offset, input bin in that block
    k = int(m.abs().max())
    out = torch.zeros(block, o_ch, span, i_ch, kh, 2 * k + 1, dtype=w.dtype, device=w.device)
    by_tap = out.permute(0, 2, 5, 1, 3, 4)  # (block, span, 2k+1, out, in, kh): a view of `out`
    by_tap[r.expand_as(u), q, m + k] = w.permute(3, 0, 1, 2)[d.expand_as(u)]
    return out.reshape(block * o_ch, span * i_ch, kh, 2 * k + 1).contiguous(memory_format=torch.channels_last), k


def _module():
    import torch
    import torch.nn.functional as F
    from torch import nn

    def to_blocks(x, span: int):
        """(batch, ch, time, bins) in channels-last memory -> (batch, span*ch, time, bins/span): a view."""
        b, c, t, f = x.shape
        return x.permute(0, 2, 3, 1).reshape(b, t, f // span, span * c).permute(0, 3, 1, 2)

    def from_blocks(y, block: int):
        b, c, t, n = y.shape
        return y.permute(0, 2, 3, 1).reshape(b, t, n * block, c // block).permute(0, 3, 1, 2)

    def conv_blocked(x, weights, pad_time: int):
        w, bias, k, block = weights
        return from_blocks(F.conv2d(to_blocks(x, block), w, bias, padding=(pad_time, k)), block)

    class BasicPitch(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("cqt_a", torch.zeros(36, 1, 256))
            self.register_buffer("cqt_b", torch.zeros(36, 1, 256))
            self.register_buffer("lowpass", torch.zeros(1, 1, 256))
            self.register_buffer("cqt_scale", torch.zeros(N_BINS))
            self.register_buffer("bn", torch.zeros(2))
            self.onset_conv = nn.Conv2d(8, 32, (5, 5), stride=(1, 3))
            self.contour_conv = nn.Conv2d(8, 8, (3, 39))
            self.contour_out = nn.Conv2d(8, 1, (5, 5))
            self.note_conv = nn.Conv2d(1, 32, (7, 7), stride=(1, 3))
            self.note_out = nn.Conv2d(32, 1, (7, 3))
            self.onset_out = nn.Conv2d(33, 1, (3, 3))
            self.set_precision("fp32")

        def set_precision(self, precision: str) -> None:
            """'fp32' (the reference's arithmetic) or 'bf16' (the convolution stack in bfloat16: about 1.35x
            faster on CPUs with native bfloat16, outputs within ~1e-2 of fp32, F1 within a few 1e-4)."""
            if precision not in ("fp32", "bf16"):
                raise ValueError(f"precision must be fp32 or bf16, not {precision!r}")
            self.precision = precision
            self.head_dtype = torch.float32 if precision == "fp32" else torch.bfloat16
            self.refresh_heads()

        def refresh_heads(self) -> None:
            """The working copies of the weights, in the dtype and layouts forward() uses (channels-last,
            blocked, onset_out split): made again after loading weights or moving the module."""
            names = ("onset_conv", "contour_conv", "contour_out", "note_conv", "note_out", "onset_out")
            self.head_weights = {
                n: (getattr(self, n).weight.to(self.head_dtype).contiguous(memory_format=torch.channels_last),
                    getattr(self, n).bias.to(self.head_dtype)) for n in names}
            for name, pad in (("contour_conv", 19), ("contour_out", 2)):  # the two that gain from blocks
                conv = getattr(self, name)
                w_b, k = blocked_weight(conv.weight.to(self.head_dtype), 1, pad, CONTOUR_BLOCK)
                self.head_weights[name] = (w_b, conv.bias.to(self.head_dtype).repeat(CONTOUR_BLOCK), k, CONTOUR_BLOCK)
            self.lowpass_blocked = blocked_weight(self.lowpass[:, :, None, :], 2, 127, LOWPASS_BLOCK)
            w_out, b_out = self.head_weights.pop("onset_out")  # channel 0 reads the notes, 1-32 the onset features
            self.head_weights["onset_out_from_note"] = (w_out[:, :1].contiguous(memory_format=torch.channels_last),
                                                        None)
            self.head_weights["onset_out_from_onset"] = (w_out[:, 1:].contiguous(memory_format=torch.channels_last),
                                                         b_out)

        def cqt(self, audio):
            """(batch, samples) -> CQT magnitude (batch, frames, 309): the top-octave kernels (real and
            imaginary rows, 72 filters) as one strided convolution per octave, the signal low-passed and
            halved between octaves — basic-pitch's arithmetic, in the same order."""
            kernels = torch.cat([self.cqt_a, self.cqt_b], dim=0)
            hop = HOP
            octaves = []
            down = audio[:, None, :]
            for o in range(OCTAVES):
                if o:
                    hop //= 2
                    down = self.lowpass_halve(down)
                z = F.conv1d(F.pad(down, (128, 128), mode="reflect"), kernels, stride=hop)
                octaves.insert(0, z.view(z.shape[0], 2, 36, z.shape[-1]))
            c = torch.cat(octaves, dim=2)[:, :, -N_BINS:, :] * self.cqt_scale[None, None, :, None]
            return torch.sqrt((c ** 2).sum(dim=1)).transpose(1, 2)

        def lowpass_halve(self, x):
            """The anti-aliasing low-pass filter and the halving of the rate between octaves: basic-pitch's
            conv1d(pad(x, 127), lowpass, stride=2), run on blocks of samples (see blocked_weight)."""
            w, k = self.lowpass_blocked
            b, _, n = x.shape
            span = 2 * LOWPASS_BLOCK
            blocks = -(-n // span)
            xb = F.pad(x, (0, blocks * span - n)).view(b, 1, blocks, span).permute(0, 3, 1, 2)
            y = F.conv2d(xb, w, None, padding=(0, k))  # (batch, LOWPASS_BLOCK, 1, blocks), channels-last
            return y.permute(0, 2, 3, 1).reshape(b, 1, blocks * LOWPASS_BLOCK)[:, :, : (n - 2) // 2 + 1]

        def forward(self, audio):
            mag = self.cqt(audio)
            log_power = 10 * torch.log10(mag ** 2 + 1e-10)
            lo = log_power.amin(dim=(1, 2), keepdim=True)
            off = log_power - lo
            hi = off.amax(dim=(1, 2), keepdim=True)
            norm = torch.where(hi == 0, torch.zeros_like(off), off / torch.where(hi == 0, torch.ones_like(hi), hi))
            x = norm * self.bn[0] + self.bn[1]  # (batch, frames, bins)
            b, t, f = x.shape
            # the harmonics stacked straight into channels-last memory: oneDNN's fast path for these
            # small-channel convolutions (2-5x on CPU), with no copy from the usual layout afterwards
            stacked = torch.empty(b, len(HARMONIC_SHIFTS), t, CONTOUR_BINS, dtype=x.dtype, device=x.device,
                                  memory_format=torch.channels_last).zero_()
            for i, s in enumerate(HARMONIC_SHIFTS):
                if s >= 0:
                    src = x[:, :, s:s + CONTOUR_BINS]
                    stacked[:, i, :, :src.shape[-1]] = src
                else:
                    stacked[:, i, :, -s:] = x[:, :, :CONTOUR_BINS + s]
            w = self.head_weights  # the convolution stack in `precision` (the CQT front end stays float32)
            x = stacked.to(self.head_dtype)  # (batch, 8, frames, 264)
            c = F.relu_(conv_blocked(x, w["contour_conv"], 1))
            contour = torch.sigmoid_(conv_blocked(c, w["contour_out"], 2))
            n = F.relu_(F.conv2d(contour, *w["note_conv"], stride=(1, 3), padding=(3, 2)))
            note_pre = torch.sigmoid_(F.conv2d(n, *w["note_out"], padding=(3, 1)))
            o = F.relu_(F.conv2d(x, *w["onset_conv"], stride=(1, 3), padding=(2, 1)))
            # onset_out reads [note_pre, o] stacked on channels: as two convolutions summed, which saves
            # copying both into one tensor (the sum differs from one convolution by float rounding, ~1e-7)
            onset = F.conv2d(o, *w["onset_out_from_onset"], padding=(1, 1))
            onset = torch.sigmoid_(onset.add_(F.conv2d(note_pre, w["onset_out_from_note"][0], None, padding=(1, 1))))
            if self.head_dtype != torch.float32:
                note_pre, onset, contour = note_pre.float(), onset.float(), contour.float()
            return {"note": note_pre[:, 0], "onset": onset[:, 0], "contour": contour[:, 0]}

    return BasicPitch


def bf16_is_fast(device: str) -> bool:
    """Whether bfloat16 convolutions run natively here (CPUs with AVX512-BF16 or AMX; CUDA GPUs with bf16)."""
    import torch

    if device == "cuda":
        return torch.cuda.is_bf16_supported()
    if device != "cpu":
        return False
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_precision(precision: str, device: str) -> str:
    if precision == "auto":
        return "bf16" if bf16_is_fast(device) else "fp32"
    if precision not in ("fp32", "bf16"):
        raise WeightsError(f"precision must be auto, fp32 or bf16, not {precision!r}")
    return precision


def load(path: str | Path | None = None, device: str | None = None, precision: str = "fp32"):
    """The network with basic-pitch's weights (from the installed wheel by default), or from a local
    .onnx export of the same architecture, or a .pt state_dict of this module. `precision`: fp32 (the
    reference's arithmetic; the default), bf16 (the convolutions in bfloat16), or auto (bf16 where it is
    native, else fp32)."""
    import torch

    from .generate import pick_device

    model = _module()()
    src = Path(path).expanduser() if path is not None else wheel_onnx_path()
    if not src.exists():
        raise WeightsError(f"no transcription weights at {src}")
    if src.suffix == ".pt":
        try:
            state = torch.load(src, map_location="cpu", weights_only=True)
            model.load_state_dict(state)
        except Exception as exc:
            raise WeightsError(f"{src} is not a state_dict of this network ({exc})") from None
    else:
        w = weights_from_onnx(src)
        state = {k: torch.from_numpy(v.copy()).float() for k, v in w.items()}
        model.load_state_dict(state)
    for conv in (model.onset_conv, model.contour_conv, model.contour_out, model.note_conv, model.note_out,
                 model.onset_out):
        conv.weight.data = conv.weight.data.contiguous(memory_format=torch.channels_last)
    dev = pick_device(device)
    if dev == "mps":  # reflect padding of long 1-D signals is not on every MPS build: the CPU is safe
        dev = "cpu"
    model = model.to(dev).eval()
    model.set_precision(resolve_precision(precision, dev))  # also moves the head weights' copies to dev
    return model, dev
