"""Training data: the parsed corpus tokenized once, split by work, and sampled into training windows.

    python -m liveloom.models.data [--cache DIR]     # tokenizes and prints the data card's counts

Split: a work's hash decides — 90 % train, 5 % validation, 5 % test — so every window of a work
lands in the same split and the test split is never trained on. Training windows are augmented by
transposition (-5..+6 semitones, keys moved with them) and come in three layouts (see tokenizer):
plain continuation, fill-in-the-middle, and melody-conditioned (for harmonization).
"""

from __future__ import annotations

import argparse
import hashlib
import pickle
import random
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import tokenizer as T
from .corpus import DEFAULT_CACHE, load_works

SPLITS = ("train", "valid", "test")
# Bach's chorales are few (~100k notes beside Palestrina's 700k) but four-part harmonization is the
# first thing the model is asked to do: their windows are drawn three times as often.
STYLE_WEIGHT = {"chorale": 3.0}


def split_of(work_id: str) -> str:
    h = int(hashlib.sha1(work_id.encode()).hexdigest()[:8], 16) % 100
    return "test" if h < 5 else "valid" if h < 10 else "train"


@dataclass
class Encoded:
    name: str
    style: str
    split: str
    header: T.Header
    body: np.ndarray  # int16 token ids, BAR-led bars, all voices
    bar_at: np.ndarray  # index in body of each bar's BAR token (+ len(body) at the end)
    mel: np.ndarray | None  # melody-only bars without V tokens (pieces with 2+ voices)
    mel_bar_at: np.ndarray | None
    bar_ticks: np.ndarray
    notes_per_bar: np.ndarray


def _bar_index(body: list[int]) -> np.ndarray:
    idx = [i for i, t in enumerate(body) if t == T.BAR]
    return np.array(idx + [len(body)], dtype=np.int32)


def encode_work(work: dict) -> Encoded:
    piece = T.piece_from_work(work)
    header = T.header_for(work, piece)
    bars = range(len(piece.bar_ticks))
    body = T.encode_bars(piece, bars, first_meter=header.meter_ticks)
    mel = mel_at = None
    if header.voices >= 2:
        m = T.encode_bars(piece, bars, with_voices=False, voices={0}, first_meter=header.meter_ticks)
        mel, mel_at = np.array(m, dtype=np.int16), _bar_index(m)
    counts = np.bincount([n.bar for n in piece.notes], minlength=len(bars)).astype(np.int32)
    return Encoded(work["name"], work["style"], split_of(work["work"]), header, np.array(body, dtype=np.int16),
                   _bar_index(body), mel, mel_at, np.array(piece.bar_ticks, dtype=np.int16), counts)


def tokenized(cache: Path = DEFAULT_CACHE) -> list[Encoded]:
    """All works, tokenized (cached beside the parsed corpus, rebuilt when the corpus grows)."""
    src = cache / "works.jsonl"
    out = cache / f"tokens-v{len(T.VOCAB)}.pkl"
    if out.exists() and out.stat().st_mtime >= src.stat().st_mtime:
        with out.open("rb") as f:
            return pickle.load(f)
    encoded = [encode_work(w) for w in load_works(cache)]
    tmp = out.with_suffix(".tmp")
    with tmp.open("wb") as f:
        pickle.dump(encoded, f)
    tmp.replace(out)
    return encoded


# ------------------------------------------------------------------ windows


def _strip_meter(seg: list[int]) -> list[int]:
    """A crop's first bar takes its length from the header, so a METER right after its BAR goes."""
    if len(seg) > 1 and seg[0] == T.BAR and T.is_meter(seg[1]):
        return [seg[0]] + seg[2:]
    return seg


def _header(e: Encoded, b0: int, b1: int, shift: int) -> list[int]:
    h = e.header
    dens = T.density_bin(float(e.notes_per_bar[b0:b1].sum()) / max(1, b1 - b0) / h.voices)
    return T.Header(style=h.style, key_tonic=(h.key_tonic + shift) % 12, key_minor=h.key_minor,
                    meter_ticks=int(e.bar_ticks[b0]), tempo=h.tempo, density=dens, voices=h.voices).tokens()


