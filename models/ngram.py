"""A smoothed n-gram baseline over the same tokens: interpolated absolute discounting (Ney's
D = n1 / (n1 + 2 n2) per order), backing off to an add-one unigram.

Counting is vectorised: a context of up to 7 tokens (9 bits each, the vocabulary has < 512 tokens)
packs into one int64, and counts live in sorted arrays looked up with searchsorted.
"""

from __future__ import annotations

import numpy as np

from . import tokenizer as T

BITS = 9
assert len(T.VOCAB) < (1 << BITS)


def _contexts(seqs: list[np.ndarray], order: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(context hash, token, position index into the concatenation) for every token with `order`-1
    tokens of context inside its sequence (shorter contexts at a sequence's start are padded with PAD)."""
    hashes, tokens = [], []
    k = order - 1
    for s in seqs:
        padded = np.concatenate([np.full(k, T.PAD, dtype=np.int64), s.astype(np.int64)])
        h = np.zeros(len(s), dtype=np.int64)
        for j in range(k):
            h = (h << BITS) | padded[j: j + len(s)]
        hashes.append(h)
        tokens.append(s.astype(np.int64))
    return np.concatenate(hashes), np.concatenate(tokens)


class NGram:
    def __init__(self, order: int):
        if not 1 <= order <= 7:
            raise ValueError("order must be 1 to 7")
        self.order = order
        self.tables: dict[int, tuple] = {}
        self.unigram: np.ndarray | None = None

    def fit(self, seqs: list[list[int]]) -> NGram:
        arrs = [np.asarray(s, dtype=np.int64) for s in seqs]
        tok = np.concatenate(arrs)
        counts = np.bincount(tok, minlength=len(T.VOCAB)).astype(np.float64) + 1.0
        self.unigram = counts / counts.sum()
        for n in range(2, self.order + 1):
            ctx, t = _contexts(arrs, n)
            pair = (ctx << BITS) | t
            pairs, pc = np.unique(pair, return_counts=True)
            ctxs, cc = np.unique(ctx, return_counts=True)
            # distinct followers per context
            pctx = pairs >> BITS
            _, followers = np.unique(pctx, return_counts=True)
            n1, n2 = int((pc == 1).sum()), int((pc == 2).sum())
            d = n1 / (n1 + 2 * n2) if n1 + n2 else 0.5
            self.tables[n] = (pairs, pc.astype(np.float64), ctxs, cc.astype(np.float64), followers.astype(np.float64), d)
        return self

    def _lookup(self, keys: np.ndarray, table: np.ndarray, values: np.ndarray) -> np.ndarray:
        i = np.searchsorted(table, keys)
        i = np.minimum(i, len(table) - 1)
        hit = table[i] == keys
        return np.where(hit, values[i], 0.0)

    def token_probs(self, seq: list[int]) -> np.ndarray:
        """P(token_i | preceding tokens) for every position of `seq`."""
        s = np.asarray(seq, dtype=np.int64)
        p = self.unigram[s]
        for n in range(2, self.order + 1):
            pairs, pc, ctxs, cc, followers, d = self.tables[n]
            ctx, t = _contexts([s], n)
            c_hw = self._lookup((ctx << BITS) | t, pairs, pc)
            c_h = self._lookup(ctx, ctxs, cc)
            f_h = self._lookup(ctx, ctxs, followers)
            seen = c_h > 0
            safe = np.where(seen, c_h, 1.0)
            p = np.where(seen, np.maximum(c_hw - d, 0) / safe + d * f_h / safe * p, p)
        return p

    def nll(self, seqs: list[list[int]], skip: int = T.HEADER_LEN) -> tuple[float, int]:
        """Total negative log-likelihood (nats) and token count, not scoring each sequence's first
        `skip` tokens (the given controls)."""
        total, count = 0.0, 0
        for s in seqs:
            p = self.token_probs(s)[skip:]
            total += float(-np.log(p).sum())
            count += len(p)
        return total, count
