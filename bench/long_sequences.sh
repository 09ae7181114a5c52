#!/usr/bin/env bash
# Training speed and memory over sequence length at a fixed number of target
# tokens per batch (issue #16): `xseq bench --tokens N --set data.max_len=L` for
# each model and length, with the sgemm ceiling measured in the same run, and
# optionally several attention kernels side by side (alternating, medians).
#
#   bash bench/long_sequences.sh [--models "transformer-tiny transformer-small"]
#        [--lengths "32 128 256 512 1024 2048"] [--tokens 2048] [--kernels "auto"]
#        [--reps 3] [--steps 5] [--threads 2] [--vocab8000] [--out FILE]
#
# --kernels "materialized tiled" runs both kernels of packed_attention for every
# row, the order swapped every repetition. --vocab8000 adds a row at length 32
# with data.vocab_size = 8000 (the output layer's share). Prints a markdown table
# (median ms/step, tok/s, GFLOP/s, share of the ceiling, the best run beside the
# median (the machine is shared), CPU ms/step and the share it gives (meaningful
# at --threads 1 only), tensor peak MB, peak RSS MB); every raw JSON
# line stays in --out (default build/long_sequences.jsonl).
set -euo pipefail
cd "$(dirname "$0")/.."

models="transformer-tiny transformer-small"
lengths="32 128 256 512 1024 2048"
tokens=2048
kernels=auto
reps=3
steps=5
threads=2
vocab8000=0
out=build/long_sequences.jsonl
while [ $# -gt 0 ]; do
  case "$1" in
    --models) models="$2"; shift 2 ;;
    --lengths) lengths="$2"; shift 2 ;;
    --tokens) tokens="$2"; shift 2 ;;
    --kernels) kernels="$2"; shift 2 ;;
    --reps) reps="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --vocab8000) vocab8000=1; shift ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "long_sequences.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
XSEQ=${XSEQ:-./build/xseq}
MATMUL=${MATMUL:-./build/bench_matmul}
PY=${PY:-python3}
mkdir -p "$(dirname "$out")"
: > "$out"

echo "== sgemm ceiling at $threads thread(s)" >&2
"$MATMUL" --ceiling "$threads" --repeats 10 \
  | "$PY" -c 'import json,sys; r=json.loads(sys.stdin.read()); r["name"]="sgemm"; print(json.dumps(r))' >> "$out"

run() {  # run MODEL LENGTH KERNEL [--set ...]
  local m="$1" len="$2" kernel="$3"; shift 3
  local json
  json=$("$XSEQ" bench "configs/bench/$m.toml" --tokens "$tokens" --set "data.max_len=$len" "$@" \
           --threads "$threads" --steps "$steps" --warmup 2 --attention "$kernel")
  printf '%s\n' "$json" | "$PY" -c 'import json,sys; r=json.loads(sys.stdin.read()); r["name"]=sys.argv[1]; r["vocab"]=int(sys.argv[2]); print(json.dumps(r))' "$m" "${vocab:-0}" >> "$out"
}

for rep in $(seq 1 "$reps"); do
  order="$kernels"
  [ $((rep % 2)) -eq 0 ] && order=$(echo "$kernels" | tr ' ' '\n' | tac | tr '\n' ' ')
  for m in $models; do
    vocab=$(sed -n 's/^vocab_size *= *\([0-9]*\).*/\1/p' "configs/bench/$m.toml")
    for len in $lengths; do
      for kernel in $order; do
        echo "== rep $rep/$reps $m length=$len kernel=$kernel" >&2
        run "$m" "$len" "$kernel"
      done
    done
    if [ "$vocab8000" = 1 ]; then
      vocab=8000
      for kernel in $order; do
        echo "== rep $rep/$reps $m length=32 vocab=8000 kernel=$kernel" >&2
        run "$m" 32 "$kernel" --set data.vocab_size=8000
      done
    fi
  done
done

"$PY" - "$out" <<'EOF'
import collections, json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ceiling = next(r["sgemm_gflop_per_s"] for r in rows if r["name"] == "sgemm")
groups = collections.defaultdict(list)
for r in rows:
    if r["name"] != "sgemm":
        groups[(r["name"], r["vocab"], r["length"], r["attention"])].append(r)
print(f"\nsgemm ceiling: {ceiling:.1f} GFLOP/s at {rows[1]['threads'] if len(rows) > 1 else '?'} thread(s)\n")
print("| model | vocab | length | batch | attention | runs | ms/step | tgt tok/s | GFLOP/s | % of ceiling | best ms/step (% of ceiling) | CPU ms/step (% of ceiling) | tensor peak MB | peak RSS MB |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for (name, vocab, length, kernel), rs in groups.items():
    med = lambda f: statistics.median(r[f] for r in rs)
    gf = med("gflop_per_s")
    print(f"| {name} | {vocab} | {length} | {rs[0]['batch']} | {kernel} | {len(rs)} | {med('ms_per_step'):.1f} | "
          f"{med('tgt_tokens_per_s'):.0f} | {gf:.1f} | {100 * gf / ceiling:.0f}% | "
          f"{min(r['ms_per_step'] for r in rs):.1f} ({100 * max(r['gflop_per_s'] for r in rs) / ceiling:.0f}%) | "
          f"{med('cpu_ms_per_step'):.1f} ({100 * rs[0]['gflops_per_step'] / (med('cpu_ms_per_step') / 1000) / ceiling:.0f}%) | "
          f"{med('tensor_peak_mb'):.1f} | "
          f"{med('peak_rss_mb'):.0f} |")
EOF
