"""A REMI-family tokenizer for multi-voice symbolic music, with control tokens.

A piece is a header of controls followed by bars:

    BOS STYLE_chorale KEY_7_maj METER_48 TEMPO_any DENS_2 NV_4
    BAR POS_0 V_0 P_67 D_12 V_1 P_62 D_12 V_2 P_59 D_12 V_3 P_43 D_12 POS_12 ... BAR ...
    EOS

Time is counted in ticks of a twelfth of a quarter note (16ths, 32nds rounded, and triplets exact).
POS is the onset within the bar, METER the bar's length in ticks (repeated after a BAR where the
length changes), V the voice counted from the top (V_0 is the melody, the highest-numbered voice
the bass), P the MIDI pitch, D the duration (nearest of a fixed set). At one position voices come
in increasing order, a voice's chord tones from high to low.

A drum kit is one more voice, KIT (token V_KIT, after every pitched voice at a position), its pitches the General
MIDI drum notes. V_KIT came after the shipped model was trained: it is the one token of EXTRA, appended to the
vocabulary so that every earlier id keeps its meaning (a checkpoint with the shorter vocabulary loads with one
new, untrained embedding row; fine-tuning on a producer's drums trains it, see finetune.py).

Two further layouts train the capabilities:
  * infilling (fill in the middle):  header FIM_PRE bars FIM_SUF bars FIM_MID bars EOS
  * melody-conditioned (harmonize):  header COND <melody bars without V tokens> COND_END bars EOS
"""

from __future__ import annotations

import bisect
import json
import math
from dataclasses import dataclass, field

TICKS_PER_QUARTER = 12
MAX_VOICES = 8
PITCH_LO, PITCH_HI = 21, 108  # the piano's range; pitches outside it move by octaves into it
DURATIONS = (1, 2, 3, 4, 6, 8, 9, 12, 15, 16, 18, 21, 24, 30, 32, 36, 42, 48, 54, 60, 72, 84, 96, 120, 144, 168, 192)
METERS = tuple(range(12, 97, 6))  # bar lengths 1 to 8 quarter notes in eighth-note steps
STYLES = ("chorale", "palestrina", "renaissance", "medieval", "essen", "irish", "quartet", "other")
TEMPOS = ("any", "slow", "medium", "fast")
DENSITY_EDGES = (1.5, 2.5, 4.0, 6.0)  # notes per bar per voice -> DENS_0..DENS_4
SPECIALS = ("PAD", "BOS", "EOS", "BAR", "FIM_PRE", "FIM_SUF", "FIM_MID", "COND", "COND_END")
KEY_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
EXTRA = ("V_KIT",)  # tokens added after the shipped checkpoint was trained, appended so that earlier ids hold
KIT = MAX_VOICES  # the drum kit's voice number in a TNote (after every pitched voice)


def _vocab() -> list[str]:
    v = list(SPECIALS)
    v += [f"STYLE_{s}" for s in STYLES]
    v += [f"KEY_{t}_{m}" for t in range(12) for m in ("maj", "min")]
    v += [f"METER_{m}" for m in METERS]
    v += [f"TEMPO_{t}" for t in TEMPOS]
    v += [f"DENS_{i}" for i in range(len(DENSITY_EDGES) + 1)]
    v += [f"NV_{i}" for i in range(1, MAX_VOICES + 1)]
    v += [f"POS_{i}" for i in range(max(METERS))]
    v += [f"V_{i}" for i in range(MAX_VOICES)]
    v += [f"P_{p}" for p in range(PITCH_LO, PITCH_HI + 1)]
    v += [f"D_{d}" for d in DURATIONS]
    return v + list(EXTRA)


VOCAB: tuple[str, ...] = tuple(_vocab())
ID: dict[str, int] = {t: i for i, t in enumerate(VOCAB)}
PAD, BOS, EOS, BAR = ID["PAD"], ID["BOS"], ID["EOS"], ID["BAR"]
FIM_PRE, FIM_SUF, FIM_MID, COND, COND_END = ID["FIM_PRE"], ID["FIM_SUF"], ID["FIM_MID"], ID["COND"], ID["COND_END"]
STYLE0, KEY0, METER0, TEMPO0, DENS0, NV0 = (ID["STYLE_chorale"], ID["KEY_0_maj"], ID[f"METER_{METERS[0]}"],
                                            ID["TEMPO_any"], ID["DENS_0"], ID["NV_1"])
POS0, V0, P0, D0 = ID["POS_0"], ID["V_0"], ID[f"P_{PITCH_LO}"], ID[f"D_{DURATIONS[0]}"]
N_POS, N_PITCH, N_DUR = max(METERS), PITCH_HI - PITCH_LO + 1, len(DURATIONS)
V_KIT = ID["V_KIT"]
BASE_VOCAB = len(VOCAB) - len(EXTRA)  # the vocabulary the shipped checkpoint was trained with


def voice_token(voice: int) -> int:
    return V_KIT if voice == KIT else V0 + voice


