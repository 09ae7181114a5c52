#!/usr/bin/env bash
# Data parallelism on one machine, side by side in one run (docs/distributed.md):
# `xseq bench` of transformer-small and gru-attn as 1 process x 2 threads (batch 2b)
# against 2 processes x 1 thread under mpirun (batch b each, the same tokens per
# step), with the gradient sums overlapped with backward and, for comparison,
# started after it (XSEQ_ALLREDUCE_OVERLAP=0). Alternating, medians of REPS.
#
#   bash bench/distributed_bench.sh [REPS] [STEPS]      (defaults 3 and 10)
#
# Prints a markdown table; the raw JSON lines go to build/distributed_bench.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-3}
steps=${2:-10}
X=build/xseq
out=build/distributed_bench.jsonl
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
MPI=(mpirun -np 2 --oversubscribe --bind-to none --mca btl self,tcp)
: > "$out"
for r in $(seq "$reps"); do
  for model in transformer-small gru-attn; do
    cfg=configs/bench/$model.toml
    b=$(sed -n 's/^batch_size *= *\([0-9]*\).*/\1/p' "$cfg")
    echo "== rep $r/$reps $model" >&2
    run() {  # label, then the command
      local label=$1; shift
      "$@" | sed "s/^{/{\"setup\":\"$label\",\"name\":\"$model\",/" >> "$out"
    }
    run "1x2" $X bench "$cfg" --threads 2 --steps "$steps" --set train.batch_size=$((2 * b))
    run "2x1" "${MPI[@]}" $X bench "$cfg" --threads 1 --steps "$steps"
    run "2x1 no overlap" "${MPI[@]}" -x XSEQ_ALLREDUCE_OVERLAP=0 $X bench "$cfg" --threads 1 --steps "$steps"
  done
done
/usr/bin/python3 - "$out" <<'PY'
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    j = json.loads(line)
    rows.setdefault((j["name"], j["setup"]), []).append(j)
print("| model | setup | ms/step | tok/s (all ranks) | allreduce ms | allreduce wait ms | MB per step | overlap |")
print("|---|---|---|---|---|---|---|---|")
for (name, setup), js in sorted(rows.items()):
    med = lambda k: statistics.median(j.get(k, 0) for j in js)
    print(f"| {name} | {setup} | {med('ms_per_step'):.1f} | {med('tgt_tokens_per_s'):.0f} | "
          f"{med('allreduce_ms_per_step'):.1f} | {med('allreduce_wait_ms_per_step'):.1f} | "
          f"{med('allreduce_mb_per_step'):.1f} | {med('allreduce_overlap'):.2f} |")
PY
