#!/usr/bin/python3
"""Writes the golden fixtures in tests/fixtures/ from PyTorch (run by hand, never in CI).

Needs Debian's python3-torch and python3-h5py (use /usr/bin/python3). Every fixture
holds, under xseq's own names (the PyTorch -> xseq mapping is below and in
docs/layers.md):
  inputs/<name>        the layer's inputs (lengths as floats)
  params/<xseq path>   the weights, copied into the xseq layer by the test
  outputs/<name>       the layer's outputs
  proj/<name>          a fixed random tensor per output; the loss is sum(output * proj)
  grads/inputs/<name>, grads/params/<xseq path>   d(loss)/d(input or weight)
The reference is computed in float64 and stored as float32, so the stored numbers
are the exact answer to float32 precision.

    /usr/bin/python3 scripts/make_golden.py [--out tests/fixtures]
"""
import argparse
import os

import h5py
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(20261124)
DT = torch.float64


def mha_params(prefix, mha, d):
    """torch packs q, k, v into in_proj_weight (3d, d); xseq keeps q, k, v, o."""
    w, b = mha.in_proj_weight, mha.in_proj_bias
    out = {}
    for i, name in enumerate("qkv"):
        rows = slice(i * d, (i + 1) * d)
        out[f"{prefix}{name}.weight"] = (w, rows)  # (leaf, rows of it): the gradient is taken on the leaf
        out[f"{prefix}{name}.bias"] = (b, rows)
    out[f"{prefix}o.weight"] = mha.out_proj.weight
    out[f"{prefix}o.bias"] = mha.out_proj.bias
    return out


def padding_mask(lengths, t):
    return torch.arange(t)[None, :] >= torch.tensor(lengths)[:, None]  # True = ignore


def causal(t):
    return torch.triu(torch.full((t, t), float("-inf"), dtype=DT), diagonal=1)


def write(path, kind, inputs, params, outputs):
    """inputs: name -> tensor (leaves requiring grad, except lengths); params: name ->
    leaf or (leaf, rows) for a slice of a packed torch parameter."""
    proj = {k: torch.randn_like(v) for k, v in outputs.items()}
    loss = sum((outputs[k] * proj[k]).sum() for k in outputs)
    params = {k: (v if isinstance(v, tuple) else (v, slice(None))) for k, v in params.items()}
    leaves = {("inputs/" + k): v for k, v in inputs.items() if v.requires_grad}
    unique = {id(v): v for v, _ in params.values()}
    grads = torch.autograd.grad(loss, list(leaves.values()) + list(unique.values()), allow_unused=True)
    by_id = dict(zip(unique.keys(), grads[len(leaves):]))
    grads = list(grads[:len(leaves)])
    for k, (v, rows) in params.items():
        leaves["params/" + k.replace(".", "/")] = v[rows]
        grads.append(None if by_id[id(v)] is None else by_id[id(v)][rows])
    params = {k: v[rows] for k, (v, rows) in params.items()}
    with h5py.File(path, "w") as f:
        f.attrs["kind"] = kind
        f.attrs["generator"] = f"scripts/make_golden.py, torch {torch.__version__}"
        for k, v in inputs.items():
            f[f"inputs/{k}"] = v.detach().float().numpy()
        for k, v in params.items():
            f[f"params/{k.replace('.', '/')}"] = v.detach().float().numpy()
        for k, v in outputs.items():
            f[f"outputs/{k}"] = v.detach().float().numpy()
            f[f"proj/{k}"] = proj[k].float().numpy()
        for (k, v), g in zip(leaves.items(), grads):
            f[f"grads/{k}"] = (torch.zeros_like(v) if g is None else g).detach().float().numpy()
    print("wrote", path)


def leaf(*shape):
    return torch.randn(*shape, dtype=DT, requires_grad=True)


def fixture_mha(out):
    d, h = 16, 4
    # cross-attention with key padding
    mha = nn.MultiheadAttention(d, h, batch_first=True, dtype=DT)
    q, k, v = leaf(3, 5, d), leaf(3, 6, d), leaf(3, 6, d)
    lengths = [6, 4, 2]
    o, w = mha(q, k, v, key_padding_mask=padding_mask(lengths, 6), need_weights=True)
    write(f"{out}/mha_padding.h5", "mha_padding",
          {"query": q, "key": k, "value": v, "lengths": torch.tensor(lengths, dtype=DT)},
          mha_params("", mha, d), {"output": o, "weights": w})
    # self-attention, causal + key padding
    mha = nn.MultiheadAttention(d, h, batch_first=True, dtype=DT)
    x = leaf(2, 5, d)
    lengths = [5, 3]
    o, w = mha(x, x, x, key_padding_mask=padding_mask(lengths, 5), attn_mask=causal(5), need_weights=True)
    write(f"{out}/mha_causal.h5", "mha_causal", {"x": x, "lengths": torch.tensor(lengths, dtype=DT)},
          mha_params("", mha, d), {"output": o, "weights": w})


