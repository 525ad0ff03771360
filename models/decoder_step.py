"""The decoder's one-token step as TorchScript: the same arithmetic as `decoder.Sequence` runs for a prompt, for
the single token that is most of decoding, without Python between the ~120 small operations of a step.

Kept apart from decoder.py because TorchScript compiles this module's source and needs torch at import; only
`LeanDecoder` imports it, when a model is loaded. On 2 CPU cores a step of the 5.2M-parameter model went from
1.43 ms (the same code as Python) to 1.21 ms; what is left is mostly reading the weights (bench/model_speed.py).
"""

from __future__ import annotations

from typing import List

import torch


class OneTokenStep(torch.nn.Module):
    """`step(ids, keys, values, p)`: the logits after token `ids` (shape (1,)) at position `p`, its key and value
    written into the per-layer caches (keys (kv_heads, dim, positions), values (kv_heads, positions, dim))."""

    def __init__(self, embed, layers, head_t, cos, sin, eps_norm, heads: int, kv_heads: int, head_dim: int):
        super().__init__()
        self.embed = embed
        self.weights: List[torch.Tensor] = [w for layer in layers for w in layer]  # qkv, o, gate-up, down per layer
        self.layers_n = len(layers)
        self.head_t = head_t
        self.cos = cos
        self.sin = sin
        self.eps_norm = eps_norm
        self.heads = heads
        self.kv_heads = kv_heads
        self.head_dim = head_dim

    def unit(self, x: torch.Tensor) -> torch.Tensor:
        return x / torch.hypot(torch.linalg.vector_norm(x, dim=-1, keepdim=True), self.eps_norm)

    def forward(self, ids: torch.Tensor, keys: List[torch.Tensor], values: List[torch.Tensor],
                p: int) -> torch.Tensor:
        h_n, kv_n, d = self.heads, self.kv_heads, self.head_dim
        hk = (h_n + kv_n) * d
        cos, sin = self.cos[p], self.sin[p]
        x = self.embed.index_select(0, ids)
        for i in range(self.layers_n):
            wqkv, wo = self.weights[4 * i], self.weights[4 * i + 1]
            wgu, wdown = self.weights[4 * i + 2], self.weights[4 * i + 3]
            kc, vc = keys[i], values[i]
            qkv = (self.unit(x) @ wqkv)[0]
            qk = qkv[:hk].view(h_n + kv_n, d)
            qk = torch.addcmul(qk * cos, qk.roll(d // 2, -1), sin)
            kc.select(2, p).copy_(qk[h_n:])
            vc.select(1, p).copy_(qkv[hk:].view(kv_n, d))
            k, v = kc[:, :, :p + 1], vc[:, :p + 1]
            if kv_n != h_n:
                k = k.repeat_interleave(h_n // kv_n, dim=0)
                v = v.repeat_interleave(h_n // kv_n, dim=0)
            att = torch.bmm(torch.softmax(torch.bmm(qk[:h_n].unsqueeze(1), k), dim=-1), v)
            x = torch.addmm(x, att.view(1, h_n * d), wo)
            g, u = (self.unit(x) @ wgu).chunk(2, dim=-1)
            x = torch.addmm(x, torch.nn.functional.silu(g) * u, wdown)
        return self.unit(x)[0] @ self.head_t


def scripted(decoder) -> torch.jit.ScriptModule:
    """The step for a LeanDecoder's arranged weights (shared, not copied)."""
    return torch.jit.script(OneTokenStep(decoder.embed, decoder.layers, decoder.head_t, decoder.cos[:, 0],
                                         decoder.sin[:, 0], decoder.eps_norm, decoder.heads, decoder.kv_heads,
                                         decoder.head_dim))
