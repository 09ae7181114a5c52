#!/usr/bin/env bash
# xseq against PyTorch on the same CPU: the three models of configs/bench/ trained
# (and transformer-small greedily decoded) by `xseq bench` and by
# bench/pytorch_models.py, alternating runs, at 1 and 2 threads.
#
#   bash bench/vs_pytorch.sh [--reps N] [--steps N] [--threads "1 2"] [--out FILE]
#   bash bench/vs_pytorch.sh --lengths "32 128 256 512 1024 2048" [--tokens 2048] ...
#
# With --lengths: the two Transformers trained at each length with a fixed number
# of target tokens per batch (batch = tokens / length), named <model>@<length>
# (issue #16; bench/long_sequences.sh has the xseq-only rows and kernels), plus
# <model>@32v8000: length 32 with a vocabulary of 8,000 (the output layer's share).
# Prints a markdown table of medians, each side's fraction of the sgemm ceiling, and
# one line per model and thread count:
#   RATIO <model> threads=<T> train=<xseq/pytorch tok/s> decode=<xseq/pytorch tok/s> rss=<xseq/pytorch peak RSS>
# Every raw measurement is kept as one JSON line in --out (default build/vs_pytorch.jsonl).
# Installs Debian's python3-torch if it is missing, and builds xseq (Release) if needed.
set -euo pipefail
cd "$(dirname "$0")/.."

reps=3
steps=10
threads_list="1 2"
out=build/vs_pytorch.jsonl
lengths=""
tokens=2048
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) reps="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --threads) threads_list="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --lengths) lengths="$2"; shift 2 ;;
    --tokens) tokens="$2"; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "vs_pytorch.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

# Debian's python3-torch is built for /usr/bin/python3; another python3 on PATH may not see it.
PY=/usr/bin/python3
if ! "$PY" -c 'import torch' 2>/dev/null; then
  echo "== installing Debian's python3-torch"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-torch
fi

if [ ! -f build/CMakeCache.txt ]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
fi
cmake --build build -j2 --target xseq_cli bench_matmul  # xseq_cli is build/xseq

models="transformer-small transformer-tiny gru-attn"
mkdir -p "$(dirname "$out")"
: > "$out"

# One benchmark run, its JSON line tagged with the framework and model name.
run() {  # run xseq|pytorch MODEL[@LENGTH] THREADS [--decode]
  local framework="$1" name="$2" t="$3"; shift 3
  local m="${name%@*}" len="" vocab=""
  [ "$m" != "$name" ] && len="${name#*@}"
  if [[ "$len" == *v* ]]; then vocab="${len#*v}"; len="${len%v*}"; fi  # <model>@<length>v<vocab>
  local extra=(--steps "$steps" --warmup 3)
  [ "${1:-}" = --decode ] && extra=(--decode --steps 3 --warmup 1)
  local json  # assigned apart from `local` so that a failing run stops the script (set -e)
  if [ "$framework" = xseq ]; then
    [ -n "$len" ] && extra+=(--tokens "$tokens" --set "data.max_len=$len")
    [ -n "$vocab" ] && extra+=(--set "data.vocab_size=$vocab")
    json=$(./build/xseq bench "configs/bench/$m.toml" --threads "$t" "${extra[@]}")
  else
    [ -n "$len" ] && extra+=(--tokens "$tokens" --length "$len")
    [ -n "$vocab" ] && extra+=(--vocab "$vocab")
    json=$("$PY" bench/pytorch_models.py "$m" --threads "$t" "${extra[@]}")
  fi
  printf '%s\n' "$json" | "$PY" -c 'import json,sys; r=json.loads(sys.stdin.read()); r["framework"]=sys.argv[1]; r["name"]=sys.argv[2]; print(json.dumps(r))' "$framework" "$name" >> "$out"
}
# Both frameworks one after the other; which goes first swaps every repetition,
# so that both see the same machine state.
run_pair() {  # run_pair REP MODEL THREADS [--decode]
  local rep="$1"; shift
  echo "== rep $rep/$reps threads=$2 $1 ${3:-}"
  if [ $((rep % 2)) -eq 1 ]; then run xseq "$@"; run pytorch "$@"
  else run pytorch "$@"; run xseq "$@"; fi
}

echo "== sgemm ceiling"
for t in $threads_list; do
  ./build/bench_matmul --ceiling "$t" --repeats 10 | "$PY" -c 'import json,sys; r=json.loads(sys.stdin.read()); r["framework"]="sgemm"; print(json.dumps(r))' >> "$out"
done

for rep in $(seq 1 "$reps"); do
  for t in $threads_list; do
    if [ -n "$lengths" ]; then
      for m in transformer-tiny transformer-small; do
        for len in $lengths; do run_pair "$rep" "$m@$len" "$t"; done
        run_pair "$rep" "$m@32v8000" "$t"  # the output layer's row: length 32, 8,000 words
      done
      continue
    fi
    for m in $models; do run_pair "$rep" "$m" "$t"; done
    run_pair "$rep" transformer-small "$t" --decode
  done
done

"$PY" bench/summarize_vs_pytorch.py "$out"