def encoder_params(layer, d):
    p = mha_params("self_attn.", layer.self_attn, d)
    p.update({"ff.linear1.weight": layer.linear1.weight, "ff.linear1.bias": layer.linear1.bias,
              "ff.linear2.weight": layer.linear2.weight, "ff.linear2.bias": layer.linear2.bias,
              "norm1.weight": layer.norm1.weight, "norm1.bias": layer.norm1.bias,
              "norm2.weight": layer.norm2.weight, "norm2.bias": layer.norm2.bias})
    return p


def fixture_transformer(out):
    d, h, ff = 16, 4, 32
    for norm_first, act, tag in [(True, "relu", "prenorm"), (False, "gelu", "postnorm")]:
        enc = nn.TransformerEncoderLayer(d, h, ff, dropout=0.0, activation=act, batch_first=True,
                                         norm_first=norm_first, dtype=DT)
        x = leaf(3, 6, d)
        lengths = [6, 4, 1]
        y = enc(x, src_key_padding_mask=padding_mask(lengths, 6))
        write(f"{out}/encoder_{tag}.h5", f"encoder_{tag}", {"x": x, "lengths": torch.tensor(lengths, dtype=DT)},
              encoder_params(enc, d), {"output": y})

        dec = nn.TransformerDecoderLayer(d, h, ff, dropout=0.0, activation=act, batch_first=True,
                                         norm_first=norm_first, dtype=DT)
        x, mem = leaf(3, 5, d), leaf(3, 6, d)
        y = dec(x, mem, tgt_mask=causal(5), memory_key_padding_mask=padding_mask(lengths, 6))
        p = encoder_params(dec, d)
        p.update(mha_params("cross_attn.", dec.multihead_attn, d))
        p.update({"norm3.weight": dec.norm3.weight, "norm3.bias": dec.norm3.bias})
        write(f"{out}/decoder_{tag}.h5", f"decoder_{tag}",
              {"x": x, "memory": mem, "memory_lengths": torch.tensor(lengths, dtype=DT)}, p, {"output": y})


def fixture_recurrent(out):
    """torch: weight_ih_l{l}[_reverse] -> xseq: layers.{l}.{forward|backward}.weight_ih (same gate order)."""
    for cls, tag in [(nn.GRU, "gru"), (nn.LSTM, "lstm")]:
        rnn = cls(5, 6, num_layers=2, bidirectional=True, batch_first=True, dtype=DT)
        x = leaf(3, 4, 5)
        lengths = [4, 2, 1]
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        y, state = rnn(packed)
        y, _ = nn.utils.rnn.pad_packed_sequence(y, batch_first=True, total_length=4)
        outputs = {"output": y}
        if tag == "gru":
            outputs["h_n"] = state
        else:
            outputs["h_n"], outputs["c_n"] = state
        params = {}
        for name, value in rnn.named_parameters():
            kind, _, rest = name.rpartition("_l")  # weight_ih_l1_reverse -> weight_ih, 1_reverse
            layer, _, rev = rest.partition("_")
            params[f"layers.{layer}.{'backward' if rev else 'forward'}.{kind}"] = value
        write(f"{out}/{tag}.h5", tag, {"x": x, "lengths": torch.tensor(lengths, dtype=DT)}, params, outputs)


def fixture_layernorm_and_loss(out):
    ln = nn.LayerNorm(7, dtype=DT)
    with torch.no_grad():
        ln.weight.copy_(torch.randn(7, dtype=DT))
        ln.bias.copy_(torch.randn(7, dtype=DT))
    x = leaf(4, 3, 7)
    write(f"{out}/layernorm.h5", "layernorm", {"x": x}, {"weight": ln.weight, "bias": ln.bias}, {"output": ln(x)})

    logits = leaf(3, 5, 11)
    targets = torch.randint(1, 11, (3, 5))
    targets[0, 3:] = 0  # the padding id, ignored
    targets[2, 1:] = 0
    loss = F.cross_entropy(logits.reshape(-1, 11), targets.reshape(-1), ignore_index=0, label_smoothing=0.1)
    write(f"{out}/cross_entropy.h5", "cross_entropy",
          {"logits": logits, "targets": targets.to(DT)}, {}, {"loss": loss.reshape(1)})


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--out", default=os.path.join(here, "..", "tests", "fixtures"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    fixture_mha(args.out)
    fixture_transformer(args.out)
    fixture_recurrent(args.out)
    fixture_layernorm_and_loss(args.out)


if __name__ == "__main__":
    main()
