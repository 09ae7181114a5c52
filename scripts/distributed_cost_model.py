#!/usr/bin/env python3
"""Predicted step time and scaling efficiency of data-parallel xseq training on
N machines (docs/distributed.md). Prints markdown tables.

Inputs (edit them, or pass --measured-ms / --gflops):
  * compute time of one step on one machine: measured `xseq bench` ms_per_step of
    configs/bench/transformer-small.toml at 2 threads (README.md, "Against PyTorch"),
    434.0 ms for 69.7 GFLOP = 161 GFLOP/s; the d512 6+6 model's step is its analytic
    FLOP count (cli/bench_command.cpp + train/bench.cpp's formula) at that rate;
  * gradient bytes: 4 x the parameter count (formula below, checked against the count
    `xseq train` prints);
  * ring allreduce: 2(N-1)/N x bytes / bandwidth + 2(N-1) x buckets x latency.
"""
import argparse

BUCKET_BYTES = 4 << 20  # DataParallel's bucket (train/distributed_training.cpp)


def transformer_params(d, ff, enc, dec, v_src, v_tgt, tied=True):
    attn = 4 * (d * d + d)
    ffn = d * ff + ff + ff * d + d
    enc_layer = attn + ffn + 2 * 2 * d
    dec_layer = 2 * attn + ffn + 3 * 2 * d
    out = 0 if tied else d * v_tgt + v_tgt
    return enc * enc_layer + dec * dec_layer + 2 * 2 * d + (v_src + v_tgt) * d + out


def transformer_step_flops(d, ff, enc, dec, v, b, s, t):
    e = 4 * 2 * b * s * d * d + 2 * 2 * b * s * s * d + 2 * 2 * b * s * d * ff
    dl = (4 * 2 * b * t * d * d + 2 * 2 * b * t * t * d + 2 * 2 * b * t * d * d + 2 * 2 * b * s * d * d
          + 2 * 2 * b * t * s * d + 2 * 2 * b * t * d * ff)
    return 3 * (enc * e + dec * dl + 2 * b * t * d * v)


def allreduce_s(n, grad_bytes, gbit, latency_s, efficiency):
    if n == 1:
        return 0.0
    buckets = -(-grad_bytes // BUCKET_BYTES)
    bandwidth = gbit * 1e9 / 8 * efficiency
    return 2 * (n - 1) / n * grad_bytes / bandwidth + 2 * (n - 1) * buckets * latency_s


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--measured-ms", type=float, default=434.0, help="transformer-small ms/step on one machine")
    p.add_argument("--measured-gflop", type=float, default=69.7, help="transformer-small GFLOP per step")
    p.add_argument("--latency-us", type=float, default=30.0, help="per message and ring step (TCP)")
    p.add_argument("--efficiency", type=float, default=0.9, help="share of the line rate TCP achieves")
    a = p.parse_args()
    rate = a.measured_gflop * 1e9 / (a.measured_ms / 1e3)  # FLOP/s of one machine
    models = {
        "transformer-small (d256, 3+3, V=64)": (transformer_params(256, 1024, 3, 3, 64, 64), a.measured_ms / 1e3),
        "d512 6+6 (ff 2048, V=32000 per side)": (
            transformer_params(512, 2048, 6, 6, 32000, 32000),
            transformer_step_flops(512, 2048, 6, 6, 32000, 64, 32, 32) / rate),
    }
    for name, (params, compute_s) in models.items():
        grad = 4 * params
        print(f"\n**{name}**: {params:,} parameters, {grad / 1e6:.1f} MB of gradients, "
              f"{-(-grad // BUCKET_BYTES)} buckets; compute {compute_s * 1e3:.0f} ms per step of 64 x 32 tokens\n")
        print("| machines | 10G allreduce ms | 10G step ms | 10G efficiency | 10G overlapped | "
              "25G allreduce ms | 25G step ms | 25G efficiency | 25G overlapped |")
        print("|---|---|---|---|---|---|---|---|---|")
        for n in (1, 2, 4, 8, 16, 32, 64):
            cells = []
            for gbit in (10, 25):
                ar = allreduce_s(n, grad, gbit, a.latency_us * 1e-6, a.efficiency)
                plain = compute_s + ar
                # Buckets reduced while backward (2/3 of the step's FLOPs) still runs; the
                # last bucket's sum always waits for the end of backward.
                last = allreduce_s(n, min(grad, BUCKET_BYTES), gbit, a.latency_us * 1e-6, a.efficiency)
                overlapped = compute_s + max(ar - 2 / 3 * compute_s, last)
                cells += [f"{ar * 1e3:.0f}", f"{plain * 1e3:.0f}", f"{compute_s / plain:.0%}",
                          f"{compute_s / overlapped:.0%}"]
            print(f"| {n} | " + " | ".join(cells) + " |")

if __name__ == "__main__":
    main()
