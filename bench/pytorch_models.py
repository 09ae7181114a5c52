#!/usr/bin/python3
"""PyTorch versions of the three speed-benchmark models (configs/bench/*.toml).

Idiomatic eager PyTorch, nothing deliberately slow: nn.Transformer, nn.GRU with Luong
dot attention, Adam, cross-entropy, gradient clipping, torch.set_num_threads(T).
The shapes, the optimizer and the step are those of `xseq bench` so that the two
JSON lines can be compared field by field:

    /usr/bin/python3 bench/pytorch_models.py transformer-small --threads 2 --steps 10
    /usr/bin/python3 bench/pytorch_models.py transformer-small --decode

Prints one JSON object: ms_per_step, tgt_tokens_per_s, peak_rss_mb (and, with
--decode, gen_tokens_per_s). Used by bench/vs_pytorch.sh; comparison only, never a
runtime dependency of xseq.
"""
import argparse
import json
import math
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

PAD, BOS, EOS = 0, 2, 3  # xseq's fixed special ids (datasets/vocab.hpp); ids 4.. are tokens

# Same shapes as configs/bench/*.toml.
MODELS = {
    "transformer-small": dict(kind="transformer", d_model=256, heads=4, ff=1024, layers=3, vocab=64, batch=64, length=32),
    "transformer-tiny": dict(kind="transformer", d_model=128, heads=4, ff=512, layers=2, vocab=64, batch=64, length=24),
    "gru-attn": dict(kind="gru", embed=128, hidden=256, vocab=64, batch=64, length=32),
}


def sinusoidal(length, dim):
    position = torch.arange(length, dtype=torch.float32).unsqueeze(1)
    rate = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(length, dim)
    table[:, 0::2] = torch.sin(position * rate)
    table[:, 1::2] = torch.cos(position * rate)
    return table


class TransformerModel(nn.Module):
    """Pre-norm nn.Transformer with scaled embeddings, sinusoidal positions and the
    output projection tied to the target embedding: xseq's defaults."""

    def __init__(self, vocab, d_model, heads, ff, layers, dropout=0.1, max_len=1024):
        super().__init__()
        self.d_model = d_model
        self.src_embed = nn.Embedding(vocab, d_model, padding_idx=PAD)
        self.tgt_embed = nn.Embedding(vocab, d_model, padding_idx=PAD)
        self.register_buffer("positions", sinusoidal(max_len, d_model))
        self.dropout = nn.Dropout(dropout)
        self.transformer = nn.Transformer(d_model, heads, layers, layers, ff, dropout,
                                          batch_first=True, norm_first=True)
        self.out = nn.Linear(d_model, vocab, bias=False)
        self.out.weight = self.tgt_embed.weight

    def embed(self, table, ids):
        return self.dropout(table(ids) * math.sqrt(self.d_model) + self.positions[: ids.size(1)])

    def encode(self, src):
        return self.transformer.encoder(self.embed(self.src_embed, src), src_key_padding_mask=src.eq(PAD))

    def decode(self, memory, src, tgt_in):
        causal = self.transformer.generate_square_subsequent_mask(tgt_in.size(1))
        h = self.transformer.decoder(self.embed(self.tgt_embed, tgt_in), memory, tgt_mask=causal,
                                     tgt_key_padding_mask=tgt_in.eq(PAD), memory_key_padding_mask=src.eq(PAD))
        return self.out(h)

    def forward(self, src, tgt_in):
        return self.decode(self.encode(src), src, tgt_in)

    @torch.no_grad()
    def greedy(self, src, steps):
        """The usual nn.Transformer greedy loop: encode once, re-run the decoder on
        the whole prefix at every step (nn.Transformer has no key/value cache)."""
        memory = self.encode(src)
        ys = torch.full((src.size(0), 1), BOS, dtype=torch.long)
        done = torch.zeros(src.size(0), dtype=torch.bool)
        for _ in range(steps):
            next_token = self.decode(memory, src, ys)[:, -1].argmax(-1)
            next_token = next_token.masked_fill(done, PAD)
            ys = torch.cat([ys, next_token.unsqueeze(1)], dim=1)
            done |= next_token.eq(EOS)
            if done.all():
                break
        return ys[:, 1:], done


