"""A lean decoding step for the symbolic model: the Llama network's arithmetic on its own weights, with a
key/value cache allocated once.

transformers' forward() is general — cache objects, masks built per call, hooks, output classes — and for a
5M-parameter model that bookkeeping is most of a step's time (about 7 ms of a 7 ms step on 2 CPU cores). This
module does only the arithmetic: one fused q/k/v and one fused gate/up projection per layer, rotary positions
from a table made once, attention over a preallocated cache, no mask for the one-token steps that are most of
decoding. The logits match transformers' forward() to float rounding (tests/test_models.py checks it).

    decoder = LeanDecoder(config, state, 1024)      # config.json and the tensors, arranged once
    seq = decoder.sequence()                        # a cache of its own: one per concurrent call
    logits = seq(torch.tensor([1, 5, 9]))           # a prompt: logits after its last token
    logits = seq.step(42)                           # one more token, at the next position (compiled)
    seq.reset()                                     # forget the cache (a new sequence)
"""

from __future__ import annotations

import math


class LeanDecoder:
    """A Llama model's weights arranged for decoding one sequence at a time (no grad, no padding)."""

    def __init__(self, config: dict, state: dict, max_len: int):
        """`config`: the checkpoint's config.json as a dict (or transformers' `config.to_dict()`); `state`: its
        tensors by transformers' names (model.safetensors, or `model.state_dict()`), all on one device."""
        import torch

        cfg = _Config(config)
        rope = (cfg.rope_parameters or {}).get("rope_type", "default")
        if cfg.model_type != "llama" or rope != "default" or cfg.attention_bias or cfg.mlp_bias \
                or cfg.hidden_act != "silu":
            raise ValueError("the lean decoder runs Llama networks with default rotary positions, SiLU and no biases "
                             f"(this one: {cfg.model_type}, rope {rope}, act {cfg.hidden_act})")
        self.torch = torch
        self.layers_n = cfg.num_hidden_layers
        self.heads = cfg.num_attention_heads
        self.kv_heads = cfg.num_key_value_heads or cfg.num_attention_heads
        self.head_dim = cfg.head_dim or cfg.hidden_size // cfg.num_attention_heads
        self.max_len = max_len
        w = lambda name: state[name].detach()  # noqa: E731
        embed = w("model.embed_tokens.weight")
        dev, dtype = embed.device, embed.dtype
        h_n, kv_n, d = self.heads, self.kv_heads, self.head_dim
        # Folded once: each RMSNorm's weight (and the norm's sqrt(hidden), see decoder_step.unit) into the projection
        # after it, and attention's 1/sqrt(d) into the query projection (rotary positions are linear: the scale passes).
        q_scale = torch.ones(h_n * d + 2 * kv_n * d, dtype=dtype, device=dev)
        q_scale[:h_n * d] = 1.0 / math.sqrt(d)
        self.embed = embed
        root = math.sqrt(cfg.hidden_size)
        self.eps_norm = torch.tensor(math.sqrt(cfg.hidden_size * cfg.rms_norm_eps), dtype=dtype, device=dev)
        self.layers = []
        with torch.no_grad():
            for i in range(self.layers_n):
                at, mlp = f"model.layers.{i}.self_attn.", f"model.layers.{i}.mlp."
                n1 = w(f"model.layers.{i}.input_layernorm.weight") * root
                n2 = w(f"model.layers.{i}.post_attention_layernorm.weight") * root
                wqkv = torch.cat([w(at + "q_proj.weight"), w(at + "k_proj.weight"), w(at + "v_proj.weight")])
                self.layers.append((
                    (wqkv * q_scale[:, None] * n1[None, :]).t().contiguous(),
                    w(at + "o_proj.weight").t().contiguous(),
                    (torch.cat([w(mlp + "gate_proj.weight"), w(mlp + "up_proj.weight")]) * n2[None, :]).t().contiguous(),
                    w(mlp + "down_proj.weight").t().contiguous(),
                ))
            head = state["lm_head.weight"].detach() if "lm_head.weight" in state else embed  # tied by default
            self.head_t = (head * (w("model.norm.weight") * root)[None, :]).t().contiguous()
        theta = _rope_theta(config)
        inv = 1.0 / (theta ** (torch.arange(0, d, 2, dtype=torch.float32, device=dev) / d))
        freqs = torch.outer(torch.arange(max_len, dtype=torch.float32, device=dev), inv)
        # rotary positions as one (d, d) matrix per position: q @ rot[p] == q * cos + rotate_half(q) * sin, a single
        # small product where the elementwise form is three operations and a roll (measured 3 % of a step)
        cos, sin = freqs.cos(), freqs.sin()
        half = d // 2
        rot = torch.zeros(max_len, d, d, dtype=torch.float32, device=dev)
        i = torch.arange(half, device=dev)
        rot[:, i, i] = cos
        rot[:, i + half, i + half] = cos
        rot[:, i + half, i] = -sin
        rot[:, i, i + half] = sin
        self.rot = rot.to(dtype)
        # keys stored transposed (head, dim, position) and values as (head, position, dim): both are then plain
        # batched matrix products for one query, with no copy of the cache
        self.keys_shape = (self.layers_n, kv_n, d, max_len)
        self.values_shape = (self.layers_n, kv_n, max_len, d)
        from .decoder_step import scripted

        self.steps = scripted(self)  # compiled once per model; called through its methods, without module hooks
        self.one_token = self.steps.forward
        self.many_tokens = self.steps.many

    def sequence(self) -> Sequence:
        return Sequence(self)


class Sequence:
    """One sequence being decoded: its key/value cache (allocated once) and how much of it is filled."""

    def __init__(self, decoder: LeanDecoder):
        torch = decoder.torch
        self.d = decoder
        like = {"dtype": decoder.embed.dtype, "device": decoder.embed.device}
        self.keys = list(torch.zeros(decoder.keys_shape, **like))  # per layer
        self.values = list(torch.zeros(decoder.values_shape, **like))
        self.length = 0

    def reset(self) -> None:
        self.length = 0

    def step(self, token: int):
        """The logits after one more token: the compiled step (decoder_step.py), called without the module-call
        machinery around it (most of decoding is this call)."""
        p = self.length
        if p >= self.d.max_len:
            raise ValueError(f"the sequence would pass the decoder's {self.d.max_len} positions")
        logits = self.d.one_token(token, self.keys, self.values, p)
        self.length = p + 1
        return logits

    def __call__(self, ids=None, embeds=None):
        """The logits after the last of `ids` (or of the input embeddings `embeds`, shape (n, hidden)), appended
        to what the cache holds."""
        dec = self.d
        p = self.length
        if embeds is None and ids.shape[0] == 1:
            return self.step(int(ids[0]))
        x = dec.embed[ids] if embeds is None else embeds
        n = x.shape[0]
        if p + n > dec.max_len:
            raise ValueError(f"the sequence would pass the decoder's {dec.max_len} positions")
        logits = dec.many_tokens(x, self.keys, self.values, p)
        self.length = p + n
        return logits


def _rope_theta(config: dict) -> float:
    params = config.get("rope_parameters") or {}
    if isinstance(params, dict) and "rope_theta" in params:
        return float(params["rope_theta"])
    return float(config.get("rope_theta", 10000.0))


class _Config:
    """A config dict's fields as attributes, None where absent."""

    def __init__(self, config: dict):
        self._c = config

    def __getattr__(self, name):
        return self._c.get(name)
