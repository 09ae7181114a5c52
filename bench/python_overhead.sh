#!/usr/bin/env bash
# What the Python package adds over C++ (docs/python.md, "Cost"):
#  1. translating the copy task's test sentences (batch 32) with xseq.Translator against
#     xseq::Translator (build/bench_translator), the translate call only;
#  2. a 200-step training run with xseq.train against `xseq train`, whole
#     processes (interpreter start and import included).
# Alternating, medians of REPS runs, THREADS threads.
#   bash bench/python_overhead.sh [REPS=5] [THREADS=2]
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-5}
threads=${2:-2}
export PYTHONPATH=$PWD/build/python
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2)}'; }

# A model to translate with, and the copy task's test sentences.
build/xseq train configs/copy-transformer.toml --set train.max_steps=300 --set train.valid_every=300 \
  --set train.checkpoint_every=300 --out "$tmp/model" > /dev/null 2>&1
build/xseq data make copy --out "$tmp/data" > /dev/null 2>&1
head -n 1000 "$tmp/data/test.tsv" | cut -f1 > "$tmp/lines.txt"
sentences=$(wc -l < "$tmp/lines.txt")
for rep in $(seq "$reps"); do
  build/bench_translator "$tmp/model/best.h5" "$tmp/lines.txt" 3 32 "$threads" | grep -oE '"median_ms": [0-9.]+' | cut -d' ' -f2 >> "$tmp/cpp"
  $py bench/bench_translator.py "$tmp/model/best.h5" "$tmp/lines.txt" 3 32 "$threads" | grep -oE '"median_ms": [0-9.]+' | cut -d' ' -f2 >> "$tmp/python"
done

# 200 training steps: the CLI against xseq.train, whole processes.
train_py="import xseq, sys; xseq.train('configs/copy-transformer.toml', out=sys.argv[1], overrides={'train.max_steps': 200, 'train.valid_every': 200, 'train.checkpoint_every': 200, 'train.threads': $threads})"
for rep in $(seq "$reps"); do
  s=$(date +%s.%N); build/xseq train configs/copy-transformer.toml --set train.max_steps=200 --set train.valid_every=200 \
    --set train.checkpoint_every=200 --set train.threads="$threads" --out "$tmp/cli-$rep" > /dev/null 2>&1; e=$(date +%s.%N)
  awk -v s="$s" -v e="$e" 'BEGIN {printf "%.3f\n", e - s}' >> "$tmp/train-cli"
  s=$(date +%s.%N); $py -c "$train_py" "$tmp/py-$rep" > /dev/null 2>&1; e=$(date +%s.%N)
  awk -v s="$s" -v e="$e" 'BEGIN {printf "%.3f\n", e - s}' >> "$tmp/train-py"
done

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
echo "$cpu, $threads threads, medians of $reps (alternating)"
echo
echo "| what | C++ | Python | Python / C++ |"
echo "|---|---|---|---|"
c=$(median < "$tmp/cpp"); p=$(median < "$tmp/python")
echo "| translate $sentences sentences, batch 32 (ms, the call) | $c | $p | $(awk -v a="$p" -v b="$c" 'BEGIN {printf "%.3f", a / b}') |"
c=$(median < "$tmp/train-cli"); p=$(median < "$tmp/train-py")
echo "| train 200 steps (s, whole process) | $c | $p | $(awk -v a="$p" -v b="$c" 'BEGIN {printf "%.3f", a / b}') |"