def _bars_fitting(bar_at: np.ndarray, b0: int, budget: int) -> int:
    """The end bar b1 > b0 such that bars b0..b1 fit in `budget` tokens (at least one bar)."""
    limit = bar_at[b0] + budget
    b1 = int(np.searchsorted(bar_at, limit, side="right")) - 1
    return max(b0 + 1, min(b1, len(bar_at) - 1))


def plain_window(e: Encoded, rng: random.Random, length: int, b0: int | None = None) -> tuple[list[int], int, int]:
    nbars = len(e.bar_at) - 1
    b0 = rng.randrange(nbars) if b0 is None else b0
    body = _strip_meter(e.body[e.bar_at[b0]:].tolist())
    b1 = _bars_fitting(e.bar_at, b0, length - T.HEADER_LEN)
    seq_body = body[: length - T.HEADER_LEN]
    ends = len(body) <= length - T.HEADER_LEN - 1
    return seq_body + ([T.EOS] if ends else []), b0, b1


def fim_window(e: Encoded, rng: random.Random, length: int) -> tuple[list[int], int, int] | None:
    nbars = len(e.bar_at) - 1
    if nbars < 3:
        return None
    b0 = rng.randrange(nbars - 2)
    b1 = _bars_fitting(e.bar_at, b0, length - T.HEADER_LEN - 4)
    if b1 - b0 < 3:
        return None
    span = rng.randint(1, min(4, b1 - b0 - 2))
    m0 = rng.randint(b0 + 1, b1 - span)
    m1 = m0 + span

    def seg(a: int, b: int) -> list[int]:
        return e.body[e.bar_at[a]:e.bar_at[b]].tolist()

    toks = [T.FIM_PRE] + _strip_meter(seg(b0, m0)) + [T.FIM_SUF] + seg(m1, b1) + [T.FIM_MID] + seg(m0, m1) + [T.EOS]
    return toks, b0, b1


def cond_window(e: Encoded, rng: random.Random, length: int) -> tuple[list[int], int, int] | None:
    if e.mel is None:
        return None
    nbars = len(e.bar_at) - 1
    b0 = rng.randrange(nbars)
    budget = length - T.HEADER_LEN - 3
    b1 = b0 + 1
    while b1 < nbars and (e.bar_at[b1 + 1] - e.bar_at[b0]) + (e.mel_bar_at[b1 + 1] - e.mel_bar_at[b0]) <= budget:
        b1 += 1
    mel = _strip_meter(e.mel[e.mel_bar_at[b0]:e.mel_bar_at[b1]].tolist())
    full = _strip_meter(e.body[e.bar_at[b0]:e.bar_at[b1]].tolist())
    if len(mel) + len(full) > budget:
        return None
    return [T.COND] + mel + [T.COND_END] + full + ([T.EOS] if b1 == nbars else []), b0, b1


def transpose(tokens: list[int], shift: int) -> list[int] | None:
    """Pitch tokens moved by `shift` semitones (a drum kit's notes stay: they name drums, not pitches); None when a
    pitch would leave the range."""
    if shift == 0:
        return tokens
    arr = np.array(tokens, dtype=np.int32)
    is_p = (arr >= T.P0) & (arr < T.P0 + T.N_PITCH)
    if T.V_KIT in tokens:  # a kit's pitches run from its V_KIT to the next voice, position or bar
        is_p &= ~_in_kit(arr)
    moved = arr[is_p] + shift
    if moved.size and (moved.min() < T.P0 or moved.max() >= T.P0 + T.N_PITCH):
        return None
    arr[is_p] = moved
    return arr.tolist()


def _in_kit(arr: np.ndarray) -> np.ndarray:
    marks = np.where(arr == T.V_KIT, 1, np.where(((arr >= T.V0) & (arr < T.V0 + T.MAX_VOICES)) |
                                                  ((arr >= T.POS0) & (arr < T.POS0 + T.N_POS)) | (arr == T.BAR), 0, -1))
    idx = np.where(marks >= 0, np.arange(len(arr)), 0)
    np.maximum.accumulate(idx, out=idx)
    state = np.where(marks[idx] >= 0, marks[idx], 0)
    return state == 1


