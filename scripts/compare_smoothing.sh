#!/usr/bin/env bash
# What checkpoint averaging and the moving average of the weights (EMA) change on one
# config: trains it twice, (1) keeping the last KEEP checkpoints and averaging them
# (train.average_last) and (2) with train.ema_decay = EMA, then prints one markdown table:
# test exact match and token (character) error rate of best.h5, averaged.h5 and the EMA
# run's best.h5, with each training run's wall time. With TEST (a TSV or SRC,TGT files) each
# checkpoint is also evaluated with `xseq eval`, greedy and beam BEAM, with wall times;
# without it the greedy numbers come from the runs' own test lines in log.jsonl.
#   bash scripts/compare_smoothing.sh CONFIG OUT_DIR [TEST] [-- xseq train options...]
#   KEEP=5 EMA=0.999 BEAM=4 bash scripts/compare_smoothing.sh configs/addition-transformer.toml runs/smoothing
# SIDE_BY_SIDE=1 trains the two at the same time (then pass -- --threads 1 on 2 cores).
set -euo pipefail
usage="usage: compare_smoothing.sh CONFIG OUT_DIR [TEST] [-- xseq train options]"
config="${1:?$usage}"
out="${2:?$usage}"
shift 2
test_data=""
if [ $# -gt 0 ] && [ "$1" != "--" ]; then test_data="$1"; shift; fi
[ $# -gt 0 ] && [ "$1" = "--" ] && shift
keep="${KEEP:-5}" ema="${EMA:-0.999}" beam="${BEAM:-4}"
xseq="$(dirname "$0")/../build/xseq"
[ -x "$xseq" ] || { echo "compare_smoothing.sh: build xseq first ($xseq is missing)" >&2; exit 1; }

# The value of "key" in a one-line JSON object, to 4 decimals.
field() { grep -o "\"$2\":[^,}]*" <<< "$1" | head -1 | cut -d: -f2 | awk '{ printf "%.4f", $1 }'; }
seconds_since() { echo "$(( $(date +%s%N) - $1 ))" | awk '{ printf "%.1f", $1 / 1e9 }'; }

train() {  # name, extra --set flags...
  local name="$1" start
  shift
  start=$(date +%s%N)
  "$xseq" train "$config" --out "$out/$name" "$@" > "$out/$name.out" 2> "$out/$name.err" ||
    { echo "compare_smoothing.sh: training $name failed, see $out/$name.err" >&2; exit 1; }
  echo "$(seconds_since "$start")"
}

mkdir -p "$out"
if [ "${SIDE_BY_SIDE:-0}" = 1 ]; then  # both runs at once (give each --threads 1 on 2 cores)
  train plain --set "train.keep_checkpoints=$keep" --set "train.average_last=$keep" "$@" > "$out/plain.seconds" &
  train ema --set "train.ema_decay=$ema" "$@" > "$out/ema.seconds"
  wait $!
  plain_s=$(cat "$out/plain.seconds") ema_s=$(cat "$out/ema.seconds")
else
  plain_s=$(train plain --set "train.keep_checkpoints=$keep" --set "train.average_last=$keep" "$@")
  ema_s=$(train ema --set "train.ema_decay=$ema" "$@")
fi

echo "| run (training wall time) | checkpoint | decoding | test exact match | test token error rate | eval wall time |"
echo "|---|---|---|---|---|---|"
row() {  # run label, run dir, checkpoint
  local label="$1" dir="$2" ckpt="$3" json start s
  if [ -z "$test_data" ]; then
    json=$(grep "\"test\":true" "$out/$dir/log.jsonl" | grep "\"checkpoint\":\"$ckpt\"" | tail -1)
    printf "| %s | %s | greedy | %s | %s | |\n" "$label" "$ckpt" "$(field "$json" exact_match)" \
      "$(field "$json" token_error_rate)"
    return
  fi
  for b in 1 "$beam"; do
    start=$(date +%s%N)
    "$xseq" eval --checkpoint "$out/$dir/$ckpt" --data "$test_data" --beam "$b" --json "$out/$dir/eval.json" > /dev/null
    s=$(seconds_since "$start")
    json=$(cat "$out/$dir/eval.json")
    printf "| %s | %s | %s | %s | %s | %s s |\n" "$label" "$ckpt" "$([ "$b" = 1 ] && echo greedy || echo "beam $b")" \
      "$(field "$json" exact_match)" "$(field "$json" token_error_rate)" "$s"
  done
}
row "plain ($plain_s s)" plain best.h5
row "plain ($plain_s s)" plain averaged.h5
row "ema $ema ($ema_s s)" ema best.h5