def is_pos(t: int) -> bool:
    return POS0 <= t < POS0 + N_POS


def is_voice(t: int) -> bool:
    return V0 <= t < V0 + MAX_VOICES


def is_pitch(t: int) -> bool:
    return P0 <= t < P0 + N_PITCH


def is_dur(t: int) -> bool:
    return D0 <= t < D0 + N_DUR


def is_meter(t: int) -> bool:
    return METER0 <= t < METER0 + len(METERS)


def quantize_duration(ticks: float) -> int:
    """The nearest duration in DURATIONS on a log scale."""
    ticks = max(ticks, 1.0)
    return min(DURATIONS, key=lambda d: abs(math.log(d / ticks)))


def meter_token(bar_ticks: int) -> int:
    nearest = min(METERS, key=lambda m: abs(m - bar_ticks))
    return METER0 + METERS.index(nearest)


def tempo_band(bpm: float | None) -> str:
    if bpm is None:
        return "any"
    return "slow" if bpm < 76 else "medium" if bpm <= 120 else "fast"


def density_bin(notes_per_bar_per_voice: float) -> int:
    return bisect.bisect_right(DENSITY_EDGES, notes_per_bar_per_voice)


def fold_pitch(p: int) -> int:
    while p < PITCH_LO:
        p += 12
    while p > PITCH_HI:
        p -= 12
    return p


@dataclass
class Header:
    style: str = "other"
    key_tonic: int = 0
    key_minor: bool = False
    meter_ticks: int = 48
    tempo: str = "any"
    density: int = 2
    voices: int = 1
    # Interpolation between styles: weights per style (the STYLE token is then the heaviest one, and
    # generate.py feeds the model the weighted mix of the styles' embeddings in its place).
    style_mix: dict[str, float] | None = None

    def __post_init__(self) -> None:
        if self.style_mix:
            unknown = [s for s in self.style_mix if s not in STYLES]
            if unknown:
                raise ValueError(f"unknown style {unknown[0]!r}; the model knows: {', '.join(STYLES)}")
            if any(w < 0 for w in self.style_mix.values()) or sum(self.style_mix.values()) <= 0:
                raise ValueError("style weights must be >= 0 and not all 0")
            self.style = max(self.style_mix, key=self.style_mix.get)

    def tokens(self) -> list[int]:
        if self.style not in STYLES:
            raise ValueError(f"unknown style {self.style!r}; the model knows: {', '.join(STYLES)}")
        if self.tempo not in TEMPOS:
            raise ValueError(f"unknown tempo band {self.tempo!r}; use one of: {', '.join(TEMPOS)}")
        if not 1 <= self.voices <= MAX_VOICES:
            raise ValueError(f"voices must be 1 to {MAX_VOICES}, not {self.voices}")
        if not 0 <= self.density <= len(DENSITY_EDGES):
            raise ValueError(f"density must be 0 to {len(DENSITY_EDGES)}, not {self.density}")
        return [BOS, STYLE0 + STYLES.index(self.style), KEY0 + (self.key_tonic % 12) * 2 + int(self.key_minor),
                meter_token(self.meter_ticks), TEMPO0 + TEMPOS.index(self.tempo), DENS0 + self.density,
                NV0 + self.voices - 1]


HEADER_LEN = 7


def parse_header(tokens: list[int]) -> Header:
    if len(tokens) < HEADER_LEN or tokens[0] != BOS:
        raise ValueError("a token sequence starts with BOS and six control tokens")
    k = tokens[2] - KEY0
    return Header(style=STYLES[tokens[1] - STYLE0], key_tonic=k // 2, key_minor=bool(k % 2),
                  meter_ticks=METERS[tokens[3] - METER0], tempo=TEMPOS[tokens[4] - TEMPO0],
                  density=tokens[5] - DENS0, voices=tokens[6] - NV0 + 1)


@dataclass(frozen=True)
class TNote:
    """A note on the tick grid: voice (0 = top), pitch, bar, position in the bar, duration in ticks."""
    voice: int
    pitch: int
    bar: int
    pos: int
    dur: int


@dataclass
class Piece:
    """Bars (their lengths in ticks) and notes on the grid: what tokens encode, exactly."""
    bar_ticks: list[int]
    notes: list[TNote] = field(default_factory=list)

    def sorted_notes(self) -> list[TNote]:
        return sorted(self.notes, key=lambda n: (n.bar, n.pos, n.voice, -n.pitch))

    def onsets_in_quarters(self) -> list[tuple[int, int, float, float]]:
        """(voice, pitch, start, duration) in quarter notes."""
        starts = [0]
        for b in self.bar_ticks:
            starts.append(starts[-1] + b)
        return [(n.voice, n.pitch, (starts[n.bar] + n.pos) / TICKS_PER_QUARTER, n.dur / TICKS_PER_QUARTER)
                for n in self.sorted_notes()]


