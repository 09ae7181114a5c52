#!/usr/bin/env bash
# The number formats side by side (issue #26, docs/precision.md): each model of
# configs/bench/ trained with fp32 products through OpenBLAS, fp32 through oneDNN
# (XSEQ_MATMUL=onednn), bf16 (train.precision = "bf16") and by PyTorch; greedy
# decoding of the two Transformers in fp32, bf16 and int8 and by PyTorch.
# Alternating runs (the order rotates every repetition), medians, at 2 threads.
#
#   bash bench/precision.sh [--reps N] [--steps N] [--threads T] [--out FILE]
#
# Prints a markdown table: tokens/s, the ratio to fp32 (OpenBLAS) and to
# PyTorch, and each run's share of the measured peak for its precision (the
# best GFLOP/s of `bench_matmul --backends` per column: sgemm for fp32, oneDNN
# bf16, int8). Raw JSON lines go to --out (default build/precision.jsonl).
set -euo pipefail
cd "$(dirname "$0")/.."

reps=3
steps=10
threads=2
out=build/precision.jsonl
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) reps="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "precision.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

PY=/usr/bin/python3  # Debian's python3-torch is built for it
if ! "$PY" -c 'import torch' 2>/dev/null; then
  echo "== installing Debian's python3-torch"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-torch
fi
[ -f build/CMakeCache.txt ] || cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j2 --target xseq_cli bench_matmul

mkdir -p "$(dirname "$out")"
: > "$out"
tag() {  # tag MODEL VARIANT: the JSON line on stdin with both added, appended to $out
  "$PY" -c 'import json,sys; r=json.loads(sys.stdin.read()); r["bench_model"]=sys.argv[1]; r["variant"]=sys.argv[2]; print(json.dumps(r))' "$1" "$2" >> "$out"
}

echo "== measured peaks ($threads threads)"
./build/bench_matmul --backends --repeats 5 | tee build/precision_backends.md

# One run: run MODEL VARIANT (train-fp32, train-onednn, train-bf16, train-pytorch,
# decode-fp32, decode-bf16, decode-int8, decode-pytorch).
run() {
  local m="$1" v="$2"
  local train=(--steps "$steps" --warmup 3) decode=(--decode --steps 3 --warmup 1)
  case "$v" in
    train-fp32) ./build/xseq bench "configs/bench/$m.toml" --threads "$threads" "${train[@]}" --precision fp32 ;;
    train-onednn) XSEQ_MATMUL=onednn ./build/xseq bench "configs/bench/$m.toml" --threads "$threads" "${train[@]}" --precision fp32 ;;
    train-bf16) ./build/xseq bench "configs/bench/$m.toml" --threads "$threads" "${train[@]}" --precision bf16 ;;
    train-pytorch) "$PY" bench/pytorch_models.py "$m" --threads "$threads" "${train[@]}" ;;
    decode-pytorch) "$PY" bench/pytorch_models.py "$m" --threads "$threads" "${decode[@]}" ;;
    decode-*) ./build/xseq bench "configs/bench/$m.toml" --threads "$threads" "${decode[@]}" --precision "${v#decode-}" ;;
  esac | tag "$m" "$v"
}

variants_of() {  # the model's variants
  local v="train-fp32 train-onednn train-bf16 train-pytorch"
  [ "$1" = gru-attn ] || v="$v decode-fp32 decode-bf16 decode-int8 decode-pytorch"
  echo "$v"
}

for rep in $(seq 1 "$reps"); do
  for m in transformer-small transformer-tiny gru-attn; do
    read -r -a vs <<< "$(variants_of "$m")"
    n=${#vs[@]}
    echo "== rep $rep/$reps $m"
    for i in $(seq 0 $((n - 1))); do run "$m" "${vs[$(((i + rep - 1) % n))]}"; done  # a rotated order
  done
done

"$PY" bench/summarize_precision.py "$out" build/precision_backends.md
