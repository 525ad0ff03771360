"""The symbolic model's Python API: load a checkpoint, then generate, continue, infill and harmonize
under hard constraints.

    from liveloom.models.generate import load, Constraints
    model = load()                       # the shipped checkpoint; or load("/path/to/checkpoint")
    piece = model.generate(Header(style="irish", key_tonic=2, meter_ticks=36, voices=1), bars=8, seed=1)

Constraints hold by construction, not by retrying: at every step the tokens that would break one
(a pitch out of the scale or range, a note past the polyphony limit, a bar too many or too few, a
voice the header does not have, a fixed melody note not played) are masked out before sampling.
Decoding keeps the transformer's key/value cache; a seed makes a result reproducible.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from liveloom.music.errors import ModelFailure
from liveloom.music.jobs import NO_JOB, Job

from . import tokenizer as T
from .decoder import LeanDecoder
from .tokenizer import Header, Piece, TNote

SHIPPED = Path(__file__).resolve().parent / "checkpoints" / "liveloom-small"
MAX_CONTEXT = 1024


class ModelError(ModelFailure, ValueError):
    """A request the model cannot serve, said in words (bad checkpoint, impossible constraints)."""


@dataclass
class Constraints:
    """Hard limits on generated notes (fixed notes are the caller's and are never changed).

    scale: pitch classes allowed (None: any); pitch_range: (low, high) MIDI for every generated note;
    voice_ranges: (low, high) per voice, narrower than pitch_range where given; max_polyphony: notes
    sounding at once, fixed notes included (None: no limit); bars: the exact number of bars generated.
    """
    scale: frozenset[int] | None = None
    pitch_range: tuple[int, int] = (T.PITCH_LO, T.PITCH_HI)
    voice_ranges: dict[int, tuple[int, int]] = field(default_factory=dict)
    max_polyphony: int | None = None
    avoid_parallels: bool = False  # mask pitches that would make parallel fifths/octaves with a written voice
    # a harmonic plan: (start tick, end tick, chord pitch classes, bass pitch class) per chord, from the piece's
    # first tick. On the ticks in `harmony_strong` every generated note is a chord tone (the lowest voice of a
    # several-voice texture the chord's bass at the chord's first tick); elsewhere the chord's own tones join
    # the scale (a secondary dominant's leading tone is allowed where the plan has one).
    harmony: tuple[tuple[int, int, frozenset[int], int], ...] = ()
    harmony_strong: frozenset[int] = frozenset()
    onsets: frozenset[int] = frozenset()  # ticks where a note must start (each planned chord sounds where it begins)
    # ticks where a note starting there must be one of these pitch classes (a melody's first note at home, the
    # note its period closes on), narrower than the chord's tones; where the voice's range holds none of them the
    # chord's tones stand (constraint_check then reports it)
    pitch_classes_at: dict[int, frozenset[int]] = field(default_factory=dict)
    last_onset: int | None = None  # no note starts after this tick (a tune that closes on its last note there)
    bass_onsets: frozenset[int] = frozenset()  # ticks where the lowest voice must start a note (a cadence's bass)
    # a rhythm vocabulary (a prompt's, for continuing it): onsets only at these places in the bar (ticks from the
    # bar line; None: anywhere), only these durations (ticks), and at most `max_onsets_per_bar` onsets in a bar
    positions: frozenset[int] | None = None
    durations: frozenset[int] | None = None
    max_onsets_per_bar: int | None = None
    min_onsets_per_bar: int = 0  # a bar does not end before this many onsets while a place on the grid is free
    # subtracted from a pitch's logit for each time the voice played it among its last 8 notes (0: off) — the
    # usual repetition penalty, on pitches only, so that a continuation does not circle on two notes
    repetition_penalty: float = 0.0
    # texture, for voices written around a fixed melody (voice 0): every other voice below the melody sounding with
    # it; at most `with_melody` of them starting a note where the melody does (bar lines aside: rhythmic
    # independence); each voice's note lengths (ticks) where given
    below_melody: bool = False
    with_melody: int | None = None
    voice_durations: dict[int, frozenset[int]] = field(default_factory=dict)
    # a drum part: the one voice is the kit (V_KIT), its notes only these General MIDI drum notes
    kit: frozenset[int] | None = None

    def check(self) -> None:
        lo, hi = self.pitch_range
        if not T.PITCH_LO <= lo <= hi <= T.PITCH_HI:
            raise ModelError(f"pitch range {lo}-{hi} must lie within {T.PITCH_LO}-{T.PITCH_HI} and low <= high")
        if self.scale is not None and not self.scale:
            raise ModelError("an empty scale allows no notes")
        if self.kit is not None and not any(lo <= p <= hi for p in self.kit):
            raise ModelError(f"none of the kit's drum notes lies within the pitch range {lo}-{hi}")
        if self.max_polyphony is not None and self.max_polyphony < 1:
            raise ModelError("max_polyphony must be at least 1")
        for v, (a, b) in self.voice_ranges.items():
            if a > b or b < lo or a > hi:
                raise ModelError(f"voice {v}'s range {a}-{b} is empty within the pitch range {lo}-{hi}")
            if self.scale is not None and not any(p % 12 in self.scale for p in range(max(a, lo), min(b, hi) + 1)):
                raise ModelError(f"voice {v}'s range {a}-{b} holds no note of the scale")

    def allowed_pitches(self, voice: int, tick: int | None = None, lowest_voice: bool = False) -> list[int]:
        lo, hi = self.pitch_range
        if voice == T.KIT:
            return sorted(p for p in (self.kit or ()) if lo <= p <= hi)
        if voice in self.voice_ranges:
            lo, hi = max(lo, self.voice_ranges[voice][0]), min(hi, self.voice_ranges[voice][1])
        pcs = self.scale
        chord = self.chord_at(tick) if tick is not None else None
        if chord is not None:
            start, _, tones, bass = chord
            if tick in self.harmony_strong:
                pcs = {bass} if lowest_voice and tick == start else tones
            elif pcs is not None:
                pcs = pcs | tones
        if tick in self.pitch_classes_at and any(p % 12 in self.pitch_classes_at[tick] for p in range(lo, hi + 1)):
            pcs = self.pitch_classes_at[tick]
        out = [p for p in range(lo, hi + 1) if pcs is None or p % 12 in pcs]
        if not out and chord is not None:  # the plan's tones do not fit this voice's range: the scale instead
            return self.allowed_pitches(voice)
        return out

    def chord_at(self, tick: int):
        for span in self.harmony:
            if span[0] <= tick < span[1]:
                return span
        return None


def pick_device(requested: str | None = None) -> str:
    import torch

    if requested:
        return requested
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def load(path: str | os.PathLike | None = None, device: str | None = None, threads: int | None = None) -> SymbolicModel:
    """The shipped checkpoint, or a local one: a folder with config.json, model.safetensors and
    vocab.json as train.py exports them (or the .safetensors file inside such a folder). Never touches
    the network. Reads the tensors without transformers (its import is ~2 s of a cold server's first model call);
    `SymbolicModel.model` builds transformers' network on the same weights when something asks for it."""
    from safetensors.torch import load_file

    folder = Path(path).expanduser() if path is not None else SHIPPED
    if folder.is_file():
        folder = folder.parent
    for need in ("config.json", "model.safetensors", "vocab.json"):
        if not (folder / need).exists():
            raise ModelError(f"no {need} in {folder}: a checkpoint folder holds config.json, model.safetensors and "
                             "vocab.json (python -m liveloom.models.train exports one)")
    check_vocabulary(json.loads((folder / "vocab.json").read_text())["vocab"], folder)
    try:
        config = json.loads((folder / "config.json").read_text())
        state = {k: v.float() for k, v in load_file(str(folder / "model.safetensors")).items()}
    except (OSError, ValueError) as exc:
        raise ModelError(f"the checkpoint in {folder} cannot be read ({exc})") from None
    _check_state(config, state, folder)
    with_extra_tokens(config, state)
    dev = pick_device(device)
    state = {k: v.to(dev) for k, v in state.items()}
    meta = json.loads((folder / "training.json").read_text()) if (folder / "training.json").exists() else {}
    return SymbolicModel(config, state, dev, folder, meta, threads=threads)


def _check_state(config: dict, state: dict, folder: Path) -> None:
    """The tensors a Llama network of this config has, with their shapes (as transformers' load_state_dict checks)."""
    try:
        hidden, layers, inter = int(config["hidden_size"]), int(config["num_hidden_layers"]), int(config["intermediate_size"])
        heads = int(config["num_attention_heads"])
        kv = int(config.get("num_key_value_heads") or heads)
        d = int(config.get("head_dim") or hidden // heads)
        vocab = int(config["vocab_size"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"the config.json in {folder} is not a Llama configuration ({exc})") from None
    want = {"model.embed_tokens.weight": (vocab, hidden), "model.norm.weight": (hidden,)}
    for i in range(layers):
        at, mlp = f"model.layers.{i}.self_attn.", f"model.layers.{i}.mlp."
        want |= {at + "q_proj.weight": (heads * d, hidden), at + "k_proj.weight": (kv * d, hidden),
                 at + "v_proj.weight": (kv * d, hidden), at + "o_proj.weight": (hidden, heads * d),
                 mlp + "gate_proj.weight": (inter, hidden), mlp + "up_proj.weight": (inter, hidden),
                 mlp + "down_proj.weight": (hidden, inter), f"model.layers.{i}.input_layernorm.weight": (hidden,),
                 f"model.layers.{i}.post_attention_layernorm.weight": (hidden,)}
    if not config.get("tie_word_embeddings", True):
        want["lm_head.weight"] = (vocab, hidden)
    missing = [k for k in want if k not in state]
    unexpected = [k for k in state if k not in want and k != "lm_head.weight"]
    wrong = [k for k in want if k in state and tuple(state[k].shape) != want[k]]
    if missing or unexpected or wrong:
        raise ModelError(f"checkpoint {folder} does not match its config: missing {missing[:3]}, unexpected "
                         f"{unexpected[:3]}, wrong shapes {wrong[:3]}")


def network(config: dict, state: dict, device: str):
    """transformers' LlamaForCausalLM holding these weights (fine-tuning, evaluation, batched generation)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    model = LlamaForCausalLM(LlamaConfig.from_dict(config))
    model.load_state_dict(state, strict=False)
    model.tie_weights()
    return model.to(device).eval()


def check_vocabulary(vocab: list[str], folder: Path) -> None:
    """A checkpoint's vocabulary must be this tokenizer's, or its prefix before EXTRA (the shipped model's)."""
    if list(vocab) != list(T.VOCAB[:len(vocab)]) or len(vocab) not in (T.BASE_VOCAB, len(T.VOCAB)):
        raise ModelError(f"the checkpoint in {folder} was trained with a different vocabulary "
                         f"({len(vocab)} tokens, this tokenizer has {len(T.VOCAB)}); it cannot be used with this version")


def with_extra_tokens(config: dict, state: dict) -> None:
    """A network trained before EXTRA's tokens existed, given their embedding rows (the mean of the others, so
    their logits start ordinary; the grammar asks for them only where a drum kit is written)."""
    import torch

    for name in ("model.embed_tokens.weight", "lm_head.weight"):
        emb = state.get(name)
        if emb is not None and emb.shape[0] < len(T.VOCAB):
            extra = emb[:T.BASE_VOCAB].mean(0, keepdim=True).expand(len(T.VOCAB) - emb.shape[0], -1)
            state[name] = torch.cat([emb, extra])
    config["vocab_size"] = len(T.VOCAB)


# ------------------------------------------------------------------ the grammar, as masks


@dataclass
class _State:
    """Where decoding stands in the body grammar (see tokenizer) and what has been written."""
    header: Header
    bars_target: int
    constraints: Constraints
    fixed: dict[tuple[int, int], list[TNote]]  # (bar, pos) -> fixed notes there, by voice then pitch
    fixed_voices: frozenset[int]
    phase: str = "start"  # start | bar | pos | voice | pitch | dur | done
    bar: int = -1
    bar_len: int = 48
    pos: int = -1
    voice: int = -1
    last_pitch: int = 999
    pitch: int = -1
    notes: list[TNote] = field(default_factory=list)
    bar_start_tick: int = 0
    queue: list[int] = field(default_factory=list)  # fixed tokens still to be written
    starts: list[int] = field(default_factory=lambda: [0])  # each bar's first tick
    active: list[int] = field(default_factory=list)  # notes sounding at each tick
    places: dict[int, set[int]] = field(default_factory=dict)  # bar -> the positions where notes start

    def tick(self) -> int:
        return self.bar_start_tick + self.pos

    def add_note(self, n: TNote) -> None:
        self.notes.append(n)
        self.places.setdefault(n.bar, set()).add(n.pos)
        start = self.starts[n.bar] + n.pos
        need = start + n.dur
        if len(self.active) < need:
            self.active.extend([0] * (need - len(self.active)))
        for t in range(start, need):
            self.active[t] += 1

    def sounding_at(self, tick: int) -> int:
        return self.active[tick] if tick < len(self.active) else 0

    def onsets_in_bar(self) -> int:
        return len(self.places.get(self.bar, ()))

    def fixed_left_in_bar(self, after_pos: int) -> list[int]:
        return sorted(p for (b, p) in self.fixed if b == self.bar and p > after_pos)

    def fixed_here(self) -> list[TNote]:
        return [n for n in self.fixed.get((self.bar, self.pos), []) if n.voice > self.voice or
                (n.voice == self.voice and n.pitch < self.last_pitch and self.phase == "dur")]

    def room(self, tick: int) -> bool:
        c = self.constraints
        if c.last_onset is not None and tick > c.last_onset:
            return False
        return c.max_polyphony is None or self.sounding_at(tick) < c.max_polyphony

    def voice_pitch_at(self, voice: int, tick: int) -> int | None:
        """The (highest) pitch voice `voice` sounds at `tick`, among the notes written so far."""
        best = None
        for n in self.notes:
            if n.voice == voice:
                start = self.starts[n.bar] + n.pos
                if start <= tick < start + n.dur and (best is None or n.pitch > best):
                    best = n.pitch
        return best

    def planned_bass(self, tick: int) -> int | None:
        """The bass pitch class the plan puts at `tick` when the lowest voice is still to be written there."""
        c = self.constraints
        nv = self.header.voices
        if tick not in c.bass_onsets or self.voice >= nv - 1:
            return None
        span = c.chord_at(tick)
        if span is None or span[0] != tick:
            return None
        if any(n.voice == nv - 1 and self.starts[n.bar] + n.pos == tick for n in self.notes):
            return None
        return span[3]

    def before_planned_bass(self, pitches: list[int]) -> list[int]:
        """For the lowest voice just before a planned bass note (a cadence), with the fixed melody moving straight
        from here to there: the pitches that will not make parallel fifths or octaves with the melody when the bass
        moves to the plan's note (the nearest octave of it). All of them if none would do."""
        c, nv, t = self.constraints, self.header.voices, self.tick()
        nxt = min((x for x in c.bass_onsets if x > t), default=None)
        if nxt is None or self.voice != nv - 1 or nv < 2:
            return pitches
        fixed_ticks = {b * self.bar_len + q: ns for (b, q), ns in self.fixed.items()}
        if any(t < x < nxt for x in fixed_ticks):
            return pitches
        mel_now = self.voice_pitch_at(0, t)
        mel_next = max((n.pitch for n in fixed_ticks.get(nxt, []) if n.voice == 0), default=None)
        span = c.chord_at(nxt)
        if mel_now is None or mel_next is None or span is None or mel_now == mel_next:
            return pitches

        def parallel(p: int) -> bool:
            b2 = min((q for q in range(p - 12, p + 13) if q % 12 == span[3]), key=lambda q: (abs(q - p), q))
            return ((mel_now - p) % 12 in (0, 7) and (mel_next - b2) % 12 == (mel_now - p) % 12
                    and (mel_next - mel_now) * (b2 - p) > 0)

        return [p for p in pitches if not parallel(p)] or pitches

    def without_parallels(self, pitches: list[int]) -> list[int]:
        """Pitches for the current voice that make no parallel fifth or octave (or unison) with any voice
        already written at this onset, between the previous onset and this one: both voices moving the same
        way into the same perfect interval they left. If every pitch would, all are returned (the rule
        yields rather than leaving the music nowhere to go)."""
        t = self.tick()
        earlier = [self.starts[n.bar] + n.pos for n in self.notes if self.starts[n.bar] + n.pos < t]
        if not earlier:
            return pitches
        t_prev = max(earlier)
        a1 = self.voice_pitch_at(self.voice, t_prev)
        if a1 is None:
            return pitches

        def ic(mine: int, other: int, other_voice: int) -> int:  # the interval, upper voice minus lower, mod 12
            return (mine - other) % 12 if self.voice < other_voice else (other - mine) % 12

        pairs = []
        for u in {n.voice for n in self.notes if n.voice != self.voice}:
            b1, b2 = self.voice_pitch_at(u, t_prev), self.voice_pitch_at(u, t)
            if b1 is not None and b2 is not None and b1 != b2 and ic(a1, b1, u) in (0, 7):
                pairs.append((b1, b2, u))
        planned = self.planned_bass(t)
        if planned is not None:  # the bass is owed a planned note here, written after this voice: foresee it
            u = self.header.voices - 1
            b1 = self.voice_pitch_at(u, t_prev)
            options = [q for q in self.constraints.allowed_pitches(u, t, True) if q % 12 == planned]
            if b1 is not None and options:
                b2 = min(options, key=lambda q: (abs(q - b1), q))
                if b1 != b2 and ic(a1, b1, u) in (0, 7):
                    pairs.append((b1, b2, u))
        if not pairs:
            return pitches
        ok = [p for p in pitches if not any(
            p != a1 and (p - a1) * (b2 - b1) > 0 and ic(p, b2, u) == ic(a1, b1, u) for b1, b2, u in pairs)]
        return ok or pitches


def _allowed(s: _State) -> list[int]:
    """The tokens that keep every rule and constraint, given the state."""
    if s.queue:
        return [s.queue[0]]
    c = s.constraints
    nv = s.header.voices
    if s.phase == "start":
        return [T.BAR] if s.bars_target > 0 else [T.EOS]
    if s.phase == "voice":
        lowest = nv > 1 and s.voice == nv - 1
        pitches = c.allowed_pitches(s.voice, s.tick(), lowest) if s.room(s.tick()) else []
        if c.avoid_parallels and pitches:
            pitches = s.before_planned_bass(s.without_parallels(pitches))
        if c.below_melody and s.voice > 0 and pitches:
            top = s.voice_pitch_at(0, s.tick())
            if top is not None:
                pitches = [p for p in pitches if p < top] or pitches
        if lowest and pitches and s.tick() in c.bass_onsets:  # a cadence's bass: under every other voice
            above = [n.pitch for n in s.notes if n.voice != s.voice
                     and s.starts[n.bar] + n.pos <= s.tick() < s.starts[n.bar] + n.pos + n.dur]
            pitches = [p for p in pitches if not above or p < min(above)] or pitches
        return [T.P0 + p - T.PITCH_LO for p in pitches]
    if s.phase == "pitch":
        return _durations(s, c, nv)
    if s.phase == "pos":
        return _voice_options(s, nv)
    # phase bar (just after BAR) or dur (after a note)
    out: list[int] = []
    if s.phase == "dur":
        pending = s.fixed_here()
        if pending:  # a fixed note still due at this position: only paths that reach it
            f = pending[0]
            if f.voice == s.voice:
                return [T.P0 + f.pitch - T.PITCH_LO]
            return _voice_options(s, nv)
        if (nv > 1 and s.voice < nv - 1 and s.tick() in c.bass_onsets and nv - 1 not in s.fixed_voices
                and s.room(s.tick())):  # the lowest voice is owed a note here: only the voices up to it
            owed = _voice_options(s, nv, after_note=True)
            if T.V0 + nv - 1 in owed:
                return owed
        if s.voice not in s.fixed_voices and s.room(s.tick()):  # another chord tone in the same voice
            out += [T.P0 + p - T.PITCH_LO for p in c.allowed_pitches(s.voice, s.tick(), nv > 1 and s.voice == nv - 1)
                    if p < s.last_pitch]
        out += [t for t in _voice_options(s, nv, after_note=True)]
    start_after = s.pos if s.phase == "dur" else -1
    due = sorted(set(s.fixed_left_in_bar(start_after)) | {
        t - s.bar_start_tick for t in c.onsets
        if start_after < t - s.bar_start_tick < s.bar_len and s.room(t)})
    last = due[0] if due else s.bar_len - 1
    written = s.onsets_in_bar() if c.max_onsets_per_bar is not None or c.min_onsets_per_bar else 0
    full = c.max_onsets_per_bar is not None and written >= c.max_onsets_per_bar
    owed = c.min_onsets_per_bar - written
    free = [q for q in range(start_after + 1, s.bar_len)
            if (c.positions is None or q in c.positions) and s.room(s.bar_start_tick + q)] if owed > 0 else []
    places = 0
    for q in range(start_after + 1, last + 1):
        if (s.bar, q) in s.fixed or q in due:
            out.append(T.POS0 + q)
        elif not full and (c.positions is None or q in c.positions) and s.room(s.bar_start_tick + q):
            if owed > 0 and sum(x >= q for x in free) < min(owed, len(free)):
                continue  # jumping here would leave too few places for the onsets the bar still owes
            out.append(T.POS0 + q)
            places += 1
    if not due and not (places and written < c.min_onsets_per_bar):
        if s.bar + 1 < s.bars_target:
            out.append(T.BAR)
        elif s.bar + 1 == s.bars_target:
            out.append(T.EOS)
    return out


def _durations(s: _State, c: Constraints, nv: int) -> list[int]:
    """D tokens allowed for the note just pitched: each rule narrows the lengths while any remain (a rule that
    would leave none yields)."""
    t = s.tick()
    lengths = list(T.DURATIONS)

    def narrow(keep) -> None:
        nonlocal lengths
        kept = [d for d in lengths if keep(d)]
        if kept:
            lengths = kept

    if s.voice in s.fixed_voices:
        return [T.D0 + i for i in range(T.N_DUR)]
    if s.voice in c.voice_durations:
        narrow(lambda d: d in c.voice_durations[s.voice])
    if c.below_melody and s.voice > 0:  # let go before the melody comes down to this note
        under = [b * s.bar_len + q for (b, q), ns in s.fixed.items() for n in ns
                 if n.voice == 0 and b * s.bar_len + q > t and n.pitch <= s.pitch]
        if under:
            narrow(lambda d: t + d <= min(under))
    if c.bass_onsets and nv > 1 and s.voice == nv - 1:  # the bass lets go before its next planned note
        nxt = min((x for x in c.bass_onsets if x > t), default=None)
        if nxt is not None:
            narrow(lambda d: t + d <= nxt)
    if c.durations is not None:
        narrow(lambda d: d in c.durations)
        counted = s.onsets_in_bar() + (s.pos not in s.places.get(s.bar, ()))
        need = c.min_onsets_per_bar - counted
        if need > 0 and c.max_polyphony == 1:  # leave room in the bar for the onsets still owed
            places = sorted(q for q in (c.positions or range(s.bar_len)) if s.pos < q < s.bar_len)
            fits = [d for d in lengths if sum(q >= s.pos + d for q in places) >= need]
            lengths = fits or lengths[:1]
    return [T.D0 + T.DURATIONS.index(d) for d in lengths]


def _voice_options(s: _State, nv: int, after_note: bool = False) -> list[int]:
    """V tokens allowed next at this position: higher voices than the current one, not fixed ones,
    and never past a fixed note still due here."""
    if s.constraints.kit is not None:  # a drum part: the kit is its one voice
        return [T.V_KIT] if s.voice < T.KIT and s.room(s.tick()) else []
    here = [n for n in s.fixed.get((s.bar, s.pos), []) if n.voice > s.voice]
    limit = here[0].voice if here else nv
    out = [T.V0 + k for k in range(s.voice + 1, min(limit, nv)) if k not in s.fixed_voices]
    c = s.constraints
    if c.with_melody is not None and s.pos > 0 and any(n.voice == 0 for n in s.fixed.get((s.bar, s.pos), [])):
        joined = len({n.voice for n in s.notes if n.voice > 0 and n.bar == s.bar and n.pos == s.pos})
        if joined >= c.with_melody and s.tick() not in c.bass_onsets:
            out = [t for t in out if t - T.V0 in s.fixed_voices]  # no more voices join the melody here
    if here:
        out.append(T.V0 + here[0].voice)
    elif not out and not after_note:
        return []
    if not s.room(s.tick()) and not here:
        return []
    return out


def _advance(s: _State, tok: int) -> None:
    if s.queue:
        s.queue.pop(0)
    if tok == T.BAR:
        s.bar += 1
        if s.bar > 0:
            s.starts.append(s.starts[-1] + s.bar_len)
        s.bar_start_tick = s.starts[s.bar]
        s.phase, s.pos, s.voice, s.last_pitch = "bar", -1, -1, 999
    elif T.is_pos(tok):
        s.pos, s.voice, s.last_pitch, s.phase = tok - T.POS0, -1, 999, "pos"
    elif T.is_voice(tok) or tok == T.V_KIT:
        s.voice, s.last_pitch, s.phase = (T.KIT if tok == T.V_KIT else tok - T.V0), 999, "voice"
        fixed = [n for n in s.fixed.get((s.bar, s.pos), []) if n.voice == s.voice]
        if fixed:  # the fixed voice's notes are written as given
            q: list[int] = []
            for n in fixed:
                q += [T.P0 + n.pitch - T.PITCH_LO, T.D0 + T.DURATIONS.index(n.dur)]
            s.queue = q
    elif T.is_pitch(tok):
        s.pitch, s.phase = tok - T.P0 + T.PITCH_LO, "pitch"
    elif T.is_dur(tok):
        s.add_note(TNote(s.voice, s.pitch, s.bar, s.pos, T.DURATIONS[tok - T.D0]))
        s.last_pitch, s.phase = s.pitch, "dur"
    elif tok == T.EOS:
        s.phase = "done"


# ------------------------------------------------------------------ the model


@dataclass
class Generated:
    piece: Piece
    tokens: list[int]
    steps: int
    seconds: float


class SymbolicModel:
    def __init__(self, config: dict, state: dict, device: str, folder: Path, meta: dict, threads: int | None = None,
                 model=None):
        """`config` and `state`: the network's config.json and tensors (on `device`); `model`: transformers'
        network on the same weights when the caller has one (else built on first use of `.model`)."""
        self.config = config
        self._state = state
        self._model = model
        self._cache_kw: str | None = None
        self.device = device
        self.folder = folder
        self.meta = meta
        self.threads = threads  # intra-op threads for a call (1 beside a DAW; None: torch's default)
        try:
            self.decoder = LeanDecoder(config, state, MAX_CONTEXT)  # the one-sequence decoding path (see decoder.py)
        except (ValueError, KeyError) as e:
            raise ModelError(f"the checkpoint in {folder} cannot be decoded here: {e}") from None

    @classmethod
    def of_network(cls, model, device: str, folder: Path, meta: dict, threads: int | None = None) -> SymbolicModel:
        """From transformers' network (a fine-tuned one, say)."""
        return cls(model.config.to_dict(), dict(model.state_dict()), device, folder, meta, threads, model=model)

    @property
    def model(self):
        """transformers' LlamaForCausalLM on these weights, built on first use: fine-tuning, evaluation,
        `generate_many` and the benchmark's peer need it; decoding one sequence does not."""
        if self._model is None:
            self._model = network(self.config, self._state, self.device)
        return self._model

    def _forward(self, past, **inputs):
        """One step through the network with the cache: (logits, the cache to pass next)."""
        kw = self._cache_keyword()
        res = self.model(use_cache=True, **{kw: past}, **inputs)
        return res.logits, getattr(res, kw)

    def _cache_keyword(self) -> str:
        """The key-value cache's keyword: `cache` in transformers 5.x, `past_key_values` before it (read once)."""
        if self._cache_kw is None:
            import inspect

            params = inspect.signature(self.model.forward).parameters
            self._cache_kw = "cache" if "cache" in params else "past_key_values"
        return self._cache_kw

    @property
    def parameters(self) -> int:
        seen = {}
        for name, t in self._state.items():
            seen.setdefault(t.data_ptr(), t.numel())  # tied weights counted once
        return sum(seen.values())

    # -- public capabilities ------------------------------------------------

    def generate(self, header: Header, bars: int, constraints: Constraints | None = None, seed: int = 0,
                 temperature: float = 1.0, top_p: float = 0.95, job: Job = NO_JOB) -> Generated:
        """A new piece of exactly `bars` bars from the controls in `header`."""
        return self._run(header.tokens(), header, bars, constraints, {}, seed, temperature, top_p, job)

    def generate_many(self, headers: list[Header], bars: int, constraints: Constraints | None = None,
                      seeds: list[int] | None = None, temperature: float = 1.0, top_p: float = 0.95) -> list[Generated]:
        """Several pieces at once (one batch through the network): the same rules and constraints per piece
        as `generate`, and for each seed the same result as `generate` with that header and seed would
        give up to floating-point differences between batched and single matrix products."""
        import time

        import torch

        if not headers:
            return []
        c = _checked_request(headers, bars, temperature, constraints)
        seeds = seeds if seeds is not None else list(range(len(headers)))
        states = [_State(h, bars, c, {}, frozenset(), bar_len=h.meter_ticks) for h in headers]
        gens = [_rng(sd) for sd in seeds]
        outs: list[list[int]] = [[] for _ in headers]
        t0 = time.perf_counter()
        ids = torch.tensor([h.tokens() for h in headers], dtype=torch.long, device=self.device)
        mask = torch.ones_like(ids)
        past = None
        budget = bars * (T.N_POS * 2 + 40 * max(h.voices for h in headers))
        with torch.no_grad():
            for _ in range(budget):
                if all(st.phase == "done" for st in states):
                    break
                logits, past = self._forward(past, input_ids=ids, attention_mask=mask)
                logits = logits[:, -1].float().cpu()
                nxt = []
                for i, st in enumerate(states):
                    if st.phase == "done":
                        nxt.append(T.PAD)
                        continue
                    allowed = _allowed(st)
                    if not allowed:
                        raise ModelError("the constraints leave no way to go on")
                    tok = allowed[0] if len(allowed) == 1 else _sample(logits[i].numpy(), allowed, temperature, top_p, gens[i])
                    _advance(st, tok)
                    outs[i].append(tok)
                    nxt.append(tok)
                ids = torch.tensor(nxt, dtype=torch.long, device=self.device)[:, None]
                mask = torch.cat([mask, torch.tensor([[0 if t == T.PAD else 1] for t in nxt], device=self.device)], dim=1)
                if mask.shape[1] > MAX_CONTEXT:
                    raise ModelError(f"{bars} bars do not fit the model's context in one batch; ask for fewer bars")
        seconds = time.perf_counter() - t0
        results = []
        for h, out in zip(headers, outs):
            piece = T.decode_bars(out, h.meter_ticks)
            piece.bar_ticks = piece.bar_ticks[:bars] + [h.meter_ticks] * (bars - len(piece.bar_ticks))
            results.append(Generated(piece, out, len(out), seconds / len(headers)))
        return results

    def continue_piece(self, piece: Piece, header: Header, bars: int, constraints: Constraints | None = None,
                       seed: int = 0, temperature: float = 1.0, top_p: float = 0.95, job: Job = NO_JOB) -> Generated:
        """`bars` new bars after `piece` (the result holds only the new bars, numbered from 0)."""
        self._check_meter(piece, header)
        prompt = header.tokens() + self._context_bars(piece, header, budget=MAX_CONTEXT // 2)
        return self._run(prompt, header, bars, constraints, {}, seed, temperature, top_p, job)

    def infill(self, piece: Piece, header: Header, start_bar: int, end_bar: int,
               constraints: Constraints | None = None, seed: int = 0, temperature: float = 1.0,
               top_p: float = 0.95, job: Job = NO_JOB) -> Generated:
        """New music for bars start_bar..end_bar-1 of `piece`, written knowing the bars before and after
        (the result holds only the new bars, numbered from 0)."""
        n = len(piece.bar_ticks)
        if not 0 <= start_bar < end_bar <= n:
            raise ModelError(f"the span {start_bar}..{end_bar} must lie within the piece's {n} bars, start < end")
        self._check_meter(piece, header)
        before = T.encode_bars(piece, range(max(0, start_bar - 16), start_bar), first_meter=header.meter_ticks)
        after = T.encode_bars(piece, range(end_bar, min(n, end_bar + 16)), first_meter=header.meter_ticks)
        if start_bar == 0:
            before = []
        prompt = header.tokens() + [T.FIM_PRE] + before + [T.FIM_SUF] + after + [T.FIM_MID]
        if len(prompt) > MAX_CONTEXT // 2:  # keep the bars nearest the gap
            keep = MAX_CONTEXT // 4
            prompt = header.tokens() + [T.FIM_PRE] + before[-keep:] + [T.FIM_SUF] + after[:keep] + [T.FIM_MID]
        return self._run(prompt, header, end_bar - start_bar, constraints, {}, seed, temperature, top_p, job)

    def harmonize(self, melody: Piece, header: Header, constraints: Constraints | None = None, seed: int = 0,
                  temperature: float = 0.9, top_p: float = 0.95, job: Job = NO_JOB) -> Generated:
        """Voices 1..header.voices-1 written around a fixed melody (its notes become voice 0, unchanged).
        The melody is given to the model in full first (the melody-conditioned layout), then the
        voices are written bar by bar with the melody's notes forced at their places."""
        if header.voices < 2:
            raise ModelError("harmonize needs a header with at least 2 voices (the melody and one more)")
        self._check_meter(melody, header)
        mel = [TNote(0, n.pitch, n.bar, n.pos, n.dur) for n in melody.notes]
        if not mel:
            raise ModelError("the melody has no notes to harmonize")
        mel_piece = Piece(list(melody.bar_ticks), mel)
        cond = T.encode_bars(mel_piece, range(len(melody.bar_ticks)), with_voices=False, voices={0},
                             first_meter=header.meter_ticks)
        prompt = header.tokens() + [T.COND] + cond + [T.COND_END]
        fixed: dict[tuple[int, int], list[TNote]] = {}
        for n in sorted(mel, key=lambda n: (n.bar, n.pos, -n.pitch)):
            fixed.setdefault((n.bar, n.pos), []).append(n)
        if len(prompt) + 4 * len(mel) * header.voices > 4 * MAX_CONTEXT:
            raise ModelError(f"the melody is too long to harmonize in one pass ({len(melody.bar_ticks)} bars); "
                             "harmonize it in sections of at most 32 bars")
        return self._run(prompt, header, len(melody.bar_ticks), constraints, fixed, seed, temperature, top_p, job)

    # -- internals ----------------------------------------------------------

    @staticmethod
    def _check_meter(piece: Piece, header: Header) -> None:
        bad = [i for i, b in enumerate(piece.bar_ticks) if b != header.meter_ticks]
        if bad:
            raise ModelError(f"bar {bad[0] + 1} is {piece.bar_ticks[bad[0]]} ticks long but the header's meter is "
                             f"{header.meter_ticks}; the model writes in one meter per request")

    @staticmethod
    def _context_bars(piece: Piece, header: Header, budget: int) -> list[int]:
        n = len(piece.bar_ticks)
        for start in range(n + 1):
            body = T.encode_bars(piece, range(start, n), first_meter=header.meter_ticks)
            if len(body) <= budget:
                return body
        return []

    def _run(self, prompt: list[int], header: Header, bars: int, constraints: Constraints | None,
             fixed: dict, seed: int, temperature: float, top_p: float, job: Job = NO_JOB) -> Generated:
        """Decode under the grammar and the constraints, reporting each bar begun to `job` (which stops the loop,
        raising Cancelled, within a step of a cancellation)."""
        import time

        import torch

        if self.threads:
            torch.set_num_threads(self.threads)  # a few threads beside a DAW: oversubscription costs 4x and more

        c = _checked_request([header], bars, temperature, constraints)
        state = _State(header, bars, c, fixed, frozenset(n.voice for ns in fixed.values() for n in ns),
                       bar_len=header.meter_ticks)
        for (b, _), ns in fixed.items():
            if b >= bars:
                raise ModelError("a fixed note lies past the last bar")
        gen = _rng(seed)
        t0 = time.perf_counter()
        out: list[int] = []
        seq = self.decoder.sequence()
        feed = list(prompt)
        steps = 0
        max_steps = bars * (T.N_POS * 2 + 40 * header.voices)
        job.progress(0, bars, "bars")
        bar_seen = -1
        with torch.inference_mode():
            while state.phase != "done":
                if state.bar != bar_seen:
                    bar_seen = state.bar
                    job.progress(max(0, bar_seen), bars, "bars")
                else:
                    job.check()
                allowed = _allowed(state)
                if not allowed:
                    raise ModelError("the constraints leave no way to go on (for example a pitch range or scale "
                                     "that holds none of a voice's notes, or polyphony below the fixed notes')")
                if len(allowed) == 1:
                    tok = allowed[0]
                else:
                    if seq.length + len(feed) > MAX_CONTEXT:
                        seq.reset()
                        feed = self._window(prompt, out)
                    if len(feed) == 1 and seq.length:  # most steps: one token, the compiled step
                        logits = seq.step(feed[0])
                    else:
                        ids = torch.tensor(feed, dtype=torch.long, device=self.device)
                        if seq.length == 0 and header.style_mix:
                            logits = seq(embeds=self._mixed_embeddings(ids, header.style_mix))
                        else:
                            logits = seq(ids)
                    feed = []
                    scores = logits.float().cpu().numpy()
                    if c.repetition_penalty and state.phase == "voice":
                        scores = _penalize_repeats(scores, state, c.repetition_penalty)
                    tok = _sample(scores, allowed, temperature, top_p, gen)
                _advance(state, tok)
                out.append(tok)
                feed.append(tok)
                steps += 1
                if steps > max_steps:
                    raise ModelError("generation ran past its step budget")  # the grammar makes this unreachable
        job.progress(bars, bars, "bars")
        piece = T.decode_bars(out, header.meter_ticks)
        piece.bar_ticks = piece.bar_ticks[:bars] + [header.meter_ticks] * (bars - len(piece.bar_ticks))
        return Generated(piece, out, steps, time.perf_counter() - t0)

    def _mixed_embeddings(self, ids, mix: dict[str, float]):
        """The prompt's embeddings with the style control replaced by a weighted mix of the styles'
        embeddings: interpolation between styles, on the one input the model reads style from."""
        weight = self.decoder.embed
        x = weight[ids].clone()
        total = sum(mix.values())
        style_ids = [T.STYLE0 + T.STYLES.index(s) for s in mix]
        w = torch_tensor([mix[s] / total for s in mix], device=x.device, dtype=x.dtype)
        x[1] = (w[:, None] * weight[style_ids]).sum(0)
        return x

    @staticmethod
    def _window(prompt: list[int], out: list[int]) -> list[int]:
        """When the context is full: the header, then as much of the latest material as fits."""
        keep = MAX_CONTEXT - T.HEADER_LEN - 128
        tail = (prompt[T.HEADER_LEN:] + out)[-keep:]
        return prompt[:T.HEADER_LEN] + tail


def _checked_request(headers: list[Header], bars: int, temperature: float,
                     constraints: Constraints | None) -> Constraints:
    """What every request must satisfy before decoding starts; returns the constraints to use."""
    if bars < 1:
        raise ModelError("bars must be at least 1")
    if not 0.05 <= temperature <= 2.0:
        raise ModelError(f"temperature {temperature} is outside 0.05-2.0")
    for h in headers:
        if h.meter_ticks not in T.METERS:
            raise ModelError(f"a bar of {h.meter_ticks} ticks is not a meter the model knows "
                             f"(1 to 8 quarter notes in eighth-note steps)")
    c = constraints or Constraints()
    c.check()
    return c


def torch_tensor(*args, **kwargs):
    import torch

    return torch.tensor(*args, **kwargs)


def _rng(seed: int):
    import numpy as np

    return np.random.default_rng(int(seed))


def _penalize_repeats(scores, state: _State, penalty: float):
    """The logits with each pitch the current voice played among its last 8 notes lowered by `penalty` per time."""
    recent = [n.pitch for n in state.notes if n.voice == state.voice][-8:]
    if not recent:
        return scores
    scores = scores.copy()
    for pitch in recent:
        scores[T.P0 + pitch - T.PITCH_LO] -= penalty
    return scores


def _sample(logits, allowed: list[int], temperature: float, top_p: float, gen) -> int:
    """One token from the allowed ones: softmax at `temperature` over their logits (a numpy vector), nucleus
    `top_p` (the most likely tokens while the mass before each is under top_p), drawn with the numpy generator
    `gen`. Plain Python floats: for the few dozen tokens a grammar allows, half the time of numpy's calls."""
    vals = logits[allowed].tolist()
    top = max(vals)
    inv = 1.0 / temperature
    probs = [math.exp((v - top) * inv) for v in vals]
    if top_p < 1.0:
        limit = top_p * sum(probs)
        before = 0.0
        order = sorted(range(len(probs)), key=probs.__getitem__, reverse=True)  # stable: ties keep their order
        for k, i in enumerate(order):
            if k and before >= limit:
                for j in order[k:]:
                    probs[j] = 0.0
                break
            before += probs[i]
    r = gen.random() * sum(probs)
    acc = 0.0
    for i, p in enumerate(probs):
        acc += p
        if r < acc:
            return allowed[i]
    return allowed[-1]
