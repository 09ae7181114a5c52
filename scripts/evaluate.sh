#!/usr/bin/env bash
# Evaluates checkpoints on a test set and prints their metrics side by side.
# A target is a checkpoint (.h5) or a run directory (its best.h5, last.h5,
# averaged.h5 and kept ckpt-<step>.h5, those that exist). Writes, into --out
# (default: the first target's directory), eval-<test>.json (every metric set),
# eval-<test>.md (the table) and eval-<test>-<checkpoint>.txt (hypotheses).
# Options after -- go to `xseq eval` (--beam 4, --alpha 0.6, ...). xseq is $XSEQ,
# else `xseq` on PATH, else build/xseq beside this script.
#   bash scripts/evaluate.sh --data TEST.tsv [--out DIR] TARGET... [-- xseq eval options]
set -euo pipefail
usage="usage: evaluate.sh --data TEST.tsv [--out DIR] CHECKPOINT_OR_RUN_DIR... [-- xseq eval options]"
xseq=${XSEQ:-$(command -v xseq || echo "$(dirname "$0")/../build/xseq")}
[ -x "$xseq" ] || { echo "evaluate.sh: no xseq at '$xseq' (set XSEQ or put xseq on PATH)" >&2; exit 1; }
test="" out="" targets=() extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --data) test="${2:?$usage}"; shift 2 ;;
    --out) out="${2:?$usage}"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) echo "$usage"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[ -n "$test" ] && [ ${#targets[@]} -gt 0 ] || { echo "$usage" >&2; exit 2; }
checkpoints=()
for t in "${targets[@]}"; do
  if [ -d "$t" ]; then
    found=0
    for f in "$t/best.h5" "$t/last.h5" "$t/averaged.h5" $(ls "$t"/ckpt-*.h5 2>/dev/null | sort -V); do
      [ -f "$f" ] && { checkpoints+=("$f"); found=1; }
    done
    [ $found = 1 ] || { echo "evaluate.sh: run directory '$t' holds no checkpoint" >&2; exit 1; }
  elif [ -f "$t" ]; then
    checkpoints+=("$t")
  else
    echo "evaluate.sh: '$t' is neither a checkpoint nor a run directory" >&2; exit 1
  fi
done
[ -n "$out" ] || out=$(dirname "${checkpoints[0]}")
mkdir -p "$out"
name=$(basename "${test%%,*}"); name=${name%.*}
json="{\"test\": \"$test\""
header="| metric |" rule="|---|" cols=()
for c in "${checkpoints[@]}"; do
  label=$(basename "$(dirname "$c")")/$(basename "$c" .h5)
  stem=$(echo "$label" | tr '/' '-')
  "$xseq" eval --checkpoint "$c" --data "$test" --json "$out/eval-$name-$stem.json" --hyps "$out/eval-$name-$stem.txt" \
    ${extra[@]+"${extra[@]}"} > /dev/null
  json+=", \"$label\": $(cat "$out/eval-$name-$stem.json")"
  header+=" $label |" rule+="---|" cols+=("$out/eval-$name-$stem.json")
done
echo "$json}" > "$out/eval-$name.json"
{
  echo "$header"; echo "$rule"
  keys=$(tr ',' '\n' < "${cols[0]}" | tr -d '{} "' | cut -d: -f1)
  for k in $keys; do
    row="| $k |"
    for f in "${cols[@]}"; do
      v=$(tr ',' '\n' < "$f" | tr -d '{} "' | awk -F: -v k="$k" '$1 == k {printf "%.6g", $2}')
      row+=" $v |"
    done
    echo "$row"
  done
} > "$out/eval-$name.md"
cat "$out/eval-$name.md"
echo "wrote $out/eval-$name.json and $out/eval-$name.md (hypotheses: $out/eval-$name-*.txt)"