def piece_from_work(work: dict) -> Piece:
    """A cached corpus work (see corpus.py) on the tick grid."""
    bars = work["bars"]
    starts = [round(b[0] * TICKS_PER_QUARTER) for b in bars]
    lengths = [min(METERS, key=lambda m: abs(m - b[1] * TICKS_PER_QUARTER)) for b in bars]
    seen = set()
    notes = []
    for v, part in enumerate(work["parts"]):
        voice = min(v, MAX_VOICES - 1)
        for pitch, start, dur in part["notes"]:
            t = round(start * TICKS_PER_QUARTER)
            b = max(0, bisect.bisect_right(starts, t) - 1)
            pos = min(t - starts[b], lengths[b] - 1)
            p = fold_pitch(int(pitch))
            key = (b, pos, voice, p)
            if key in seen:
                continue
            seen.add(key)
            notes.append(TNote(voice, p, b, pos, quantize_duration(dur * TICKS_PER_QUARTER)))
    return Piece(lengths, notes)


def header_for(work: dict, piece: Piece, bars: range | None = None) -> Header:
    from liveloom.music.analysis import estimate_key

    flat = [n for part in work["parts"] for n in part["notes"]]
    key = estimate_key(flat)
    bars = bars if bars is not None else range(len(piece.bar_ticks))
    voices = min(len(work["parts"]), MAX_VOICES)
    count = sum(1 for n in piece.notes if n.bar in bars)
    return Header(style=work["style"], key_tonic=key.tonic, key_minor=key.minor,
                  meter_ticks=piece.bar_ticks[bars.start] if len(bars) else 48, tempo=tempo_band(work.get("bpm")),
                  density=density_bin(count / max(1, len(bars)) / voices), voices=voices)


def encode_bars(piece: Piece, bars: range, with_voices: bool = True, voices: set[int] | None = None,
                first_meter: int | None = None) -> list[int]:
    """Body tokens for `bars`: each bar opens with BAR (and METER where its length differs from the
    previous bar's, or from `first_meter` for the first). `voices` keeps only those voices;
    with_voices=False drops V tokens (the melody-only conditioning layout)."""
    by_bar: dict[int, list[TNote]] = {}
    for n in piece.sorted_notes():
        if n.bar in bars and (voices is None or n.voice in voices):
            by_bar.setdefault(n.bar, []).append(n)
    out: list[int] = []
    prev_len = first_meter
    for b in bars:
        out.append(BAR)
        if prev_len is not None and piece.bar_ticks[b] != prev_len:
            out.append(meter_token(piece.bar_ticks[b]))
        prev_len = piece.bar_ticks[b]
        pos = voice = None
        for n in by_bar.get(b, []):
            if n.pos != pos:
                out.append(POS0 + n.pos)
                pos, voice = n.pos, None
            if with_voices and n.voice != voice:
                out.append(voice_token(n.voice))
                voice = n.voice
            out.append(P0 + n.pitch - PITCH_LO)
            out.append(D0 + DURATIONS.index(n.dur))
    return out


def encode(piece: Piece, header: Header, eos: bool = True) -> list[int]:
    return header.tokens() + encode_bars(piece, range(len(piece.bar_ticks)), first_meter=header.meter_ticks) + \
        ([EOS] if eos else [])


def decode_bars(tokens: list[int], meter_ticks: int, voice_default: int = 0) -> Piece:
    """Body tokens back to a Piece. Tokens that break the grammar (a pitch with no duration, a
    position past the bar) are skipped, never guessed."""
    bar_ticks: list[int] = []
    notes: list[TNote] = []
    cur_len = meter_ticks
    pos = None
    voice = voice_default
    pitch = None
    for t in tokens:
        if t == BAR:
            bar_ticks.append(cur_len)
            pos, voice, pitch = None, voice_default, None
        elif is_meter(t):
            cur_len = METERS[t - METER0]
            if bar_ticks:
                bar_ticks[-1] = cur_len
        elif is_pos(t):
            pos, voice, pitch = t - POS0, voice_default, None
        elif is_voice(t):
            voice, pitch = t - V0, None
        elif t == V_KIT:
            voice, pitch = KIT, None
        elif is_pitch(t):
            pitch = t - P0 + PITCH_LO
        elif is_dur(t):
            if bar_ticks and pos is not None and pitch is not None and pos < bar_ticks[-1]:
                notes.append(TNote(voice, pitch, len(bar_ticks) - 1, pos, DURATIONS[t - D0]))
            pitch = None
        elif t in (EOS, PAD):
            break
    return Piece(bar_ticks, notes)


def decode(tokens: list[int]) -> tuple[Header, Piece]:
    header = parse_header(tokens)
    return header, decode_bars(tokens[HEADER_LEN:], header.meter_ticks)


def describe(tokens: list[int]) -> str:
    return " ".join(VOCAB[t] for t in tokens)


def vocab_json() -> str:
    return json.dumps({"vocab": list(VOCAB), "ticks_per_quarter": TICKS_PER_QUARTER}, indent=0)
