#!/usr/bin/python3
"""Summarises the JSON lines of bench/vs_pytorch.sh: medians per (framework, model,
mode, threads), a markdown table, each side's fraction of the sgemm ceiling, and the
RATIO lines.

    /usr/bin/python3 bench/summarize_vs_pytorch.py build/vs_pytorch.jsonl
"""
import collections
import json
import statistics
import sys


def main(path):
    rows = [json.loads(line) for line in open(path) if line.strip()]
    ceiling = {r["threads"]: r["sgemm_gflop_per_s"] for r in rows if r["framework"] == "sgemm"}
    runs = collections.defaultdict(list)
    gflops_per_step = {}
    for r in rows:
        if r["framework"] == "sgemm":
            continue
        runs[(r["name"], r["mode"], r["threads"], r["framework"])].append(r)
        if r["framework"] == "xseq":
            gflops_per_step[(r["name"], r["mode"])] = r["gflops_per_step"]

    def median(name, mode, threads, framework, field):
        values = [r[field] for r in runs.get((name, mode, threads, framework), [])]
        return statistics.median(values) if values else None

    order = ["transformer-small", "transformer-tiny", "gru-attn"]  # the order; other names last
    def sort_key(name):  # <model>[@<length>[v<vocab>]]: the model order, then length, then vocabulary
        model, _, shape = name.partition("@")
        length, _, vocab = shape.partition("v")
        return (order.index(model) if model in order else len(order), model, int(length or 0), int(vocab or 0))

    names = sorted({k[0] for k in runs}, key=sort_key)
    threads_list = sorted({k[2] for k in runs})
    print()
    print("| model | mode | threads | runs | xseq ms/step | PyTorch ms/step | xseq tok/s | PyTorch tok/s | "
          "speed-up | xseq GFLOP/s | xseq % of sgemm | PyTorch % of sgemm | xseq tensor peak MB | "
          "xseq peak RSS MB | PyTorch peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name in names:
        for mode in ("train", "decode"):
            for t in threads_list:
                xs = median(name, mode, t, "xseq", "ms_per_step")
                pt = median(name, mode, t, "pytorch", "ms_per_step")
                if xs is None or pt is None:
                    continue
                field = "gen_tokens_per_s" if mode == "decode" else "tgt_tokens_per_s"
                x_tok, p_tok = median(name, mode, t, "xseq", field), median(name, mode, t, "pytorch", field)
                frac_x = frac_p = rate = "-"
                if mode == "train":
                    rate = f"{gflops_per_step[(name, mode)] / (xs / 1000):.1f}"
                if mode == "train" and t in ceiling:
                    gf = gflops_per_step[(name, mode)]
                    frac_x = f"{100 * gf / (xs / 1000) / ceiling[t]:.0f}%"
                    frac_p = f"{100 * gf / (pt / 1000) / ceiling[t]:.0f}%"
                n = len(runs[(name, mode, t, "xseq")])
                print(f"| {name} | {mode} | {t} | {n} | {xs:.1f} | {pt:.1f} | {x_tok:.0f} | {p_tok:.0f} | "
                      f"{x_tok / p_tok:.2f}x | {rate} | {frac_x} | {frac_p} | "
                      f"{median(name, mode, t, 'xseq', 'tensor_peak_mb'):.1f} | "
                      f"{median(name, mode, t, 'xseq', 'peak_rss_mb'):.0f} | {median(name, mode, t, 'pytorch', 'peak_rss_mb'):.0f} |")
    print()
    for t in sorted(ceiling):
        print(f"sgemm ceiling at {t} thread(s): {ceiling[t]:.1f} GFLOP/s (best of 2048x256x256, 2048x1024x256, 2048x256x1024)")
    if 1 in threads_list and 2 in threads_list:
        for name in names:
            for fw in ("xseq", "pytorch"):
                one, two = median(name, "train", 1, fw, "ms_per_step"), median(name, "train", 2, fw, "ms_per_step")
                if one and two:
                    print(f"SCALING {name} {fw} 2 threads vs 1: {one / two:.2f}x")
    print()
    for name in names:
        for t in threads_list:
            def ratio(mode, field):
                x, p = median(name, mode, t, "xseq", field), median(name, mode, t, "pytorch", field)
                return f"{x / p:.2f}" if x is not None and p is not None else "n/a"
            print(f"RATIO {name} threads={t} train={ratio('train', 'tgt_tokens_per_s')} "
                  f"decode={ratio('decode', 'gen_tokens_per_s')} rss={ratio('train', 'peak_rss_mb')}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
