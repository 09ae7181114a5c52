#!/usr/bin/env bash
# Evaluates a run's best.h5 and last.h5 on a test set and writes the two side by
# side: RUN_DIR/eval-<test name>.json (both metric sets) and .md (a table), and
# prints the table.
#   bash scripts/evaluate.sh RUN_DIR TEST.tsv [--beam N] [--alpha A]
set -euo pipefail
run="${1:?usage: evaluate.sh RUN_DIR TEST.tsv [xseq eval options]}"
test="${2:?usage: evaluate.sh RUN_DIR TEST.tsv [xseq eval options]}"
shift 2
xseq="$(dirname "$0")/../build/xseq"
name="$(basename "${test%%,*}")"
name="${name%.*}"
for ckpt in best last; do
  [ -f "$run/$ckpt.h5" ] || { echo "evaluate.sh: $run/$ckpt.h5 is missing" >&2; exit 1; }
  "$xseq" eval --checkpoint "$run/$ckpt.h5" --data "$test" --json "$run/eval-$name-$ckpt.json" \
    --hyps "$run/eval-$name-$ckpt.txt" "$@" > /dev/null
done
best_json="$(cat "$run/eval-$name-best.json")"
last_json="$(cat "$run/eval-$name-last.json")"
printf '{"test": "%s", "best.h5": %s, "last.h5": %s}\n' "$test" "$best_json" "$last_json" > "$run/eval-$name.json"
# One row per metric: the JSON files hold "key": value pairs on one line.
{
  echo "| metric | best.h5 | last.h5 |"
  echo "|---|---|---|"
  paste <(tr ',' '\n' < "$run/eval-$name-best.json" | tr -d '{} ') \
        <(tr ',' '\n' < "$run/eval-$name-last.json" | tr -d '{} ') |
    awk -F'[:\t]' '{ gsub(/"/, "", $1); printf "| %s | %.6g | %.6g |\n", $1, $2, $4 }'
} > "$run/eval-$name.md"
cat "$run/eval-$name.md"
echo "wrote $run/eval-$name.json and $run/eval-$name.md (hypotheses: $run/eval-$name-{best,last}.txt)"
