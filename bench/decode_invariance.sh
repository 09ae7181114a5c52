#!/usr/bin/env bash
# What batch-invariant decoding costs: `xseq bench --decode` with the products on
# OpenBLAS (--gemm blas, which also lets attention pick its kernel by length, as
# before invariance) against the default (--gemm auto: batch-invariant products,
# tiled attention), alternating, medians of REPS runs, at THREADS threads.
#   bash bench/decode_invariance.sh [REPS=5] [THREADS=2]
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-5}
threads=${2:-2}
xseq=${XSEQ:-build/xseq}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for rep in $(seq "$reps"); do
  for model in transformer-small transformer-tiny gru-attn; do
    for gemm in blas auto; do
      "$xseq" bench "configs/bench/$model.toml" --decode --threads "$threads" --gemm "$gemm" --steps 5 2>/dev/null |
        grep -oE '"ms_per_step":[0-9.]+' | cut -d: -f2 >> "$tmp/$model-$gemm"
    done
  done
done
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
isa=$("$xseq" bench configs/bench/transformer-tiny.toml --decode --steps 1 --warmup 0 2>/dev/null >/dev/null; \
      grep -q avx512f /proc/cpuinfo && echo AVX-512 || echo AVX2)
echo "$cpu ($isa), $threads threads, medians of $reps, greedy decoding of random batches (ms per batch)"
echo
echo "| model | OpenBLAS (--gemm blas) | batch-invariant (default) | ratio |"
echo "|---|---|---|---|"
median() { sort -n "$1" | awk '{a[NR]=$1} END {print (NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2)}'; }
for model in transformer-small transformer-tiny gru-attn; do
  b=$(median "$tmp/$model-blas")
  a=$(median "$tmp/$model-auto")
  echo "| $model | $b | $a | $(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.3f", a / b}') |"
done
