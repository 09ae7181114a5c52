#!/usr/bin/env bash
# Trains every config in configs/ (or the ones given) one after another and
# prints a markdown table: config, wall-clock training time (the whole
# `xseq train` command: data generation, training, validation, the final test
# evaluation), steps, and the test-set exact match of best.h5 (from log.jsonl).
# Configs with train.init_from run after the others (they start from their runs);
# configs whose data files are absent are skipped with a message.
#   bash scripts/train_all_configs.sh [configs/x.toml ...] > runs/results.md
set -euo pipefail
cd "$(dirname "$0")/.."
configs=("$@")
if [ ${#configs[@]} -eq 0 ]; then
  # A config with train.init_from continues another config's run (a curriculum),
  # so those go last, after the runs they start from.
  configs=($(grep -L '^init_from' configs/*.toml || true) $(grep -l '^init_from' configs/*.toml || true))
fi
echo "| config | model | training time | steps | test exact match | test token accuracy |"
echo "|---|---|---|---|---|---|"
for cfg in "${configs[@]}"; do
  name=$(basename "$cfg" .toml)
  # A recipe on files (data.train) runs only when its data is there.
  train_file=$(awk '/^\[/ {section = $0} section == "[data]" && $1 == "train" {gsub(/"/, "", $3); print $3}' "$cfg" | cut -d, -f1)
  if [ -n "$train_file" ] && [ ! -f "$train_file" ]; then
    echo "train_all_configs.sh: skipping $cfg: its data.train '$train_file' is absent (see the config's comments for how to get it)" >&2
    echo "| \`$cfg\` | | skipped: no $train_file | | | |"
    continue
  fi
  out="runs/$name"
  start=$(date +%s.%N)  # awk does the arithmetic (no bc needed)
  ./build/xseq train "$cfg" --out "$out" > "runs/$name.out" 2>&1
  end=$(date +%s.%N)
  seconds=$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')
  test_line=$(grep -E '"test": ?true' "$out/log.jsonl" | tail -1)
  steps=$(echo "$test_line" | sed 's/.*"step": *\([0-9]*\).*/\1/')
  em=$(echo "$test_line" | sed 's/.*"exact_match": *\([0-9.e-]*\).*/\1/')
  acc=$(echo "$test_line" | sed 's/.*"token_accuracy": *\([0-9.e-]*\).*/\1/')
  model=$(grep '^type' "$cfg" | head -1 | sed 's/.*"\(.*\)"/\1/')
  awk -v cfg="$cfg" -v model="$model" -v s="$seconds" -v steps="$steps" -v em="$em" -v acc="$acc" \
    'BEGIN { printf "| `%s` | %s | %.0f s | %s | %.1f%% | %.2f%% |\n", cfg, model, s, steps, em * 100, acc * 100 }'
done