class Sampler:
    """Random training windows: works drawn in proportion to their length, each window's layout drawn
    from `layouts` (plain, fim, cond) with the given weights, transposed at random."""

    def __init__(self, encoded: list[Encoded], length: int = 512, seed: int = 0, augment: bool = True,
                 layouts: dict[str, float] | None = None):
        self.works = [e for e in encoded if len(e.bar_at) > 1]
        sizes = np.array([min(len(e.body), 4 * length) * STYLE_WEIGHT.get(e.style, 1.0) for e in self.works])
        self.p = sizes / sizes.sum()
        self.length = length
        self.rng = random.Random(seed)
        self.np_rng = np.random.default_rng(seed)
        self.augment = augment
        self.layouts = layouts or {"plain": 0.55, "fim": 0.2, "cond": 0.25}

    def sample(self) -> list[int]:
        while True:
            e = self.works[int(self.np_rng.choice(len(self.works), p=self.p))]
            layout = self.rng.choices(list(self.layouts), weights=list(self.layouts.values()))[0]
            made = (plain_window(e, self.rng, self.length) if layout == "plain" else
                    fim_window(e, self.rng, self.length) if layout == "fim" else cond_window(e, self.rng, self.length))
            if made is None:
                continue
            body, b0, b1 = made
            shift = self.rng.randint(-5, 6) if self.augment else 0
            moved = transpose(body, shift)
            if moved is None:
                continue
            return (_header(e, b0, b1, shift) + moved)[: self.length]

    def batch(self, size: int, pack: bool = True) -> np.ndarray:
        """`size` rows of `length` tokens. With `pack`, a window shorter than a row is followed by more
        windows (each opens with BOS and its own controls) so that no compute goes to padding."""
        out = np.full((size, self.length), T.PAD, dtype=np.int64)
        for i in range(size):
            row: list[int] = []
            while len(row) < self.length - T.HEADER_LEN - 16:
                row += self.sample()
                if not pack:
                    break
            row = row[: self.length]
            out[i, : len(row)] = row
        return out


def eval_windows(encoded: list[Encoded], split: str, length: int = 512) -> list[list[int]]:
    """Deterministic plain windows covering each work of a split from its start, bar-aligned: the
    sequences that held-out likelihood is measured on (for the model and the n-gram baseline)."""
    rng = random.Random(0)
    out = []
    for e in encoded:
        if e.split != split or len(e.bar_at) <= 1:
            continue
        b0, nbars = 0, len(e.bar_at) - 1
        while b0 < nbars:
            body, _, b1 = plain_window(e, rng, length, b0=b0)
            out.append(_header(e, b0, b1, 0) + body)
            b0 = max(b1, b0 + 1)
    return out


def card_counts(encoded: list[Encoded]) -> str:
    rows = Counter()
    for e in encoded:
        rows[(e.style, e.split, "works")] += 1
        rows[(e.style, e.split, "notes")] += int(e.notes_per_bar.sum())
        rows[(e.style, e.split, "tokens")] += len(e.body) + T.HEADER_LEN + 1
    styles = sorted({e.style for e in encoded}, key=lambda s: T.STYLES.index(s))
    lines = ["| style | works (train / valid / test) | notes | tokens |", "|---|---|---|---|"]
    for s in styles:
        w = " / ".join(str(rows[(s, sp, "works")]) for sp in SPLITS)
        n = sum(rows[(s, sp, "notes")] for sp in SPLITS)
        t = sum(rows[(s, sp, "tokens")] for sp in SPLITS)
        lines.append(f"| {s} | {w} | {n:,} | {t:,} |")
    tw = " / ".join(str(sum(rows[(s, sp, "works")] for s in styles)) for sp in SPLITS)
    lines.append(f"| all | {tw} | {sum(int(e.notes_per_bar.sum()) for e in encoded):,} | "
                 f"{sum(len(e.body) + T.HEADER_LEN + 1 for e in encoded):,} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args()
    from liveloom.models import data  # pickled classes must belong to the module, not to __main__

    enc = data.tokenized(args.cache)
    print(card_counts(enc))
    print(f"vocabulary: {len(T.VOCAB)} tokens", file=sys.stderr)


if __name__ == "__main__":
    main()
