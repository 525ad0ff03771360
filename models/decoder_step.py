"""The decoder's steps as TorchScript: the Llama arithmetic on `decoder.LeanDecoder`'s arranged weights, for one
token (most of decoding) and for several (a prompt), without Python between the ~170 small operations of a step.

Kept apart from decoder.py because TorchScript compiles this module's source and needs torch at import; only
`LeanDecoder` imports it, when a model is loaded. On 2 CPU cores a step of the 5.2M-parameter model went from
1.43 ms (the same code as Python) to 1.21 ms, and on another machine from 1.40 to 1.27 ms with rotary positions
as one matrix and narrow() for slices; what is left is mostly reading the weights (bench/model_speed.py).
"""

from __future__ import annotations

from typing import List

import torch


class Steps(torch.nn.Module):
    """`forward(token, keys, values, p)`: the logits after `token` at position `p`, its key and value written into
    the per-layer caches (keys (kv_heads, dim, positions), values (kv_heads, positions, dim)); `many(x, keys,
    values, p)`: the same for several tokens' embeddings at once."""

    def __init__(self, embed, layers, head_t, rot, eps_norm, heads: int, kv_heads: int, head_dim: int):
        super().__init__()
        self.embed = embed
        self.weights: List[torch.Tensor] = [w for layer in layers for w in layer]  # qkv, o, gate-up, down per layer
        self.layers_n = len(layers)
        self.head_t = head_t
        self.rot = rot
        self.eps_norm = eps_norm
        self.heads = heads
        self.kv_heads = kv_heads
        self.head_dim = head_dim

    def unit(self, x: torch.Tensor) -> torch.Tensor:
        """RMSNorm without its weight and without the factor sqrt(hidden) (both folded into the next projection):
        x / sqrt(|x|^2 + hidden * eps), which is rms_norm(x) / sqrt(hidden) exactly, in three cheap operations."""
        return x / torch.hypot(torch.linalg.vector_norm(x, dim=-1, keepdim=True), self.eps_norm)

    def forward(self, token: int, keys: List[torch.Tensor], values: List[torch.Tensor], p: int) -> torch.Tensor:
        h_n, kv_n, d = self.heads, self.kv_heads, self.head_dim
        hk = (h_n + kv_n) * d
        rot = self.rot[p]
        x = self.embed.narrow(0, token, 1)
        for i in range(self.layers_n):
            wqkv, wo = self.weights[4 * i], self.weights[4 * i + 1]
            wgu, wdown = self.weights[4 * i + 2], self.weights[4 * i + 3]
            kc, vc = keys[i], values[i]
            qkv = self.unit(x) @ wqkv  # (1, (heads + 2 kv_heads) * dim); narrow() is one operation, a[:, :n] two
            qk = torch.mm(qkv.narrow(1, 0, hk).view(h_n + kv_n, d), rot)
            kc.select(2, p).copy_(qk.narrow(0, h_n, kv_n))
            vc.select(1, p).copy_(qkv.narrow(1, hk, kv_n * d).view(kv_n, d))
            k, v = kc.narrow(2, 0, p + 1), vc.narrow(1, 0, p + 1)
            if kv_n != h_n:
                k = k.repeat_interleave(h_n // kv_n, dim=0)
                v = v.repeat_interleave(h_n // kv_n, dim=0)
            att = torch.bmm(torch.softmax(torch.bmm(qk.narrow(0, 0, h_n).unsqueeze(1), k), dim=-1), v)
            x = torch.addmm(x, att.view(1, h_n * d), wo)
            g, u = (self.unit(x) @ wgu).chunk(2, dim=-1)
            x = torch.addmm(x, torch.nn.functional.silu(g) * u, wdown)
        return self.unit(x)[0] @ self.head_t

    @torch.jit.export
    def many(self, x: torch.Tensor, keys: List[torch.Tensor], values: List[torch.Tensor], p: int) -> torch.Tensor:
        """The logits after the last of `x` (n input embeddings, (n, hidden)) at positions p..p+n-1, their keys and
        values written into the caches: a prompt, or a forced token with the next one."""
        h_n, kv_n, d = self.heads, self.kv_heads, self.head_dim
        hk = (h_n + kv_n) * d
        n = x.size(0)
        end = p + n
        rot = self.rot.narrow(0, p, n)
        hidden = torch.ones(n, end, dtype=torch.bool, device=x.device).tril(p).logical_not()  # later tokens
        for i in range(self.layers_n):
            wqkv, wo = self.weights[4 * i], self.weights[4 * i + 1]
            wgu, wdown = self.weights[4 * i + 2], self.weights[4 * i + 3]
            kc, vc = keys[i], values[i]
            qkv = self.unit(x) @ wqkv
            qk = torch.bmm(qkv.narrow(1, 0, hk).view(n, h_n + kv_n, d), rot)
            kc.narrow(2, p, n).copy_(qk.narrow(1, h_n, kv_n).permute(1, 2, 0))
            vc.narrow(1, p, n).copy_(qkv.narrow(1, hk, kv_n * d).view(n, kv_n, d).transpose(0, 1))
            k, v = kc.narrow(2, 0, end), vc.narrow(1, 0, end)
            if kv_n != h_n:
                k = k.repeat_interleave(h_n // kv_n, dim=0)
                v = v.repeat_interleave(h_n // kv_n, dim=0)
            scores = torch.bmm(qk.narrow(1, 0, h_n).transpose(0, 1), k).masked_fill(hidden, float("-inf"))
            att = torch.bmm(torch.softmax(scores, dim=-1), v)
            x = torch.addmm(x, att.transpose(0, 1).reshape(n, h_n * d), wo)
            g, u = (self.unit(x) @ wgu).chunk(2, dim=-1)
            x = torch.addmm(x, torch.nn.functional.silu(g) * u, wdown)
        return self.unit(x.narrow(0, n - 1, 1))[0] @ self.head_t


def scripted(decoder) -> torch.jit.ScriptModule:
    """The step for a LeanDecoder's arranged weights (shared, not copied)."""
    import warnings

    with warnings.catch_warnings():  # torch 2.10+ calls torch.jit deprecated; torch.compile needs a C++ compiler here
        warnings.simplefilter("ignore", DeprecationWarning)
        return torch.jit.script(Steps(decoder.embed, decoder.layers, decoder.head_t, decoder.rot, decoder.eps_norm,
                                             decoder.heads, decoder.kv_heads, decoder.head_dim))