class GRUAttentionModel(nn.Module):
    """GRU encoder and decoder (one layer each), the decoder started from a tanh
    bridge of the encoder's final state and run over the whole target with nn.GRU
    (teacher forcing, no input feeding), then Luong dot attention for all steps at
    once and the combine layer tanh(W [context; h]) before the output projection."""

    def __init__(self, vocab, embed, hidden, dropout=0.1):
        super().__init__()
        self.src_embed = nn.Embedding(vocab, embed, padding_idx=PAD)
        self.tgt_embed = nn.Embedding(vocab, embed, padding_idx=PAD)
        self.encoder = nn.GRU(embed, hidden, batch_first=True)
        self.bridge = nn.Linear(hidden, hidden)
        self.decoder = nn.GRU(embed, hidden, batch_first=True)
        self.combine = nn.Linear(2 * hidden, hidden, bias=False)
        self.out = nn.Linear(hidden, vocab)
        self.dropout = nn.Dropout(dropout)

    def forward(self, src, tgt_in):
        enc, last = self.encoder(self.dropout(self.src_embed(src)))
        dec, _ = self.decoder(self.dropout(self.tgt_embed(tgt_in)), torch.tanh(self.bridge(last)))
        scores = torch.bmm(dec, enc.transpose(1, 2)).masked_fill(src.eq(PAD).unsqueeze(1), float("-inf"))
        context = torch.bmm(torch.softmax(scores, dim=-1), enc)
        combined = torch.tanh(self.combine(torch.cat([context, dec], dim=-1)))
        return self.out(self.dropout(combined))


def random_ids(batch, length, vocab, generator):
    return torch.randint(4, vocab, (batch, length), generator=generator)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", choices=sorted(MODELS))
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--decode", action="store_true", help="greedy decoding instead of training")
    parser.add_argument("--length", type=int, default=0, help="source and target length (0 = the model's)")
    parser.add_argument("--tokens", type=int, default=0, help="target tokens per batch: batch = tokens / length")
    parser.add_argument("--vocab", type=int, default=0, help="vocabulary size (0 = the model's)")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    generator = torch.Generator().manual_seed(1)
    shape = MODELS[args.model]
    B, L, V = shape["batch"], shape["length"], shape["vocab"]
    L = args.length or L
    V = args.vocab or V
    B = max(1, args.tokens // L) if args.tokens else B
    if shape["kind"] == "transformer":
        model = TransformerModel(V, shape["d_model"], shape["heads"], shape["ff"], shape["layers"], max_len=max(1024, L))
    else:
        model = GRUAttentionModel(V, shape["embed"], shape["hidden"])

    seconds, generated = 0.0, 0
    if args.decode:
        if shape["kind"] != "transformer":
            raise SystemExit("--decode: only the transformer models are benchmarked for decoding")
        model.eval()
        for k in range(args.warmup + args.steps):
            src = random_ids(B, L, V, generator)
            start = time.perf_counter()
            ys, done = model.greedy(src, L)
            if k < args.warmup:
                continue
            seconds += time.perf_counter() - start
            generated += int(ys.ne(PAD).sum())
    else:
        model.train()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.98), eps=1e-9)
        for k in range(args.warmup + args.steps):
            src = random_ids(B, L, V, generator)
            tgt = random_ids(B, L, V, generator)
            tgt_in = torch.cat([torch.full((B, 1), BOS, dtype=torch.long), tgt[:, :-1]], dim=1)
            start = time.perf_counter()
            logits = model(src, tgt_in)
            loss = F.cross_entropy(logits.reshape(-1, V), tgt.reshape(-1), ignore_index=PAD)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            if k >= args.warmup:
                seconds += time.perf_counter() - start

    ms = 1000.0 * seconds / args.steps
    result = {
        "model": args.model, "framework": "pytorch", "torch": torch.__version__,
        "mode": "decode" if args.decode else "train", "threads": torch.get_num_threads(),
        "batch": B, "length": L, "ms_per_step": round(ms, 3),
        "tgt_tokens_per_s": round(B * L / (ms / 1000.0), 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
    }
    if args.decode:
        result["gen_tokens_per_s"] = round(generated / seconds, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
