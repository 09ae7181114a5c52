#!/usr/bin/python3
"""Summarises bench/precision.sh: medians per (model, variant), a markdown table
with tokens/s, the ratio to fp32 (OpenBLAS) and to PyTorch, and the share of
the measured peak of the run's precision.

    /usr/bin/python3 bench/summarize_precision.py build/precision.jsonl build/precision_backends.md
"""
import collections
import json
import statistics
import sys


def peaks(backends_md):
    """The best GFLOP/s per precision in bench_matmul --backends' table."""
    best = {"fp32": 0.0, "bf16": 0.0, "int8": 0.0}
    for line in open(backends_md):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 6 or not cells[2].replace(".", "").isdigit():
            continue
        for key, cell in (("fp32", cells[2]), ("fp32", cells[3]), ("bf16", cells[4]), ("int8", cells[5])):
            if cell not in ("-", ""):
                best[key] = max(best[key], float(cell))
    return best


def main(path, backends_md):
    rows = [json.loads(line) for line in open(path) if line.strip()]
    peak = peaks(backends_md)
    print()
    print("| model | mode | products | runs | tok/s | vs fp32 (OpenBLAS) | vs PyTorch | GFLOP/s | share of peak |")
    print("|---|---|---|---|---|---|---|---|---|")
    groups = collections.OrderedDict()
    for r in rows:
        groups.setdefault((r["bench_model"], r["variant"].split("-")[0]), collections.defaultdict(list))
        groups[(r["bench_model"], r["variant"].split("-")[0])][r["variant"]].append(r)
    for (model, mode), variants in groups.items():
        field = "tgt_tokens_per_s" if mode == "train" else "gen_tokens_per_s"
        med = {v: statistics.median(x.get(field, x.get("tgt_tokens_per_s")) for x in rs) for v, rs in variants.items()}
        base, torch = med.get(f"{mode}-fp32"), med.get(f"{mode}-pytorch")
        for v, rs in variants.items():
            products = v.split("-")[1]
            precision = "bf16" if products == "bf16" else "int8" if products == "int8" else "fp32"
            gflops = statistics.median(x["gflop_per_s"] for x in rs) if "gflop_per_s" in rs[0] else None
            share = f"{100 * gflops / peak[precision]:.0f}% of {peak[precision]:.0f}" if gflops and peak[precision] else "-"
            label = {"fp32": "fp32 (OpenBLAS)", "onednn": "fp32 (oneDNN)", "pytorch": "PyTorch fp32"}.get(products, products)
            print(f"| {model} | {mode} | {label} | {len(rs)} | {med[v]:.0f} | "
                  f"{med[v] / base:.2f} | {med[v] / torch:.2f} | {gflops if gflops else '-'} | {share} |")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
